"""run_all.py, the thin CLI over `report.pipeline`: its exit statuses (0 done, 2 bad input, 1 a
notebook that failed otherwise, 130 Ctrl-C, 143 SIGTERM), each with its one line or paragraph."""
from __future__ import annotations

import pytest

import run_all
from convlstm_lib.errors import CourseDataError
from convlstm_lib.report import pipeline


@pytest.mark.parametrize("raised, code, line", [
    (None, 0, ""),
    (CourseDataError("data/train_data_n6.csv: row 2: bad"), 2,
     "run_all: error: data/train_data_n6.csv: row 2: bad"),
    (pipeline.NotebookFailed("notebook 03_sweep.py failed in cell 4 of 9"), 1,
     "run_all: notebook 03_sweep.py failed in cell 4 of 9"),
    (PermissionError(13, "Permission denied", "/data/x.csv"), 2,
     "run_all: error: /data/x.csv: Permission denied"),
    (KeyboardInterrupt(), 130, "run_all: interrupted; nothing was published"),
    (pipeline.Terminated(), 143, "run_all: terminated (SIGTERM); nothing was published"),
])
def test_each_outcome_has_its_exit_status_and_one_line(monkeypatch, capsys, raised, code, line):
    def fake_run(options):
        if raised is not None:
            raise raised
        return pipeline.RunSummary(executed=["01_x"])

    monkeypatch.setattr(pipeline, "run", fake_run)
    assert run_all.main(["--quiet"]) == code
    err = capsys.readouterr().err
    assert err == (line + "\n" if line else "")


def test_a_bug_is_not_passed_off_as_bad_input(monkeypatch):
    monkeypatch.setattr(pipeline, "run", lambda options: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # a traceback, exit 1: it is ours to fix
        run_all.main(["--quiet"])


def test_bad_arguments_are_exit_2_before_anything_runs(monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "run", lambda options: pytest.fail("ran"))
    assert run_all.main(["--seed", "-1", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith("run_all: error: --seed: must be")
    monkeypatch.setenv("MPLBACKEND", "nonexistent")
    assert run_all.main(["--quiet"]) == 2
    assert "MPLBACKEND='nonexistent'" in capsys.readouterr().err
