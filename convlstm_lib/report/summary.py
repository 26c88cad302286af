"""The report's first page and its closing section, generated from results.json alone.

`summary_html(results)`: what data, which profile, machine and wall time, the sweep's size (and
"n of N trials" when a wall-clock budget cut it short), how every model was chosen (on validation,
`protocol.sentence`), the headline table (the final model when notebook 06 trained one, the
best ConvLSTM, copy-last and the paper's best converted to per-pixel MSE: N6/N3 MSE, PSNR, SSIM),
and one line on each verdict the paper's claims got. Sections that other notebooks add to
results.json (`paper_rule`, `seeds`, `models`, `frame4`, `frame16`) get a line each when present.

`beside_the_paper_html(results)`: the closing section, every claim of `claims.CLAIMS` beside
this reproduction's number and verdict. `results` is read through `report.results`; every
sentence comes from `report.text`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from convlstm_lib.report import claims, text
from convlstm_lib.report.results import Results, parse
from convlstm_lib.report.tables import for_reader

METRICS = ("n6_test_mse", "n6_test_psnr", "n6_test_ssim", "n3_mse", "n3_psnr", "n3_ssim")
format_duration = text.duration  # the stamp's wall time (assemble, run_all)
PAPER_ONLY_MSE_NOTE = (
    "The paper reports MSE only (no PSNR or SSIM); its losses are converted to per-pixel MSE on the "
    "[0, 1] scale (notebook 04). A dash marks a value the paper does not give."
)


def _html(markdown: str, inline: bool = False) -> str:
    """Markdown from `text` as HTML (nbconvert's renderer); `inline` without the paragraph."""
    out = markdown2html_mistune(markdown).strip()
    if inline and out.startswith("<p>") and out.endswith("</p>"):
        out = out[3:-4]
    return out


FINAL_ROW = "our final model"
CONVLSTM_ROW = "our best ConvLSTM (the paper's model)"
COPY_LAST_ROW = "copy-last (repeats the last input frame)"


def headline_table(results: Results | Mapping[str, Any]) -> pd.DataFrame:
    """Rows: our final model (when notebook 06 trained one), our best ConvLSTM (Table 1's best),
    copy-last, the paper's best (converted); columns METRICS (NaN if absent). Every model of ours
    here was chosen on validation windows; the columns are test metrics."""
    results = parse(results)
    copy_last = (results.baselines or {}).get("copy_last")
    rows = []
    if results.final is not None and results.final.n6_test_mse is not None:
        rows.append({"model": FINAL_ROW, **{m: getattr(results.final, m, None) for m in METRICS}})
    rows += [{"model": CONVLSTM_ROW, **{m: getattr(results.best, m, None) for m in METRICS}},
             {"model": COPY_LAST_ROW, **{m: getattr(copy_last, m, None) for m in METRICS}}]
    comparison = [r for r in results.paper_comparison or [] if r.paper_n6_mse is not None]
    if comparison:
        top = min(comparison, key=lambda r: r.paper_n6_mse)
        rows.append({"model": f"the paper's best ({text.set_name(top.training_set)}), converted",
                     "n6_test_mse": top.paper_n6_mse, "n3_mse": top.paper_n3_mse})
    frame = pd.DataFrame(rows, columns=["model", *METRICS])
    return frame.astype({m: float for m in METRICS})


def _optional_lines(results: Results) -> list[str]:
    lines = [text.paper_rule_line(results.paper_rule), text.seeds_line(results), text.models_line(results),
             text.frame4_line(results.frame4), text.frame16_line(results.frame16)]
    return [line for line in lines if line]


def _headline(results: Results) -> list[str]:
    """The models of the headline table in words, the table, and their ratios."""
    table = headline_table(results)
    mse = table.set_index("model")["n6_test_mse"]
    parts = []
    if FINAL_ROW in mse:
        parts.append(f"<p><strong>Best model</strong>: {_html(text.final_line(results), inline=True)}</p>")
    label = "The paper's model" if FINAL_ROW in mse else "Best model"
    parts.append(f"<p><strong>{label}</strong>: {_html(text.best_model(results.best), inline=True)}.</p>")
    parts.append(for_reader(table, {"model": " "}, missing_note=PAPER_ONLY_MSE_NOTE,
                            caption="Per-pixel error on the [0, 1] scale (test windows)").to_html())
    paper = mse.drop([FINAL_ROW, CONVLSTM_ROW, COPY_LAST_ROW], errors="ignore")
    parts.append(_html(text.headline_ratios(
        mse.get(FINAL_ROW), mse[CONVLSTM_ROW], mse[COPY_LAST_ROW] if pd.notna(mse[COPY_LAST_ROW]) else None,
        paper.iloc[0] if len(paper) else None)))
    return parts


def summary_html(results: Results | Mapping[str, Any], runtime_s: float | None = None) -> str:
    """The first page's summary (HTML), from `results` (results.json's content)."""
    results = parse(results)
    items = [f"<li><strong>Data</strong>: {_html(text.data_source(results), inline=True)}.</li>",
             f"<li><strong>Run</strong>: {_html(text.run_line(results, runtime_s), inline=True)}.</li>"]
    sweep = text.sweep_line(results)
    if sweep:
        items.append(f"<li><strong>Search</strong>: {_html(sweep, inline=True)}.</li>")
    selection = text.selection_line(results)
    if selection:
        items.append(f"<li><strong>Selection</strong>: {_html(selection, inline=True)}</li>")
    parts = [f'<section class="summary"><h2 id="summary">Summary</h2><ul>{"".join(items)}</ul>']
    if results.best is not None:
        parts += _headline(results)
    else:
        parts.append("<p>No trial completed, so there is no best model to report.</p>")
    parts += [_html(line) for line in _optional_lines(results)]
    parts += [_html(line) for line in text.verdict_lines(claims.judge(results))]
    parts.append("</section>")
    return "\n".join(parts)


def beside_the_paper_html(results: Results | Mapping[str, Any]) -> str:
    """The closing section: each claim (quoted, with its section), ours, the verdict."""
    rows = []
    for claim, verdict in claims.judge(results):
        css = verdict.status.replace(" ", "-")
        rows.append(f"<tr><td>{claim.section}</td><td><blockquote>{text.esc(claim.quote)}</blockquote></td>"
                    f"<td>{text.esc(verdict.ours)}</td><td class=\"{css}\">{verdict.status}</td></tr>")
    return (
        '<section class="beside-paper"><h1 id="beside-the-paper">This reproduction beside the paper</h1>'
        "<p>Each claim of the paper's results (§4) and conclusion (§5), quoted exactly, beside this "
        "reproduction's number that decides it. The verdicts are computed from <code>results.json</code> "
        "by <code>convlstm_lib/report/claims.py</code>. <em>Not tested</em>: this run has nothing that "
        "decides the claim (e.g. a profile too small to reach the paper's model size). "
        f"{_html(text.verdict_rules(), inline=True)} The robustness numbers are per-pixel "
        "MSEs on the [0, 1] scale, so only the shape of the paper's curves compares.</p>"
        '<figure class="table"><table class="claims"><thead><tr><th>§</th><th>The paper says</th>'
        "<th>This reproduction</th><th>Verdict</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></figure></section>"
    )
