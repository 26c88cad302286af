"""Every sentence with a number that a notebook or the report shows, written from results.

Each function takes what was measured (a `results` section, or the library's own records) and
returns `Prose`: Markdown that a notebook cell shows as its output (`_repr_markdown_`) and the
report's first page turns into HTML. No number is typed here either: each comes from its
argument or from the library constant that defines it.
"""
from __future__ import annotations

import dataclasses
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
from convlstm_lib.data.tasks import PAPER_TASK, Task
from convlstm_lib.experiments import protocol
from convlstm_lib.experiments.paper import (
    PAPER_BEST,
    PAPER_COLLAPSED_RUNS,
    PAPER_FLAGGED_TRANSITIONS,
    PAPER_N3_SIZE,
    PAPER_N6_TEST_SIZE,
)
from convlstm_lib.experiments.table1 import ANY_KIND, OVERALL, TRAINING_SET_LABELS
from convlstm_lib.report import claims, targets
from convlstm_lib.report.results import (
    BestTrial,
    Final,
    Frame4,
    Frame16,
    ModelBest,
    PaperRule,
    PaperRuleRow,
    Results,
    SweepSection,
    best_kind,
)
from convlstm_lib.report.tables import format_number
from convlstm_lib.training.loop import DIVERGED_MSE


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


def count(number: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{number} {word}" + ("" if number == 1 else "s")


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


def selection_line(results: Results) -> Prose:
    """How every model was chosen (`protocol.sentence`), from results.json's protocol."""
    if results.protocol is None:
        return prose()
    return prose(protocol.sentence(dataclasses.asdict(results.protocol.validation)))


def best_model(best: BestTrial, kind: str = "ConvLSTM") -> Prose:
    """`trial 8, a ConvLSTM trained on the denoised set, chosen by its validation MSE ...: 2 layer(s) ...`."""
    p = best.parameters
    trained_on = esc(set_name(best.training_set))
    return prose(f"trial {best.trial}, a {esc(kind)} trained on the *{trained_on}* set, chosen by its "
                 f"validation MSE ({n(best.val_mse)}): "
                 f"{p.layers} layer(s) x {p.kernels} kernels, {esc(p.activation)}, {esc(p.optimizer)} at "
                 f"learning rate {n(p.lr)}, batch {p.batch_size}")


def headline_ratios(final: float | None, convlstm: float, copy_last: float | None,
                    paper: float | None) -> Prose:
    """The N6 MSE of the final model (None: not trained) and of the best ConvLSTM over copy-last's,
    and the ConvLSTM's over the paper's converted one."""
    lines = []
    if final is not None and copy_last is not None:
        lines.append(f"Our final model's N6 MSE is {x(final / copy_last)} copy-last.")
    parts = [f"{x(convlstm / copy_last)} copy-last"] if copy_last is not None else []
    if paper is not None:
        parts.append(f"{x(convlstm / paper)} the paper's converted value (on other data)")
    if parts:
        lines.append(f"Our best ConvLSTM's N6 MSE is {' and '.join(parts)}.")
    return prose(" ".join(lines))


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
    return prose("N6 MSE of each model family's best trial (chosen on validation) at equal budget: "
                 f"{best_of}.")


def _rule_pick(row: PaperRuleRow) -> str:
    """'trial 1 (N6 MSE 8.66e-04) instead of trial 0 (8.79e-04), 1.5 % lower'."""
    return (f"trial {row.paper_rule_trial} (N6 MSE {n(row.paper_rule_n6_test_mse)}) instead of trial "
            f"{row.trial} ({n(row.n6_test_mse)}), {share(row.optimism, digits=1)} lower")


def paper_rule_line(rule: PaperRule | None) -> Prose:
    """What choosing on the test frames, as the paper did, would have picked instead, and the
    optimism that buys (`table1.paper_rule_record`)."""
    if rule is None or rule.overall is None:
        return prose()
    rows = {**rule.per_training_set, OVERALL: rule.overall}
    if rule.any_kind is not None:
        rows[ANY_KIND] = rule.any_kind
    moved = {k: r for k, r in rows.items() if not r.same_pick}
    if not moved:
        return prose("Choosing on the N6 test frames, as the paper did, would have picked the same trials "
                     f"({len(rows)} picks compared): no optimism to hide here.")
    where = {OVERALL: "the best ConvLSTM", ANY_KIND: "the best of every model kind"}
    parts = "; ".join(f"{where.get(k, f'the {esc(set_name(k))} set')}: {_rule_pick(r)}"
                      for k, r in moved.items())
    return prose(f"Choosing on the N6 test frames, as the paper did, would have picked other trials for "
                 f"{len(moved)} of {len(rows)} picks ({parts}): an N6 test MSE that low would be optimistic, "
                 "since the test frames chose it.")


def final_line(results: Results) -> Prose:
    """`2 runs of a convgru 3 x 32 averaged (notebook 06), its recipe kept where it lowered the
    validation MSE (9.46e-04): N6 MSE 7.45e-04 (0.396 x copy-last).`"""
    final = results.final
    if final is None or final.n6_test_mse is None:
        return prose()
    mc = final.model_config
    copy_last = results.baselines["copy_last"].n6_test_mse if results.baselines else None
    ratio = f" ({x(final.n6_test_mse / copy_last)} copy-last)" if copy_last else ""
    return prose(f"{final.members} runs of a {esc(mc.model)} {mc.layers} x {mc.kernels} averaged "
                 f"(notebook 06), its recipe kept where it lowered the validation MSE ({n(final.val_mse)}): "
                 f"N6 MSE {n(final.n6_test_mse)}{ratio}.")


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
                 f"The course CSV holds frame 4 by {esc(frame4.course_csv)} (the lower validation MSE).")


