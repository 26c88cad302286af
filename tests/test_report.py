"""The report renderer on hand-made executed notebooks: layout, hidden code, embedded images, stamp, PDF."""
from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from convlstm_lib import report
from convlstm_lib.report import ReportStamp, clean_stream_text, format_duration, merge_streams, render_html

# A real 2x1 PNG (red, blue), so the PDF renderer has to decode it.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEElEQVR4nGP4z8DAwPCfAQAP+gH/1EqI5QAAAABJRU5ErkJggg=="
)
STAMP = ReportStamp(
    commit="0123abcd-dirty", profile="smoke", seed=7, date="2025-01-13T12:00:00+00:00",
    runtime_s=75.2, device="cpu (2 threads)",
)


def executed_notebook(title: str = "Data") -> nbformat.NotebookNode:
    """What papermill leaves behind: markdown, parameters + injected cells, outputs of every kind."""
    params = new_code_cell("profile = 'quick'\nseed = 0", metadata={"tags": ["parameters"]})
    injected = new_code_cell("# Parameters\nprofile = 'smoke'\n", metadata={"tags": ["injected-parameters"]})
    plot = new_code_cell("secret_plot_code(x)", outputs=[
        new_output("stream", name="stdout", text="hello "),
        new_output("stream", name="stdout", text="world\n"),
        new_output("stream", name="stderr", text="bar:   0%|          | 0/3\rbar: 100%|##########| 3/3\n"),
        new_output("display_data", data={"image/png": PNG_B64, "text/plain": "<Figure size 2x1>"}),
    ])
    table = new_code_cell("table1_frame", outputs=[new_output(
        "execute_result", execution_count=4,
        data={"text/html": "<table><caption>Table 1</caption><tr><td>3.69e-06</td></tr></table>",
              "text/plain": "  mse\n0 3.69e-06"},
    )])
    hidden = new_code_cell("removed_entirely()", metadata={"tags": ["remove-cell"]},
                           outputs=[new_output("stream", name="stdout", text="never shown\n")])
    quiet = new_code_cell("no_output_shown()", metadata={"tags": ["remove-output"]},
                          outputs=[new_output("stream", name="stdout", text="also never shown\n")])
    return new_notebook(cells=[
        new_markdown_cell(f"# {title}\n\nThe *story*, $x_t$, a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |"),
        params, injected,
        new_markdown_cell("## Summary\n\nText."),
        plot, table, hidden, quiet,
    ])


def test_stamp_toc_and_layout():
    html = render_html([executed_notebook("Data"), executed_notebook("Pre-processing")], STAMP,
                       names=["01_data", "02_pre"])
    for label, value in STAMP.rows():
        assert f"<th>{label}</th><td>{value}</td>" in html
    assert "1 min 15 s" in html and "0123abcd-dirty" in html
    # TOC: each notebook's title, then its level-2 headings; duplicate headings get distinct ids.
    toc = re.search(r'<nav class="toc">(.*?)</nav>', html, flags=re.S).group(1)
    assert re.findall(r'href="#([^"]+)"', toc) == ["data", "summary", "pre-processing", "summary-2"]
    for anchor in ("data", "summary", "pre-processing", "summary-2"):
        assert html.count(f'id="{anchor}"') == 1
    assert html.index('id="data"') < html.index('id="pre-processing"')  # notebooks in the given order
    assert "<em>story</em>" in html and "<td>1</td>" in html  # markdown rendered, tables included


def test_code_hidden_outputs_shown():
    html = render_html([executed_notebook()], STAMP)
    # every code source sits inside a collapsed <details>, and the print stylesheet drops them
    details = re.findall(r'<details class="code">(.*?)</details>', html, flags=re.S)
    assert len(details) == 5  # parameters, injected parameters, plot, table, remove-output cell
    assert not any("open" in d[:10] for d in details)
    body = re.sub(r'<details class="code">.*?</details>', "", html, flags=re.S)
    assert "secret_plot_code" not in body and "table1_frame" not in body
    assert "details.code { display: none; }" in html[html.index("@media print"):]
    # outputs: merged stream text, collapsed progress bar, HTML table as is
    assert "<pre class=\"stdout\">hello world</pre>" in html
    assert "bar: 100%" in html and "0/3" not in html
    assert "<caption>Table 1</caption>" in html
    # tags
    assert "removed_entirely" not in html and "never shown" not in html
    assert "no_output_shown" in html
    assert "parameters (injected by run_all)" in html and "parameters (notebook defaults)" in html


