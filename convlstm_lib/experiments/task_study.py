"""The task study: the sweep's best configuration retrained for frame 4 and for frame 16.

The course removes frames 4 and 16 (0-based 3 and 15). The sweep (notebook 03) searches the
paper's protocol: both frames from the two frames before them. This study takes the sweep's
best model and configuration and asks two questions at the same training budget per run:

* frame 4: the best model (extrapolation from frames 2, 3) against the same configuration
  retrained as an interpolator (frames 2, 3, 5, 6: `tasks.INTERPOLATE`), and against the mean
  of frames 3 and 5 and the copy of frame 3, which learn nothing;
* frame 16: the best model (context 2, the paper's protocol) against that model *refined* for
  each context L in `cfg.frame16_contexts` and for L = 2 (`Task("extrapolate", L)`, windows
  edge-padded where fewer frames precede): `refiner.Refined`, the best model frozen and a small
  correction CNN of `cfg.refiner` channels reading the L frames and the best model's prediction.

Every run trains the best trial's ModelConfig and TrainConfig (training set, optimiser, learning
rate, batch size, seed; the refiners their own optimiser, `REFINER_OPTIMIZER`). The interpolator
(`build.FramesAsChannels`: a new first layer) starts from scratch and trains
`cfg.interp_epochs` epochs (0: the best trial's) on `cfg.interp_max_train_windows` windows.
Every frame-16 context gets the same recipe, so its rows differ only in what the correction
reads: the refiner trains `cfg.context_epochs` epochs on at most `cfg.context_max_train_windows`
windows (0: the profile's epochs / `max_train_windows`) on top of the frozen best model: a model
trained on two-step windows needs more than the budget to learn longer ones, so fine-tuning it did
worse than the best model itself (benchmarks/README.md, "The frame-16 contexts").
Scores use the metric keys and reductions of `evaluation`: `val_mse` on the validation windows,
and the test scores on the N6 test frame in question and on the same frame of every N3 sequence
(read like the course's test: frames 4 and 16 are never inputs). The test frames are never
validation targets, so every way of predicting a frame is scored on the validation windows of
the target frames all of that frame's candidates can predict (`tasks.shared_targets`: frames 3 and
7-13 for frame 4, whose extrapolation cannot reach frames 5 and 6; 3 and 7-15 for frame 16; 1-based).
The course predictions then take, for each frame, the model with the lowest validation MSE; the
test scores only report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from convlstm_lib import paths
from convlstm_lib.config import ProfileConfig
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.tasks import (
    INTERPOLATE,
    PAPER_TASK,
    Task,
    TaskData,
    copy_previous,
    neighbour_mean,
    scored_windows,
    shared_targets,
    task_data,
)
from convlstm_lib.models import build as task_models
from convlstm_lib.training.checkpoints import load_checkpoint
from convlstm_lib.training.evaluation import predict_frames, score_predictions, score_validation
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.metrics import SELECTION_KEY, VAL_MSE
from convlstm_lib.training.settings import TrainConfig

FRAME4, FRAME16 = TEST_FRAMES  # 0-based indices of the course's test frames "4" and "16"
REFINER_OPTIMIZER, REFINER_LR = "Adam", 1e-3  # how every frame-16 refiner trains
SCORE_KEYS = (VAL_MSE, "n6_test_mse", "n6_test_psnr", "n6_test_ssim", "n3_mse")


def checkpoint_name(task: Task) -> str:
    """The artifacts file of a task's retrained model: interpolate-2.pt, extrapolate-4.pt, ..."""
    return f"{task.name}.pt"


def score(pred_val: np.ndarray, pred_n6: np.ndarray, pred_n3: np.ndarray, data: TaskData) -> dict[str, float]:
    """Metrics of predictions on data.val, data.n6_test and data.n3 (keys of `evaluation`, no
    paper loss)."""
    return {
        **score_validation(pred_val, data.val),
        **score_predictions(pred_n6, data.n6_test, "n6_test"),
        **score_predictions(pred_n3, data.n3, "n3"),
    }


