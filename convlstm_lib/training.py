"""Training one ConvLSTM on one of the four training sets (paper §3.3), and its checkpoints.

`train_model(model_cfg, train_cfg, data)` trains with any optimiser of `torch.optim` by name
(LBFGS included: every step goes through a closure) on the whole training set held in
memory as tensors (shuffled by a seeded index permutation each epoch; no DataLoader), with
the per-batch mean squared error as the loss. After every epoch the model is scored, in eval
mode, on the N6 test windows and on every N3 window (`evaluate_model`, keys below).

A run ends with one of three statuses:

* ``complete``  trained every epoch;
* ``diverged``  a training loss (or a prediction) became NaN or infinite: the run stops there,
                its final metrics are NaN;
* ``collapsed`` it trained, but its N6 test predictions are blank: the mean over images of
                each predicted image's pixel standard deviation is below `collapse_std`
                (0.002 on the [0, 1] scale: predictions ~ constant, e.g. dead ReLUs leaving
                only the head's bias). For scale: targets have ~0.17; even a tiny model after
                one smoke-profile epoch (3 steps) predicts faint images with 0.008-0.06.
                The paper dropped 30 such runs of 200.

A run that cannot train at all (an optimiser that cannot handle this model, e.g. SparseAdam
with dense gradients; any error raised by a training step) raises `TrainingFailed(reason)`.
Exceptions raised by the `on_epoch` callback (e.g. optuna.TrialPruned) propagate untouched.

Metric keys (docs/ARCHITECTURE.md), all on the [0, 1] scale:
    n6_test_mse n6_test_psnr n6_test_ssim n6_test_clean_mse n6_test_paper_loss
    n3_mse n3_psnr n3_ssim n3_clean_mse n3_paper_loss
(`*_clean_mse` only when the data have clean targets, i.e. generated data); per-epoch history
entries add `epoch` (1-based) and `train_loss` (mean over the epoch's batches of the batch MSE).
mse/psnr/ssim reductions are those of `metrics`; `*_paper_loss` is the paper's Table 1 number
with the run's batch size (`metrics.paper_loss`).

Checkpoints (`save_checkpoint` / `load_checkpoint`): one torch file holding only plain dicts,
lists, numbers, strings and tensors (loadable with `torch.load(weights_only=True)`): the
format marker, its version, the weights, asdict(ModelConfig), asdict(TrainConfig), the
scaler's raw lo/hi, the status and final metrics. Written atomically.

CLI: ``python -m convlstm_lib train --dataset processed --layers 4 --kernels 71 ... --out DIR``
writes DIR/model.pt and DIR/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import metrics
from .atomic import atomic_path, write_text
from .config import ACTIVATIONS, MODELS, TRAINING_SETS
from .errors import CheckpointError, ConvLSTMError
from .model import ModelConfig
from .model import build_model as _new_model
from .precision import PRECISIONS, autocast, resolve_precision

CHECKPOINT_FORMAT = "convlstm-checkpoint"
CHECKPOINT_VERSION = 1
STATUSES = ("complete", "collapsed", "diverged")


class TrainingFailed(ConvLSTMError):
    """The run could not train at all; `reason` says why in one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TrainArgumentError(ConvLSTMError, ValueError):
    """A training parameter given on the command line is out of range."""


