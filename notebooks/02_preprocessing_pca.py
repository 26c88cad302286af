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
# * **Scaling** every intensity to [0, 1] by the minimum and maximum of the N6 *training* frames.
# * **Outliers**: the difference between consecutive frames is computed for every transition
#   that touches no test frame, projected by PCA, and a multivariate Gaussian is fitted there;
#   transitions "beyond three standard deviations" are flagged and their sequences removed from
#   the *cleaned* set.
# * **Denoising** the *training targets* with OpenCV's non-local means.
# * **Windows** of two input frames and one target; the windows whose target is frame 4 or
#   frame 16 are the test set, and no training window touches those frames.
#
# One step the paper did not have: a **validation set**. A seeded share of the N6 sequences is
# held out of training, whole; their windows, cut by the training windows' rule, are the windows
# every choice of the pipeline is made on (the sweep's best trials, the final model's recipe, the
# predictors of the course CSVs). The test windows are scored only to report.
#
# Everything is computed by `convlstm_lib.data.preprocessing` and `convlstm_lib.data.datasets`
# (tested); `prepare_datasets` caches the result under `data/processed/<profile>/` for the sweep.

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes both.
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile)  # stops here, naming what to run first, when that is missing

# %%
from IPython.display import display

from convlstm_lib.config import get_profile
from convlstm_lib.data import sources
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.experiments import protocol
from convlstm_lib.report import results, text
from convlstm_lib.report import views_data as views

cfg = get_profile(profile, seed=seed)

# %% [markdown]
# ## Building (or loading) the processed datasets
#
# `prepare_datasets` loads the raw sequences, fits the scaler, flags outliers, cuts windows and
# denoises the training targets; a second run reads the cache unless the raw data, the seed or
# the number of sequences changed.

# %%
ds = prepare_datasets(cfg, progress=False)
raw = sources.load_raw(cfg, progress=False)
text.preprocessing_done(ds)

# %% [markdown]
# ## The validation windows
#
# Drawn with the profile's seed and saved with the processed data, so every notebook and worker
# process reads the same split. How the models were chosen is this notebook's section `protocol`
# of `results.json` (`convlstm_lib.experiments.protocol`).

# %%
saved = results.write_section("protocol", protocol.record(ds), cfg.profile)
text.validation_split(ds, cfg)

# %% [markdown]
# ## Outliers (Figure 4)

# %%
display(text.outlier_rule(ds.outliers.settings), views.outliers_pca_figure(ds, raw, cfg.profile))

# %%
views.outliers_found_table(ds)

# %% [markdown]
# Where along the sequence the flagged transitions fall (transition `t` joins frames `t` and
# `t + 1`, counted from zero):

# %%
views.outliers_by_step_figure(ds, raw, cfg.profile)

# %% [markdown]
# ## Denoising the training targets
#
# Non-local means (`cv2.fastNlMeansDenoising`) runs on the targets of the training windows only,
# with a filter strength h (in 0-255 units of the scaled images) chosen by measuring the error to
# the noise-free frames. Test targets stay the raw frames: every model is scored against the
# same raw (and, on generated data, clean) test frames, so a denoised training set is never
# flattered by denoised test targets.

# %%
display(views.denoising_examples(ds, cfg.profile), text.denoised_error(ds.info))

# %% [markdown]
# Choosing h: the error to the clean frames over a range of strengths, on a sample of targets
# (generated data only); the red line is the strength the pipeline uses.

# %%
views.denoising_strength(ds, cfg.profile)

# %% [markdown]
# ## The four training sets and the test sets
#
# *base*: every training window; *cleaned*: without the sequences holding a flagged transition;
# *denoised*: every window with denoised targets; *processed*: both. A training window never
# touches a test frame: a window that would read or predict frame 4 or frame 16 is dropped, so an
# N6 sequence gives fewer training windows than it has frames, and two test windows (the targets
# frame 4 and frame 16). The validation sequences give their windows by the same rule, and no
# training window. N3 keeps every window, as the paper scored it.

# %%
views.window_sizes(ds)

# %% [markdown]
# ## Corruptions for the robustness study (Figure 5)
#
# Applied to the *inputs* only, on the [0, 1] scale, at intensity $a \in [0, 1]$
# (`convlstm_lib.data.corruption`):
#
# * **Gaussian**: $\mathrm{clip}(x + a z, 0, 1)$ with $z \sim N(0, 1)$: noise of standard
#   deviation $a$.
# * **Poisson**: $\mathrm{clip}(\mathrm{Poisson}(P x) / P, 0, 1)$ with $P = 1/a^2$ photons at
#   full brightness, so the noise's standard deviation at brightness $x$ is $a \sqrt{x}$: fewer
#   photons as $a$ grows.
# * **Salt and pepper**: every pixel, with probability $a$, set to black or white (as likely).
# * **Missing region**: a square of side $s = \mathrm{round}(S a)$, $S$ the image's side, at a
#   seeded random position set to black, the same square in both input frames; $s = S$ removes
#   the whole image.
#
# How fast each corruption runs is measured in `benchmarks/corruption.py`, not here.

# %%
views.figure5(ds, cfg.figure5_rows, cfg.seed, cfg.profile)
