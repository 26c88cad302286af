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
# # 03 · The hyper-parameter sweep (paper §3.3)
#
# One change to the paper's draw: the training set is not drawn but **cycled** (trial *k*
# trains on set *k* modulo the number of sets), so that even a sweep of a dozen trials compares
# all four sets; every other parameter is drawn at random as in the paper.
#
# This notebook runs that search with `convlstm_lib.experiments.sweep` on Optuna, narrowed by the
# profile. The search is **resumable**: its trials live in an Optuna journal
# (`runs/<profile>/<study>/sweep.journal`, or a database given as `storage`), so running the
# notebook again only runs the trials still missing. Trial *k* always samples the same parameters
# for a given seed, whichever worker runs it. The trials table goes to the study's `trials.csv`
# for notebook 04.

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes these.
# budget_minutes: the sweep's wall-clock budget (run_all.py --budget-minutes), 0 for the profile's own.
profile = "quick"
seed = 0
budget_minutes = 0.0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile, after="02")  # stops here, naming what to run first, when that is missing

# %%
import time

from IPython.display import display

from convlstm_lib.config import get_profile
from convlstm_lib.experiments import sweep, sweep_record
from convlstm_lib.report import results, text
from convlstm_lib.report import views_results as views

cfg = get_profile(profile, seed=seed, budget_minutes=budget_minutes)
display(text.paper_search(), text.profile_search(cfg))

# %% [markdown]
# ## The model (paper §2, Equation 2)
#
# The paper's model, and the model of every trial unless the profile lists more kinds in
# `models` (notebook 06 compares them), is a stack of ConvLSTM cells
# (`convlstm_lib.models.cells`), the paper's Equation 2 with learned peephole weights
# $W_{ci}, W_{cf}, W_{co}$ (one value per channel and pixel, applied element-wise to the cell
# state):
#
# $$\begin{aligned}
# i_t &= \sigma(W_{xi} * \mathcal{X}_t + W_{hi} * \mathcal{H}_{t-1} + W_{ci} \odot \mathcal{C}_{t-1} + b_i) \\
# f_t &= \sigma(W_{xf} * \mathcal{X}_t + W_{hf} * \mathcal{H}_{t-1} + W_{cf} \odot \mathcal{C}_{t-1} + b_f) \\
# \mathcal{C}_t &= f_t \odot \mathcal{C}_{t-1}
#   + i_t \odot \tanh(W_{xc} * \mathcal{X}_t + W_{hc} * \mathcal{H}_{t-1} + b_c) \\
# o_t &= \sigma(W_{xo} * \mathcal{X}_t + W_{ho} * \mathcal{H}_{t-1} + W_{co} \odot \mathcal{C}_t + b_o) \\
# \mathcal{H}_t &= o_t \odot \tanh(\mathcal{C}_t)
# \end{aligned}$$
#
# A window is two input frames $(\mathcal{X}_1, \mathcal{X}_2)$, a tensor of shape
# (batch, time, channels, height, width); the cells are stacked with batch normalisation between
# them, the output activation (ReLU or tanh, the paper's activation choice) is applied to the last
# layer's $\mathcal{H}_2$, and a final convolution maps it to the predicted frame. The state
# starts at zero, so the first step skips the hidden-state convolution and the forget gate: exact
# shortcuts that change no number (`benchmarks/train_step.py` checks the model against a plain
# implementation of Equation 2 and measures the speed-up). The table gives the size of the models
# this profile can draw and of the paper's best model.

# %%
views.model_sizes(cfg)

# %% [markdown]
# ## Running (or resuming) the sweep
#
# Each trial trains through `training.loop.train_model` on its training set and reports its
# **validation MSE** after every epoch: the MSE on the validation windows, cut from a seeded share
# of the N6 sequences that no trial trains on (notebook 02). The sweep's objective, its pruner and
# the divergence and collapse checks read that number alone; the N6 test and N3 MSE are recorded
# beside it to report, never to choose. Trials that diverge (a loss that is no longer a finite
# number) or cannot train at all (an optimiser that cannot handle the model) are recorded with
# their reason and the sweep goes on; they count toward the total and are never re-run. A trial
# whose process was killed is marked failed and made up for. The sweep's summary, the same one it
# writes to `runs/<profile>/<study>/sweep.json`, is this notebook's section of `results.json`
# (`sweep`).

# %%
start = time.perf_counter()
study = sweep.run_sweep(cfg, progress=True)
trials = sweep_record.load_trials(cfg)
summary = sweep_record.summarise(trials)
saved = results.write_section("sweep", results.sweep_section(cfg), cfg.profile)
text.sweep_done(cfg, summary, time.perf_counter() - start)

# %% [markdown]
# ## The trials
#
# One row a trial, the lowest validation MSE first: the sampled parameters, the final per-pixel
# metrics on the [0, 1] scale (val = the validation windows, which rank the trials; N6 test = frames
# 4 and 16; N3 = every window of the unprocessed N3 set; `clean` = against the noise-free frames of
# the generated data), the status and the run time.

# %%
display(views.trials_table(trials), views.sweep_trials_figure(trials, cfg))

# %% [markdown]
# ## Which training set did best?
#
# The paper's question: does cleaning or denoising the training data help? Among complete trials
# of every model kind, per training set: the best trial by validation MSE with its N6 test MSE, and
# the median N6 test MSE (a small sweep only hints at an answer; notebook 04 reads the paper's model
# alone, re-evaluates its best trial's stored model and re-trains it with other seeds).

# %%
display(views.by_set_table(trials), text.best_of_sweep(summary["best"]))
