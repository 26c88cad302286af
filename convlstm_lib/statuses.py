"""The status words of runs and sweep trials: defined once, imported by training, sweep and results.

A run (`training.loop.train_model`) ends in one of `RUN_STATUSES` (their rules are in `loop`'s
docstring). A sweep trial adds the outcomes only a sweep has (`experiments.sweep_storage`'s
docstring says when each is set); `COUNTED_FAIL_STATUSES` are failed trials that still count
toward the sweep's total (they are results, never re-run). Only ``complete`` trials enter
Table 1 and the figures.
"""
from __future__ import annotations

COMPLETE = "complete"  # the one status whose metrics count
RUN_STATUSES = (COMPLETE, "collapsed", "diverged")
TRIAL_STATUSES = (*RUN_STATUSES, "failed", "pruned", "killed", "surplus", "running")
COUNTED_FAIL_STATUSES = ("diverged", "failed")