def frame16_line(frame16: Frame16 | None) -> Prose:
    if frame16 is None:
        return prose()
    parts = ", ".join(f"{esc(k)} {n(v.n6_test_mse)}" for k, v in frame16.entries.items())
    return prose(f"Frame 16 (N6 MSE) by context length: {parts}.",
                 f"The course CSV holds frame 16 by {esc(frame16.course_csv)} (the lowest validation MSE).")


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


def validation_split(ds, cfg) -> Prose:
    """The validation split of `ds` (`Datasets.validation`) and how every model is chosen on it."""
    v = ds.validation
    return prose(
        f"**Validation**: {v['sequences']} of {cfg.n6} N6 sequences (`val_share` = {cfg.val_share:g}, seed "
        f"{cfg.seed}) held out whole, {v['windows']} windows; the training sets hold "
        f"{len(ds.train['base']):,} windows of the other sequences.", protocol.sentence(v))


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
        "the k principal components; distances are measured in all k. The transitions into and out of a "
        f"test frame (frames {TEST_FRAMES[0] + 1} and {TEST_FRAMES[1] + 1}) are neither fitted nor flagged, "
        "so the test frames shape neither the cleaned sets nor the jump targets; precision and recall count "
        "the transitions examined.")


def denoised_error(info: Mapping[str, Any]) -> Prose:
    """The training targets' error to the clean frames, before and after denoising."""
    d = info.get("denoise", {})
    if "mse_raw_to_clean" not in d:
        return prose("Course data carry no clean frames: the denoising cannot be scored here.")
    return prose(
        f"Per-pixel MSE of the training targets to the clean frames: raw **{n(d['mse_raw_to_clean'])}**, "
        f"denoised **{n(d['mse_denoised_to_clean'])}** "
        f"({d['mse_raw_to_clean'] / d['mse_denoised_to_clean']:.1f}x lower).")


# ---------------------------------------------------------------------------------------------
# Notebook 03: the sweep


def paper_search() -> Prose:
    """The paper's random search (§3.3), from the paper profile that reproduces it."""
    p = get_profile("paper")
    return prose(
        f"The paper picked its ConvLSTM by random search: {p.n_trials} trials of {p.epochs} epochs, each "
        "drawing "
        f"an activation (ReLU or tanh), {p.layers_min}-{p.layers_max} layers, "
        f"{p.kernels_min}-{p.kernels_max} "
        f"kernels, a learning rate log-uniform in {p.lr_min:g}..{p.lr_max:g}, a batch size in "
        f"{p.batch_size_min}-{p.batch_size_max}, an optimiser of `torch.optim` and one of the four training "
        "sets "
        f"of notebook 02. Runs that collapse to blank images were set aside ({PAPER_COLLAPSED_RUNS} of "
        f"{p.n_trials}).")


