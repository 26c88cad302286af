"""The report's sentences (convlstm_lib/report/text.py): each number from its argument or a constant."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from convlstm_lib.data.preprocessing import mahalanobis_radius
from convlstm_lib.report import claims, results, targets, text

EXAMPLE = Path(__file__).with_name("results_example.json")  # a quick run's results.json (test_results)


@pytest.fixture(scope="module")
def example() -> results.Results:
    return results.load(EXAMPLE)


def test_prose_shows_as_markdown_and_skips_what_is_empty():
    line = text.prose("**a**", None, "", "b.")
    assert line == "**a** b." and line._repr_markdown_() == "**a** b."
    assert text.share(0.8148) == "81 %" and text.share(33 / 6000, digits=2) == "0.55 %"
    assert text.listing(["a", "b", "c"]) == "a, b and c" and text.esc("<x> & y") == "&lt;x&gt; &amp; y"


def test_the_sweeps_best_trial_names_its_kind():
    best = {"number": 5, "model": "convgru", "dataset": "base", "activation": "tanh", "layers": 2,
            "kernels": 9, "optimizer": "Adam", "lr": 3e-3, "batch_size": 8, "val_mse": 9e-4,
            "n6_test_mse": 8e-4, "n3_mse": 1e-3}
    line = text.best_of_sweep(best)
    assert "Best trial of any model kind by validation MSE (9.00e-04): **5**, a **convgru**" in line
    assert "ConvLSTM, alone" in line
    assert "No trial completed" in text.best_of_sweep(None)


def test_table_1s_best_row_is_the_best_convlstm_against_its_target():
    best = pd.Series({"number": 0, "dataset": "cleaned", "layers": 2, "kernels": 15, "activation": "relu",
                      "optimizer": "NAdam", "lr": 9e-3, "batch_size": 8, "val_mse": 1.1e-3,
                      "n6_test_mse": 8.6e-4})
    floor = {"N6 test": {"measured": 2.4e-4, "corner_sigma": 0.015, "corner_sigma2": 2.4e-4}}
    line = text.best_convlstm(best, 1.88e-3, floor)
    assert line.startswith("**Best ConvLSTM (the paper's model), chosen by its validation MSE (1.10e-03)**: "
                           "trial 0, training set *Removed Outliers*")
    assert "**0.457 x copy-last** (the project's target on the quick profile, at most 0.60 x copy-last: " \
           "met)" in line
    assert "28 % of this model's loss is noise" in line
    assert "not met" in text.best_convlstm({**best, "n6_test_mse": 1.5e-3}, 1.88e-3, floor)
    unmeasured = {"N6 test": {**floor["N6 test"], "measured": None}}
    assert "estimated noise floor (corner σ²) is 2.40e-04" in text.best_convlstm(best, 1.88e-3, unmeasured)


def test_the_verdicts_thresholds_are_stated_from_the_claims_module(monkeypatch):
    assert "at 50 % of them or more but at fewer than 90 %" in text.verdict_rules()
    monkeypatch.setattr(claims, "PARTLY_SHARE", 0.6)
    assert "at 60 % of them or more" in text.verdict_rules()


def test_sentences_from_the_paper_and_the_detector_compute_their_numbers():
    assert "flags 33 transitions in its N6 (400 x 15 = 6,000 transitions: 0.55 %)" in text.paper_outliers()
    settings = {"sigmas": 3.0, "n_components": 6, "tail_probability": 0.0027, "smooth_sigma": 2.0}
    rule = text.outlier_rule(settings)
    assert f"{mahalanobis_radius(6, 3.0):.2f} for the k = 6 used here" in rule and "flags 0.27 %" in rule
    assert "blurred (Gaussian, 2 px)" in rule
    search = text.paper_search()
    assert "200 trials of 20 epochs" in search and "1-7 layers, 1-100 kernels" in search
    assert "(30 of 200)" in search


def test_the_calibration_result_counts_and_names_what_is_outside():
    table = pd.DataFrame({"quantity": ["a", "b", "c"], "within": [True, False, True]})
    line = text.calibration_result(table, 400, 100)
    assert "**2 of 3** figures within tolerance (measured on 400 N6 and 100 N3 sequences)" in line
    assert "Also outside: `b`." in line


def test_the_task_study_sentences_read_the_typed_sections(example):
    contexts = text.frame16_contexts(example.frame16)
    assert "2 frames 6.46e-04 (1.00 x), 4 frames 6.43e-04 (0.996 x), 11 frames 6.44e-04 (0.997 x)" in contexts
    assert "a longer past is no worse than two frames here (extrapolate-4, extrapolate-11)" in contexts
    held = text.course_csvs(example.frame4, example.frame16, ["predictions_n6.csv"])
    assert "**frame 4 by interpolate-2** (N6 test MSE 6.08e-04" in held
    assert "**frame 16 by extrapolate-4**" in held
    limits = {"windows": 400, "jumps": 8, "floor": 5.3e-4, "noise": 2.4e-4, "neighbour_excess": 3e-4,
              "ordinary": 392, "carry_on": 8.5e-4}
    floor = text.frame4_floor(limits, example.frame4)
    assert "0.652 x the neighbour mean" in floor and "at most 0.80 x the mean of frames 3 and 5" in floor
    assert "0.748 x the neighbour mean: met" in floor
    assert "below 0.624 x it cannot go" in text.against_extrapolation(limits, example.frame4)


def test_the_final_model_is_held_to_the_target_for_the_best_model(example):
    cfg = example.config
    copy_last = example.baselines["copy_last"].n6_test_mse
    line = text.final_model(example.final, cfg, copy_last)
    assert "2 runs of a convgru 3 x 32 (141,251 parameters, tanh, reading its frames as channels)" in line
    assert "(the 42 whose target follows a flagged jump left out)" in line
    assert "**7.43e-04 (0.396 x copy-last)**" in line and f"{targets.BEST_MODEL}: met" in line


@pytest.mark.parametrize(
    ("seconds", "said"), [(9.44, "9.4 s"), (75.2, "1 min 15 s"), (3725, "1 h 2 min 5 s")]
)
def test_a_duration_reads_in_hours_minutes_and_seconds(seconds, said):
    assert text.duration(seconds) == said


def test_the_best_of_all_kinds_is_chosen_on_validation_not_on_the_test_frames(example):
    # the example's ConvLSTM has the lowest N6 test MSE, its ConvGRU the lowest validation MSE
    models = example.models
    assert min(models, key=lambda k: models[k].n6_test_mse) == "convlstm"
    line = text.best_of_kinds(models)
    assert line.startswith("Best of all kinds by validation MSE (1.06e-03): **convgru**, 8.66e-04 on the "
                           "N6 test")
    assert "Kinds below copy-last on the N6 test: convlstm, convgru, convrnn, simvp" in line
    written = json.loads(EXAMPLE.read_text())["models"]  # the section as written picks the same
    assert results.best_kind(written) == results.best_kind(models) == "convgru"
    assert results.best_kind({"convlstm": None}) is None and "No trial" in text.best_of_kinds({"a": None})


def test_the_papers_rule_line_names_each_pick_it_would_have_moved(example):
    rule = example.paper_rule
    line = text.paper_rule_line(rule)
    assert "other trials for 1 of 6 picks" in line and "the best of every model kind: trial 0" in line
    written = json.loads(EXAMPLE.read_text())["paper_rule"]
    same = results.parse_section("paper_rule", {**written, "any_kind": None})
    assert "would have picked the same trials (5 picks compared)" in text.paper_rule_line(same)
    assert text.paper_rule_line(None) == ""
