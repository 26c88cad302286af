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
# # 02 · Pre-processing and PCA: outliers (Figure 4), denoising, training sets, corruptions (Figure 5)
#
# The paper (§3.2) prepares its data in four steps, and this notebook retraces them on the
# data of notebook 01:
#
# 1. **Scaling** every intensity to [0, 1] by the min and max of the N6 *training* frames.
# 2. **Outliers**: the difference between consecutive frames is computed for every transition,
#    projected by PCA, and a multivariate Gaussian is fitted there; transitions "beyond three
#    standard deviations" are flagged and their sequences removed from the *cleaned* set.
# 3. **Denoising** the *training targets* with OpenCV's non-local means.
# 4. **Windows** of two input frames and one target; the windows whose target is frame 4 or 16
#    (indices 3 and 15) are the test set, and no training window touches those frames.
#
# Everything is computed by `convlstm_lib.preprocessing` / `convlstm_lib.datasets` (tested);
# `prepare_datasets` caches the result under `data/processed/<profile>/` for the sweep.

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes both.
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile)  # stops here, naming what to run first, when that is missing

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from convlstm_lib.config import get_profile
from convlstm_lib.data import corruption, preprocessing, sources
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.report import tables
from convlstm_lib.report.figures import save_figure

cfg = get_profile(profile, seed=seed)

# %% [markdown]
# ## Building (or loading) the processed datasets
#
# `prepare_datasets` loads the raw sequences, fits the scaler, flags outliers, cuts windows and
# denoises the training targets; a second run reads the cache unless the raw data, the seed or
# n6/n3 changed.

# %%
start = time.perf_counter()
ds = prepare_datasets(cfg, progress=False)
elapsed = time.perf_counter() - start
raw = sources.load_raw(cfg, progress=False)
info = ds.info
timings = info["timings"]
display(Markdown(
    f"Source: **{info['source']}**; scaler: lo = {ds.scaler.lo:.1f}, hi = {ds.scaler.hi:.1f} (raw scale). "
    f"`prepare_datasets` took {elapsed:.1f} s here; building from scratch took {timings['total_s']:.1f} s "
    f"(outliers {timings['outliers_s']:.1f} s, denoising {timings['denoise_s']:.1f} s)."
))

# %% [markdown]
# ## Outliers (Figure 4)
#
# **What "three standard deviations" means here.** In one dimension, |z| > 3 flags 0.27 % of a
# Gaussian. In k dimensions the squared Mahalanobis distance D² of a Gaussian sample follows a
# chi-square with k degrees of freedom, so we flag a transition when D exceeds the radius r with
# P(χ²_k > r²) = 0.27 %: the same false-alarm rate as the 1-D rule, whatever k is
# (r = 3.44 for k = 2, 4.48 for the k = 6 used here). Before the PCA every frame is blurred
# (Gaussian, 2 px) so the per-pixel sensor noise does not dominate the differences, and each
# sequence's differences are divided by their median norm (a digit with more ink moves more
# pixels). The Gaussian is the sample mean and covariance of the k coordinates. Real
# differences have heavier tails than a Gaussian, so a little more than 0.27 % of the clean
# transitions cross the radius: the table counts them. The scatter shows the first two of the
# k principal components; distances are measured in all k.

# %%
rep = ds.outliers
settings = rep.settings
truth = None if raw.truth_n6 is None else np.asarray(raw.truth_n6["outlier_transitions"], bool)
flag = rep.flagged.reshape(-1)
fig, ax = plt.subplots(figsize=(7, 5.5))
ax.scatter(rep.coords[~flag, 0], rep.coords[~flag, 1], s=4, c="0.6", alpha=0.5, label="transition")
ax.scatter(rep.coords[flag, 0], rep.coords[flag, 1], s=22, facecolors="none", edgecolors="tab:red",
           label=f"flagged (D > {rep.threshold:.2f}, {rep.n_flagged})")
if truth is not None:
    inj = truth.reshape(-1)
    ax.scatter(rep.coords[inj, 0], rep.coords[inj, 1], s=10, marker="x", c="tab:blue",
               label=f"injected outlier ({int(inj.sum())})")
