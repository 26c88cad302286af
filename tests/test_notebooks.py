"""The real notebooks: parameters cells, pairing with .ipynb, and the smoke profile end to end (slow).

Static checks run on every `notebooks/NN_*.py` there is; the pipeline's five notebooks are
expected by number, so a missing one fails by name instead of being silently skipped.
"""
from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from html import unescape
from pathlib import Path

import jupytext
import nbformat
import pytest
from test_layout import OUTSIDE  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.report import pipeline

REPORT_CHECK_NAME = "shared/tools/report_check.py"
REPORT_CHECK = next((p / REPORT_CHECK_NAME for p in paths.ROOT.parents if (p / REPORT_CHECK_NAME).is_file()),
                    paths.ROOT.parent / REPORT_CHECK_NAME)

EXPECTED = {
    "01": "data exploration", "02": "pre-processing and PCA", "03": "sweep", "04": "results",
    "05": "robustness", "06": "beyond the paper",
}
NOTEBOOKS = pipeline.discover_notebooks(paths.NOTEBOOKS_DIR)


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
    spec = pipeline.load_notebook(path)  # raises for a key that is no ProfileConfig field or a non-literal
    assert {"profile", "seed"} <= set(spec.parameters), f"{path.name}: parameters cell needs profile and seed"
    quick = get_profile("quick").to_dict()
    wrong = {k: v for k, v in spec.parameters.items() if _as_json(v) != _as_json(quick[k])}
    assert not wrong, f"{path.name}: parameters cell values differ from the quick profile: {wrong}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_without_a_warning(path, caplog):
    """papermill's own parser (what `papermill --help-notebook` and its injection read) finds every
    parameter; an `=` inside a trailing comment makes it skip the line with a warning."""
    from papermill.translators import PythonTranslator

    spec = pipeline.load_notebook(path)
    cell = next(c for c in spec.notebook.cells if "parameters" in c.metadata.get("tags", []))
    with caplog.at_level("WARNING", logger="papermill"):
        found = [p.name for p in PythonTranslator.inspect(cell)]
    assert not caplog.records, f"{path.name}: papermill: {[r.getMessage() for r in caplog.records]}"
    assert found == list(spec.parameters), f"{path.name}: papermill reads {found}"


def test_papermills_parser_does_warn_on_an_equals_sign_in_a_comment(caplog):
    from papermill.translators import PythonTranslator

    cell = nbformat.v4.new_code_cell("profile = 'quick'\nbudget = 0.0  # 0 = the profile's\n")
    with caplog.at_level("WARNING", logger="papermill"):
        found = [p.name for p in PythonTranslator.inspect(cell)]
    assert found == ["profile"] and caplog.records


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_config_is_built_from_every_parameter(path):
    """`cfg = get_profile(profile, seed=seed, ...)` follows, passing on every other parameter."""
    spec = pipeline.load_notebook(path)
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