def profile_search(cfg) -> Prose:
    """How the profile narrows the paper's search."""
    kinds = len(cfg.models)
    per_kind = f", {cfg.n_trials // kinds} of each of {kinds} model kinds" if kinds > 1 else ""
    schedule = ("that decays linearly to zero over the run instead of the paper's constant one: more and "
                "better-settled steps for the same CPU time"
                if cfg.lr_schedule == "linear" else "that stays constant")
    return prose(
        f"This run uses the **{esc(cfg.profile)}** profile: {cfg.n_trials} trials x "
        f"{count(cfg.epochs, 'epoch')}{per_kind}, models of at most {count(cfg.layers_max, 'layer')} x "
        f"{cfg.kernels_max} kernels, {len(cfg.optimizers)} optimisers, and batches of "
        f"{cfg.batch_size_min}-{cfg.batch_size_max} at a learning rate {schedule} "
        "(`convlstm_lib/config.py`).")


def sweep_done(cfg, summary: Mapping[str, Any], elapsed_s: float) -> Prose:
    """The sweep's counts (`sweep_record.summarise`), and whether its budget cut it short."""
    statuses = ", ".join(f"{count} {status}" for status, count in summary["status_counts"].items())
    counted = summary["counted"]
    return prose(
        f"Study **{esc(cfg.study_name)}**: {counted} of {cfg.n_trials} trials done ({elapsed_s:.0f} s in "
        "this "
        f"run; {summary['train_time_s']:.0f} s of training in all): {statuses}.",
        f"Pruning saved an estimated {summary['time_saved_s']:.0f} s of training." if cfg.prune else None,
        (f"**The wall-clock budget ({cfg.sweep_budget_s:.0f} s) stopped the sweep after {counted} of "
         f"{cfg.n_trials} trials**: the results below rest on fewer trials than the profile promises."
         if cfg.sweep_budget_s and counted < cfg.n_trials else None))


def best_of_sweep(best: Mapping[str, Any] | None) -> Prose:
    """The best trial of every kind the sweep tried, by validation MSE, its kind named
    (`sweep_record.summarise`)."""
    if best is None:
        return prose("No trial completed: see the reasons in the table above.")
    return prose(
        f"Best trial of any model kind by validation MSE ({n(best['val_mse'])}): **{best['number']}**, a "
        f"**{esc(best['model'])}** "
        f"({esc(best['dataset'])}, "
        f"{esc(best['activation'])}, {best['layers']} layer(s) x {best['kernels']} kernels, "
        f"{esc(best['optimizer'])} "
        f"lr {best['lr']:.2e}, batch {best['batch_size']}): N6 test MSE {n(best['n6_test_mse'])}, N3 MSE "
        f"{n(best['n3_mse'])}. Table 1 (notebook 04) holds the paper's model, the ConvLSTM, alone; notebook "
        "06 "
        "compares the kinds.")


# ---------------------------------------------------------------------------------------------
# Notebook 04: Table 1 and beyond


def results_overview(cfg, ds, counts: Mapping[str, int]) -> Prose:
    return prose(
        f"Profile **{esc(cfg.profile)}**, seed {cfg.seed}, data source **{esc(ds.info['source'])}**: "
        f"{counts['total']} trials, {counts['complete']} complete; N6 test {len(ds.n6_test)} windows, "
        f"N3 {len(ds.n3)} windows.")


