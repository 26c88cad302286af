"""Training one model (any kind `models.build` makes) on one of the four training sets (paper §3.3).

`train_model(model_cfg, train_cfg, data)` trains with any optimiser of `torch.optim` by name
(LBFGS included: every step goes through a closure) on the whole training set held in
memory as tensors (shuffled by a seeded index permutation each epoch; no DataLoader), with
the per-batch mean squared error as the loss, at a learning rate that is constant (the paper's)
or decays linearly to zero over the run (`lr_schedule`, `config.LR_SCHEDULES`). Only the forward
pass runs under autocast (`precision`); the loss, backward and the optimiser step run in float32.
After every epoch (or, with `score_every_epoch=False`, after the last only) the model is scored,
in eval mode, on the validation windows, the N6 test windows and every N3 window
(`evaluate_model`, keys below).

A run ends with one of three statuses, decided on the validation windows and the training loss
only (the test windows never decide anything):

* ``complete``  trained every epoch;
* ``diverged``  the loss exploded: a training loss (or a validation prediction) became NaN or
                infinite (final metrics NaN), or after an epoch the validation MSE or the
                epoch's mean training loss is above `DIVERGED_MSE` = 1.0 per pixel on the
                [0, 1] scale, i.e. predictions off by more than the whole intensity range on
                average (final metrics those of that epoch; a blank image scores about 0.03, a
                trained model about 1e-3). The run stops there and writes no checkpoint;
* ``collapsed`` it trained, but its validation predictions are blank: the mean over images of
                each predicted image's pixel standard deviation is below `collapse_std`
                (0.002 on the [0, 1] scale: predictions ~ constant, e.g. dead ReLUs leaving
                only the head's bias). For scale: targets have ~0.17; even a tiny model after
                one smoke-profile epoch (3 steps) predicts faint images with 0.008-0.06.
                The paper dropped 30 such runs of 200.

A run that cannot train at all (an optimiser that cannot handle this model, e.g. SparseAdam
with dense gradients; any error raised by a training step) raises `TrainingFailed(reason)`.
Exceptions raised by the `on_epoch` callback (e.g. optuna.TrialPruned) propagate untouched.

After every epoch the model is scored by `evaluation.evaluate_model` (the metric keys of
`metrics.METRIC_KEYS`); per-epoch history entries add `epoch` (1-based) and `train_loss` (mean
over the epoch's batches of the batch MSE). Checkpoints: `checkpoints.py`; the CLI: `train_cli.py`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from convlstm_lib.config import check_lr_schedule
from convlstm_lib.data.tasks import PAPER_TASK, Task
from convlstm_lib.errors import ConvLSTMError, one_line
from convlstm_lib.models.build import build_model, model_config_for
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.progress import tqdm
from convlstm_lib.statuses import COMPLETE
from convlstm_lib.training.checkpoints import save_checkpoint
from convlstm_lib.training.devices import resolve_device
from convlstm_lib.training.evaluation import (
    as_model_input,
    device_inputs,
    evaluate_model,
    is_collapsed,
    metric_keys,
    predict_frames,
)
from convlstm_lib.training.metrics import VAL_MSE
from convlstm_lib.training.precision import autocast, resolve_precision
from convlstm_lib.training.settings import TrainConfig

# Above this per-pixel MSE ([0, 1] scale) a run has diverged (module docstring): even predicting
# the opposite extreme of every pixel cannot score more than 1.
DIVERGED_MSE = 1.0


class TrainingFailed(ConvLSTMError):
    """The run could not train at all; `reason` says why in one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class TrainResult:
    """What `train_model` returns. `metrics` are those of the final model (NaN if diverged)."""

    status: str  # one of statuses.RUN_STATUSES
    history: list[dict[str, float]]
    metrics: dict[str, float]
    runtime_s: float
    model: torch.nn.Module
    model_config: ModelConfig
    train_config: TrainConfig
    epochs_run: int = 0
    note: str = ""
    train_windows: int = 0  # windows it trained on (after max_train_windows)


# ---------------------------------------------------------------------------------------------
# Optimisers

