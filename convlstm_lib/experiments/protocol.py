"""The selection protocol: every choice on validation windows, the test frames read once.

The validation windows are the training-rule windows of a seeded share of the N6 sequences held
out whole (`datasets.Datasets.val`, `config.ProfileConfig.val_share`). Every choice reads their
per-pixel MSE (`metrics.SELECTION_KEY`) and nothing else: the sweep's objective and pruner,
divergence and collapse, the best trial overall, per training set and per model kind (Table 1,
the seed row), the task study's picks for frames 4 and 16 (the course CSVs). The test windows
(N6 frames 4 and 16, N3) are scored for what is reported and decide nothing;
`table1.paper_rule` shows what choosing on them, as the paper did, would have picked.

`record(ds)` is results.json's `protocol`: {"selection": "validation", "validation":
{"sequences": N, "windows": M, "rule": "..."}}.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from convlstm_lib.data.course_io import TEST_FRAMES

SELECTION = "validation"


def record(ds) -> dict[str, Any]:
    """How models were chosen, for results.json: the selection and the split of `ds` (a
    `datasets.Datasets`)."""
    return {"selection": SELECTION, "validation": ds.validation}


def sentence(validation: Mapping[str, Any]) -> str:
    """The protocol in one sentence, for the report's first page; `validation` is the split's record
    (`Datasets.validation`, results.json's protocol.validation)."""
    v = validation
    return (f"Every model, setting and prediction was chosen on validation windows ({v['windows']} "
            f"windows of {v['sequences']} N6 sequences held out of training); the test windows (N6 frames "
            f"{TEST_FRAMES[0] + 1} and {TEST_FRAMES[1] + 1}, and N3) were scored to report, never to choose.")
