"""How a notebook meets its user (convlstm_lib.report.notebook): the profile, one-line errors, what to run
first, and the JupyterLab command. The notebooks in a real browser: tests/test_lab.py."""
from __future__ import annotations

import argparse
import os
import re
import socket

import jupytext
import nbformat
import pytest

from convlstm_lib import paths
from convlstm_lib.data.datasets import INFO_NAME, NPZ_NAME
from convlstm_lib.report import notebook
from convlstm_lib.report.notebook import PROFILE_ENV, NotebookSetupError, NotRunYet

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))


# --------------------------------------------------------------------------- the profile


def test_the_parameters_cell_decides_unless_the_environment_names_a_profile():
    assert notebook.resolve_profile("quick", {}) == "quick"
    assert notebook.resolve_profile("quick", {PROFILE_ENV: ""}) == "quick"  # run_all's kernels
    assert notebook.resolve_profile("quick", {PROFILE_ENV: "smoke"}) == "smoke"  # make lab PROFILE=smoke


def test_an_unknown_profile_in_the_environment_is_one_line_naming_the_variable():
    with pytest.raises(NotebookSetupError) as caught:
        notebook.resolve_profile("quick", {PROFILE_ENV: "smoek"})
    message = str(caught.value)
    assert "\n" not in message and PROFILE_ENV in message and "'smoek'" in message and "smoke" in message


def test_start_says_when_the_environment_overrides_the_parameters_cell(capsys):
    assert notebook.start("quick", environ={PROFILE_ENV: "smoke"}) == "smoke"
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "'smoke'" in said[0] and "'quick'" in said[0]
    assert notebook.start("quick", environ={}) == "quick"
    assert capsys.readouterr().out == ""  # nothing to say when the parameters cell decides


# --------------------------------------------------------------------------- what to run first


def _write(files):
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_a_fresh_clone_names_every_notebook_to_run_first_in_order(project_dirs):
    with pytest.raises(NotRunYet) as caught:
        notebook.check_prerequisites("smoke", "04")
    message = str(caught.value)
    assert "\n" not in message
    assert "notebooks 02, 03 and 04 first" in message and "'smoke'" in message and "make smoke" in message
    assert str(paths.processed_dir("smoke") / NPZ_NAME) in message  # the first missing file, by its path


def test_only_the_notebooks_whose_output_is_missing_are_named(project_dirs):
    _write([paths.processed_dir("quick") / NPZ_NAME, paths.processed_dir("quick") / INFO_NAME])
    in_order = r"run notebooks 03 and 04 first, in that order, with profile 'quick'"
    with pytest.raises(NotRunYet, match=in_order):
        notebook.check_prerequisites("quick", "04")
    with pytest.raises(NotRunYet, match=r"run notebook 03 first with profile 'quick'.*`make report`"):
        notebook.check_prerequisites("quick", "03")
    notebook.check_prerequisites("quick", "02")  # 02's output is there
    _write(notebook.WRITES["03"]("quick") + notebook.WRITES["04"]("quick"))
    notebook.check_prerequisites("quick", "04")
    with pytest.raises(NotRunYet, match="notebooks 02, 03 and 04"):  # per profile
        notebook.check_prerequisites("paper", "04")


def test_one_missing_file_of_a_notebook_counts_as_not_run(project_dirs):
    _write([paths.processed_dir("smoke") / NPZ_NAME])  # the cache without its info file
    with pytest.raises(NotRunYet, match=re.escape(INFO_NAME)):
        notebook.check_prerequisites("smoke", "02")


def test_after_must_name_a_notebook_that_writes_for_later_ones():
    with pytest.raises(NotebookSetupError, match="after='05'"):
        notebook.check_prerequisites("smoke", "05")


def test_the_pipeline_command_per_profile():
    assert notebook.pipeline_command("smoke") == "make smoke"
    assert notebook.pipeline_command("quick") == "make report"
    assert notebook.pipeline_command("paper") == "make report PROFILE=paper"


# --------------------------------------------------------------------------- the notebooks' start cell


def _start_cell(path) -> tuple[list, int]:
    """(the notebook's cells, the index of its start cell: the one right after the parameters cell)."""
    cells = jupytext.read(path).cells
    params = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    return cells, params + 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_starts_right_after_its_parameters_cell(path):
    cells, start = _start_cell(path)
    assert cells[start].cell_type == "code" and "notebook.start(profile" in cells[start].source, (
        f"{path.name}: the cell after the parameters cell must call notebook.start(profile, ...)")
    assert "remove-cell" in cells[start].metadata.get("tags", []), f"{path.name}: keep it out of the report"


# A kernel of this interpreter on a fresh clone: data/ and runs/ redirected to an empty folder.
_FRESH_CLONE = """
import os
from pathlib import Path
from convlstm_lib import paths
root = Path({root!r})
paths.DATA_DIR, paths.GENERATED_DIR = root / "data", root / "data" / "generated"
paths.PROCESSED_DIR, paths.RUNS_DIR = root / "data" / "processed", root / "runs"
os.environ.pop({env!r}, None)
"""