def test_images_are_embedded_as_data_uris():
    html = render_html([executed_notebook()], STAMP)
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert srcs == [f"data:image/png;base64,{PNG_B64}"]
    assert "&lt;Figure size" not in html  # the richer representation wins over text/plain


def test_svg_output_is_embedded_and_text_escaped():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
    nb = new_notebook(cells=[new_code_cell("x", outputs=[
        new_output("display_data", data={"image/svg+xml": svg}),
        new_output("execute_result", execution_count=1, data={"text/plain": "<b>not html</b>"}),
    ])])
    html = render_html([nb], STAMP, names=["03_sweep"])
    b64 = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(b64).decode() == svg
    assert "&lt;b&gt;not html&lt;/b&gt;" in html
    # a notebook without any heading still gets one (and a TOC entry) from its name
    assert '<a href="#03-sweep">03_sweep</a>' in html


def test_figure_files_appendix_and_reading_from_paths(tmp_path):
    path = tmp_path / "04_results.ipynb"
    nbformat.write(executed_notebook("Results"), str(path))
    html = render_html([path], STAMP, figure_files=["figures/fig3.svg", "figures/fig3.png"])
    assert '<section class="notebook" id="nb-04_results">' in html
    appendix = html[html.index('id="figure-files"'):]
    assert appendix.index("figures/fig3.png") < appendix.index("figures/fig3.svg")
    assert '<a href="figures/fig3.png">' in appendix
    with pytest.raises(ValueError, match="names: 2 names for 1 notebooks"):
        render_html([path], STAMP, names=["a", "b"])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a\rb\nc", "b\nc"),
        ("\x1b[31mred\x1b[0m\r\n", "red\n"),
        ("x: 10%\rx: 50%\rx: 100%", "x: 100%"),
    ],
)
def test_clean_stream_text(text, expected):
    assert clean_stream_text(text) == expected


def test_merge_streams_joins_only_neighbours_of_the_same_stream():
    outs = [
        {"output_type": "stream", "name": "stdout", "text": "a"},
        {"output_type": "stream", "name": "stdout", "text": ["b", "c"]},
        {"output_type": "stream", "name": "stderr", "text": "e"},
        {"output_type": "display_data", "data": {}},
        {"output_type": "stream", "name": "stdout", "text": "d"},
    ]
    merged = merge_streams(outs)
    assert [(o["output_type"], o.get("text")) for o in merged] == [
        ("stream", "abc"), ("stream", "e"), ("display_data", None), ("stream", "d"),
    ]


@pytest.mark.parametrize("seconds, text", [(9.44, "9.4 s"), (75.2, "1 min 15 s"), (3725, "1 h 2 min 5 s")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_pdf_has_pages(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    html = render_html([executed_notebook("Data"), executed_notebook("Results")], STAMP)
    target = report.write_pdf(html, tmp_path / "report.pdf")
    assert target.read_bytes().startswith(b"%PDF")
    # every level-1 heading starts a page: title + contents, Data, Results
    expected = len(weasyprint.HTML(string=html).render().pages)
    assert expected >= 3
    assert report.count_pdf_pages(target) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"]  # no temporary file left


def test_pdf_without_weasyprint_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` now raises ImportError
    html = render_html([executed_notebook()], STAMP)
    assert report.write_pdf(html, tmp_path / "report.pdf") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install weasyprint" in err and "pango" in err
    assert not list(tmp_path.iterdir())
    report.write_html(html, tmp_path / "report.html")  # the HTML is still written
    assert Path(tmp_path / "report.html").read_text() == html
