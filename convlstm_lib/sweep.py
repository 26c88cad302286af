"""The paper's random hyper-parameter search (SPEC §3) on Optuna, resumable and multi-process.

Search space (drawn in this order for every trial, bounds from `config.ProfileConfig`):

    dataset     categorical  cfg.training_sets      cycled: trial k gets training_sets[k % len]
    activation  categorical  cfg.activations        (relu, tanh)
    layers      int          cfg.layers_min..cfg.layers_max
    kernels     int          cfg.kernels_min..cfg.kernels_max
    lr          float, log-uniform  cfg.lr_min..cfg.lr_max
    batch_size  int          cfg.batch_size_min..cfg.batch_size_max
    optimizer   categorical  cfg.optimizers         (names in torch.optim)
    model       cycled       cfg.models             (convlstm, convgru, convrnn, simvp)

The model kind is not drawn at random but cycled by trial number (`model_for_trial`), so a
sweep of n trials gives every kind n / len(models) trials whatever the seed: a comparison
of model families at equal budget needs each family present. The cycle advances by one
extra step after every full round (trial k gets kind (k + k // m) mod m of m kinds), so it
does not move in lock-step with anything else cycled by k mod m (e.g. the training set):
16 trials over 4 kinds and 4 sets see every pair once. It is drawn last, so the random
draws before it are those of a sweep without it.

Wall-clock budget (`cfg.sweep_budget_s`, 0 = none): a safety net for slow or busy machines,
not part of the profile's contract (which is its trial count). Before each trial a worker
estimates the trial's time as the mean `runtime_s` of the finished trials of the same model
kind (of all kinds when it has none yet) and does not start it when it would end after
the budget, counted from the start of `run_sweep`. A sweep cut short this way has
`counted < n_trials` in sweep.json and `stopped_by_budget: true`; the same command again
resumes it with a fresh budget.

Every trial trains `cfg.epochs` epochs through `training.train_model` and reports its N6-test
MSE (per pixel, [0, 1] scale) after every epoch (`trial.report`, used by `--prune`).

Reproducibility: the sampler (`TrialSeededSampler`, a RandomSampler) reseeds itself before each
trial from (cfg.seed, trial number), and the trial's training seed is derived the same way. So
trial k samples the same parameters and trains the same way whichever worker runs it, however
many workers there are, and whether the sweep ran in one go or was resumed. (A plain per-worker
seed would make the parameters depend on which worker happened to pick up which trial.) Each
worker's sampler is still constructed with its own seed (`worker_seed`), so nothing is shared
by accident.

Trial outcomes (user attribute ``status``; the Optuna state in brackets):

* ``complete``  trained every epoch (COMPLETE; value = final N6-test MSE);
* ``collapsed`` trained, but predicts blank images (COMPLETE; excluded from results later);
* ``pruned``    stopped early by the MedianPruner (PRUNED);
* ``diverged``  the loss exploded: NaN/inf, or above `training.DIVERGED_MSE` (FAIL: no value);
* ``failed``    `training.TrainingFailed`, e.g. SparseAdam on dense gradients (FAIL, ``reason``);
* ``killed``    its worker process died (FAIL, set when a later worker finds it stale);
* ``surplus``   asked for by a worker when the total was already claimed (FAIL, never trained).

A trial *counts* toward ``--n-trials`` when it is COMPLETE or PRUNED, or FAIL with status
diverged/failed: those are results, and are never re-run. Killed and surplus trials do not
count, so a resumed sweep makes them up. Killed trials are detected by the worker's host name
and pid stored on the trial (journal and database storage alike; databases additionally get
Optuna's heartbeat, which also covers workers on other machines).

Storage: ``runs/<profile>/sweep.journal`` (Optuna JournalStorage on a file: safe for several
processes on one machine) unless cfg.storage names another journal file or a database URL
(``postgresql://user:pw@host/db``: workers on many machines, see docs/SWEEP.md).

Outputs under runs/<profile>/: ``trials.csv`` (one row a trial, `TRIAL_COLUMNS`), ``history.json``
(every trial's per-epoch N6-test and N3 MSE: the learning curves), ``sweep.json``
(configuration, counts, estimated time saved by pruning, best trial), ``trials/trial_NNNNN.pt``
(checkpoints of complete and collapsed trials). All written atomically.

CLI: ``python -m convlstm_lib sweep --profile P [--storage S] [--study NAME] [--n-trials N]
[--workers K] [--prune] [--seed S]``; the same command again resumes.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import re
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import RandomSampler
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from . import paths
from .atomic import atomic_path, check_output_dir, check_output_file, write_bytes
from .config import ProfileConfig, check_seed, get_profile
from .errors import ConvLSTMError
from .jsonio import write_json
from .metrics import METRIC_KEYS
from .multirun import worker_threads
from .statuses import COUNTED_FAIL_STATUSES

# Per-epoch metrics kept for the learning curves (runs/<profile>/HISTORY_FILE).
HISTORY_KEYS = ("n6_test_mse", "n3_mse")
HISTORY_FILE = paths.TRIAL_HISTORY
# Categorical parameters the sampler cycles through (trial k: choice k mod n) instead of drawing;
# `model` follows its own cycle (`model_for_trial`), out of step with the training set's.
CYCLED_PARAMS = ("dataset",)
PARAM_NAMES = ("dataset", "activation", "layers", "kernels", "lr", "batch_size", "optimizer", "model")
TRIAL_COLUMNS = (
    "number", "state", "status", "reason", *PARAM_NAMES, *METRIC_KEYS,
    "epochs_run", "runtime_s", "seconds_per_epoch", "n_params", "time_saved_s", "seed", "checkpoint",
)
# Configuration fields that define a study: resuming with different values would mix trials.
STUDY_FIELDS = (
    "seed", "n6", "n3", "max_train_windows", "epochs", "layers_min", "layers_max", "kernels_min",
    "kernels_max", "lr_min", "lr_max", "batch_size_min", "batch_size_max", "lr_schedule", "optimizers",
    "activations", "training_sets", "models",
)
HEARTBEAT_INTERVAL_S = 30  # database storages: a trial without heartbeat for GRACE_PERIOD_S is failed
GRACE_PERIOD_S = 120
UNCLAIMED_STALE_S = 120  # a RUNNING trial that never got its worker's pid (died right after ask)


class SweepError(ConvLSTMError):
    """The sweep cannot run: bad storage, a study created with other settings, no results yet."""


class _RecordedFailure(Exception):
    """Raised by the objective after recording a diverged/failed/surplus trial: Optuna marks it FAIL."""


# ---------------------------------------------------------------------------------------------
# Seeds and sampling


def _derive(*entropy: int) -> int:
    return int(np.random.SeedSequence([int(e) for e in entropy]).generate_state(1)[0])


def worker_seed(seed: int, worker: int) -> int:
    """A distinct 32-bit seed for worker `worker` (0-based) of a sweep seeded `seed`."""
    return _derive(seed, 1, worker)


def trial_seed(seed: int, number: int) -> int:
    """The 32-bit seed of trial `number`: it seeds both its parameter draw and its training."""
    return _derive(seed, 2, number)


class TrialSeededSampler(RandomSampler):
    """RandomSampler whose draws depend only on (sweep seed, trial number), not on the worker.

    `before_trial` reseeds a private RandomState from `trial_seed(sweep_seed, trial.number)`;
    parameters are then drawn from their distributions (`draw`) in the order the objective
    asks for them; `model` is not drawn but cycled (`model_for_trial`). One sampler serves one
    process's trials one at a time.
    """

    def __init__(self, sweep_seed: int, worker: int = 0) -> None:
        super().__init__(seed=worker_seed(sweep_seed, worker))
        self.sweep_seed = sweep_seed
        self._trial_rng = np.random.RandomState(worker_seed(sweep_seed, worker))

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._trial_rng = np.random.RandomState(trial_seed(self.sweep_seed, trial.number))

    def sample_independent(self, study, trial, param_name, param_distribution) -> Any:
        if param_name in CYCLED_PARAMS:  # trial k takes choice k mod n: every choice in every sweep
            return param_distribution.choices[trial.number % len(param_distribution.choices)]
        if param_name == "model":  # cycled by trial number (module docstring); no random draw used
            return model_for_trial(trial.number, tuple(param_distribution.choices))
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
    """The model kind of trial `number`: the cycle of the module docstring."""
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


# ---------------------------------------------------------------------------------------------
# Storage and study


def journal_path(cfg: ProfileConfig, runs_dir: Path | None = None) -> Path:
    return (runs_dir or paths.runs_dir(cfg.profile)) / paths.SWEEP_JOURNAL


def storage_spec(cfg: ProfileConfig, runs_dir: Path | None = None) -> str:
    """cfg.storage, or the default journal file runs/<profile>/sweep.journal."""
    return cfg.storage or str(journal_path(cfg, runs_dir))


def redact(spec: str) -> str:
    """`spec` with any password of a database URL replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", spec)


