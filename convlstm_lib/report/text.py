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

from scipy import stats

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data.calibration import COPY_LAST_SCALE, EARLY_STILL_PX, REAL, REAL_FIGURES, SHARE_TOL
from convlstm_lib.data.course_io import FRAMES, IMAGE_SIZE, TEST_FRAMES
from convlstm_lib.data.generator import UNMATCHED, GeneratorConfig
from convlstm_lib.data.preprocessing import mahalanobis_radius
from convlstm_lib.experiments.paper import PAPER_FLAGGED_TRANSITIONS
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


def share(value: float, digits: int = 0) -> str:
    """A fraction as a percentage: 0.8148 -> '81 %' (`digits` decimals)."""
    return f"{value:.{digits}%}".replace("%", " %")


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


# ---------------------------------------------------------------------------------------------
# Notebook 01: the data


def paper_data() -> Prose:
    """The paper's two data sets, as its §3.1 describes them."""
    paper = get_profile("paper")
    return prose(
        f"The paper (§3.1) trains on two data sets of a single MNIST digit moving across a "
        f"{IMAGE_SIZE}x{IMAGE_SIZE} canvas for {FRAMES} frames: **N6** ({paper.n6} sequences of a six) and "
        f"**N3** ({paper.n3} sequences of a three). The digit is \"randomly modified in an autoregressive "
        "manner\": it rotates, drifts to the right and down, fades and blurs from frame to frame, and sensor "
        f"noise sits on every frame. Frames {TEST_FRAMES[0] + 1} and {TEST_FRAMES[1] + 1} of every sequence "
        f"are the test set; the other {FRAMES - len(TEST_FRAMES)} are for training.")


def data_loaded(raw) -> Prose:
    """Where the sequences came from."""
    where = esc(raw.directory.resolve().relative_to(paths.ROOT)) if raw.directory.resolve().is_relative_to(
        paths.ROOT) else esc(raw.directory.name)
    made = (f"Generated with seed {raw.truth_n6['seed']}; the generator's settings are saved with the data "
            "(`manifest.json`)." if raw.has_truth else "Course data: no ground truth.")
    return prose(f"Source: **{esc(raw.source)}** (`{where}`).", made)


def calibration_rules() -> Prose:
    """How each row of the calibration table is held to its real figure (`RealFigure.passes`)."""
    ratio = next(f for f in REAL_FIGURES if f.rule == "ratio")
    rotation = REAL["rotation_median_deg"]
    return prose(
        f"**How each row is compared.** Within {share(ratio.tol)} of the real figure; shares (of sequences) "
        f"within {SHARE_TOL * 100:g} points; the median rotation (real {rotation.real:g} deg, where a ratio "
        f"means nothing) within {rotation.tol:g} deg.")


def calibration_result(table, n6_sequences: int, n3_sequences: int) -> Prose:
    """How many figures are within tolerance, and which are not."""
    misses = table.loc[~table["within"], "quantity"].tolist()
    known = [q for q in misses if q in UNMATCHED]
    other = [q for q in misses if q not in UNMATCHED]
    return prose(
        f"**{int(table['within'].sum())} of {len(table)}** figures within tolerance (measured on "
        f"{n6_sequences} N6 and {n3_sequences} N3 sequences).",
        ("Known misses: " + ", ".join(f"`{q}`" for q in known) + ".") if known else None,
        ("Also outside: " + ", ".join(f"`{q}`" for q in other) + ".") if other else None)


