"""Profiles: the one configuration every notebook's parameters cell is drawn from.

`run_all.py` reads the keys of each notebook's `parameters` cell and passes the values of
the chosen profile for exactly those keys; a test checks every such key is a field here.

| profile | for                                   | budget                          |
|---------|---------------------------------------|---------------------------------|
| smoke   | tests and CI, tiny data               | well under 2 minutes, 2 CPU cores |
| quick   | default of `python run_all.py`        | at most 20 minutes, 2 CPU cores  |
| paper   | the paper's protocol                 | one GPU                          |
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

PAPER_OPTIMIZERS = (
    "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "SparseAdam", "Adamax",
    "ASGD", "LBFGS", "NAdam", "RAdam", "RMSprop", "Rprop", "SGD",
)
TRAINING_SETS = ("base", "cleaned", "denoised", "processed")
ACTIVATIONS = ("relu", "tanh")
# Model kinds (`models.build.build_model`): the paper's ConvLSTM first, then the models its future work names.
MODELS = ("convlstm", "convgru", "convrnn", "simvp")
# How the learning rate moves over a training run (`training.loop.lr_scheduler`): the paper's constant
# rate, or a linear decay to zero.
LR_SCHEDULES = ("constant", "linear")
# `workers` of a profile: a count, or AUTO: as many trials at once as the training device holds
# (`training.devices.resolve_workers`).
AUTO = "auto"
# The validation share: the N6 sequences held out of training whose windows every choice is made on
# (`data.preprocessing.hold_out_sequences`); at most half, so that most sequences still train.
VAL_SHARE_MAX = 0.5


def check_val_share(share: Any) -> float:
    """`share` as a float if it lies in (0, VAL_SHARE_MAX], else ValueError naming `val_share`."""
    if isinstance(share, bool) or not isinstance(share, (int, float, np.integer, np.floating)) \
            or not 0 < share <= VAL_SHARE_MAX:
        raise ValueError(f"val_share: must be a number in (0, {VAL_SHARE_MAX}], got {share!r}")
    return float(share)


def held_out_count(n_sequences: int, share: float) -> int:
    """How many of `n_sequences` a validation share holds out: share x n rounded half up."""
    return int(np.floor(check_val_share(share) * n_sequences + 0.5))


def check_lr_schedule(name: str) -> str:
    """`name` if it is one of `LR_SCHEDULES`, else ValueError naming the field."""
    if name not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule: must be one of {LR_SCHEDULES}, got {name!r}")
    return name


@dataclass(frozen=True)
class ProfileConfig:
    """Everything a pipeline run depends on. Same profile + seed => same data, same sweep."""

    profile: str = "quick"
    seed: int = 0
    # 01 data: how many sequences to generate (ignored when course CSVs are in data/)
    n6: int = 400
    n3: int = 100
    # 02 validation: this share of the N6 sequences (whole sequences, seeded) is held out of
    # training; their windows are the validation windows every choice is made on, the test frames
    # (N6 frames 4 and 16, N3) only report (`datasets` module docstring)
    val_share: float = 0.1
    # 03 sweep: the paper's random search space, narrowed by the profile
    n_trials: int = 200
    epochs: int = 20
    layers_min: int = 1
    layers_max: int = 7
    kernels_min: int = 1
    kernels_max: int = 100
    lr_min: float = 1e-5
    lr_max: float = 0.1
    batch_size_min: int = 32
    batch_size_max: int = 256
    lr_schedule: str = "constant"  # the paper's; or "linear" decay to zero (LR_SCHEDULES)
    optimizers: tuple[str, ...] = PAPER_OPTIMIZERS
    activations: tuple[str, ...] = ACTIVATIONS
    training_sets: tuple[str, ...] = TRAINING_SETS
    models: tuple[str, ...] = ("convlstm",)  # model kinds the sweep cycles through (MODELS)
    max_train_windows: int = 0  # 0 = every training window
    sweep_budget_s: float = 0.0  # wall-clock safety net of the sweep; 0 = none (sweep module docstring)
    # run_all.py --budget-minutes: when > 0 it replaces sweep_budget_s by budget_minutes x 60 (0 = the
    # profile's own); the notebooks take it, unlike sweep_budget_s, the same in every profile.
    budget_minutes: float = 0.0
    workers: int | str = 1  # processes of the sweep and of side-by-side runs, or AUTO
    prune: bool = False
    storage: str = ""  # "" = journal file runs/<profile>/<study>/sweep.journal; or a path / database URL
    study: str = ""  # "" = "convlstm-<profile>"
    # 04: Table 1's best row re-trained with this many seeds in all (the sweep's own run included)
    seed_runs: int = 3
    # 02 / 05 robustness: corruption intensities in [0, 1] and the missing-region step
    noise_levels: int = 100
    figure5_rows: int = 6
    region_step: int = 1
    # 04 task study (experiments/task_study.py): the sweep's best configuration retrained as a
    # frame-4 interpolator (the profile's epochs and windows), and for frame 16 the best model,
    # frozen, refined by a CNN of `refiner` channels reading each context's frames:
    # context_epochs epochs on context_max_train_windows windows (0 = the profile's epochs /
    # max_train_windows)
    frame16_contexts: tuple[int, ...] = (2, 4, 11)
    interp_epochs: int = 0  # epochs of the frame-4 interpolator; 0 = the best trial's
    interp_max_train_windows: int = 0  # its training windows; 0 = the profile's max_train_windows
    refiner: int = 16
    context_epochs: int = 0
    context_max_train_windows: int = 0
    # 06 the final model (experiments/final.py): one configuration trained final_runs times
    # (0 = none) with their own seeds on `workers` processes, the runs averaged. Its learning-rate
    # schedule is the profile's; final_max_train_windows 0 = every training window. The model
    # reads its frames as channels (`ModelConfig.frames_as_channels`) and trains without the
    # windows whose target follows a flagged jump (`TrainConfig.drop_jump_targets`).
    final_runs: int = 0
    final_model: str = "convgru"
    final_layers: int = 3
    final_kernels: int = 32
    final_activation: str = "tanh"
    final_frames_as_channels: bool = True
    final_dataset: str = "base"
    final_drop_jump_targets: bool = True
    final_optimizer: str = "RAdam"
    final_lr: float = 7.17e-3
    final_batch_size: int = 8
    final_epochs: int = 4
    final_max_train_windows: int = 0

    def __post_init__(self) -> None:
        if self.profile not in PROFILES_NAMES:
            raise ValueError(f"profile: unknown profile {self.profile!r}; choose one of {PROFILES_NAMES}")
        check_seed(self.seed)
        positive = ("n6", "n3", "n_trials", "epochs", "noise_levels", "figure5_rows",
                    "region_step", "seed_runs")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 1 <= self.layers_min <= self.layers_max <= 7:
            raise ValueError(
                f"layers_min/layers_max: need 1 <= min <= max <= 7, got {self.layers_min}..{self.layers_max}"
            )
        if not 1 <= self.kernels_min <= self.kernels_max <= 100:
            raise ValueError(
                "kernels_min/kernels_max: need 1 <= min <= max <= 100, "
                f"got {self.kernels_min}..{self.kernels_max}"
            )
        if not 0 < self.lr_min <= self.lr_max:
            raise ValueError(f"lr_min/lr_max: need 0 < min <= max, got {self.lr_min}..{self.lr_max}")
        if not 1 <= self.batch_size_min <= self.batch_size_max:
            raise ValueError(
                "batch_size_min/batch_size_max: need 1 <= min <= max, "
                f"got {self.batch_size_min}..{self.batch_size_max}"
            )
        check_lr_schedule(self.lr_schedule)
        check_val_share(self.val_share)
        if held_out_count(self.n6, self.val_share) < 1:
            raise ValueError(f"val_share: {self.val_share} of the {self.n6} N6 sequences holds none out for "
                             "validation; raise it or n6")
        if not 1 <= self.refiner <= 100:
            raise ValueError(f"refiner: must be in 1..100 channels, got {self.refiner}")
        budgets = ("context_epochs", "context_max_train_windows", "interp_epochs", "interp_max_train_windows")
        for name in budgets:
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0 (0 = the profile's), got {getattr(self, name)}")
        if not self.frame16_contexts or any(int(c) != c or c < 2 for c in self.frame16_contexts):
            raise ValueError(f"frame16_contexts: need integers >= 2, got {list(self.frame16_contexts)}")
        if self.final_runs < 0 or self.final_max_train_windows < 0:
            raise ValueError("final_runs/final_max_train_windows: must be >= 0, "
                             f"got {self.final_runs}/{self.final_max_train_windows}")
        if not (1 <= self.final_layers <= 7 and 1 <= self.final_kernels <= 100):
            raise ValueError(f"final_layers/final_kernels: need 1..7 and 1..100, "
                             f"got {self.final_layers}/{self.final_kernels}")
        if not (self.final_lr > 0 and self.final_batch_size >= 1 and self.final_epochs >= 1):
            raise ValueError(f"final_lr/final_batch_size/final_epochs: need > 0, >= 1, >= 1, got "
                             f"{self.final_lr}/{self.final_batch_size}/{self.final_epochs}")
        for name, allowed in (("final_model", MODELS), ("final_activation", ACTIVATIONS),
                              ("final_dataset", TRAINING_SETS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("final_frames_as_channels", "final_drop_jump_targets"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if self.final_frames_as_channels and self.final_model == "simvp":
            raise ValueError("final_frames_as_channels: only for the recurrent models; simvp always reads "
                             "its frames as channels (set it to false)")
        check_workers_field(self.workers)
        if self.sweep_budget_s < 0:
            raise ValueError(f"sweep_budget_s: must be >= 0 (0 = no budget), got {self.sweep_budget_s}")
        budget = self.budget_minutes
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 <= budget < math.inf:
            raise ValueError(f"budget_minutes: must be a number of minutes >= 0 (0 = the profile's "
                             f"sweep_budget_s), got {budget!r}")
        if budget:
            object.__setattr__(self, "sweep_budget_s", float(budget) * 60.0)
        allowed_values = (("activations", ACTIVATIONS), ("training_sets", TRAINING_SETS), ("models", MODELS))
        for name, allowed in allowed_values:
            bad = [v for v in getattr(self, name) if v not in allowed]
            if bad or not getattr(self, name):
                raise ValueError(f"{name}: {bad or 'empty'} not in {allowed}")
        # Notebook parameters arrive as lists (JSON); keep tuples so the config stays hashable.
        for name in ("optimizers", "activations", "training_sets", "frame16_contexts", "models"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def study_name(self) -> str:
        return self.study or f"convlstm-{self.profile}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES_NAMES = ("smoke", "quick", "paper")
SEED_MAX = 2**32 - 1  # every seed consumer (NumPy, torch, Optuna's samplers) accepts 0..2**32 - 1

# The seeds the pipeline derives from a profile's (or a sweep's) seed: one stream a use, so no two
# uses draw the same numbers. A stream's number is part of every result drawn from it.
SEED_STREAMS: dict[str, int] = {
    "sweep_worker": 1,  # a sweep worker's own sampler (`sweep_space.worker_seed`)
    "sweep_trial": 2,  # slot k's parameter draw and training (`sweep_space.trial_seed`)
    "seed_rerun": 3,  # Table 1's best row re-trained (`seeds.run_seed`)
    "final_run": 4,  # the final model's runs (`final.final_seed`)
    "validation": 5,  # the held-out validation sequences (`preprocessing.hold_out_sequences`)
}


def seed_sequence(seed: int, stream: str, *keys: int) -> np.random.SeedSequence:
    """The SeedSequence of `stream` (a name of SEED_STREAMS) under `seed`, told apart by `keys`
    (a worker, a slot, a run)."""
    return np.random.SeedSequence([int(seed), SEED_STREAMS[stream], *(int(k) for k in keys)])


def derive_seed(seed: int, stream: str, *keys: int) -> int:
    """A 32-bit seed of `stream` under `seed` (`seed_sequence`): the same arguments, the same seed."""
    return int(seed_sequence(seed, stream, *keys).generate_state(1)[0])


def check_workers_field(workers: Any, name: str = "workers") -> int | str:
    """`workers` if it is AUTO or a whole number >= 1; else ValueError naming `name`."""
    if workers == AUTO:
        return AUTO
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"{name}: must be a whole number >= 1 or {AUTO!r}, got {workers!r}")
    return int(workers)


def parse_workers(text: str, option: str = "--workers") -> int | str:
    """A command line's worker count: AUTO or a whole number >= 1 (`check_workers_field`)."""
    try:
        value: int | str = int(text)
    except ValueError:
        value = text
    return check_workers_field(value, option)