def open_storage(spec: str) -> optuna.storages.BaseStorage:
    """A database URL (contains '://') -> RDBStorage with heartbeat; anything else -> journal file."""
    if "://" in spec:
        try:
            with warnings.catch_warnings():  # Optuna 5 calls the heartbeat "experimental"; we rely on it
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    spec, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                )
        except Exception as exc:  # sqlalchemy raises many kinds; the user needs one line
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SweepError(f"storage {redact(spec)}: cannot open the database: {first}") from None
    path = Path(spec)
    if path.is_dir():
        raise SweepError(f"storage {spec}: is a folder; give a journal file path or a database URL")
    check_output_file(path, "storage")
    path.parent.mkdir(parents=True, exist_ok=True)
    check_journal(path)
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def check_journal(path: Path) -> Path | None:
    """Make sure a journal file can be resumed without losing or damaging a record.

    Run under the journal's own lock (the one every Optuna write takes), so a record being
    written by a live worker is never mistaken for damage. A last line without its newline is
    what a crash or a full disk leaves: the original is copied beside the journal
    (``<name>.damaged-<time>``), the journal is cut back to its complete records, one line says
    so on stderr, and the copy's path is returned. Anything else that is not a readable journal
    (bytes that are not JSON lines, a line that is not a record, records Optuna cannot replay)
    raises SweepError and leaves the file byte for byte as it was. Returns None if nothing was
    set aside.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return None
    lock = JournalFileSymlinkLock(str(path))
    lock.acquire()
    try:
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        cut = data[len(complete):]
        leave = "the file was left as it is (move it aside or give another --storage to start afresh)"
        if cut and not cut.startswith(b'{"'):
            raise SweepError(f"{path}: not an Optuna journal (its last line is not a record); {leave}")
        records = _journal_records(path, complete, leave)
        if not cut:
            return None
        backup = path.with_name(f"{path.name}.damaged-{datetime.now():%Y%m%dT%H%M%S}")
        while backup.exists():
            backup = backup.with_name(backup.name + "+")
        write_bytes(backup, data)
        os.truncate(path, len(complete))
    finally:
        lock.release()
    print(f"warning: {path}: its last record was cut off ({len(cut)} bytes: a crash or a full disk while "
          f"writing); the original is kept as {backup.name} and the sweep resumes from the {records} "
          "complete records", file=sys.stderr)
    return backup


def _journal_records(path: Path, complete: bytes, leave: str) -> int:
    """The number of records in `complete` (whole lines of a journal); SweepError if unreadable."""
    lines = complete.split(b"\n")[:-1]
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:  # UnicodeDecodeError included
            raise SweepError(
                f"{path}: line {number} is not a journal record (not JSON text); {leave}"
            ) from None
        if not (isinstance(record, dict) and isinstance(record.get("op_code"), int)):
            raise SweepError(f"{path}: line {number} is not an Optuna journal record (no op_code); {leave}")
    with tempfile.TemporaryDirectory() as tmp:  # let Optuna replay a copy: the file stays untouched
        copy = Path(tmp) / path.name
        copy.write_bytes(complete)
        try:
            optuna.storages.JournalStorage(JournalFileBackend(str(copy))).get_all_studies()
        except Exception as exc:  # replay raises what the bad record provokes (KeyError, AssertionError...)
            raise SweepError(
                f"{path}: Optuna cannot replay its records (an unknown record, or one naming a study or "
                f"trial that does not exist: {type(exc).__name__}); {leave}"
            ) from None
    return len(lines)


def _study_settings(cfg: ProfileConfig) -> dict[str, Any]:
    return json.loads(json.dumps({name: getattr(cfg, name) for name in STUDY_FIELDS}))


def open_study(
    cfg: ProfileConfig, storage: optuna.storages.BaseStorage, worker: int = 0, data: str | None = None
) -> optuna.Study:
    """Create or load cfg.study_name; refuse to mix trials of a study created with other settings.

    `data` is the training data's fingerprint (`datasets.fingerprint`): stored with the settings,
    so that trials trained on other data (say, before the generator changed) are never resumed
    or reported as if they were this data's."""
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if cfg.prune:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    study = optuna.create_study(
        study_name=cfg.study_name, storage=storage, direction="minimize", load_if_exists=True,
        sampler=TrialSeededSampler(cfg.seed, worker), pruner=pruner,
    )
    wanted = _study_settings(cfg) | ({} if data is None else {"data": data})
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", wanted)
    elif any(stored.get(k) != v for k, v in wanted.items()):
        diff = [f"{k}: {stored.get(k)!r} -> {wanted[k]!r}" for k in wanted if stored.get(k) != wanted[k]]
        raise SweepError(
            f"study {cfg.study_name!r} was created with other settings ({'; '.join(diff)}); "
            "use another --study name or --storage, or start over by removing the old trials (by default "
            f"{paths.repo_relative(paths.runs_dir(cfg.profile) / paths.SWEEP_JOURNAL)})"
        )
    return study


