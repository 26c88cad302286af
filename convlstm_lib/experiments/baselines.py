"""Predictors that learn nothing: the bar every trained ConvLSTM must clear.

Each baseline maps input pairs (N, 2, H, W) (frames t-2, t-1 on the [0, 1] scale) to a
predicted frame t, (N, H, W) float32:

* ``copy_last``  the last input frame, unchanged: x_{t-1}.
* ``linear``     per-pixel linear extrapolation in time, 2 x_{t-1} - x_{t-2}, clipped to [0, 1].
                 Exact for slowly brightening pixels, but a moving digit leaves a negative
                 ghost (clipped to 0) and a doubled edge: usually worse than copy-last.
* ``shift``      motion-compensated extrapolation: the displacement of the intensity centre
                 of mass from x_{t-2} to x_{t-1} is applied once more to x_{t-1} (bilinear
                 shift, borders filled with the frame's background level). Exact for one
                 digit moving at constant velocity away from the borders.

`evaluate_baselines(datasets)` scores each on the N6 test windows and on every N3 window with
the metric keys of `metrics.METRIC_KEYS` and the reductions of `evaluation` (`n6_test_mse`, `n3_psnr`, ...;
`*_clean_mse` on generated data; `*_paper_loss` only when a batch size is given).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from convlstm_lib.data.calibration import centre_of_mass
from convlstm_lib.training.evaluation import score_predictions


def _check_pairs(inputs) -> np.ndarray:
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 2:
        raise ValueError(f"inputs: expected shape (N, 2, H, W), got {x.shape}")
    return x


def copy_last(inputs) -> np.ndarray:
    """(N, 2, H, W) -> (N, H, W): the last input frame."""
    return _check_pairs(inputs)[:, -1].copy()


def linear(inputs) -> np.ndarray:
    """(N, 2, H, W) -> (N, H, W): 2 x_{t-1} - x_{t-2} per pixel, clipped to [0, 1]."""
    x = _check_pairs(inputs)
    return np.clip(2.0 * x[:, 1] - x[:, 0], 0.0, 1.0).astype(np.float32)


def shift(inputs) -> np.ndarray:
    """(N, 2, H, W) -> (N, H, W): x_{t-1} moved once more by its centre-of-mass displacement.

    The background level of a window is the median of its two frames; only intensity above it
    counts towards the centre of mass (so noise and a grey background do not pull it to the
    middle). A blank frame gives no displacement (copy-last).
    """
    x = _check_pairs(inputs)
    out = np.empty(x[:, 1].shape, dtype=np.float32)
    for n, pair in enumerate(x):
        last = pair[1]
        background = float(np.median(pair))
        a, b = centre_of_mass(np.clip(pair - background, 0.0, None))  # (y, x) of frame t-2, then t-1
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            out[n] = last
            continue
        out[n] = ndimage.shift(last, b - a, order=1, mode="constant", cval=background)
    return out


BASELINES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "copy_last": copy_last,
    "linear": linear,
    "shift": shift,
}


def evaluate_baselines(datasets, batch_size: int | None = None) -> dict[str, dict[str, float]]:
    """{baseline name: metrics} on `datasets.n6_test` and `datasets.n3` (WindowSets).

    Keys per baseline: n6_test_mse/_psnr/_ssim, n3_mse/_psnr/_ssim, plus *_clean_mse where the
    windows carry clean targets and *_paper_loss when `batch_size` is given (the paper's loss
    depends on the batch size, which a baseline does not have).
    """
    out: dict[str, dict[str, float]] = {}
    for name, predict in BASELINES.items():
        scores: dict[str, float] = {}
        for prefix, windows in (("n6_test", datasets.n6_test), ("n3", datasets.n3)):
            scores.update(score_predictions(predict(windows.inputs), windows, prefix, batch_size))
        out[name] = scores
    return out
