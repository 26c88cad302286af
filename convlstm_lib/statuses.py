"""The status words of runs and sweep trials, and which trials count: defined once, imported by
training, the sweep, Table 1 and the report.

A run (`training.loop.train_model`) ends in one of `RUN_STATUSES` (their rules are in `loop`'s
docstring). A sweep trial adds the outcomes only a sweep has (`experiments.sweep_storage`'s
docstring says when each is set); `COUNTED_FAIL_STATUSES` are failed trials that still count
toward the sweep's total (they are results, never re-run). Only complete trials
(`complete_trials`) enter Table 1, the best trials, the sweep's summary and the figures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

COMPLETE = "complete"  # the one status whose metrics count
RUN_STATUSES = (COMPLETE, "collapsed", "diverged")
TRIAL_STATUSES = (*RUN_STATUSES, "failed", "pruned", "killed", "surplus", "running")
COUNTED_FAIL_STATUSES = ("diverged", "failed")


def complete_trials(trials: pd.DataFrame, score: str) -> pd.DataFrame:
    """The rows of a trials table that count: status COMPLETE and a finite `score` (a column of
    the table, e.g. the validation MSE every choice reads)."""
    scores = pd.to_numeric(trials[score], errors="coerce")
    return trials[(trials["status"] == COMPLETE) & np.isfinite(scores)]
