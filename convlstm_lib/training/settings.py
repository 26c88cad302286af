"""`TrainConfig`: how one model is trained, saved as `asdict()` in every checkpoint and result."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from convlstm_lib.config import TRAINING_SETS, check_lr_schedule
from convlstm_lib.data.tasks import Task
from convlstm_lib.training.precision import PRECISIONS


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
    collapse_std:      threshold of the collapse test (`loop`'s docstring, `evaluation.is_collapsed`)
    precision:         'fp32', 'bf16' or 'auto' (`precision` module: autocast where it pays)
    task:              what the windows ask (`tasks.Task` by name): 'extrapolate-2' is the
                       paper's (t-2, t-1) -> t; 'interpolate-2' reads t-2, t-1, t+2, t+1
    lr_schedule:       'constant' (the paper's) or 'linear' decay to zero (`config.LR_SCHEDULES`)
    drop_jump_targets: train without the windows whose target follows a transition the
                       pre-processing flagged as an outlier jump (below); extrapolation only

    Dropping the jump targets: a window whose target frame follows an outlier jump asks the model
    to foretell the jump from two frames that know nothing of it; its target is label noise and
    its large error pulls the weights towards it. Only the windows whose *target* follows a
    flagged transition are dropped (the paper's 'cleaned' set drops every window of such a
    sequence); those with a jump between their inputs stay, and teach that a jump does not carry
    on. Measured in benchmarks/README.md ("The jump targets").
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
    task: str = "extrapolate-2"
    lr_schedule: str = "constant"
    drop_jump_targets: bool = False

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
        check_lr_schedule(self.lr_schedule)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: must be one of {PRECISIONS}, got {self.precision!r}")
        try:
            task = Task.parse(self.task)
        except ValueError as exc:
            raise ValueError(f"task: {exc}") from None
        if not isinstance(self.drop_jump_targets, bool):
            raise ValueError(f"drop_jump_targets: must be true or false, got {self.drop_jump_targets!r}")
        if self.drop_jump_targets and task.kind != "extrapolate":
            raise ValueError(
                "drop_jump_targets: only for extrapolation, whose target follows one transition;"
                f" task {task.name}"
            )
