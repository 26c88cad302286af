"""The report pipeline (`report.pipeline`, driven by run_all.py) on tiny temporary notebooks: order,
parameters, publishing into marked folders only, failures, bad parameters cells, the per-profile
lock and SIGTERM.

Kernel-running tests start one python3 kernel per notebook (about a second each); the
successful pipeline run is shared by the tests that inspect its output.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import pytest

import run_all  # the repository root is on pytest's pythonpath (pyproject.toml)
from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.errors import OutputPathError
from convlstm_lib.report import pipeline, render

HEADER = """# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""


def write_notebook(folder: Path, name: str, parameters: str, body: str, title: str | None = None) -> Path:
    """A jupytext percent notebook: header, a markdown title, the parameters cell, one code cell."""
    path = folder / f"{name}.py"
    path.write_text(
        HEADER
        + f"\n# %% [markdown]\n# # {title or name}\n"
        + f'\n# %% tags=["parameters"]\n{parameters}\n'
        + f"\n# %%\n{body}\n"
    )
    return path


FIRST = """\
import json, sys
from pathlib import Path
import matplotlib.pyplot as plt
runs = Path({runs!r})
for sub in ("results", "figures", "artifacts"):
    (runs / sub).mkdir(parents=True, exist_ok=True)
with open(runs / "order.log", "a") as log:
    log.write("01\\n")
(runs / "results" / "params.json").write_text(json.dumps(
    {{"profile": profile, "seed": seed, "n6": n6, "optimizers": optimizers, "kernel": sys.executable}}))
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [1, 0])
fig.savefig(runs / "figures" / "fig3.png")
fig.savefig(runs / "figures" / "fig3.svg")
(runs / "artifacts" / "best_model.pt").write_bytes(b"weights")
(runs / "artifacts" / "predictions_n6.csv").write_text("0,1\\n")
print("first ran with", profile, n6)"""

SECOND = """\
import json
from pathlib import Path
import pandas as pd
runs = Path({runs!r})
with open(runs / "order.log", "a") as log:
    log.write("02\\n")
first = json.loads((runs / "results" / "params.json").read_text())  # handed over by a file
(runs / "results" / "best.json").write_text(json.dumps({{"n6_test_mse": 0.5, "n3_mse": float("nan"),
                                                       "seen_n6": first["n6"]}}))
from convlstm_lib.report.tables import for_reader
for_reader(pd.DataFrame({{"model": ["ConvLSTM"], "MSE": [3.69e-06]}}), caption="Table 1")"""


