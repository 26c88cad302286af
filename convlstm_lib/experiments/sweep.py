"""The paper's random hyper-parameter search on Optuna: trials run, resumable and multi-process.

The search space and its sampler are in `sweep_space`; where trials live and which count, in
`sweep_storage`; the exported record (trials.csv, history.json, sweep.json), in `sweep_record`.

Every trial trains `cfg.epochs` epochs through `training.loop.train_model` and reports its
validation MSE (per pixel, [0, 1] scale) after every epoch (`trial.report`, used by `--prune`);
the validation MSE of its last epoch is the objective's value. Its test metrics are recorded and
never read by the search. Trial k is
the sweep's slot k (`sweep_space`): a trial killed mid-run is re-run with its own parameters and
seed, so a resumed sweep ends with the trials of an uninterrupted one. Its checkpoint
(runs/<profile>/<study>/trials/trial_k.pt) records the study, k and the seed it was trained with
(`checkpoints.stamp_trial`), and `sweep_record.trial_checkpoint` checks them before use.

Wall-clock budget (`cfg.sweep_budget_s`, 0 = none; `--budget-minutes M` here and in run_all.py
sets it to M x 60 through `cfg.budget_minutes`): a safety net for slow or busy machines, and the
way to run the paper's profile inside a short GPU lease; not part of the profile's contract
(which is its trial count). Before each trial a worker
estimates the trial's time as the mean `runtime_s` of the finished trials of the same model
kind (of all kinds when it has none yet) and does not start it when it would end after
the budget, counted from the start of `run_sweep`. A sweep cut short this way has
`counted < n_trials` in sweep.json and `stopped_by_budget: true`; the same command again
resumes it with a fresh budget.

Workers (`cfg.workers`): K processes on one study, or `auto`: as many as the training device
holds at once (`devices.resolve_workers`: from its memory and the CPU cores); a count above
that is refused before anything is written.

CLI: ``python -m convlstm_lib sweep --profile P [--storage S] [--study NAME] [--n-trials N]
[--workers K|auto] [--budget-minutes M] [--prune] [--seed S] [--device D]``; the same command
again resumes.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from convlstm_lib import paths
from convlstm_lib.atomic import check_output_dir
from convlstm_lib.config import (
    AUTO,
    ProfileConfig,
    check_budget_minutes,
    check_seed,
    get_profile,
    parse_workers,
)
from convlstm_lib.experiments.sweep_record import (
    HISTORY_FILE,
    HISTORY_KEYS,
    export_history,
    export_trials,
    write_summary,
)
from convlstm_lib.experiments.sweep_space import (
    PARAM_NAMES,
    RETRY_OF,
    SLOT,
    model_for_trial,
    sample_params,
    trial_seed,
    trial_slots,
)
from convlstm_lib.experiments.sweep_storage import (
    SweepError,
    bind_study_folder,
    count_finished,
    fail_dead_trials,
    held_slots,
    is_counted,
    open_storage,
    open_study,
    requeue_lost_slots,
    storage_spec,
    study_folder,
)
from convlstm_lib.progress import tqdm
from convlstm_lib.training.metrics import METRIC_KEYS, SELECTION_KEY
from convlstm_lib.training.multirun import worker_threads


class _RecordedFailure(Exception):
    """Raised by the objective after recording a diverged/failed/surplus trial: Optuna marks it FAIL."""


# ---------------------------------------------------------------------------------------------
# The objective


class Objective:
    """One trial: sample, train with `loop.train_model`, record everything as user attrs.

    data: a `datasets.Datasets` (training sets already cut to cfg.max_train_windows).
    total: the study's target number of counted trials (slots 0 .. total - 1; a trial given a
    slot beyond them, or a slot another trial holds, is 'surplus').
    """

    def __init__(self, cfg: ProfileConfig, data, trials_dir: Path, total: int, device: str = "auto",
                 progress: bool = False, deadline: float = 0.0) -> None:
        self.cfg, self.data, self.trials_dir, self.total = cfg, data, Path(trials_dir), total
        self.device, self.progress = device, progress
        self.deadline = deadline  # time.time() after which no trial may end; 0 = none
        self.surplus = False

    def _slot(self, study: optuna.Study, number: int) -> tuple[int, str | None]:
        """The slot of trial `number`, and why it must not train (None when it may)."""
        trials = study.get_trials(deepcopy=False)
        slots = trial_slots(trials)
        slot = slots[number]
        if slot >= self.total:
            self.surplus = True
            return slot, f"the study already has its {self.total} trials"
        for t in trials:
            same = t.number != number and slots[t.number] == slot
            if same and (is_counted(t) or (t.state == TrialState.RUNNING and t.number < number)):
                return slot, f"slot {slot} is already run by trial {t.number}"
        return slot, None

    def __call__(self, trial: optuna.Trial) -> float:
        from convlstm_lib.models.settings import ModelConfig
        from convlstm_lib.training.checkpoints import stamp_trial
        from convlstm_lib.training.loop import TrainingFailed, train_model
        from convlstm_lib.training.settings import TrainConfig

        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        slot, taken = self._slot(trial.study, trial.number)
        trial.set_user_attr(SLOT, slot)
        if taken:
            trial.set_user_attr("status", "surplus")
            trial.set_user_attr("reason", taken)
            raise _RecordedFailure(f"trial {trial.number}: {taken}")

        params = sample_params(trial, self.cfg)
        seed = trial_seed(self.cfg.seed, slot)
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
        checkpoint = self.trials_dir / paths.trial_checkpoint_name(slot)
        start = time.perf_counter()

        curve: list[dict[str, float]] = []

        def on_epoch(epoch: int, entry: dict[str, float]) -> None:
            curve.append({"epoch": epoch, **{k: float(entry[k]) for k in HISTORY_KEYS if k in entry}})
            trial.set_user_attr("history", curve)
            trial.report(entry[SELECTION_KEY], epoch)
            if trial.should_prune():
                per_epoch = (time.perf_counter() - start) / epoch
                trial.set_user_attr("status", "pruned")
                trial.set_user_attr("epochs_run", epoch)
                trial.set_user_attr("runtime_s", time.perf_counter() - start)
                trial.set_user_attr("time_saved_s", (self.cfg.epochs - epoch) * per_epoch)
                trial.set_user_attr("metrics", {k: float(entry[k]) for k in METRIC_KEYS if k in entry})
                raise optuna.TrialPruned(f"validation MSE {entry[SELECTION_KEY]:.3g} after epoch {epoch}")

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
        if checkpoint.exists() and result.status != "diverged":
            stamp_trial(checkpoint, self.cfg.study_name, slot, seed)
            trial.set_user_attr("checkpoint", paths.repo_relative(checkpoint))
        if result.status == "diverged":
            raise _RecordedFailure(result.note)
        return float(result.metrics[SELECTION_KEY])


# ---------------------------------------------------------------------------------------------
# Workers


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs (picklable: spawned workers re-import the package)."""

    cfg: dict[str, Any]
    storage: str
    worker: int
    trials_dir: str
    processed_dir: str
    device: str = "auto"
    deadline: float = 0.0