def check_budget_minutes(text: Any, option: str = "--budget-minutes") -> float:
    """A command line's budget in minutes (`budget_minutes`): a positive finite number, else
    ValueError naming `option`."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(text, bool) or not 0 < value < math.inf:
        raise ValueError(f"{option}: must be a positive number of minutes, got {text!r}")
    return value


def check_seed(seed: Any, name: str = "seed") -> int:
    """`seed` as an int if it is a whole number in 0..SEED_MAX; else ValueError naming `name`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"{name}: must be a whole number in 0..{SEED_MAX}, got {seed!r}")
    return int(seed)

PROFILES: dict[str, ProfileConfig] = {
    "smoke": ProfileConfig(
        profile="smoke", n6=24, n3=8, n_trials=4, epochs=1, models=MODELS, layers_max=1, kernels_min=2,
        kernels_max=4,
        lr_min=1e-3, lr_max=1e-2, batch_size_min=16, batch_size_max=32,
        optimizers=("Adam", "RMSprop"), max_train_windows=64,
        noise_levels=3, figure5_rows=3, region_step=12, seed_runs=2,
        final_runs=2, final_layers=1, final_kernels=4, final_epochs=1, final_max_train_windows=64,
    ),
    "quick": ProfileConfig(
        # Sized to the 20-minute budget on the slower 2-core machines: 16 trials x 3 epochs of 2,400
        # windows. Small batches at a rate decaying linearly to zero reach a lower validation MSE than
        # the paper's constant rate at large batches, and three epochs pay for their extra steps
        # (benchmarks/README.md, "What moves the quick profile's best model", "The sweep's schedule").
        profile="quick", n_trials=16, epochs=3, max_train_windows=2400, layers_max=2, kernels_min=4,
        kernels_max=16,
        lr_min=1e-3, lr_max=2e-2, batch_size_min=8, batch_size_max=16, lr_schedule="linear",
        optimizers=("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop"),
        # 4 trials of each kind: trial k trains set k mod 4 and the kinds cycle out of step, so the
        # ConvLSTM (Table 1) meets all four sets. The budget is the safety net of a slow or busy
        # machine (the report says when it cut the sweep).
        models=MODELS, sweep_budget_s=660.0,
        # Two one-thread worker processes train faster than one two-thread process
        # (benchmarks/README.md, "Two processes instead of two threads").
        workers=2,
        # 9 intensities (steps of 0.125, either side of the paper's "about 0.2") and a region growing
        # 6 px a step: the curves' shape at 40 % of a finer grid's time (benchmarks/README.md,
        # "The robustness levels").
        noise_levels=9, figure5_rows=6, region_step=6,
        # The interpolator: 10 epochs; it and the frame-16 refiners train on the profile's 2,400
        # windows, the lowest validation MSE of the budgets compared (benchmarks/README.md, "The
        # task study's budgets").
        interp_epochs=10,
        # The final model: two runs of the default recipe side by side on the two workers, averaged
        # (`experiments.final`).
        final_runs=2,
    ),
    # The paper's protocol (the dataclass's defaults: the paper's search space). On a GPU its trials
    # run several at a time, as many as the GPU's memory holds (`devices.resolve_workers`).
    "paper": ProfileConfig(profile="paper", workers=AUTO),
}


def field_names() -> set[str]:
    return {f.name for f in fields(ProfileConfig)}


def get_profile(name: str, **overrides: Any) -> ProfileConfig:
    """The named profile, with `overrides` (e.g. a notebook's parameters) applied and validated."""
    if name not in PROFILES:
        raise ValueError(f"profile: unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    unknown = set(overrides) - field_names()
    if unknown:
        raise ValueError(f"unknown profile field(s) {sorted(unknown)}; known: {sorted(field_names())}")
    return replace(PROFILES[name], **{k: v for k, v in overrides.items() if k != "profile"})
