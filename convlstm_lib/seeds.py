"""How much of Table 1's best row is the seed: the best configuration re-trained with other seeds.

`retrain_with_seeds(best, data, epochs, sweep_seed, runs, lr_schedule)` keeps the best trial's own
run (its seed and metrics, from the sweep) and trains the same configuration `runs - 1` more times
with seeds derived from (sweep seed, trial number, run), the same data, epochs and learning-rate
schedule (the profile's: trials share it, so the trials table does not hold it). The record gives
each run's N6-test and N3 MSE (per pixel, [0, 1] scale), their mean and their spread (sample
standard deviation), and the seconds the extra runs took.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from .model import ModelConfig
from .training import TrainConfig, train_model

KEYS = ("n6_test_mse", "n3_mse")


def run_seed(sweep_seed: int, trial: int, run: int) -> int:
    """The training seed of extra run `run` (1, 2, ...) of trial `trial`; distinct from every sweep seed."""
    return int(np.random.SeedSequence([int(sweep_seed), 3, int(trial), int(run)]).generate_state(1)[0])


def retrain_with_seeds(
    best: Mapping[str, Any], data, epochs: int, sweep_seed: int, runs: int = 3, device: str = "auto",
    lr_schedule: str = "constant",
) -> dict[str, Any]:
    """Table 1's best row over `runs` seeds (the trial's own run first). See the module docstring.

    `best`: the trial's row of the sweep's trials table (parameters, `seed`, metrics, `number`).
    Raises ValueError when `runs` < 1.
    """
    if runs < 1:
        raise ValueError(f"runs: must be >= 1, got {runs}")
    model_cfg = ModelConfig(layers=int(best["layers"]), kernels=int(best["kernels"]),
                            activation=str(best["activation"]))
    seeds = [int(best["seed"])]
    values = {k: [float(best[k])] for k in KEYS}
    start = time.perf_counter()
    for run in range(1, runs):
        seed = run_seed(sweep_seed, int(best["number"]), run)
        train_cfg = TrainConfig(dataset=str(best["dataset"]), lr=float(best["lr"]),
                                batch_size=int(best["batch_size"]), epochs=epochs,
                                optimizer=str(best["optimizer"]), seed=seed, device=device,
                                max_train_windows=0, lr_schedule=lr_schedule)
        result = train_model(model_cfg, train_cfg, data, progress=False)
        seeds.append(seed)
        for k in KEYS:
            values[k].append(float(result.metrics.get(k, np.nan)))
    record: dict[str, Any] = {"trial": int(best["number"]), "seeds": seeds, **values,
                              "extra_runs_s": time.perf_counter() - start}
    n6 = np.asarray(values["n6_test_mse"], dtype=float)
    record["mean"] = float(np.nanmean(n6))
    record["spread"] = float(np.nanstd(n6, ddof=1)) if len(n6) > 1 else 0.0
    return record
