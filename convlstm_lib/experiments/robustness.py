"""Robustness of a trained model to corrupted inputs (paper §3.3, Figure 8).

The corruptions are those of `corruption` (Gaussian, Poisson and salt-and-pepper noise at an
intensity in [0, 1]; a missing square region of side s pixels). They are applied to the
model's INPUT frames only, (N, 2, H, W) on the [0, 1] scale; the targets are left untouched,
so every curve measures how well the model still predicts the recorded next frame.

Reduction: at each level, the loss is the per-pixel MSE over all N*H*W target pixels
(`metrics.mse`, the same number as the clean evaluation's `*_mse`), and `sem` is the standard
error of the mean over the N per-image MSEs (std with ddof 1 / sqrt(N)). Where the windows have
clean targets, `clean_mse` is the per-pixel MSE against them (NaN otherwise).

Prediction runs in eval mode under torch.no_grad in batches (`evaluation.predict_frames`);
the corruption's random numbers are drawn from `seed` once per kind and shared by every level
(common random numbers: see `corruption`), so a curve is reproducible and smooth in the level.
At level 0 (size 0) the inputs are exactly the clean inputs, and the loss equals the clean
evaluation's.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from convlstm_lib.data import corruption
from convlstm_lib.progress import tqdm
from convlstm_lib.training import metrics
from convlstm_lib.training.evaluation import predict_frames

NOISE_COLUMNS = ("kind", "intensity", "mse", "sem", "clean_mse")
REGION_COLUMNS = ("size", "fraction_removed", "mse", "sem", "clean_mse")


@dataclass(frozen=True)
class RobustnessConfig:
    """What a robustness run evaluates; asdict() is saved with the curves.

    kinds:       noise kinds (see corruption.NOISE_KINDS)
    levels:      intensities in [0, 1]
    sizes:       sides of the missing square in pixels, 0..min(H, W)
    seed:        seeds every corruption
    batch_size:  windows per forward pass
    """

    kinds: tuple[str, ...] = corruption.NOISE_KINDS
    levels: tuple[float, ...] = field(default_factory=tuple)
    sizes: tuple[int, ...] = field(default_factory=tuple)
    seed: int = 0
    batch_size: int = 256

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def intensity_levels(n: int) -> np.ndarray:
    """n intensities evenly spaced over [0, 1], both ends included ([0.] for n = 1)."""
    if n < 1:
        raise ValueError(f"noise_levels: must be >= 1, got {n}")
    return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)


def region_sizes(step: int, side: int = 36) -> np.ndarray:
    """Missing-square sides 0, step, 2*step, ... and always `side` last (the whole image gone)."""
    if step < 1:
        raise ValueError(f"region_step: must be >= 1, got {step}")
    if side < 1:
        raise ValueError(f"side: must be >= 1, got {side}")
    sizes = np.arange(0, side + 1, step, dtype=np.int64)
    return sizes if sizes[-1] == side else np.append(sizes, side)


def _check_windows(windows) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    inputs = np.asarray(windows.inputs)
    targets = np.asarray(windows.targets)
    if inputs.ndim != 4 or targets.shape != (inputs.shape[0], *inputs.shape[2:]):
        raise ValueError(
            f"windows: expected inputs (N, T, H, W), targets (N, H, W); got {inputs.shape}, {targets.shape}"
        )
    if len(inputs) == 0:
        raise ValueError("windows: no windows to evaluate (N = 0)")
    clean = getattr(windows, "clean_targets", None)
    return inputs.astype(np.float32, copy=False), targets, None if clean is None else np.asarray(clean)


def _score(model: torch.nn.Module, inputs: np.ndarray, targets: np.ndarray, clean: np.ndarray | None,
           batch_size: int) -> dict[str, float]:
    """Per-pixel MSE, its standard error over images, and the clean MSE of the model on `inputs`."""
    pred = predict_frames(model, inputs, batch_size)  # (N, H, W), eval mode, no_grad
    per_image = metrics.mse_per_image(pred, targets)
    sem = float(per_image.std(ddof=1) / np.sqrt(len(per_image))) if len(per_image) > 1 else float("nan")
    return {
        "mse": float(per_image.mean()),  # images have equal pixel counts: the per-pixel MSE
        "sem": sem,
        "clean_mse": metrics.mse(pred, clean) if clean is not None else float("nan"),
    }


def noise_curves(
    model: torch.nn.Module,
    windows,
    kinds: Sequence[str] = corruption.NOISE_KINDS,
    levels: Sequence[float] | np.ndarray = (0.0, 0.5, 1.0),
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> pd.DataFrame:
    """Loss of `model` on `windows` with noise of each kind at each intensity added to the inputs.

    windows: a WindowSet (inputs (N, 2, H, W), targets (N, H, W), clean_targets or None), [0, 1].
    Returns a tidy DataFrame, one row per (kind, intensity): `NOISE_COLUMNS`.
    """
    inputs, targets, clean = _check_windows(windows)
    for kind in kinds:
        if kind not in corruption.NOISE_KINDS:
            raise ValueError(f"kinds: {kind!r} is not a noise kind; choose from {corruption.NOISE_KINDS}")
    rows = []
    at_zero: dict[str, float] | None = None  # intensity 0 is the clean input for every kind: score it once
    bar = tqdm(total=len(kinds) * len(np.atleast_1d(levels)), desc="noise", disable=not progress, leave=False)
    try:
        with torch.no_grad():
            for kind in kinds:
                for level, noisy in corruption.iter_levels(inputs, kind, levels, seed=seed):
                    if level == 0 and at_zero is not None:
                        score = at_zero
                    else:
                        score = _score(model, noisy, targets, clean, batch_size)
                        at_zero = score if level == 0 else at_zero
                    rows.append({"kind": kind, "intensity": level, **score})
                    bar.update(1)
    finally:
        bar.close()
    return pd.DataFrame(rows, columns=list(NOISE_COLUMNS))


def missing_region_curve(
    model: torch.nn.Module,
    windows,
    sizes: Sequence[int] | np.ndarray = (0, 18, 36),
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> pd.DataFrame:
    """Loss of `model` with an s x s square of every input frame set to 0 (black), per size s.

    The square sits at a seeded uniform position per window, the same in both input frames
    (corruption.missing_region); s = H = W blanks the inputs entirely.
    Returns a tidy DataFrame, one row per size: `REGION_COLUMNS` (fraction_removed = s^2 / (H*W)).
    """
    inputs, targets, clean = _check_windows(windows)
    area = inputs.shape[-2] * inputs.shape[-1]
    rows = []
    with torch.no_grad():
        levels = corruption.iter_levels(inputs, "missing_region", sizes, seed=seed, progress=progress)
        for size, holed in levels:
            size = int(size)
            rows.append({"size": size, "fraction_removed": size * size / area,
                         **_score(model, holed, targets, clean, batch_size)})
    return pd.DataFrame(rows, columns=list(REGION_COLUMNS))


def tolerance(curve: pd.DataFrame, factor: float = 2.0, x: str = "intensity") -> float:
    """The largest level below which the loss stays within `factor` x the level-0 loss.

    curve: one kind's rows (columns x and mse), sorted or not. Returns the last level before the
    first one whose mse exceeds factor * mse(level 0); the largest level if none does.
    """
    if factor <= 0:
        raise ValueError(f"factor: must be > 0, got {factor}")
    curve = curve.sort_values(x)
    if curve.empty or curve[x].iloc[0] != 0:
        raise ValueError(f"curve: needs a row at {x} = 0 as the reference")
    limit = factor * float(curve["mse"].iloc[0])
    over = np.flatnonzero(curve["mse"].to_numpy() > limit)
    if len(over) == 0:
        return float(curve[x].iloc[-1])
    return float(curve[x].iloc[max(over[0] - 1, 0)])


def tolerance_table(
    noise: pd.DataFrame, region: pd.DataFrame, factor: float = 2.0
) -> dict[str, dict[str, float]]:
    """`tolerance` of every curve: {kind or 'missing_region': {test set: level}}.

    noise: rows (kind, test_set, intensity, mse), as `RobustnessResult.noise_table()`;
    region: rows (test_set, size, mse), as `RobustnessResult.region_table()` (level = side in px).
    """
    table: dict[str, dict[str, float]] = {}
    for (kind, name), rows in noise.groupby(["kind", "test_set"], sort=False):
        table.setdefault(str(kind), {})[str(name)] = tolerance(rows, factor)
    for name, rows in region.groupby("test_set", sort=False):
        table.setdefault("missing_region", {})[str(name)] = tolerance(rows, factor, x="size")
    return table


@dataclass
class RobustnessResult:
    """Curves on both test sets; `record()` is robustness.json."""

    config: RobustnessConfig
    noise: dict[str, pd.DataFrame]  # test set name -> noise_curves(...)
    region: dict[str, pd.DataFrame]  # test set name -> missing_region_curve(...)
    windows: dict[str, int]
    runtime_s: float

    def noise_table(self) -> pd.DataFrame:
        """Every noise curve in one tidy table: `NOISE_COLUMNS` plus `test_set`."""
        return pd.concat([df.assign(test_set=name) for name, df in self.noise.items()], ignore_index=True)

    def region_table(self) -> pd.DataFrame:
        """Every missing-region curve in one tidy table: `REGION_COLUMNS` plus `test_set`."""
        return pd.concat([df.assign(test_set=name) for name, df in self.region.items()], ignore_index=True)

    def record(self) -> dict[str, Any]:
        """{config, windows, runtime_s, noise: {kind: {intensities, <set>: mse..., <set>_clean_mse...}},
        missing_region: {sizes, fraction_removed, <set>: mse...}} with one list entry per level."""
        names = list(self.noise)
        noise: dict[str, Any] = {}
        for kind in self.config.kinds:
            entry: dict[str, Any] = {}
            for name in names:
                rows = self.noise[name][self.noise[name]["kind"] == kind]
                entry.setdefault("intensities", rows["intensity"].tolist())
                entry[name] = rows["mse"].tolist()
                entry[f"{name}_sem"] = rows["sem"].tolist()
                entry[f"{name}_clean_mse"] = rows["clean_mse"].tolist()
            noise[kind] = entry
        region: dict[str, Any] = {}
        for name in self.region:
            rows = self.region[name]
            region.setdefault("sizes", rows["size"].tolist())
            region.setdefault("fraction_removed", rows["fraction_removed"].tolist())
            region[name] = rows["mse"].tolist()
            region[f"{name}_sem"] = rows["sem"].tolist()
            region[f"{name}_clean_mse"] = rows["clean_mse"].tolist()
        return {"config": self.config.to_dict(), "windows": dict(self.windows), "runtime_s": self.runtime_s,
                "noise": noise, "missing_region": region}


def evaluate_robustness(model: torch.nn.Module, test_sets: dict[str, Any], config: RobustnessConfig,
                        progress: bool = True) -> RobustnessResult:
    """Noise curves and the missing-region curve of `model` on every WindowSet in `test_sets`
    (e.g. {"n6": ds.n6_test, "n3": ds.n3_test}), with the levels, sizes and seed of `config`."""
    if not config.levels or not config.sizes:
        raise ValueError("config: levels and sizes must not be empty")
    start = time.perf_counter()
    noise, region = {}, {}
    for name, windows in tqdm(test_sets.items(), desc="test sets", disable=not progress, leave=False):
        noise[name] = noise_curves(
            model, windows, config.kinds, config.levels, config.seed, config.batch_size, progress=progress
        )
        region[name] = missing_region_curve(model, windows, config.sizes, config.seed, config.batch_size,
                                            progress=progress)
    return RobustnessResult(config=config, noise=noise, region=region,
                            windows={name: len(ws.inputs) for name, ws in test_sets.items()},
                            runtime_s=time.perf_counter() - start)
