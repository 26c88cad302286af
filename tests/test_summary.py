"""The summary page and the closing section: generated from results.json, robust to what it lacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from convlstm_lib.report.summary import beside_the_paper_html, headline_table, summary_html

EXAMPLE = Path(__file__).with_name("results_example.json")  # a quick run's results.json (test_results)


def example() -> dict:
    return json.loads(EXAMPLE.read_text())


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_summary_states_the_run_and_the_headline_from_results_only():
    results = example()
    page = text(summary_html(results))
    assert "sequences generated from MNIST digits" in page
    assert "400 N6 and 100 N3 sequences of 16 frames" in page
    assert "quick profile (seed 0) on cpu (2 threads), 15 min 16 s wall time" in page
    assert "16 of 16 trials of 3 epochs each" in page and "wall-clock budget" not in page
    assert ("trial 0, a ConvLSTM trained on the base set, chosen by its validation MSE (1.07e-03): "
            "2 layer(s) x 15 kernels, relu, NAdam") in page
    assert "our best ConvLSTM (the paper's model) 8.65e-04 33.2 0.854 1.19e-03 31.8 0.860" in page
    assert "the paper's best (denoised), converted 7.38e-04 - - 1.01e-03 - -" in page
    assert "Our best ConvLSTM's N6 MSE is 0.460 x copy-last and 1.17 x the paper's converted value" in page
    # the wall time given to the page (the stamp's, measured at assembly) wins over results.json's
    assert "1 min 15 s wall time" in text(summary_html(results, runtime_s=75.2))


def test_every_section_a_notebook_adds_gets_its_line():
    page = text(summary_html(example()))
    assert "re-trained with 3 seeds: N6 MSE 8.64e-04 ± 1.44e-06" in page
    assert ("best trial (chosen on validation) at equal budget: convlstm 8.65e-04, convgru 8.66e-04, "
            "convrnn 9.08e-04, simvp 1.03e-03") in page
    assert ("Best model : 2 runs of a convgru 3 x 32 averaged (notebook 06), its recipe kept where it "
            "lowered the validation MSE") in page and "N6 MSE 7.43e-04 (0.396 x copy-last)" in page
    assert "interpolate 6.08e-04, neighbour mean 8.13e-04" in page
    assert "interpolation is 0.563 x extrapolation and 0.748 x the neighbour mean" in page
    assert "course CSV holds frame 4 by interpolate-2 (the lower validation MSE)" in page
    assert "ratios" not in page
    assert "paper 6.49e-04, extrapolate-2 6.46e-04, extrapolate-4 6.43e-04, extrapolate-11 6.44e-04" in page
    assert "course CSV holds frame 16 by extrapolate-4 (the lowest validation MSE)" in page


def test_page_one_says_how_models_were_chosen_and_what_the_papers_rule_would_have_picked():
    results = example()
    page = text(summary_html(results))
    assert ("Selection : Every model, setting and prediction was chosen on validation windows "
            "(400 windows of 40 N6 sequences held out of training)") in page
    # the example: the same ConvLSTMs, but over every kind the test frames would have picked the ConvGRU
    assert ("would have picked other trials for 1 of 6 picks (the best of every model kind: trial 0 "
            "(N6 MSE 8.65e-04) instead of trial 1 (8.66e-04), 0.2 % lower)") in page
    del results["protocol"], results["paper_rule"]  # a run that lacks them: no line, nothing guessed
    bare = text(summary_html(results))
    assert "Selection" not in bare and "paper did, would have picked" not in bare


def test_each_verdict_gets_a_line_and_the_count_adds_up():
    page = text(summary_html(example()))
    assert "Partly agrees with the paper : “Throughout each of the types of noise" in page
    assert "N3 loss above N6 at 81% of the 27 (noise, intensity) points" in page
    assert "3 of the paper's claims agree, 1 partly agree, 5 disagree, 1 not tested" in page


def test_course_data_and_a_sweep_cut_short_by_its_budget_are_said_on_page_one():
    results = example()
    results["data"].update(source="course")
    results["sweep"].update(counted=7, sweep_budget_s=600.0, stopped_by_budget=True)
    page = text(summary_html(results))
    assert "the course's CSV files" in page
    assert "7 of 16 trials : the wall-clock budget of 10 min 0 s ended the sweep early" in page


def test_an_empty_run_or_a_section_that_departs_from_the_schema_still_gives_a_summary():
    page = text(summary_html({"profile": "smoke", "seed": 0}))
    assert "No trial completed" in page and "0 of the paper's claims agree" in page
    broken = example()
    broken["best"] = {"n6_test_mse": 1.0}  # not a best trial: left out, not guessed
    assert "No trial completed" in text(summary_html(broken))
    assert len(headline_table({"best": example()["best"]})) == 2  # no paper row without the comparison


def test_the_final_model_heads_the_page_and_the_convlstm_follows_as_the_papers_model():
    results = example()
    table = headline_table(results)
    assert table["model"].tolist()[:3] == ["our final model", "our best ConvLSTM (the paper's model)",
                                           "copy-last (repeats the last input frame)"]
    assert table["n6_test_mse"].iloc[0] == results["final"]["n6_test_mse"]
    page = text(summary_html(results))
    assert page.index("Best model : 2 runs of a convgru") < page.index("The paper's model : trial 0")
    assert "Our final model's N6 MSE is 0.396 x copy-last." in page
    del results["final"]  # notebook 06 not run: the ConvLSTM is the best model
    page = text(summary_html(results))
    assert "Best model : trial 0, a ConvLSTM" in page and "final model" not in page


def test_the_closing_section_quotes_each_claim_with_a_verdict_and_states_the_thresholds():
    html = beside_the_paper_html(example())
    assert html.count("<blockquote>") == 10
    assert 'class="partly-agrees">partly agrees<' in html and 'class="agrees">agrees<' in html
    assert "not tested" in html and 'id="beside-the-paper"' in html
    assert "holds at 50 % of them or more but at fewer than 90 %" in text(html)