def estimated_trial_s(trials: list[FrozenTrial], model: str) -> float | None:
    """Mean runtime_s of the finished trials of `model` (of all kinds if none); None if no trial has one."""
    timed = [t for t in trials if is_counted(t) and "runtime_s" in t.user_attrs]
    same = [t for t in timed if t.params.get("model", "convlstm") == model]
    pool = same or timed
    return float(np.mean([t.user_attrs["runtime_s"] for t in pool])) if pool else None


def next_slot(trials: list[FrozenTrial]) -> int:
    """The slot the next trial asked for runs: the first queued retry's, else the next fresh one."""
    slots = trial_slots(trials)
    waiting = [slots[t.number] for t in trials if t.state == TrialState.WAITING]
    return min(waiting) if waiting else sum(RETRY_OF not in t.user_attrs for t in trials)


def fits_budget(trials: list[FrozenTrial], cfg: ProfileConfig, deadline: float,
                now: float | None = None) -> bool:
    """Whether the next trial (`next_slot`) is expected to end before `deadline` (0: no budget)."""
    if not deadline:
        return True
    estimate = estimated_trial_s(trials, model_for_trial(next_slot(trials), cfg.models))
    return estimate is None or (now or time.time()) + estimate <= deadline


def _work(study: optuna.Study, storage: optuna.storages.BaseStorage, objective: Objective,
          bar: tqdm | None = None) -> None:
    """Run trials one at a time until every slot below objective.total is counted or being run
    (a queued retry is run first)."""
    while True:
        fail_dead_trials(study, storage)
        trials = study.get_trials(deepcopy=False)
        done, running, waiting = held_slots(trials)
        done, running = {s for s in done if s < objective.total}, {s for s in running if s < objective.total}
        if bar is not None:
            bar.n = len(done)
            bar.refresh()
        if len(done) >= objective.total or objective.surplus:
            return
        if not waiting and len(done | running) >= objective.total:
            return
        if not fits_budget(trials, objective.cfg, objective.deadline):
            return
        study.optimize(objective, n_trials=1, catch=(_RecordedFailure,), gc_after_trial=False)


def _worker_main(spec: WorkerSpec) -> None:
    """Entry point of a spawned worker: load the cached datasets, open the study, run trials."""
    import torch

    from convlstm_lib.data.datasets import load_datasets, subsample

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    cfg = get_profile(spec.cfg["profile"], **spec.cfg)
    if "OMP_NUM_THREADS" not in os.environ:  # K workers share the cores instead of each taking all
        torch.set_num_threads(worker_threads(cfg.workers))
    data = subsample(load_datasets(spec.processed_dir), cfg.max_train_windows, cfg.seed)
    storage = open_storage(spec.storage)
    study = open_study(cfg, storage, spec.worker, data=data.info.get("fingerprint"))
    objective = Objective(cfg, data, Path(spec.trials_dir), cfg.n_trials, spec.device, deadline=spec.deadline)
    _work(study, storage, objective)


