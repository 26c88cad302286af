"""How much of Table 1's best row is the seed: the best configuration re-trained with other seeds.

`retrain_with_seeds(best, data, epochs, sweep_seed, runs, lr_schedule)` keeps the best trial's own
run (its seed and metrics, from the sweep) and trains the same configuration `runs - 1` more times
with seeds derived from (sweep seed, trial number, run), the same data, epochs and learning-rate
schedule (the profile's: trials share it, so the trials table does not hold it). The record gives
each run's validation, N6-test and N3 MSE (per pixel, [0, 1] scale), the mean and spread (sample
standard deviation) of the N6-test MSEs, and the seconds the extra runs took.

Given the trial's own trained model (`first_model`, e.g. loaded from its checkpoint), the record
also scores the runs together on the validation windows and N6 test (the paper's extrapolation
target): `SeedEnsemble` averages their predictions, and `ensemble` holds its `val_mse` and
`n6_test_*` metrics (`evaluation`) and how many runs it averaged. The runs are trained anyway for
the spread, so the ensemble costs only their predictions of those windows; by the convexity of
the squared error its MSE is never above the mean of its members' MSEs, and three seeds averaged
score a few per cent below their single runs (benchmarks/README.md, "Ensembles").
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from convlstm_lib.config import derive_seed
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.statuses import COMPLETE
from convlstm_lib.training.evaluation import predict_frames, score_predictions, score_validation
from convlstm_lib.training.metrics import VAL_MSE
from convlstm_lib.training.multirun import DataSource, train_runs
from convlstm_lib.training.settings import TrainConfig

KEYS = (VAL_MSE, "n6_test_mse", "n3_mse")


def run_seed(sweep_seed: int, trial: int, run: int) -> int:
    """The training seed of extra run `run` (1, 2, ...) of trial `trial`; distinct from every sweep seed."""
    return derive_seed(sweep_seed, "seed_rerun", trial, run)


class SeedEnsemble(nn.Module):
    """Models of one configuration trained with different seeds, as one predictor:

        forward(x) = mean over members k of member_k(x)      x (B, T, C, H, W) -> (B, 1, H, W)

    Each member runs on its own device; the mean is returned on x's.
    """

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("members: an ensemble needs at least one model")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [m(x.to(next(m.parameters()).device)).float().to(x.device) for m in self.members]
        return torch.stack(outs).mean(dim=0)


def retrain_with_seeds(
    best: Mapping[str, Any], data, epochs: int, sweep_seed: int, runs: int = 3, device: str = "auto",
    lr_schedule: str = "constant", first_model: nn.Module | None = None, workers: int = 1,
    source: DataSource | None = None,
) -> dict[str, Any]:
    """Table 1's best row over `runs` seeds (the trial's own run first). See the module docstring.

    `best`: the trial's row of the sweep's trials table (model, parameters, `seed`, metrics,
    `number`). `first_model`: the trial's own trained model; given, the record gains `ensemble`.
    With `source` (where `data` lives on disk, `multirun.DataSource`) the extra runs train on
    `workers` processes side by side (`multirun.train_runs`); without, here, one after another.
    Raises ValueError when `runs` < 1.
    """
    if runs < 1:
        raise ValueError(f"runs: must be >= 1, got {runs}")
    model_cfg = ModelConfig(model=str(best.get("model", "convlstm")), layers=int(best["layers"]),
                            kernels=int(best["kernels"]), activation=str(best["activation"]))
    members = [] if first_model is None else [first_model]
    seeds = [int(best["seed"])]
    values = {k: [float(best[k])] for k in KEYS}
    jobs = []
    for run in range(1, runs):
        seed = run_seed(sweep_seed, int(best["number"]), run)
        jobs.append((model_cfg, TrainConfig(dataset=str(best["dataset"]), lr=float(best["lr"]),
                                            batch_size=int(best["batch_size"]), epochs=epochs,
                                            optimizer=str(best["optimizer"]), seed=seed, device=device,
                                            max_train_windows=0, lr_schedule=lr_schedule)))
    start = time.perf_counter()
    outcomes = train_runs(jobs, data=data, source=source, workers=workers)
    for outcome in outcomes:
        if first_model is not None and outcome.status == COMPLETE:
            members.append(outcome.model)
        seeds.append(outcome.train_config.seed)
        for k in KEYS:
            values[k].append(float(outcome.metrics.get(k, np.nan)))
    record: dict[str, Any] = {"trial": int(best["number"]), "seeds": seeds, **values,
                              "extra_runs_s": time.perf_counter() - start}
    n6 = np.asarray(values["n6_test_mse"], dtype=float)
    record["mean"] = float(np.nanmean(n6))
    record["spread"] = float(np.nanstd(n6, ddof=1)) if len(n6) > 1 else 0.0
    if first_model is not None:
        ensemble = SeedEnsemble(members)
        scores = score_validation(predict_frames(ensemble, data.val.inputs), data.val)
        pred = predict_frames(ensemble, data.n6_test.inputs)
        scores.update(score_predictions(pred, data.n6_test, "n6_test", batch_size=int(best["batch_size"])))
        record["ensemble"] = {"runs": len(members), **scores}
    return record