def counting_rule() -> Prose:
    """Which trials count, and why the others do not."""
    return prose(
        "A trial counts only when it completed with finite metrics. The paper dropped "
        f"{PAPER_COLLAPSED_RUNS} runs whose predictions were blank; here such runs are marked **collapsed** "
        "(the mean per-image standard deviation of the validation predictions below a threshold, "
        "`evaluation.is_collapsed`), runs whose loss exploded (not a finite number, or above "
        f"{DIVERGED_MSE:g} per pixel on the [0, 1] scale: `loop.DIVERGED_MSE`) **diverged**, and runs that "
        "could not train at all (e.g. SparseAdam on dense gradients) **failed**. They are excluded from "
        "Figure 6 and Table 1 and counted here.")


def best_convlstm(best: Mapping[str, Any], copy_last_mse: float,
                  floor: Mapping[str, Mapping[str, Any]]) -> Prose:
    """Table 1's best row, the paper's model (`table1.best_trial(..., model=PAPER_MODEL)`), against
    copy-last and its target, and how much of its loss is noise."""
    ratio = float(best["n6_test_mse"]) / float(copy_last_mse)
    target = targets.BEST_TRIAL
    verdict = "met" if target.met(float(best["n6_test_mse"]), float(copy_last_mse)) else "not met"
    measured = floor["N6 test"]["measured"]
    floor_text = (f"The measured N6 noise floor is {n(measured)}, i.e. "
                  f"{share(measured / best['n6_test_mse'])} of "
                  "this model's loss is noise no model can predict." if measured is not None else
                  f"The estimated noise floor (corner σ²) is {n(floor['N6 test']['corner_sigma2'])}.")
    return prose(
        f"**Best ConvLSTM (the paper's model), chosen by its validation MSE ({n(best['val_mse'])})**: "
        f"trial {int(best['number'])}, training set "
        f"*{esc(set_title(best['dataset']))}*, {int(best['layers'])} layer(s) x {int(best['kernels'])} "
        "kernels, "
        f"{esc(best['activation'])}, {esc(best['optimizer'])} at lr {best['lr']:.3g}, batch "
        f"{int(best['batch_size'])}. N6 test MSE {n(best['n6_test_mse'])} against copy-last "
        f"{n(copy_last_mse)}: "
        f"**{x(ratio)} copy-last** (the project's target on the {target.profile} profile, {target}: "
        f"{verdict}).",
        floor_text)


def seed_spread(spread: Mapping[str, Any], best_mse: float, copy_last_mse: float) -> Prose:
    """The best row over seeds, and the seeds' runs averaged."""
    ensemble = spread.get("ensemble")
    averaged = (f" The same {ensemble['runs']} runs averaged (`seeds.SeedEnsemble`, one prediction the mean "
                "of "
                f"theirs) score **{n(ensemble['n6_test_mse'])}** on N6 test, "
                f"{x(ensemble['n6_test_mse'] / copy_last_mse)} copy-last against "
                f"{x(best_mse / copy_last_mse)} "
                "for the sweep's run alone: the runs are trained anyway for the spread, so this costs only "
                "their "
                f"predictions, but it is {ensemble['runs']} models, not one." if ensemble else "")
    return prose(
        f"N6 test MSE over {len(spread['seeds'])} seeds: **{n(spread['mean'])} ± {n(spread['spread'])}** "
        "(mean ± "
        f"standard deviation); the extra runs took {spread['extra_runs_s']:.0f} s.{averaged}")


def paper_conversion() -> Prose:
    """The paper's loss convention, and its best row converted back to per pixel."""
    best = PAPER_BEST
    return prose(
        "The paper's loss is not a per-pixel MSE: it **sums the per-batch mean MSEs over the batches of the "
        "test set and divides by the number of samples**, i.e. per-pixel MSE x ceil(N/B) / N, about "
        "per-pixel "
        "MSE / batch size. Its numbers therefore shrink with the batch size and cannot be compared across "
        "rows. "
        f"Converted back (x B assuming full batches, or exactly with the last partial batch of its "
        f"{PAPER_N6_TEST_SIZE:,} N6 test and {PAPER_N3_SIZE:,} N3 windows), the paper's best, "
        f"{best.n6_loss:g} at "
        f"batch {best.batch_size}, is a per-pixel MSE of about {n(best.n6_mse_full_batches)} "
        f"({n(best.n6_mse)} "
        "exactly). Our trials' paper-convention losses are computed the same way at each trial's own batch "
        "size.")


