"""The summary page and the closing section: generated from results.json, robust to what it lacks."""

from __future__ import annotations

import re

from convlstm_lib.report.summary import beside_the_paper_html, headline_table, summary_html

RESULTS = {
    "profile": "quick",
    "seed": 0,
    "device": "cpu (2 threads)",
    "runtime_s": 1103.0,
    "config": {"n_trials": 12, "epochs": 4, "layers_max": 2, "kernels_max": 16},
    "counts": {"total": 12},
    "data": {"source": "generated", "n6_sequences": 400, "n3_sequences": 100},
    "best": {
        "trial": 8,
        "training_set": "denoised",
        "n6_test_mse": 1.2893e-3,
        "n6_test_psnr": 31.18,
        "n6_test_ssim": 0.8475,
        "n3_mse": 1.6527e-3,
        "n3_psnr": 30.33,
        "n3_ssim": 0.8518,
        "parameters": {
            "layers": 2,
            "kernels": 15,
            "activation": "tanh",
            "optimizer": "RAdam",
            "lr": 3.945e-3,
            "batch_size": 41,
        },
    },
    "baselines": {
        "copy_last": {
            "n6_test_mse": 2.6333e-3,
            "n6_test_psnr": 27.46,
            "n6_test_ssim": 0.7431,
            "n3_mse": 4.2057e-3,
            "n3_psnr": 25.22,
            "n3_ssim": 0.7383,
        }
    },
    "paper_comparison": [
        {"training_set": "base", "paper_n6_mse": 9.9e-4, "paper_n3_mse": 1.1e-3},
        {"training_set": "denoised", "paper_n6_mse": 7.37e-4, "paper_n3_mse": 9.7e-4},
    ],
}


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_summary_states_the_run_and_the_headline_from_results_only():
    page = text(summary_html(RESULTS))
    assert "sequences generated from MNIST digits" in page and "400 N6 and 100 N3" in page
    assert "quick profile (seed 0) on cpu (2 threads), 18 min 23 s wall time" in page
    assert "12 of 12 trials of 4 epochs each" in page and "wall-clock budget" not in page
    assert "trial 8, a ConvLSTM trained on the denoised set: 2 layer(s) x 15 kernels, tanh, RAdam" in page
    assert "1.29e-03 31.2 0.848 1.65e-03 30.3 0.852" in page  # the best row, 3 significant figures
    assert "the paper's best (denoised), converted 7.37e-04 - - 9.70e-04 - -" in page
    assert "0.490 x copy-last and 1.75 x the paper's converted value" in page
    assert "Disagrees with the paper" in page or "Agrees with the paper" in page


def test_course_data_and_a_sweep_cut_short_by_its_budget_are_said_on_page_one():
    results = {
        **RESULTS,
        "data": {"source": "course"},
        "sweep": {"counted": 7, "n_trials": 12, "budget_s": 600},
    }
    page = text(summary_html(results))
    assert "the course's CSV files" in page
    assert "7 of 12 trials : the wall-clock budget of 10 min 0 s ended the sweep early" in page


def test_sections_other_notebooks_add_get_a_line_when_present():
    results = {
        **RESULTS,
        "models": {"convlstm": {"n6_test_mse": 1.3e-3}, "convgru": {"n6_test_mse": 1.1e-3}},
        # the shapes task_study writes: scored entries, a ratios mapping, the task the course CSV holds
        "frame4": {"frame": 4, "interpolate": {"n6_test_mse": 4e-4},
                   "neighbour_mean": {"n6_test_mse": 1.47e-3},
                   "ratios": {"interpolate_to_extrapolate": 0.45, "interpolate_to_neighbour_mean": 0.272},
                   "course_csv": "interpolate-2"},
        "frame16": {"frame": 16, "extrapolate-2": {"n6_test_mse": 2e-3},
                    "extrapolate-11": {"n6_test_mse": 1.8e-3}, "course_csv": "extrapolate-11"},
        "seeds": {"n6_test_mse": [1.29e-3, 1.35e-3, 1.31e-3], "mean": 1.3167e-3, "spread": 3.1e-5},
        "final": {"members": 2, "n6_test_mse": 7.5e-4, "model_config": {"model": "convgru", "layers": 3,
                                                                        "kernels": 24}},
    }
    page = text(summary_html(results))
    assert "convlstm 1.30e-03, convgru 1.10e-03" in page
    assert "interpolate 4.00e-04, neighbour mean 1.47e-03" in page
    assert "interpolation is 0.450 x extrapolation and 0.272 x the neighbour mean" in page
    assert "course CSV holds frame 4 by interpolate-2" in page and "ratios" not in page
    assert "extrapolate-2 2.00e-03, extrapolate-11 1.80e-03" in page
    assert "course CSV holds frame 16 by extrapolate-11" in page
    assert "3 seeds: N6 MSE 1.32e-03 ± 3.10e-05" in page
    copy_last = results["baselines"]["copy_last"]["n6_test_mse"]
    assert (f"final model (2 runs of a convgru 3 x 24 averaged, notebook 06): N6 MSE 7.50e-04 "
            f"({7.5e-4 / copy_last:.3f} x copy-last)") in page


def test_an_empty_run_still_gives_a_summary():
    page = text(summary_html({"profile": "smoke", "seed": 0}))
    assert "No trial completed" in page
    assert len(headline_table({"best": {"n6_test_mse": 1.0}})) == 2  # no paper row without the comparison


def test_the_closing_section_quotes_each_claim_with_a_verdict():
    html = beside_the_paper_html(RESULTS)
    assert html.count("<blockquote>") == 10
    assert 'class="agrees">agrees<' in html  # the denoised best trial
    assert "not tested" in html and 'id="beside-the-paper"' in html