def make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    """torch.optim.<name>(params, lr=lr); TrainingFailed when it cannot be built."""
    cls = getattr(torch.optim, name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TrainingFailed(f"optimizer {name!r}: not an optimiser in torch.optim")
    try:
        return cls(params, lr=lr)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TrainingFailed(f"optimizer {name}: cannot be built: {one_line(exc)}") from exc


def lr_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The `schedule` of `config.LR_SCHEDULES` over a run of `total_steps` optimiser steps, stepped
    once after every batch: 'constant' (the paper's) keeps lr; 'linear' trains batch s of the
    run's S (0-based) at lr x (1 - s / S), the first at lr and the last at lr / S.
    Smaller batches give more steps for the same windows, and the decay lets the last of them
    settle instead of jumping about the minimum (benchmarks/README.md).
    """
    if check_lr_schedule(schedule) == "linear":
        total = max(total_steps, 1)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / total))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


# ---------------------------------------------------------------------------------------------
# Training


def train_model(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint_path: str | Path | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
    score_every_epoch: bool = True,
) -> TrainResult:
    """Train one model on `data.train[train_cfg.dataset]`; score it after every epoch (or the last).

    data: a `datasets.Datasets` (or anything with .train, .val, .n6_test, .n3, .scaler):
    WindowSets with inputs (N, L, H, W) and targets (N, H, W) on the [0, 1] scale, L the input
    frames of train_cfg.task (`tasks.TaskData` for tasks other than the paper's).
    initial_state: weights to start from (a state_dict of the same architecture: fine-tuning)
    instead of the seeded initialisation; for a refined model (model_cfg.refiner > 0) the state
    of its base model, which stays frozen while the correction trains from its seeded start.
    The seed still orders the batches.
    on_epoch(epoch, metrics) is called after each epoch (1-based) with that epoch's history
    entry; whatever it raises propagates. The checkpoint, if asked for, is written at the end
    of a complete or collapsed run. Deterministic on CPU for a given seed.
    score_every_epoch=False scores only the last epoch (for runs whose learning curve nobody
    reads: seed re-runs, the task study): the other epochs' history entries hold `epoch` and
    `train_loss` only, and a mean training loss above `DIVERGED_MSE` still stops the run (its
    metrics then NaN: no epoch was scored). A run that completes ends with the same numbers;
    what it saves is the scoring, about a third of a small model's epoch on the scored windows.
    """
    start = time.perf_counter()
    _check_task(train_cfg, data)
    if getattr(data, "val", None) is None or not len(data.val):
        raise ValueError("data: no validation windows (.val), which a run's status is decided on "
                         "(datasets.prepare_datasets and tasks.task_data make them)")
    windows = data.train[train_cfg.dataset]
    if train_cfg.drop_jump_targets:
        windows = _without_jump_targets(windows, data)
    if train_cfg.max_train_windows:
        windows = windows.sample(train_cfg.max_train_windows, train_cfg.seed)
    if len(windows) == 0:
        raise TrainingFailed(f"training set {train_cfg.dataset!r} has no windows")
    frame_shape = tuple(windows.inputs.shape[-2:])
    if frame_shape != (model_cfg.height, model_cfg.width):
        raise ValueError(
            f"model_cfg: height/width {model_cfg.height}x{model_cfg.width} do not match frames {frame_shape}"
        )

    # The model is built for the task's windows (simvp stacks the frames as channels).
    model_cfg = model_config_for(model_cfg, Task.parse(train_cfg.task))
    device = resolve_device(train_cfg.device)
    dtype = resolve_precision(train_cfg.precision, device)
    model = build_model(model_cfg, train_cfg.task, seed=train_cfg.seed)
    if initial_state is not None and model_cfg.refiner:
        model.load_base(initial_state)
    elif initial_state is not None:
        model.load_state_dict(initial_state)
    model = model.to(device)
    x_all = as_model_input(windows.inputs).to(device)  # (N, L, 1, H, W)
    y_all = torch.as_tensor(windows.targets, dtype=torch.float32).unsqueeze(1).to(device)  # (N, 1, H, W)
    scored = device_inputs(data, device)  # the scored inputs, on the device for the whole run too
    # A CPU reads each batch's loss at once (free there), so a diverged run stops at that batch; a
    # GPU would wait for every step to finish: there the losses stay on it, read once an epoch.
    check_each_batch = device.type == "cpu"
    if train_cfg.optimizer == "LBFGS":
        # LBFGS flattens every gradient with .view(-1), which needs the plain contiguous layout
        # (the model keeps its weights channels_last); same numbers, slightly slower steps.
        _make_parameters_contiguous(model)
    optimizer = make_optimizer(train_cfg.optimizer, model.parameters(), train_cfg.lr)
    shuffle = torch.Generator().manual_seed(train_cfg.seed)

    n = len(x_all)
    batches_per_epoch = math.ceil(n / train_cfg.batch_size)
    schedule = lr_scheduler(optimizer, train_cfg.lr_schedule, train_cfg.epochs * batches_per_epoch)
    history: list[dict[str, float]] = []
    status, note = COMPLETE, ""
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
                loss = _train_step(model, optimizer, x_all[idx], y_all[idx], train_cfg.optimizer,
                                   lambda: autocast(device, dtype))
                schedule.step()
                bar.update(1)
                losses.append(loss)
                if check_each_batch and not math.isfinite(loss):
                    break
            values = torch.stack(losses).cpu().tolist()  # one read an epoch (a no-op on a CPU)
            bad = next((b for b, v in enumerate(values) if not math.isfinite(v)), None)
            if bad is not None:
                status, note = "diverged", f"training loss {values[bad]} in epoch {epoch}, batch {bad + 1}"
                break
            entry = {"epoch": epoch, "train_loss": float(np.mean(values))}
            if score_every_epoch or epoch == train_cfg.epochs:
                scores = evaluate_model(model, data, train_cfg.batch_size, train_cfg.eval_batch_size,
                                        inputs=scored)
                if scores is None:
                    status, note = "diverged", f"non-finite predictions after epoch {epoch}"
                    break
                entry.update(scores)
            history.append(entry)
            exploded = [f"{k} {entry[k]:.3g}" for k in (VAL_MSE, "train_loss")
                        if entry.get(k, 0.0) > DIVERGED_MSE]
            if exploded:
                status = "diverged"
                note = f"{' and '.join(exploded)} after epoch {epoch} (above {DIVERGED_MSE:g}: loss exploded)"
                break
            bar.set_postfix({"loss": f"{entry['train_loss']:.2e}",
                             **({"val": f"{entry[VAL_MSE]:.2e}"} if VAL_MSE in entry else {})})
            if on_epoch is not None:
                on_epoch(epoch, entry)
    finally:
        bar.close()

    scored_last = bool(history) and history[-1]["epoch"] == epoch and VAL_MSE in history[-1]
    if status == "diverged" and not scored_last:
        final = {key: math.nan for key in metric_keys(data)}
    elif status == "diverged":  # the loss exploded, finite: keep the numbers that show it
        final = {k: v for k, v in history[-1].items() if k not in ("epoch", "train_loss")}
    else:
        final = {k: v for k, v in history[-1].items() if k not in ("epoch", "train_loss")}
        pred = predict_frames(model, scored["val"], train_cfg.eval_batch_size)
        if is_collapsed(pred, train_cfg.collapse_std):
            status, note = (
                "collapsed",
                f"validation predictions blank (mean image std < {train_cfg.collapse_std})",
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
        train_windows=n,
    )
    if checkpoint_path is not None and status != "diverged":
        save_checkpoint(checkpoint_path, model, model_cfg, train_cfg, data.scaler, final, status)
    return result


def _check_task(train_cfg: TrainConfig, data) -> None:
    """ValueError when `data` hold another task's windows than train_cfg.task names (the
    paper's `datasets.Datasets` hold extrapolate-2; `tasks.TaskData` says its own task)."""
    task = getattr(data, "task", PAPER_TASK)
    if Task.parse(train_cfg.task) != task:
        raise ValueError(
            f"train_cfg.task: {train_cfg.task!r}, but the data hold {task.name} windows"
            " (build them with tasks.task_data)"
        )


def _without_jump_targets(windows, data):
    """`windows` less those whose target follows a flagged outlier jump (`TrainConfig`); ValueError
    when `data` carry no outlier report."""
    outliers = getattr(data, "outliers", None)
    if outliers is None:
        raise ValueError(
            "drop_jump_targets: these data carry no outlier report (datasets.prepare_datasets makes one)"
        )
    return windows.subset(~outliers.jump_targets(windows.seq, windows.frame))


def _make_parameters_contiguous(model: torch.nn.Module) -> None:
    """Re-lay every parameter out in the default contiguous format (values unchanged)."""
    for p in model.parameters():
        p.data = p.data.contiguous()


def _train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, name: str,
    forward: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> torch.Tensor:
    """One optimiser step on batch x (B, T, 1, H, W) -> y (B, 1, H, W); the batch's mean MSE, a
    0-d float32 tensor on the batch's device (reading it waits for the step: the caller decides when).

    Always through a closure, which every torch optimiser accepts and LBFGS requires. Only the
    forward pass runs inside the context `forward()` makes (the autocast of `precision.autocast`);
    the float32 loss, its backward and the optimiser's update run outside it, as torch's AMP
    recipe has it. Any error of the step itself becomes TrainingFailed.
    """

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with forward():
            out = model(x)
        loss = F.mse_loss(out.float(), y)
        loss.backward()
        return loss

    try:
        loss = optimizer.step(closure)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise TrainingFailed(f"optimizer {name}: training step failed: {one_line(exc)}") from exc
    if loss is None:
        raise TrainingFailed(f"optimizer {name}: step() returned no loss")
    if isinstance(loss, torch.Tensor):
        return loss.detach().float()
    return torch.tensor(float(loss), device=x.device)

