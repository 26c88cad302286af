"""Render executed notebooks into ONE readable report: `report.html`, then `report.pdf`.

The notebooks carry the story (data, pre-processing, model and sweep, results, robustness,
comparison with the paper, limitations) in their markdown cells; this module only lays them
out, in the order given:

* a stamp at the top (commit, profile, seed, date, wall time, device) and a table of contents
  built from the markdown headings (levels 1-2; ids made unique across notebooks);
* markdown rendered with mistune (tables, strikethrough, footnotes; TeX math kept as source);
* every code cell's source in a collapsed ``<details>`` (hidden in the PDF), its outputs shown:
  images embedded as data URIs, HTML (pandas tables) as is, text in ``<pre>`` with progress-bar
  carriage returns collapsed and ANSI colour codes removed;
* cell tags honoured: ``remove-cell``, ``remove-input``, ``remove-output`` (and the ``_`` spellings);
* an appendix linking every saved figure file (``figures/<name>.png`` / ``.svg``).

The PDF is made from that same HTML by WeasyPrint. Where WeasyPrint or its system libraries
(pango) are missing, `write_pdf` prints one line saying what to install and returns None: the
HTML is still the report. Both files are written atomically.

Self-contained by design: no JavaScript, no network, one small stylesheet.
"""
from __future__ import annotations

import base64
import html
import logging
import re
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mistune
import nbformat

from .atomic import atomic_path, write_text

TOC_LEVELS = (1, 2)
INTRO = (
    "The notebooks below were executed in order by <code>run_all.py</code>. Each code cell is folded "
    "under <em>code</em> (and left out of the PDF); every number is also in <code>results.json</code> "
    "and every figure in <code>figures/</code> next to this file."
)
# Richest first: what a reader should see when an output offers several representations.
MIME_ORDER = (
    "text/html", "image/png", "image/jpeg", "image/svg+xml", "text/markdown", "text/latex", "text/plain"
)
REMOVE_CELL = {"remove-cell", "remove_cell"}
REMOVE_INPUT = {"remove-input", "remove_input", "hide-input", "hide_input"}
REMOVE_OUTPUT = {"remove-output", "remove_output", "hide-output", "hide_output"}
PDF_INSTALL_HINT = (
    "pip install weasyprint (and its system libraries: pango, e.g. "
    "`apt-get install libpango-1.0-0 libpangoft2-1.0-0` or `brew install pango`)"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TAG = re.compile(r"<[^>]+>")

CSS = """
:root { --ink: #1d232b; --muted: #5b6673; --rule: #d9dee4; --accent: #1f5f99; --code: #f5f7f9; }
* { box-sizing: border-box; }
body { font: 15px/1.55 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       max-width: 60rem; margin: 2rem auto; padding: 0 1.25rem; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 .5em; }
h1 { font-size: 1.7rem; border-bottom: 2px solid var(--rule); padding-bottom: .25em; }
h2 { font-size: 1.3rem; } h3 { font-size: 1.1rem; }
a { color: var(--accent); }
header h1.title { font-size: 2rem; border: 0; margin-top: 0; }
table.stamp { border-collapse: collapse; font-size: .9rem; margin-bottom: 1rem; }
table.stamp th { text-align: left; color: var(--muted); font-weight: normal; padding: .1em 1em .1em 0; }
table.stamp td { font-family: "DejaVu Sans Mono", monospace; padding: .1em 0; }
nav.toc { background: var(--code); border: 1px solid var(--rule); padding: .5rem 1.5rem;
          margin: 1rem 0 2rem; }
nav.toc ol { padding-left: 1.2rem; margin: .3rem 0; } nav.toc li { margin: .1rem 0; }
section.notebook { margin-top: 2.5rem; }
p.source { color: var(--muted); font-size: .8rem; margin: 0; }
details.code { margin: .4rem 0; }
details.code summary { color: var(--muted); font-size: .8rem; cursor: pointer; }
pre { background: var(--code); border: 1px solid var(--rule); padding: .5rem .75rem; overflow: auto;
      font: 12.5px/1.4 "DejaVu Sans Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.stderr { color: var(--muted); } pre.error { border-color: #c0392b; color: #8e1b10; }
.output { margin: .5rem 0 1rem; overflow: auto; }
.output img { max-width: 100%; height: auto; }
.output table, .markdown table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
.output th, .output td, .markdown th, .markdown td { border-bottom: 1px solid var(--rule);
      padding: .2em .6em; text-align: right; }
.output thead th, .markdown thead th { border-bottom: 2px solid var(--ink); }
.math { font-family: "DejaVu Sans Mono", monospace; }
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: counter(page) " / " counter(pages);
        font-size: 8pt; color: #5b6673; } }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  details.code { display: none; }
  pre { white-space: pre-wrap; font-size: 8pt; }
  .output table { font-size: 7.5pt; }
  h1 { break-before: page; } header h1.title { break-before: auto; }
  img, table, pre { break-inside: avoid; }
}
"""


@dataclass(frozen=True)
class ReportStamp:
    """What a reader needs to trust a report: which code, which profile and seed, when, how long, where."""

    commit: str
    profile: str
    seed: int
    date: str
    runtime_s: float
    device: str

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("commit", self.commit),
            ("profile", self.profile),
            ("seed", str(self.seed)),
            ("date", self.date),
            ("wall time", format_duration(self.runtime_s)),
            ("device", self.device),
        ]


