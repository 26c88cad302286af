"""The report's targets (convlstm_lib/report/targets.py): defined once, listed in docs/REPORT.md."""
from __future__ import annotations

import re

from convlstm_lib import paths
from convlstm_lib.report import targets


def test_a_target_is_met_at_or_below_its_ratio_and_reads_as_one():
    target = targets.BEST_MODEL
    assert target.met(0.4, 1.0) and target.met(0.39, 1.0) and not target.met(0.41, 1.0)
    assert str(target) == "at most 0.40 x copy-last"
    assert str(targets.INTERPOLATION) == "at most 0.80 x the mean of frames 3 and 5"


def test_docs_report_lists_every_target_with_its_ratio():
    page = (paths.ROOT / "docs" / "REPORT.md").read_text()
    rows = re.findall(r"^\| ([^|]+) \| ([\d.]+) x \| ([^|]+) \| (\w+) \|$", page, flags=re.M)
    listed = {(what.split(" (")[0], float(ratio), reference, profile)
              for what, ratio, reference, profile in rows}
    assert listed == {(t.what, t.ratio, t.reference, t.profile) for t in targets.TARGETS}
