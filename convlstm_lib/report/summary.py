"""The report's first page and its closing section, generated from `results.json` alone.

`summary_html(results)`: what data, which profile, machine and wall time, the sweep's size (and
"n of N trials" when a wall-clock budget cut it short), the best model's N6/N3 MSE, PSNR and
SSIM beside copy-last and the paper's best converted to per-pixel MSE, and one line on what
agrees and one on what disagrees with the paper. Sections that other notebooks add to
results.json (`models`, `final`, `frame4`, `frame16`, `seeds`) get a line each when present.

`beside_the_paper_html(results)`: the closing section, every claim of `claims.CLAIMS` beside
this reproduction's number and verdict. No number is typed here: all come from `results`.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from convlstm_lib.report import claims
from convlstm_lib.report.tables import for_reader, format_number

METRICS = ("n6_test_mse", "n6_test_psnr", "n6_test_ssim", "n3_mse", "n3_psnr", "n3_ssim")
PAPER_ONLY_MSE_NOTE = (
    "The paper reports MSE only (no PSNR or SSIM); its losses are converted to per-pixel MSE on the "
    "[0, 1] scale (notebook 04). A dash marks a value the paper does not give."
)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


def format_duration(seconds: float) -> str:
    """`75.2` -> `'1 min 15 s'`; under a minute one decimal (`'9.4 s'`)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def _data_line(results: Mapping[str, Any]) -> str:
    data = results.get("data") or {}
    n6, n3 = data.get("n6_sequences"), data.get("n3_sequences")
    counts = f" ({n6} N6 and {n3} N3 sequences of 16 frames)" if n6 and n3 else ""
    if data.get("source") == "course":
        return f"the course's CSV files{counts}"
    return f"sequences generated from MNIST digits to match the course data's statistics{counts}"


def _sweep_line(results: Mapping[str, Any]) -> str:
    cfg = results.get("config") or {}
    sweep = results.get("sweep") or {}
    planned = sweep.get("n_trials", cfg.get("n_trials"))
    counted = sweep.get("counted", (results.get("counts") or {}).get("total"))
    epochs = cfg.get("epochs")
    if counted is None or planned is None:
        return ""
    plural = "s" if epochs != 1 else ""
    line = f"random search, {counted} of {planned} trials of {epochs} epoch{plural} each"
    if counted < planned:
        budget = sweep.get("budget_s")
        cut = f" of {format_duration(budget)}" if budget else ""
        line += (f" (<strong>{counted} of {planned} trials</strong>: the wall-clock budget{cut} ended the "
                 "sweep early, so these numbers depend on the machine's speed)")
    return line


def _best_line(best: Mapping[str, Any]) -> str:
    """`trial 8, a ConvLSTM trained on the denoised set: 2 layer(s) x 15 kernels, ...` (what is known)."""
    p = best.get("parameters") or {}
    label = claims.set_label(best["training_set"]) if best.get("training_set") else None
    line = f"trial {best['trial']}, " if best.get("trial") is not None else ""
    line += f"a {_esc(best.get('model', 'ConvLSTM'))}"
    if label:
        line += f" trained on the <em>{_esc(label)}</em> set"
    if {"layers", "kernels", "activation", "optimizer", "lr", "batch_size"} <= set(p):
        line += (f": {p['layers']} layer(s) x {p['kernels']} kernels, {_esc(p['activation'])}, "
                 f"{_esc(p['optimizer'])} at learning rate {format_number(p['lr'])}, batch {p['batch_size']}")
    return line


def headline_table(results: Mapping[str, Any]) -> pd.DataFrame:
    """Rows: the best model, copy-last, the paper's best (converted); columns METRICS (NaN if absent)."""
    best = results.get("best") or {}
    copy_last = (results.get("baselines") or {}).get("copy_last") or {}
    rows = [{"model": "our best model", **{m: best.get(m) for m in METRICS}},
            {"model": "copy-last (repeats the last input frame)", **{m: copy_last.get(m) for m in METRICS}}]
    comparison = [r for r in results.get("paper_comparison") or [] if r.get("paper_n6_mse") is not None]
    if comparison:
        top = min(comparison, key=lambda r: r["paper_n6_mse"])
        label = claims.set_label(top["training_set"])
        rows.append({"model": f"the paper's best ({label}), converted", "n6_test_mse": top["paper_n6_mse"],
                     "n3_mse": top.get("paper_n3_mse")})
    frame = pd.DataFrame(rows, columns=["model", *METRICS])
    return frame.astype({m: float for m in METRICS})