def is_counted(trial: FrozenTrial) -> bool:
    """Whether `trial` is a finished result that counts toward the sweep's total."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get("status") in COUNTED_FAIL_STATUSES


def count_finished(study: optuna.Study) -> int:
    return sum(is_counted(t) for t in study.get_trials(deepcopy=False))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_trials(study: optuna.Study, storage: optuna.storages.BaseStorage) -> list[int]:
    """Mark FAIL (status 'killed') every RUNNING trial whose worker on this host is gone.

    A trial stores its worker's host and pid when it starts; a RUNNING trial that never got
    them and started more than UNCLAIMED_STALE_S ago is also failed. Trials of workers on other
    hosts are left to the database heartbeat. `storage` is the one `study` was opened on (its
    public methods record the reason; `Study.tell` sets the state). Returns the numbers failed.
    """
    host, failed = socket.gethostname(), []
    study_id = storage.get_study_id_from_name(study.study_name)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid, t_host = t.user_attrs.get("pid"), t.user_attrs.get("host")
        if pid is None:
            started = t.datetime_start or datetime.now()
            dead = datetime.now() - started > timedelta(seconds=UNCLAIMED_STALE_S)
        else:
            dead = t_host == host and not _pid_alive(int(pid))
        if not dead:
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        try:
            storage.set_trial_user_attr(trial_id, "status", "killed")
            storage.set_trial_user_attr(trial_id, "reason", f"worker {t_host}:{pid} died during the trial")
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            continue  # another worker got there first
        if study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True).state == TrialState.FAIL:
            failed.append(t.number)
    return failed


# ---------------------------------------------------------------------------------------------
# The objective


class Objective:
    """One trial: sample, train with `training.train_model`, record everything as user attrs.

    data: a `datasets.Datasets` (training sets already cut to cfg.max_train_windows).
    total: the study's target number of counted trials (a trial started beyond it is 'surplus').
    """

    def __init__(self, cfg: ProfileConfig, data, trials_dir: Path, total: int, device: str = "auto",
                 progress: bool = False, deadline: float = 0.0) -> None:
        self.cfg, self.data, self.trials_dir, self.total = cfg, data, Path(trials_dir), total
        self.device, self.progress = device, progress
        self.deadline = deadline  # time.time() after which no trial may end; 0 = none
        self.surplus = False

    def _is_surplus(self, study: optuna.Study, number: int) -> bool:
        ahead = [t for t in study.get_trials(deepcopy=False)
                 if t.number < number and (is_counted(t) or t.state == TrialState.RUNNING)]
        return len(ahead) >= self.total

    def __call__(self, trial: optuna.Trial) -> float:
        from .model import ModelConfig
        from .training import TrainConfig, TrainingFailed, train_model

        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        if self._is_surplus(trial.study, trial.number):
            self.surplus = True
            trial.set_user_attr("status", "surplus")
            raise _RecordedFailure(f"trial {trial.number}: the study already has its {self.total} trials")

        params = sample_params(trial, self.cfg)
        seed = trial_seed(self.cfg.seed, trial.number)
        trial.set_user_attr("seed", seed)
        model_cfg = ModelConfig(
            model=params["model"], layers=params["layers"], kernels=params["kernels"],
            activation=params["activation"],
        )
        train_cfg = TrainConfig(
            dataset=params["dataset"], lr=params["lr"], batch_size=params["batch_size"],
            epochs=self.cfg.epochs, optimizer=params["optimizer"], seed=seed, device=self.device,
            max_train_windows=0,  # the data are already cut to cfg.max_train_windows
            lr_schedule=self.cfg.lr_schedule,
        )
        checkpoint = self.trials_dir / paths.trial_checkpoint_name(trial.number)
        start = time.perf_counter()

        curve: list[dict[str, float]] = []

        def on_epoch(epoch: int, entry: dict[str, float]) -> None:
            curve.append({"epoch": epoch, **{k: float(entry[k]) for k in HISTORY_KEYS if k in entry}})
            trial.set_user_attr("history", curve)
            trial.report(entry["n6_test_mse"], epoch)
            if trial.should_prune():
                per_epoch = (time.perf_counter() - start) / epoch
                trial.set_user_attr("status", "pruned")
                trial.set_user_attr("epochs_run", epoch)
                trial.set_user_attr("runtime_s", time.perf_counter() - start)
                trial.set_user_attr("time_saved_s", (self.cfg.epochs - epoch) * per_epoch)
                trial.set_user_attr("metrics", {k: float(entry[k]) for k in METRIC_KEYS if k in entry})
                raise optuna.TrialPruned(f"N6 test MSE {entry['n6_test_mse']:.3g} after epoch {epoch}")

        try:
            result = train_model(model_cfg, train_cfg, self.data, progress=self.progress, on_epoch=on_epoch,
                                 checkpoint_path=checkpoint)
        except TrainingFailed as exc:
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("reason", exc.reason)
            trial.set_user_attr("runtime_s", time.perf_counter() - start)
            raise _RecordedFailure(exc.reason) from exc

        trial.set_user_attr("status", result.status)
        trial.set_user_attr("reason", result.note)
        trial.set_user_attr("epochs_run", result.epochs_run)
        trial.set_user_attr("runtime_s", result.runtime_s)
        trial.set_user_attr("seconds_per_epoch", result.runtime_s / max(1, result.epochs_run))
        trial.set_user_attr("n_params", sum(p.numel() for p in result.model.parameters()))
        trial.set_user_attr("metrics", {k: float(v) for k, v in result.metrics.items()})
        if checkpoint.exists():
            trial.set_user_attr("checkpoint", paths.repo_relative(checkpoint))
        if result.status == "diverged":
            raise _RecordedFailure(result.note)
        return float(result.metrics["n6_test_mse"])


# ---------------------------------------------------------------------------------------------
# Workers


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs (picklable: spawned workers re-import the package)."""

    cfg: dict[str, Any]
    storage: str
    worker: int
    runs_dir: str
    processed_dir: str
    device: str = "auto"
    deadline: float = 0.0


