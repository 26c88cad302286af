"""Corruptions of the model's *input* frames for the robustness study (paper §3.3, Figures 5 and 8).

Every function takes a batch of images `x` of shape (N, ..., H, W) (e.g. the (N, 2, 36, 36)
input windows), a floating NumPy array on the [0, 1] scale, and returns a new array of the same
dtype. The corruption strength is either a scalar (result shape = x.shape) or a 1-D sequence
of L levels (result shape = (L, *x.shape), one corrupted copy of the batch per level).

The four corruptions, with `a` the intensity in [0, 1] and `s` the side of the missing square:

* Gaussian        y = clip(x + a * z, 0, 1),  z ~ N(0, 1) i.i.d. per pixel: the noise std is `a`.
* Poisson         y = clip(K / P, 0, 1),  K ~ Poisson(P * max(x, 0)),  P = 1 / a**2 photons at
                  full brightness. The noise std at brightness x is a * sqrt(x), so at x = 1 it
                  equals the Gaussian's `a`; the photon count P falls as `a` grows.
* salt and pepper each pixel, independently with probability `a`, is replaced by 0 or 1 (50/50).
* missing region  an s x s square of every image of a sample is set to `fill` (default 0, black),
                  at a position drawn uniformly per sample (the same square for all frames of
                  that sample, i.e. every `...` index); s = 0 is no change, s = H = W removes all.

Intensity 0 (size 0) returns an exact copy of `x`, even where `x` lies slightly outside
[0, 1] (test frames scaled by the training set's min and max can); every other level clips.

Seeding and monotonicity: Gaussian, salt-and-pepper and missing-region draw their random
numbers once per call from `seed` and share them across levels (common random numbers), so
the damage grows monotonically with the level pixel by pixel, and a vectorised call equals
the per-level calls. Poisson cannot share its draws across rates; each level uses a generator
keyed by (seed, level), so it too gives the same result vectorised or level by level, and its
expected error grows with `a`. `iter_levels` yields one level at a time for batches where
(L, *x.shape) would not fit in memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np

from convlstm_lib.progress import tqdm

Kind = Literal["gaussian", "poisson", "salt_and_pepper", "missing_region"]
NOISE_KINDS: tuple[str, ...] = ("gaussian", "poisson", "salt_and_pepper")
KINDS: tuple[str, ...] = (*NOISE_KINDS, "missing_region")
KIND_LABELS = {
    "gaussian": "Gaussian",
    "poisson": "Poisson",
    "salt_and_pepper": "salt and pepper",
    "missing_region": "missing region",
}

# Offsets that decorrelate the kinds' random streams drawn from the same seed.
_STREAM = {"gaussian": 1, "poisson": 2, "salt_and_pepper": 3, "missing_region": 4}


def _check_images(x: np.ndarray, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name}: expected a NumPy array of shape (N, ..., H, W), got {type(x).__name__}")
    if x.ndim < 3:
        raise ValueError(f"{name}: expected shape (N, ..., H, W) with at least 3 dimensions, got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name}: expected a floating dtype (images on the [0, 1] scale), got {x.dtype}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return x


def _check_levels(levels, name: str = "intensity") -> tuple[np.ndarray, bool]:
    """Levels as a float64 1-D array, and whether the caller passed a scalar."""
    arr = np.asarray(levels, dtype=np.float64)
    scalar = arr.ndim == 0
    arr = arr.reshape(-1) if scalar else arr
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a scalar or a 1-D sequence of levels, got shape {arr.shape}")
    if not np.isfinite(arr).all() or ((arr < 0) | (arr > 1)).any():
        bad = arr[~np.isfinite(arr) | (arr < 0) | (arr > 1)]
        raise ValueError(f"{name}: must lie in [0, 1], got {bad[:3].tolist()}")
    return arr, scalar


def _check_sizes(sizes, height: int, width: int) -> tuple[np.ndarray, bool]:
    arr = np.asarray(sizes)
    scalar = arr.ndim == 0
    arr = arr.reshape(-1) if scalar else arr
    if arr.ndim != 1:
        raise ValueError(f"size: expected a scalar or a 1-D sequence of sizes, got shape {arr.shape}")
    whole = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all() and (arr == np.round(arr)).all()
    )
    if not whole:
        raise ValueError(f"size: must be whole numbers of pixels, got {arr[:3].tolist()}")
    arr = arr.astype(np.int64)
    limit = min(height, width)
    if ((arr < 0) | (arr > limit)).any():
        bad = arr[(arr < 0) | (arr > limit)]
        raise ValueError(
            f"size: must lie in 0..{limit} pixels (image {height}x{width}), got {bad[:3].tolist()}"
        )
    return arr, scalar


def _stack(outputs: list[np.ndarray], scalar: bool) -> np.ndarray:
    return outputs[0] if scalar else np.stack(outputs)


def _rng(seed: int, kind: str, *extra: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), _STREAM[kind], *extra])


class _Gaussian:
    def __init__(self, x: np.ndarray, seed: int):
        self.x = x
        self.z = _rng(seed, "gaussian").standard_normal(x.shape, dtype=np.float32).astype(x.dtype, copy=False)

    def __call__(self, a: float) -> np.ndarray:
        if a == 0:
            return self.x.copy()
        y = self.x + self.x.dtype.type(a) * self.z
        return np.clip(y, 0, 1, out=y)


class _Poisson:
    def __init__(self, x: np.ndarray, seed: int):
        self.x, self.seed = x, seed
        self.xpos = np.maximum(x, 0).astype(np.float64)

    def __call__(self, a: float) -> np.ndarray:
        if a == 0:
            return self.x.copy()
        photons = 1.0 / (a * a)
        # keyed by the level's exact bits so a level gives the same draw in any call
        key = int(np.float64(a).view(np.uint64))
        counts = _rng(self.seed, "poisson", key).poisson(self.xpos * photons)
        y = (counts / photons).astype(self.x.dtype)
        return np.clip(y, 0, 1, out=y)


class _SaltAndPepper:
    def __init__(self, x: np.ndarray, seed: int):
        rng = _rng(seed, "salt_and_pepper")
        self.x = x
        self.u = rng.random(x.shape, dtype=np.float32)
        self.salt = (rng.random(x.shape, dtype=np.float32) < 0.5).astype(x.dtype)

    def __call__(self, a: float) -> np.ndarray:
        if a == 0:
            return self.x.copy()
        return np.where(self.u < a, self.salt, np.clip(self.x, 0, 1))


class _MissingRegion:
    def __init__(self, x: np.ndarray, seed: int, fill: float):
        self.x, self.fill = x, fill
        # one relative position per sample in [0, 1)^2, shared by every size
        self.rel = _rng(seed, "missing_region").random((x.shape[0], 2))

    def __call__(self, s: int) -> np.ndarray:
        if s == 0:
            return self.x.copy()
        n, h, w = self.x.shape[0], self.x.shape[-2], self.x.shape[-1]
        top = np.floor(self.rel[:, 0] * (h - s + 1)).astype(np.int64)
        left = np.floor(self.rel[:, 1] * (w - s + 1)).astype(np.int64)
        rows = np.arange(h)[None, :]
        cols = np.arange(w)[None, :]
        in_rows = (rows >= top[:, None]) & (rows < top[:, None] + s)  # (N, H)
        in_cols = (cols >= left[:, None]) & (cols < left[:, None] + s)  # (N, W)
        mask = in_rows[:, :, None] & in_cols[:, None, :]  # (N, H, W)
        mask = mask.reshape((n,) + (1,) * (self.x.ndim - 3) + (h, w))
        y = np.clip(self.x, 0, 1)
        return np.where(mask, self.x.dtype.type(self.fill), y)


def _corrupter(x: np.ndarray, kind: str, seed: int, fill: float = 0.0):
    if kind == "gaussian":
        return _Gaussian(x, seed)
    if kind == "poisson":
        return _Poisson(x, seed)
    if kind == "salt_and_pepper":
        return _SaltAndPepper(x, seed)
    if kind == "missing_region":
        return _MissingRegion(x, seed, fill)
    raise ValueError(f"kind: unknown corruption {kind!r}; choose one of {KINDS}")


def _levels_for(x: np.ndarray, kind: str, levels) -> tuple[np.ndarray, bool]:
    if kind == "missing_region":
        return _check_sizes(levels, x.shape[-2], x.shape[-1])
    return _check_levels(levels)


def corrupt(x: np.ndarray, kind: Kind | str, level, seed: int = 0, fill: float = 0.0) -> np.ndarray:
    """Apply corruption `kind` to the batch `x` (N, ..., H, W) at `level`.

    `level` is an intensity in [0, 1] (noise kinds) or a square side in pixels 0..min(H, W)
    (missing_region); a scalar gives x.shape, a 1-D sequence of L levels gives (L, *x.shape).
    """
    x = _check_images(x)
    levels, scalar = _levels_for(x, kind, level)
    fn = _corrupter(x, kind, seed, fill)
    return _stack([fn(lv.item()) for lv in levels], scalar)


def iter_levels(
    x: np.ndarray, kind: Kind | str, levels, seed: int = 0, fill: float = 0.0, progress: bool = False
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (level, corrupted x) one level at a time; same arrays as `corrupt(x, kind, levels, seed)`.

    The random numbers are drawn once (memory: a few copies of x), so sweeping 100 levels
    costs little more than the per-level arithmetic.
    """
    x = _check_images(x)
    arr, _ = _levels_for(x, kind, levels)
    fn = _corrupter(x, kind, seed, fill)
    for lv in tqdm(arr, desc=KIND_LABELS.get(kind, kind), disable=not progress, leave=False):
        yield lv.item(), fn(lv.item())


def figure5_grid(image: np.ndarray, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Figure 5 grid for one image (H, W): rows = intensities 0..1, columns = the four kinds.

    Returns (grid (rows, 4, H, W), intensities (rows,), region sizes (rows,)); the missing
    region's side is round(intensity * min(H, W)), so the last row removes the whole image.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image: expected one image of shape (H, W), got {image.shape}")
    if rows < 1:
        raise ValueError(f"rows: must be >= 1, got {rows}")
    batch = _check_images(image[None, None].astype(np.float32), "image")
    intensities = np.linspace(0.0, 1.0, rows) if rows > 1 else np.zeros(1)
    sizes = np.round(intensities * min(image.shape)).astype(np.int64)
    columns = [corrupt(batch, kind, intensities, seed)[:, 0, 0] for kind in NOISE_KINDS]
    columns.append(corrupt(batch, "missing_region", sizes, seed)[:, 0, 0])
    return np.stack(columns, axis=1), intensities, sizes
