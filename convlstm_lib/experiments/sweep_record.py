"""A sweep's record: its trials exported as a table, learning curves and a summary, and read back.

Outputs under runs/<profile>/: ``trials.csv`` (one row a trial, `TRIAL_COLUMNS`), ``history.json``
(every trial's per-epoch validation, N6-test and N3 MSE: the learning curves), ``sweep.json``
(configuration, counts, estimated time saved by pruning, best trial), ``trials/trial_NNNNN.pt``
(checkpoints of complete and collapsed trials). All written atomically. The best trials (overall,
per model kind) are those of the lowest validation MSE (`metrics.SELECTION_KEY`).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from convlstm_lib import paths
from convlstm_lib.atomic import atomic_path
from convlstm_lib.config import ProfileConfig
from convlstm_lib.experiments.sweep_space import PARAM_NAMES
from convlstm_lib.experiments.sweep_storage import SweepError, redact
from convlstm_lib.jsonio import write_json
from convlstm_lib.statuses import COUNTED_FAIL_STATUSES
from convlstm_lib.training.metrics import METRIC_KEYS, SELECTION_KEY, VAL_MSE

# Per-epoch metrics kept for the learning curves (runs/<profile>/HISTORY_FILE).
HISTORY_KEYS = (VAL_MSE, "n6_test_mse", "n3_mse")
HISTORY_FILE = paths.TRIAL_HISTORY
TRIAL_COLUMNS = (
    "number", "state", "status", "reason", *PARAM_NAMES, *METRIC_KEYS,
    "epochs_run", "runtime_s", "seconds_per_epoch", "n_params", "time_saved_s", "seed", "checkpoint",
)


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row a trial (columns TRIAL_COLUMNS), ordered by trial number; missing values NaN/''."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        ua = t.user_attrs
        status = ua.get("status", "running" if t.state == TrialState.RUNNING else t.state.name.lower())
        metrics = ua.get("metrics", {})
        rows.append({
            "number": t.number, "state": t.state.name, "status": status, "reason": ua.get("reason", ""),
            **{p: t.params.get(p) for p in PARAM_NAMES},
            "model": t.params.get("model", "convlstm"),  # studies from before the model parameter
            **{k: metrics.get(k, math.nan) for k in METRIC_KEYS},
            "epochs_run": ua.get("epochs_run", 0), "runtime_s": ua.get("runtime_s", math.nan),
            "seconds_per_epoch": ua.get("seconds_per_epoch", math.nan),
            "n_params": ua.get("n_params", math.nan),
            "time_saved_s": ua.get("time_saved_s", 0.0), "seed": ua.get("seed"),
            "checkpoint": ua.get("checkpoint", ""),
        })
    frame = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
    return frame.sort_values("number").reset_index(drop=True)


def export_history(study: optuna.Study, target: Path) -> dict[str, list[dict[str, float]]]:
    """Every trial's per-epoch metrics (HISTORY_KEYS), by trial number, as JSON at `target`.

    The learning curves of notebook 04:
    `{"0": [{"epoch": 1, "val_mse": ..., "n6_test_mse": ..., "n3_mse": ...}, ...]}`.
    """
    history = {str(t.number): t.user_attrs.get("history", []) for t in study.get_trials(deepcopy=False)}
    write_json(target, history)
    return history


def load_history(cfg: ProfileConfig, runs_dir: Path | None = None) -> dict[int, pd.DataFrame]:
    """runs/<profile>/history.json as {trial number: one row per epoch}; trials without epochs left out."""
    target = Path(runs_dir or paths.runs_dir(cfg.profile)) / HISTORY_FILE
    if not target.is_file():
        raise SweepError(f"{target}: no learning curves yet; run the sweep first (notebook 03)")
    try:
        raw = json.loads(target.read_text())
    except json.JSONDecodeError as exc:
        raise SweepError(f"{target}: not valid JSON ({exc})") from None
    return {int(k): pd.DataFrame(v) for k, v in raw.items() if v}


def export_trials(study: optuna.Study, target: Path) -> pd.DataFrame:
    """Write `trials_frame(study)` to `target` (CSV, atomically) and return it."""
    frame = trials_frame(study)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Counts by status, counted total, training time, time saved by pruning, the best trial (the
    lowest validation MSE)."""
    counted = frame[frame["state"].isin(["COMPLETE", "PRUNED"]) | frame["status"].isin(COUNTED_FAIL_STATUSES)]
    good = frame[frame["status"] == "complete"].dropna(subset=[SELECTION_KEY])
    best = None
    if len(good):
        row = good.loc[good[SELECTION_KEY].idxmin()]
        best = {k: (row[k].item() if hasattr(row[k], "item") else row[k])
                for k in ("number", *PARAM_NAMES, VAL_MSE, "n6_test_mse", "n3_mse", "checkpoint")}
    return {
        "counted": int(len(counted)),
        "status_counts": {str(k): int(v) for k, v in frame["status"].value_counts().items()},
        "train_time_s": float(frame["runtime_s"].fillna(0).sum()),
        "time_saved_s": float(frame["time_saved_s"].fillna(0).sum()),
        "best": best,
    }