def _ratio_line(results: Mapping[str, Any], table: pd.DataFrame) -> str:
    ours = table["n6_test_mse"].iloc[0]
    parts = []
    if len(table) > 1 and pd.notna(table["n6_test_mse"].iloc[1]):
        parts.append(f"{format_number(ours / table['n6_test_mse'].iloc[1])} x copy-last")
    if len(table) > 2:
        parts.append(f"{format_number(ours / table['n6_test_mse'].iloc[2])} x the paper's converted value "
                     "(on other data)")
    return f"Our best N6 MSE is {' and '.join(parts)}." if parts else ""


def _optional_lines(results: Mapping[str, Any]) -> list[str]:
    lines = []
    seeds = results.get("seeds")
    if seeds and seeds.get("n6_test_mse"):
        values = seeds["n6_test_mse"]
        lines.append(f"The best configuration re-trained with {len(values)} seeds: N6 MSE "
                     f"{format_number(seeds['mean'])} ± {format_number(seeds['spread'])} "
                     "(mean ± standard deviation).")
    models = results.get("models")
    if isinstance(models, Mapping) and models:
        best_of = ", ".join(f"{_esc(name)} {format_number(m.get('n6_test_mse'))}"
                            for name, m in models.items() if isinstance(m, Mapping))
        lines.append(f"Best N6 MSE of each model family at equal budget: {best_of}.")
    final = results.get("final")
    if isinstance(final, Mapping) and final.get("n6_test_mse") is not None:
        mc = final.get("model_config") or {}
        copy_last = ((results.get("baselines") or {}).get("copy_last") or {}).get("n6_test_mse")
        ratio = f" ({format_number(final['n6_test_mse'] / copy_last)} x copy-last)" if copy_last else ""
        lines.append(f"The final model ({final.get('members')} runs of a {_esc(str(mc.get('model')))} "
                     f"{mc.get('layers')} x {mc.get('kernels')} averaged, notebook 06): N6 MSE "
                     f"{format_number(final['n6_test_mse'])}{ratio}.")
    frame4 = results.get("frame4")
    if isinstance(frame4, Mapping) and frame4:
        scored = {k: v for k, v in frame4.items() if isinstance(v, Mapping) and "n6_test_mse" in v}
        parts = ", ".join(f"{_esc(k.replace('_', ' '))} {format_number(v['n6_test_mse'])}"
                          for k, v in scored.items())
        ratios = frame4.get("ratios") if isinstance(frame4.get("ratios"), Mapping) else {}
        labels = (("interpolate_to_extrapolate", "extrapolation"),
                  ("interpolate_to_neighbour_mean", "the neighbour mean"))
        versus = [f"{format_number(ratios[key])} x {label}"
                  for key, label in labels if ratios.get(key) is not None]
        ratio_text = f"; interpolation is {' and '.join(versus)}" if versus else ""
        held = (f" The course CSV holds frame 4 by {_esc(frame4['course_csv'])}."
                if frame4.get("course_csv") else "")
        lines.append(f"Frame 4 (N6 MSE) predicted by {parts}{ratio_text}.{held}")
    frame16 = results.get("frame16")
    if isinstance(frame16, Mapping) and frame16:
        parts = ", ".join(f"{_esc(k)} {format_number(v['n6_test_mse'])}"
                          for k, v in frame16.items() if isinstance(v, Mapping) and "n6_test_mse" in v)
        held = (f" The course CSV holds frame 16 by {_esc(frame16['course_csv'])}."
                if frame16.get("course_csv") else "")
        lines.append(f"Frame 16 (N6 MSE) by context length: {parts}.{held}")
    return lines