def optimizer_names() -> list[str]:
    """Every optimiser class in torch.optim, by name."""
    return sorted(
        name
        for name, obj in vars(torch.optim).items()
        if isinstance(obj, type)
        and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
    )


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained; asdict() is stored with every result and checkpoint.

    dataset:           training set: base, cleaned, denoised or processed
    lr:                learning rate given to the optimiser
    batch_size:        windows per optimisation step (the last batch of an epoch may be smaller)
    epochs:            passes over the training set
    optimizer:         name of a torch.optim optimiser, e.g. 'Adam', 'LBFGS', 'Adafactor'
    seed:              seeds the weight initialisation and the shuffling
    device:            'auto' (cuda, then mps, then cpu), or a torch device string
    max_train_windows: use a seeded random subset of this many training windows (0 = all)
    eval_batch_size:   windows per forward pass when predicting for the metrics
    collapse_std:      threshold of the collapse criterion (see the module docstring)
    precision:         'fp32', 'bf16' or 'auto' (`precision` module: autocast where it pays)
    """

    dataset: str = "processed"
    lr: float = 1e-3
    batch_size: int = 32
    epochs: int = 20
    optimizer: str = "Adam"
    seed: int = 0
    device: str = "auto"
    max_train_windows: int = 0
    eval_batch_size: int = 256
    collapse_std: float = 0.002
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.dataset not in TRAINING_SETS:
            raise ValueError(f"dataset: must be one of {TRAINING_SETS}, got {self.dataset!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: must be a positive number, got {self.lr}")
        for name in ("batch_size", "epochs", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.max_train_windows < 0:
            raise ValueError(f"max_train_windows: must be >= 0, got {self.max_train_windows}")
        if self.optimizer not in optimizer_names():
            raise ValueError(
                f"optimizer: {self.optimizer!r} is not in torch.optim; choose one of {optimizer_names()}"
            )
        if self.collapse_std < 0:
            raise ValueError(f"collapse_std: must be >= 0, got {self.collapse_std}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {PRECISIONS}, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What `train_model` returns. `metrics` are those of the final model (NaN if diverged)."""

    status: str
    history: list[dict[str, float]]
    metrics: dict[str, float]
    runtime_s: float
    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig
    epochs_run: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Devices, optimisers, prediction


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; anything else as torch.device(name)."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device: {name!r} is not a torch device ({exc})") from None


