"""Report assembly (convlstm_lib/report/assemble.py): the stamp, bad input (results.json: test_results)."""

from __future__ import annotations

import subprocess
import time

import nbformat
import pytest

from convlstm_lib.config import get_profile
from convlstm_lib.report import assemble


def test_git_commit(tmp_path):
    assert assemble.git_commit(tmp_path) == "unknown"
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "f").write_text("1")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "m"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout
    head = head.strip()
    assert assemble.git_commit(tmp_path) == head
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.html").write_text("an earlier report")
    assert assemble.git_commit(tmp_path, ignore=tmp_path / "report") == head  # output is not source
    assert assemble.git_commit(tmp_path) == head + "-dirty"
    (tmp_path / "f").write_text("2")
    assert assemble.git_commit(tmp_path, ignore=tmp_path / "report") == head + "-dirty"


def test_a_missing_executed_notebook_is_an_error_before_anything_is_written(tmp_path):
    staging = tmp_path / "staging"
    (staging / "notebooks").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), staging / "notebooks" / "01_a.ipynb")
    with pytest.raises(assemble.ReportError, match="no executed notebook for 02_b"):
        assemble.assemble(
            get_profile("smoke"),
            tmp_path / "runs",
            staging,
            tmp_path / "out",
            ["01_a", "02_b"],
            commit="c",
            date="d",
            start=time.perf_counter(),
            pdf=False,
        )
    assert sorted(p.name for p in staging.iterdir()) == ["notebooks"]


def test_the_stamp_rows():
    stamp = assemble.ReportStamp(
        commit="abc", profile="quick", seed=0, date="d", runtime_s=75.2, device="cpu"
    )
    assert dict(stamp.rows()) == {
        "commit": "abc",
        "profile": "quick",
        "seed": "0",
        "date": "d",
        "wall time": "1 min 15 s",
        "device": "cpu",
    }
