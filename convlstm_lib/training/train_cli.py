"""CLI `python -m convlstm_lib train ...`: train one model, write DIR/model.pt and DIR/metrics.json.

The training windows are cut once, by `loop.train_model`, to `--max-train-windows`
(default: the profile's value); `metrics.json` is strict JSON (`jsonio`: non-finite -> null).
`--task interpolate-2` (or `extrapolate-L`) trains on that task's windows (`tasks.task_data`),
scored on the test frames the task can predict; the checkpoint records the task for `predict`.

The two files are one run: both carry its `run_id`, and `predict` refuses a model.pt whose
metrics.json beside it is another run's. A folder holding an earlier run is refused unless
`--overwrite`; then the run replaces it whole (a run that diverged leaves no model.pt).
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict, replace
from pathlib import Path

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_dir
from convlstm_lib.config import ACTIVATIONS, LR_SCHEDULES, MODELS, TRAINING_SETS
from convlstm_lib.data.course_io import FRAMES
from convlstm_lib.data.tasks import Task, task_data
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.jsonio import write_json
from convlstm_lib.models.build import model_config_for
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.statuses import COMPLETE
from convlstm_lib.training.checkpoints import stamp_run
from convlstm_lib.training.devices import check_device
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.precision import PRECISIONS, resolve_precision
from convlstm_lib.training.settings import TrainConfig


class TrainArgumentError(ConvLSTMError, ValueError):
    """A training parameter given on the command line is out of range."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    m, t = ModelConfig(), TrainConfig()
    parser.add_argument(
        "--dataset", choices=TRAINING_SETS, default=t.dataset, help="training set (default %(default)s)"
    )
    parser.add_argument(
        "--model", default=m.model, help=f"model kind, one of {', '.join(MODELS)} (default %(default)s)"
    )
    parser.add_argument(
        "--layers", type=int, default=m.layers, help="recurrent layers (simvp: translator blocks), 1-7"
    )
    parser.add_argument(
        "--kernels", type=int, default=m.kernels, help="hidden channels, 1-100 (default %(default)s)"
    )
    parser.add_argument(
        "--kernel-size", type=int, default=m.kernel_size, help="odd kernel side (default %(default)s)"
    )
    parser.add_argument("--activation", choices=ACTIVATIONS, default=m.activation, help="output activation")
    parser.add_argument(
        "--frames-as-channels", action="store_true",
        help="recurrent models: read the input frames as the channels of one time step"
        " (the final model's way)",
    )
    parser.add_argument("--lr", type=float, default=t.lr, help="learning rate (default %(default)s)")
    parser.add_argument(
        "--batch-size", type=int, default=t.batch_size, help="batch size (default %(default)s)"
    )
    parser.add_argument(
        "--optimizer", default=t.optimizer, help="a torch.optim optimiser by name (default %(default)s)"
    )
    parser.add_argument("--epochs", type=int, default=t.epochs, help="epochs (default %(default)s)")
    parser.add_argument(
        "--lr-schedule", default=None,
        help=f"learning rate over the run, one of {', '.join(LR_SCHEDULES)}: the paper's constant"
        " rate or a linear decay to zero (default: the profile's)",
    )
    parser.add_argument("--seed", type=int, default=t.seed, help="seed of data, weights and shuffling")
    parser.add_argument("--device", default=t.device, help="auto (cuda, mps, cpu), or a torch device")
    parser.add_argument(
        "--precision", default=t.precision, help=f"one of {', '.join(PRECISIONS)} (default %(default)s)"
    )
    parser.add_argument(
        "--max-train-windows",
        type=int,
        default=None,
        help="subsample the training set (default: the profile's value)",
    )
    parser.add_argument(
        "--drop-jump-targets", action="store_true",
        help="train without the windows whose target follows a transition flagged as an outlier jump",
    )
    parser.add_argument(
        "--task", default=t.task,
        help="what the windows ask: extrapolate-L (the L frames before; the paper: extrapolate-2) or"
        " interpolate-2 (frames t-2, t-1, t+1, t+2) (default %(default)s)",
    )
    parser.add_argument(
        "--profile", default="quick", help="data profile: smoke, quick or paper (default quick)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder for model.pt and metrics.json")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run's model.pt and metrics.json in --out"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def max_context(task: Task) -> int:
    """The longest context `task` can fill with real frames of a 16-frame sequence: 15 frames come
    before the last frame, 7 lie on each side of the middle one. A longer window is padding."""
    return FRAMES - 1 if task.kind == "extrapolate" else (FRAMES - 1) // 2


