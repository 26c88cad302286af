"""Results of the sweep (paper §4): the best trials, Table 1, the comparison with the paper.

Input is the sweep's trials table (`sweep.load_trials(cfg)`, one row a trial) with at least
the columns of `REQUIRED_COLUMNS`; the metric columns are `metrics.METRIC_KEYS`
(per-pixel MSE, PSNR, SSIM on the [0, 1] scale; see `metrics` for the reductions).

Selection. A trial counts only when its status is ``complete`` and its validation MSE is
finite; ``collapsed`` (blank predictions), ``diverged``, ``failed`` (could not train), ``pruned``,
``killed``, ``surplus`` and ``running`` trials are excluded and counted (`status_counts`).
The best trial of a training set is the one with the lowest validation per-pixel MSE
(`metrics.SELECTION_KEY`; ties: the lower trial number); the best overall is the best of those.
The test windows (N6 test, N3) only report. The paper had no validation split and chose its
models by their test loss: `paper_rule` shows, beside each pick, the trial that rule would have
picked and its N6 test MSE, so the optimism it buys is a number (`paper_rule_record` for
results).

The paper's own Table 1 and its loss convention live in `paper`; result files in `artifacts`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from convlstm_lib.config import TRAINING_SETS
from convlstm_lib.data.calibration import corner_noise
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.experiments.paper import PAPER_TABLE1
from convlstm_lib.experiments.protocol import SELECTION
from convlstm_lib.statuses import TRIAL_STATUSES, complete_trials
from convlstm_lib.training.metrics import METRIC_KEYS, SELECTION_KEY, VAL_MSE

# The paper's model: Table 1, the best record and everything built on it (robustness, tasks,
# the course predictions) use it; notebook 06 compares the other kinds.
PAPER_MODEL = "convlstm"

# A trial's status as the sweep records it (`statuses`): only "complete" counts; killed (its
# worker died), surplus (never trained) and running trials are listed in the counts.
STATUSES = TRIAL_STATUSES
PARAMETER_COLUMNS = ("batch_size", "activation", "layers", "kernels", "lr", "optimizer")
REQUIRED_COLUMNS = ("number", "status", "dataset", *PARAMETER_COLUMNS, VAL_MSE, "n6_test_mse", "n3_mse")
# The paper's rule: the best trial by its N6 test loss (what `paper_rule` sets beside each pick).
PAPER_RULE_KEY = "n6_test_mse"
# Table 1's metric columns: every metric key, the two test MSEs first (the paper's own columns),
# then the validation MSE each row was chosen by.
FIRST_COLUMNS = ("n6_test_mse", "n3_mse", VAL_MSE)
METRIC_COLUMNS = (*FIRST_COLUMNS, *(k for k in METRIC_KEYS if k not in FIRST_COLUMNS))
TABLE1_COLUMNS = ("training_set", "trial", *PARAMETER_COLUMNS, *METRIC_COLUMNS)
TRAINING_SET_LABELS = {
    "base": "Base", "denoised": "Denoised", "cleaned": "Removed Outliers", "processed": "Fully Processed",
}
TABLE1_LABELS = {
    "training_set": "Training set", "trial": "Trial", "batch_size": "Batch size", "activation": "Activation",
    "layers": "Layers", "kernels": "Kernels", "lr": "LR", "optimizer": "Optimiser",
    "n6_test_mse": "N6 MSE", "n3_mse": "N3 MSE", VAL_MSE: "Val MSE", "n6_test_psnr": "N6 PSNR",
    "n6_test_ssim": "N6 SSIM",
    "n3_psnr": "N3 PSNR", "n3_ssim": "N3 SSIM", "n6_test_clean_mse": "N6 clean MSE",
    "n3_clean_mse": "N3 clean MSE", "n6_test_paper_loss": "N6 paper loss", "n3_paper_loss": "N3 paper loss",
}


class ResultsError(ConvLSTMError):
    """A trials table or result file that cannot be summarised (missing columns, no complete trial)."""


# ---------------------------------------------------------------------------------------------
# Trials: checking, counting, selecting


def check_trials(trials: pd.DataFrame, source: str = "trials") -> pd.DataFrame:
    """`trials` unchanged if it has the required columns and known statuses, else ResultsError."""
    if not isinstance(trials, pd.DataFrame):
        raise ResultsError(f"{source}: expected a pandas DataFrame, got {type(trials).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in trials.columns]
    if missing:
        raise ResultsError(f"{source}: missing column(s) {missing}")
    unknown = sorted(set(trials["status"].astype(str)) - set(STATUSES))
    if unknown:
        row = int(np.flatnonzero(~trials["status"].astype(str).isin(STATUSES))[0])
        raise ResultsError(f"{source}: row {row}: unknown status {unknown[0]!r}; expected one of {STATUSES}")
    return trials


def status_counts(trials: pd.DataFrame) -> dict[str, int]:
    """How many trials ended in each status (every status listed, zeros included) and the total."""
    check_trials(trials)
    counts = trials["status"].astype(str).value_counts()
    out = {status: int(counts.get(status, 0)) for status in STATUSES}
    out["total"] = len(trials)
    return out


def status_counts_by_set(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per training set (rows, in TRAINING_SETS order) and status (columns), with totals."""
    check_trials(trials)
    table = pd.crosstab(trials["dataset"], trials["status"]).reindex(
        index=[s for s in TRAINING_SETS if s in set(trials["dataset"])], columns=list(STATUSES), fill_value=0
    )
    table["total"] = table.sum(axis=1)
    return table


