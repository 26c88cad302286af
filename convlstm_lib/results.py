"""Results of the sweep (paper §4): the best trials, Table 1, the comparison with the paper.

Input is the sweep's trials table (`sweep.load_trials(cfg)`, one row a trial) with at least
the columns of `REQUIRED_COLUMNS`; the metric columns are those of `training.train_model`
(per-pixel MSE, PSNR, SSIM on the [0, 1] scale; see `metrics` for the reductions).

Selection. A trial counts only when its status is ``complete`` and its N6 test MSE is finite;
``collapsed`` (blank predictions), ``diverged``, ``failed`` (could not train), ``pruned``,
``killed``, ``surplus`` and ``running`` trials are excluded and counted (`status_counts`).
The best trial of a training set is the one with the lowest N6 test per-pixel MSE (ties: the
lower trial number), as in the paper, which chose its models by their test loss; the best
overall is the best of those.

The paper's Table 1 convention. Its numbers sum the per-batch *mean* MSE over the batches of
the test set and divide by the number of samples N, so a per-pixel MSE m becomes
m * ceil(N / B) / N at batch size B: about m / B (exactly so when every batch is full).
`PAPER_TABLE1` carries both conversions back to per pixel: the full-batch one,
`metrics.paper_to_per_pixel(loss, B)` = loss * B (3.69e-6 at B = 254 -> 9.37e-4), and the
exact one for the paper's test sets (800 N6 test windows, 1400 N3 windows), which counts the
last partial batch: loss * N / ceil(N / B) (3.69e-6 -> 7.38e-4 on N6, 4.32e-6 -> 1.01e-3 on N3).

Files (all written atomically): `write_result(name, payload, profile)` writes
runs/<profile>/results/<name>.json (NaN and infinities become null, so the file is strict
JSON); `copy_checkpoint(path, profile)` copies a checkpoint to runs/<profile>/artifacts/.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metrics, paths
from .atomic import write_bytes, write_text
from .calibration import corner_noise
from .config import TRAINING_SETS
from .errors import ConvLSTMError

# A trial's status as the sweep records it (`sweep` module docstring): only "complete" counts;
# killed (its worker died), surplus (never trained) and running trials are listed in the counts.
STATUSES = ("complete", "collapsed", "diverged", "failed", "pruned", "killed", "surplus", "running")
PARAMETER_COLUMNS = ("batch_size", "activation", "layers", "kernels", "lr", "optimizer")
REQUIRED_COLUMNS = ("number", "status", "dataset", *PARAMETER_COLUMNS, "n6_test_mse", "n3_mse")
METRIC_COLUMNS = (
    "n6_test_mse", "n3_mse", "n6_test_psnr", "n6_test_ssim", "n3_psnr", "n3_ssim",
    "n6_test_clean_mse", "n3_clean_mse", "n6_test_paper_loss", "n3_paper_loss",
)
TABLE1_COLUMNS = ("training_set", "trial", *PARAMETER_COLUMNS, *METRIC_COLUMNS)
TRAINING_SET_LABELS = {
    "base": "Base", "denoised": "Denoised", "cleaned": "Removed Outliers", "processed": "Fully Processed",
}
TABLE1_LABELS = {
    "training_set": "Training set", "trial": "Trial", "batch_size": "Batch size", "activation": "Activation",
    "layers": "Layers", "kernels": "Kernels", "lr": "LR", "optimizer": "Optimiser",
    "n6_test_mse": "N6 MSE", "n3_mse": "N3 MSE", "n6_test_psnr": "N6 PSNR", "n6_test_ssim": "N6 SSIM",
    "n3_psnr": "N3 PSNR", "n3_ssim": "N3 SSIM", "n6_test_clean_mse": "N6 clean MSE",
    "n3_clean_mse": "N3 clean MSE", "n6_test_paper_loss": "N6 paper loss", "n3_paper_loss": "N3 paper loss",
}
# The paper's test sets: 400 N6 sequences x frames 4 and 16; every window of 100 N3 sequences.
PAPER_N6_TEST_SIZE = 800
PAPER_N3_SIZE = 1400


class ResultsError(ConvLSTMError):
    """A trials table or result file that cannot be summarised (missing columns, no complete trial)."""


# ---------------------------------------------------------------------------------------------
# The paper's Table 1


def paper_loss_to_per_pixel(loss: float, batch_size: int, n_samples: int) -> float:
    """Per-pixel MSE behind a paper-convention loss on N samples at batch size B.

    The paper's loss is sum over ceil(N / B) batches of the batch mean, divided by N; if every
    batch has the same per-pixel MSE m, that is m * ceil(N / B) / N, so m = loss * N / ceil(N / B).
    """
    if batch_size < 1 or n_samples < 1:
        raise ValueError(f"batch_size and n_samples: must be >= 1, got {batch_size} and {n_samples}")
    return loss * n_samples / math.ceil(n_samples / batch_size)


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's Table 1; `n6_loss`/`n3_loss` in the paper's own convention."""

    training_set: str
    batch_size: int
    activation: str
    layers: int
    kernels: int
    lr: float
    optimizer: str
    n6_loss: float
    n3_loss: float

    @property
    def n6_mse_full_batches(self) -> float:
        """Per-pixel N6 MSE assuming full batches: loss * B (`metrics.paper_to_per_pixel`)."""
        return metrics.paper_to_per_pixel(self.n6_loss, self.batch_size)

    @property
    def n3_mse_full_batches(self) -> float:
        return metrics.paper_to_per_pixel(self.n3_loss, self.batch_size)

    @property
    def n6_mse(self) -> float:
        """Per-pixel N6 MSE counting the last partial batch of the 800 N6 test windows."""
        return paper_loss_to_per_pixel(self.n6_loss, self.batch_size, PAPER_N6_TEST_SIZE)

    @property
    def n3_mse(self) -> float:
        """Per-pixel N3 MSE counting the last partial batch of the 1400 N3 windows."""
        return paper_loss_to_per_pixel(self.n3_loss, self.batch_size, PAPER_N3_SIZE)