def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """torch.optim.<name>(params, lr=lr); TrainingFailed when it cannot be built."""
    cls = getattr(torch.optim, name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TrainingFailed(f"optimizer {name!r}: not an optimiser in torch.optim")
    try:
        return cls(params, lr=lr)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TrainingFailed(f"optimizer {name}: cannot be built: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _as_model_input(inputs) -> torch.Tensor:
    """(N, T, H, W) or (N, T, C, H, W), numpy or torch -> float32 tensor (N, T, C, H, W)."""
    x = torch.as_tensor(np.asarray(inputs) if not isinstance(inputs, torch.Tensor) else inputs)
    x = x.to(torch.float32)
    if x.ndim == 4:
        x = x.unsqueeze(2)
    if x.ndim != 5:
        raise ValueError(f"inputs: expected shape (N, T, H, W) or (N, T, C, H, W), got {tuple(x.shape)}")
    return x


@torch.no_grad()
def predict_frames(model: torch.nn.Module, inputs, batch_size: int = 256) -> np.ndarray:
    """Predict the next frame of every window, in eval mode.

    inputs: (N, T, H, W) or (N, T, C, H, W) array or tensor, [0, 1] scale.
    Returns float32 (N, H, W). The model's train/eval mode is restored afterwards.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    x = _as_model_input(inputs)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        out = [model(x[i : i + batch_size].to(device)).squeeze(1).cpu() for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    if not out:
        return np.zeros((0, *x.shape[-2:]), dtype=np.float32)
    return torch.cat(out).numpy()


def score_predictions(
    pred: np.ndarray, windows, prefix: str, batch_size: int | None = None
) -> dict[str, float]:
    """Metrics of predictions (N, H, W) against a WindowSet's targets, keys prefixed.

    `{prefix}_mse/_psnr/_ssim` against the recorded targets, `{prefix}_clean_mse` against the
    clean targets when there are any, `{prefix}_paper_loss` when `batch_size` is given.
    """
    out = {f"{prefix}_{k}": v for k, v in metrics.evaluate(pred, windows.targets).items()}
    if windows.clean_targets is not None:
        out[f"{prefix}_clean_mse"] = metrics.mse(pred, windows.clean_targets)
    if batch_size is not None:
        out[f"{prefix}_paper_loss"] = metrics.paper_loss(pred, windows.targets, batch_size)
    return out


def metric_keys(data) -> list[str]:
    """The metric keys a run on `data` reports (clean_* only with clean targets)."""
    keys = []
    for prefix, ws in (("n6_test", data.n6_test), ("n3", data.n3)):
        keys += [f"{prefix}_mse", f"{prefix}_psnr", f"{prefix}_ssim"]
        if ws.clean_targets is not None:
            keys.append(f"{prefix}_clean_mse")
        keys.append(f"{prefix}_paper_loss")
    return keys


def evaluate_model(
    model: torch.nn.Module, data, batch_size: int, eval_batch_size: int = 256
) -> dict[str, float] | None:
    """The metrics of `model` on N6 test and N3 (see module docstring); None if a prediction is
    not finite. `batch_size` is the run's training batch size, used for the paper's loss."""
    out: dict[str, float] = {}
    for prefix, ws in (("n6_test", data.n6_test), ("n3", data.n3)):
        pred = predict_frames(model, ws.inputs, eval_batch_size)
        if not np.isfinite(pred).all():
            return None
        out.update(score_predictions(pred, ws, prefix, batch_size))
    return out


def is_collapsed(pred: np.ndarray, threshold: float) -> bool:
    """True when predictions (N, H, W) are blank: mean over images of per-image pixel std < threshold."""
    return float(np.asarray(pred, dtype=np.float64).reshape(len(pred), -1).std(axis=1).mean()) < threshold


# ---------------------------------------------------------------------------------------------
# Training


def build_model(model_cfg: ModelConfig, seed: int) -> torch.nn.Module:
    """A freshly initialised model; the same seed gives the same weights (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _new_model(model_cfg)


def train_model(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint_path: str | Path | None = None,
) -> TrainResult:
    """Train one model on `data.train[train_cfg.dataset]`; score it after every epoch.

    data: a `datasets.Datasets` (or anything with .train, .n6_test, .n3, .scaler): WindowSets
    with inputs (N, 2, H, W) and targets (N, H, W) on the [0, 1] scale.
    on_epoch(epoch, metrics) is called after each epoch (1-based) with that epoch's history
    entry; whatever it raises propagates. The checkpoint, if asked for, is written at the end
    of a complete or collapsed run. Deterministic on CPU for a given seed.
    """
    start = time.perf_counter()
    windows = data.train[train_cfg.dataset]
    if train_cfg.max_train_windows:
        windows = windows.sample(train_cfg.max_train_windows, train_cfg.seed)
    if len(windows) == 0:
        raise TrainingFailed(f"training set {train_cfg.dataset!r} has no windows")
    frame_shape = tuple(windows.inputs.shape[-2:])
    if frame_shape != (model_cfg.height, model_cfg.width):
        raise ValueError(
            f"model_cfg: height/width {model_cfg.height}x{model_cfg.width} do not match frames {frame_shape}"
        )

    # The model is built for the data's window length (simvp stacks the frames as channels).
    model_cfg = replace(model_cfg, frames=windows.inputs.shape[1])
    device = resolve_device(train_cfg.device)
    dtype = resolve_precision(train_cfg.precision, device)
    model = build_model(model_cfg, train_cfg.seed).to(device)
    x_all = _as_model_input(windows.inputs).to(device)  # (N, 2, 1, H, W)
    y_all = torch.as_tensor(windows.targets, dtype=torch.float32).unsqueeze(1).to(device)  # (N, 1, H, W)
    if train_cfg.optimizer == "LBFGS":
        # LBFGS flattens every gradient with .view(-1), which needs the plain contiguous layout
        # (the model keeps its weights channels_last); same numbers, slightly slower steps.
        _make_parameters_contiguous(model)
    optimizer = make_optimizer(train_cfg.optimizer, model.parameters(), train_cfg.lr)
    shuffle = torch.Generator().manual_seed(train_cfg.seed)

    n = len(x_all)
    batches_per_epoch = math.ceil(n / train_cfg.batch_size)
    history: list[dict[str, float]] = []
    status, note = "complete", ""
    bar = tqdm(
        total=train_cfg.epochs * batches_per_epoch,
        disable=not progress,
        leave=False,
        desc=f"{model_cfg.model} {train_cfg.optimizer} {model_cfg.layers}x{model_cfg.kernels}",
        unit="batch",
    )
    try:
        for epoch in range(1, train_cfg.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=shuffle).to(device)
            losses = []
            for b in range(batches_per_epoch):
                idx = order[b * train_cfg.batch_size : (b + 1) * train_cfg.batch_size]
                with autocast(device, dtype):
                    loss = _train_step(model, optimizer, x_all[idx], y_all[idx], train_cfg.optimizer)
                bar.update(1)
                if not math.isfinite(loss):
                    status, note = "diverged", f"training loss {loss} in epoch {epoch}, batch {b + 1}"
                    break
                losses.append(loss)
            if status == "diverged":
                break
            scores = evaluate_model(model, data, train_cfg.batch_size, train_cfg.eval_batch_size)
            if scores is None:
                status, note = "diverged", f"non-finite predictions after epoch {epoch}"
                break
            entry = {"epoch": epoch, "train_loss": float(np.mean(losses)), **scores}
            history.append(entry)
            bar.set_postfix(loss=f"{entry['train_loss']:.2e}", n6=f"{scores['n6_test_mse']:.2e}")
            if on_epoch is not None:
                on_epoch(epoch, entry)
    finally:
        bar.close()

    if status == "diverged":
        final = {key: math.nan for key in metric_keys(data)}
    else:
        final = {k: v for k, v in history[-1].items() if k not in ("epoch", "train_loss")}
        pred = predict_frames(model, data.n6_test.inputs, train_cfg.eval_batch_size)
        if is_collapsed(pred, train_cfg.collapse_std):
            status, note = (
                "collapsed",
                f"N6 test predictions blank (mean image std < {train_cfg.collapse_std})",
            )
    result = TrainResult(
        status=status,
        history=history,
        metrics=final,
        runtime_s=time.perf_counter() - start,
        model=model,
        model_config=model_cfg,
        train_config=train_cfg,
        epochs_run=len(history),
        note=note,
    )
    if checkpoint_path is not None and status != "diverged":
        save_checkpoint(checkpoint_path, model, model_cfg, train_cfg, data.scaler, final, status)
    return result


def _make_parameters_contiguous(model: torch.nn.Module) -> None:
    """Re-lay every parameter out in the default contiguous format (values unchanged)."""
    for p in model.parameters():
        p.data = p.data.contiguous()


def _train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, name: str
) -> float:
    """One optimiser step on batch x (B, T, 1, H, W) -> y (B, 1, H, W); the batch's mean MSE.

    Always through a closure, which every torch optimiser accepts and LBFGS requires.
    Any error of the step itself becomes TrainingFailed.
    """

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x).float(), y)  # float32 loss also under autocast
        loss.backward()
        return loss

    try:
        loss = optimizer.step(closure)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise TrainingFailed(f"optimizer {name}: training step failed: {_one_line(exc)}") from exc
    if loss is None:
        raise TrainingFailed(f"optimizer {name}: step() returned no loss")
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)