def score_model(model, data: TaskData, batch_size: int = 256) -> dict[str, float]:
    """A trained model's metrics on a task's validation and test windows (its input frames must match)."""
    return score(*(predict_frames(model, ws.inputs, batch_size) for ws in (data.val, data.n6_test, data.n3)),
                 data)


@dataclass
class TaskRun:
    """One retrained model of the study: its task, final metrics and cost."""

    task: Task
    metrics: dict[str, float]
    status: str
    runtime_s: float
    epochs: int
    train_windows: int
    checkpoint: Path | None

    @property
    def s_per_epoch(self) -> float:
        """Wall seconds per epoch, the per-epoch scoring of the test windows included."""
        return self.runtime_s / self.epochs if self.epochs else float("nan")

    def record(self) -> dict[str, Any]:
        return {
            **self.metrics,
            "task": self.task.name,
            "status": self.status,
            "runtime_s": self.runtime_s,
            "epochs": self.epochs,
            "s_per_epoch": self.s_per_epoch,
            "train_windows": self.train_windows,
            "checkpoint": None if self.checkpoint is None else paths.repo_relative(self.checkpoint),
        }


def retrain(
    model_cfg,
    train_cfg: TrainConfig,
    data: TaskData,
    checkpoint: Path | None,
    progress: bool = False,
    initial_state: dict | None = None,
) -> TaskRun:
    """Train `model_cfg` with `train_cfg` on the task's data (from `initial_state` when given);
    its metrics on the task's validation windows and its test frame."""
    train_cfg = replace(train_cfg, task=data.task.name)
    model_cfg = task_models.model_config_for(model_cfg, data.task)
    result = train_model(
        model_cfg, train_cfg, data, progress=progress, checkpoint_path=checkpoint,
        initial_state=initial_state, score_every_epoch=False,  # only the final metrics are reported
    )
    metrics = {k: float(v) for k, v in result.metrics.items() if not k.endswith("_paper_loss")}
    windows = len(data.train[train_cfg.dataset])
    if train_cfg.max_train_windows:
        windows = min(windows, train_cfg.max_train_windows)
    return TaskRun(
        data.task,
        metrics,
        result.status,
        result.runtime_s,
        result.epochs_run,
        windows,
        checkpoint if result.status != "diverged" else None,
    )


def study_train_configs(
    cfg: ProfileConfig, best: TrainConfig, device: str = "auto"
) -> tuple[TrainConfig, TrainConfig]:
    """(interpolation, frame-16 context) TrainConfigs: the best trial's, with
    `cfg.interp_epochs` (0: the best trial's) on `cfg.interp_max_train_windows` windows (0: the
    profile's) for the first; for the second the
    context budget (`cfg.context_*`) and the refiner's own optimiser (`REFINER_OPTIMIZER` at
    `REFINER_LR`: the best trial's were chosen for its ConvLSTM, and a smoke-sized sweep's
    RMSprop at 1e-2 blows a fresh refiner up)."""
    base = replace(best, max_train_windows=cfg.max_train_windows, device=device)
    interp = replace(
        base,
        epochs=cfg.interp_epochs or best.epochs,
        max_train_windows=cfg.interp_max_train_windows or cfg.max_train_windows,
    )
    context = replace(
        base,
        optimizer=REFINER_OPTIMIZER,
        lr=REFINER_LR,
        epochs=cfg.context_epochs or cfg.epochs,
        max_train_windows=cfg.context_max_train_windows or cfg.max_train_windows,
    )
    return interp, context


def _ratio(a: float, b: float) -> float | None:
    return a / b if np.isfinite(a) and np.isfinite(b) and b > 0 else None


def _paper_entry(best, data: TaskData) -> dict[str, Any]:
    """The sweep's best model (a `Checkpoint`) scored on a task's validation windows and test frame."""
    return {
        **score_model(best.model, data),
        "task": PAPER_TASK.name,
        "checkpoint": paths.repo_relative(best.path),
    }


def _lowest(entries: dict[str, dict[str, Any]], keys, default: str) -> str:
    """The key of the lowest finite validation MSE among `keys` whose model exists (a diverged run
    writes no checkpoint, so the course CSVs cannot use it; ties to the first); `default` when
    none qualifies."""
    usable = {
        k: entries[k][SELECTION_KEY]
        for k in keys
        if np.isfinite(entries[k][SELECTION_KEY]) and entries[k].get("checkpoint")
    }
    return min(usable, key=usable.get) if usable else default