def completed(trials: pd.DataFrame, model: str | None = None, metric: str = SELECTION_KEY) -> pd.DataFrame:
    """The trials that count: status complete and a finite `metric` (the validation MSE; of kind
    `model`, if given; a trials table without a `model` column holds the paper's ConvLSTM only)."""
    check_trials(trials)
    done = complete_trials(trials, metric)
    if model is not None:
        kinds = done["model"] if "model" in done.columns else pd.Series(PAPER_MODEL, index=done.index)
        done = done[kinds == model]
    return done


def _best_of(frame: pd.DataFrame, metric: str) -> pd.Series:
    return frame.sort_values([metric, "number"], kind="mergesort").iloc[0]


def best_per_training_set(trials: pd.DataFrame, metric: str = SELECTION_KEY,
                          model: str | None = None) -> pd.DataFrame:
    """One row per training set that has a complete trial (of kind `model`, if given; TRAINING_SETS
    order): its best trial by `metric` (the validation MSE)."""
    done = completed(trials, model, metric)
    rows = [_best_of(group, metric) for name in TRAINING_SETS if len(group := done[done["dataset"] == name])]
    return pd.DataFrame(rows).reset_index(drop=True) if rows else done.iloc[0:0].reset_index(drop=True)


def best_trial(trials: pd.DataFrame, metric: str = SELECTION_KEY, model: str | None = None) -> pd.Series:
    """The best complete trial (of kind `model`, if given): lowest `metric` (the validation MSE),
    ties to the lower number."""
    done = completed(trials, model, metric)
    if done.empty:
        counts = status_counts(trials)
        kind = f" of model {model!r}" if model is not None else ""
        raise ResultsError(f"trials: no complete trial{kind} to choose from (statuses: {counts})")
    return _best_of(done, metric)


