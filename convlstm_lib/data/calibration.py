"""The real course data's statistics (both tables of docs/DATA.md), measured on any set of raw
sequences, and the comparison of a generated set with the figures the real course data show.

`measure(frames, n3=None)` takes raw sequences `(N, 16, 36, 36)` on the course's 0-255 scale
(noisy, integers or floats) and computes every quantity of `REAL_FIGURES` the way docs/DATA.md
defines it (the copy-last rows on `n3` when given: the real figures are N3's). Frame numbers
in the names are the table's 1-based ones ("f4" = index 3); a "step" is one frame to the next;
(y, x) = (row, column), +y is down, +x is right.

Positions: every drift, shift and position is the centre of mass (`centre_of_mass`, THE one
of the project) of the image's `foreground`: the pixels above the image's median, the others
set to 0 (docs/DATA.md's definition; the noise above the median pulls it slightly toward the canvas
centre, by ~7 % of a late frame's shift, on real and generated data alike).

First table ("calibration"):
* rotation_median_deg, rotation_p05_deg, rotation_p95_deg: median, 5th and 95th percentile
  of the per-step rotation (`rotation_steps`) over all N*15 steps; rotation_spread_deg = p95 - p05.
* drift_{x,y}_early / _late: mean over sequences and steps of the position's step (px/step),
  over steps 2->3, 3->4 (frames 2-4) / 14->15, 15->16 (frames 14-16).
* com_shift_{x,y}_mean / _std: the drift frame 4 -> 16, mean and std (ddof 0) over sequences.
* mass_f4 / mass_f16: median over sequences of the digit mass (sum of the pixels above the
  image's median); mass_decay_per_step = 1 - (mass_f16 / mass_f4) ** (1 / 12).
* max_f4 / max_f16: median over sequences of the image maximum.
* laplacian_var_f4 / _f16: median over sequences of var(Laplacian(Gaussian(image, sigma 0.7))).
* noise_sigma: median over all N*16 images of the std (ddof 0) of the 100 pixels of the four
  5x5 corners.
* com_f4_y / com_f4_x: mean over sequences of the position at frame 4 (0-based pixels).
* outlier_fraction: share of steps flagged by `outlier_steps` (a robust 3-sigma rule).

Second table ("dynamics"), from each sequence's drift frame 4 -> 16, (dx, dy):
* drift_length_p10 / _p50 / _p90: percentiles of its length.
* dominant_share, dominant_x_share, dominant_y_share: share of sequences with one dominant
  axis (larger component >= 2 x the smaller and >= 4 px), along +x, along +y (`drift_groups`);
  dominant_x_dx / _dy, dominant_y_dy / _dx: the medians of dx and dy within those groups.
* upward_share (dy < -2 px), upward_dy / upward_dx (medians within), leftward_share (dx < -2 px).
* early_still_share: share of sequences whose step at frames 2 -> 3 is shorter than 0.25 px.
* late_speed_dominant: median over the dominant sequences of the step at frames 14 -> 15 along
  their dominant axis.
* copy_last_mse_f4 / _f16: per-pixel MSE of copying frame 3 to predict frame 4 / frame 15 to
  predict 16, on raw / 297 (`copy_last_mse`).
A median over an empty group is NaN (shown as "n/a", and not within tolerance).

Gaussian blur and Laplacian: `scipy.ndimage.gaussian_filter` / `laplace` (5-point stencil,
the same as OpenCV's `Laplacian` with ksize 1), boundary mode 'reflect'.

`compare(measured)` sets every quantity beside its real figure (`REAL_FIGURES`, the one place
the real figures live) and its rule: within 25 % of the real figure, shares within 10 points,
the rotation median (real ~0 deg, where a ratio means nothing) within 1.5 deg.
`comparison_table` turns that into a table for reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from convlstm_lib.data.course_io import TEST_FRAMES

# How many seeds notebook 01 generates N3 with to show the spread of the copy-last error at frame
# 3 -> 4 (one seed's 100 sequences hold 0-3 outlier jumps there, each worth ~8e-4).
SPREAD_SEEDS = 10


@dataclass(frozen=True)
class RealFigure:
    """One figure measured on the real course data (docs/DATA.md) and how a generated set is held to it.

    rule "ratio": within `tol` of the real value as a fraction (0.25: 0.75 <= generated / real <= 1.25);
    "abs": |generated - real| <= `tol` (shares, in points of 1, and quantities whose real value is ~0).
    """

    key: str
    real: float
    description: str
    table: str  # "calibration" (docs/DATA.md's first table) or "dynamics" (its second)
    rule: str = "ratio"
    tol: float = 0.25

    def passes(self, generated: float) -> bool:
        if not np.isfinite(generated):
            return False
        if self.rule == "abs":
            return bool(abs(generated - self.real) <= self.tol + 1e-12)
        return bool(self.real != 0 and 1 - self.tol <= generated / self.real <= 1 + self.tol)

    @property
    def tolerance(self) -> str:
        """The rule in words, e.g. "±25 %" or "±0.1"."""
        return f"±{self.tol:.0%}".replace("%", " %") if self.rule == "ratio" else f"±{self.tol:g}"


SHARE_TOL = 0.10  # shares: within 10 points of the real share
_C, _D = "calibration", "dynamics"

# The real course data (raw 0-255 scale; frames are the table's 1-based ones): the one place these
# figures live in code; docs/DATA.md lists them with where they were measured. Rotation median: its
# real value is ~0 deg, where a ratio means nothing, so it passes within 1.5 deg (a tenth of the
# 5-95 % range).
REAL_FIGURES: tuple[RealFigure, ...] = (
    RealFigure("rotation_median_deg", 0.0, "rotation per step, median (deg)", _C, "abs", 1.5),
    RealFigure("rotation_p05_deg", -9.0, "rotation per step, 5th percentile (deg)", _C),
    RealFigure("rotation_p95_deg", 6.0, "rotation per step, 95th percentile (deg)", _C),
    RealFigure("rotation_spread_deg", 15.0, "rotation per step, 5-95 % width (deg)", _C),
    RealFigure("drift_x_early", 0.1, "drift x per step, frames 2-4, mean (px)", _C),
    RealFigure("drift_y_early", 0.1, "drift y per step, frames 2-4, mean (px)", _C),
    RealFigure("drift_x_late", 0.5, "drift x per step, frames 14-16, mean (px)", _C),
    RealFigure("drift_y_late", 0.35, "drift y per step, frames 14-16, mean (px)", _C),
    RealFigure("com_shift_x_mean", 4.8, "drift x, frame 4 -> 16, mean (px)", _C),
    RealFigure("com_shift_y_mean", 3.8, "drift y, frame 4 -> 16, mean (px)", _C),
    RealFigure("com_shift_x_std", 2.2, "drift x, frame 4 -> 16, std (px)", _C),
    RealFigure("com_shift_y_std", 3.3, "drift y, frame 4 -> 16, std (px)", _C),
    RealFigure("mass_f4", 29250.0, "digit mass at frame 4, median", _C),
    RealFigure("mass_f16", 24080.0, "digit mass at frame 16, median", _C),
    RealFigure("mass_decay_per_step", 0.015, "digit mass decay per step (fraction)", _C),
    RealFigure("max_f4", 262.0, "image maximum at frame 4, median", _C),
    RealFigure("max_f16", 170.0, "image maximum at frame 16, median", _C),
    RealFigure("laplacian_var_f4", 1058.0, "Laplacian variance (blur 0.7), frame 4, median", _C),
    RealFigure("laplacian_var_f16", 60.0, "Laplacian variance (blur 0.7), frame 16, median", _C),
    RealFigure("noise_sigma", 4.6, "noise sigma (5x5 corners), median", _C),
    RealFigure("com_f4_y", 18.2, "centre of mass y at frame 4, mean", _C),
    RealFigure("com_f4_x", 18.2, "centre of mass x at frame 4, mean", _C),
    RealFigure("outlier_fraction", 0.01, "share of anomalous steps", _C),
    RealFigure("drift_length_p10", 6.8, "drift length, frame 4 -> 16, 10th percentile (px)", _D),
    RealFigure("drift_length_p50", 7.4, "drift length, frame 4 -> 16, median (px)", _D),
    RealFigure("drift_length_p90", 7.8, "drift length, frame 4 -> 16, 90th percentile (px)", _D),
    RealFigure("dominant_share", 0.81, "share with one dominant axis", _D, "abs", SHARE_TOL),
    RealFigure("dominant_x_share", 0.44, "share dominant along +x", _D, "abs", SHARE_TOL),
    RealFigure("dominant_y_share", 0.37, "share dominant along +y", _D, "abs", SHARE_TOL),
    RealFigure("dominant_x_dx", 6.9, "dominant +x: drift x, median (px)", _D),
    RealFigure("dominant_x_dy", 2.7, "dominant +x: drift y, median (px)", _D),
    RealFigure("dominant_y_dy", 7.0, "dominant +y: drift y, median (px)", _D),
    RealFigure("dominant_y_dx", 2.5, "dominant +y: drift x, median (px)", _D),
    RealFigure("upward_share", 0.10, "share drifting upward (dy < -2 px)", _D, "abs", SHARE_TOL),
    RealFigure("upward_dy", -4.2, "upward: drift y, median (px)", _D),
    RealFigure("upward_dx", 3.1, "upward: drift x, median (px)", _D),
    RealFigure("leftward_share", 0.0, "share drifting left (dx < -2 px)", _D, "abs", SHARE_TOL),
    RealFigure("early_still_share", 0.99, "share below 0.25 px/step, frames 2 -> 3", _D, "abs", SHARE_TOL),
    RealFigure("late_speed_dominant", 1.0, "speed along the dominant axis, frames 14 -> 15, median (px)", _D),
    RealFigure("copy_last_mse_f4", 1.6e-3, "copy-last MSE per pixel (raw / 297), frame 3 -> 4, N3", _D),
    RealFigure("copy_last_mse_f16", 2.3e-3, "copy-last MSE per pixel (raw / 297), frame 15 -> 16, N3", _D),
)
REAL: dict[str, RealFigure] = {f.key: f for f in REAL_FIGURES}
REAL_VALUES: dict[str, float] = {f.key: f.real for f in REAL_FIGURES}

F4, F16 = TEST_FRAMES  # 0-based indices of the table's frames 4 and 16, the course's test frames
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


def foreground(images: np.ndarray) -> np.ndarray:
    """Each image (..., H, W) with the pixels at or below its median set to 0 (the digit, roughly)."""
    images = np.asarray(images, dtype=np.float64)
    med = np.median(images, axis=(-2, -1), keepdims=True)
    return np.where(images > med, images, 0.0)


def digit_mass(images: np.ndarray) -> np.ndarray:
    """Sum of the pixels above each image's median: (..., H, W) -> (...)."""
    return foreground(images).sum(axis=(-2, -1))