def _validation(ds, raw, tasks) -> np.ndarray:
    """The validation target frames (0-based) where every one of `tasks` is scored: `shared_targets`."""
    test_frames = ds.info.get("processing", {}).get("test_frames", TEST_FRAMES)
    return shared_targets(tasks, np.shape(raw.n6)[1], test_frames)


def _validation_record(data: TaskData) -> dict[str, Any]:
    return {"windows": len(data.val), "frames": [int(t) + 1 for t in np.unique(data.val.frame)]}


def frame4_study(
    ds, raw, best, train_cfg: TrainConfig, out_dir: Path, progress: bool = False
) -> dict[str, Any]:
    """frame4.json's content. `best`: the sweep's best `Checkpoint` (its config is retrained)."""
    val_targets = _validation(ds, raw, (PAPER_TASK, INTERPOLATE))
    extrap = task_data(ds, raw, PAPER_TASK, targets=[FRAME4], val_targets=val_targets)
    interp = task_data(ds, raw, INTERPOLATE, targets=[FRAME4], val_targets=val_targets)
    run = retrain(best.model_config, train_cfg, interp, out_dir / checkpoint_name(INTERPOLATE), progress)
    entries = {
        "extrapolate": _paper_entry(best, extrap),
        "interpolate": run.record(),
        "neighbour_mean": score(
            *(neighbour_mean(ws) for ws in (interp.val, interp.n6_test, interp.n3)), interp
        ),
        "copy_last": score(
            *(copy_previous(ws, PAPER_TASK) for ws in (extrap.val, extrap.n6_test, extrap.n3)), extrap
        ),
    }
    mse = {name: entry["n6_test_mse"] for name, entry in entries.items()}
    chosen = entries[_lowest(entries, ("extrapolate", "interpolate"), "extrapolate")]
    return {
        "frame": FRAME4 + 1,
        "validation": _validation_record(interp),
        **entries,
        "ratios": {
            "interpolate_to_extrapolate": _ratio(mse["interpolate"], mse["extrapolate"]),
            "interpolate_to_neighbour_mean": _ratio(mse["interpolate"], mse["neighbour_mean"]),
            "interpolate_to_copy_last": _ratio(mse["interpolate"], mse["copy_last"]),
        },
        "course_csv": chosen["task"],
        "course_checkpoint": chosen["checkpoint"],
    }


PAPER_ENTRY = "paper"  # frame16.json: the sweep's best model as it is (the paper's protocol)


def frame16_study(
    ds, raw, best, train_cfg: TrainConfig, contexts, out_dir: Path, progress: bool = False, refiner: int = 16
) -> dict[str, Any]:
    """frame16.json's content: the sweep's best model under `PAPER_ENTRY`, and one refined model
    (`refiner.Refined`, `refiner` channels, on the frozen best model) per context length,
    2 included, under its task's name."""
    tasks = [Task("extrapolate", context) for context in sorted(set(contexts) | {PAPER_TASK.context})]
    val_targets = _validation(ds, raw, tasks)
    paper = task_data(ds, raw, PAPER_TASK, targets=[FRAME16], val_targets=val_targets)
    entries: dict[str, dict[str, Any]] = {PAPER_ENTRY: _paper_entry(best, paper)}
    refined = replace(best.model_config, refiner=refiner)
    for task in tasks:
        data = task_data(ds, raw, task, targets=[FRAME16], val_targets=val_targets)
        path = out_dir / checkpoint_name(task)
        run = retrain(refined, train_cfg, data, path, progress, best.model.state_dict())
        entries[task.name] = {**run.record(), "refiner": refiner}
    chosen = _lowest(entries, entries, PAPER_ENTRY)
    return {
        "frame": FRAME16 + 1,
        "validation": _validation_record(paper),
        **entries,
        "paper_protocol": PAPER_ENTRY,
        "course_csv": chosen,
        "course_checkpoint": entries[chosen]["checkpoint"],
    }


