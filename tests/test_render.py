"""The report renderer (convlstm_lib/report/render.py) on hand-made executed notebooks: no code,
typeset maths, tags, one document with a table of contents, stderr left out, the PDF."""

from __future__ import annotations

import re
import shutil
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from convlstm_lib.report import render
from convlstm_lib.report.assemble import ReportStamp
from convlstm_lib.report.render import render_html, tex_to_mathml, write_html, write_pdf

# A real 2x1 PNG (red, blue), so the PDF engine has to decode it.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEElEQVR4nGP4z8DAwPCfAQAP+gH/1EqI5QAAAABJRU5ErkJggg=="
)
STAMP = ReportStamp(
    commit="0123abcd-dirty",
    profile="smoke",
    seed=7,
    date="2025-01-13T12:00:00+00:00",
    runtime_s=75.2,
    device="cpu (2 threads)",
)
EQUATION = r"""$$\begin{aligned}
i_t &= \sigma(W_{xi} * \mathcal{X}_t + W_{ci} \odot \mathcal{C}_{t-1} + b_i) \\
\mathcal{C}_t &= f_t \odot \mathcal{C}_{t-1}
  + i_t \odot \tanh(W_{xc} * \mathcal{X}_t + b_c) \\
\mathcal{H}_t &= o_t \odot \tanh(\mathcal{C}_t)
\end{aligned}$$"""


