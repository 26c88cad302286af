"""The real notebooks: parameters cells, pairing with .ipynb, and the smoke profile end to end (slow).

Static checks run on every `notebooks/NN_*.py` there is; the pipeline's five notebooks are
expected by number, so a missing one fails by name instead of being silently skipped.
"""
from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

import run_all  # the repository root is on pytest's pythonpath (pyproject.toml)
from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.report import count_pdf_pages

EXPECTED = {
    "01": "data exploration", "02": "pre-processing and PCA", "03": "sweep", "04": "results",
    "05": "robustness", "06": "beyond the paper",
}
NOTEBOOKS = run_all.discover_notebooks(paths.NOTEBOOKS_DIR)


def _missing() -> list[str]:
    present = {p.name[:2] for p in NOTEBOOKS}
    return [f"{n}_* ({what})" for n, what in EXPECTED.items() if n not in present]


def test_the_pipelines_notebooks_exist():
    assert not _missing(), f"notebooks/ lacks {', '.join(_missing())}"


def _code_cells_after_parameters(nb: nbformat.NotebookNode) -> list[str]:
    cells = [c for c in nb.cells if c.cell_type == "code"]
    start = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    return [c.source for c in cells[start + 1:]]


def _as_json(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_quick_profile_literals(path):
    spec = run_all.load_notebook(path)  # raises for a key that is no ProfileConfig field or a non-literal
    assert {"profile", "seed"} <= set(spec.parameters), f"{path.name}: parameters cell needs profile and seed"
    quick = get_profile("quick").to_dict()
    wrong = {k: v for k, v in spec.parameters.items() if _as_json(v) != _as_json(quick[k])}
    assert not wrong, f"{path.name}: parameters cell values differ from the quick profile: {wrong}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_config_is_built_from_every_parameter(path):
    """`cfg = get_profile(profile, seed=seed, ...)` follows, passing on every other parameter."""
    spec = run_all.load_notebook(path)
    calls = []
    for source in _code_cells_after_parameters(spec.notebook):
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics: not where the config is built
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            func = node.value.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "get_profile" and any(getattr(t, "id", None) == "cfg" for t in node.targets):
                calls.append(node.value)
    assert calls, f"{path.name}: no `cfg = get_profile(profile, ...)` after the parameters cell"
    call = calls[0]
    first = getattr(call.args[0], "id", None) if call.args else None
    assert first == "profile", f"{path.name}: call get_profile(profile, ...) first"
    passed = {kw.arg: getattr(kw.value, "id", None) for kw in call.keywords}
    missing = [k for k in spec.parameters if k != "profile" and passed.get(k) != k]
    assert not missing, f"{path.name}: get_profile(...) does not pass on {missing} (write `name=name`)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_jupytext_header_and_paths(path):
    nb = jupytext.read(path)
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", f"{path.name}: formats"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec name"
    assert "../data" not in path.read_text(), f"{path.name}: use convlstm_lib.paths, not ../data"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_ipynb_has_no_outputs_and_the_same_cells(path):
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.is_file(), f"{ipynb.name} missing: run `.venv/bin/jupytext --to ipynb {path}`"
    paired = nbformat.read(ipynb, as_version=4)
    for i, cell in enumerate(paired.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{ipynb.name}: cell {i + 1} ran"

    def cells(nb):
        return [(c.cell_type, c.source, sorted(c.metadata.get("tags", []))) for c in nb.cells]

    assert cells(paired) == cells(jupytext.read(path)), f"{ipynb.name} differs from {path.name}: re-pair it"


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.mark.slow
def test_smoke_profile_end_to_end(tmp_path):
    assert not _missing(), f"the smoke run needs every notebook; notebooks/ lacks {', '.join(_missing())}"
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, str(paths.ROOT / "run_all.py"), "--profile", "smoke", "--output-dir", str(out)],
        cwd=paths.ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"run_all failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"

    results = json.loads((out / "results.json").read_text())
    assert results["profile"] == "smoke" and results["seed"] == get_profile("smoke").seed
    assert results["commit"] and _number(results["runtime_s"])
    # (its wall time is recorded, not asserted: CI machines are shared; README gives measured times)
    for key in ("table1", "best", "baselines", "robustness", "models"):
        assert key in results, f"results.json lacks {key!r} (runs/smoke/results/{key}.json)"
    best = results["best"]
    assert _number(best["n6_test_mse"]) and _number(best["n3_mse"])
    checkpoint = Path(best["checkpoint"])
    assert (checkpoint if checkpoint.is_absolute() else paths.ROOT / checkpoint).is_file()
    smoke_models = get_profile("smoke").models
    assert set(results["models"]) == set(smoke_models)  # every model kind the sweep tried, by name
    for entry in filter(None, results["models"].values()):
        assert _number(entry["n6_test_mse"]) and entry["params"] > 0 and _number(entry["seconds_per_epoch"])
    copy_last = results["baselines"]["copy_last"]
    assert _number(copy_last["n6_test_mse"]) and _number(copy_last["n3_mse"])

    executed = sorted(p.stem for p in (out / "notebooks").glob("*.ipynb"))
    assert executed == [p.stem for p in NOTEBOOKS]
    html = (out / "report.html").read_text()
    assert "Table 1" in html
    figures = sorted((out / "figures").iterdir())
    assert figures, "no figures were saved"
    assert {p.stem for p in figures if p.suffix == ".png"} == {p.stem for p in figures if p.suffix == ".svg"}
    not_in_html = [p.name for p in figures if f"figures/{p.name}" not in html]
    assert not not_in_html, f"report.html does not reference {not_in_html}"
    assert html.count('src="data:image/png;base64,') >= 1  # figures shown inline, not only linked
    assert count_pdf_pages(out / "report.pdf") >= 1