def paper_comparison_notes() -> Prose:
    """Where this reproduction and the paper can and cannot be compared."""
    best = PAPER_BEST
    low, high = sorted((best.n6_mse, best.n6_mse_full_batches))
    return prose(
        "* **Loss values.** The paper's Table 1 numbers are per-pixel MSEs divided by the batch size "
        "(above). "
        f"Converted back, its best N6 loss is a per-pixel MSE of {n(low)} to {n(high)} on its data; ours "
        "are per "
        "pixel throughout, so they can be compared with each other and with the baselines.\n"
        "* **Which pre-processing wins.** The paper's best model was trained on the "
        f"{esc(set_name(best.training_set))} set and the differences between its four training sets were "
        "small "
        "compared with the spread across hyper-parameters (its Figure 6); Figure 6 here shows the same kind "
        "of "
        "overlap.\n"
        f"* **N3 against N6.** The paper found N3 slightly harder than N6 test ({best.n3_loss:g} against "
        f"{best.n6_loss:g} in its units for its best model); our N3 and N6 MSE are side by side in Table 1.")


def paper_rule_table_note(rule_rows) -> Prose:
    """Under the paper-rule table (`table1.paper_rule_table`): what its columns say."""
    moved = int((~rule_rows["same_pick"].astype(bool)).sum())
    return prose(
        "Each pick of this reproduction (the lowest validation MSE) beside the trial the paper's rule, the "
        "lowest N6 test MSE among the same trials, would have picked. *Optimism* is how much lower the paper "
        "rule's N6 test MSE is than the honest one: what choosing on the test frames hides. "
        f"{moved} of {len(rule_rows)} picks differ.")


def frame16_contexts(frame16: Frame16) -> Prose:
    """Did a longer past beat two frames, refined the same way?"""
    refined = sorted((k for k in frame16.entries if k != frame16.paper_protocol),
                     key=lambda k: Task.parse(k).context)
    if PAPER_TASK.name not in refined or len(refined) < 2:
        return prose("Only one context was measured.")
    two = frame16.entries[PAPER_TASK.name].n6_test_mse
    rows = ", ".join(f"{Task.parse(k).context} frames {n(frame16.entries[k].n6_test_mse)} "
                     f"({x(frame16.entries[k].n6_test_mse / two)})" for k in refined)
    better = [k for k in refined if k != PAPER_TASK.name and frame16.entries[k].n6_test_mse <= two]
    verdict = (f"a longer past is no worse than two frames here ({', '.join(better)})" if better
               else "every longer past is worse than two frames here")
    paper = frame16.entries[frame16.paper_protocol].n6_test_mse
    return prose("Frame 16 refined the same way from each context (N6 test MSE, ratio to two frames): "
                 f"{rows}; "
                 f"{verdict}. The paper's model alone: {n(paper)}.")


def frame4_floor(limits: Mapping[str, float], frame4: Frame4) -> Prose:
    """How low frame 4 can go, against the interpolator and the target for it."""
    neighbour = frame4.neighbour_mean.n6_test_mse
    interp = frame4.interpolate.n6_test_mse
    target = targets.INTERPOLATION
    goal = target.ratio * neighbour
    return prose(
        f"**How low frame 4 can go.** {limits['jumps']} of the {limits['windows']} N6 sequences jump at "
        "frame 3 -> "
        f"4 or 4 -> 5. With the target's noise ({n(limits['noise'])} per window) that puts the floor of any "
        f"interpolator at **{n(limits['floor'])}, {x(limits['floor'] / neighbour)} the neighbour mean** "
        f"({n(neighbour)}). The target for frame 4, {target} ({n(goal)}), leaves "
        f"{n(goal - limits['floor'])} per "
        f"window above that floor; on the {limits['ordinary']} ordinary windows the neighbour mean spends "
        f"{n(limits['neighbour_excess'])} above the target's noise (its inputs' noise and the motion between "
        f"frames 3 and 5). The interpolator scores {n(interp)}, {x(interp / neighbour)} the neighbour mean: "
        f"{'met' if target.met(interp, neighbour) else 'not met'}.")


