"""The final model: the sweep's lessons at a size its budget cannot try.

The sweep (notebook 03) is the paper's protocol at the profile's budget: in the quick profile 16
small models (1-2 layers, 4-16 kernels) of four kinds, 3 epochs each on 2,400 windows. What the
measurements behind it found (benchmarks/README.md, "What moves the quick profile's best model"
and after) is where its budget stops: depth and width keep paying, the *base* training set beats
the cleaned one, small batches with a learning rate decaying to zero beat large ones. A final
model takes those lessons to a size no trial of the sweep can reach in its share of the time:

    final_runs runs of ModelConfig(final_model, final_layers, final_kernels, final_activation,
    frames_as_channels=final_frames_as_channels), trained on final_dataset (less its jump targets
    when final_drop_jump_targets) with final_optimizer at final_lr, batch final_batch_size,
    final_epochs epochs of final_max_train_windows windows (0 = all), the profile's lr schedule;
    run k's seed is final_seed(cfg.seed, k); the runs train side by side on cfg.workers
    processes (`multirun`) and their predictions are averaged (`seeds.SeedEnsemble`).

The recipe was found on the quick profile's data one change at a time (benchmarks/README.md, "The
final model", "Frames as channels" and "The jump targets"), and every setting re-checked on the
validation windows against the alternatives ("The final recipe, one change at a time"): each keeps
the lowest validation MSE, except frames read as time steps, slightly lower at nearly twice the
time, which the quick profile's budget cannot pay. On other data or another seed the recipe is
not tuned again.

`train_final(cfg, data)` returns a `FinalModel`: the record written to results (`final`)
and the ensemble. Each run's checkpoint is saved as runs/<profile>/artifacts/final_run_<k>.pt
(`paths.final_run_checkpoint`), so `python -m convlstm_lib predict` can use any one of them.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from convlstm_lib import paths
from convlstm_lib.config import ProfileConfig, derive_seed
from convlstm_lib.experiments.seeds import SeedEnsemble
from convlstm_lib.models.build import count_parameters
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.statuses import COMPLETE
from convlstm_lib.training.checkpoints import save_checkpoint
from convlstm_lib.training.evaluation import evaluate_model
from convlstm_lib.training.multirun import DataSource, describe, train_runs
from convlstm_lib.training.settings import TrainConfig


def final_seed(profile_seed: int, run: int) -> int:
    """The training seed of final run `run` (0, 1, ...); apart from the sweep's and the seed re-runs'."""
    return derive_seed(profile_seed, "final_run", run)


def final_jobs(cfg: ProfileConfig, device: str = "auto") -> list[tuple[ModelConfig, TrainConfig]]:
    """The (ModelConfig, TrainConfig) of each of cfg.final_runs runs (module docstring)."""
    model_cfg = ModelConfig(model=cfg.final_model, layers=cfg.final_layers, kernels=cfg.final_kernels,
                            activation=cfg.final_activation, frames_as_channels=cfg.final_frames_as_channels)
    return [(model_cfg, TrainConfig(
        dataset=cfg.final_dataset, lr=cfg.final_lr, batch_size=cfg.final_batch_size, epochs=cfg.final_epochs,
        optimizer=cfg.final_optimizer, seed=final_seed(cfg.seed, run), device=device, max_train_windows=0,
        lr_schedule=cfg.lr_schedule, drop_jump_targets=cfg.final_drop_jump_targets))
        for run in range(cfg.final_runs)]


def final_source(cfg: ProfileConfig) -> DataSource:
    """Where the final runs' training windows come from: the profile's cache, final_max_train_windows."""
    return DataSource.for_profile(cfg, cfg.final_max_train_windows)


@dataclass
class FinalModel:
    record: dict[str, Any]  # what results/final.json holds (`train_final`)
    model: SeedEnsemble | None  # the complete runs averaged; None when no run completed


def train_final(cfg: ProfileConfig, data=None, device: str = "auto", progress: bool = False) -> FinalModel:
    """Train and score the profile's final model (module docstring).

    `data`: the datasets `final_source(cfg)` names, if already loaded (its validation, N6 test and
    N3 windows are scored either way). The record: the configuration (`model_config`, `train_config` of run
    0), `set_windows` (the training set's windows) and `train_windows` (those a run trained on,
    less the jump targets it drops), `runs` (each run's seed, status, seconds, validation, N6-test
    and N3 MSE), `params`, `wall_s` (all runs, side by side), and the ensemble's `val_mse`,
    `n6_test_*` and `n3_*` metrics (`evaluation.evaluate_model`) with `members`, the runs it
    averages. ValueError when cfg.final_runs is 0.
    """
    if cfg.final_runs < 1:
        raise ValueError(f"final_runs: profile {cfg.profile!r} trains no final model (final_runs = 0)")
    source = final_source(cfg)
    data = data if data is not None else source.load()
    jobs = final_jobs(cfg, device)
    start = time.perf_counter()
    outcomes = train_runs(jobs, data=data, source=source, workers=cfg.workers, progress=progress)
    wall_s = time.perf_counter() - start
    paths.artifacts_dir(cfg.profile).mkdir(parents=True, exist_ok=True)
    for run, outcome in enumerate(outcomes):
        save_checkpoint(paths.final_run_checkpoint(cfg.profile, run), outcome.model, outcome.model_config,
                        outcome.train_config, data.scaler, outcome.metrics, outcome.status)
    members = [o.model for o in outcomes if o.status == COMPLETE]
    record: dict[str, Any] = {
        "model_config": asdict(jobs[0][0]), "train_config": {**asdict(jobs[0][1]), "seed": None},
        "set_windows": len(data.train[cfg.final_dataset]), "train_windows": outcomes[0].train_windows,
        "params": count_parameters(outcomes[0].model),
        "runs": [describe(o) for o in outcomes], "wall_s": wall_s, "members": len(members),
    }
    ensemble = SeedEnsemble(members) if members else None
    if ensemble is not None:  # the averaged runs scored as any model is; no metrics if not finite
        record.update(evaluate_model(ensemble, data, batch_size=cfg.final_batch_size) or {})
    return FinalModel(record, ensemble)
