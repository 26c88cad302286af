"""The sweep's search space and its sampler: which configuration trial k trains.

Search space (drawn in this order for every trial, bounds from `config.ProfileConfig`):

    dataset     categorical  cfg.training_sets      cycled: trial k gets training_sets[k % len]
    activation  categorical  cfg.activations        (relu, tanh)
    layers      int          cfg.layers_min..cfg.layers_max
    kernels     int          cfg.kernels_min..cfg.kernels_max
    lr          float, log-uniform  cfg.lr_min..cfg.lr_max
    batch_size  int          cfg.batch_size_min..cfg.batch_size_max
    optimizer   categorical  cfg.optimizers         (names in torch.optim)
    model       cycled       cfg.models             (convlstm, convgru, convrnn, simvp)

Trial k is the sweep's *slot* k (0 .. n_trials - 1), not Optuna's trial number. A fresh trial
takes the next slot; a trial whose worker died (status `killed`) frees its slot, which a *retry*
trial re-runs: enqueued with the slot in its user attributes (`SLOT`, `RETRY_OF`), it gets a new
Optuna number but keeps the slot. Everything a trial draws and trains from comes from its slot,
so a sweep killed mid-trial and resumed gives the same trials, parameters, seeds and metrics as
one that ran uninterrupted. `trial_slots` works every trial's slot out of the study alone: a
retry carries its slot from creation, and a fresh trial's slot is its number minus the retries
numbered before it; both are fixed when the trial is created, so workers never race for a slot.

The model kind is not drawn at random but cycled by slot (`model_for_trial`), so a
sweep of n trials gives every kind n / len(models) trials whatever the seed: a comparison
of model families at equal budget needs each family present. The cycle advances by one
extra step after every full round (trial k gets kind (k + k // m) mod m of m kinds), so it
does not move in lock-step with anything else cycled by k mod m (e.g. the training set):
16 trials over 4 kinds and 4 sets see every pair once. It is drawn last, so the random
draws before it are those of a sweep without it.

Reproducibility: the sampler (`TrialSeededSampler`, a RandomSampler) reseeds itself before each
trial from (cfg.seed, slot), and the trial's training seed is derived the same way. So
trial k samples the same parameters and trains the same way whichever worker runs it, however
many workers there are, and whether the sweep ran in one go or was resumed. (A plain per-worker
seed would make the parameters depend on which worker happened to pick up which trial.) Each
worker's sampler is still constructed with its own seed (`worker_seed`), so nothing is shared
by accident.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import RandomSampler
from optuna.trial import FrozenTrial

from convlstm_lib.config import ProfileConfig, derive_seed

# Categorical parameters the sampler cycles through (slot k: choice k mod n) instead of drawing;
# `model` follows its own cycle (`model_for_trial`), out of step with the training set's.
CYCLED_PARAMS = ("dataset",)
PARAM_NAMES = ("dataset", "activation", "layers", "kernels", "lr", "batch_size", "optimizer", "model")
# User attributes of a trial: its slot (on every trial; on a retry from its creation) and, on a
# retry only, the number of the trial it re-runs.
SLOT = "slot"
RETRY_OF = "retry_of"


def trial_slots(trials: Iterable[FrozenTrial]) -> dict[int, int]:
    """{trial number: slot} of a study's trials (module docstring)."""
    slots, retries = {}, 0
    for t in sorted(trials, key=lambda t: t.number):
        if RETRY_OF in t.user_attrs:
            slots[t.number] = int(t.user_attrs[SLOT])
            retries += 1
        else:
            slots[t.number] = t.number - retries
    return slots


def slot_of(study: optuna.Study, trial: FrozenTrial) -> int:
    """The slot of `trial`, a trial of `study` (`trial_slots`)."""
    if RETRY_OF in trial.user_attrs:
        return int(trial.user_attrs[SLOT])
    earlier = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
    return trial.number - sum(RETRY_OF in t.user_attrs for t in earlier)


def worker_seed(seed: int, worker: int) -> int:
    """A distinct 32-bit seed for worker `worker` (0-based) of a sweep seeded `seed`."""
    return derive_seed(seed, "sweep_worker", worker)


def trial_seed(seed: int, number: int) -> int:
    """The 32-bit seed of slot `number`: it seeds both its parameter draw and its training."""
    return derive_seed(seed, "sweep_trial", number)


