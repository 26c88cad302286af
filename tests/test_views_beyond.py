"""What notebooks 05 and 06 show (convlstm_lib/report/views_beyond.py): robustness, model kinds, floors."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.experiments import robustness  # noqa: E402
from convlstm_lib.models.build import build_model  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.report import results, views_beyond  # noqa: E402

# the best trial of each kind (`sweep_record.best_per_model`): the ConvGRU has the lower validation
# MSE, the ConvLSTM the lower N6 test MSE
BEST = {"convlstm": {"number": 0, "val_mse": 1.2e-3, "n6_test_mse": 7e-4, "n3_mse": 2e-3, "n_params": 10,
                     "seconds_per_epoch": 3.0, "trials": 2},
        "convgru": {"number": 1, "val_mse": 1.1e-3, "n6_test_mse": 8e-4, "n3_mse": None, "n_params": 8,
                    "seconds_per_epoch": 2.0, "trials": 2}}


def test_the_models_section_fits_the_schema_and_names_the_best_kind_by_validation():
    models = results.models_section(BEST, ["convlstm", "convgru", "simvp"], copy_last_n6_mse=2e-3)
    typed = results.parse_section("models", models)
    assert typed["simvp"] is None and typed["convgru"].ratio_to_copy_last == 0.4
    assert typed["convgru"].trial == 1 and typed["convgru"].val_mse == 1.1e-3
    assert results.best_kind(models) == "convgru"  # not the ConvLSTM, lower on test
    assert results.best_kind({"simvp": None}) is None
    shown = views_beyond.best_per_model_table(models).frame
    assert "val MSE" in shown.columns


def test_the_final_comparison_lists_copy_last_the_sweep_the_seeds_and_every_run():
    models = results.models_section(BEST, ["convlstm", "convgru"], copy_last_n6_mse=2e-3)
    seeds = results.parse_section("seeds", {"trial": 0, "seeds": [1, 2], "val_mse": [1e-3, 1e-3],
                                            "n6_test_mse": [1e-3, 1e-3],
                                            "n3_mse": [2e-3, 2e-3], "extra_runs_s": 1.0, "mean": 1e-3,
                                            "spread": 0.0, "ensemble": {"runs": 2, "n6_test_mse": 9e-4}})
    final = {"runs": [{"n6_test_mse": 7e-4}, {"n6_test_mse": 7.2e-4}], "members": 2, "n6_test_mse": 6.5e-4}
    compared = views_beyond.final_comparison(2e-3, models, seeds, final)
    assert compared == {"copy-last": 2e-3, "sweep's best by validation (convgru)": 8e-4,
                        "Table 1's best row, 2 seeds averaged": 9e-4, "final run 0": 7e-4,
                        "final run 1": 7.2e-4, "final model (2 runs averaged)": 6.5e-4}


def test_the_floor_cells_read_mse_and_ratio_per_reference():
    table = pd.DataFrame({"copy_last": [2e-3], "perfect": [5e-4], "jumps": [6e-4], "carry_on": [7e-4],
                          "best trial": [1e-3]}, index=pd.Index(["all test windows"], name="windows"))
    cells = views_beyond.floor_cells(table, "convgru")
    assert list(cells.index) == ["copy-last", "perfect", "+ jumps", "carry on", "best trial (convgru)"]
    assert cells.loc["best trial (convgru)", "all test windows"] == "1.00e-03 (0.50 x)"


@pytest.fixture
def curves(blob_windows):
    model = build_model(ModelConfig(layers=1, kernels=2), seed=0)
    windows = {"n6": blob_windows(6, seed=0), "n3": blob_windows(4, seed=1)}
    config = robustness.RobustnessConfig(levels=(0.0, 0.5, 1.0), sizes=(0, 18, 36), seed=0, batch_size=8)
    return robustness.evaluate_robustness(model, windows, config, progress=False)


def test_the_robustness_section_fits_the_schema_and_its_figures_are_saved(curves, project_dirs):
    clean = views_beyond.clean_losses(curves)
    assert clean["n6"] == pytest.approx(curves.noise["n6"]["mse"].iloc[0])
    tolerated = views_beyond.tolerances(curves)
    record = results.robustness_section(curves.record(), clean, tolerated, views_beyond.ROBUSTNESS_SETS)
    typed = results.parse_section("robustness", record)
    assert typed.test_sets["n3"].startswith("N3: windows whose target is frame 4 or 16")
    assert set(views_beyond.tolerance_table(tolerated).frame.columns) == {"corruption", "N6 test", "N3"}
    views_beyond.figure8a(curves, "smoke")
    views_beyond.figure8b(curves, 36, "smoke")
    names = {p.stem for p in paths.figures_dir("smoke").iterdir()}
    assert names == {"fig8a_noise_robustness", "fig8b_missing_region"}


def test_every_trial_is_listed_best_by_validation_first():
    rows = [{"number": k, "status": "complete", "dataset": "base", "model": "convlstm", "batch_size": 8,
             "activation": "relu", "layers": 1, "kernels": 4, "lr": 1e-3, "optimizer": "Adam", "n_params": 10,
             "seconds_per_epoch": 1.0, "val_mse": val, "n6_test_mse": test, "n3_mse": test,
             "n6_test_psnr": 30.0, "n6_test_ssim": 0.9}
            for k, val, test in ((0, 3e-3, 1e-3), (1, 1e-3, 3e-3), (2, 2e-3, 2e-3))]
    shown = views_beyond.cost_error_table(pd.DataFrame(rows), copy_last=4e-3).frame
    assert list(shown["trial"]) == [1, 2, 0] and list(shown["val MSE"]) == [1e-3, 2e-3, 3e-3]