def drift_centres(frames: np.ndarray) -> np.ndarray:
    """(N, T, H, W) -> (N, T, 2) as (y, x): the centre of mass of each frame's `foreground`,
    the position every drift of docs/DATA.md is measured from."""
    return centre_of_mass(foreground(frames))


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


def drift_groups(shift: np.ndarray) -> dict[str, np.ndarray]:
    """Which sequences drift how, from their drift frame 4 -> 16 `shift` (N, 2) as (y, x).

    dominant: the larger component >= 2 x the smaller and >= 4 px; dominant_x / dominant_y:
    dominant along +x / +y; upward: dy < -2 px; leftward: dx < -2 px. Each (N,) bool.
    """
    dy, dx = shift[:, 0], shift[:, 1]
    big = np.maximum(np.abs(dx), np.abs(dy))
    small = np.minimum(np.abs(dx), np.abs(dy))
    dominant = (big >= 2 * small) & (big >= 4)
    return {
        "dominant": dominant,
        "dominant_x": dominant & (np.abs(dx) >= np.abs(dy)) & (dx > 0),
        "dominant_y": dominant & (np.abs(dy) > np.abs(dx)) & (dy > 0),
        "upward": dy < -2,
        "leftward": dx < -2,
    }


COPY_LAST_SCALE = 297.0  # raw / 297: the course data's intensity range (about -25..272)
EARLY_STILL_PX = 0.25  # px/step: "below 0.25 px/step in 99 % of sequences"


