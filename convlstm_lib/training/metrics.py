"""Image metrics every result is reported in, and the paper's own Table 1 convention.

All functions take predictions and targets of the same shape, (N, H, W) or (N, 1, H, W),
as NumPy arrays or torch tensors, with intensities on the [0, 1] scale (data range 1).

Reductions (stated once, tested against hand-computed values in tests/test_metrics.py):

* `mse`   per-pixel mean squared error: the mean over every pixel of every image,
          sum((p - t)^2) / (N * H * W).
* `psnr`  per-image PSNR = 10 * log10(1 / mse_i) (data range 1), averaged over the N images
          (the OpenSTL convention: a mean of per-frame PSNRs, not the PSNR of the mean MSE).
          Computed by torchmetrics; a perfect image gives +inf, so the mean does too.
* `ssim`  per-image SSIM with a Gaussian window 11x11, sigma 1.5, K1=0.01, K2=0.03,
          data range 1, averaged over the N images (torchmetrics, in float32).
* `paper_loss` the paper's Table 1 number: the per-batch *mean* MSEs summed over batches and
          divided by the number of samples N. For equal batches of size B this equals
          mse / B, which is why the paper's 3.69e-6 at batch size 254 is a per-pixel 9.4e-4,
          and why the paper's numbers cannot be compared across batch sizes.
"""
from __future__ import annotations

import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

# The metric keys of every run, trial, table and result file, defined here once. `VAL_MSE`: the
# per-pixel MSE on the validation windows (`datasets.Datasets.val`), the one number every choice
# reads (`SELECTION_KEY`). Then `<test set>_<metric>` on the test sets, which only report: the N6
# test windows (frames 4 and 16) and every N3 window. `clean_mse` is the MSE against the
# noise-free frames (generated data only); `paper_loss` the paper's Table 1 number.
VAL_MSE = "val_mse"
SELECTION_KEY = VAL_MSE
TEST_SETS = ("n6_test", "n3")
METRICS = ("mse", "psnr", "ssim", "clean_mse", "paper_loss")
TEST_KEYS = tuple(f"{test_set}_{metric}" for test_set in TEST_SETS for metric in METRICS)
METRIC_KEYS = (VAL_MSE, *TEST_KEYS)


def metric_keys(clean: bool = True) -> tuple[str, ...]:
    """`METRIC_KEYS`, without the `*_clean_mse` keys when the data have no clean frames."""
    return tuple(k for k in METRIC_KEYS if clean or not k.endswith("_clean_mse"))


SSIM_SETTINGS = {
    "gaussian_kernel": True, "kernel_size": 11, "sigma": 1.5, "k1": 0.01, "k2": 0.03, "data_range": 1.0,
}


def _as_nchw(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach()
    if t.ndim == 3:
        t = t.unsqueeze(1)
    if t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"{name}: expected shape (N, H, W) or (N, 1, H, W), got {tuple(t.shape)}")
    return t.to(torch.float64)


def _pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = _as_nchw(pred, "pred"), _as_nchw(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target: shapes differ, {tuple(p.shape)} vs {tuple(t.shape)}")
    if p.shape[0] == 0:
        raise ValueError("pred: no images to score (N = 0)")
    if not (torch.isfinite(p).all() and torch.isfinite(t).all()):
        raise ValueError("pred/target: contain NaN or infinite values")
    return p, t


def mse(pred, target) -> float:
    """Per-pixel MSE: mean over all N*H*W pixels."""
    return _mse(*_pair(pred, target))


def _mse(p: torch.Tensor, t: torch.Tensor) -> float:
    return float(torch.mean((p - t) ** 2))


def mse_per_image(pred, target) -> np.ndarray:
    """Per-pixel MSE of each image, shape (N,)."""
    p, t = _pair(pred, target)
    return torch.mean((p - t) ** 2, dim=(1, 2, 3)).numpy()


def psnr(pred, target) -> float:
    """Mean over images of 10*log10(1 / per-image MSE), data range 1."""
    return _psnr(*_pair(pred, target))


def _psnr(p: torch.Tensor, t: torch.Tensor) -> float:
    return float(peak_signal_noise_ratio(p, t, data_range=1.0, reduction="elementwise_mean", dim=(1, 2, 3)))


def ssim(pred, target) -> float:
    """Mean over images of SSIM (Gaussian 11x11 window, sigma 1.5, data range 1)."""
    return _ssim(*_pair(pred, target))


def _ssim(p: torch.Tensor, t: torch.Tensor) -> float:
    if min(p.shape[-2:]) < SSIM_SETTINGS["kernel_size"]:
        raise ValueError(f"pred: SSIM needs images of at least 11x11 pixels, got {tuple(p.shape[-2:])}")
    # float32: faster than float64 and agrees to ~1e-4 (relative), below the 3 significant figures
    # reported (timing: benchmarks/README.md, "Measured choices in the library").
    p, t = p.to(torch.float32), t.to(torch.float32)
    return float(structural_similarity_index_measure(p, t, reduction="elementwise_mean", **SSIM_SETTINGS))


def evaluate(pred, target) -> dict[str, float]:
    """{'mse', 'psnr', 'ssim'} with the reductions above (inputs checked and converted once)."""
    p, t = _pair(pred, target)
    return {"mse": _mse(p, t), "psnr": _psnr(p, t), "ssim": _ssim(p, t)}


def paper_loss(pred, target, batch_size: int) -> float:
    """The paper's Table 1 convention: sum over batches of the batch's mean MSE, divided by N.

    Batches are consecutive slices of `batch_size` images (the last may be smaller).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    p, t = _pair(pred, target)
    n = p.shape[0]
    total = sum(
        float(torch.mean((p[i : i + batch_size] - t[i : i + batch_size]) ** 2))
        for i in range(0, n, batch_size)
    )
    return total / n


def paper_to_per_pixel(paper_value: float, batch_size: int) -> float:
    """Convert a paper Table 1 number to per-pixel MSE, assuming full batches: mse = loss * B."""
    return paper_value * batch_size