def _verdict_lines(results: Mapping[str, Any]) -> list[str]:
    verdicts = claims.judge(results)
    statuses = (claims.AGREES, claims.DISAGREES, claims.NOT_TESTED)
    counts = {s: sum(v.status == s for _, v in verdicts) for s in statuses}
    lines = []
    words = {claims.AGREES: "Agrees with the paper", claims.DISAGREES: "Disagrees with the paper"}
    for status, word in words.items():
        found = [(c, v) for c, v in verdicts if v.status == status]
        if found:
            claim, verdict = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            lines.append(f"<strong>{word}</strong>{more}: “{_esc(claim.quote)}” ({claim.section}) — "
                         f"{_esc(verdict.ours)}.")
    lines.append(f"{counts[claims.AGREES]} of the paper's claims agree, {counts[claims.DISAGREES]} disagree, "
                 f"{counts[claims.NOT_TESTED]} not tested: see "
                 '<a href="#beside-the-paper">This reproduction beside the paper</a>.')
    return lines


def summary_html(results: Mapping[str, Any], runtime_s: float | None = None) -> str:
    """The first page's summary (HTML), from `results` (results.json's content)."""
    device = results.get("device", "unknown")
    wall = runtime_s if runtime_s is not None else results.get("runtime_s")
    run = (f"<strong>{_esc(results.get('profile'))}</strong> profile (seed {results.get('seed')}) on "
           f"{_esc(device)}" + (f", {format_duration(wall)} wall time" if wall is not None else ""))
    items = [f"<li><strong>Data</strong>: {_data_line(results)}.</li>",
             f"<li><strong>Run</strong>: {run}.</li>"]
    sweep = _sweep_line(results)
    if sweep:
        items.append(f"<li><strong>Search</strong>: {sweep}.</li>")
    parts = [f'<section class="summary"><h2 id="summary">Summary</h2><ul>{"".join(items)}</ul>']
    best = results.get("best")
    if best:
        table = headline_table(results)
        parts.append(f"<p><strong>Best model</strong>: {_best_line(best)}.</p>")
        labels = {"model": " "}
        parts.append(for_reader(table, labels, missing_note=PAPER_ONLY_MSE_NOTE,
                                caption="Per-pixel error on the [0, 1] scale").to_html())
        parts.append(f"<p>{_ratio_line(results, table)}</p>")
    else:
        parts.append("<p>No trial completed, so there is no best model to report.</p>")
    parts += [f"<p>{line}</p>" for line in _optional_lines(results)]
    parts += [f"<p>{line}</p>" for line in _verdict_lines(results)]
    parts.append("</section>")
    return "\n".join(parts)


def beside_the_paper_html(results: Mapping[str, Any]) -> str:
    """The closing section: each claim (quoted, with its section), ours, the verdict."""
    rows = []
    for claim, verdict in claims.judge(results):
        css = verdict.status.replace(" ", "-")
        rows.append(f"<tr><td>{claim.section}</td><td><blockquote>{_esc(claim.quote)}</blockquote></td>"
                    f"<td>{_esc(verdict.ours)}</td><td class=\"{css}\">{verdict.status}</td></tr>")
    return (
        '<section class="beside-paper"><h1 id="beside-the-paper">This reproduction beside the paper</h1>'
        "<p>Each claim of the paper's results (§4) and conclusion (§5), quoted exactly, beside this "
        "reproduction's number that decides it. The verdicts are computed from <code>results.json</code> "
        "by <code>convlstm_lib/report/claims.py</code>. <em>Not tested</em>: this run has nothing that "
        "decides the claim (e.g. a profile too small to reach the paper's model size). \"Robust\" is read "
        f"as a loss within {claims.ROBUST_FACTOR:g} x the clean loss; the robustness numbers are per-pixel "
        "MSEs on the [0, 1] scale, so only the shape of the paper's curves compares.</p>"
        '<figure class="table"><table class="claims"><thead><tr><th>§</th><th>The paper says</th>'
        "<th>This reproduction</th><th>Verdict</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></figure></section>"
    )