def _cells(path: Path) -> list[tuple[str, list[str]]]:
    """(cell type, its non-blank lines) of every cell of a notebook's .py after the jupytext header."""
    cells = jupytext.read(path).cells
    return [(c.cell_type, [ln for ln in c.source.splitlines() if ln.strip()]) for c in cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_tells_more_than_it_computes(path):
    """Its code calls the library and shows what it returns: no more code lines than prose lines."""
    cells = _cells(path)
    code = sum(len(lines) for kind, lines in cells if kind == "code")
    prose = sum(len(lines) for kind, lines in cells if kind == "markdown")
    assert code <= prose, f"{path.name}: {code} non-blank code lines against {prose} of prose"


# A number in a notebook's prose is typed by hand unless it names something: the paper's and this
# project's numbered parts, the paper's sections, frames by their place in a sequence, the data
# sets N6 and N3, the two intensity scales, and the notebook's own number in its title. Numbers
# in code spans and in TeX are not prose. Every other number comes from `report.text`.
NAMES = (
    r"`[^`]*`",  # code
    r"\$\$.*?\$\$|\$[^$]*\$",  # TeX
    r"\b(?:Figures?|Tables?|Equations?|notebooks?)\s+\d+[ab]?(?:(?:\s*(?:-|,|and|or)\s*)\d+[ab]?)*",
    r"§\d+(?:\.\d+)?",
    r"\bframes?(?:\s+|-)\d+(?:(?:\s*(?:-|->|,|and|or|to)\s*)\d+)*",
    r"\bN[36]\b",
    r"\[0, 1\]|\b0-255\b",
    r"^#\s+\d\d\s+·",
)


def typed_numbers(markdown: str) -> list[str]:
    """The numbers left in `markdown` once every name of `NAMES` is taken out."""
    text = markdown
    for pattern in NAMES:
        text = re.sub(pattern, " ", text, flags=re.S | re.M)
    return re.findall(r"[^\s]*\d[^\s]*", text)


def test_typed_numbers_finds_a_measurement_and_spares_the_names():
    names = ("# 04 · Results\nFigure 6 and Table 1 (§3.3): frames 4 and 16 of N6, `cfg.epochs = 3`, "
             "$W_{t-1}$ on the [0, 1] scale, Figures 7a and 7b, notebooks 03 and 04.")
    assert typed_numbers(names) == []
    found = typed_numbers("The floor is 0.35 x copy-last (44 %), 6.8 px, 200 trials, in N60.")
    assert found == ["0.35", "(44", "6.8", "200", "N60."]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_number_is_typed_by_hand_in_a_notebooks_prose(path):
    found = [(i, typed_numbers("\n".join(lines))) for i, (kind, lines) in enumerate(_cells(path), 1)
             if kind == "markdown"]
    found = [(i, numbers) for i, numbers in found if numbers]
    assert not found, f"{path.name}: numbers typed in markdown cells (cell, numbers): {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_is_written_by_the_text_module_not_built_in_the_notebook(path):
    source = path.read_text()
    assert "Markdown(f" not in source and "from IPython.display import Markdown" not in source, path.name


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def smoke_report(smoke_run) -> Path:
    """The report of `run_all.py --profile smoke`, run once for the reader-level tests: started in
    the background when collection ended (conftest.SmokeRun), waited for here."""
    assert not _missing(), f"the smoke run needs every notebook; notebooks/ lacks {', '.join(_missing())}"
    code, printed = smoke_run.wait()
    assert code == 0, f"run_all failed:\n{printed}"
    return smoke_run.report


@pytest.mark.slow
def test_smoke_profile_end_to_end(smoke_report):
    out = smoke_report
    results = json.loads((out / "results.json").read_text())
    assert results["profile"] == "smoke" and results["seed"] == get_profile("smoke").seed
    assert results["commit"] and _number(results["runtime_s"])
    # (its wall time is recorded, not asserted: CI machines are shared; README gives measured times)
    from convlstm_lib.report import results as schema

    assert schema.problems(results) == []  # every key as the schema types it
    missing = set(schema.SECTIONS) - set(results)
    assert not missing, f"results.json lacks {sorted(missing)} (runs/smoke/results/<section>.json)"
    best = results["best"]
    assert _number(best["n6_test_mse"]) and _number(best["n3_mse"])
    assert (out / Path(best["checkpoint"]).name).is_file()
    smoke_models = get_profile("smoke").models
    assert set(results["models"]) == set(smoke_models)  # every model kind the sweep tried, by name
    for entry in filter(None, results["models"].values()):
        assert _number(entry["n6_test_mse"]) and entry["params"] > 0 and _number(entry["seconds_per_epoch"])
    copy_last = results["baselines"]["copy_last"]
    assert _number(copy_last["n6_test_mse"]) and _number(copy_last["n3_mse"])
    assert set(results["loss_by_set"]) == set(get_profile("smoke").training_sets)  # all four trained
    assert len(results["seeds"]["n6_test_mse"]) == get_profile("smoke").seed_runs
    final = results["final"]  # the final model: every run recorded and saved, the average scored
    assert len(final["runs"]) == get_profile("smoke").final_runs and _number(final["n6_test_mse"])
    assert all((out / f"final_run_{k}.pt").is_file() for k in range(len(final["runs"])))

    executed = sorted(p.stem for p in (out / "notebooks").glob("*.ipynb"))
    assert executed == [p.stem for p in NOTEBOOKS]
    html = (out / "report.html").read_text()
    assert "Table 1" in html and "This reproduction beside the paper" in html
    figures = sorted((out / "figures").iterdir())
    assert figures, "no figures were saved"
    assert {p.stem for p in figures if p.suffix == ".png"} == {p.stem for p in figures if p.suffix == ".svg"}
    assert html.count('src="data:image/png;base64,') >= len([p for p in figures if p.suffix == ".png"])
    rendered = [p.name for p in [out / "report.html", *figures] if OUTSIDE.search(p.read_bytes())]
    assert not rendered, f"the report cites a document outside the repository: {rendered}"


# What a reader must never meet in the report's text (the PDF's, as pdftotext reads it).
NOISE = {
    "raw TeX": r"\\begin\{|\\mathcal|\\odot|\\sigma|\$\$|\\\(",
    "progress bar": r"\d+%\|[█▏▎▍▌▋▊▉ #]*\||it/s\]",
    "Python repr": r"\{'[a-z_]+': |<[A-Za-z_.]+ object at 0x|Statuses:",
    "NA cell": r"<NA>|\bNaN\b|\bnan\b|\bNone\b",
    "machine path": r"/(?:work|tmp|home|root|Users|private|var)/[\w.-]+/",
}


def _pdftotext(pdf: Path, *args: str) -> str:
    done = subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None,
                    reason="pdftotext not found (apt-get install poppler-utils)")