def executed_notebook(title: str = "Data") -> nbformat.NotebookNode:
    """What papermill leaves behind: markdown, parameters + injected cells, outputs of every kind."""
    params = new_code_cell("profile = 'quick'\nseed = 0", metadata={"tags": ["parameters"]})
    injected = new_code_cell("# Parameters\nprofile = 'smoke'\n", metadata={"tags": ["injected-parameters"]})
    plot = new_code_cell(
        "secret_plot_code(x)",
        outputs=[
            new_output("stream", name="stdout", text="hello "),
            new_output("stream", name="stdout", text="world\n"),
            new_output(
                "stream", name="stderr", text="bar:   0%|          | 0/3\rbar: 100%|##########| 3/3\n"
            ),
            new_output("display_data", data={"image/png": PNG_B64, "text/plain": "<Figure size 2x1>"}),
        ],
    )
    table = new_code_cell(
        "table1_frame",
        outputs=[
            new_output(
                "execute_result",
                execution_count=4,
                data={
                    "text/html": "<table><caption>Table 1</caption><tr><td>3.69e-06</td></tr></table>",
                    "text/plain": "  mse\n0 3.69e-06",
                },
            )
        ],
    )
    hidden = new_code_cell(
        "removed_entirely()",
        metadata={"tags": ["remove-cell"]},
        outputs=[new_output("stream", name="stdout", text="never shown\n")],
    )
    quiet = new_code_cell(
        "no_output_shown()",
        metadata={"tags": ["remove-output"]},
        outputs=[new_output("stream", name="stdout", text="also never shown\n")],
    )
    return new_notebook(
        cells=[
            new_markdown_cell(
                f"# {title}\n\nThe *story*, with weights \\(W_{{ci}}, W_{{cf}}\\) and $x_t$:\n\n"
                f"{EQUATION}\n\n| a | b |\n|---|---|\n| 1 | 2 |"
            ),
            params,
            injected,
            new_markdown_cell("## Summary\n\nText."),
            plot,
            table,
            hidden,
            quiet,
        ]
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_html(
        [executed_notebook("Data"), executed_notebook("Results")],
        title="A report",
        stamp=STAMP.rows(),
        front='<p id="front">FRONT</p>',
        back='<section><h1 id="beside-the-paper">Beside the paper</h1></section>',
    )


def test_document_order_stamp_and_contents(page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>A report</title>" in page
    assert "<th>profile</th><td>smoke</td>" in page and "<th>wall time</th><td>1 min 15 s</td>" in page
    # title + stamp + front matter, then the contents, then the notebooks in order, then the back
    order = [
        page.index(s)
        for s in ('id="front"', 'id="contents"', ">Data</h1>", ">Results</h1>", 'id="beside-the-paper"')
    ]
    assert order == sorted(order)
    toc = page[page.index('<nav class="toc">') : page.index("</nav>")]
    assert re.findall(r'href="#([^"]+)"', toc) == [
        "data",
        "summary-2",
        "results",
        "summary-3",
        "beside-the-paper",
    ]
    ids = re.findall(r'<h[1-6] id="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # unique across notebooks


def test_no_code_no_stderr_tags_honoured(page):
    for hidden in ("secret_plot_code", "table1_frame", "profile = 'smoke'", "never shown", "bar:", "100%|"):
        assert hidden not in page
    assert "hello world" in page and "3.69e-06" in page
    assert page.count('src="data:image/png;base64,') == 2


def test_maths_is_mathml_with_nothing_left_as_tex(page):
    text = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    assert len(re.findall(r'<math [^>]*display="block"', text)) == 2
    assert "<mtable" in text  # the aligned lines are a table, aligned at '='
    for tex in ("$$", r"\begin", r"\mathcal", r"\(", "W_{ci}", "$x_t$"):
        assert tex not in text, tex
    # an equation line starting with '+' stays in the equation: no bullet list was made of it
    assert "<ul>" not in text and "<li>" not in text.split("</nav>", 1)[1]
    assert "mathjax" not in page.lower() and "cdn" not in page.lower() and "<script" not in page


def test_tex_to_mathml_handles_equation_2_environment():
    out = tex_to_mathml(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "block")
    assert out.count("<mtr>") == 2 and 'display="block"' in out


def test_html_is_written_atomically(tmp_path):
    target = write_html("<html></html>", tmp_path / "r.html")
    assert target.read_text() == "<html></html>" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


@pytest.mark.skipif(render.find_chromium() is None, reason="no Chromium on PATH (apt-get install chromium)")
def test_pdf_from_the_same_html(tmp_path, page):
    html_file = write_html(page, tmp_path / "report.html")
    pdf = write_pdf(html_file, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "hello world" in text and "Beside the paper" in text
        assert "secret_plot_code" not in text and "begin{" not in text
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["report.html", "report.pdf"]  # no temp left


def test_without_chromium_the_pdf_is_skipped_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(render, "find_chromium", lambda: None)
    assert write_pdf(tmp_path / "report.html", tmp_path / "report.pdf") is None
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "apt-get install chromium" in out[0]
    assert not (tmp_path / "report.pdf").exists()


def test_a_browser_that_writes_no_pdf_is_an_error_naming_it(tmp_path, monkeypatch):
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'cannot print' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setattr(render, "find_chromium", lambda: str(fake))
    (tmp_path / "report.html").write_text("<html></html>")
    with pytest.raises(render.PdfFailed, match=r"fake-chromium: no PDF .*exit 3: cannot print"):
        write_pdf(tmp_path / "report.html", tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def _tall_png(width: int = 700, height: int = 1100) -> str:
    """A PNG as wide as an A4 page's text block and taller than it (Figure 5 of the quick report)."""
    import base64
    import io

    import matplotlib.image
    import numpy as np

    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, np.linspace(0, 1, width * height).reshape(height, width), format="png")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.skipif(render.find_chromium() is None or shutil.which("pdfimages") is None,
                    reason="needs Chromium and pdfimages (apt-get install chromium poppler-utils)")
def test_a_figure_taller_than_the_page_is_printed_whole_on_one_page_with_no_blank_page(tmp_path):
    figure = new_code_cell("fig", outputs=[new_output("display_data", data={"image/png": _tall_png()})])
    nb = new_notebook(cells=[new_markdown_cell("# Tall\n\n" + "Some text. " * 200), figure,
                             new_markdown_cell("After the figure.")])
    html_file = write_html(render_html([nb], title="Tall"), tmp_path / "report.html")
    pdf = write_pdf(html_file, tmp_path / "report.pdf")
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    pages_of_image = {int(line.split()[0]) for line in listing.stdout.splitlines()[2:]}
    assert len(pages_of_image) == 1, f"the figure is drawn on pages {sorted(pages_of_image)}"
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    blank = [i for i, t in enumerate(pages.split("\f")[:-1], 1) if i not in pages_of_image and not t.split()]
    assert not blank, f"blank page(s) {blank}"