def against_extrapolation(limits: Mapping[str, float], frame4: Frame4) -> Prose:
    """The interpolator against the paper's extrapolation, and what the two floors allow."""
    extrapolation = frame4.extrapolate.n6_test_mse
    interp = frame4.interpolate.n6_test_mse
    bound = limits["floor"] / limits["carry_on"]
    return prose(
        f"**Against the extrapolation.** The paper's protocol reads frame 4 from frames 2 and 3 at "
        f"{n(extrapolation)}; the interpolator is **{x(interp / extrapolation)}** that. The extrapolation's "
        "own "
        "floor at frame 4 (notebook 06's carry-on reference, which knows the clean frame 3 and its last "
        "turn) is "
        f"{n(limits['carry_on'])}: two models at their floors would stand at {x(bound)}, so the better the "
        f"extrapolator, the less room that ratio has, and below {x(bound)} it cannot go.")


def course_csvs(frame4: Frame4, frame16: Frame16, names: Sequence[str]) -> Prose:
    """Which predictions the course CSVs hold, with their numbers."""
    by_interp = frame4.course_csv == frame4.interpolate.task
    held = frame4.interpolate if by_interp else frame4.extrapolate
    r = frame4.ratios
    return prose(
        "Written: " + ", ".join(f"`{esc(name)}`" for name in names) + ".",
        f"The course CSVs hold **frame 4 by {esc(frame4.course_csv)}** (N6 test MSE {n(held.n6_test_mse)}; "
        f"interpolation is {x(r.interpolate_to_extrapolate)} the paper's extrapolation and "
        f"{x(r.interpolate_to_neighbour_mean)} the mean of frames 3 and 5) and **frame 16 by "
        f"{esc(frame16.course_csv)}** (N6 test MSE {n(frame16.entries[frame16.course_csv].n6_test_mse)}, "
        "against "
        f"{n(frame16.entries[frame16.paper_protocol].n6_test_mse)} from the paper's model and two frames). "
        "The "
        "paper's protocol rows (Table 1) are unchanged.")


# ---------------------------------------------------------------------------------------------
# Notebook 05: robustness


def robustness_plan(cfg, side: int) -> Prose:
    """The corruptions, at the paper's resolution and at this profile's."""
    paper = get_profile("paper")
    return prose(
        "* **Gaussian**, **Poisson** and **salt-and-pepper** noise at intensities from zero to one (the "
        "paper: "
        f"{paper.noise_levels} levels; this profile: {cfg.noise_levels});\n"
        f"* a **missing region**: a square set to black in both input frames, growing by {cfg.region_step} "
        f"pixel(s) (the paper: {paper.region_step}) until the whole {side} x {side} image is gone.")


def robustness_setup(model_config, test_sets: Mapping[str, Any], config, labels: Mapping[str, str]) -> Prose:
    windows = ", ".join(f"{labels[name]} {len(ws)}" for name, ws in test_sets.items())
    return prose(
        f"Best model: {model_config.layers} layer(s) x {model_config.kernels} kernels, "
        f"{esc(model_config.activation)}. Test windows: {windows}; {len(config.levels)} noise intensities x "
        f"{len(config.kinds)} kinds and {len(config.sizes)} region sizes.")


def robustness_done(runtime_s: float, clean: Mapping[str, float], labels: Mapping[str, str]) -> Prose:
    losses = ", ".join(f"{labels[name]} {n(value)}" for name, value in clean.items())
    return prose(f"Evaluated in {runtime_s:.0f} s. Clean loss: {losses}.")


