"""The processed datasets every model is trained and scored on (docs/ARCHITECTURE.md).

`prepare_datasets(cfg)` turns the raw N6/N3 sequences (`sources.load_raw`) into:

* `train[name]` for name in base / cleaned / denoised / processed: the paper's four training
  sets of (2 inputs -> 1 target) windows that never touch the test frames 3 and 15, cut from
  every N6 sequence but the validation ones;
* `val`: the validation windows: the same windows of a seeded `val_share` of the N6 sequences,
  held out whole (`preprocessing.hold_out_sequences`), targets the raw frames. Every choice (the
  sweep's objective, best trials, the task study's picks, divergence and collapse) is made on
  them; the test windows below only report. `validation` describes the split in one record;
* `n6_test`: the N6 windows whose target is frame 3 or 15, targets the raw frames;
* `n3`: every window of every N3 sequence (targets 2..15, the paper's "full, unprocessed N3"),
  and `n3_test` its frames-3-and-15 view;
* `scaler`: min-max of the N6 training frames, applied to everything;
* `outliers`: the `OutlierReport` of the N6 transitions clear of the test frames (Figure 4;
  `preprocessing.transitions_clear_of`: the test frames shape neither the cleaned sets nor the
  jump targets), of every N6 sequence, the validation ones included;
* `info`: sizes, outlier counts, precision/recall against injected outliers, denoising effect,
  the validation split (`info["validation"]`) and the fingerprint of the raw data and the split.

All arrays are float32 on the scaled [0, 1] range. Test targets are never denoised; on
generated data every WindowSet also carries the noise-free `clean_targets`.

The result is cached as `datasets.npz` + `datasets.json` in `paths.processed_dir(profile)` and
rebuilt when the raw data, the seed, n6/n3 or the processing settings (the validation share
included) change; every notebook and worker process so reads the same split.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from convlstm_lib import paths
from convlstm_lib.atomic import atomic_path
from convlstm_lib.config import TRAINING_SETS, check_val_share
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.data.preprocessing import (
    DEFAULT_H,
    VALIDATION_RULE,
    OutlierReport,
    Scaler,
    WindowSet,
    build_training_sets,
    detect_outliers,
    hold_out_sequences,
    make_windows,
    transitions_clear_of,
    window_frames,
    windows_at,
)
from convlstm_lib.errors import ConvLSTMError
from convlstm_lib.jsonio import jsonable, write_json

__all__ = ["WindowSet", "Datasets", "ProcessingConfig", "build_datasets", "save_datasets", "load_datasets",
           "prepare_datasets", "DatasetsError"]

FORMAT_VERSION = 3  # 2: the validation windows; 3: outliers only on transitions clear of the test frames
NPZ_NAME = "datasets.npz"
INFO_NAME = "datasets.json"


class DatasetsError(ConvLSTMError):
    """Raw data of the wrong shape, or a processed-datasets file that is missing or damaged."""


@dataclass(frozen=True)
class ProcessingConfig:
    """The pre-processing settings; saved in `info['processing']` and part of the cache key."""

    test_frames: tuple[int, ...] = TEST_FRAMES
    outlier_components: int = 6
    outlier_sigmas: float = 3.0
    outlier_smooth_sigma: float = 2.0
    outlier_normalise: bool = True
    outlier_robust: bool = False
    denoise_h: float = DEFAULT_H
    seed: int = 0  # seeds the outlier fit and the draw of the validation sequences
    val_share: float = 0.1  # of the N6 sequences, held out for validation (`config.ProfileConfig`)

    def __post_init__(self) -> None:
        check_val_share(self.val_share)


@dataclass
class Datasets:
    """The four training sets, the validation windows, N6 test, N3, the scaler, the outlier report
    and a summary."""

    train: dict[str, WindowSet]
    val: WindowSet
    n6_test: WindowSet
    n3: WindowSet
    scaler: Scaler
    outliers: OutlierReport
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n3_test(self) -> WindowSet:
        """The N3 windows whose target is a test frame (3 or 15): N3 scored like N6 test."""
        test_frames = self.info.get("processing", {}).get("test_frames", TEST_FRAMES)
        return self.n3.subset(np.isin(self.n3.frame, test_frames))

    @property
    def val_sequences(self) -> np.ndarray:
        """The sorted indices of the N6 sequences held out for validation."""
        return np.unique(self.val.seq)

    @property
    def validation(self) -> dict[str, Any]:
        """The split in one record: {"sequences": N held out, "windows": M, "rule": how}."""
        return {"sequences": len(self.val_sequences), "windows": len(self.val), "rule": VALIDATION_RULE}

    def sizes(self) -> dict[str, int]:
        sizes = {name: len(ws) for name, ws in self.train.items()}
        return {**sizes, "val": len(self.val), "n6_test": len(self.n6_test), "n3": len(self.n3)}


# ---------------------------------------------------------------------------------------------
# Building


def _check_sequences(arr: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != 4 or arr.shape[0] < 1 or arr.shape[1] < 4:
        raise DatasetsError(f"{name}: expected sequences of shape (N, T, H, W) with T >= 4, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DatasetsError(f"{name}: contains NaN or infinite values")
    return arr


def fingerprint(raw, val_sequences: np.ndarray | None = None,
                flagged_sequences: np.ndarray | None = None) -> str:
    """sha256 over the raw N6/N3 arrays (shape, dtype and bytes) and the source's name, and over the
    indices of the validation sequences and of the sequences the cleaned sets leave out, when given
    (what `info["fingerprint"]` holds: trials trained on another split are other data)."""
    digest = hashlib.sha256(str(raw.source).encode())
    for arr in (raw.n6, raw.n3):
        arr = np.ascontiguousarray(arr)
        digest.update(f"{arr.shape}{arr.dtype}".encode())
        digest.update(arr.tobytes())
    if val_sequences is not None:
        digest.update(b"validation:" + np.asarray(val_sequences, dtype=np.int64).tobytes())
    if flagged_sequences is not None:
        digest.update(b"flagged:" + np.asarray(flagged_sequences, dtype=np.int64).tobytes())
    return digest.hexdigest()


def build_datasets(raw, settings: ProcessingConfig | None = None, progress: bool = True) -> Datasets:
    """Scale, flag outliers, window, denoise: `raw` (a `sources.RawData`) -> `Datasets`.

    raw.n6 / raw.n3: (N, T, H, W) raw-scale sequences; raw.truth_n6 / raw.truth_n3: dicts with
    'clean' (N, T, H, W) and, for N6, 'outlier_transitions' (N, T-1) bool; or None.
    """
    settings = settings or ProcessingConfig()
    n6 = _check_sequences(raw.n6, "n6")
    n3 = _check_sequences(raw.n3, "n3")
    if n3.shape[1:] != n6.shape[1:]:
        raise DatasetsError(f"n3: expected frames of shape {n6.shape[1:]} like n6, got {n3.shape[1:]}")
    truth6, truth3 = raw.truth_n6, raw.truth_n3
    for name, truth, seqs in (("truth_n6", truth6, n6), ("truth_n3", truth3, n3)):
        if truth is not None and np.shape(truth["clean"]) != seqs.shape:
            got = np.shape(truth["clean"])
            raise DatasetsError(f"{name}['clean']: expected shape {seqs.shape}, got {got}")
    timings: dict[str, float] = {}
    start = time.perf_counter()

    train_frames, test_frames = window_frames(n6.shape[1], settings.test_frames)
    try:
        held = hold_out_sequences(n6.shape[0], settings.val_share, settings.seed)
    except ValueError as exc:
        raise DatasetsError(str(exc)) from None
    non_test = np.setdiff1d(np.arange(n6.shape[1]), test_frames)
    scaler = Scaler.fit(n6[:, non_test])
    s6, s3 = scaler.transform(n6), scaler.transform(n3)
    clean6 = None if truth6 is None else scaler.transform(truth6["clean"])
    clean3 = None if truth3 is None else scaler.transform(truth3["clean"])

    t0 = time.perf_counter()
    outliers = detect_outliers(
        s6, n_components=settings.outlier_components, sigmas=settings.outlier_sigmas,
        smooth_sigma=settings.outlier_smooth_sigma, normalise=settings.outlier_normalise,
        robust=settings.outlier_robust, seed=settings.seed,
        examined=transitions_clear_of(n6.shape[1], settings.test_frames),
    )
    timings["outliers_s"] = time.perf_counter() - t0

    windows, n6_test = make_windows(s6, settings.test_frames, clean=clean6)
    in_val = held[windows.seq]
    train, val = windows.subset(~in_val), windows.subset(in_val)
    t0 = time.perf_counter()
    sets = build_training_sets(train, outliers.flagged_sequences, h=settings.denoise_h, progress=progress)
    timings["denoise_s"] = time.perf_counter() - t0
    n3_windows = windows_at(s3, np.arange(2, n3.shape[1]), clean=clean3)
    timings["total_s"] = time.perf_counter() - start

    outlier_info: dict[str, Any] = {
        "transitions": outliers.n_transitions,
        "transitions_left_out": outliers.n_left_out,
        "flagged_transitions": outliers.n_flagged,
        "flagged_sequences": outliers.n_flagged_sequences,
        "sequences": int(n6.shape[0]),
        "removed_windows": len(sets["base"]) - len(sets["cleaned"]),
        "threshold": outliers.threshold,
        **outliers.settings,
    }
    if truth6 is not None and "outlier_transitions" in truth6:
        outlier_info.update(outliers.score(truth6["outlier_transitions"]))
    info: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "source": str(raw.source),
        "generated": truth6 is not None,
        "fingerprint": fingerprint(raw, np.flatnonzero(held), np.flatnonzero(outliers.flagged_sequences)),
        "processing": {**asdict(settings), "test_frames": [int(f) for f in settings.test_frames]},
        "scaler": {"lo": scaler.lo, "hi": scaler.hi},
        "train_target_frames": train_frames.tolist(),
        "sizes": {},
        "outliers": outlier_info,
        "timings": timings,
    }
    if clean6 is not None:
        base, den = sets["base"], sets["denoised"]
        info["denoise"] = {
            "h": settings.denoise_h,
            "mse_raw_to_clean": float(np.mean((base.targets - base.clean_targets) ** 2)),
            "mse_denoised_to_clean": float(np.mean((den.targets - den.clean_targets) ** 2)),
        }
    else:
        info["denoise"] = {"h": settings.denoise_h}
    ds = Datasets(train=sets, val=val, n6_test=n6_test, n3=n3_windows, scaler=scaler, outliers=outliers,
                  info=info)
    info["sizes"] = {**ds.sizes(), "n3_test": len(ds.n3_test)}
    info["validation"] = ds.validation
    return ds


# ---------------------------------------------------------------------------------------------
# Saving and loading


def _keys(ws: WindowSet, n_frames: int) -> np.ndarray:
    return ws.seq * n_frames + ws.frame


def _put(arrays: dict[str, np.ndarray], prefix: str, ws: WindowSet) -> None:
    arrays[f"{prefix}_inputs"] = ws.inputs
    arrays[f"{prefix}_targets"] = ws.targets
    arrays[f"{prefix}_seq"] = ws.seq
    arrays[f"{prefix}_frame"] = ws.frame
    if ws.clean_targets is not None:
        arrays[f"{prefix}_clean_targets"] = ws.clean_targets


def _get(npz, prefix: str) -> WindowSet:
    clean = f"{prefix}_clean_targets"
    return WindowSet(
        npz[f"{prefix}_inputs"], npz[f"{prefix}_targets"], npz[clean] if clean in npz.files else None,
        npz[f"{prefix}_seq"], npz[f"{prefix}_frame"],
    )


def save_datasets(ds: Datasets, directory: str | Path) -> tuple[Path, Path]:
    """Write `datasets.npz` (arrays) and `datasets.json` (info, scaler, outlier settings) atomically.

    The training windows are stored once: the base windows, their denoised targets, and for
    every set the index of its windows among the base windows. The JSON is written last, so a
    cache with a JSON always has its matching npz.
    """
    directory = Path(directory)
    base = ds.train["base"]
    n_frames = 1 + int(max(ws.frame.max(initial=0) for ws in (base, ds.val, ds.n6_test, ds.n3)))
    base_keys = _keys(base, n_frames)
    order = np.argsort(base_keys)
    arrays: dict[str, np.ndarray] = {}
    _put(arrays, "train", base)
    for name in TRAINING_SETS:
        keys = _keys(ds.train[name], n_frames)
        pos = order[np.searchsorted(base_keys, keys, sorter=order)] if len(keys) else np.zeros(0, np.int64)
        if len(keys) and not np.array_equal(base_keys[pos], keys):
            raise ValueError(f"train[{name!r}]: has windows that are not among the base windows")
        arrays[f"index_{name}"] = pos
    den = ds.train["denoised"]
    if len(den) != len(base) or not np.array_equal(_keys(den, n_frames), base_keys):
        raise ValueError(
            "train['denoised']: must hold the denoised targets of every base window (save before subsampling)"
        )
    arrays["train_denoised_targets"] = den.targets
    _put(arrays, "val", ds.val)
    _put(arrays, "n6_test", ds.n6_test)
    _put(arrays, "n3", ds.n3)
    rep = ds.outliers
    arrays.update(
        outliers_flagged=rep.flagged, outliers_coords=rep.coords, outliers_distance=rep.distance,
        outliers_explained_variance_ratio=rep.explained_variance_ratio, outliers_examined=rep.examined,
    )
    npz_path, info_path = directory / NPZ_NAME, directory / INFO_NAME
    with atomic_path(npz_path) as tmp:
        np.savez(tmp, **arrays)
    meta = {
        "info": ds.info,
        "scaler": {"lo": ds.scaler.lo, "hi": ds.scaler.hi},
        "outliers": {"threshold": rep.threshold, "settings": rep.settings},
    }
    write_json(info_path, meta)
    return npz_path, info_path


def read_info(directory: str | Path) -> dict[str, Any] | None:
    """The saved `info` of a processed-datasets folder, or None when there is none (or it is damaged)."""
    try:
        return json.loads((Path(directory) / INFO_NAME).read_text())["info"]
    except (OSError, ValueError, KeyError):
        return None


def load_datasets(directory: str | Path) -> Datasets:
    """Read what `save_datasets` wrote; `DatasetsError` naming the file when missing or damaged."""
    directory = Path(directory)
    npz_path, info_path = directory / NPZ_NAME, directory / INFO_NAME
    try:
        meta = json.loads(info_path.read_text())
        info, scaler_d, out_d = meta["info"], meta["scaler"], meta["outliers"]
    except FileNotFoundError as exc:
        raise DatasetsError(f"{info_path}: not found; run prepare_datasets (notebook 02) first") from exc
    except (ValueError, KeyError) as exc:
        raise DatasetsError(f"{info_path}: not a processed-datasets description ({exc})") from exc
    try:
        with np.load(npz_path) as npz:
            base = _get(npz, "train")
            denoised_all = base.with_targets(npz["train_denoised_targets"])
            train = {}
            for name in TRAINING_SETS:
                source = denoised_all if name in ("denoised", "processed") else base
                train[name] = source.subset(npz[f"index_{name}"])
            val, n6_test, n3 = _get(npz, "val"), _get(npz, "n6_test"), _get(npz, "n3")
            outliers = OutlierReport(
                flagged=npz["outliers_flagged"],
                coords=npz["outliers_coords"],
                distance=npz["outliers_distance"],
                threshold=float(out_d["threshold"]),
                explained_variance_ratio=npz["outliers_explained_variance_ratio"], settings=out_d["settings"],
                examined=npz["outliers_examined"],
            )
    except FileNotFoundError as exc:
        raise DatasetsError(f"{npz_path}: not found; run prepare_datasets (notebook 02) first") from exc
    except (KeyError, ValueError, OSError) as exc:
        raise DatasetsError(f"{npz_path}: damaged or not written by save_datasets ({exc})") from exc
    return Datasets(train, val, n6_test, n3, Scaler(scaler_d["lo"], scaler_d["hi"]), outliers, info)


# ---------------------------------------------------------------------------------------------
# The cached entry point


def _cache_key(cfg, settings: ProcessingConfig, fp: str) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "fingerprint": fp,
        "seed": cfg.seed,
        "n6": cfg.n6,
        "n3": cfg.n3,
        "processing": {**asdict(settings), "test_frames": [int(f) for f in settings.test_frames]},
    }


def subsample(ds: Datasets, max_train_windows: int, seed: int) -> Datasets:
    """`ds` with each training set cut to a seeded random `max_train_windows` windows (0 = all).

    The same seed draws the same positions in sets of equal size, so base and denoised keep
    the same windows (as do cleaned and processed).
    """
    if max_train_windows < 0:
        raise ValueError(f"max_train_windows: must be >= 0, got {max_train_windows}")
    if max_train_windows == 0:
        return ds
    train = {name: ws.sample(max_train_windows, seed) for name, ws in ds.train.items()}
    info = {**ds.info, "train_windows_used": {name: len(ws) for name, ws in train.items()}}
    return replace(ds, train=train, info=info)


def prepare_datasets(cfg, progress: bool = True, settings: ProcessingConfig | None = None) -> Datasets:
    """The processed datasets of profile `cfg`, built once and cached in processed_dir(cfg.profile).

    Loads the raw data (`sources.load_raw`, which generates it the first time), and rebuilds the
    cache when the raw data's fingerprint, cfg.seed, cfg.n6, cfg.n3 or the processing settings
    differ from the cached ones (cfg.val_share is one of those). Then applies cfg.max_train_windows
    (`subsample`, seed cfg.seed; the validation windows are never cut).
    """
    from convlstm_lib.data import sources  # imported here: sources pulls in the generator

    settings = settings or ProcessingConfig(seed=cfg.seed, val_share=cfg.val_share)
    raw = sources.load_raw(cfg, progress=progress)
    directory = paths.processed_dir(cfg.profile)
    key = _cache_key(cfg, settings, fingerprint(raw))
    cached = read_info(directory)
    ds = None
    if cached is not None and cached.get("cache_key") == jsonable(key):
        try:
            ds = load_datasets(directory)
        except DatasetsError:
            ds = None
    if ds is None:
        ds = build_datasets(raw, settings, progress=progress)
        ds.info["cache_key"] = key
        save_datasets(ds, directory)
    return subsample(ds, cfg.max_train_windows, cfg.seed)