def run_sweep(cfg: ProfileConfig, progress: bool = True, runs_dir: Path | None = None, device: str = "auto",
              data=None) -> optuna.Study:
    """Run or resume cfg's sweep until cfg.n_trials trials count (module docstring); export it.

    cfg.workers (AUTO: `devices.resolve_workers`) == 1 runs in this process (`data` may pass
    ready datasets); more start that many spawned processes that share the storage. Writes the
    study's files under `runs_dir`/<study>/ (`runs_dir` default runs/<profile>/;
    `paths.study_dir`) and returns the study.
    """
    from convlstm_lib.data.datasets import prepare_datasets
    from convlstm_lib.training.devices import check_device, largest_trials, resolve_workers

    # Before the study is touched: a bad device must not leave a failed trial, nor a worker count
    # the device cannot hold a trial that runs out of memory.
    torch_device = check_device(device)
    cfg = replace(cfg, workers=resolve_workers(cfg.workers, largest_trials(cfg), torch_device))
    runs_dir = check_output_dir(Path(runs_dir or paths.runs_dir(cfg.profile)), "runs folder")
    spec = storage_spec(cfg, runs_dir)
    folder = bind_study_folder(cfg, spec, runs_dir)  # before the storage is touched
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(spec)
    if data is None:
        data = prepare_datasets(cfg, progress=progress)
    study = open_study(cfg, storage, data=data.info.get("fingerprint"))
    bind_study_folder(cfg, spec, runs_dir, record=True)
    fail_dead_trials(study, storage)
    requeue_lost_slots(study, cfg.n_trials)
    done = count_finished(study)
    started = time.perf_counter()
    deadline = time.time() + cfg.sweep_budget_s if cfg.sweep_budget_s else 0.0
    if done < cfg.n_trials:
        bar = tqdm(total=cfg.n_trials, initial=done, desc=f"sweep {cfg.study_name}", unit="trial",
                   disable=not progress)
        try:
            if cfg.workers == 1:
                objective = Objective(cfg, data, folder / paths.TRIALS, cfg.n_trials, device,
                                      deadline=deadline)
                _work(study, storage, objective, bar)
            else:
                _run_processes(cfg, spec, folder / paths.TRIALS, device, study, bar, deadline)
        finally:
            bar.close()
    export_trials(study, folder / paths.TRIALS_CSV)
    export_history(study, folder / HISTORY_FILE)
    write_summary(cfg, study, folder / paths.SWEEP_SUMMARY, spec, time.perf_counter() - started)
    return study


def _run_processes(cfg: ProfileConfig, spec: str, trials_dir: Path, device: str, study: optuna.Study,
                   bar: tqdm, deadline: float = 0.0) -> None:
    ctx = multiprocessing.get_context("spawn")
    processes = [
        ctx.Process(target=_worker_main, name=f"sweep-worker-{k}", args=(WorkerSpec(
            cfg=cfg.to_dict(), storage=spec, worker=k, trials_dir=str(trials_dir),
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
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="smoke, quick or paper (default quick)")
    parser.add_argument("--storage", help="journal file path or database URL "
                        "(default runs/<profile>/<study>/sweep.journal)")
    parser.add_argument("--study", help="study name (default convlstm-<profile>)")
    parser.add_argument("--n-trials", type=int, help="total number of trials the study should reach")
    parser.add_argument("--workers", help=f"local worker processes, or {AUTO}: as many as the device holds")
    parser.add_argument("--budget-minutes",
                        help="wall-clock budget of this run: trials that would end after it are not started")
    parser.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                        help="stop unpromising trials early (MedianPruner)")
    parser.add_argument("--seed", type=int, help="sweep seed (default: the profile's)")
    parser.add_argument("--device", default="auto", help="torch device for training (default auto)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, key) for key, name in (
        ("storage", "storage"), ("study", "study"), ("n_trials", "n_trials"),
        ("prune", "prune"), ("seed", "seed"),
    ) if getattr(args, key) is not None}
    try:
        if args.seed is not None:
            check_seed(args.seed, "--seed")
        if args.workers is not None:
            overrides["workers"] = parse_workers(args.workers, "--workers")
        if args.budget_minutes is not None:
            overrides["budget_minutes"] = check_budget_minutes(args.budget_minutes)
        cfg = get_profile(args.profile, **overrides)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    paths.check_study_name(cfg.study_name)
    study = run_sweep(cfg, progress=not args.no_progress, device=args.device)
    summary = json.loads((study_folder(cfg) / paths.SWEEP_SUMMARY).read_text())
    print(f"study {study.study_name}: {summary['counted']}/{cfg.n_trials} trials counted "
          f"({summary['config']['workers']} worker(s)); statuses {summary['status_counts']}")
    if summary["stopped_by_budget"]:
        print(f"the budget of {cfg.sweep_budget_s / 60:g} min ended the sweep; the same command resumes it")
    if cfg.prune:
        print(f"pruning saved about {summary['time_saved_s']:.1f} s of training")
    if summary["best"]:
        b = summary["best"]
        params = json.dumps({p: b[p] for p in PARAM_NAMES})
        print(f"best: trial {b['number']} validation MSE {b['val_mse']:.3e}, N6 test MSE "
              f"{b['n6_test_mse']:.3e} ({params})")
    return 0
