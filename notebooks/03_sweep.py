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
# The paper picked its ConvLSTM by random search: 200 trials of 20 epochs, each drawing an
# activation (ReLU or tanh), 1-7 layers, 1-100 kernels, a learning rate log-uniform in
# 1e-5..0.1, a batch size in 32-256, an optimiser of `torch.optim` and one of the four training
# sets of notebook 02. Runs that collapse to blank images were set aside (30 of 200).
#
# One change to the paper's draw: the training set is not drawn but **cycled** (trial *k* trains
# on set *k* mod 4), so that even a sweep of a dozen trials compares all four sets; every other
# parameter is drawn at random as in the paper.
#
# This notebook runs that search with `convlstm_lib.sweep` on Optuna, narrowed by the profile
# (the `quick` profile: 16 trials x 3 epochs, four of each model kind, small models, six
# optimisers, and batches of 8-16 at a learning rate that decays linearly to zero over the run
# instead of the paper's constant one: more and better-settled steps for the same CPU time,
# `convlstm_lib/config.py`). The search is
# **resumable**: its trials live in an Optuna journal (`runs/<profile>/sweep.journal`, or a
# database given as `storage`), so running the notebook again only runs the trials still
# missing. Trial *k* always samples the same parameters for a given seed, whichever worker runs
# it. The trials table goes to `runs/<profile>/trials.csv` for notebook 04.

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes both.
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile, after="02")  # stops here, naming what to run first, when that is missing

# %%
import time

import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from matplotlib.ticker import MaxNLocator

from convlstm_lib.config import get_profile
from convlstm_lib.experiments import sweep, sweep_record, sweep_space
from convlstm_lib.report import artifacts, tables
from convlstm_lib.report.figures import save_figure

cfg = get_profile(profile, seed=seed)

# %% [markdown]
# ## The model (paper §2, Equation 2)
#
# The paper's model, and the model of every trial unless the profile lists more kinds in
# `models` (notebook 06 compares them), is a stack of ConvLSTM cells (`convlstm_lib.cells`),
# the paper's Equation 2 with learned peephole weights $W_{ci}, W_{cf}, W_{co}$ (one value per channel
# and pixel, applied element-wise to the cell state):
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
# A window is two input frames $(\mathcal{X}_1, \mathcal{X}_2)$, tensors of shape (B, T=2, C=1, 36, 36);
# 1-7 such cells are stacked with batch normalisation between them, the output activation (ReLU
# or tanh, the paper's activation choice) is applied to the last layer's $\mathcal{H}_2$, and a
# final convolution maps it to the predicted frame (B, 1, 36, 36). The state starts at zero, so the
# first step skips the hidden-state convolution and the forget gate: exact shortcuts that change
# no number (`benchmarks/train_step.py` checks the model against a plain implementation of
# Equation 2 and measures the speed-up). The table gives the size of the models this profile can
# draw and of the paper's best model.

# %%
import pandas as pd

from convlstm_lib.models.build import build_model, count_parameters
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.stack import train_step_flops

sizes = {
    "smallest in this profile": ModelConfig(layers=cfg.layers_min, kernels=cfg.kernels_min),
    "largest in this profile": ModelConfig(layers=cfg.layers_max, kernels=cfg.kernels_max),
    "paper's best (Table 1, denoised)": ModelConfig(layers=4, kernels=71, activation="relu"),
}
tables.for_reader(pd.DataFrame(
    [
        {
            "model": name, "layers": m.layers, "kernels": m.kernels,
            "parameters": count_parameters(build_model(m)),
            "GFLOP per training window": train_step_flops(m) / 1e9,
        }
        for name, m in sizes.items()
    ]
), caption="Model sizes")

# %% [markdown]
# ## Running (or resuming) the sweep
#
# Each trial trains through `training.train_model` and reports its N6-test MSE after every epoch.
# Trials that diverge (a loss that is no longer a finite number) or cannot train at all (an
# optimiser that cannot handle the model) are recorded with their reason and the sweep goes on;
# they count toward the total and are never re-run. A trial whose process was killed is marked
# failed and made up for.