def format_duration(seconds: float) -> str:
    """`75.2` -> `'1 min 15 s'`; under a minute one decimal (`'9.4 s'`)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def clean_stream_text(text: str) -> str:
    """Terminal text as a reader would have seen it: ANSI codes removed, `\\r`-overwritten lines collapsed.

    tqdm redraws a bar by writing `\\r` and the new state; only the last state of each line is kept.
    """
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def merge_streams(outputs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive stream outputs of the same stream joined into one (kernels split text arbitrarily,
    and a progress bar's `\\r` redraws only collapse once its pieces are together)."""
    merged: list[dict[str, Any]] = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream" and prev is not None
            and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")
        ):
            merged[-1] = {**prev, "text": _join(prev.get("text", "")) + _join(out.get("text", ""))}
        else:
            merged.append(out)
    return merged


class _Headings:
    """Unique, stable heading ids across the whole document, and the table of contents they form."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.entries: list[tuple[int, str, str]] = []  # (level, id, html text)

    def add(self, level: int, text_html: str, position: int | None = None) -> str:
        """A unique id for a heading; levels in TOC_LEVELS join the TOC (at `position`, default last)."""
        plain = html.unescape(_TAG.sub("", text_html)).strip()
        slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "section"
        anchor, n = slug, 1
        while anchor in self.used:
            n += 1
            anchor = f"{slug}-{n}"
        self.used.add(anchor)
        if level in TOC_LEVELS:
            at = len(self.entries) if position is None else position
            self.entries.insert(at, (level, anchor, text_html))
        return anchor

    def toc_html(self) -> str:
        """Nested ordered list: level-2 entries under the level-1 entry before them."""
        out: list[str] = ['<nav class="toc"><h2 id="contents">Contents</h2><ol>']
        open_sub = False
        for level, anchor, text_html in self.entries:
            link = f'<a href="#{anchor}">{_TAG.sub("", text_html)}</a>'
            if level == TOC_LEVELS[0]:
                if open_sub:
                    out.append("</ol></li>")
                    open_sub = False
                elif len(out) > 1:
                    out.append("</li>")
                out.append(f"<li>{link}")
            else:
                if not open_sub:
                    if len(out) == 1:  # a level-2 heading before any level-1 heading
                        out.append("<li>")
                    out.append("<ol>")
                    open_sub = True
                out.append(f"<li>{link}</li>")
        if open_sub:
            out.append("</ol>")
        if len(out) > 1:
            out.append("</li>")
        out.append("</ol></nav>")
        return "".join(out)


class _Renderer(mistune.HTMLRenderer):
    """mistune's HTML renderer with document-wide unique heading ids (collected for the TOC)."""

    def __init__(self, headings: _Headings) -> None:
        super().__init__(escape=False)
        self.headings = headings

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        return f'<h{level} id="{self.headings.add(level, text)}">{text}</h{level}>\n'


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _join(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _render_data(data: dict[str, Any], markdown: mistune.Markdown) -> str:
    """One display_data / execute_result bundle, by the richest MIME type it offers."""
    for mime in MIME_ORDER:
        if mime not in data:
            continue
        value = _join(data[mime])
        if mime == "text/html":
            return value
        if mime in ("image/png", "image/jpeg"):
            b64 = "".join(value.split())
            return f'<img src="data:{mime};base64,{b64}" alt="figure">'
        if mime == "image/svg+xml":
            b64 = base64.b64encode(value.encode()).decode()
            return f'<img src="data:image/svg+xml;base64,{b64}" alt="figure">'
        if mime == "text/markdown":
            return f'<div class="markdown">{markdown(value)}</div>'
        return f"<pre>{html.escape(clean_stream_text(value))}</pre>"
    return ""


def _render_output(output: nbformat.NotebookNode, markdown: mistune.Markdown) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = clean_stream_text(_join(output.get("text", ""))).strip("\n")
        if not text.strip():
            return ""
        return f'<pre class="{output.get("name", "stdout")}">{html.escape(text)}</pre>'
    if kind in ("display_data", "execute_result"):
        return _render_data(output.get("data", {}), markdown)
    if kind == "error":
        trace = clean_stream_text("\n".join(output.get("traceback", [])))
        text = trace or f"{output.get('ename')}: {output.get('evalue')}"
        return f'<pre class="error">{html.escape(text)}</pre>'
    return ""


def _render_cell(cell: nbformat.NotebookNode, markdown: mistune.Markdown) -> str:
    tags = _tags(cell)
    if tags & REMOVE_CELL:
        return ""
    source = _join(cell.get("source", ""))
    if cell.get("cell_type") == "markdown":
        return f'<div class="markdown">{markdown(source)}</div>'
    if cell.get("cell_type") != "code":
        return ""
    parts: list[str] = []
    if source.strip() and not tags & REMOVE_INPUT:
        label = "parameters (injected by run_all)" if "injected-parameters" in tags else "code"
        if "parameters" in tags:
            label = "parameters (notebook defaults)"
        parts.append(
            f'<details class="code"><summary>{label}</summary><pre>{html.escape(source)}</pre></details>'
        )
    if not tags & REMOVE_OUTPUT:
        rendered = [_render_output(o, markdown) for o in merge_streams(cell.get("outputs", []))]
        if any(rendered):
            parts.append('<div class="output">' + "".join(r for r in rendered if r) + "</div>")
    return "\n".join(parts)


def render_html(
    notebooks: Sequence[nbformat.NotebookNode | str | Path],
    stamp: ReportStamp,
    *,
    title: str = "Convolutional LSTM for image-sequence modelling: reproduction report",
    figure_files: Iterable[str] = (),
    names: Sequence[str] | None = None,
    intro: str = INTRO,
) -> str:
    """The whole report as one HTML string.

    `notebooks` are executed notebooks (objects or .ipynb paths), rendered in the given order;
    `names` labels each (default: the file stem, or `notebook N`). A notebook without any
    markdown heading gets a level-1 heading from its name, so every notebook is in the TOC.
    `figure_files` are paths relative to the report (e.g. `figures/fig3.png`) listed, linked,
    in a closing appendix. `intro` (HTML) is the paragraph under the stamp.
    """
    nbs: list[nbformat.NotebookNode] = []
    labels: list[str] = []
    for i, item in enumerate(notebooks):
        if isinstance(item, (str, Path)):
            nbs.append(nbformat.read(str(item), as_version=4))
            labels.append(Path(item).stem)
        else:
            nbs.append(item)
            labels.append(f"notebook {i + 1}")
    if names is not None:
        if len(names) != len(nbs):
            raise ValueError(f"names: {len(names)} names for {len(nbs)} notebooks")
        labels = list(names)

    headings = _Headings()
    markdown = mistune.create_markdown(
        renderer=_Renderer(headings), plugins=["table", "strikethrough", "footnotes", "math"]
    )
    sections: list[str] = []
    for nb, label in zip(nbs, labels, strict=True):
        first_entry = len(headings.entries)
        cells = [rendered for cell in nb.cells if (rendered := _render_cell(cell, markdown))]
        safe = html.escape(label)
        head = f'<section class="notebook" id="nb-{safe}">\n<p class="source">{safe}</p>'
        if not any(level == 1 for level, _, _ in headings.entries[first_entry:]):
            anchor = headings.add(1, safe, position=first_entry)
            head += f'\n<h1 id="{anchor}">{safe}</h1>'
        sections.append("\n".join([head, *cells, "</section>"]))

    figures = sorted(figure_files)
    if figures:
        anchor = headings.add(1, "Figure files")
        items = "".join(f'<li><a href="{html.escape(f)}">{html.escape(f)}</a></li>' for f in figures)
        sections.append(
            f'<section class="appendix"><h1 id="{anchor}">Figure files</h1>'
            "<p>Every figure the notebooks saved, as PNG and SVG next to this report:</p>"
            f"<ul>{items}</ul></section>"
        )

    stamp_rows = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in stamp.rows())
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><h1 class="title">{html.escape(title)}</h1>'
        f'<table class="stamp">{stamp_rows}</table><p class="intro">{intro}</p></header>\n'
        f"{headings.toc_html()}\n<main>\n" + "\n".join(sections) + "\n</main>\n</body>\n</html>\n"
    )