MODEL_SUMMARY_KEYS = ("number", VAL_MSE, "n6_test_mse", "n3_mse", "n_params", "seconds_per_epoch")


def best_per_model(frame: pd.DataFrame) -> dict[str, dict[str, Any] | None]:
    """For each model kind in `frame`: its best complete trial (lowest validation MSE; ties to the
    lower number) as {number, val_mse, n6_test_mse, n3_mse, n_params, seconds_per_epoch, trials};
    None when it has no complete trial. `trials` counts the kind's trials of any status."""
    out: dict[str, dict[str, Any] | None] = {}
    for model, rows in frame.groupby("model", sort=False):
        good = rows[rows["status"] == "complete"].dropna(subset=[SELECTION_KEY])
        if not len(good):
            out[str(model)] = None
            continue
        row = good.sort_values([SELECTION_KEY, "number"], kind="mergesort").iloc[0]
        out[str(model)] = {k: (row[k].item() if hasattr(row[k], "item") else row[k])
                           for k in MODEL_SUMMARY_KEYS}
        out[str(model)]["trials"] = int(len(rows))
    return out


def write_summary(cfg: ProfileConfig, study: optuna.Study, target: Path, spec: str, wall_s: float) -> dict:
    summary = {
        "config": cfg.to_dict(), "study": cfg.study_name, "storage": redact(spec), "wall_s_this_run": wall_s,
        "n_trials": cfg.n_trials, "sweep_budget_s": cfg.sweep_budget_s,
        **summarise(trials_frame(study)),
    }
    summary["stopped_by_budget"] = bool(cfg.sweep_budget_s) and summary["counted"] < cfg.n_trials
    write_json(target, summary)
    return summary


def load_trials(cfg: ProfileConfig, runs_dir: Path | None = None) -> pd.DataFrame:
    """runs/<profile>/trials.csv as a DataFrame (columns TRIAL_COLUMNS)."""
    target = Path(runs_dir or paths.runs_dir(cfg.profile)) / paths.TRIALS_CSV
    if not target.is_file():
        raise SweepError(
            f"{target}: no trials yet; run the sweep first (notebook 03 or `python -m convlstm_lib sweep`)"
        )
    text = ("state", "status", "reason", "dataset", "activation", "optimizer", "model", "checkpoint")
    frame = pd.read_csv(target)
    missing = [c for c in TRIAL_COLUMNS if c not in frame.columns]
    if missing:
        raise SweepError(f"{target}: missing columns {missing}; re-run the sweep to rewrite it")
    for col in text:  # CSV empties come back NaN; text columns keep ''
        frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
    return frame