def estimated_trial_s(trials: list[FrozenTrial], model: str) -> float | None:
    """Mean runtime_s of the finished trials of `model` (of all kinds if none); None if no trial has one."""
    timed = [t for t in trials if is_counted(t) and "runtime_s" in t.user_attrs]
    same = [t for t in timed if t.params.get("model", "convlstm") == model]
    pool = same or timed
    return float(np.mean([t.user_attrs["runtime_s"] for t in pool])) if pool else None


def fits_budget(trials: list[FrozenTrial], cfg: ProfileConfig, deadline: float,
                now: float | None = None) -> bool:
    """Whether the next trial (number len(trials)) is expected to end before `deadline` (0: no budget)."""
    if not deadline:
        return True
    estimate = estimated_trial_s(trials, model_for_trial(len(trials), cfg.models))
    return estimate is None or (now or time.time()) + estimate <= deadline


def _work(study: optuna.Study, storage: optuna.storages.BaseStorage, objective: Objective,
          bar: tqdm | None = None) -> None:
    """Run trials one at a time until the counted + running trials reach objective.total."""
    while True:
        fail_dead_trials(study, storage)
        trials = study.get_trials(deepcopy=False)
        claimed = sum(is_counted(t) or t.state == TrialState.RUNNING for t in trials)
        if bar is not None:
            bar.n = sum(is_counted(t) for t in trials)
            bar.refresh()
        if claimed >= objective.total or objective.surplus:
            return
        if not fits_budget(trials, objective.cfg, objective.deadline):
            return
        study.optimize(objective, n_trials=1, catch=(_RecordedFailure,), gc_after_trial=False)


