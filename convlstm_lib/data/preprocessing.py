"""Pre-processing of paper §3.2: scaling, outlier transitions, denoising, windows, training sets.

Shapes: sequences are (N, T, H, W) (T = 16, H = W = 36); a window is L input frames and the
target frame t, kept as a `WindowSet` with inputs (M, L, H, W), targets (M, H, W) and the
sequence / frame index of each target. The paper's windows are L = 2 frames (t-2, t-1); other
tasks (interpolation, longer context) build theirs with `windows_from_index` (`tasks.py`).
Frame indices are 0-based: the course's test frames "4 and 16" are indices 3 and 15.

Validation: `hold_out_sequences` draws a seeded share of the N6 sequences, whole, that no model
trains on; their windows, cut by the training windows' rule (`VALIDATION_RULE`), are the
validation windows every choice is made on.

Each step is a plain function over arrays; `datasets.build_datasets` strings them together.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage, stats
from sklearn.covariance import MinCovDet
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from convlstm_lib.config import held_out_count, seed_sequence
from convlstm_lib.data.course_io import TEST_FRAMES
from convlstm_lib.progress import tqdm

# How the validation windows are made, in words (recorded with the datasets and in results).
VALIDATION_RULE = (
    "a seeded share of the N6 sequences, whole, held out of training; their windows cut by the "
    "training windows' rule (no test frame in any window)"
)

# ---------------------------------------------------------------------------------------------
# Scaling


@dataclass(frozen=True)
class Scaler:
    """Min-max scaling to [0, 1]: x' = (x - lo) / (hi - lo), fitted on one set of frames.

    Fitted on the N6 training frames and applied to everything else, so test and N3 frames
    may fall slightly outside [0, 1]; they are not clipped.
    """

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.hi > self.lo):
            raise ValueError(f"Scaler: need finite lo < hi, got lo={self.lo}, hi={self.hi}")

    @classmethod
    def fit(cls, frames: np.ndarray) -> Scaler:
        """The scaler mapping the min and max of `frames` (any shape) onto 0 and 1."""
        frames = np.asarray(frames)
        if frames.size == 0:
            raise ValueError("frames: empty, cannot fit a scaler")
        if not np.isfinite(frames).all():
            raise ValueError("frames: contain NaN or infinite values")
        return cls(float(frames.min()), float(frames.max()))

    def transform(self, x: np.ndarray, dtype=np.float32) -> np.ndarray:
        """(x - lo) / (hi - lo), computed in float64 and returned as `dtype`."""
        return ((np.asarray(x, dtype=np.float64) - self.lo) / (self.hi - self.lo)).astype(dtype)

    def inverse(self, y: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Back to the raw scale: lo + y * (hi - lo)."""
        return (self.lo + np.asarray(y, dtype=np.float64) * (self.hi - self.lo)).astype(dtype)


def scale_to_unit(frames: np.ndarray) -> tuple[np.ndarray, Scaler]:
    """Min-max scale `frames` by their own min and max (the paper's choice): (float32, Scaler)."""
    scaler = Scaler.fit(frames)
    return scaler.transform(frames), scaler


# ---------------------------------------------------------------------------------------------
# Validation sequences


def hold_out_sequences(n_sequences: int, share: float, seed: int) -> np.ndarray:
    """(n_sequences,) bool: the sequences held out for validation, `config.held_out_count` of them
    drawn at random with `seed` (the same seed, share and count always give the same ones).

    ValueError naming `val_share` when the share holds out no sequence or leaves none to train on.
    """
    count = held_out_count(n_sequences, share)
    if count < 1:
        raise ValueError(f"val_share: {share} of {n_sequences} N6 sequences holds none out for validation; "
                         "raise it (at most 0.5) or use more sequences")
    if count >= n_sequences:
        raise ValueError(f"val_share: {share} of {n_sequences} N6 sequences leaves none to train on")
    rng = np.random.default_rng(seed_sequence(seed, "validation"))
    held = np.zeros(n_sequences, dtype=bool)
    held[rng.choice(n_sequences, size=count, replace=False)] = True
    return held


# ---------------------------------------------------------------------------------------------
# Outliers