evr = rep.explained_variance_ratio
ax.set_xlabel(f"PC 1 ({100 * evr[0]:.1f} % of variance)")
ax.set_ylabel(f"PC 2 ({100 * evr[1]:.1f} % of variance)")
ax.set_title("Figure 4: PCA of consecutive-frame differences, N6")
ax.legend(loc="best", fontsize=8)
save_figure(fig, "fig4_outliers_pca", cfg.profile)
plt.show()

# %%
out = info["outliers"]
rows = {
    "transitions": out["transitions"],
    "flagged transitions": out["flagged_transitions"],
    "flagged share": f"{100 * out['flagged_transitions'] / out['transitions']:.2f} %",
    "expected for a Gaussian": f"{100 * settings['tail_probability']:.2f} %",
    "sequences removed": f"{out['flagged_sequences']} of {out['sequences']}",
    "training windows removed": out["removed_windows"],
    "PCA components k": settings["n_components"],
    "Mahalanobis radius": f"{rep.threshold:.3f}",
}
if "precision" in out:
    rows.update({
        "injected outlier transitions": out["injected"],
        "precision": f"{out['precision']:.3f} ({out['true_positives']} of {out['flagged_transitions']})",
        "recall": f"{out['recall']:.3f} ({out['true_positives']} of {out['injected']})",
    })
display(tables.for_reader(pd.Series(rows, name="value").to_frame(), {"": "outliers"}, index=True,
                          caption="Outlier transitions found by PCA and the Mahalanobis distance"))

# %% [markdown]
# Where along the sequence the flagged transitions fall (transition t joins frames t and t+1):

# %%
fig, ax = plt.subplots(figsize=(7, 2.8))
steps = np.arange(rep.flagged.shape[1])
ax.bar(steps - 0.2, rep.flagged.sum(axis=0), width=0.4, label="flagged", color="tab:red")
if truth is not None:
    ax.bar(steps + 0.2, truth.sum(axis=0), width=0.4, label="injected", color="tab:blue")
ax.set_xlabel("transition t -> t+1 (0-based)")
ax.set_ylabel("count")
ax.set_xticks(steps)
ax.legend(fontsize=8)
save_figure(fig, "outliers_by_step", cfg.profile)
plt.show()

# %% [markdown]
# ## Denoising the training targets
#
# Non-local means (`cv2.fastNlMeansDenoising`) runs on the targets of the training windows only,
# with filter strength h (in 0-255 units of the scaled images) chosen by measuring the error to the
# noise-free frames. Test targets stay the raw frames: every model is scored against the same
# raw (and, on generated data, clean) test frames.

# %%
base, den = ds.train["base"], ds.train["denoised"]
has_clean = base.clean_targets is not None
picks = np.linspace(0, len(base) - 1, 4).astype(int)
n_rows = 3 if has_clean else 2
fig, axes = plt.subplots(n_rows, len(picks), figsize=(2.3 * len(picks), 2.3 * n_rows))
for j, i in enumerate(picks):
    panels = [("raw target", base.targets[i]), ("denoised", den.targets[i])]
    if has_clean:
        panels.append(("clean", base.clean_targets[i]))
    for r, (label, img) in enumerate(panels):
        ax = axes[r, j]
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        title = f"{label}, seq {base.seq[i]} frame {base.frame[i]}" if r == 0 else label
        if has_clean and r < 2:
            title += f"\nMSE to clean {np.mean((img - base.clean_targets[i]) ** 2):.1e}"
        ax.set_title(title, fontsize=7)
fig.suptitle(f"Non-local means, h = {info['denoise']['h']}")
fig.tight_layout()
save_figure(fig, "denoising_examples", cfg.profile)
plt.show()
if has_clean:
    d = info["denoise"]
    display(Markdown(
        f"Per-pixel MSE of the training targets to the clean frames: raw **{d['mse_raw_to_clean']:.2e}**, "
        f"denoised **{d['mse_denoised_to_clean']:.2e}** "
        f"({d['mse_raw_to_clean'] / d['mse_denoised_to_clean']:.1f}x lower)."
    ))

