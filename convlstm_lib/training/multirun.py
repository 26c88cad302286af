"""Independent training runs side by side: one spawned process per slot, the cores shared out.

`train_runs(jobs, data, source, workers)` trains every job, a (ModelConfig, TrainConfig) pair, through
`loop.train_model` (scoring only the last epoch) and returns one `RunOutcome` per job, in the
jobs' order. With `workers` == 1 the jobs train one after another in this process; with more,
`workers` spawned processes take them, each with cpu_count // workers torch threads (unless
OMP_NUM_THREADS says otherwise), each loading the datasets `source` names from the cache on disk,
and the trained weights come back to this process.

Why: the models of this project are small, and on the 2-core machines one process does not keep
two threads busy: two one-thread runs side by side finish well before two two-thread runs one
after the other (benchmarks/README.md, "Two processes instead of two threads"). The seed re-runs
of notebook 04 and the final model of notebook 06 train this way.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convlstm_lib import paths
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.progress import tqdm
from convlstm_lib.training.devices import workers_for_runs
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.metrics import VAL_MSE
from convlstm_lib.training.settings import TrainConfig


@dataclass(frozen=True)
class DataSource:
    """Where a worker finds the datasets: the cache `datasets.save_datasets` wrote in
    `processed_dir`, cut to `max_train_windows` windows a training set (`datasets.subsample`
    with `seed`; 0 = every window): what `datasets.prepare_datasets` gives a profile."""

    processed_dir: str
    max_train_windows: int = 0
    seed: int = 0

    @classmethod
    def for_profile(cls, cfg, max_train_windows: int | None = None) -> DataSource:
        """Profile `cfg`'s cache, cut like `datasets.prepare_datasets` cuts it (cfg.max_train_windows,
        seed cfg.seed), or to `max_train_windows` windows when given."""
        windows = cfg.max_train_windows if max_train_windows is None else max_train_windows
        return cls(str(paths.processed_dir(cfg.profile)), windows, cfg.seed)

    def load(self):
        from convlstm_lib.data.datasets import load_datasets, subsample

        return subsample(load_datasets(self.processed_dir), self.max_train_windows, self.seed)


@dataclass
class RunOutcome:
    """One job's result: as `loop.TrainResult`, without the learning curve."""

    status: str
    metrics: dict[str, float]
    runtime_s: float
    model: nn.Module
    model_config: ModelConfig  # as built for the job's task (`TrainResult.model_config`)
    train_config: TrainConfig
    train_windows: int  # the windows it trained on


Job = tuple[ModelConfig, TrainConfig]


def worker_threads(workers: int) -> int:
    """Torch threads of each of `workers` processes: the cores shared out, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


@lru_cache(maxsize=2)
def _cached_data(source: DataSource):
    return source.load()


def _train_one(job: Job, data) -> tuple[str, dict, float, dict[str, torch.Tensor], int, ModelConfig]:
    result = train_model(job[0], job[1], data, progress=False, score_every_epoch=False)
    state = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    return (result.status, dict(result.metrics), result.runtime_s, state, result.train_windows,
            result.model_config)


def _worker_init(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


def _worker_job(job: Job, source: DataSource):
    return _train_one(job, _cached_data(source))


def train_runs(jobs: list[Job], data=None, source: DataSource | None = None, workers: int | str = 1,
               progress: bool = False) -> list[RunOutcome]:
    """Train `jobs` (module docstring). In this process they train on `data` (or, if None, on
    `source.load()`); workers > 1 need `source`, and `data` should be what it loads. `workers`
    "auto": as many as the jobs' device holds at once (`devices.workers_for_runs`).
    ValueError when `workers` < 1, or when `source` is missing and needed."""
    jobs = list(jobs)
    workers = workers_for_runs(workers, jobs)  # ValueError naming `workers` for a bad count
    if source is None and (data is None or workers > 1):
        raise ValueError("source: needed for workers > 1 and when no data are given (where the datasets are)")
    bar = tqdm(total=len(jobs), desc="training runs", unit="run", disable=not progress)
    try:
        if workers == 1 or len(jobs) < 2:
            data = data if data is not None else source.load()
            raw = []
            for job in jobs:
                raw.append(_train_one(job, data))
                bar.update()
        else:
            if not Path(source.processed_dir).is_dir():
                raise FileNotFoundError(f"processed_dir {source.processed_dir}: no such folder")
            threads = None if "OMP_NUM_THREADS" in os.environ else worker_threads(workers)
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                     mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_worker_init, initargs=(threads,)) as pool:
                futures = [pool.submit(_worker_job, job, source) for job in jobs]
                for future in futures:
                    future.add_done_callback(lambda _: bar.update())
                raw = [future.result() for future in futures]
    finally:
        bar.close()
    outcomes = []
    for (_, train_cfg), (status, metrics, runtime_s, state, windows, model_cfg) in zip(jobs, raw,
                                                                                       strict=True):
        # the task's network, then its weights
        model = build_model(model_cfg, train_cfg.task, seed=train_cfg.seed)
        model.load_state_dict(state)
        model.eval()
        outcomes.append(RunOutcome(status, metrics, runtime_s, model, model_cfg, train_cfg, windows))
    return outcomes


def describe(outcome: RunOutcome) -> dict[str, Any]:
    """A run as a plain record: its seed, status, seconds, validation, N6-test and N3 MSE."""
    return {"seed": outcome.train_config.seed, "status": outcome.status, "runtime_s": outcome.runtime_s,
            **{k: outcome.metrics.get(k) for k in (VAL_MSE, "n6_test_mse", "n3_mse")}}
