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
# # 05 · Robustness: noisy inputs (Figure 8a) and a missing region (Figure 8b)
#
# The paper (§3.3) asks how the best model copes with inputs worse than those it was trained on.
# Its input frames are corrupted in four ways (shown in Figure 5, notebook 02) and the loss on
# the test sets is measured as the corruption grows:

# %% tags=["parameters"]
# The profile (`convlstm_lib/config.py`) fills in every other setting; run_all.py passes both.
profile = "quick"
seed = 0

# %% tags=["remove-cell"]
from convlstm_lib.report import notebook  # the profile of `make lab PROFILE=...`, one-line errors

profile = notebook.start(profile, after="04")  # stops here, naming what to run first, when that is missing

# %%
from IPython.display import display

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import corruption
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.experiments import robustness
from convlstm_lib.report import results, text
from convlstm_lib.report import views_beyond as views
from convlstm_lib.training.checkpoints import load_checkpoint

cfg = get_profile(profile, seed=seed)
ds = prepare_datasets(cfg, progress=False)
side = ds.n6_test.inputs.shape[-1]
text.robustness_plan(cfg, side)

# %% [markdown]
# Only the two **input** frames are corrupted; the target frame the prediction is scored against
# is left as recorded, so each curve says how well the model still predicts the real next frame.
# The loss is the per-pixel MSE on the [0, 1] scale over all test windows; at intensity zero it
# is exactly the clean loss of notebook 04. The corruptions' random numbers are drawn once from
# the seed and shared by every level (`convlstm_lib.data.corruption`), so the curves are
# reproducible and smooth. Everything runs in `convlstm_lib.experiments.robustness` (tested in
# `tests/test_robustness.py`).
#
# The model is the best ConvLSTM trial's checkpoint (chosen by its validation MSE) that notebook 04
# copied to `runs/<profile>/artifacts/best_model.pt`. N3 is scored on its windows whose target is frame 4
# or frame 16, like N6 test: the same frames in both sets.

# %%
ckpt = load_checkpoint(paths.artifacts_dir(cfg.profile) / paths.BEST_MODEL)
test_sets, config = views.robustness_inputs(cfg, ds)
result = robustness.evaluate_robustness(ckpt.model, test_sets, config, progress=False)
clean = views.clean_losses(result)
display(text.robustness_setup(ckpt.model_config, test_sets, config, views.ROBUSTNESS_SETS),
        text.robustness_done(result.runtime_s, clean, views.ROBUSTNESS_SETS))

# %% [markdown]
# ## Figure 8a: loss against noise intensity
#
# Solid lines: N6 test; dashed: N3. The shaded band is one standard error of the mean over the
# test images.

# %%
views.figure8a(result, cfg.profile)

# %% [markdown]
# ## Figure 8b: loss against the size of the missing region

# %%
views.figure8b(result, side, cfg.profile)

# %% [markdown]
# ## Tolerance
#
# The largest intensity (region side) before the loss first exceeds its tolerance, a multiple
# of its clean value, per corruption and test set. The curves, the clean losses and these
# tolerances are this notebook's section of `results.json` (`robustness`).

# %%
tolerated = views.tolerances(result)
record = results.robustness_section(result.record(), clean, tolerated, views.ROBUSTNESS_SETS)
saved = results.write_section("robustness", record, cfg.profile)
display(views.tolerance_table(tolerated),
        text.robustness_findings(result.noise_table(), clean, corruption.KIND_LABELS))

# %% [markdown]
# ## Comparison with the paper
#
# The paper (§4) reports that its model is robust to Poisson and Gaussian noise up to a moderate
# intensity, that salt-and-pepper noise hurts more, that N3 fared worse than N6 throughout (its
# Figure 8a), and that once about half of the image is removed the loss *falls below* the clean
# loss (its Figure 8b), which the paper explains by the model predicting a blank image.
#
# Each of these claims is decided below from this notebook's numbers by
# `convlstm_lib.report.claims` (the same verdicts as in the report's closing section, *This
# reproduction beside the paper*). Two differences in method matter when comparing the curves:
#
# * the y-axis here is a per-pixel MSE on the [0, 1] scale, not the paper's loss that depends on
#   the batch size (notebook 04), so only the *shape* of the curves compares;
# * salt-and-pepper noise sets pixels to black or white, far outside the dark, low-noise
#   background the model was trained on, while Gaussian and Poisson noise at the same intensity
#   change most pixels only a little; the intensities are therefore not equally strong
#   corruptions, in the paper or here.

# %%
text.robustness_claims(record)

# %% [markdown]
# ## Limitations

# %%
text.robustness_limits(cfg)