class TrialSeededSampler(RandomSampler):
    """RandomSampler whose draws depend only on (sweep seed, slot), not on the worker.

    `before_trial` reseeds a private RandomState from `trial_seed(sweep_seed, slot)`;
    parameters are then drawn from their distributions (`draw`) in the order the objective
    asks for them; the training set and `model` are not drawn but cycled by slot
    (`model_for_trial`). One sampler serves one process's trials one at a time.
    """

    def __init__(self, sweep_seed: int, worker: int = 0) -> None:
        super().__init__(seed=worker_seed(sweep_seed, worker))
        self.sweep_seed = sweep_seed
        self._trial_rng = np.random.RandomState(worker_seed(sweep_seed, worker))
        self._slot = 0

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._slot = slot_of(study, trial)
        self._trial_rng = np.random.RandomState(trial_seed(self.sweep_seed, self._slot))

    def sample_independent(self, study, trial, param_name, param_distribution) -> Any:
        if param_name in CYCLED_PARAMS:  # slot k takes choice k mod n: every choice in every sweep
            return param_distribution.choices[self._slot % len(param_distribution.choices)]
        if param_name == "model":  # cycled by slot (module docstring); no random draw used
            return model_for_trial(self._slot, tuple(param_distribution.choices))
        return draw(self._trial_rng, param_distribution)


def draw(rng: np.random.RandomState, dist: BaseDistribution) -> Any:
    """One value of `dist` drawn with `rng`, uniformly over the choices / the (log-)range.

    Categorical: the index of the largest of one uniform draw per choice. Int: a uniform draw
    over [low - step/2, high + step/2] (log space for log=True) rounded to the grid. Float: a
    uniform draw over [low, high] (log space for log=True), rounded to the step if it has one.
    (The same numbers as Optuna's own RandomSampler draws through its search-space transform.)
    """
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(np.argmax(rng.uniform(np.zeros(len(dist.choices)), 1.0)))]
    if isinstance(dist, IntDistribution):
        half = 0.5 * dist.step
        if dist.log:
            value = int(round(math.exp(rng.uniform(math.log(dist.low - half), math.log(dist.high + half)))))
        else:
            x = rng.uniform(dist.low - half, dist.high + half)
            value = math.floor((x - dist.low) / dist.step + 0.5) * dist.step + dist.low
        return min(max(int(value), dist.low), dist.high)
    if isinstance(dist, FloatDistribution):  # one draw each, a single-valued one included
        below_high = dist.high if dist.single() else float(np.nextafter(dist.high, dist.low))
        if dist.log:
            x = math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
            return dist.low if dist.single() else min(max(x, dist.low), below_high)
        if dist.step is not None:
            x = rng.uniform(dist.low - 0.5 * dist.step, dist.high + 0.5 * dist.step)
            value = np.round((x - dist.low) / dist.step) * dist.step + dist.low
            return float(np.clip(value, dist.low, dist.high))
        return min(float(rng.uniform(dist.low, dist.high)), below_high)
    raise TypeError(f"draw: unsupported distribution {type(dist).__name__}")


def model_for_trial(number: int, models: tuple[str, ...]) -> str:
    """The model kind of slot `number`: the cycle of the module docstring."""
    m = len(models)
    return models[(number + number // m) % m]


def sample_params(trial: optuna.Trial, cfg: ProfileConfig) -> dict[str, Any]:
    """Draw one configuration of the search space (module docstring) through `trial`.

    The training set cycles over trials (trial k gets `cfg.training_sets[k % len]`, chosen by
    `TrialSeededSampler`, see CYCLED_PARAMS) so that every profile, however few its trials,
    trains on all four sets; the model kind cycles out of step with it (`model_for_trial`); the
    other parameters are drawn at random, seeded per trial.
    """
    params = {
        "dataset": trial.suggest_categorical("dataset", list(cfg.training_sets)),
        "activation": trial.suggest_categorical("activation", list(cfg.activations)),
        "layers": trial.suggest_int("layers", cfg.layers_min, cfg.layers_max),
        "kernels": trial.suggest_int("kernels", cfg.kernels_min, cfg.kernels_max),
        "lr": trial.suggest_float("lr", cfg.lr_min, cfg.lr_max, log=True),
        "batch_size": trial.suggest_int("batch_size", cfg.batch_size_min, cfg.batch_size_max),
        "optimizer": trial.suggest_categorical("optimizer", list(cfg.optimizers)),
    }
    params["model"] = trial.suggest_categorical("model", list(cfg.models))  # cycled: TrialSeededSampler
    return params