# Two-sided tail of a 1-D Gaussian beyond 3 standard deviations: P(|z| > 3) = 0.26998 %.
THREE_SIGMA_TAIL = float(2 * stats.norm.sf(3.0))


def mahalanobis_radius(n_dims: int, sigmas: float = 3.0) -> float:
    """The Mahalanobis distance r whose chi-square tail P(D^2 > r^2), D^2 ~ chi2(n_dims), equals the
    two-sided tail of a 1-D Gaussian beyond `sigmas` standard deviations (0.27 % for 3).

    In 1-D this is exactly `sigmas`; in k dimensions it is larger (3.44 for k = 2, 4.37 for k = 8),
    so that "beyond 3 standard deviations" flags the same 0.27 % of a Gaussian's mass in any k.
    """
    tail = 2 * stats.norm.sf(sigmas)
    return float(np.sqrt(stats.chi2.isf(tail, n_dims)))


@dataclass
class OutlierReport:
    """What `detect_outliers` found, with everything Figure 4 needs.

    Only the `examined` transitions are fitted and flagged (those clear of the test frames,
    `transitions_clear_of`); the others are never flagged. M = N * K examined transitions, ordered
    sequence-major (coords row m is sequence m // K, the m % K-th examined transition).
    """

    flagged: np.ndarray  # (N, T-1) bool: transition t -> t+1 of sequence n is an outlier
    coords: np.ndarray  # (M, k) PCA coordinates of the examined consecutive-frame differences
    distance: np.ndarray  # (M,) Mahalanobis distance to the fitted Gaussian, in PCA space
    threshold: float  # flag when distance > threshold (see `mahalanobis_radius`)
    explained_variance_ratio: np.ndarray  # (k,)
    settings: dict = field(default_factory=dict)  # n_components, sigmas, robust, seed, tail
    examined: np.ndarray | None = None  # (T-1,) bool: the transitions fitted and flagged; None = all

    def __post_init__(self) -> None:
        steps = np.shape(self.flagged)[1]
        self.examined = (np.ones(steps, dtype=bool) if self.examined is None
                         else np.asarray(self.examined, dtype=bool))
        if self.examined.shape != (steps,):
            raise ValueError(f"examined: expected a bool array over the {steps} transitions, "
                             f"got shape {self.examined.shape}")

    @property
    def flagged_sequences(self) -> np.ndarray:
        """(N,) bool: sequences with at least one flagged transition (removed from 'cleaned')."""
        return self.flagged.any(axis=1)

    @property
    def examined_flags(self) -> np.ndarray:
        """(N, K) bool: the flags of the examined transitions, in the order of `coords`."""
        return self.flagged[:, self.examined]

    def jump_targets(self, seq: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """(M,) bool over windows with target frame `frame` (M,) of sequence `seq` (M,): the
        transition into the target, frame - 1 -> frame, is flagged. No input foretells such a
        target (`TrainConfig.drop_jump_targets`)."""
        seq, frame = np.asarray(seq), np.asarray(frame)
        n, steps = self.flagged.shape
        if len(seq) and (seq.min() < 0 or seq.max() >= n or frame.min() < 1 or frame.max() > steps):
            raise ValueError(
                f"seq/frame: windows outside the {n} sequences x {steps + 1} frames the outlier report covers"
            )
        return self.flagged[seq, frame - 1]

    @property
    def n_transitions(self) -> int:
        """The transitions examined: N x K."""
        return int(self.flagged.shape[0] * self.examined.sum())

    @property
    def n_left_out(self) -> int:
        """The transitions not examined (they touch a test frame): N x (T - 1 - K)."""
        return int(self.flagged.size) - self.n_transitions

    @property
    def n_flagged(self) -> int:
        return int(self.flagged.sum())

    @property
    def n_flagged_sequences(self) -> int:
        return int(self.flagged_sequences.sum())

    def score(self, truth: np.ndarray) -> dict[str, float]:
        """`score_flags` of the examined transitions' flags against boolean `truth` (N, T-1), counted
        over the examined transitions only."""
        truth = np.asarray(truth, dtype=bool)
        if truth.shape != self.flagged.shape:
            raise ValueError(f"truth: expected shape {self.flagged.shape}, got {truth.shape}")
        return score_flags(self.examined_flags, truth[:, self.examined])


def score_flags(flagged: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision and recall of boolean `flagged` transitions against boolean `truth` (same shape),
    counted over transitions: the one scoring rule for every outlier detector.

    precision = TP / (TP + FP) (1.0 when nothing is flagged: no false alarm), recall =
    TP / (TP + FN) (1.0 when there is nothing to find); also the counts and `injected` (= TP + FN).
    """
    flagged = np.asarray(flagged, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    if truth.shape != flagged.shape:
        raise ValueError(f"truth: expected shape {flagged.shape}, got {truth.shape}")
    tp = int((flagged & truth).sum())
    fp = int((flagged & ~truth).sum())
    fn = int((~flagged & truth).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "injected": int(truth.sum()),
    }


def transitions_clear_of(n_frames: int, test_frames: Sequence[int] = TEST_FRAMES) -> np.ndarray:
    """(n_frames - 1,) bool: the transitions t -> t+1 in which neither t nor t+1 is a test frame,
    the only ones the outlier detector fits and flags, so no test frame shapes the training sets.
    For T = 16 and (3, 15): all but 2 -> 3, 3 -> 4 and 14 -> 15 (1-based 3 -> 4, 4 -> 5, 15 -> 16)."""
    steps = np.arange(n_frames - 1)
    test = np.asarray(sorted(set(test_frames)), dtype=np.int64)
    return ~(np.isin(steps, test) | np.isin(steps + 1, test))


def frame_differences(frames: np.ndarray, smooth_sigma: float = 0.0, normalise: bool = False,
                      examined: np.ndarray | None = None) -> np.ndarray:
    """Consecutive-frame differences frames[:, t+1] - frames[:, t] of the `examined` transitions
    ((T-1,) bool; None = all), flattened: (N * K, H * W) for K examined transitions.

    smooth_sigma > 0 blurs every frame with a Gaussian of that many pixels first (within the frame
    only); `normalise` divides each sequence's differences by the median of their L2 norms (one
    scale per sequence, over its examined transitions).
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 4 or frames.shape[1] < 2:
        raise ValueError(f"frames: expected shape (N, T, H, W) with T >= 2, got {frames.shape}")
    if not np.isfinite(frames).all():
        raise ValueError("frames: contain NaN or infinite values")
    if smooth_sigma < 0:
        raise ValueError(f"smooth_sigma: must be >= 0, got {smooth_sigma}")
    n, t, h, w = frames.shape
    examined = np.ones(t - 1, dtype=bool) if examined is None else np.asarray(examined, dtype=bool)
    if examined.shape != (t - 1,) or not examined.any():
        raise ValueError(f"examined: expected a bool array over the {t - 1} transitions with at least one "
                         f"true, got {examined.tolist()}")
    if smooth_sigma > 0:
        frames = ndimage.gaussian_filter(frames, (0, 0, smooth_sigma, smooth_sigma))
    diffs = np.diff(frames, axis=1)[:, examined].reshape(n, int(examined.sum()), h * w)
    if normalise:
        scale = np.median(np.linalg.norm(diffs, axis=2), axis=1)  # (N,)
        diffs = diffs / np.where(scale > 0, scale, 1.0)[:, None, None]
    return diffs.reshape(-1, h * w)


def detect_outliers(
    frames: np.ndarray,
    n_components: int = 6,
    sigmas: float = 3.0,
    smooth_sigma: float = 2.0,
    normalise: bool = True,
    robust: bool = False,
    seed: int = 0,
    examined: np.ndarray | None = None,
) -> OutlierReport:
    """Flag anomalous transitions t -> t+1 in sequences `frames` (N, T, H, W), among the `examined`
    ones ((T-1,) bool, None = all; `datasets` passes `transitions_clear_of` the test frames, so
    the test frames neither shape the fit nor get flagged).

    1. d = frames[:, t+1] - frames[:, t] for every examined transition, flattened to H*W pixels, after a
       Gaussian blur of `smooth_sigma` px of every frame (the i.i.d. pixel noise, sigma*sqrt(2)
       per pixel of a difference, otherwise dominates the differences) and, with `normalise`,
       divided by the median difference norm of the transition's own sequence (a digit with
       more ink makes larger differences under the same motion; the jumps are large for *its*
       sequence).
    2. PCA of the M = N*K differences (K examined transitions) to `n_components` dimensions
       (centred, unwhitened).
    3. A multivariate Gaussian fitted in that space: the sample mean and covariance, or with
       `robust` the Minimum Covariance Determinant estimate.
    4. A transition is flagged when its Mahalanobis distance D exceeds the radius r at which
       P(chi2_k > r^2) = P(|z| > sigmas) for a 1-D standard normal z: "beyond 3 standard
       deviations" generalised to k dimensions by keeping the 3-sigma rule's false-alarm rate,
       0.27 % of a true Gaussian's transitions, whatever k is (`mahalanobis_radius`).

    The defaults (smoothing 2 px, per-sequence normalising, k = 6, the sample covariance) find
    nearly every injected jump with few false alarms; without smoothing most flags are false, and
    the MCD's covariance fits only the core of the heavy-tailed differences, so its 3-sigma radius
    flags far too many (benchmarks/README.md, "Outlier detection").

    The rule is scale-free (raw or scaled frames flag the same transitions) and deterministic
    (`seed` only seeds the MCD's random subsets).
    """
    if not 1 <= n_components:
        raise ValueError(f"n_components: must be >= 1, got {n_components}")
    if sigmas <= 0:
        raise ValueError(f"sigmas: must be > 0, got {sigmas}")
    diffs = frame_differences(frames, smooth_sigma, normalise, examined)
    n, t = frames.shape[0], frames.shape[1]
    examined = np.ones(t - 1, dtype=bool) if examined is None else np.asarray(examined, dtype=bool)
    if n_components > min(diffs.shape):
        raise ValueError(f"n_components: must be in 1..{min(diffs.shape)}, got {n_components}")
    # One BLAS thread: a multi-threaded OpenBLAS spinning on cores that other processes hold was
    # measured several times slower (benchmarks/README.md, "Measured choices in the library").
    with threadpool_limits(limits=1, user_api="blas"):
        pca = PCA(n_components=n_components, svd_solver="covariance_eigh", random_state=seed)
        coords = pca.fit_transform(diffs)
        if robust:
            fit = MinCovDet(random_state=seed).fit(coords)
            distance = np.sqrt(fit.mahalanobis(coords))
        else:
            mean = coords.mean(axis=0)
            cov = np.cov(coords, rowvar=False).reshape(n_components, n_components)
            centred = coords - mean
            distance = np.sqrt(np.einsum("ij,jk,ik->i", centred, np.linalg.pinv(cov), centred))
    threshold = mahalanobis_radius(n_components, sigmas)
    flagged = np.zeros((n, t - 1), dtype=bool)
    flagged[:, examined] = (distance > threshold).reshape(n, -1)
    return OutlierReport(
        flagged=flagged,
        coords=coords,
        distance=distance,
        threshold=threshold,
        explained_variance_ratio=pca.explained_variance_ratio_,
        settings={
            "n_components": n_components,
            "sigmas": sigmas,
            "smooth_sigma": smooth_sigma,
            "normalise": normalise,
            "robust": robust,
            "seed": seed,
            "tail_probability": float(2 * stats.norm.sf(sigmas)),
        },
        examined=examined,
    )


# ---------------------------------------------------------------------------------------------
# Denoising

# OpenCV non-local means settings: the lowest error to the clean frames of the strengths tried, and
# the smallest search window, as good as larger ones at half their time (benchmarks/README.md,
# "The denoising settings").
DEFAULT_H = 11.0
DEFAULT_SEARCH_WINDOW = 11


def denoise(
    images: np.ndarray,
    h: float = DEFAULT_H,
    template_window: int = 7,
    search_window: int = DEFAULT_SEARCH_WINDOW,
    progress: bool = False,
) -> np.ndarray:
    """Non-local means denoising (`cv2.fastNlMeansDenoising`) of images (..., H, W) on [0, 1].

    Each image is clipped to [0, 1], mapped to uint8 by round(255 x), denoised with filter
    strength `h` (in those 0-255 units; larger removes more noise and more detail) and mapped
    back by / 255 to the input's floating dtype. The uint8 step quantises by at most 1/510,
    an error far below the data's noise (std about 0.016 on this scale).
    """
    images = np.asarray(images)
    if images.ndim < 2 or not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"images: expected floating images of shape (..., H, W), got {images.dtype} {images.shape}"
        )
    if not np.isfinite(images).all():
        raise ValueError("images: contain NaN or infinite values")
    if h <= 0:
        raise ValueError(f"h: the filter strength must be > 0, got {h}")
    flat = images.reshape(-1, *images.shape[-2:])
    as_uint8 = np.round(np.clip(flat, 0.0, 1.0) * 255.0).astype(np.uint8)
    out = np.empty_like(as_uint8)
    for i in tqdm(range(len(flat)), desc="denoise", disable=not progress, leave=False):
        out[i] = cv2.fastNlMeansDenoising(as_uint8[i], None, float(h), template_window, search_window)
    return (out.astype(images.dtype) / images.dtype.type(255.0)).reshape(images.shape)