# %%
start = time.perf_counter()
study = sweep.run_sweep(cfg, progress=True)
elapsed = time.perf_counter() - start
trials = sweep_record.load_trials(cfg)
summary = sweep_record.summarise(trials)
statuses = ", ".join(f"{count} {status}" for status, count in summary["status_counts"].items())
# For the report's first page: how many of the profile's trials ran, and the budget that may cut them.
artifacts.write_result("sweep", {
    "counted": summary["counted"], "n_trials": cfg.n_trials, "budget_s": cfg.sweep_budget_s,
    "stopped_by_budget": bool(cfg.sweep_budget_s) and summary["counted"] < cfg.n_trials,
    "wall_s_this_run": elapsed,
}, cfg.profile)
display(Markdown(
    f"Study **{cfg.study_name}**: {summary['counted']} of {cfg.n_trials} trials done "
    f"({elapsed:.0f} s in this run; {summary['train_time_s']:.0f} s of training in all): {statuses}."
    + (f" Pruning saved an estimated {summary['time_saved_s']:.0f} s of training." if cfg.prune else "")
    + (f" **The wall-clock budget ({cfg.sweep_budget_s:.0f} s) stopped the sweep after "
       f"{summary['counted']} of {cfg.n_trials} trials**: the results below rest on fewer trials "
       "than the profile promises."
       if cfg.sweep_budget_s and summary["counted"] < cfg.n_trials else "")
))

# %% [markdown]
# ## The trials
#
# One row a trial: the sampled parameters, the final per-pixel metrics on the [0, 1] scale
# (N6 test = frames 4 and 16; N3 = every window of the unprocessed N3 set; `clean` = against the
# noise-free frames of the generated data), the status and the run time.

# %%
shown = ["number", "status", *sweep_space.PARAM_NAMES, "n6_test_mse", "n6_test_ssim", "n3_mse",
         "n6_test_clean_mse", "epochs_run", "runtime_s"]
table = trials[shown].sort_values("n6_test_mse", na_position="last")
display(tables.for_reader(table, caption="The trials, best first",
                          missing_note="A dash: the trial has no such number (it did not complete, or "
                          "the data have no noise-free frames)."))

# %%
fig, (ax_mse, ax_status) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2.2, 1]})
palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
colours = {name: palette[i % len(palette)] for i, name in enumerate(cfg.training_sets)}
scored = trials.dropna(subset=["n6_test_mse"])
for name, group in scored.groupby("dataset"):
    normal = group[group["status"] == "complete"]
    odd = group[group["status"] != "complete"]
    ax_mse.scatter(normal["number"], normal["n6_test_mse"], color=colours.get(name), label=name, s=36)
    ax_mse.scatter(odd["number"], odd["n6_test_mse"], color=colours.get(name), marker="x", s=36)
ax_mse.set_yscale("log")
ax_mse.xaxis.set_major_locator(MaxNLocator(integer=True))
ax_mse.set_xlabel("trial")
ax_mse.set_ylabel("N6 test MSE (per pixel, [0, 1])")
ax_mse.set_title("Final N6 test MSE per trial (x: collapsed or pruned)")
ax_mse.legend(title="training set", fontsize=8)
counts = trials["status"].value_counts()
ax_status.bar(counts.index.astype(str), counts.values, color="0.5")
ax_status.set_title("Trials by status")
ax_status.set_ylabel("trials")
fig.tight_layout()
save_figure(fig, "sweep_trials", cfg.profile)
plt.show()

# %% [markdown]
# ## Which training set did best?
#
# The paper's question: does cleaning or denoising the training data help? Among complete trials,
# the best and median N6-test MSE per training set (a small sweep only hints at an answer;
# notebook 04 re-evaluates the best trial's stored model and re-trains it with other seeds).

# %%
complete = trials[trials["status"] == "complete"]
by_set = complete.groupby("dataset")["n6_test_mse"].agg(["count", "min", "median"])
labels = {"count": "complete trials", "min": "best N6 MSE", "median": "median N6 MSE"}
display(tables.for_reader(by_set, labels,
                          caption="N6 test MSE per training set", index=True))
best = summary["best"]
if best is not None:
    display(Markdown(
        f"Best trial: **{best['number']}** ({best['dataset']}, {best['activation']}, "
        f"{best['layers']} layer(s) x {best['kernels']} kernels, {best['optimizer']} lr {best['lr']:.2e}, "
        f"batch {best['batch_size']}): N6 test MSE {best['n6_test_mse']:.3g}, N3 MSE {best['n3_mse']:.3g}."
    ))
else:
    display(Markdown("No trial completed: see the reasons in the table above."))