# %% [markdown]
# Choosing h: the error to the clean frames over a range of strengths, on a sample of targets
# (generated data only).

# %%
if has_clean:
    sample = base.subset(np.linspace(0, len(base) - 1, min(len(base), 600)).astype(int))
    hs = [2, 4, 6, 8, 10, 12, 15]
    errs = [np.mean((preprocessing.denoise(sample.targets, h=h) - sample.clean_targets) ** 2) for h in hs]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(hs, errs, "o-", label="denoised")
    ax.axhline(np.mean((sample.targets - sample.clean_targets) ** 2), color="0.5", ls="--", label="raw")
    ax.axvline(info["denoise"]["h"], color="tab:red", lw=1, label="h used")
    ax.set_xlabel("h")
    ax.set_ylabel("MSE to clean")
    ax.legend(fontsize=8)
    save_figure(fig, "denoising_strength", cfg.profile)
    plt.show()

# %% [markdown]
# ## The four training sets and the test sets
#
# *base*: every training window; *cleaned*: without the sequences holding a flagged transition;
# *denoised*: every window with denoised targets; *processed*: both. Per sequence there are 10
# training windows (targets 2 and 6..14: any window touching frame 3 or 15 is dropped) and 2 test
# windows (targets 3 and 15). N3 keeps every window (targets 2..15).

# %%
sizes = pd.DataFrame({
    "windows": pd.Series(info["sizes"]),
    "used for training": pd.Series({name: len(ws) for name, ws in ds.train.items()}, dtype="Int64"),
})
display(tables.for_reader(sizes, {"": "set"}, index=True, caption="Windows per set",
                          missing_note="A dash: a test set, not used for training."))

# %% [markdown]
# ## Corruptions for the robustness study (Figure 5)
#
# Applied to the *inputs* only, on the [0, 1] scale, at intensity a in [0, 1]:
#
# * **Gaussian**: clip(x + a z, 0, 1), z ~ N(0, 1): noise std a.
# * **Poisson**: clip(Poisson(P x) / P, 0, 1) with P = 1/a² photons at full brightness, so the noise
#   std at brightness x is a·√x (a at x = 1): fewer photons as a grows.
# * **Salt and pepper**: every pixel, with probability a, set to 0 or 1 (50/50).
# * **Missing region**: an s x s square (s = round(36 a) here) at a seeded random position set to 0,
#   the same square in both input frames; s = 36 removes the whole image.

# %%
image = ds.n6_test.inputs[0, 1]
grid, intensities, region_sizes = corruption.figure5_grid(image, rows=cfg.figure5_rows, seed=cfg.seed)
n_rows = grid.shape[0]
fig, axes = plt.subplots(n_rows, 4, figsize=(7, 1.75 * n_rows), squeeze=False)
for r in range(n_rows):
    for k, kind in enumerate(corruption.KINDS):
        ax = axes[r, k]
        ax.imshow(grid[r, k], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if r == 0:
            ax.set_title(corruption.KIND_LABELS[kind], fontsize=9)
        if k == 0:
            ax.set_ylabel(f"a = {intensities[r]:.2f}", fontsize=8)
        if k == 3:
            ax.set_ylabel(f"s = {region_sizes[r]}", fontsize=8)
            ax.yaxis.set_label_position("right")
fig.suptitle("Figure 5: corruptions of an N6 test input by intensity")
fig.tight_layout()
save_figure(fig, "fig5_corruptions", cfg.profile)
plt.show()

# %% [markdown]
# Speed of the corruptions on the whole N6 test input (all windows, both frames), per level:

# %%
levels = np.linspace(0, 1, cfg.noise_levels)
speed = {}
for kind in corruption.NOISE_KINDS:
    t0 = time.perf_counter()
    for _level, _arr in corruption.iter_levels(ds.n6_test.inputs, kind, levels, seed=cfg.seed):
        pass
    speed[corruption.KIND_LABELS[kind]] = (time.perf_counter() - t0) / len(levels)
display(tables.for_reader(pd.Series(speed, name="seconds per level").to_frame(), {"": "corruption"},
                          index=True,
                          caption="Time to corrupt the N6 test inputs, per level"))
