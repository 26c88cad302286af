"""Executed notebooks -> one HTML document (nbconvert) -> a PDF of that same document (Chromium).

nbconvert does the rendering: `HTMLExporter` on the project's template `templates/convlstm`
(nbconvert's `basic` cells inside the project's page: title, stamp, summary, contents, print
style), `TagRemovePreprocessor` for the `remove-cell` / `remove-input` / `remove-output` tags,
`exclude_input` so no code reaches the reader, its stream coalescing (progress-bar `\\r`
redraws collapsed) and a template block that leaves stderr (the log) out.

Hand-written here, because nbconvert cannot do it:

* **maths at build time**: nbconvert's Markdown renderer passes TeX through for MathJax, which a
  reader's browser would fetch from a CDN (and reads `\\(x\\)` as escaped brackets: such
  formulas become `$x$` first); `MathMLRenderer` turns each formula into MathML with
  `latex2mathml` while the Markdown is parsed (so an equation line never becomes a bullet).
  latex2mathml has no `aligned` environment; `split` lays out the same right/left column pairs
  and is used in its place;
* **one document from several notebooks**: the cells are concatenated in run order, and the
  heading ids made unique across them (nbconvert's ids are unique per notebook only);
* **the table of contents** (levels 1-2), collected from those headings while rendering;
* **the PDF**: nbconvert's `WebPDFExporter` needs Playwright and a browser it downloads; the
  same page is printed by the system's headless Chromium instead (`docs/REPORT.md` compares
  the engines). Where no Chromium is found, one line says what to install and the HTML stays
  the report.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import pass_context
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import CoalesceStreamsPreprocessor, TagRemovePreprocessor

from convlstm_lib.atomic import atomic_path, write_text
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.report.tables import NUMBER_CLASS

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "convlstm"
TOC_MARK = "<!--convlstm:toc-->"
TOC_LEVELS = (1, 2)
REMOVE_CELL = {"remove-cell", "remove_cell"}
REMOVE_INPUT = {"remove-input", "remove_input", "hide-input", "hide_input"}
REMOVE_OUTPUT = {"remove-output", "remove_output", "hide-output", "hide_output"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_INSTALL_HINT = "install Chromium (Debian/Ubuntu: `apt-get install chromium`; macOS: Google Chrome)"
PDF_TIMEOUT_S = 180
_TAG = re.compile(r"<[^>]+>")
_LATEX_INLINE = re.compile(r"(?<!\\)\\\((.+?)\\\)", re.S)
_LATEX_DISPLAY = re.compile(r"(?<!\\)\\\[(.+?)\\\]", re.S)

CSS = """
:root { --ink: #1d232b; --muted: #5b6673; --rule: #d9dee4; --accent: #1f5f99; --soft: #f5f7f9; }
* { box-sizing: border-box; }
body { font: 15px/1.55 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 62rem; margin: 2rem auto; padding: 0 1.25rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.5em 0 .5em; }
h1 { font-size: 1.7rem; border-bottom: 2px solid var(--rule); padding-bottom: .25em; }
h2 { font-size: 1.3rem; } h3 { font-size: 1.1rem; }
a { color: var(--accent); }
header.front h1.title { font-size: 1.9rem; border: 0; margin: 0 0 .4rem; }
table.stamp { border-collapse: collapse; font-size: .85rem; margin-bottom: .8rem; }
table.stamp th { text-align: left; color: var(--muted); font-weight: normal; padding: 0 1em 0 0; }
table.stamp td { padding: 0; text-align: left; }
section.summary { border: 1px solid var(--rule); background: var(--soft); padding: .2rem 1.2rem .6rem; }
section.summary h2 { margin-top: .6em; }
nav.toc { border: 1px solid var(--rule); padding: .5rem 1.5rem; margin: 1rem 0 2rem; }
nav.toc ol { padding-left: 1.2rem; margin: .3rem 0; } nav.toc li { margin: .1rem 0; }
pre { background: var(--soft); border: 1px solid var(--rule); padding: .5rem .75rem; overflow: auto;
      font: 12.5px/1.4 "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.output_area, .output_subarea { margin: .4rem 0 1rem; overflow-x: auto; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: .2em .55em; text-align: right; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); }
th:first-child, td:first-child { text-align: left; }
figure { margin: .8rem 0; }
figure.table figcaption { font-weight: bold; margin-bottom: .2rem; }
p.table-note, p.note { color: var(--muted); font-size: .8rem; margin: .2rem 0 0; }
math[display="block"] { margin: .6rem 0; font-size: 1.05em; }
mtd[columnalign="right"] { text-align: right; } mtd[columnalign="left"] { text-align: left; }
table.claims td, table.claims th { text-align: left; }
td.agrees { color: #17613a; font-weight: bold; } td.disagrees { color: #a02a1a; font-weight: bold; }
td.partly-agrees { color: #8a5a00; font-weight: bold; }
td.not-tested { color: var(--muted); font-weight: bold; }
td.agrees, td.partly-agrees, td.disagrees, td.not-tested { white-space: nowrap; }
blockquote { margin: 0; padding-left: .6rem; border-left: 3px solid var(--rule); }
@page { size: A4; margin: 15mm 13mm 16mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #5b6673; } }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h1 { break-before: page; }
  header.front h1.title { break-before: auto; }
  /* the stamp on two lines and a tighter summary starting under it on page 1 (it may run on) */
  table.stamp tr { display: inline-table; margin-right: 1.4em; }
  section.summary { font-size: 9.2pt; }
  nav.toc { break-before: page; break-after: page; }
  h1, h2, h3, h4, figcaption { break-after: avoid; }
  .text_cell { break-after: avoid; }
  img, figure, pre, math, tr, .output_png { break-inside: avoid; }
  section.summary p, section.summary li, section.summary table { break-inside: avoid; }
  /* a figure taller than the page would be cut across two (and leave one blank): scale it to fit */
  img { max-height: 240mm; width: auto; }
  figure.table { break-inside: auto; }
  table { font-size: 8pt; }
  figure.table.wide table { font-size: 6.2pt; }
  figure.table.wide th, figure.table.wide td { padding: .15em .22em; }
  figure.table.wide td:not(:first-child) { white-space: nowrap; }
  th { overflow-wrap: break-word; hyphens: auto; }
  a { color: inherit; text-decoration: none; }
}
""" + f"td.{NUMBER_CLASS} {{ white-space: nowrap; }}\n"  # `tables.for_reader`'s number cells


class PdfFailed(ConvLSTMError):
    """The PDF engine ran but did not produce a PDF."""


def tex_to_mathml(tex: str, display: str = "inline") -> str:
    """TeX -> MathML (`display` 'inline' or 'block'); `aligned` is laid out as `split`."""
    tex = tex.replace("{aligned}", "{split}")
    return latex_to_mathml(tex.strip(), display=display)


def latex_delimiters_to_dollars(source: str) -> str:
    r"""`\(x\)` -> `$x$` and `\[x\]` -> `$$x$$`: Markdown would read `\(` as an escaped bracket."""
    source = _LATEX_DISPLAY.sub(lambda m: f"$${m.group(1)}$$", source)
    return _LATEX_INLINE.sub(lambda m: f"${m.group(1)}$", source)


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with TeX typeset as MathML and document-wide heading ids."""

    def __init__(self, headings: Headings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.headings = headings

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, "block")

    def multiline_math(self, text: str) -> str:
        return tex_to_mathml(text.strip().strip("$"), "block")

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, "inline")

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        return f'<h{level} id="{self.headings.add(level, text)}">{text}</h{level}>\n'


class Headings:
    """Unique, stable heading ids across the whole document, and the table of contents they form."""

    def __init__(self) -> None:
        self.used: set[str] = {"contents", "summary", "beside-the-paper"}
        self.entries: list[tuple[int, str, str]] = []  # (level, id, text as HTML)

    def add(self, level: int, text_html: str) -> str:
        plain = html.unescape(_TAG.sub("", text_html)).strip()
        slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "section"
        anchor, n = slug, 1
        while anchor in self.used:
            n += 1
            anchor = f"{slug}-{n}"
        self.used.add(anchor)
        if level in TOC_LEVELS:
            self.entries.append((level, anchor, text_html))
        return anchor

    def toc_html(self) -> str:
        """Nested ordered list: level-2 entries under the level-1 entry before them."""
        out = ['<nav class="toc"><h2 id="contents">Contents</h2><ol>']
        open_sub = False
        for level, anchor, text_html in self.entries:
            link = f'<a href="#{anchor}">{_TAG.sub("", text_html)}</a>'
            if level == TOC_LEVELS[0]:
                out.append("</ol></li>" if open_sub else ("</li>" if len(out) > 1 else ""))
                open_sub = False
                out.append(f"<li>{link}")
            else:
                if not open_sub:
                    out.append("<li><ol>" if len(out) == 1 else "<ol>")
                    open_sub = True
                out.append(f"<li>{link}</li>")
        out.append("</ol></li>" if open_sub else ("</li>" if len(out) > 1 else ""))
        out.append("</ol></nav>")
        return "".join(out)


class ReportExporter(HTMLExporter):
    """HTMLExporter on the project's template, with MathML maths and document-wide heading ids."""

    def __init__(self, headings: Headings, **kwargs: Any) -> None:
        super().__init__(
            template_name=TEMPLATE_NAME, extra_template_basedirs=[str(TEMPLATES_DIR)],
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
            exclude_anchor_links=True, embed_images=True, **kwargs,
        )
        self.headings = headings
        self.register_preprocessor(TagRemovePreprocessor(
            remove_cell_tags=REMOVE_CELL, remove_input_tags=REMOVE_INPUT,
            remove_all_outputs_tags=REMOVE_OUTPUT, enabled=True,
        ), enabled=True)
        self.register_preprocessor(CoalesceStreamsPreprocessor(enabled=True), enabled=True)

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            self.headings, escape=False, attachments=cell.get("attachments", {}),
            embed_images=self.embed_images, anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
        )
        return MarkdownWithMath(renderer=renderer).render(latex_delimiters_to_dollars(source))


def _read(item: nbformat.NotebookNode | str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(item), as_version=4) if isinstance(item, (str, Path)) else item


def combine(notebooks: Sequence[nbformat.NotebookNode | str | Path]) -> nbformat.NotebookNode:
    """One notebook holding every cell of `notebooks` (objects or .ipynb paths), in order."""
    nbs = [_read(item) for item in notebooks]
    combined = nbformat.v4.new_notebook(metadata=dict(nbs[0].metadata) if nbs else {})
    for nb in nbs:
        combined.cells.extend(nbformat.from_dict(dict(cell)) for cell in nb.cells)
    return combined


def render_html(
    notebooks: Sequence[nbformat.NotebookNode | str | Path],
    *,
    title: str,
    stamp: Sequence[tuple[str, str]] = (),
    front: str = "",
    back: str = "",
) -> str:
    """The whole report as one HTML string.

    `notebooks` are executed notebooks (objects or .ipynb paths), rendered in the given order
    without their code; `stamp` rows (key, value) under the title; `front` (HTML) after the
    stamp on the first page, `back` (HTML) after the last notebook.
    """
    headings = Headings()
    exporter = ReportExporter(headings)
    resources = {"convlstm": {"title": title, "stamp": list(stamp), "front": front, "back": back, "css": CSS}}
    body, _ = exporter.from_notebook_node(combine(notebooks), resources=resources)
    back_headings = re.findall(r'<h([12]) id="([^"]+)">(.*?)</h\1>', back)
    for level, anchor, text in back_headings:
        headings.entries.append((int(level), anchor, text))
    return body.replace(TOC_MARK, headings.toc_html(), 1)


def find_chromium() -> str | None:
    """The first Chromium-family browser on PATH, or None."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium_command(browser: str, profile: str | Path, *args: str) -> list[str]:
    """Headless Chromium as this project runs it: no sandbox (containers run as root), no GPU,
    its profile in `profile` (a throw-away folder)."""
    return [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}", *args,
    ]


def write_pdf(html_file: str | Path, target: str | Path) -> Path | None:
    """Print `html_file` (the report as written) to a PDF at `target` (atomically) with Chromium.

    Returns the path, or None after printing one line saying what to install when no Chromium
    is found. Raises PdfFailed when Chromium runs but writes no PDF.
    """
    browser = find_chromium()
    if browser is None:
        print(f"report: PDF skipped (no Chromium on PATH); to get report.pdf: {PDF_INSTALL_HINT}")
        return None
    target = Path(target)
    url = Path(html_file).resolve().as_uri()
    with atomic_path(target) as tmp, tempfile.TemporaryDirectory(prefix="convlstm-chromium-") as profile:
        cmd = chromium_command(browser, profile, "--no-pdf-header-footer", f"--print-to-pdf={tmp}", url)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PDF_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PdfFailed(f"{browser}: no PDF of {html_file} after {PDF_TIMEOUT_S} s") from None
        if not (Path(tmp).is_file() and Path(tmp).read_bytes()[:5] == b"%PDF-"):
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PdfFailed(f"{browser}: no PDF of {html_file} (exit {done.returncode}: {last})")
    return target


def write_html(html_text: str, target: str | Path) -> Path:
    """Write the report's HTML atomically; return its path."""
    write_text(target, html_text)
    return Path(target)