def _worker_main(spec: WorkerSpec) -> None:
    """Entry point of a spawned worker: load the cached datasets, open the study, run trials."""
    import torch

    from .datasets import load_datasets, subsample

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cfg = get_profile(spec.cfg["profile"], **spec.cfg)
    if "OMP_NUM_THREADS" not in os.environ:  # K workers share the cores instead of each taking all
        torch.set_num_threads(worker_threads(cfg.workers))
    data = subsample(load_datasets(spec.processed_dir), cfg.max_train_windows, cfg.seed)
    storage = open_storage(spec.storage)
    study = open_study(cfg, storage, spec.worker, data=data.info.get("fingerprint"))
    trials_dir = Path(spec.runs_dir) / paths.TRIALS
    _work(study, storage, Objective(cfg, data, trials_dir, cfg.n_trials, spec.device, deadline=spec.deadline))


def run_sweep(cfg: ProfileConfig, progress: bool = True, runs_dir: Path | None = None, device: str = "auto",
              data=None) -> optuna.Study:
    """Run or resume cfg's sweep until cfg.n_trials trials count (module docstring); export it.

    cfg.workers == 1 runs in this process (`data` may pass ready datasets); more start that many
    spawned processes that share the storage. Writes trials.csv and sweep.json under `runs_dir`
    (default runs/<profile>/) and returns the study.
    """
    from .datasets import prepare_datasets
    from .devices import check_device

    check_device(device)  # before the study is touched: a bad device must not leave a failed trial
    runs_dir = check_output_dir(Path(runs_dir or paths.runs_dir(cfg.profile)), "runs folder")
    spec = storage_spec(cfg, runs_dir)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(spec)
    if data is None:
        data = prepare_datasets(cfg, progress=progress)
    study = open_study(cfg, storage, data=data.info.get("fingerprint"))
    fail_dead_trials(study, storage)
    done = count_finished(study)
    started = time.perf_counter()
    deadline = time.time() + cfg.sweep_budget_s if cfg.sweep_budget_s else 0.0
    if done < cfg.n_trials:
        bar = tqdm(total=cfg.n_trials, initial=done, desc=f"sweep {cfg.study_name}", unit="trial",
                   disable=not progress)
        try:
            if cfg.workers == 1:
                objective = Objective(cfg, data, runs_dir / paths.TRIALS, cfg.n_trials, device,
                                      deadline=deadline)
                _work(study, storage, objective, bar)
            else:
                _run_processes(cfg, spec, runs_dir, device, study, bar, deadline)
        finally:
            bar.close()
    export_trials(study, runs_dir / paths.TRIALS_CSV)
    export_history(study, runs_dir / HISTORY_FILE)
    write_summary(cfg, study, runs_dir / paths.SWEEP_SUMMARY, spec, time.perf_counter() - started)
    return study


