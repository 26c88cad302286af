"""Every sentence with a number that a notebook or the report shows, written from results.

Each function takes what was measured (a `results` section, or the library's own records) and
returns `Prose`: Markdown that a notebook cell shows as its output (`_repr_markdown_`) and the
report's first page turns into HTML. No number is typed here either: each comes from its
argument or from the library constant that defines it.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from convlstm_lib.data.course_io import FRAMES
from convlstm_lib.experiments.table1 import TRAINING_SET_LABELS
from convlstm_lib.report import claims
from convlstm_lib.report.results import BestTrial, Frame4, Frame16, Results
from convlstm_lib.report.tables import format_number


class Prose(str):
    """Markdown text: a notebook shows it as Markdown, anything else reads it as a string."""

    def _repr_markdown_(self) -> str:
        return str(self)


def prose(*sentences: str | None) -> Prose:
    """The non-empty `sentences` joined by spaces."""
    return Prose(" ".join(s for s in sentences if s))


def esc(value: Any) -> str:
    """A value as text that Markdown and HTML show as it is."""
    return html.escape(str(value), quote=False)


def n(value: float | None) -> str:
    """A number as the tables print it (three significant figures; a dash when missing)."""
    return format_number(value)


def x(ratio: float | None) -> str:
    """A ratio as 'r x' (`0.396 x`)."""
    return f"{format_number(ratio)} x"


def share(value: float) -> str:
    """A fraction as a whole percentage: 0.8148 -> '81 %'."""
    return f"{value:.0%}".replace("%", " %")


def duration(seconds: float) -> str:
    """`75.2` -> `'1 min 15 s'`; under a minute one decimal (`'9.4 s'`)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def listing(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def set_name(training_set: str) -> str:
    """A training set as a sentence names it (`cleaned` -> `removed outliers`)."""
    return claims.set_label(training_set)


def set_title(training_set: str) -> str:
    """A training set as a table names it (`cleaned` -> `Removed outliers`)."""
    return TRAINING_SET_LABELS.get(training_set, training_set)


# ---------------------------------------------------------------------------------------------
# The report's first page


def data_source(results: Results) -> Prose:
    """Which data the run used, and how much of it."""
    data = results.data
    counts = (f" ({data.n6_sequences} N6 and {data.n3_sequences} N3 sequences of {FRAMES} frames)"
              if data else "")
    if data and data.source == "course":
        return prose(f"the course's CSV files{counts}")
    return prose(f"sequences generated from MNIST digits to match the course data's statistics{counts}")


def run_line(results: Results, runtime_s: float | None = None) -> Prose:
    """Profile, seed, machine and wall time."""
    wall = runtime_s if runtime_s is not None else results.runtime_s
    device = esc(results.device or "unknown")
    return prose(f"**{esc(results.profile)}** profile (seed {results.seed}) on {device}"
                 + (f", {duration(wall)} wall time" if wall is not None else ""))


def sweep_line(results: Results) -> Prose:
    """The sweep's size, and whether its wall-clock budget cut it short."""
    sweep, cfg = results.sweep, results.config
    planned = sweep.n_trials if sweep else (cfg.n_trials if cfg else None)
    counted = sweep.counted if sweep else (results.counts.total if results.counts else None)
    if counted is None or planned is None or cfg is None:
        return prose()
    plural = "s" if cfg.epochs != 1 else ""
    line = f"random search, {counted} of {planned} trials of {cfg.epochs} epoch{plural} each"
    if counted < planned:
        budget = sweep.sweep_budget_s if sweep else 0
        cut = f" of {duration(budget)}" if budget else ""
        line += (f" (**{counted} of {planned} trials**: the wall-clock budget{cut} ended the sweep early, "
                 "so these numbers depend on the machine's speed)")
    return prose(line)


def best_model(best: BestTrial, kind: str = "ConvLSTM") -> Prose:
    """`trial 8, a ConvLSTM trained on the denoised set: 2 layer(s) x 15 kernels, ...`."""
    p = best.parameters
    trained_on = esc(set_name(best.training_set))
    return prose(f"trial {best.trial}, a {esc(kind)} trained on the *{trained_on}* set: "
                 f"{p.layers} layer(s) x {p.kernels} kernels, {esc(p.activation)}, {esc(p.optimizer)} at "
                 f"learning rate {n(p.lr)}, batch {p.batch_size}")


def headline_ratios(ours: float, copy_last: float | None, paper: float | None) -> Prose:
    """The best N6 MSE over copy-last's and over the paper's converted one."""
    parts = []
    if copy_last is not None:
        parts.append(f"{x(ours / copy_last)} copy-last")
    if paper is not None:
        parts.append(f"{x(ours / paper)} the paper's converted value (on other data)")
    return prose(f"Our best N6 MSE is {' and '.join(parts)}.") if parts else prose()


def seeds_line(results: Results) -> Prose:
    seeds = results.seeds
    if seeds is None or not seeds.n6_test_mse:
        return prose()
    return prose(f"The best configuration re-trained with {len(seeds.n6_test_mse)} seeds: N6 MSE "
                 f"{n(seeds.mean)} ± {n(seeds.spread)} (mean ± standard deviation).")


def models_line(results: Results) -> Prose:
    models = {k: m for k, m in (results.models or {}).items() if m is not None}
    if not models:
        return prose()
    best_of = ", ".join(f"{esc(name)} {n(m.n6_test_mse)}" for name, m in models.items())
    return prose(f"Best N6 MSE of each model family at equal budget: {best_of}.")


def final_line(results: Results) -> Prose:
    final = results.final
    if final is None or final.n6_test_mse is None:
        return prose()
    mc = final.model_config
    copy_last = results.baselines["copy_last"].n6_test_mse if results.baselines else None
    ratio = f" ({x(final.n6_test_mse / copy_last)} copy-last)" if copy_last else ""
    return prose(f"The final model ({final.members} runs of a {esc(mc.model)} {mc.layers} x {mc.kernels} "
                 f"averaged, notebook 06): N6 MSE {n(final.n6_test_mse)}{ratio}.")


def frame4_line(frame4: Frame4 | None) -> Prose:
    if frame4 is None:
        return prose()
    scored = {"extrapolate": frame4.extrapolate, "interpolate": frame4.interpolate,
              "neighbour mean": frame4.neighbour_mean, "copy last": frame4.copy_last}
    parts = ", ".join(f"{k} {n(v.n6_test_mse)}" for k, v in scored.items())
    ratios = frame4.ratios
    versus = [f"{x(value)} {label}" for value, label in
              ((ratios.interpolate_to_extrapolate, "extrapolation"),
               (ratios.interpolate_to_neighbour_mean, "the neighbour mean")) if value is not None]
    ratio_text = f"; interpolation is {' and '.join(versus)}" if versus else ""
    return prose(f"Frame 4 (N6 MSE) predicted by {parts}{ratio_text}.",
                 f"The course CSV holds frame 4 by {esc(frame4.course_csv)}.")


def frame16_line(frame16: Frame16 | None) -> Prose:
    if frame16 is None:
        return prose()
    parts = ", ".join(f"{esc(k)} {n(v.n6_test_mse)}" for k, v in frame16.entries.items())
    return prose(f"Frame 16 (N6 MSE) by context length: {parts}.",
                 f"The course CSV holds frame 16 by {esc(frame16.course_csv)}.")


VERDICT_WORDS = {claims.AGREES: "Agrees with the paper", claims.PARTLY: "Partly agrees with the paper",
                 claims.DISAGREES: "Disagrees with the paper"}


def verdict_lines(verdicts: Sequence[tuple[claims.Claim, claims.Verdict]]) -> list[Prose]:
    """One line per verdict found (its first claim quoted), then the count of each."""
    lines = []
    for status, word in VERDICT_WORDS.items():
        found = [(c, v) for c, v in verdicts if v.status == status]
        if found:
            claim, verdict = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            lines.append(prose(f"**{word}**{more}: “{esc(claim.quote)}” ({claim.section}) — "
                               f"{esc(verdict.ours)}."))
    counts = {s: sum(v.status == s for _, v in verdicts) for s in claims.VERDICTS}
    lines.append(prose(
        f"{counts[claims.AGREES]} of the paper's claims agree, {counts[claims.PARTLY]} partly agree, "
        f"{counts[claims.DISAGREES]} disagree, {counts[claims.NOT_TESTED]} not tested: see "
        "[This reproduction beside the paper](#beside-the-paper)."))
    return lines


def verdict_rules() -> Prose:
    """How the closing section's verdicts are read, with their thresholds."""
    return prose(
        f"*Partly agrees*: a claim about many points (such as “throughout each of the types of noise”) that "
        f"holds at {share(claims.PARTLY_SHARE)} of them or more but at fewer than "
        f"{share(claims.THROUGHOUT_SHARE)}; at {share(claims.THROUGHOUT_SHARE)} or more it agrees.",
        f"\"Robust\" is read as a loss within {claims.ROBUST_FACTOR:g} x the clean loss.")


def mapping_line(values: Mapping[str, float | None]) -> str:
    """'a 1.00e-03, b 2.00e-03'."""
    return ", ".join(f"{esc(k)} {n(v)}" for k, v in values.items())
