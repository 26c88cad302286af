"""results: best-trial selection on validation, Table 1, the paper's rule beside it, the paper's
conversion, result files."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from convlstm_lib.data.preprocessing import WindowSet
from convlstm_lib.experiments import table1 as results


def _trial(number, dataset, status, val, n6=None, n3=None, **extra):
    """A trials-table row; its N6 test MSE by default 0.02 - val: the test ranks the trials the other
    way round, so a selection that read it would pick others."""
    n6 = n6 if n6 is not None else (np.nan if val is np.nan else 0.02 - val)
    row = {
        "number": number, "status": status, "reason": "", "dataset": dataset, "activation": "relu",
        "layers": 1, "kernels": 8, "lr": 1e-3, "batch_size": 32, "optimizer": "Adam", "val_mse": val,
        "n6_test_mse": n6, "n3_mse": n3 if n3 is not None else (np.nan if n6 is np.nan else 2 * n6),
        "n6_test_psnr": 30.0, "n6_test_ssim": 0.9, "n3_psnr": 28.0, "n3_ssim": 0.8,
        "n6_test_clean_mse": np.nan if n6 is np.nan else n6 / 2, "n3_clean_mse": np.nan,
        "n6_test_paper_loss": np.nan if n6 is np.nan else n6 / 32, "n3_paper_loss": np.nan,
        "runtime_s": 1.5, "checkpoint": f"trials/{number}.pt",
    }
    row.update(extra)
    return row


@pytest.fixture
def trials() -> pd.DataFrame:
    # The lowest validation MSEs belong to trials that must not count; the test MSEs rank the
    # complete trials the other way round.
    return pd.DataFrame([
        _trial(0, "base", "complete", 0.010),
        _trial(1, "base", "collapsed", 0.001),
        _trial(2, "base", "complete", 0.008, batch_size=64),
        _trial(3, "denoised", "diverged", 0.0005),
        _trial(4, "denoised", "complete", 0.006),
        _trial(5, "cleaned", "failed", np.nan),
        _trial(6, "processed", "pruned", 0.0001),
        _trial(7, "processed", "complete", 0.007),
        _trial(8, "processed", "complete", 0.007),  # tie with 7: the lower number wins
        _trial(9, "denoised", "complete", np.inf, n6=0.001),  # not finite: excluded
    ])


def test_counts_include_every_status(trials):
    counts = results.status_counts(trials)
    assert counts == {"complete": 6, "collapsed": 1, "diverged": 1, "failed": 1, "pruned": 1, "killed": 0,
                      "surplus": 0, "running": 0, "total": 10}
    by_set = results.status_counts_by_set(trials)
    assert list(by_set.index) == ["base", "cleaned", "denoised", "processed"]
    assert by_set.loc["denoised", "complete"] == 2 and by_set.loc["denoised", "diverged"] == 1
    assert by_set["total"].sum() == 10


def test_best_trial_ignores_collapsed_diverged_failed_pruned_and_nonfinite(trials):
    best = results.best_trial(trials)
    assert int(best["number"]) == 4 and best["dataset"] == "denoised"
    per_set = results.best_per_training_set(trials)
    # 'cleaned' has no complete trial: no row; ties go to the lower trial number.
    assert list(per_set["dataset"]) == ["base", "denoised", "processed"]
    assert list(per_set["number"]) == [2, 4, 7]


def test_best_trial_raises_naming_the_statuses_when_nothing_completed(trials):
    failed = trials[trials["status"] != "complete"]
    with pytest.raises(results.ResultsError, match="no complete trial"):
        results.best_trial(failed)


def test_check_trials_rejects_missing_columns_and_unknown_status(trials):
    with pytest.raises(results.ResultsError, match="missing column"):
        results.check_trials(trials.drop(columns=["n3_mse"]))
    bad = trials.copy()
    bad.loc[2, "status"] = "finished"
    with pytest.raises(results.ResultsError, match="row 2: unknown status 'finished'"):
        results.check_trials(bad)


def test_table1_columns_and_values(trials):
    table = results.table1(trials)
    assert tuple(table.columns) == results.TABLE1_COLUMNS
    assert list(table["training_set"]) == ["base", "denoised", "processed"]
    row = table.iloc[0]
    assert row["trial"] == 2 and row["batch_size"] == 64 and row["val_mse"] == pytest.approx(0.008)
    assert row["n6_test_mse"] == pytest.approx(0.012) and row["n3_mse"] == pytest.approx(0.024)
    assert row["n6_test_clean_mse"] == pytest.approx(0.006)
    assert results.TABLE1_LABELS["val_mse"] == "Val MSE"
    assert table["layers"].dtype == np.int64


def test_compare_with_paper_ratios(trials):
    comparison = results.compare_with_paper(results.table1(trials))
    assert list(comparison["training_set"]) == ["base", "cleaned", "denoised", "processed"]
    denoised = comparison.set_index("training_set").loc["denoised"]
    assert denoised["n6_ratio"] == pytest.approx(0.014 / (3.69e-6 * 200))
    assert denoised["paper_batch_size"] == 254
    assert math.isnan(comparison.set_index("training_set").loc["cleaned", "n6_test_mse"])


def test_baseline_rows_and_loss_distribution(trials):
    rows = results.baseline_rows({"copy_last": {"n6_test_mse": 0.02, "n3_mse": 0.03}})
    assert rows.loc[0, "training_set"] == "baseline: copy_last"
    assert rows.loc[0, "n6_test_mse"] == 0.02 and math.isnan(rows.loc[0, "n6_test_psnr"])
    with pytest.raises(results.ResultsError, match="copy_last"):
        results.baseline_rows({"copy_last": 0.02})
    dist = results.loss_distribution(trials)
    # Five complete trials with a finite validation MSE, two test sets each.
    assert len(dist) == 10 and set(dist["test_set"]) == {"N6 test", "N3"}
    assert set(dist["trial"]) == {0, 2, 4, 7, 8}


def test_best_record_ratio_to_copy_last_is_json_ready(trials):
    record = results.best_record(results.best_trial(trials), copy_last_n6_mse=0.028)
    assert record["trial"] == 4 and record["training_set"] == "denoised"
    assert record["val_mse"] == pytest.approx(0.006) and record["n6_test_mse"] == pytest.approx(0.014)
    assert record["parameters"] == {"batch_size": 32, "activation": "relu", "layers": 1, "kernels": 8,
                                    "lr": 1e-3, "optimizer": "Adam"}
    assert record["ratio_to_copy_last"] == pytest.approx(0.5)
    json.dumps(record, allow_nan=True)  # plain types only


def test_the_papers_rule_is_set_beside_each_validation_pick(trials):
    table = results.paper_rule(trials)
    assert tuple(table.columns) == results.PAPER_RULE_COLUMNS
    rows = table.set_index("training_set")
    assert list(rows.index) == ["base", "denoised", "processed", results.OVERALL]
    base = rows.loc["base"]  # validation picks trial 2; the test frames would have picked trial 0
    assert (base["trial"], base["paper_rule_trial"]) == (2, 0) and not base["same_pick"]
    assert base["n6_test_mse"] == pytest.approx(0.012)
    assert base["paper_rule_n6_test_mse"] == pytest.approx(0.010)
    assert base["optimism"] == pytest.approx(1 - 0.010 / 0.012)
    overall = rows.loc[results.OVERALL]
    assert (overall["trial"], overall["paper_rule_trial"]) == (4, 0)
    assert overall["optimism"] == pytest.approx(1 - 0.010 / 0.014)
    # the same candidates: trial 9's test MSE is the lowest, but its validation MSE is not finite
    assert rows.loc["denoised", "same_pick"] and rows.loc["denoised", "optimism"] == 0
    assert (table["optimism"] >= 0).all()
    record = results.paper_rule_record(trials)
    assert record["selection"] == "validation" and record["overall"]["paper_rule_trial"] == 0
    assert set(record["per_training_set"]) == {"base", "denoised", "processed"}
    assert record["any_kind"] == record["overall"]  # one model kind: the same trials
    json.dumps(record, allow_nan=False)  # plain types only


def test_the_pick_over_every_kind_is_shown_where_it_differs(trials):
    kinds = trials.assign(model=["convlstm"] * 4 + ["convgru"] + ["convlstm"] * 5)  # trial 4 a ConvGRU
    record = results.paper_rule_record(kinds)
    overall, any_kind = record["overall"], record["any_kind"]
    # ConvLSTMs: validation picks trial 7 (0.007), the test frames trial 0; every kind: 4 and 0
    assert (overall["trial"], overall["paper_rule_trial"]) == (7, 0)
    assert (any_kind["trial"], any_kind["paper_rule_trial"]) == (4, 0)
    shown = results.paper_rule_table(record)
    assert shown["training_set"].tolist() == ["base", "processed", results.OVERALL, results.ANY_KIND]
    assert shown.iloc[-1]["optimism"] == pytest.approx(1 - 0.010 / 0.014)
    alone = results.paper_rule_table(results.paper_rule_record(trials))  # one kind: no extra row
    assert alone["training_set"].tolist() == ["base", "denoised", "processed", results.OVERALL]


def test_noise_floor_measured_against_clean_targets():
    rng = np.random.default_rng(1)
    clean = np.zeros((20, 36, 36), np.float32)
    noisy = (clean + rng.normal(0, 0.1, clean.shape)).astype(np.float32)
    ws = WindowSet(np.zeros((20, 2, 36, 36), np.float32), noisy, clean, np.arange(20), np.full(20, 3))
    floor = results.noise_floor(ws)
    assert floor["measured"] == pytest.approx(0.01, rel=0.05)
    assert floor["corner_sigma"] == pytest.approx(0.1, rel=0.1)
    assert floor["corner_sigma2"] == pytest.approx(floor["corner_sigma"] ** 2)
    no_clean = WindowSet(ws.inputs, noisy, None, ws.seq, ws.frame)
    assert results.noise_floor(no_clean)["measured"] is None


def test_sequence_in_context_marks_predicted_frames():
    seq = np.zeros((16, 4, 4))
    frames, predicted = results.sequence_in_context(seq, {3: np.ones((4, 4)), 15: np.full((4, 4), 2.0)})
    assert predicted.tolist() == [t in (3, 15) for t in range(16)]
    assert frames[3].max() == 1 and frames[15].min() == 2 and frames[0].max() == 0
    assert seq.max() == 0  # input untouched
    with pytest.raises(ValueError, match="frame index 16"):
        results.sequence_in_context(seq, {16: np.ones((4, 4))})
    with pytest.raises(ValueError, match=r"predictions\[3\]"):
        results.sequence_in_context(seq, {3: np.ones((3, 3))})


def test_loss_by_set_counts_complete_trials_only():
    trials = pd.DataFrame(
        {
            "status": ["complete", "complete", "collapsed", "complete"],
            "dataset": ["base", "base", "base", "cleaned"],
            "n6_test_mse": [1e-3, 3e-3, 1e-9, 2e-3],
        }
    )
    out = results.loss_by_set(trials)
    assert out["base"] == {"count": 2, "min": 1e-3, "median": 2e-3, "variance": pytest.approx(2e-6)}
    assert out["cleaned"]["count"] == 1 and out["cleaned"]["variance"] is None
