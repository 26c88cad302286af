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
# # 06 · Beyond the paper: other models at the same CPU budget
#
# The paper closes with its future work: the OpenSTL models (SimVP among them) and, since its
# sequences are short, cheaper recurrent cells than the LSTM. The sweep of notebook 03 already
# tried them: it cycles the model kind over its trials (`sweep_space.model_for_trial`), so every
# kind gets the same number of trials, drawn from the same search space (layers, kernels,
# learning rate, batch size, optimiser, training set), trained for the same epochs on the same
# data, on the same CPU. The kinds (`convlstm_lib.models.build.build_model`):
#
# * **convlstm**: the paper's ConvLSTM, Equation 2 with peepholes (`cells.ConvLSTMCell`);
# * **convgru**: a convolutional GRU: two gates and no cell state, three quarters of the
#   ConvLSTM's convolution per step (`cells.ConvGRUCell`);
# * **convrnn**: a plain convolutional RNN,
#   $H_t = \tanh(W_x * X_t + W_h * H_{t-1} + b)$: a quarter of the convolution
#   (`cells.ConvRNNCell`);
# * **simvp**: a small SimVP-style model without recurrence: an encoder for each frame, a
#   translator over the frames stacked along channels, a decoder (`convlstm_lib/models/simvp.py`
#   documents its structure against the SimVP papers).
#
# Each point below is one trial; "seconds per epoch" is its wall time per epoch (training and
# scoring) on this machine, so it moves with the processor and the load, and the parameter count
# does not. The numbers come from `convlstm_lib.experiments.sweep_record` (`best_per_model`,
# tested).

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes both.
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile, after="03")  # stops here, naming what to run first, when that is missing

# %%
from IPython.display import display

from convlstm_lib.config import get_profile
from convlstm_lib.data import sources
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.data.generator import GeneratorConfig
from convlstm_lib.experiments import baselines, final
from convlstm_lib.experiments.sweep_record import best_per_model, load_trials
from convlstm_lib.report import results, text
from convlstm_lib.report import views_beyond as views

cfg = get_profile(profile, seed=seed)
ds = prepare_datasets(cfg, progress=False)
trials = load_trials(cfg)
copy_last = baselines.evaluate_baselines(ds)["copy_last"]["n6_test_mse"]
text.models_overview(cfg, results.read_section("sweep", cfg.profile), len(trials), copy_last)

# %% [markdown]
# ## Every trial: test error against cost
#
# Per-pixel MSE, PSNR and SSIM on the N6 test windows (the paper's extrapolation protocol),
# against the seconds one epoch took and the number of parameters. The dashed line is copying
# the last input frame; a model below it has learned something about the motion. The table lists
# the trials by validation MSE, the lowest first; their other parameters (training set,
# activation, optimiser, learning rate) are in notebook 03's table.

# %%
display(views.cost_error_table(trials, copy_last), views.cost_error_figure(trials, copy_last, cfg.profile))

# %% [markdown]
# ## The best trial of each model
#
# Chosen by its validation MSE, like every choice here (the paper chose by the test loss it
# reported; notebook 04 shows what that rule would have picked). This table is this notebook's
# section `models` of `results.json`.

# %%
models = results.models_section(best_per_model(trials), cfg.models, copy_last)
saved = results.write_section("models", models, cfg.profile)
display(views.best_per_model_table(models), text.best_of_kinds(results.parse_section("models", models)))

# %% [markdown]
# ## The final model: the sweep's lessons, bigger
#
# The sweep gives every trial the same small share of the budget, as the paper's protocol does.
# What it and the measurements behind it teach (`convlstm_lib/experiments/final.py`,
# `benchmarks/README.md`) is that depth and width keep paying, the base training set beats the
# cleaned one, and small batches with a decaying learning rate beat large ones. The final model
# takes those lessons to a size no trial can reach in its share: the profile's final
# configuration, trained a few times with their own seeds side by side (one worker process
# each), the runs' predictions averaged. Two changes make the size affordable and the training
# cleaner: the stack reads its two frames as the channels of one time step, not as two time
# steps (the same error at less than half the time, `ModelConfig.frames_as_channels`), and it
# trains without the few windows whose target follows a jump the pre-processing flagged, targets
# no input foretells (`TrainConfig.drop_jump_targets`). Each setting of the recipe was kept only
# where it lowered the validation MSE (`benchmarks/README.md`, "Every choice on validation"); the
# test windows score it once, here. Its record is the section `final`.

# %%
final_model = final.train_final(cfg, progress=True) if cfg.final_runs else None
if final_model is None:
    display(text.no_final(cfg))
else:
    saved = results.write_section("final", final_model.record, cfg.profile)
    compared = views.final_comparison(copy_last, models, results.read_section("seeds", cfg.profile),
                                      final_model.record)
    display(views.final_runs_table(final_model.record, copy_last),
            views.final_figure(compared, len(final_model.record["runs"]), copy_last, cfg.profile),
            text.final_model(results.parse_section("final", final_model.record), cfg, copy_last))

# %% [markdown]
# ## How low a model could go
#
# On generated data the ground truth says how much of the error no model can remove
# (`convlstm_lib.experiments.floors`, where each reference is defined and tested). Three
# references predict each test frame, scored like the models:
#
# * **perfect**: the clean target frame. What is left is the target's own noise.
# * **+ jumps**: perfect, except on the windows whose last step is an injected outlier jump;
#   frames $t-2$ and $t-1$ say nothing about a jump still to come, so its whole change stays.
# * **carry on**: + jumps, except that on the ordinary windows it renders the target from the
#   clean previous frame with the generator's own step, this step's drift and blur as drawn, the
#   intensity at its mean and the *previous* step's turn carried on. What it adds is the random
#   part of each step's turn that no earlier frame shows.
#
# A model reading two noisy frames must also see through its inputs' noise and measure the
# motion from them, so its error sits above "carry on" on average. The best trial of the sweep
# (of every kind, by validation MSE) is scored on the same windows, frame by frame, from its
# checkpoint.

# %%
text.best_model_target()

# %%
raw = sources.load_raw(cfg, progress=False)
kind = results.best_kind(models)
if raw.truth_n6 is None or kind is None:
    display(text.no_floors())
else:
    trial = models[kind]["trial"]
    floor = views.floor_table(raw, ds, cfg, trial, final_model.model if final_model else None)
    display(views.floor_cells(floor, kind), views.floor_figure(floor, kind, cfg.profile),
            text.floors_summary(floor, len(ds.n6_test), kind, trial,
                                GeneratorConfig.from_json(raw.truth_n6["config"])))