def test_on_a_fresh_clone_03_to_06_stop_at_their_start_cell_with_one_line_and_01_02_go_on(tmp_path):
    """Each notebook's own parameters and start cells, run in a real IPython kernel."""
    import nbclient

    cells = [nbformat.v4.new_code_cell(_FRESH_CLONE.format(root=str(tmp_path), env=PROFILE_ENV))]
    where = {}
    for path in NOTEBOOKS:
        nb_cells, start = _start_cell(path)
        cells += [nbformat.v4.new_code_cell(nb_cells[start - 1].source),
                  nbformat.v4.new_code_cell(nb_cells[start].source)]
        where[path.name[:2]] = len(cells) - 1
    nb = nbformat.v4.new_notebook(cells=cells)
    client = nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                                     resources={"metadata": {"path": str(paths.NOTEBOOKS_DIR)}})
    client.execute()
    for number, index in where.items():
        outputs = nb.cells[index].outputs
        if number in ("01", "02"):
            assert outputs == [], f"notebook {number} on a fresh clone: {outputs}"
            continue
        assert [o.output_type for o in outputs] == ["error"], f"notebook {number}: {outputs}"
        error = outputs[0]
        assert error.ename == "NotRunYet" and len(error.traceback) == 1, f"notebook {number}: a traceback"
        assert "\n" not in error.traceback[0]
        assert re.match(r"NotRunYet: run notebooks? 02\b.* first", error.traceback[0]), error.traceback[0]
        assert "make report" in error.traceback[0]  # the parameters cells say quick


def test_one_line_errors_leave_other_exceptions_their_traceback(tmp_path):
    import nbclient

    source = ("from convlstm_lib.report import notebook\nnotebook.one_line_errors()\n"
              "from convlstm_lib.errors import CourseDataError\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(source),
        nbformat.v4.new_code_cell("raise CourseDataError('data/x.csv: row 3: 1295 values, expected 1296')"),
        nbformat.v4.new_code_cell("raise KeyError('a bug')"),
    ])
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
    user_error, bug = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in user_error] == ["error"]
    assert user_error[0].traceback == ["CourseDataError: data/x.csv: row 3: 1295 values, expected 1296"]
    assert len(bug[0].traceback) > 1  # a programming error keeps its traceback


# --------------------------------------------------------------------------- JupyterLab


def test_the_lab_command_runs_the_profile_with_the_projects_config():
    shell = {"JUPYTER_CONFIG_PATH": "/mine", "MPLBACKEND": "Agg", "HOME": "/h"}
    argv, env = notebook.lab_command("smoke", 9999, ["--no-browser"], environ=shell)
    assert argv[1:3] == ["-m", "jupyterlab"] and "--port=9999" in argv and argv[-1] == "--no-browser"
    assert f"--ServerApp.root_dir={paths.ROOT}" in argv
    assert env[PROFILE_ENV] == "smoke" and env["HOME"] == "/h"
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(notebook.LAB_CONFIG_DIR), "/mine"]
    assert "MPLBACKEND" not in env  # figures inline, whatever the shell set
    assert (notebook.LAB_CONFIG_DIR / "labconfig" / "default_setting_overrides.json").is_file()
    with pytest.raises(NotebookSetupError, match="--profile"):
        notebook.lab_command("smoek", 9999)


def _executed_model() -> dict:
    result = nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("1 + 1", id="c1", execution_count=3, outputs=[result])])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata.update(language_info={"name": "python", "version": "3.11.7"}, widgets={"state": {}},
                       kernelspec={"name": "python3"})
    return {"type": "notebook", "content": nbformat.from_dict(nb)}


def test_saving_a_numbered_notebook_writes_no_outputs_nor_session_metadata():
    model = _executed_model()
    notebook.strip_before_save(model, "notebooks/04_results.ipynb", contents_manager=None)
    cell, metadata = model["content"].cells[0], model["content"].metadata
    assert cell.outputs == [] and cell.execution_count is None and cell.metadata["tags"] == ["parameters"]
    assert set(metadata) == {"kernelspec"}
    for path in ("notebooks/scratch.ipynb", "elsewhere/04_results.ipynb"):  # the user's own notebooks
        kept = _executed_model()
        notebook.strip_before_save(kept, path)
        assert kept == _executed_model(), path
    text = {"type": "file", "content": "x = 1\n"}
    notebook.strip_before_save(text, "notebooks/04_results.py")
    assert text == {"type": "file", "content": "x = 1\n"}


def test_the_projects_jupyter_config_names_the_hook():
    import json

    from traitlets.utils.importstring import import_item

    config = json.loads((notebook.LAB_CONFIG_DIR / "jupyter_server_config.json").read_text())
    assert import_item(config["ContentsManager"]["pre_save_hook"]) is notebook.strip_before_save


@pytest.fixture
def taken_port():
    with socket.socket() as s:
        s.bind((socket.gethostbyname(notebook.LAB_HOST), 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_taken_port_gives_the_next_free_one_and_one_line(taken_port, monkeypatch, capsys):
    started = {}
    monkeypatch.setattr(notebook.os, "execve", lambda exe, argv, env: started.update(argv=argv, env=env))
    parser = argparse.ArgumentParser()
    notebook.add_arguments(parser)
    notebook.run(parser.parse_args(["--profile", "smoke", "--port", str(taken_port), "--", "--no-browser"]))
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith(f"port {taken_port} is taken: JupyterLab starts on port ")
    port = int(said[0].rsplit(" ", 1)[1])
    assert port != taken_port and f"--port={port}" in started["argv"]
    assert started["argv"][-1] == "--no-browser" and started["env"][PROFILE_ENV] == "smoke"


def test_no_free_port_is_one_line_and_exit_2(taken_port, run_cli):
    with pytest.raises(notebook.LabPortError, match=f"ports {taken_port}-{taken_port} .* all taken"):
        notebook.free_port(taken_port, tries=1)
    result = run_cli("lab", "--port", "70000")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--port: 70000" in result.stderr
