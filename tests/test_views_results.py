"""What notebooks 03 and 04 show (convlstm_lib/report/views_results.py): tables and figures from trials."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.experiments import table1  # noqa: E402
from convlstm_lib.models.build import build_model, count_parameters  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.report import results, views_results  # noqa: E402
from convlstm_lib.report.text import Prose  # noqa: E402


def _trial(number, dataset, status, n6, model="convlstm"):
    return {"number": number, "status": status, "reason": "" if status == "complete" else "why",
            "dataset": dataset, "activation": "relu", "layers": 1, "kernels": 8, "lr": 1e-3, "batch_size": 32,
            "optimizer": "Adam", "val_mse": 1.2 * n6,
            "model": model, "n6_test_mse": n6, "n3_mse": 2 * n6, "n6_test_psnr": 30.0, "n6_test_ssim": 0.9,
            "n3_psnr": 28.0, "n3_ssim": 0.8, "n6_test_clean_mse": n6 / 2, "n3_clean_mse": np.nan,
            "n6_test_paper_loss": n6 / 32, "n3_paper_loss": np.nan, "runtime_s": 1.5, "epochs_run": 1,
            "checkpoint": f"trials/{number}.pt"}


TRIALS = pd.DataFrame([_trial(0, "base", "complete", 0.010), _trial(1, "base", "collapsed", 0.001),
                       _trial(2, "denoised", "complete", 0.006, model="convgru"),
                       _trial(3, "cleaned", "complete", 0.008), _trial(4, "processed", "complete", 0.009)])


def test_table_1_holds_the_convlstm_rows_and_the_baselines_below_them():
    table = table1.table1(TRIALS)
    baselines = {"copy_last": {"n6_test_mse": 0.02, "n3_mse": 0.03}}
    shown = views_results.table1_view(table, baselines).frame
    assert list(shown["Training set"]) == ["Base", "Removed Outliers", "Fully Processed",
                                           "baseline: copy-last"]
    assert shown["N6 MSE"].iloc[-1] == 0.02  # the convgru trial is not the paper's model: notebook 06 has it


def test_every_trial_counted_gives_a_sentence_and_the_others_their_reasons():
    assert isinstance(views_results.not_counted(TRIALS[TRIALS["status"] == "complete"]), Prose)
    reasons = views_results.not_counted(TRIALS).frame
    assert list(reasons["trial"]) == [1] and list(reasons["reason"]) == ["why"]


def test_the_model_sizes_are_those_the_builder_builds():
    cfg = get_profile("smoke")
    frame = views_results.model_sizes(cfg).frame
    smallest = count_parameters(build_model(ModelConfig(layers=cfg.layers_min, kernels=cfg.kernels_min)))
    assert frame["parameters"].iloc[0] == smallest
    assert list(frame["layers"])[-1] == 4 and list(frame["kernels"])[-1] == 71  # the paper's best


def test_the_best_section_fits_the_schema_with_its_checkpoint_and_noise_floor(tmp_path):
    best = table1.best_trial(TRIALS, model=table1.PAPER_MODEL).copy()
    floor = {"N6 test": {"measured": None, "corner_sigma": 0.01, "corner_sigma2": 1e-4}}
    section = results.best_section(best, 0.02, paths.ROOT / "runs" / "x" / "best_model.pt", floor)
    typed = results.parse_section("best", section)
    assert typed.trial == 3 and typed.ratio_to_copy_last == 0.4 and typed.checkpoint == "runs/x/best_model.pt"
    assert typed.noise_floor["N6 test"].measured is None


def test_the_sweep_figure_is_saved_under_its_report_name(project_dirs):
    import matplotlib.pyplot as plt

    fig = views_results.sweep_trials_figure(TRIALS, get_profile("smoke"))
    assert not plt.fignum_exists(fig.number)
    assert {p.name for p in paths.figures_dir("smoke").iterdir()} == {"sweep_trials.png", "sweep_trials.svg"}