def write_html(html_text: str, target: str | Path) -> Path:
    """Write the report's HTML atomically; return its path."""
    write_text(target, html_text)
    return Path(target)


def write_pdf(html_text: str, target: str | Path, base_url: str | Path | None = None) -> Path | None:
    """Render `html_text` to a PDF at `target` (atomically) with WeasyPrint.

    Images are data URIs, so nothing needs resolving. `base_url` None (the default) leaves
    relative links (the figure-files appendix) as plain text: a PDF travels alone, and resolving
    them would bake this machine's absolute paths into it.
    Returns the path, or None after printing one line saying what to install when WeasyPrint
    or its system libraries cannot be loaded.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint installed but pango missing
        print(f"report: PDF skipped ({type(exc).__name__}: {exc}); to get report.pdf: {PDF_INSTALL_HINT}",
              file=sys.stderr)
        return None
    target = Path(target)
    base = None if base_url is None else str(base_url)
    # WeasyPrint logs every CSS property it ignores and font-subsetting fallbacks as warnings;
    # the HTML is the reference document, so only its errors reach the console.
    loggers = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with atomic_path(target) as tmp:
            weasyprint.HTML(string=html_text, base_url=base).write_pdf(str(tmp))
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
    return target


def count_pdf_pages(path: str | Path) -> int:
    """Pages of a PDF: with pypdf when installed, else by counting `/Type /Page` page objects,
    also inside compressed (Flate) object streams as WeasyPrint writes them."""
    data = Path(path).read_bytes()
    try:
        from pypdf import PdfReader
    except ImportError:
        pass
    else:
        return len(PdfReader(str(path)).pages)
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, flags=re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # an uncompressed or image stream: its page objects, if any, are in `data`
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", chunk)) for chunk in chunks)
