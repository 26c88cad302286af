"""sweep_record: the best trial of the sweep and of each model kind, chosen on validation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from convlstm_lib.config import get_profile
from convlstm_lib.experiments import sweep_record, sweep_storage


def _frame() -> pd.DataFrame:
    """Trials whose N6 test MSE ranks them the other way round from their validation MSE."""
    rows = [  # number, model, status, val_mse
        (0, "convlstm", "complete", 0.004), (1, "convlstm", "complete", 0.003),
        (2, "convgru", "complete", 0.005), (3, "convgru", "complete", 0.005),  # a tie: the lower number
        (4, "convgru", "collapsed", 0.001), (5, "simvp", "diverged", np.nan),
        (6, "convlstm", "pruned", 0.0005),
    ]
    frame = pd.DataFrame([
        {col: np.nan for col in sweep_record.TRIAL_COLUMNS}
        | {"number": n, "model": m, "status": s, "state": "COMPLETE" if s != "pruned" else "PRUNED",
           "val_mse": v, "n6_test_mse": 0.01 - v if np.isfinite(v) else np.nan, "n3_mse": 0.02,
           "n_params": 10 * (n + 1), "seconds_per_epoch": 1.0, "runtime_s": 2.0, "time_saved_s": 0.0,
           "checkpoint": f"trials/{n}.pt"}
        for n, m, s, v in rows
    ])
    return frame


def test_the_sweeps_best_is_the_lowest_validation_mse_of_a_complete_trial():
    best = sweep_record.summarise(_frame())["best"]
    assert best["number"] == 1 and best["val_mse"] == pytest.approx(0.003)
    assert best["n6_test_mse"] == pytest.approx(0.007)  # reported beside it, never read


def test_the_best_of_each_kind_is_its_lowest_validation_mse():
    best = sweep_record.best_per_model(_frame())
    assert best["convlstm"]["number"] == 1 and best["convlstm"]["trials"] == 3
    assert best["convgru"]["number"] == 2  # 4 has a lower validation MSE but collapsed; 3 ties with 2
    assert best["simvp"] is None
    assert set(best["convgru"]) == {*sweep_record.MODEL_SUMMARY_KEYS, "trials"}
    assert best["convgru"]["val_mse"] == pytest.approx(0.005)


def test_load_trials_without_a_sweep_says_what_to_do(tmp_path):
    cfg = get_profile("smoke")
    with pytest.raises(sweep_storage.SweepError, match="run the sweep first"):
        sweep_record.load_trials(cfg, runs_dir=tmp_path / "nothing")
