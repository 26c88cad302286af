"""The data statistics of SPEC §1, measured on any set of raw sequences, and the comparison
of a generated set with the values the course data shows.

`measure(frames)` takes raw sequences `(N, 16, 36, 36)` on the course's 0-255 scale (noisy,
integers or floats) and computes every quantity of SPEC §1's table the way the table
defines it. Frame numbers in the names are the table's 1-based ones ("f4" = index 3);
a "step" is one frame to the next; (y, x) = (row, column), +y is down, +x is right.

Keys and definitions:
* rotation_median_deg, rotation_p05_deg, rotation_p95_deg: median, 5th and 95th percentile
  of the per-step rotation (`rotation_steps`) over all N*15 steps; rotation_spread_deg = p95 - p05.
* drift_{x,y}_early / _late: mean over sequences and steps of the centre-of-mass shift (px/step),
  over steps 2->3, 3->4 (frames 2-4) / 14->15, 15->16 (frames 14-16).
* com_shift_{x,y}_mean / _std: centre-of-mass shift frame 4 -> 16, mean and std (ddof 0).
* mass_f4 / mass_f16: median over sequences of the digit mass (sum of the pixels above the
  image's median); mass_decay_per_step = 1 - (mass_f16 / mass_f4) ** (1 / 12).
* max_f4 / max_f16: median over sequences of the image maximum.
* laplacian_var_f4 / _f16: median over sequences of var(Laplacian(Gaussian(image, sigma 0.7))).
* noise_sigma: median over all N*16 images of the std (ddof 0) of the 100 pixels of the four
  5x5 corners.
* com_f4_y / com_f4_x: mean over sequences of the centre of mass at frame 4 (0-based pixels).
* outlier_fraction: fraction of steps flagged by `outlier_steps` (a robust 3-sigma rule).

Centre of mass: intensity-weighted mean pixel position of the raw image (no threshold:
zero-mean noise averages out, a threshold would pull every estimate toward the canvas centre).
Gaussian blur and Laplacian: `scipy.ndimage.gaussian_filter` / `laplace` (5-point stencil,
the same as OpenCV's `Laplacian` with ksize 1), boundary mode 'reflect'.

`compare(measured)` sets them beside `SPEC_REFERENCE`; each row passes its rule:
* "ratio": within +-25 % of the real value (0.75 <= generated / real <= 1.25);
* "abs": for quantities whose real value is ~0 (the rotation median) a ratio is meaningless,
  so |generated - real| <= the tolerance given (1.5 deg: a tenth of the 5-95 % range).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

# Real course data (SPEC §1, raw 0-255 scale); frames are the table's 1-based ones.
SPEC_REFERENCE: dict[str, float] = {
    "rotation_median_deg": 0.0,
    "rotation_p05_deg": -9.0,
    "rotation_p95_deg": 6.0,
    "rotation_spread_deg": 15.0,
    "drift_x_early": 0.1,
    "drift_y_early": 0.1,
    "drift_x_late": 0.5,
    "drift_y_late": 0.35,
    "com_shift_x_mean": 4.8,
    "com_shift_y_mean": 3.8,
    "com_shift_x_std": 2.2,
    "com_shift_y_std": 3.3,
    "mass_f4": 29250.0,
    "mass_f16": 24080.0,
    "mass_decay_per_step": 0.015,
    "max_f4": 262.0,
    "max_f16": 170.0,
    "laplacian_var_f4": 1058.0,
    "laplacian_var_f16": 60.0,
    "noise_sigma": 4.6,
    "com_f4_y": 18.2,
    "com_f4_x": 18.2,
    "outlier_fraction": 0.01,
}

# How each quantity is compared: ("ratio", 0.25) = within +-25 %; ("abs", tol) = |gen - real| <= tol.
COMPARISON_RULES: dict[str, tuple[str, float]] = {name: ("ratio", 0.25) for name in SPEC_REFERENCE}
COMPARISON_RULES["rotation_median_deg"] = ("abs", 1.5)

DESCRIPTIONS: dict[str, str] = {
    "rotation_median_deg": "rotation per step, median (deg)",
    "rotation_p05_deg": "rotation per step, 5th percentile (deg)",
    "rotation_p95_deg": "rotation per step, 95th percentile (deg)",
    "rotation_spread_deg": "rotation per step, 5-95 % width (deg)",
    "drift_x_early": "CoM shift x per step, frames 2-4 (px)",
    "drift_y_early": "CoM shift y per step, frames 2-4 (px)",
    "drift_x_late": "CoM shift x per step, frames 14-16 (px)",
    "drift_y_late": "CoM shift y per step, frames 14-16 (px)",
    "com_shift_x_mean": "CoM shift x, frame 4 -> 16, mean (px)",
    "com_shift_y_mean": "CoM shift y, frame 4 -> 16, mean (px)",
    "com_shift_x_std": "CoM shift x, frame 4 -> 16, std (px)",
    "com_shift_y_std": "CoM shift y, frame 4 -> 16, std (px)",
    "mass_f4": "digit mass at frame 4, median",
    "mass_f16": "digit mass at frame 16, median",
    "mass_decay_per_step": "digit mass decay per step (fraction)",
    "max_f4": "image maximum at frame 4, median",
    "max_f16": "image maximum at frame 16, median",
    "laplacian_var_f4": "Laplacian variance (blur 0.7) frame 4, median",
    "laplacian_var_f16": "Laplacian variance (blur 0.7) frame 16, median",
    "noise_sigma": "noise sigma (5x5 corners), median",
    "com_f4_y": "centre of mass y at frame 4, mean",
    "com_f4_x": "centre of mass x at frame 4, mean",
    "outlier_fraction": "fraction of anomalous steps",
}

F4, F16 = 3, 15  # 0-based indices of the table's frames 4 and 16
POLAR_RADII = np.arange(1.0, 16.0)  # px, rings sampled around each image's centre of mass
POLAR_ANGLES = 360  # samples per ring: 1 degree apart (refined to sub-degree by a parabola)
MAX_ROTATION_DEG = 90  # rotations searched: |angle| <= this (a digit is not symmetric under 180 deg)


def _check_frames(frames: np.ndarray, min_frames: int = 2) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 4 or frames.shape[1] < min_frames or frames.shape[0] < 1:
        raise ValueError(
            f"frames: expected shape (N, T, H, W) with N >= 1, T >= {min_frames}, got {frames.shape}"
        )
    if not np.isfinite(frames).all():
        raise ValueError("frames: contain NaN or infinite values")
    return frames


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """Intensity-weighted centre of each image (..., H, W) -> (..., 2) as (y, x), 0-based pixels.

    An image whose intensities sum to zero has no centre: its entries are NaN.
    """
    images = np.asarray(images, dtype=np.float64)
    h, w = images.shape[-2:]
    total = images.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = (images.sum(axis=-1) * np.arange(h)).sum(axis=-1) / total
        cx = (images.sum(axis=-2) * np.arange(w)).sum(axis=-1) / total
    return np.stack([cy, cx], axis=-1)


def _polar(images: np.ndarray) -> np.ndarray:
    """Background-free images (B, H, W) resampled on rings around their centres: (B, R, A).

    Each image is smoothed (Gaussian, sigma 1), its median (the background) removed and
    negative values set to 0; angle phi runs counter-clockwise *as displayed* (y down):
    the sample at (r, phi) lies at y = cy - r sin(phi), x = cx + r cos(phi).
    """
    b = images.shape[0]
    smooth = ndimage.gaussian_filter(images, sigma=(0, 1.0, 1.0), mode="constant")
    smooth = np.clip(smooth - np.median(smooth, axis=(1, 2), keepdims=True), 0.0, None)
    centre = centre_of_mass(smooth)
    centre = np.where(np.isfinite(centre), centre, (images.shape[1] - 1) / 2)
    phi = np.deg2rad(np.arange(POLAR_ANGLES) * 360.0 / POLAR_ANGLES)
    ys = centre[:, 0, None, None] - POLAR_RADII[None, :, None] * np.sin(phi)[None, None, :]
    xs = centre[:, 1, None, None] + POLAR_RADII[None, :, None] * np.cos(phi)[None, None, :]
    zs = np.broadcast_to(np.arange(b, dtype=np.float64)[:, None, None], ys.shape)
    return ndimage.map_coordinates(smooth, np.stack([zs, ys, xs]), order=1, mode="constant", cval=0.0)


def rotation_steps(frames: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Rotation of each step t -> t+1 in degrees, counter-clockwise as displayed: (N, T-1).

    Registration in polar coordinates: each image is resampled on rings around its own
    centre of mass (`_polar`, which removes translation), and the rotation is the angular
    shift maximising the circular cross-correlation of the two ring images (summed over
    rings weighted by radius, i.e. by area), searched within +-90 deg at 1 deg and refined by
    a parabola through the peak and its neighbours.
    """
    frames = _check_frames(frames)
    n, t, h, w = frames.shape
    out = np.empty((n, t - 1))
    weights = POLAR_RADII[None, None, :, None]
    lags = np.arange(POLAR_ANGLES)
    lags = np.where(lags > POLAR_ANGLES // 2, lags - POLAR_ANGLES, lags) * 360.0 / POLAR_ANGLES
    allowed = np.abs(lags) <= MAX_ROTATION_DEG
    for start in range(0, n, chunk):
        part = frames[start : start + chunk]
        polar = _polar(part.reshape(-1, h, w)).reshape(part.shape[0], t, len(POLAR_RADII), POLAR_ANGLES)
        spectra = np.fft.rfft(polar, axis=-1)
        # corr[lag] = sum_phi A(phi) B(phi + lag), A = frame t, B = frame t+1
        cross = np.conj(spectra[:, :-1]) * spectra[:, 1:]
        corr = (np.fft.irfft(cross, n=POLAR_ANGLES, axis=-1) * weights).sum(axis=2)  # (n, t-1, A)
        corr = np.where(allowed, corr, -np.inf)
        peak = corr.argmax(axis=-1)
        left = np.take_along_axis(corr, ((peak - 1) % POLAR_ANGLES)[..., None], axis=-1)[..., 0]
        mid = np.take_along_axis(corr, peak[..., None], axis=-1)[..., 0]
        right = np.take_along_axis(corr, ((peak + 1) % POLAR_ANGLES)[..., None], axis=-1)[..., 0]
        denom = left - 2 * mid + right
        with np.errstate(invalid="ignore", divide="ignore"):
            shift = np.where(np.isfinite(denom) & (denom < 0), 0.5 * (left - right) / denom, 0.0)
        out[start : start + chunk] = lags[peak] + np.clip(shift, -0.5, 0.5) * 360.0 / POLAR_ANGLES
    return out


def digit_mass(images: np.ndarray) -> np.ndarray:
    """Sum of the pixels above each image's median: (..., H, W) -> (...)."""
    images = np.asarray(images, dtype=np.float64)
    med = np.median(images, axis=(-2, -1), keepdims=True)
    return np.where(images > med, images, 0.0).sum(axis=(-2, -1))


def laplacian_variance(images: np.ndarray, sigma: float = 0.7) -> np.ndarray:
    """var(Laplacian(Gaussian(image, sigma))) of each image: (..., H, W) -> (...)."""
    images = np.asarray(images, dtype=np.float64)
    flat = images.reshape(-1, *images.shape[-2:])
    out = np.empty(flat.shape[0])
    for i, img in enumerate(flat):
        out[i] = ndimage.laplace(ndimage.gaussian_filter(img, sigma, mode="reflect"), mode="reflect").var()
    return out.reshape(images.shape[:-2])


def corner_noise(images: np.ndarray, size: int = 5) -> np.ndarray:
    """Std (ddof 0) of the 4 * size**2 pixels of the four size x size corners: (..., H, W) -> (...)."""
    images = np.asarray(images, dtype=np.float64)
    corners = np.concatenate(
        [
            images[..., :size, :size].reshape(*images.shape[:-2], -1),
            images[..., :size, -size:].reshape(*images.shape[:-2], -1),
            images[..., -size:, :size].reshape(*images.shape[:-2], -1),
            images[..., -size:, -size:].reshape(*images.shape[:-2], -1),
        ],
        axis=-1,
    )
    return corners.std(axis=-1)


def outlier_steps(frames: np.ndarray, sigmas: float = 3.0) -> np.ndarray:
    """(N, T-1) bool: steps whose consecutive-frame difference is a robust `sigmas`-sigma outlier.

    Each image has its median (the background) removed. The relative difference of step t is
    r_t = log(sum (f_(t+1) - f_t)^2 / (sum f_t^2 + sum f_(t+1)^2)): 0 for identical frames,
    about log 1 for frames that no longer overlap, and insensitive to the fading and blurring
    that change a sequence's scale. Sequences move at their own pace, so each step is compared
    with its own sequence (r_t minus the sequence's median r); these residuals are standardised
    by their median and MAD (x 1.4826, the std of a Gaussian) over all steps, and flagged above
    +`sigmas`. A simple 3-sigma rule that needs no fitting; `preprocessing.detect_outliers` is
    the paper's PCA + Gaussian method.
    """
    frames = _check_frames(frames, min_frames=3)
    f = frames - np.median(frames, axis=(-2, -1), keepdims=True)
    energy = np.square(f).sum(axis=(-2, -1))
    diff = np.square(np.diff(f, axis=1)).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.log(diff / (energy[:, :-1] + energy[:, 1:]))
    rel = np.nan_to_num(rel, nan=0.0, posinf=0.0, neginf=np.log(1e-12))
    resid = rel - np.median(rel, axis=1, keepdims=True)
    med = np.median(resid)
    mad = 1.4826 * np.median(np.abs(resid - med))
    return (resid - med) > sigmas * mad if mad > 0 else np.zeros(resid.shape, dtype=bool)


def measure(frames: np.ndarray) -> dict[str, float]:
    """Every quantity of SPEC §1's table for raw sequences `frames` (N, 16, 36, 36); see the module doc."""
    frames = _check_frames(frames, min_frames=16)
    rot = rotation_steps(frames)
    com = centre_of_mass(frames)  # (N, T, 2) as (y, x)
    step = np.diff(com, axis=1)  # (N, T-1, 2); step k is frame k -> k+1 (0-based)
    early, late = step[:, 1:3], step[:, 13:15]  # table frames 2-4 and 14-16
    shift = com[:, F16] - com[:, F4]
    mass = digit_mass(frames[:, [F4, F16]])
    maxima = frames[:, [F4, F16]].max(axis=(-2, -1))
    lap = laplacian_variance(frames[:, [F4, F16]])
    m4, m16 = float(np.median(mass[:, 0])), float(np.median(mass[:, 1]))
    return {
        "rotation_median_deg": float(np.median(rot)),
        "rotation_p05_deg": float(np.percentile(rot, 5)),
        "rotation_p95_deg": float(np.percentile(rot, 95)),
        "rotation_spread_deg": float(np.percentile(rot, 95) - np.percentile(rot, 5)),
        "drift_x_early": float(np.nanmean(early[..., 1])),
        "drift_y_early": float(np.nanmean(early[..., 0])),
        "drift_x_late": float(np.nanmean(late[..., 1])),
        "drift_y_late": float(np.nanmean(late[..., 0])),
        "com_shift_x_mean": float(np.nanmean(shift[:, 1])),
        "com_shift_y_mean": float(np.nanmean(shift[:, 0])),
        "com_shift_x_std": float(np.nanstd(shift[:, 1])),
        "com_shift_y_std": float(np.nanstd(shift[:, 0])),
        "mass_f4": m4,
        "mass_f16": m16,
        "mass_decay_per_step": float(1.0 - (m16 / m4) ** (1.0 / (F16 - F4))) if m4 > 0 else float("nan"),
        "max_f4": float(np.median(maxima[:, 0])),
        "max_f16": float(np.median(maxima[:, 1])),
        "laplacian_var_f4": float(np.median(lap[:, 0])),
        "laplacian_var_f16": float(np.median(lap[:, 1])),
        "noise_sigma": float(np.median(corner_noise(frames))),
        "com_f4_y": float(np.nanmean(com[:, F4, 0])),
        "com_f4_x": float(np.nanmean(com[:, F4, 1])),
        "outlier_fraction": float(outlier_steps(frames).mean()),
    }


def compare(measured: dict[str, float], reference: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per quantity of `reference` (default `SPEC_REFERENCE`).

    Columns: quantity, description, generated, real, ratio (generated / real; NaN where
    real is 0), rule ("within 25 %" or "|diff| <= tol"), within_25pct (the row passes its rule).
    """
    reference = SPEC_REFERENCE if reference is None else reference
    missing = sorted(set(reference) - set(measured))
    if missing:
        raise ValueError(f"measured: missing quantities {missing}")
    rows = []
    for name, real in reference.items():
        gen = float(measured[name])
        kind, tol = COMPARISON_RULES.get(name, ("ratio", 0.25))
        ratio = gen / real if real != 0 else float("nan")
        if kind == "abs":
            ok, rule = abs(gen - real) <= tol, f"|diff| <= {tol:g}"
        else:
            ok, rule = bool(np.isfinite(ratio) and 1 - tol <= ratio <= 1 + tol), f"within {tol:.0%}"
        rows.append(
            {
                "quantity": name,
                "description": DESCRIPTIONS.get(name, name),
                "generated": gen,
                "real": real,
                "ratio": ratio,
                "rule": rule,
                "within_25pct": bool(ok),
            }
        )
    return pd.DataFrame(rows)