def robustness_findings(noise, clean: Mapping[str, float], kind_labels: Mapping[str, str]) -> Prose:
    """The worst corruption at the highest intensity, and where N3 is worse than N6 (`noise`:
    `RobustnessResult.noise_table()`)."""
    at_max = noise[noise["intensity"] == noise["intensity"].max()].pivot(index="kind", columns="test_set",
                                                                          values="mse")
    worst = at_max["n6"].idxmax()
    by_level = noise.pivot_table(index=["kind", "intensity"], columns="test_set", values="mse")
    n3_worse = float((by_level["n3"] > by_level["n6"]).mean())
    return prose(
        f"At intensity {n(noise['intensity'].max())} the worst corruption is **{esc(kind_labels[worst])}** "
        "(N6 test "
        f"MSE {n(at_max.loc[worst, 'n6'])}, {at_max.loc[worst, 'n6'] / clean['n6']:.0f}x the clean loss). "
        "N3 has "
        f"the higher loss at {share(n3_worse)} of the (kind, intensity) levels.")


def robustness_claims(robustness_record: Mapping[str, Any]) -> Prose:
    """Each of the paper's claims this section decides: its words, the verdict, our number."""
    judged = claims.judge({"robustness": robustness_record})
    verdicts = [(c, v) for c, v in judged if v.status != claims.NOT_TESTED]
    lines = [f"* {c.section}, “{esc(c.quote)}”: **{v.status}**; here {esc(v.ours)}." for c, v in verdicts]
    return prose("\n".join(lines) + "\n\n" + verdict_rules())


def robustness_limits(cfg) -> Prose:
    paper = get_profile("paper")
    return prose(
        "* One model (the best trial) and one seed per corruption; the standard-error bands show the spread "
        "over "
        "test images, not over models or seeds.\n"
        "* The N3 curve is scored on its frame-4 and frame-16 windows (like N6 test), not on every N3 "
        "window as "
        "in notebook 04, to keep the quick profile within its time budget.\n"
        f"* This profile uses {cfg.noise_levels} intensity levels and a region step of {cfg.region_step} "
        "px; the "
        f"paper's, {paper.noise_levels} levels and {paper.region_step} px at a time (`--profile paper`).")


# ---------------------------------------------------------------------------------------------
# Notebook 06: other models, the final model, the floors


def models_overview(cfg, sweep: SweepSection | None, trials: int, copy_last: float) -> Prose:
    counted = sweep.counted if sweep else trials
    wanted = sweep.n_trials if sweep else cfg.n_trials
    cut = (f" The sweep's wall-clock budget ({sweep.sweep_budget_s:.0f} s) stopped it after **{counted} of "
           f"{wanted} trials**: on this machine the comparison rests on fewer trials than the profile "
           "promises, "
           "and its numbers depend on the machine." if sweep and sweep.stopped_by_budget else "")
    return prose(
        f"Profile **{esc(cfg.profile)}**: {counted} of {wanted} trials, {count(cfg.epochs, 'epoch')} each, "
        f"model kinds {', '.join(cfg.models)}; copy-last scores {n(copy_last)} on the N6 test.{cut}")


def best_of_kinds(models: Mapping[str, ModelBest | None]) -> Prose:
    winner = best_kind(models)
    if winner is None:
        return prose("No trial of any kind completed.")
    best = models[winner]
    below = [k for k, m in models.items() if m is not None and m.ratio_to_copy_last < 1]
    return prose(
        f"Best of all kinds by validation MSE ({n(best.val_mse)}): **{esc(winner)}**, {n(best.n6_test_mse)} "
        f"on the N6 test ({x(best.ratio_to_copy_last)} copy-last). Kinds below copy-last on the N6 test: "
        f"{', '.join(below) or 'none'}.")