def _run_processes(cfg: ProfileConfig, spec: str, runs_dir: Path, device: str, study: optuna.Study,
                   bar: tqdm, deadline: float = 0.0) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes = [
        ctx.Process(target=_worker_main, name=f"sweep-worker-{k}", args=(WorkerSpec(
            cfg=cfg.to_dict(), storage=spec, worker=k, runs_dir=str(runs_dir),
            processed_dir=str(paths.processed_dir(cfg.profile)), device=device, deadline=deadline),))
        for k in range(cfg.workers)
    ]
    for p in processes:
        p.start()
    try:
        while any(p.is_alive() for p in processes):
            bar.n = count_finished(study)
            bar.refresh()
            time.sleep(0.5)
    finally:
        for p in processes:
            p.join()
    bar.n = count_finished(study)
    bar.refresh()
    bad = [f"{p.name} exit code {p.exitcode}" for p in processes if p.exitcode != 0]
    trials = study.get_trials(deepcopy=False)
    if bad and count_finished(study) < cfg.n_trials and fits_budget(trials, cfg, deadline):
        raise SweepError(f"study {cfg.study_name!r}: {', '.join(bad)}; run the same command again to resume")


# ---------------------------------------------------------------------------------------------
# Export


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row a trial (columns TRIAL_COLUMNS), ordered by trial number; missing values NaN/''."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        status = ua.get("status", "running" if t.state == TrialState.RUNNING else t.state.name.lower())
        metrics = ua.get("metrics", {})
        rows.append({
            "number": t.number, "state": t.state.name, "status": status, "reason": ua.get("reason", ""),
            **{p: t.params.get(p) for p in PARAM_NAMES},
            "model": t.params.get("model", "convlstm"),  # studies from before the model parameter
            **{k: metrics.get(k, math.nan) for k in METRIC_KEYS},
            "epochs_run": ua.get("epochs_run", 0), "runtime_s": ua.get("runtime_s", math.nan),
            "seconds_per_epoch": ua.get("seconds_per_epoch", math.nan),
            "n_params": ua.get("n_params", math.nan),
            "time_saved_s": ua.get("time_saved_s", 0.0), "seed": ua.get("seed"),
            "checkpoint": ua.get("checkpoint", ""),
        })
    frame = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
    return frame.sort_values("number").reset_index(drop=True)