def test_the_pdf_reads_as_the_html_with_nothing_clipped_and_no_code_noise(smoke_report):
    pdf = smoke_report / "report.pdf"
    if not pdf.is_file():
        pytest.skip("no report.pdf: Chromium is not installed (apt-get install chromium)")
    html = (smoke_report / "report.html").read_text()
    text, layout = _pdftotext(pdf, "-raw"), _pdftotext(pdf, "-layout")

    def flat(s: str) -> str:
        return re.sub(r"[\s-]+", "", s).lower()

    cells = re.findall(r"<th[^>]*>(.*?)</th>", html, flags=re.S)
    headers = {re.sub(r"<[^>]+>", "", h).strip() for h in cells}
    headers = {unescape(h) for h in headers if h and not h.isdigit()}
    assert len(headers) > 20
    clipped = sorted(h for h in headers if flat(h) not in flat(text))
    assert not clipped, f"table headers of the HTML missing from the PDF: {clipped}"
    for what, pattern in NOISE.items():
        found = re.findall(pattern, layout)
        assert not found, f"{what} in the PDF text: {found[:3]}"
    first_pages = _pdftotext(pdf, "-l", "2")
    assert "Summary" in first_pages and "Best model" in first_pages


@pytest.mark.slow
def test_the_html_opens_in_a_browser_with_every_image_and_no_console_error(smoke_report, tmp_path):
    from convlstm_lib.report import render

    browser = render.find_chromium()
    if browser is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium)")
    # A copy of the page with a probe appended: it writes what the browser saw into the DOM.
    probe = (
        "<script>window.addEventListener('load', () => {"
        "const imgs = [...document.images];"
        "const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;"
        "const maths = document.querySelectorAll('math').length;"
        "document.body.setAttribute('data-probe', `${imgs.length}/${broken}/${maths}`);"
        "});</script>"
    )
    page = (smoke_report / "report.html").read_text().replace("</body>", probe + "</body>")
    copy = tmp_path / "report.html"
    copy.write_text(page)
    with tempfile.TemporaryDirectory() as profile:
        cmd = render.chromium_command(browser, profile, "--enable-logging=stderr", "--v=0",
                                      "--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"Chromium could not start here: {exc}")
    found = re.search(r'data-probe="(\d+)/(\d+)/(\d+)"', proc.stdout)
    if found is None and not proc.stdout.strip():
        pytest.skip(f"Chromium could not start here: {proc.stderr.strip().splitlines()[-1:]}")
    assert found, "the page's load event never ran"
    images, broken, maths = map(int, found.groups())
    assert images > 5 and broken == 0, f"{broken} of {images} images did not load"
    assert maths > 0  # the equations are MathML elements, not text
    console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln and "probe" not in ln]
    assert not console, f"console messages: {console[:3]}"


@pytest.mark.slow
@pytest.mark.skipif(not REPORT_CHECK.is_file(),
                    reason=f"{REPORT_CHECK} not found (the team's tools beside the clone)")
def test_the_shared_report_check_passes(smoke_report):
    if not (smoke_report / "report.pdf").is_file() or shutil.which("pdftotext") is None:
        pytest.skip("needs report.pdf (Chromium) and pdftotext (poppler-utils)")
    proc = subprocess.run([sys.executable, str(REPORT_CHECK), str(smoke_report)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
