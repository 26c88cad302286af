"""The progress bar every stage draws: tqdm.auto's choice, or text bars where PROGRESS_ENV says so."""
from __future__ import annotations

import nbclient
import nbformat
import tqdm.auto
import tqdm.std

from convlstm_lib import progress
from convlstm_lib.progress import PROGRESS_ENV, TEXT
from convlstm_lib.report import pipeline

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def test_text_when_the_environment_says_so_else_tqdm_auto():
    assert progress.bar_class({PROGRESS_ENV: TEXT}) is tqdm.std.tqdm
    assert progress.bar_class({PROGRESS_ENV: " Text "}) is tqdm.std.tqdm
    assert progress.bar_class({}) is tqdm.auto.tqdm
    assert progress.bar_class({PROGRESS_ENV: ""}) is tqdm.auto.tqdm


def test_the_reports_kernels_draw_text_bars():
    assert pipeline.KERNEL_ENV[PROGRESS_ENV] == TEXT


def test_in_a_kernel_a_widget_bar_unless_the_environment_asks_for_text():
    """One library bar drawn in a real kernel, first with PROGRESS_ENV unset, then set to text."""
    draw = "from convlstm_lib.progress import bar_class\nfor _ in bar_class()(range(3)): pass"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import os\nos.environ.pop({PROGRESS_ENV!r}, None)\n{draw}"),
        nbformat.v4.new_code_cell(f"os.environ[{PROGRESS_ENV!r}] = {TEXT!r}\n{draw}"),
    ])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    widget, text = nb.cells[0].outputs, nb.cells[1].outputs
    assert any(WIDGET_MIME in o.get("data", {}) for o in widget), widget
    assert text and all(o.get("name") == "stderr" for o in text), text
    assert "3/3" in "".join(o["text"] for o in text)