def early_motion(gen_cfg: GeneratorConfig) -> Prose:
    """Why the generator gives every sequence the same slow drift at first (the real early figures)."""
    noise_alone = 2 * (REAL["noise_sigma"].real / COPY_LAST_SCALE) ** 2
    return prose(
        "**Early motion: a slow shared drift, then each sequence's own.** The real frames say three things "
        f"about the start that look hard to reconcile: the centre of mass moves about "
        f"{REAL['drift_x_early'].real:g} px a step per axis early on, yet "
        f"{share(REAL['early_still_share'].real)} "
        f"of the steps from frame 2 to frame 3 are shorter than {EARLY_STILL_PX:g} px, and frames 3 and 4 "
        f"differ little (copy-last MSE {n(REAL['copy_last_mse_f4'].real)}, of which the noise alone is "
        f"{n(noise_alone)}). On a digit as crisp as the real ones (Laplacian variance about "
        f"{REAL['laplacian_var_f4'].real:,.0f} at frame 4) every fraction of a pixel of motion costs "
        "copy-last "
        "error quadratically, so the cheapest motion that carries that mean is the same small step for every "
        "sequence: the generator gives all of them a slow drift down and to the right "
        f"(`drift_base` = {gen_cfg.drift_base:g} px a step per axis, fading out) and starts each sequence's "
        "own drift only after frame 4. One pair of figures pulls apart without breaking: the speed along the "
        f"dominant axis late in the sequence (real {REAL['late_speed_dominant'].real:g} px a step) and the "
        f"mean drift down over frames 14-16 (real {REAL['drift_y_late'].real:g} px a step) cannot both sit "
        "on "
        "their real figures given the drift directions; both stay within tolerance.")


def outlier_stratification(gen_cfg: GeneratorConfig, n6: int, n3: int) -> Prose:
    """Why the generator spreads its outlier jumps evenly over the transitions."""
    expected = gen_cfg.outlier_rate * n3
    odds = ", ".join(share(stats.poisson.pmf(k, expected)) for k in range(4))
    return prose(
        "**The copy-last error at frame 3 -> 4 is dominated by the outliers.** One outlier jump on "
        "the transition into frame 4 of one N3 sequence moves the mean over all of them by more than the "
        f"smooth motion does. Drawn independently, {share(gen_cfg.outlier_rate)} of the transitions would "
        "put "
        f"no, one, two or three jumps there depending on the seed (Poisson: {odds}). The generator therefore "
        "stratifies the jumps by transition (`generator.outlier_mask`): every transition holds the expected "
        f"share of the sequences ({expected:g} of N3's {n3}, {gen_cfg.outlier_rate * n6:g} of N6's {n6}), in "
        "sequences drawn at random, so the figure no longer hangs on the draw. The table below gives the "
        "copy-last error with and without the sequences whose own transition is an injected outlier "
        "(generated data only): the last column is the smooth motion alone. These figures are also the "
        "copy-last baselines the models are judged against (notebook 04; on the [0, 1] scale of the "
        "pre-processing they differ by the ratio of the ranges).")


def copy_last_spread(spread) -> Prose:
    """The N3 copy-last error at frame 3 -> 4 over seeds, against the real figure."""
    figure = REAL["copy_last_mse_f4"]
    values = spread["copy-last MSE"]
    return prose(
        f"Over {len(spread)} seeds the N3 copy-last error at frame 3 -> 4 has median "
        f"**{n(values.median())}** "
        f"and mean {n(values.mean())} (real {n(figure.real)}); {sum(figure.passes(v) for v in values)} of "
        f"{len(spread)} seeds fall within {figure.tolerance.lstrip('±')}, and seed {spread['seed'].iloc[0]} "
        f"(the one this report uses) has {spread['jumps at 3 -> 4'].iloc[0]} jump(s) there. The smooth "
        "motion "
        "alone (the table's last column) is what a model learns from.")


def drift_legend() -> Prose:
    """What the drift figure's reference marks are."""
    lengths = " / ".join(f"{REAL[f'drift_length_p{q}'].real:g}" for q in ("10", "50", "90"))
    return prose(
        "Each point is one N6 sequence's drift (dx right, dy down, as displayed), coloured by the group the "
        "real-data rules put it in (`calibration.drift_groups`). The reference marks are the real figures: "
        "the "
        "dashed circles are the tenth, fiftieth and ninetieth percentiles of the real drift length "
        f"({lengths} "
        "px); the crosses are the real medians of the dominant-right, dominant-down and upward groups; the "
        "grey "
        "lines bound the \"one dominant axis\" rule and the upward and leftward rules.")