# ---------------------------------------------------------------------------------------------
# Windows


@dataclass
class WindowSet:
    """Windows of L input frames -> one target frame, float32 on the scaled [0, 1] range.

    inputs (M, L, H, W): the input frames in the order the model reads them (the paper's
    windows: L = 2, frames t-2, t-1; see `tasks.Task` for the others); targets (M, H, W):
    frame t as recorded (raw, noisy; denoised only in the 'denoised'/'processed' training
    sets); clean_targets (M, H, W): the noise-free frame t (generated data) or None;
    seq (M,): sequence index; frame (M,): t.
    """

    inputs: np.ndarray
    targets: np.ndarray
    clean_targets: np.ndarray | None
    seq: np.ndarray
    frame: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.inputs)
        if self.inputs.ndim != 4 or self.inputs.shape[1] < 1:
            raise ValueError(f"inputs: expected shape (M, L, H, W) with L >= 1, got {self.inputs.shape}")
        expected = (m, *self.inputs.shape[2:])
        for name in ("targets", "clean_targets"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != expected:
                raise ValueError(f"{name}: expected shape {expected}, got {arr.shape}")
        for name in ("seq", "frame"):
            if getattr(self, name).shape != (m,):
                raise ValueError(f"{name}: expected shape ({m},), got {getattr(self, name).shape}")

    def __len__(self) -> int:
        return len(self.inputs)

    def subset(self, index: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or integer index over the M windows."""
        return WindowSet(
            self.inputs[index],
            self.targets[index],
            None if self.clean_targets is None else self.clean_targets[index],
            self.seq[index],
            self.frame[index],
        )

    def with_targets(self, targets: np.ndarray) -> WindowSet:
        """The same windows with other targets (e.g. denoised); clean targets are kept."""
        return WindowSet(self.inputs, targets, self.clean_targets, self.seq, self.frame)

    def sample(self, k: int, seed: int) -> WindowSet:
        """A seeded random subset of k windows in their original order (all if k = 0 or >= M)."""
        if k < 0:
            raise ValueError(f"k: must be >= 0, got {k}")
        if k == 0 or k >= len(self):
            return self
        index = np.sort(np.random.default_rng(seed).choice(len(self), size=k, replace=False))
        return self.subset(index)


def window_frames(n_frames: int, test_frames: Sequence[int] = TEST_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Target frame indices (train, test) for sequences of `n_frames` frames.

    Test targets are `test_frames`; training targets are every t >= 2 whose window
    {t-2, t-1, t} contains no test frame. For the course's 16 frames and TEST_FRAMES: train = 2,
    6..14; test = 3, 15.
    """
    test = np.array(sorted(set(test_frames)), dtype=np.int64)
    if test.size == 0 or test.min() < 2 or test.max() >= n_frames:
        raise ValueError(
            f"test_frames: must lie in 2..{n_frames - 1} (two input frames before each), got {test.tolist()}"
        )
    targets = np.arange(2, n_frames)
    touches = np.isin(targets, test) | np.isin(targets - 1, test) | np.isin(targets - 2, test)
    return targets[~touches], test


def windows_at(
    sequences: np.ndarray, target_frames: Sequence[int], clean: np.ndarray | None = None
) -> WindowSet:
    """The paper's windows (t-2, t-1) -> t of every sequence (N, T, H, W) whose target t is one
    of `target_frames`.

    Ordered sequence-major: window n * K + k has target frame target_frames[k] of sequence n.
    Arrays are converted to float32.
    """
    frames = np.asarray(target_frames, dtype=np.int64)
    t = np.shape(sequences)[1] if np.ndim(sequences) == 4 else 0
    if frames.size and (frames.min() < 2 or frames.max() >= t):
        raise ValueError(f"target_frames: must lie in 2..{t - 1}, got {frames}")
    return windows_from_index(sequences, frames, np.stack([frames - 2, frames - 1], axis=1), clean)


def windows_from_index(
    sequences: np.ndarray,
    target_frames: Sequence[int],
    input_index: np.ndarray,
    clean: np.ndarray | None = None,
) -> WindowSet:
    """Windows of every sequence (N, T, H, W): target frame target_frames[k] from the input
    frames input_index[k] (K, L), in that order (an index may repeat, e.g. edge padding).

    Ordered sequence-major: window n * K + k has target frame target_frames[k] of sequence n.
    Arrays are converted to float32.
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 4:
        raise ValueError(f"sequences: expected shape (N, T, H, W), got {sequences.shape}")
    if clean is not None and np.shape(clean) != sequences.shape:
        raise ValueError(f"clean: expected shape {sequences.shape} (as sequences), got {np.shape(clean)}")
    frames = np.asarray(target_frames, dtype=np.int64).reshape(-1)
    index = np.asarray(input_index, dtype=np.int64)
    if index.ndim != 2 or len(index) != len(frames):
        raise ValueError(f"input_index: expected shape ({len(frames)}, L), got {index.shape}")
    n, t, h, w = sequences.shape
    for name, arr in (("target_frames", frames), ("input_index", index)):
        if arr.size and (arr.min() < 0 or arr.max() >= t):
            raise ValueError(f"{name}: must lie in 0..{t - 1}, got {arr.tolist()}")
    k, length = index.shape
    inputs = sequences[:, index]  # (N, K, L, H, W)
    return WindowSet(
        inputs=inputs.reshape(n * k, length, h, w).astype(np.float32),
        targets=sequences[:, frames].reshape(n * k, h, w).astype(np.float32),
        clean_targets=(
            None if clean is None else np.asarray(clean)[:, frames].reshape(n * k, h, w).astype(np.float32)
        ),
        seq=np.repeat(np.arange(n, dtype=np.int64), k),
        frame=np.tile(frames, n),
    )


def make_windows(
    sequences: np.ndarray, test_frames: Sequence[int] = TEST_FRAMES, clean: np.ndarray | None = None
) -> tuple[WindowSet, WindowSet]:
    """(train, test) windows of `sequences` (N, T, H, W): test targets are `test_frames`; no
    training window contains a test frame anywhere (see `window_frames`)."""
    train_frames, test = window_frames(np.shape(sequences)[1], test_frames)
    return windows_at(sequences, train_frames, clean), windows_at(sequences, test, clean)


# ---------------------------------------------------------------------------------------------
# The four training sets


def build_training_sets(
    train: WindowSet,
    flagged_sequences: np.ndarray,
    h: float = DEFAULT_H,
    progress: bool = False,
) -> dict[str, WindowSet]:
    """The paper's four training sets from the training windows `train`.

    base       every training window, raw targets
    cleaned    windows of sequences not in `flagged_sequences` (bool (N,) over sequence index)
    denoised   every window, targets denoised (`denoise`, strength h); inputs untouched
    processed  cleaned and denoised

    `clean_targets` (when present) always stay the noise-free frames. Only training targets are
    ever denoised: test windows are scored against raw (and clean) frames.
    """
    flagged_sequences = np.asarray(flagged_sequences, dtype=bool)
    n_seq = int(train.seq.max()) + 1 if len(train) else 0
    if flagged_sequences.ndim != 1 or len(flagged_sequences) < n_seq:
        raise ValueError(
            f"flagged_sequences: expected a bool array over the {n_seq} sequences,"
            f" got shape {flagged_sequences.shape}"
        )
    keep = ~flagged_sequences[train.seq]
    denoised = train.with_targets(denoise(train.targets, h=h, progress=progress))
    return {
        "base": train,
        "cleaned": train.subset(keep),
        "denoised": denoised,
        "processed": denoised.subset(keep),
    }