def copy_last_mse(frames: np.ndarray, target: int) -> float:
    """Per-pixel MSE of predicting frame `target` (0-based) by frame `target - 1`, on raw / 297."""
    frames = np.asarray(frames, dtype=np.float64)
    return float(np.mean(np.square((frames[:, target] - frames[:, target - 1]) / COPY_LAST_SCALE)))


def _median(values: np.ndarray) -> float:
    """Median of `values`, NaN for an empty group (shown as "n/a")."""
    return float(np.median(values)) if values.size else float("nan")


def measure(frames: np.ndarray, n3: np.ndarray | None = None) -> dict[str, float]:
    """Every quantity of both tables of docs/DATA.md (`REAL_FIGURES`) for raw sequences `frames`
    (N, 16, 36, 36); the copy-last rows on `n3` when given (the real figures are N3's), else on
    `frames`. Definitions in the module doc."""
    frames = _check_frames(frames, min_frames=16)
    rot = rotation_steps(frames)
    com = drift_centres(frames)  # (N, T, 2) as (y, x)
    step = np.diff(com, axis=1)  # (N, T-1, 2); step k is frame k -> k+1 (0-based)
    early, late = step[:, 1:3], step[:, 13:15]  # table frames 2-4 and 14-16
    shift = com[:, F16] - com[:, F4]
    length = np.hypot(shift[:, 0], shift[:, 1])
    groups = drift_groups(shift)
    gx, gy, up = groups["dominant_x"], groups["dominant_y"], groups["upward"]
    along = np.concatenate([step[gx, 13, 1], step[gy, 13, 0]])  # frames 14 -> 15 along the axis
    mass = digit_mass(frames[:, [F4, F16]])
    maxima = frames[:, [F4, F16]].max(axis=(-2, -1))
    lap = laplacian_variance(frames[:, [F4, F16]])
    m4, m16 = float(np.median(mass[:, 0])), float(np.median(mass[:, 1]))
    mse_set = frames if n3 is None else _check_frames(n3, min_frames=16)
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
        "drift_length_p10": float(np.percentile(length, 10)),
        "drift_length_p50": float(np.percentile(length, 50)),
        "drift_length_p90": float(np.percentile(length, 90)),
        "dominant_share": float(groups["dominant"].mean()),
        "dominant_x_share": float(gx.mean()),
        "dominant_y_share": float(gy.mean()),
        "dominant_x_dx": _median(shift[gx, 1]),
        "dominant_x_dy": _median(shift[gx, 0]),
        "dominant_y_dy": _median(shift[gy, 0]),
        "dominant_y_dx": _median(shift[gy, 1]),
        "upward_share": float(up.mean()),
        "upward_dy": _median(shift[up, 0]),
        "upward_dx": _median(shift[up, 1]),
        "leftward_share": float(groups["leftward"].mean()),
        "early_still_share": float((np.hypot(step[:, 1, 0], step[:, 1, 1]) < EARLY_STILL_PX).mean()),
        "late_speed_dominant": _median(along),
        "copy_last_mse_f4": copy_last_mse(mse_set, F4),
        "copy_last_mse_f16": copy_last_mse(mse_set, F16),
    }