def check_run_folder(out: Path, overwrite: bool) -> None:
    """Refuse an --out holding an earlier run (model.pt or metrics.json) unless `overwrite`."""
    earlier = [name for name in (paths.TRAIN_MODEL, paths.TRAIN_METRICS) if (out / name).exists()]
    if earlier and not overwrite:
        raise TrainArgumentError(
            f"--out {out}: holds an earlier run ({', '.join(earlier)}); give another folder, or --overwrite "
            "to replace it"
        )


def run(args: argparse.Namespace) -> int:
    from convlstm_lib.config import check_seed, get_profile
    from convlstm_lib.data.datasets import prepare_datasets

    try:
        task = Task.parse(args.task)
    except ValueError as exc:
        raise TrainArgumentError(f"--task: {exc}") from None
    if task.context > max_context(task):
        raise TrainArgumentError(
            f"--task {args.task}: a sequence has {FRAMES} frames, so a {task.kind} window holds at most "
            f"{max_context(task)} real frames{' on each side' if task.kind == 'interpolate' else ''}; "
            f"a context of {task.context} would be mostly padding"
        )
    try:  # everything checked before any data are prepared or any training starts
        check_seed(args.seed, "--seed")
        check_output_dir(args.out, "--out")
        check_run_folder(args.out, args.overwrite)
        cfg = get_profile(args.profile, seed=args.seed)
        model_cfg = ModelConfig(
            model=args.model, layers=args.layers, kernels=args.kernels, kernel_size=args.kernel_size,
            activation=args.activation, frames_as_channels=args.frames_as_channels,
        )
        train_cfg = TrainConfig(
            dataset=args.dataset,
            lr=args.lr,
            batch_size=args.batch_size,
            epochs=args.epochs,
            optimizer=args.optimizer,
            seed=args.seed,
            device=args.device,
            precision=args.precision,
            task=args.task,
            lr_schedule=args.lr_schedule or cfg.lr_schedule,
            drop_jump_targets=args.drop_jump_targets,
            max_train_windows=cfg.max_train_windows
            if args.max_train_windows is None
            else args.max_train_windows,
        )
        resolve_precision(train_cfg.precision, check_device(train_cfg.device))
        model_cfg = model_config_for(model_cfg, task)
    except ValueError as exc:
        raise TrainArgumentError(str(exc)) from None
    # Every training window: train_model cuts the set once, to train_cfg.max_train_windows.
    data = prepare_datasets(replace(cfg, max_train_windows=0), progress=not args.quiet)
    if not task.is_paper:
        from convlstm_lib.data.sources import load_raw

        data = task_data(data, load_raw(cfg, progress=False), task)
    run_id = uuid.uuid4().hex
    model_path, metrics_path = args.out / paths.TRAIN_MODEL, args.out / paths.TRAIN_METRICS
    # Until metrics.json is rewritten, a new model.pt (no run id yet, or this run's) does not match
    # it, so predict refuses the pair rather than mix two runs.
    result = train_model(model_cfg, train_cfg, data, progress=not args.quiet, checkpoint_path=model_path)
    if result.status != "diverged":
        stamp_run(model_path, run_id)
    else:  # no model: an earlier run's (--overwrite) must not pass for this one's
        model_path.unlink(missing_ok=True)
    write_json(metrics_path, _summary(result, train_cfg, cfg.profile, run_id))
    print(
        f"status: {result.status}{' (' + result.note + ')' if result.note else ''}; "
        f"{result.epochs_run} epochs in {result.runtime_s:.1f} s"
    )
    for key, value in result.metrics.items():
        print(f"  {key:<20} {value:.6g}")
    print(
        f"wrote {model_path if result.status != 'diverged' else '(no model: diverged)'} and {metrics_path}"
    )
    return 0 if result.status == COMPLETE else 1


def _summary(result, train_cfg: TrainConfig, profile: str, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "status": result.status,
        "note": result.note,
        "runtime_s": result.runtime_s,
        "epochs_run": result.epochs_run,
        "train_windows": result.train_windows,
        "metrics": result.metrics,
        "history": result.history,
        "model_config": asdict(result.model_config),
        "train_config": asdict(train_cfg),
        "profile": profile,
    }