def export_history(study: optuna.Study, target: Path) -> dict[str, list[dict[str, float]]]:
    """Every trial's per-epoch test metrics (HISTORY_KEYS), by trial number, as JSON at `target`.

    The learning curves of notebook 04: `{"0": [{"epoch": 1, "n6_test_mse": ..., "n3_mse": ...}, ...]}`.
    """
    history = {str(t.number): t.user_attrs.get("history", []) for t in study.get_trials(deepcopy=False)}
    write_json(target, history)
    return history


def load_history(cfg: ProfileConfig, runs_dir: Path | None = None) -> dict[int, pd.DataFrame]:
    """runs/<profile>/history.json as {trial number: one row per epoch}; trials without epochs left out."""
    target = Path(runs_dir or paths.runs_dir(cfg.profile)) / HISTORY_FILE
    if not target.is_file():
        raise SweepError(f"{target}: no learning curves yet; run the sweep first (notebook 03)")
    try:
        raw = json.loads(target.read_text())
    except json.JSONDecodeError as exc:
        raise SweepError(f"{target}: not valid JSON ({exc})") from None
    return {int(k): pd.DataFrame(v) for k, v in raw.items() if v}


def export_trials(study: optuna.Study, target: Path) -> pd.DataFrame:
    """Write `trials_frame(study)` to `target` (CSV, atomically) and return it."""
    frame = trials_frame(study)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts by status, counted total, training time, time saved by pruning, the best trial."""
    counted = frame[frame["state"].isin(["COMPLETE", "PRUNED"]) | frame["status"].isin(COUNTED_FAIL_STATUSES)]
    good = frame[frame["status"] == "complete"].dropna(subset=["n6_test_mse"])
    best = None
    if len(good):
        row = good.loc[good["n6_test_mse"].idxmin()]
        best = {k: (row[k].item() if hasattr(row[k], "item") else row[k])
                for k in ("number", *PARAM_NAMES, "n6_test_mse", "n3_mse", "checkpoint")}
    return {
        "counted": int(len(counted)),
        "status_counts": {str(k): int(v) for k, v in frame["status"].value_counts().items()},
        "train_time_s": float(frame["runtime_s"].fillna(0).sum()),
        "time_saved_s": float(frame["time_saved_s"].fillna(0).sum()),
        "best": best,
    }


MODEL_SUMMARY_KEYS = ("number", "n6_test_mse", "n3_mse", "n_params", "seconds_per_epoch")


def best_per_model(frame: pd.DataFrame) -> dict[str, dict[str, Any] | None]:
    """For each model kind in `frame`: its best complete trial (lowest N6 test MSE) as
    {number, n6_test_mse, n3_mse, n_params, seconds_per_epoch, trials}; None when it has no
    complete trial. `trials` counts the kind's trials of any status."""
    out: dict[str, dict[str, Any] | None] = {}
    for model, rows in frame.groupby("model", sort=False):
        good = rows[rows["status"] == "complete"].dropna(subset=["n6_test_mse"])
        if not len(good):
            out[str(model)] = None
            continue
        row = good.loc[good["n6_test_mse"].idxmin()]
        out[str(model)] = {k: (row[k].item() if hasattr(row[k], "item") else row[k])
                           for k in MODEL_SUMMARY_KEYS}
        out[str(model)]["trials"] = int(len(rows))
    return out