def table1(
    trials: pd.DataFrame, metric: str = SELECTION_KEY, model: str | None = PAPER_MODEL
) -> pd.DataFrame:
    """Table 1: the best trial of each training set by `metric` (the validation MSE), with every
    metric; by default of the paper's model (the ConvLSTM) only, as in the paper (`model=None`:
    of any kind).

    Columns `TABLE1_COLUMNS`: training_set, trial, the parameters (batch size, activation,
    layers, kernels, lr, optimiser), per-pixel MSE on N6 test and N3, the validation MSE, mean
    PSNR / mean SSIM on N6 test and N3, the MSE against the clean frames (NaN for course data)
    and the paper-convention loss at the trial's batch size.
    """
    best = best_per_training_set(trials, metric, model)
    out = pd.DataFrame({"training_set": best["dataset"], "trial": best["number"]})
    for col in (*PARAMETER_COLUMNS, *METRIC_COLUMNS):
        out[col] = best[col] if col in best.columns else np.nan
    for col in ("trial", "batch_size", "layers", "kernels"):
        out[col] = out[col].astype("int64")
    return out.reset_index(drop=True)


PAPER_RULE_COLUMNS = ("training_set", "trial", VAL_MSE, "n6_test_mse", "paper_rule_trial",
                      "paper_rule_val_mse", "paper_rule_n6_test_mse", "same_pick", "optimism")
OVERALL = "all"  # paper_rule's row of the best trial overall


def paper_rule(trials: pd.DataFrame, model: str | None = PAPER_MODEL) -> pd.DataFrame:
    """Each pick beside the one the paper's rule (the lowest N6 test MSE) would have made among the
    same trials: one row per training set of `table1` (TRAINING_SETS order), then `OVERALL`.

    Columns `PAPER_RULE_COLUMNS`: this protocol's pick (trial, its validation and N6 test MSE),
    the paper rule's (trial, validation and N6 test MSE), whether they agree, and `optimism` =
    1 - paper rule's N6 test MSE / this pick's: the share of the honest figure that choosing on
    the test frames hides (0 when both pick the same trial; never below 0).
    """
    done = completed(completed(trials, model), metric=PAPER_RULE_KEY)
    groups = [(name, done[done["dataset"] == name]) for name in TRAINING_SETS]
    rows = []
    for name, group in [*groups, (OVERALL, done)]:
        if not len(group):
            continue
        ours, theirs = _best_of(group, SELECTION_KEY), _best_of(group, PAPER_RULE_KEY)
        rows.append({
            "training_set": name, "trial": int(ours["number"]), VAL_MSE: float(ours[VAL_MSE]),
            "n6_test_mse": float(ours["n6_test_mse"]), "paper_rule_trial": int(theirs["number"]),
            "paper_rule_val_mse": float(theirs[VAL_MSE]),
            "paper_rule_n6_test_mse": float(theirs["n6_test_mse"]),
            "same_pick": int(ours["number"]) == int(theirs["number"]),
            "optimism": 1.0 - float(theirs["n6_test_mse"]) / float(ours["n6_test_mse"]),
        })
    return pd.DataFrame(rows, columns=list(PAPER_RULE_COLUMNS))


ANY_KIND = "any kind"  # paper_rule_table's row of the best trial of every model kind


def paper_rule_record(trials: pd.DataFrame, model: str | None = PAPER_MODEL) -> dict[str, Any]:
    """`paper_rule` for results.json: {"selection": "validation", "overall": row, "per_training_set":
    {training set: row}, "any_kind": row}, each row without its training_set; `any_kind` is the
    overall row among the complete trials of every model kind (None when there is none)."""
    table = paper_rule(trials, model)
    rows = {r.pop("training_set"): r for r in table.to_dict("records")}
    every = paper_rule(trials, model=None)
    any_kind = every[every["training_set"] == OVERALL].drop(columns="training_set").to_dict("records")
    return {"selection": SELECTION, "overall": rows.pop(OVERALL, None), "per_training_set": rows,
            "any_kind": any_kind[0] if any_kind else None}