def final_model(final: Final, cfg, copy_last: float) -> Prose:
    """The final model's recipe and its scores."""
    mc, tc = final.model_config, final.train_config
    reads = ", reading its frames as channels" if mc.frames_as_channels else ""
    dropped = final.set_windows - final.train_windows
    left_out = (f" (the {dropped} whose target follows a flagged jump left out)"
                if tc.drop_jump_targets else "")
    scores = (f" N6 test MSE **{n(final.n6_test_mse)} ({x(final.n6_test_mse / copy_last)} copy-last)**, PSNR "
              f"{final.n6_test_psnr:.2f} dB, SSIM {final.n6_test_ssim:.3f}; N3 MSE {n(final.n3_mse)}."
              if final.n6_test_mse is not None else " No run completed, so it has no scores.")
    target = targets.BEST_MODEL
    met = (f" The target for the best model of any kind, {target}: "
           f"{'met' if target.met(final.n6_test_mse, copy_last) else 'not met'}."
           if final.n6_test_mse is not None else "")
    return prose(
        f"**Final model**: {final.members} runs of a {esc(mc.model)} {mc.layers} x {mc.kernels} "
        f"({final.params:,} parameters, {esc(mc.activation)}{reads}), {count(tc.epochs, 'epoch')} on "
        f"{final.train_windows:,} "
        f"windows of the *{esc(set_title(tc.dataset))}* set{left_out}, {esc(tc.optimizer)} at lr {tc.lr:.3g} "
        f"decaying {esc(tc.lr_schedule)}, batch {tc.batch_size}; {final.wall_s:.0f} s for all runs side by "
        "side on "
        f"{cfg.workers} worker process(es).{scores}{met} Its runs are saved as "
        f"`runs/{esc(cfg.profile)}/artifacts/final_run_<k>.pt`.")


def best_model_target() -> Prose:
    target = targets.BEST_MODEL
    return prose(f"The project holds the best model of any kind to {target} on the N6 test ({target.profile} "
                 "profile, `report/targets.py`).")


def floors_summary(table, windows: int, kind: str, best_trial: int, gen_cfg: GeneratorConfig) -> Prose:
    """What no model can remove (`views_beyond.floor_table`), against the target and the models."""
    every = table.loc["all test windows"]
    f4, f16 = table.index[0], table.index[1]
    target = targets.BEST_MODEL
    goal = target.ratio * every["copy_last"]
    captured = (table["copy_last"] - table["best trial"]) / (table["copy_last"] - table["carry_on"])
    lags = (" Frame 4 lags: its crisp digit moves by a fraction of a pixel (the early shared drift, "
            "`drift_base` "
            f"= {gen_cfg.drift_base:g} px a step) and turns little, and that sub-pixel motion is most of the "
            "step's change; a model has to resolve it through its inputs' noise, and few training windows "
            "(those "
            "whose target is frame 3) look like it." if captured[f4] < captured[f16] else "")
    final = (f" The final model is at **{n(every['final model'])} "
             f"({x(every['final model'] / every['copy_last'])})**: "
             f"{n(table.loc[f4, 'final model'] - table.loc[f4, 'carry_on'])} above carry-on on {f4}, "
             f"{n(table.loc[f16, 'final model'] - table.loc[f16, 'carry_on'])} on {f16}."
             if "final model" in table else "")
    return prose(
        f"On all {windows} test windows the target noise alone is "
        f"{n(every['perfect'])} ({x(every['perfect_ratio'])} copy-last); with the "
        f"{int(every['jump windows'])} "
        f"jumps no input foresees, {n(every['jumps'])} ({x(every['jumps_ratio'])}); carrying the last turn "
        "on, "
        f"**{n(every['carry_on'])} ({x(every['carry_on_ratio'])})**. The target, {target} = {n(goal)}, "
        "leaves "
        f"{n(goal - every['carry_on'])} per window above that for what a model gets wrong reading two noisy "
        f"frames. The best trial by validation ({esc(kind)}, trial {best_trial}) is at "
        f"**{n(every['best trial'])} "
        f"({x(every['best trial'] / every['copy_last'])})**: "
        f"{n(table.loc[f4, 'best trial'] - table.loc[f4, 'carry_on'])} above carry-on on {f4}, "
        f"{n(table.loc[f16, 'best trial'] - table.loc[f16, 'carry_on'])} on {f16}. Of the error that "
        "carry-on "
        f"removes from copy-last, the best trial removes {share(captured[f4])} on {f4} and "
        f"{share(captured[f16])} "
        f"on {f16}.{lags}{final}")


def no_final(cfg) -> Prose:
    return prose(f"Profile {esc(cfg.profile)} trains no final model (`final_runs` = {cfg.final_runs}).")


def no_floors() -> Prose:
    return prose("No ground truth here (course data) or no complete trial: the references need generated "
                 "data and a model to compare.")