def run(notebooks: Path, out: Path, runs: Path, *args: str) -> int:
    """run_all's exit code for `notebooks` -> `out`, with the runs folder redirected."""
    argv = ["--output-dir", str(out), "--notebooks-dir", str(notebooks), "--quiet", *args]
    return run_all.main(argv, runs_dir=runs)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Two notebooks run once with the smoke profile, --seed 7 and --budget-minutes 1.5; stale files
    planted beforehand."""
    root = tmp_path_factory.mktemp("pipeline")
    nbs, runs, out = root / "notebooks", root / "runs", root / "report"
    nbs.mkdir()
    write_notebook(nbs, "01_first", 'profile = "quick"\nseed = 0\nn6 = 400\noptimizers = ["Adam"]',
                   FIRST.format(runs=str(runs)), title="First: data")
    write_notebook(nbs, "02_second", 'profile = "quick"\nseed = 0\nbudget_minutes = 0.0',
                   SECOND.format(runs=str(runs)), title="Second: results")
    (nbs / "notes.py").write_text("not a notebook: no NN_ prefix\n")
    # stale output of an earlier run, which must not reach this report
    (runs / "figures").mkdir(parents=True)
    (runs / "figures" / "stale.png").write_bytes(b"old")
    (runs / "results").mkdir()
    (runs / "results" / "stale.json").write_text("{}")
    # an earlier report (its marker lists what it published) beside the user's own files
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "old.png").write_bytes(b"old")
    (out / "figures" / "mine.png").write_bytes(b"the user's")
    (out / "README.md").write_text("kept")
    pipeline.write_marker(out, ["figures/old.png", "report.html"], "smoke")
    code = run(nbs, out, runs, "--profile", "smoke", "--seed", "7", "--budget-minutes", "1.5")
    return {"code": code, "root": root, "runs": runs, "out": out, "notebooks": nbs}


def test_runs_every_notebook_in_order_and_publishes(ran):
    assert ran["code"] == 0
    out = ran["out"]
    assert (ran["runs"] / "order.log").read_text() == "01\n02\n"
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_first.ipynb", "02_second.ipynb"]
    # the earlier report's stale figure is gone; the user's own files are kept
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["fig3.png", "fig3.svg", "mine.png"]
    assert (out / "figures" / "mine.png").read_bytes() == b"the user's"
    assert (out / "best_model.pt").read_bytes() == b"weights"
    assert (out / "predictions_n6.csv").is_file()
    assert (out / "README.md").read_text() == "kept"
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert not [p for p in ran["root"].iterdir() if ".partial-" in p.name]  # staging removed
    assert not (ran["runs"] / paths.RUN_LOCK).exists()  # the lock went with the run
    listed = pipeline_marker(out)
    assert listed == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
                            and p.name not in ("README.md", "mine.png", paths.REPORT_MARKER))


def pipeline_marker(folder: Path) -> list[str]:
    return json.loads((folder / paths.REPORT_MARKER).read_text())["files"]


def test_parameters_come_from_the_profile(ran):
    nb = json.loads((ran["out"] / "notebooks" / "01_first.ipynb").read_text())
    assert nb["metadata"]["papermill"]["parameters"] == {
        "profile": "smoke", "seed": 7, "n6": 24, "optimizers": ["Adam", "RMSprop"],
    }
    seen = json.loads((ran["runs"] / "results" / "params.json").read_text())
    assert seen["profile"] == "smoke" and seen["seed"] == 7 and seen["n6"] == 24
    assert seen["optimizers"] == ["Adam", "RMSprop"]
    assert os.path.realpath(seen["kernel"]) == os.path.realpath(sys.executable)  # this interpreter's kernel
    # only the keys of each notebook's parameters cell are passed: the budget to the one that names it
    nb2 = json.loads((ran["out"] / "notebooks" / "02_second.ipynb").read_text())
    assert nb2["metadata"]["papermill"]["parameters"] == {"profile": "smoke", "seed": 7,
                                                          "budget_minutes": 1.5}


def test_results_json(ran):
    results = json.loads((ran["out"] / "results.json").read_text())
    assert results["profile"] == "smoke" and results["seed"] == 7
    budgeted = get_profile("smoke", seed=7, budget_minutes=1.5)
    assert results["config"] == json.loads(json.dumps(budgeted.to_dict()))
    assert results["config"]["sweep_budget_s"] == 90.0  # --budget-minutes is the sweep's budget
    stamp = {"profile", "seed", "commit", "date", "runtime_s", "device", "config"}
    assert set(results) == stamp | {"params", "best"}
    assert "stale" not in results
    assert results["best"]["n6_test_mse"] == 0.5 and results["best"]["n3_mse"] is None  # NaN -> null
    assert results["best"]["checkpoint"] == "best_model.pt"  # outside the repository: no machine path
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", results["commit"])
    assert 0 < results["runtime_s"] < 300 and results["device"].startswith(("cpu (", "cuda: ", "mps"))


def test_report_html(ran):
    html = (ran["out"] / "report.html").read_text()
    assert html.index('id="summary"') < html.index("First: data") < html.index("Second: results")
    assert html.index("Second: results") < html.index('id="beside-the-paper"')
    assert "<figcaption>Table 1</figcaption>" in html and "3.69e-06" in html
    assert html.count('src="data:image/png;base64,') == 1  # the inline figure of 01
    assert "<th>profile</th><td>smoke</td>" in html and "<th>seed</th><td>7</td>" in html
    assert "first ran with smoke 24" in html
    assert "savefig" not in html and "runs = Path(" not in html  # no code reaches the reader
    assert str(ran["root"]) not in html  # no machine path


def write_failing(folder: Path, runs: Path) -> None:
    write_notebook(folder, "01_ok", 'profile = "quick"',
                   f"import os\nos.makedirs({str(runs)!r}, exist_ok=True)")
    write_notebook(folder, "02_boom", 'profile = "quick"',
                   "x = 1\n\n# %%\n# the failing cell\nraise RuntimeError('exploded on purpose')")
    write_notebook(folder, "03_never", 'profile = "quick"', f"open({str(runs / 'ran03')!r}, 'w').close()")


def test_failing_notebook_stops_the_run_and_publishes_nothing(tmp_path, monkeypatch, capsys):
    """A notebook that fails on something else than bad input (a bug): exit 1, one paragraph."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    nbs, runs, out = tmp_path / "nbs", tmp_path / "runs", tmp_path / "out"
    nbs.mkdir()
    write_failing(nbs, runs)
    assert run(nbs, out, runs, "--profile", "smoke") == 1
    err = capsys.readouterr().err.strip()
    assert "02_boom.py" in err and "cell 4 of 4" in err and "RuntimeError: exploded on purpose" in err
    assert "raise RuntimeError" in err and err.count("\n") == 0  # one paragraph
    kept = Path(err.rsplit(" is in ", 1)[1].rstrip("."))
    assert kept.is_file() and kept.is_relative_to(tmp_path / "tmp")
    assert not (runs / "ran03").exists()  # the run stopped at the failure
    assert not out.exists() or not any(out.iterdir())  # no report.html, nothing half-written
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_failed_run_leaves_an_earlier_report_untouched(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    write_notebook(nbs, "01_boom", 'profile = "quick"', "1 / 0")
    (out / "notebooks").mkdir(parents=True)
    (out / "report.html").write_text("earlier")
    (out / "notebooks" / "01_boom.ipynb").write_text("earlier")
    pipeline.write_marker(out, ["report.html", "notebooks/01_boom.ipynb"], "quick")
    assert run(nbs, out, tmp_path / "runs", "--profile", "smoke") == 1
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert (out / "report.html").read_text() == "earlier"
    assert (out / "notebooks" / "01_boom.ipynb").read_text() == "earlier"


def test_without_chromium_the_html_is_still_published(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(render, "find_chromium", lambda: None)
    nbs, out = tmp_path / "nbs", tmp_path / "out"
    nbs.mkdir()
    write_notebook(nbs, "01_only", 'profile = "quick"', "print('ok')")
    assert run(nbs, out, tmp_path / "runs") == 0
    assert "apt-get install chromium" in capsys.readouterr().out
    assert (out / "report.html").is_file() and not (out / "report.pdf").exists()
    assert (out / "results.json").is_file()


def test_only_runs_one_notebook_and_leaves_the_report(tmp_path):
    nbs, runs, out = tmp_path / "nbs", tmp_path / "runs", tmp_path / "out"
    nbs.mkdir()
    for n in ("01", "02"):
        write_notebook(nbs, f"{n}_nb", 'profile = "quick"',
                       f"from pathlib import Path\nPath({str(tmp_path)!r}, 'ran{n}').touch()")
    (out / "notebooks").mkdir(parents=True)
    (out / "notebooks" / "01_nb.ipynb").write_text("earlier")
    pipeline.write_marker(out, ["notebooks/01_nb.ipynb"], "quick")
    assert run(nbs, out, runs, "--only", "02") == 0
    assert (tmp_path / "ran02").exists() and not (tmp_path / "ran01").exists()
    assert (out / "notebooks" / "01_nb.ipynb").read_text() == "earlier"
    executed = json.loads((out / "notebooks" / "02_nb.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"] == {"profile": "quick"}
    assert not (out / "report.html").exists() and not (out / "results.json").exists()
    assert pipeline_marker(out) == ["notebooks/01_nb.ipynb", "notebooks/02_nb.ipynb"]


@pytest.mark.parametrize(
    "parameters, message",
    [
        ('profile = "quick"\nlr = 0.1', "02_bad.py: parameters cell key 'lr' is not a ProfileConfig field"),
        ('profile = "quick"\nseed = 1 + 1', "02_bad.py: parameters cell key 'seed' (line 2) is not a litera"),
        ('profile = "quick"\nimport os', "02_bad.py: parameters cell line 2: only `name = literal`"),
        ('profile = "quick"\nn6, n3 = 1, 2', "02_bad.py: parameters cell line 2: only `name = literal`"),
        ('profile = "quick"\nseed = (', "02_bad.py: parameters cell line 2"),
    ],
)
def test_bad_parameters_cell_is_an_error_before_anything_runs(tmp_path, capsys, parameters, message):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs, "01_fine", 'profile = "quick"', f"open({str(tmp_path / 'ran')!r}, 'w').close()")
    write_notebook(nbs, "02_bad", parameters, "pass")
    assert run(nbs, tmp_path / "out", tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out").exists()


def test_missing_parameters_cell_and_unknown_only(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    (nbs / "01_plain.py").write_text(HEADER + "\n# %%\nprint(1)\n")
    expected = "01_plain.py: expected exactly one code cell tagged 'parameters', found 0"
    with pytest.raises(pipeline.NotebookError, match=expected):
        pipeline.load_notebook(nbs / "01_plain.py")
    write_notebook(nbs, "02_ok", 'profile = "quick"', "pass")
    specs = [pipeline.load_notebook(nbs / "02_ok.py")]
    with pytest.raises(pipeline.NotebookError, match="--only 07: no such notebook; found 02_ok"):
        pipeline.select(specs, ["07"])
    assert pipeline.select(specs, ["02_ok"]) == specs
    assert run_all.main(["--notebooks-dir", str(tmp_path / "empty"), "--quiet"]) == 2
    assert "no notebooks matching" in capsys.readouterr().err


def test_discovery_picks_up_new_notebooks_in_number_order(tmp_path):
    for name in ("10_late", "02_b", "01_a", "1_bad", "ab_x"):
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "03_c.ipynb").write_text("{}")
    assert [p.stem for p in pipeline.discover_notebooks(tmp_path)] == ["01_a", "02_b", "10_late"]


def test_notebook_parameters_are_exactly_the_cells_keys(tmp_path):
    cell = 'profile = "quick"\nseed = 0\ntraining_sets = ["base"]\nepochs = 9'
    write_notebook(tmp_path, "01_x", cell, "pass")
    spec = pipeline.load_notebook(tmp_path / "01_x.py")
    assert spec.parameters == {"profile": "quick", "seed": 0, "training_sets": ["base"], "epochs": 9}
    assert pipeline.notebook_parameters(spec, get_profile("smoke", seed=3)) == {
        "profile": "smoke", "seed": 3, "epochs": 1,
        "training_sets": ["base", "cleaned", "denoised", "processed"],
    }
    nb = jupytext.read(tmp_path / "01_x.py")
    assert pipeline.read_parameters(nb, "01_x.py") == spec.parameters


def test_publish_moves_report_html_last_and_removes_only_what_an_earlier_report_listed(tmp_path, monkeypatch):
    staging, out = tmp_path / "staging", tmp_path / "out"
    (staging / "figures").mkdir(parents=True)
    (staging / "figures" / "new.png").write_text("new")
    (staging / "notebooks").mkdir()
    (staging / "notebooks" / "01.ipynb").write_text("nb")
    for name in ("report.html", "results.json", "a.csv", "z.pdf"):
        (staging / name).write_text(name)
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale.png").write_text("old")  # the earlier report's
    (out / "figures" / "users.png").write_text("mine")  # never listed: the user's
    (out / "old_folder").mkdir()
    (out / "old_folder" / "gone.csv").write_text("old")
    pipeline.write_marker(out, ["figures/stale.png", "old_folder/gone.csv", "report.html"], "smoke")
    moved: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(pipeline.os, "replace", lambda a, b: (moved.append(Path(b).name), real_replace(a, b)))
    pipeline.publish(staging, out, profile="smoke", full=True)
    assert [m for m in moved if not m.startswith(".")][-1] == "report.html"
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["new.png", "users.png"]
    assert not (out / "old_folder").exists()  # emptied by the stale file's removal
    assert (out / "z.pdf").read_text() == "z.pdf"
    assert pipeline_marker(out) == ["a.csv", "figures/new.png", "notebooks/01.ipynb", "report.html",
                                    "results.json", "z.pdf"]


def test_a_report_folder_must_be_new_empty_or_an_earlier_report(tmp_path):
    nbs, runs = tmp_path / "nbs", tmp_path / "runs"
    nbs.mkdir()
    check = lambda folder: pipeline.check_report_folder(folder, nbs, runs)  # noqa: E731
    assert check(tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    check(tmp_path / "empty")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputPathError, match="is not empty and holds no earlier report"):
        check(tmp_path / "mine")
    pipeline.write_marker(tmp_path / "mine", [], "quick")
    check(tmp_path / "mine")  # marked: an earlier report, whose unlisted files publishing leaves alone
    (tmp_path / "mine" / paths.REPORT_MARKER).write_text("not a marker")
    with pytest.raises(OutputPathError, match="not a report marker this project wrote"):
        check(tmp_path / "mine")
    for folder, message in ((Path("/"), "file system's root"), (Path.home(), "home folder"),
                            (paths.ROOT, "checkout's root"),
                            (paths.ROOT.parent, "holds the checkout|home folder|file system's root"),
                            (paths.NOTEBOOKS_DIR, "notebook sources"), (runs / "smoke", "runs folder")):
        with pytest.raises(OutputPathError, match=message):
            check(folder)


def test_kernel_environment_is_restored(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    monkeypatch.setenv("PYTHONWARNINGS", "default")
    with pipeline.kernel_environment():
        assert os.environ["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
        assert os.environ["TQDM_MININTERVAL"] == "30"
        assert os.environ["PYTHONWARNINGS"] == "default,ignore:IProgress not found"
    assert os.environ["MPLBACKEND"] == "Agg" and "TQDM_MININTERVAL" not in os.environ
    assert os.environ["PYTHONWARNINGS"] == "default"


@pytest.mark.parametrize("where", ["a file", "inside a file"])
def test_an_unwritable_output_dir_is_refused_before_anything_is_deleted(tmp_path, capsys, where):
    nbs, runs = tmp_path / "nbs", tmp_path / "runs"
    nbs.mkdir()
    write_notebook(nbs, "01_fine", 'profile = "quick"', f"open({str(tmp_path / 'ran')!r}, 'w').close()")
    for sub in ("figures", "results"):  # an earlier run's outputs
        (runs / sub).mkdir(parents=True)
        (runs / sub / "kept.txt").write_text(sub)
    blocker = tmp_path / "report.txt"
    blocker.write_text("not a folder")
    out = blocker if where == "a file" else blocker / "report"
    assert run(nbs, out, runs, "--profile", "smoke") == 2
    err = capsys.readouterr().err
    assert err.startswith("run_all: error: --output-dir") and "not a folder" in err, err
    assert err.count("\n") == 1
    assert (runs / "figures" / "kept.txt").read_text() == "figures"
    assert (runs / "results" / "kept.txt").read_text() == "results"
    assert blocker.read_text() == "not a folder" and not (tmp_path / "ran").exists()


def test_a_second_run_of_the_profile_is_refused_naming_the_first(tmp_path, capsys):
    nbs, runs = tmp_path / "nbs", tmp_path / "runs"
    nbs.mkdir()
    write_notebook(nbs, "01_fine", 'profile = "quick"', f"open({str(tmp_path / 'ran')!r}, 'w').close()")
    for sub in ("figures", "results"):  # the first run's outputs, which the second must not clear
        (runs / sub).mkdir(parents=True)
        (runs / sub / "kept.txt").write_text(sub)
    with pipeline.profile_lock(runs):
        assert run(nbs, tmp_path / "out", runs) == 2
    err = capsys.readouterr().err
    assert f"another run_all.py is running this profile (pid {os.getpid()} on {socket.gethostname()}" in err
    assert err.count("\n") == 1
    assert (runs / "figures" / "kept.txt").read_text() == "figures" and not (tmp_path / "ran").exists()
    assert not (runs / paths.RUN_LOCK).exists()  # released when its holder ended


def test_a_lock_left_by_a_dead_run_is_taken_over_saying_so(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    dead = {"pid": 2**22 + 4321, "host": socket.gethostname(), "started": "2020-01-01T00:00:00+00:00"}
    (runs / paths.RUN_LOCK).write_text(json.dumps(dead))  # its process died: nothing holds the lock
    said: list[str] = []
    with pipeline.profile_lock(runs, say=said.append):
        held = json.loads((runs / paths.RUN_LOCK).read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
    assert len(said) == 1 and f"pid {dead['pid']}" in said[0] and "no longer running" in said[0]
    assert not (runs / paths.RUN_LOCK).exists()


def test_a_notebook_stopped_by_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs, "01_data", 'profile = "quick"',
                   "from convlstm_lib.errors import CourseDataError\n"
                   "raise CourseDataError('data/train_data_n6.csv: row 3, column 7: value 1e+308 is far '\n"
                   "                      'outside')")
    assert run(nbs, tmp_path / "out", tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert err == ("run_all: error: notebook 01_data.py: CourseDataError: data/train_data_n6.csv: row 3, "
                   "column 7: value 1e+308 is far outside\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a real run_all.py process and its kernel
def test_sigterm_removes_the_staging_folder_and_the_lock(tmp_path):
    nbs, out, runs = tmp_path / "nbs", tmp_path / "out", tmp_path / "runs"
    nbs.mkdir()
    started = tmp_path / "started"
    write_notebook(nbs, "01_slow", 'profile = "quick"',
                   f"import time\nopen({str(started)!r}, 'w').close()\ntime.sleep(120)")
    script = ("import sys, run_all; from pathlib import Path; "
              f"sys.exit(run_all.main(sys.argv[1:], runs_dir=Path({str(runs)!r})))")
    argv = ["--output-dir", str(out), "--notebooks-dir", str(nbs), "--quiet", "--no-pdf"]
    proc = subprocess.Popen([sys.executable, "-c", script, *argv], cwd=paths.ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert started.exists(), proc.communicate(timeout=30)
        assert [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # the staging folder, mid-run
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err == "run_all: terminated (SIGTERM); nothing was published\n"
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert not (runs / paths.RUN_LOCK).exists() and not out.exists()


def test_an_unwritable_data_folder_is_refused_before_any_notebook_runs(tmp_path, monkeypatch, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs, "01_fine", 'profile = "quick"', f"open({str(tmp_path / 'ran')!r}, 'w').close()")
    (tmp_path / "data").write_text("a file where the data folder goes")
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "GENERATED_DIR", tmp_path / "data" / "generated")
    assert run(nbs, tmp_path / "out", tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert err.startswith("run_all: error: the generated data's folder") and "data is a file" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "ran").exists() and not (tmp_path / "out").exists()