def paper_rule_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """`paper_rule_record` as Table 1 shows it beside its picks: one row per training set, the
    overall pick (`OVERALL`), then the pick over every model kind (`ANY_KIND`) where it differs
    from the overall one. Columns `PAPER_RULE_COLUMNS` (training_set naming the row)."""
    rows = [{"training_set": name, **row} for name, row in record["per_training_set"].items()]
    overall, any_kind = record.get("overall"), record.get("any_kind")
    if overall is not None:
        rows.append({"training_set": OVERALL, **overall})
    pick = (lambda r: (r["trial"], r["paper_rule_trial"])) if overall is not None else None
    if any_kind is not None and (pick is None or pick(any_kind) != pick(overall)):
        rows.append({"training_set": ANY_KIND, **any_kind})
    return pd.DataFrame(rows, columns=list(PAPER_RULE_COLUMNS))


def compare_with_paper(table: pd.DataFrame) -> pd.DataFrame:
    """Our Table 1 beside the paper's, per training set (TRAINING_SETS order), per pixel.

    Columns: training_set; ours: batch_size, n6_test_mse, n3_mse, n6_test_paper_loss,
    n3_paper_loss; the paper's: paper_batch_size, paper_n6_loss, paper_n3_loss, paper_n6_mse,
    paper_n3_mse (exact conversion) and paper_n6_mse_full_batches; the ratios
    n6_ratio = ours / paper per pixel (below 1: better than the paper) and n3_ratio.
    """
    paper = {row.training_set: row for row in PAPER_TABLE1}
    ours = table.set_index("training_set") if len(table) else None
    rows = []
    for name in TRAINING_SETS:
        p = paper[name]
        mine = ours.loc[name] if ours is not None and name in ours.index else None

        def get(col: str, mine=mine) -> float:
            return float(mine[col]) if mine is not None and col in mine.index else math.nan

        rows.append({
            "training_set": name,
            "batch_size": get("batch_size"),
            "n6_test_mse": get("n6_test_mse"),
            "n3_mse": get("n3_mse"),
            "n6_test_paper_loss": get("n6_test_paper_loss"),
            "n3_paper_loss": get("n3_paper_loss"),
            "paper_batch_size": p.batch_size,
            "paper_n6_loss": p.n6_loss,
            "paper_n3_loss": p.n3_loss,
            "paper_n6_mse": p.n6_mse,
            "paper_n3_mse": p.n3_mse,
            "paper_n6_mse_full_batches": p.n6_mse_full_batches,
            "n6_ratio": get("n6_test_mse") / p.n6_mse,
            "n3_ratio": get("n3_mse") / p.n3_mse,
        })
    return pd.DataFrame(rows)