def generator_outliers(gen_cfg: GeneratorConfig) -> Prose:
    """What an injected outlier is, beside what the paper found."""
    return prose(
        "The course data's own note says \"There are outliers in the dataset\", and the paper flags "
        f"{PAPER_FLAGGED_TRANSITIONS} anomalous transitions. The generator injects about "
        f"{share(gen_cfg.outlier_rate)} of transitions as jumps (an extra rotation of "
        f"{gen_cfg.outlier_rotation_min:g}-{gen_cfg.outlier_rotation_max:g} deg and a shift of "
        f"{gen_cfg.outlier_shift_min:g}-{gen_cfg.outlier_shift_max:g} px), far outside the normal steps.")


def paper_outliers() -> Prose:
    """The paper's outlier count as a share of its N6 transitions."""
    paper = get_profile("paper")
    transitions = paper.n6 * (FRAMES - 1)
    return prose(f"The paper flags {PAPER_FLAGGED_TRANSITIONS} transitions in its N6 "
                 f"({paper.n6} x {FRAMES - 1} = {transitions:,} transitions: "
                 f"{share(PAPER_FLAGGED_TRANSITIONS / transitions, digits=2)}).")


# ---------------------------------------------------------------------------------------------
# Notebook 02: pre-processing


def preprocessing_done(ds) -> Prose:
    """The scaler's range and what building the datasets took."""
    info, timings = ds.info, ds.info["timings"]
    return prose(
        f"Source: **{esc(info['source'])}**; scaler: lo = {ds.scaler.lo:.1f}, hi = {ds.scaler.hi:.1f} (raw "
        f"scale). Building the datasets took {timings['total_s']:.1f} s (outliers "
        f"{timings['outliers_s']:.1f} s, "
        f"denoising {timings['denoise_s']:.1f} s); later runs read them from the cache.")


def outlier_rule(settings: Mapping[str, Any]) -> Prose:
    """What "beyond three standard deviations" means in the detector's k dimensions."""
    sigmas, k = settings["sigmas"], settings["n_components"]
    tail = share(settings["tail_probability"], digits=2)
    return prose(
        f"**What \"three standard deviations\" means here.** In one dimension, |z| > {sigmas:g} flags {tail} "
        f"of a Gaussian. In k dimensions the squared Mahalanobis distance of a Gaussian sample follows a "
        "chi-square with k degrees of freedom, so a transition is flagged when its distance exceeds the "
        "radius "
        f"whose chi-square tail is that same {tail}, whatever k is (r = {mahalanobis_radius(2, sigmas):.2f} "
        f"for k = 2, {mahalanobis_radius(k, sigmas):.2f} for the k = {k} used here). Before the PCA every "
        f"frame is blurred (Gaussian, {settings['smooth_sigma']:g} px) so the per-pixel sensor noise does "
        "not "
        "dominate the differences, and each sequence's differences are divided by their median norm (a digit "
        "with more ink moves more pixels). The Gaussian is the sample mean and covariance of the k "
        f"coordinates. Real differences have heavier tails than a Gaussian, so a little more than {tail} of "
        "the clean transitions cross the radius: the table counts them. The scatter shows the first two of "
        "the k principal components; distances are measured in all k.")


def denoised_error(info: Mapping[str, Any]) -> Prose:
    """The training targets' error to the clean frames, before and after denoising."""
    d = info.get("denoise", {})
    if "mse_raw_to_clean" not in d:
        return prose("Course data carry no clean frames: the denoising cannot be scored here.")
    return prose(
        f"Per-pixel MSE of the training targets to the clean frames: raw **{n(d['mse_raw_to_clean'])}**, "
        f"denoised **{n(d['mse_denoised_to_clean'])}** "
        f"({d['mse_raw_to_clean'] / d['mse_denoised_to_clean']:.1f}x lower).")