def run_study(
    cfg: ProfileConfig, ds, raw, best_checkpoint: str | Path, progress: bool = False, device: str = "auto"
) -> dict[str, Any]:
    """Both studies for profile `cfg`: {"frame4": ..., "frame16": ...}.

    ds: the paper's datasets, not subsampled (`datasets.load_datasets`); raw: the sequences they
    were built from (`sources.load_raw`); best_checkpoint: the sweep's best model. Retrained
    checkpoints go to runs/<profile>/artifacts/<task>.pt.
    """
    best = load_checkpoint(best_checkpoint)
    interp_cfg, context_cfg = study_train_configs(cfg, best.train_config, device)
    out_dir = paths.artifacts_dir(cfg.profile)
    return {
        "frame4": frame4_study(ds, raw, best, interp_cfg, out_dir, progress),
        "frame16": frame16_study(
            ds, raw, best, context_cfg, cfg.frame16_contexts, out_dir, progress, refiner=cfg.refiner
        ),
    }


# ---------------------------------------------------------------------------------------------
# For the notebook: a table and example predictions

ROW_LABELS = {
    "extrapolate": "extrapolation from frames 2, 3 (the paper's protocol: the sweep's best)",
    "interpolate": "interpolation from frames 2, 3, 5, 6",
    "neighbour_mean": "mean of frames 3 and 5 (learns nothing)",
    "copy_last": "copy of frame 3 (learns nothing)",
}


def _frame16_label(name: str) -> str:
    if name == PAPER_ENTRY:
        return "extrapolation from frames 14-15 (the paper's protocol: the sweep's best)"
    task = Task.parse(name)
    first = FRAME16 + 1 - task.context
    return f"the same, refined by a CNN reading frames {max(first, 5)}-15 ({task.context} frames)"


def summary_table(study: dict[str, Any]) -> pd.DataFrame:
    """One row per way of predicting frame 4 and frame 16: N6-test MSE, PSNR, SSIM, N3 MSE, the
    ratio to the paper's protocol, and which way the course CSVs hold."""
    rows = []
    f4, f16 = study["frame4"], study["frame16"]
    for key, label in ROW_LABELS.items():
        entry = f4[key]
        rows.append(
            {
                "frame": 4,
                "prediction": label,
                **{k: entry[k] for k in SCORE_KEYS},
                "vs paper's protocol": entry["n6_test_mse"] / f4["extrapolate"]["n6_test_mse"],
                "in course CSV": entry.get("task") == f4["course_csv"],
            }
        )
    contexts = sorted((k for k in f16 if k.startswith("extrapolate-")), key=lambda k: Task.parse(k).context)
    for key in [f16["paper_protocol"], *contexts]:
        entry = f16[key]
        rows.append(
            {
                "frame": 16,
                "prediction": _frame16_label(key),
                **{k: entry[k] for k in SCORE_KEYS},
                "vs paper's protocol": entry["n6_test_mse"] / f16[f16["paper_protocol"]]["n6_test_mse"],
                "in course CSV": key == f16["course_csv"],
            }
        )
    return pd.DataFrame(rows)


def examples(study: dict[str, Any], ds, raw, sequences=(0, 1, 2)) -> dict[str, dict[str, np.ndarray]]:
    """Frame 4 and frame 16 of some N6 test sequences, true and predicted every way of the study,
    on the [0, 1] scale: {"frame4": {"truth": (k, H, W), name: (k, H, W), ...}, "frame16": {...}}."""
    index = np.asarray(sequences)
    out: dict[str, dict[str, np.ndarray]] = {"frame4": {}, "frame16": {}}
    interp = scored_windows(ds, raw, INTERPOLATE, targets=[FRAME4])[0].subset(index)
    out["frame4"]["truth"] = interp.targets
    for key in ("extrapolate", "interpolate"):
        entry = study["frame4"][key]
        task = Task.parse(entry["task"])
        path = paths.from_repo(entry["checkpoint"])
        windows = scored_windows(ds, raw, task, targets=[FRAME4])[0].subset(index)
        out["frame4"][task.name] = predict_frames(load_checkpoint(path).model, windows.inputs)
    out["frame4"]["neighbour mean"] = neighbour_mean(interp)
    for key, entry in study["frame16"].items():
        if isinstance(entry, dict) and entry.get("checkpoint"):
            windows = scored_windows(ds, raw, Task.parse(entry["task"]), targets=[FRAME16])[0].subset(index)
            out["frame16"].setdefault("truth", windows.targets)
            model = load_checkpoint(paths.from_repo(entry["checkpoint"])).model
            out["frame16"][key] = predict_frames(model, windows.inputs)
    return out