def baseline_rows(baselines: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Baselines as Table 1 rows: training_set = 'baseline: <name>', metrics where given, else NaN.

    `baselines` maps a baseline's name to its metrics with the keys of `METRIC_COLUMNS`
    (e.g. {"copy_last": {"n6_test_mse": ..., "n3_mse": ...}}).
    """
    rows = []
    for name, values in baselines.items():
        if not isinstance(values, Mapping):
            raise ResultsError(
                f"baselines[{name!r}]: expected a mapping of metrics, got {type(values).__name__}"
            )
        rows.append({"training_set": f"baseline: {name}",
                     **{col: float(values[col]) if col in values else math.nan for col in METRIC_COLUMNS}})
    return pd.DataFrame(rows, columns=["training_set", *METRIC_COLUMNS])


def loss_distribution(trials: pd.DataFrame) -> pd.DataFrame:
    """Long table for Figure 6: one row per (complete trial, test set).

    Columns: trial, training_set, test_set ('N6 test' or 'N3'), mse (per pixel).
    """
    done = completed(trials)
    parts = [
        pd.DataFrame({"trial": done["number"].to_numpy(), "training_set": done["dataset"].to_numpy(),
                      "test_set": label, "mse": pd.to_numeric(done[col]).to_numpy(dtype=float)})
        for col, label in (("n6_test_mse", "N6 test"), ("n3_mse", "N3"))
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[np.isfinite(out["mse"])].reset_index(drop=True)


def best_record(best: pd.Series, copy_last_n6_mse: float | None = None) -> dict[str, Any]:
    """best.json: trial, training set, parameters, every metric, and the ratio to copy-last.

    `ratio_to_copy_last` = best N6 test MSE / copy-last N6 test MSE (held to
    `report.targets.BEST_TRIAL`); None when the copy-last MSE is not given.
    """
    params = {}
    for col in PARAMETER_COLUMNS:
        value = best[col]
        params[col] = value.item() if isinstance(value, np.generic) else value
    for col in ("batch_size", "layers", "kernels"):
        params[col] = int(params[col])
    params["lr"] = float(params["lr"])
    record: dict[str, Any] = {
        "trial": int(best["number"]),
        "training_set": str(best["dataset"]),
        "parameters": params,
        **{col: float(best[col]) if col in best.index else None for col in METRIC_COLUMNS},
        "runtime_s": float(best["runtime_s"]) if "runtime_s" in best.index else None,
    }
    if copy_last_n6_mse is not None:
        record["copy_last_n6_test_mse"] = float(copy_last_n6_mse)
        record["ratio_to_copy_last"] = float(best["n6_test_mse"]) / float(copy_last_n6_mse)
    return record


# ---------------------------------------------------------------------------------------------
# The noise floor, predictions in context


def noise_floor(windows) -> dict[str, float | None]:
    """How much of a test MSE is noise no model can predict, on the [0, 1] scale.

    windows: a WindowSet (targets (N, H, W), clean_targets (N, H, W) or None).
    `measured`:  mean over pixels of (target - clean target)^2: the MSE a perfect predictor of
                 the clean frame scores against the recorded targets (None for course data);
    `corner_sigma`: the median over targets of the std of the four 5x5 corners (background
                 only: an estimate of the noise std that needs no clean frames), and
    `corner_sigma2`: its square, the noise floor estimated that way.
    """
    targets = np.asarray(windows.targets, dtype=np.float64)
    measured = None
    if windows.clean_targets is not None:
        measured = float(np.mean((targets - np.asarray(windows.clean_targets, dtype=np.float64)) ** 2))
    sigma = float(np.median(corner_noise(targets)))
    return {"measured": measured, "corner_sigma": sigma, "corner_sigma2": sigma**2}


def sequence_in_context(
    sequence: np.ndarray, predictions: Mapping[int, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """A sequence (T, H, W) with the frames in `predictions` ({frame index: (H, W)}) replaced.

    Returns (frames (T, H, W), predicted (T,) bool): the Figure 7b strip, where the predicted
    frames are the ones to mark with a caret (^).
    """
    sequence = np.asarray(sequence)
    if sequence.ndim != 3:
        raise ValueError(f"sequence: expected shape (T, H, W), got {sequence.shape}")
    frames = sequence.astype(np.float32, copy=True)
    predicted = np.zeros(len(frames), dtype=bool)
    for t, image in predictions.items():
        if not 0 <= t < len(frames):
            raise ValueError(f"predictions: frame index {t} outside 0..{len(frames) - 1}")
        image = np.asarray(image)
        if image.shape != frames.shape[1:]:
            raise ValueError(f"predictions[{t}]: expected shape {frames.shape[1:]}, got {image.shape}")
        frames[t] = image
        predicted[t] = True
    return frames, predicted


# ---------------------------------------------------------------------------------------------
# The trials by training set


def loss_by_set(trials: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Per training set, over complete trials: count, min, median and variance of the N6 test MSE.

    `trials`: the sweep's trials table (columns `status`, `dataset`, `n6_test_mse`). Variance is
    the sample variance (None with fewer than two trials).
    """
    done = complete_trials(trials, "n6_test_mse")
    out: dict[str, dict[str, float | int | None]] = {}
    for name, group in done.groupby("dataset"):
        mse = group["n6_test_mse"].astype(float)
        out[str(name)] = {
            "count": int(len(mse)), "min": float(mse.min()), "median": float(mse.median()),
            "variance": float(mse.var()) if len(mse) >= 2 else None,
        }
    return out