def write_summary(cfg: ProfileConfig, study: optuna.Study, target: Path, spec: str, wall_s: float) -> dict:
    summary = {
        "config": cfg.to_dict(), "study": cfg.study_name, "storage": redact(spec), "wall_s_this_run": wall_s,
        "n_trials": cfg.n_trials, "sweep_budget_s": cfg.sweep_budget_s,
        **summarise(trials_frame(study)),
    }
    summary["stopped_by_budget"] = bool(cfg.sweep_budget_s) and summary["counted"] < cfg.n_trials
    write_json(target, summary)
    return summary


def load_trials(cfg: ProfileConfig, runs_dir: Path | None = None) -> pd.DataFrame:
    """runs/<profile>/trials.csv as a DataFrame (columns TRIAL_COLUMNS)."""
    target = Path(runs_dir or paths.runs_dir(cfg.profile)) / paths.TRIALS_CSV
    if not target.is_file():
        raise SweepError(
            f"{target}: no trials yet; run the sweep first (notebook 03 or `python -m convlstm_lib sweep`)"
        )
    text = ("state", "status", "reason", "dataset", "activation", "optimizer", "model", "checkpoint")
    frame = pd.read_csv(target)
    missing = [c for c in TRIAL_COLUMNS if c not in frame.columns]
    if missing:
        raise SweepError(f"{target}: missing columns {missing}; re-run the sweep to rewrite it")
    for col in text:  # CSV empties come back NaN; text columns keep ''
        frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
    return frame


# ---------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="smoke, quick or paper (default quick)")
    parser.add_argument("--storage",
                        help="journal file path or database URL (default runs/<profile>/sweep.journal)")
    parser.add_argument("--study", help="study name (default convlstm-<profile>)")
    parser.add_argument("--n-trials", type=int, help="total number of trials the study should reach")
    parser.add_argument("--workers", type=int, help="local worker processes")
    parser.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                        help="stop unpromising trials early (MedianPruner)")
    parser.add_argument("--seed", type=int, help="sweep seed (default: the profile's)")
    parser.add_argument("--device", default="auto", help="torch device for training (default auto)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, key) for key, name in (
        ("storage", "storage"), ("study", "study"), ("n_trials", "n_trials"), ("workers", "workers"),
        ("prune", "prune"), ("seed", "seed"),
    ) if getattr(args, key) is not None}
    try:
        if args.seed is not None:
            check_seed(args.seed, "--seed")
        cfg = get_profile(args.profile, **overrides)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    study = run_sweep(cfg, progress=not args.no_progress, device=args.device)
    summary = json.loads((paths.runs_dir(cfg.profile) / paths.SWEEP_SUMMARY).read_text())
    print(f"study {study.study_name}: {summary['counted']}/{cfg.n_trials} trials counted; "
          f"statuses {summary['status_counts']}")
    if cfg.prune:
        print(f"pruning saved about {summary['time_saved_s']:.1f} s of training")
    if summary["best"]:
        b = summary["best"]
        params = json.dumps({p: b[p] for p in PARAM_NAMES})
        print(f"best: trial {b['number']} N6 test MSE {b['n6_test_mse']:.3e} ({params})")
    return 0


__all__ = [
    "PARAM_NAMES", "METRIC_KEYS", "TRIAL_COLUMNS", "SweepError", "TrialSeededSampler", "Objective",
    "WorkerSpec", "worker_seed", "trial_seed", "sample_params", "open_storage", "open_study",
    "storage_spec", "fail_dead_trials", "is_counted", "count_finished", "run_sweep", "trials_frame",
    "export_trials", "export_history", "load_history", "summarise", "load_trials", "add_arguments", "run",
    "model_for_trial", "fits_budget", "estimated_trial_s", "best_per_model", "MODEL_SUMMARY_KEYS",
]