def compare(measured: dict[str, float], figures: tuple[RealFigure, ...] = REAL_FIGURES) -> pd.DataFrame:
    """One row per real figure: quantity (key), description, table, real, generated, ratio
    (generated / real; NaN where real is 0), tolerance (in words) and within (the row passes
    its rule; False where `measured` is NaN, e.g. an empty group)."""
    missing = [f.key for f in figures if f.key not in measured]
    if missing:
        raise ValueError(f"measured: missing quantities {missing}")
    rows = []
    for f in figures:
        gen = float(measured[f.key])
        rows.append(
            {
                "quantity": f.key,
                "description": f.description,
                "table": f.table,
                "real": f.real,
                "generated": gen,
                "ratio": gen / f.real if f.real != 0 else float("nan"),
                "tolerance": f.tolerance,
                "within": f.passes(gen),
            }
        )
    return pd.DataFrame(rows)


def significant(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant figures for a table ("n/a" for NaN, no exponent for 0.01-1e5)."""
    if not np.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    if 1e-2 <= abs(value) < 1e5:
        decimals = max(digits - 1 - int(np.floor(np.log10(abs(value)))), 0)
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def comparison_table(table: pd.DataFrame, generated_label: str = "generated") -> pd.DataFrame:
    """`compare`'s result for reading: human column names, numbers as text to 3 significant figures,
    "n/a" where a figure could not be measured (no NaN cells). Show it without its index."""
    return pd.DataFrame(
        {
            "table": table["table"],
            "quantity": table["description"],
            "real": [significant(v) for v in table["real"]],
            generated_label: [significant(v) for v in table["generated"]],
            "tolerance": table["tolerance"],
            "within": np.where(table["within"], "yes", "no"),
        }
    )