# ---------------------------------------------------------------------------------------------
# Checkpoints


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode) and everything saved with it."""

    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig
    scaler_lo: float
    scaler_hi: float
    metrics: dict[str, float]
    status: str
    path: Path

    @property
    def scaler(self):
        """The `preprocessing.Scaler` the model's training data were scaled with."""
        from .preprocessing import Scaler

        return Scaler(self.scaler_lo, self.scaler_hi)


def save_checkpoint(
    path,
    model: torch.nn.Module,
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    scaler,
    final_metrics: dict[str, float],
    status: str,
) -> Path:
    """Write the checkpoint atomically; returns its path. `scaler` has raw-scale .lo and .hi."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_config": asdict(model_cfg),
        "train_config": asdict(train_cfg),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "scaler": {"lo": float(scaler.lo), "hi": float(scaler.hi)},
        "metrics": {k: float(v) for k, v in final_metrics.items()},
        "status": status,
        "torch_version": str(torch.__version__),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _dataclass_from(cls, values, path: Path, what: str):
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: {what} missing or not a mapping")
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise CheckpointError(f"{path}: {what} has unknown field(s) {sorted(unknown)}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: {what} invalid: {_one_line(exc)}") from None


def load_checkpoint(path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by `save_checkpoint`: the model ready for eval on `device`.

    A missing, truncated, corrupt or foreign file raises CheckpointError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {_one_line(exc)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a convlstm checkpoint (format marker missing)")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {payload.get('version')!r}, expected {CHECKPOINT_VERSION}"
        )
    model_cfg = _dataclass_from(ModelConfig, payload.get("model_config"), path, "model_config")
    train_cfg = _dataclass_from(TrainConfig, payload.get("train_config"), path, "train_config")
    state, scaler = payload.get("state_dict"), payload.get("scaler")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict missing")
    if not (isinstance(scaler, dict) and {"lo", "hi"} <= set(scaler)):
        raise CheckpointError(f"{path}: scaler lo/hi missing")
    model = _new_model(model_cfg)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{path}: weights do not match a {model_cfg.model} model of this config ({_one_line(exc)})"
        ) from None
    model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return Checkpoint(
        model=model,
        model_config=model_cfg,
        train_config=train_cfg,
        scaler_lo=float(scaler["lo"]),
        scaler_hi=float(scaler["hi"]),
        metrics=dict(payload.get("metrics", {})),
        status=str(payload.get("status", "")),
        path=path,
    )


# ---------------------------------------------------------------------------------------------
# CLI: python -m convlstm_lib train ...


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
    parser.add_argument("--lr", type=float, default=t.lr, help="learning rate (default %(default)s)")
    parser.add_argument(
        "--batch-size", type=int, default=t.batch_size, help="batch size (default %(default)s)"
    )
    parser.add_argument(
        "--optimizer", default=t.optimizer, help="a torch.optim optimiser by name (default %(default)s)"
    )
    parser.add_argument("--epochs", type=int, default=t.epochs, help="epochs (default %(default)s)")
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
        "--profile", default="quick", help="data profile: smoke, quick or paper (default quick)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder for model.pt and metrics.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from .config import get_profile
    from .datasets import prepare_datasets

    try:
        cfg = get_profile(args.profile, seed=args.seed)
        model_cfg = ModelConfig(
            model=args.model, layers=args.layers, kernels=args.kernels, kernel_size=args.kernel_size,
            activation=args.activation,
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
            max_train_windows=cfg.max_train_windows
            if args.max_train_windows is None
            else args.max_train_windows,
        )
        resolve_precision(train_cfg.precision, resolve_device(train_cfg.device))
    except ValueError as exc:
        raise TrainArgumentError(str(exc)) from None
    data = prepare_datasets(cfg, progress=not args.quiet)
    result = train_model(
        model_cfg,
        train_cfg,
        data,
        progress=not args.quiet,
        checkpoint_path=None if args.out is None else args.out / "model.pt",
    )
    summary = {
        "status": result.status,
        "note": result.note,
        "runtime_s": result.runtime_s,
        "epochs_run": result.epochs_run,
        "metrics": result.metrics,
        "history": result.history,
        "model_config": asdict(result.model_config),
        "train_config": asdict(train_cfg),
        "profile": cfg.profile,
    }
    write_text(args.out / "metrics.json", json.dumps(summary, indent=2, default=float) + "\n")
    print(
        f"status: {result.status}{' (' + result.note + ')' if result.note else ''}; "
        f"{result.epochs_run} epochs in {result.runtime_s:.1f} s"
    )
    for key, value in result.metrics.items():
        print(f"  {key:<20} {value:.6g}")
    print(
        f"wrote {args.out / 'model.pt' if result.status != 'diverged' else '(no model: diverged)'} "
        f"and {args.out / 'metrics.json'}"
    )
    return 0 if result.status == "complete" else 1
