"""The status words (convlstm_lib/statuses.py) and the one rule of which trials count."""
from __future__ import annotations

import math

import pandas as pd

from convlstm_lib.statuses import (
    COMPLETE,
    COUNTED_FAIL_STATUSES,
    RUN_STATUSES,
    TRIAL_STATUSES,
    complete_trials,
)


def test_a_run_ends_in_a_status_every_trial_table_knows():
    assert RUN_STATUSES[0] == COMPLETE and set(RUN_STATUSES) <= set(TRIAL_STATUSES)
    assert set(COUNTED_FAIL_STATUSES) <= set(TRIAL_STATUSES) - {COMPLETE}
    assert len(set(TRIAL_STATUSES)) == len(TRIAL_STATUSES)


def test_only_complete_trials_with_a_finite_score_count():
    trials = pd.DataFrame({
        "number": range(7),
        "status": [COMPLETE, "collapsed", "diverged", COMPLETE, COMPLETE, COMPLETE, "pruned"],
        "val_mse": [1e-3, 2e-3, math.inf, math.nan, math.inf, None, 5e-4],
        "n6_test_mse": [1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3],
    })
    assert complete_trials(trials, "val_mse")["number"].tolist() == [0]
    assert complete_trials(trials, "n6_test_mse")["number"].tolist() == [0, 3, 4, 5]
    assert complete_trials(trials.iloc[0:0], "val_mse").empty
