"""A sweep's record: its trials exported as a table, learning curves and a summary, and read back.

Outputs under the study's folder, runs/<profile>/<study>/ (`paths.study_dir`): ``trials.csv``
(one row a trial, `TRIAL_COLUMNS`), ``history.json`` (every trial's per-epoch validation, N6-test
and N3 MSE: the learning curves), ``sweep.json`` (configuration, counts, estimated time saved by
pruning, best trial), ``trials/trial_NNNNN.pt`` (checkpoints of complete and collapsed trials).
All written atomically. The best trials (overall, per model kind) are those of the lowest
validation MSE (`metrics.SELECTION_KEY`).

A row is a trial of the sweep: its `number` is the trial's slot (`sweep_space`), so a sweep
killed and resumed exports the table of an uninterrupted one. The row shows the slot's counted
run (else its running, queued or last run); `attempts` says how many Optuna trials the slot took
(more than 1 after a kill). The readers (`load_trials`, `load_history`, `trial_checkpoint`)
take the profile and study from `cfg`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from convlstm_lib import paths
from convlstm_lib.atomic import atomic_path
from convlstm_lib.config import ProfileConfig
from convlstm_lib.experiments.sweep_space import PARAM_NAMES, trial_slots
from convlstm_lib.experiments.sweep_storage import SweepError, is_counted, redact, study_folder
from convlstm_lib.jsonio import write_json
from convlstm_lib.statuses import COUNTED_FAIL_STATUSES, complete_trials
from convlstm_lib.training.metrics import METRIC_KEYS, SELECTION_KEY, VAL_MSE

# Per-epoch metrics kept for the learning curves (HISTORY_FILE in the study folder).
HISTORY_KEYS = (VAL_MSE, "n6_test_mse", "n3_mse")
HISTORY_FILE = paths.TRIAL_HISTORY
TRIAL_COLUMNS = (
    "number", "state", "status", "reason", *PARAM_NAMES, *METRIC_KEYS,
    "epochs_run", "runtime_s", "seconds_per_epoch", "n_params", "time_saved_s", "seed", "checkpoint",
    "attempts",
)
_ORDER = {TrialState.RUNNING: 1, TrialState.WAITING: 2}  # which run of a slot its row shows (0: counted)


def slot_trials(study: optuna.Study) -> dict[int, tuple[FrozenTrial, int]]:
    """{slot: (the trial its row shows, how many trials ran it)}: the slot's counted trial (the
    first), else its running, queued or last trial."""
    trials = study.get_trials(deepcopy=False)
    slots = trial_slots(trials)
    by_slot: dict[int, list[FrozenTrial]] = {}
    for t in trials:
        by_slot.setdefault(slots[t.number], []).append(t)
    out = {}
    for slot, runs in by_slot.items():
        rank = [(0 if is_counted(t) else _ORDER.get(t.state, 3), t.number if is_counted(t) else -t.number, t)
                for t in runs]
        out[slot] = (min(rank, key=lambda r: r[:2])[2], len(runs))
    return out


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row a trial of the sweep (a slot; columns TRIAL_COLUMNS), ordered by slot; missing
    values NaN/''."""
    rows = []
    for slot, (t, attempts) in sorted(slot_trials(study).items()):
        ua = t.user_attrs
        status = ua.get("status", "running" if t.state == TrialState.RUNNING else t.state.name.lower())
        metrics = ua.get("metrics", {})
        rows.append({
            "number": slot, "state": t.state.name, "status": status, "reason": ua.get("reason", ""),
            **{p: t.params.get(p) for p in PARAM_NAMES},
            "model": t.params.get("model", "convlstm"),  # a trial without the parameter: the paper's kind
            **{k: metrics.get(k, math.nan) for k in METRIC_KEYS},
            "epochs_run": ua.get("epochs_run", 0), "runtime_s": ua.get("runtime_s", math.nan),
            "seconds_per_epoch": ua.get("seconds_per_epoch", math.nan),
            "n_params": ua.get("n_params", math.nan),
            "time_saved_s": ua.get("time_saved_s", 0.0), "seed": ua.get("seed"),
            "checkpoint": ua.get("checkpoint", ""), "attempts": attempts,
        })
    frame = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
    return frame.sort_values("number").reset_index(drop=True)


def export_history(study: optuna.Study, target: Path) -> dict[str, list[dict[str, float]]]:
    """Every trial's per-epoch metrics (HISTORY_KEYS), by trial (slot), as JSON at `target`.

    The learning curves of notebook 04:
    `{"0": [{"epoch": 1, "val_mse": ..., "n6_test_mse": ..., "n3_mse": ...}, ...]}`.
    """
    shown = sorted(slot_trials(study).items())
    history = {str(slot): t.user_attrs.get("history", []) for slot, (t, _) in shown}
    write_json(target, history)
    return history


def load_history(cfg: ProfileConfig, runs_dir: Path | None = None) -> dict[int, pd.DataFrame]:
    """The study's history.json as {trial number: one row per epoch}; trials without epochs left out.
    `runs_dir` replaces runs/<profile>/ (the study's folder is under it)."""
    target = study_folder(cfg, runs_dir) / HISTORY_FILE
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
    good = complete_trials(frame, SELECTION_KEY)
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
        good = complete_trials(rows, SELECTION_KEY)
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
    """The study's trials.csv as a DataFrame (columns TRIAL_COLUMNS). `runs_dir` replaces
    runs/<profile>/ (the study's folder is under it)."""
    target = study_folder(cfg, runs_dir) / paths.TRIALS_CSV
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


def load_summary(cfg: ProfileConfig, runs_dir: Path | None = None) -> dict[str, Any]:
    """The study's sweep.json, or {} when the sweep has not written one yet."""
    target = study_folder(cfg, runs_dir) / paths.SWEEP_SUMMARY
    if not target.is_file():
        return {}
    try:
        return json.loads(target.read_text())
    except (OSError, ValueError) as exc:
        raise SweepError(f"{target}: cannot be read as JSON ({exc})") from None


def trial_checkpoint(cfg: ProfileConfig, number: int, runs_dir: Path | None = None) -> Path:
    """The checkpoint of trial `number` of cfg's study, checked to be that trial's.

    The path is the one trials.csv records; the checkpoint must carry the study's name, the
    trial's number and the seed trials.csv gives it (`checkpoints.stamp_trial`), else SweepError
    (one line): weights of another study or trial are never used in this one's place.
    """
    from convlstm_lib.training.checkpoints import trial_identity

    trials = load_trials(cfg, runs_dir)
    rows = trials[trials["number"] == int(number)]
    if rows.empty:
        raise SweepError(f"study {cfg.study_name!r}: no trial {number} in its trials.csv")
    row = rows.iloc[0]
    if not row["checkpoint"]:
        raise SweepError(f"study {cfg.study_name!r}: trial {number} ({row['status']}) has no checkpoint")
    path = paths.from_repo(row["checkpoint"])
    want = {"study": cfg.study_name, "number": int(number), "seed": int(row["seed"])}
    have = trial_identity(path)
    if have != want:
        said = "no trial record" if have is None else (
            f"trial {have['number']} of study {have['study']!r} (seed {have['seed']})")
        raise SweepError(
            f"{path}: holds {said}, not trial {number} of study {cfg.study_name!r} (seed {want['seed']}) "
            "that trials.csv names; run the sweep again to rewrite it"
        )
    return path