def cost_table(study: dict[str, Any]) -> pd.DataFrame:
    """Training windows, epochs and wall seconds per epoch of every retrained model."""
    runs = [("interpolate", study["frame4"]["interpolate"])]
    runs += [
        (k, v) for k, v in study["frame16"].items() if k.startswith("extrapolate-") and "s_per_epoch" in v
    ]
    return pd.DataFrame(
        [
            {
                "task": entry["task"],
                "training windows": entry["train_windows"],
                "epochs": entry["epochs"],
                "s per epoch": entry["s_per_epoch"],
                "runtime s": entry["runtime_s"],
            }
            for _, entry in runs
        ]
    )


def _times(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.2f} x"


def course_summary(study: dict[str, Any]) -> str:
    """One paragraph (Markdown) saying which predictions the course CSVs hold (chosen by their
    validation MSE), with the numbers."""
    f4, f16 = study["frame4"], study["frame16"]
    frame4_entry = f4["interpolate"] if f4["course_csv"] == INTERPOLATE.name else f4["extrapolate"]
    ratios = f4["ratios"]
    return (
        "Chosen by their validation MSE, "
        f"the course CSVs hold **frame 4 by {f4['course_csv']}** (N6 test MSE "
        f"{frame4_entry['n6_test_mse']:.2e}; interpolation is {_times(ratios['interpolate_to_extrapolate'])} "
        f"the paper's extrapolation and {_times(ratios['interpolate_to_neighbour_mean'])} the mean of "
        f"frames 3 and 5) and **frame 16 by {f16['course_csv']}** (N6 test MSE "
        f"{f16[f16['course_csv']]['n6_test_mse']:.2e}, against "
        f"{f16[f16['paper_protocol']]['n6_test_mse']:.2e} "
        "from the paper's model and two frames). The paper's protocol rows (Table 1) are unchanged."
    )


def context_verdict(study: dict[str, Any]) -> str:
    """One sentence (Markdown): did a longer past beat two frames, refined the same way?"""
    f16 = study["frame16"]
    refined = sorted((k for k in f16 if k.startswith("extrapolate-")), key=lambda k: Task.parse(k).context)
    if PAPER_TASK.name not in refined or len(refined) < 2:
        return "Only one context was measured."
    two = f16[PAPER_TASK.name]["n6_test_mse"]
    rows = ", ".join(
        f"{Task.parse(k).context} frames {f16[k]['n6_test_mse']:.2e} ({f16[k]['n6_test_mse'] / two:.2f} x)"
        for k in refined
    )
    longer = [k for k in refined if k != PAPER_TASK.name]
    better = [k for k in longer if f16[k]["n6_test_mse"] <= two]
    verdict = (
        f"a longer past is no worse than two frames here ({', '.join(better)})"
        if better
        else "every longer past is worse than two frames here"
    )
    paper = f16[f16["paper_protocol"]]["n6_test_mse"]
    return (
        f"Frame 16 refined the same way from each context (N6 test MSE, ratio to 2 frames): {rows}; "
        f"{verdict}. The paper's model alone: {paper:.2e}."
    )


def course_checkpoints(study: dict[str, Any]) -> tuple[Path, Path | None]:
    """(checkpoint for frame 16, interpolation checkpoint for frame 4 or None) of the course CSVs."""
    f4 = study["frame4"]
    interp = paths.from_repo(f4["course_checkpoint"]) if f4["course_csv"] == INTERPOLATE.name else None
    return paths.from_repo(study["frame16"]["course_checkpoint"]), interp