PAPER_TABLE1: tuple[PaperRow, ...] = (
    PaperRow("base", 224, "tanh", 5, 10, 0.03719, "RAdam", 4.69e-6, 5.25e-6),
    PaperRow("denoised", 254, "relu", 4, 71, 0.004778, "Adamax", 3.69e-6, 4.32e-6),
    PaperRow("cleaned", 214, "relu", 4, 42, 0.0010676, "Adamax", 4.52e-6, 5.41e-6),
    PaperRow("processed", 216, "relu", 4, 41, 0.004656, "Adam", 3.86e-6, 5.57e-6),
)
PAPER_BEST = PAPER_TABLE1[1]  # the denoised run: 4 layers, 71 kernels, ReLU


def paper_table1() -> pd.DataFrame:
    """The paper's Table 1 with both per-pixel conversions, one row per training set."""
    rows = []
    for row in PAPER_TABLE1:
        rows.append({
            **asdict(row),
            "n6_mse_full_batches": row.n6_mse_full_batches, "n3_mse_full_batches": row.n3_mse_full_batches,
            "n6_mse": row.n6_mse, "n3_mse": row.n3_mse,
        })
    return pd.DataFrame(rows)


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


def completed(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials that count: status complete and a finite N6 test MSE."""
    check_trials(trials)
    mse = pd.to_numeric(trials["n6_test_mse"], errors="coerce")
    return trials[(trials["status"] == "complete") & np.isfinite(mse)]


def _best_of(frame: pd.DataFrame, metric: str) -> pd.Series:
    return frame.sort_values([metric, "number"], kind="mergesort").iloc[0]


def best_per_training_set(trials: pd.DataFrame, metric: str = "n6_test_mse") -> pd.DataFrame:
    """One row per training set that has a complete trial (TRAINING_SETS order): its best trial."""
    done = completed(trials)
    rows = [_best_of(group, metric) for name in TRAINING_SETS if len(group := done[done["dataset"] == name])]
    return pd.DataFrame(rows).reset_index(drop=True) if rows else done.iloc[0:0].reset_index(drop=True)


def best_trial(trials: pd.DataFrame, metric: str = "n6_test_mse") -> pd.Series:
    """The best complete trial overall (lowest `metric`, ties to the lower trial number)."""
    done = completed(trials)
    if done.empty:
        counts = status_counts(trials)
        raise ResultsError(f"trials: no complete trial to choose from (statuses: {counts})")
    return _best_of(done, metric)


def table1(trials: pd.DataFrame, metric: str = "n6_test_mse") -> pd.DataFrame:
    """Table 1: the best trial of each training set, with every metric.

    Columns `TABLE1_COLUMNS`: training_set, trial, the parameters (batch size, activation,
    layers, kernels, lr, optimiser), per-pixel MSE / mean PSNR / mean SSIM on N6 test and N3,
    the MSE against the clean frames (NaN for course data) and the paper-convention loss at
    the trial's batch size.
    """
    best = best_per_training_set(trials, metric)
    out = pd.DataFrame({"training_set": best["dataset"], "trial": best["number"]})
    for col in (*PARAMETER_COLUMNS, *METRIC_COLUMNS):
        out[col] = best[col] if col in best.columns else np.nan
    for col in ("trial", "batch_size", "layers", "kernels"):
        out[col] = out[col].astype("int64")
    return out.reset_index(drop=True)


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

    `ratio_to_copy_last` = best N6 test MSE / copy-last N6 test MSE (the project's target:
    <= 0.6 on the quick profile); None when the copy-last MSE is not given.
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
# Files


def results_dir(profile: str) -> Path:
    return paths.runs_dir(profile) / "results"


def artifacts_dir(profile: str) -> Path:
    return paths.runs_dir(profile) / "artifacts"


def _jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays unpacked, NaN and infinities -> None, tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_result(name: str, payload: Any, profile: str) -> Path:
    """Write runs/<profile>/results/<name>.json atomically (strict JSON: NaN -> null); its path."""
    if not name or "/" in name or name.endswith(".json"):
        raise ValueError(f"name: a bare file stem is expected, got {name!r}")
    target = results_dir(profile) / f"{name}.json"
    write_text(target, json.dumps(_jsonable(payload), indent=2, allow_nan=False) + "\n")
    return target


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of plain-JSON row dicts (NaN -> None)."""
    return _jsonable(frame.to_dict(orient="records"))


def resolve_checkpoint(checkpoint: str | Path, profile: str) -> Path:
    """A trial's checkpoint path as an existing file: absolute, or relative to the repository
    root or to runs/<profile>/. ResultsError naming the path when none exists."""
    raw = Path(str(checkpoint))
    candidates = [raw] if raw.is_absolute() else [paths.ROOT / raw, paths.runs_dir(profile) / raw]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(map(str, candidates))
    raise ResultsError(f"checkpoint {checkpoint}: file not found (looked in {looked})")


def copy_checkpoint(checkpoint: str | Path, profile: str, name: str = "best_model.pt") -> Path:
    """Copy a checkpoint to runs/<profile>/artifacts/<name> atomically; the copy's path."""
    source = resolve_checkpoint(checkpoint, profile)
    target = artifacts_dir(profile) / name
    write_bytes(target, source.read_bytes())
    return target


def predict_course_files(
    checkpoint: str | Path, directory: str | Path, profile: str, interp_checkpoint: str | Path | None = None
) -> dict[str, Path]:
    """Course-format predictions of the N6 and N3 train CSVs in `directory` by `checkpoint`
    (frame 16, and frame 4 unless `interp_checkpoint`, an interpolation model, is given).

    Runs the `predict` command (`python -m convlstm_lib predict`, in this process) on
    <directory>/train_data_n6.csv and train_data_n3.csv, writing runs/<profile>/artifacts/
    predictions_n6.csv and predictions_n3.csv (test format, raw pixel scale). Returns
    {"n6": path, "n3": path}; ResultsError naming the input when the command fails.
    """
    from . import cli  # the command's contract, not its internals

    directory = Path(directory)
    written = {}
    for name in ("n6", "n3"):
        source = directory / paths.COURSE_FILES[f"train_{name}"]
        target = artifacts_dir(profile) / f"predictions_{name}.csv"
        argv = ["predict", "--checkpoint", str(checkpoint), "--input", str(source), "--out", str(target)]
        if interp_checkpoint is not None:
            argv += ["--interp-checkpoint", str(interp_checkpoint)]
        code = cli.main(argv)
        if code != 0 or not target.is_file():
            raise ResultsError(f"{source}: the predict command failed (exit {code}); see its message above")
        written[name] = target
    return written
