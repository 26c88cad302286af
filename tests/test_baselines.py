"""Non-learned baselines: exact on the motions they model, scored with the training metric keys."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from convlstm_lib.data.preprocessing import WindowSet
from convlstm_lib.experiments import baselines
from convlstm_lib.training import metrics


def _blob(cy: float, cx: float, size: int = 36, sigma: float = 2.5) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2)).astype(np.float32)


def _moving(n: int, seed: int = 0) -> WindowSet:
    """Blobs moving at a constant integer velocity, well inside the frame: t-2, t-1 -> t."""
    rng = np.random.default_rng(seed)
    frames = np.empty((n, 3, 36, 36), np.float32)
    for k in range(n):
        (cy, cx), (vy, vx) = rng.integers(14, 22, 2), rng.integers(-3, 4, 2)
        frames[k] = [_blob(cy + t * vy, cx + t * vx) for t in range(3)]
    return WindowSet(
        frames[:, :2].copy(), frames[:, 2].copy(), frames[:, 2].copy(), np.arange(n), np.full(n, 3)
    )


def test_copy_last_returns_the_last_frame():
    x = np.random.default_rng(0).random((3, 2, 36, 36)).astype(np.float32)
    np.testing.assert_array_equal(baselines.copy_last(x), x[:, 1])


def test_linear_extrapolates_and_clips():
    x = np.stack([np.full((2, 4, 4), 0.2), np.full((2, 4, 4), 0.5)], axis=1)
    np.testing.assert_allclose(baselines.linear(x), 0.8, atol=1e-6)
    np.testing.assert_allclose(baselines.linear(x[:, ::-1]), 0.0)  # 2*0.2 - 0.5 < 0 -> 0
    np.testing.assert_allclose(
        baselines.linear(np.stack([np.zeros((1, 4, 4)), np.full((1, 4, 4), 0.9)], 1)), 1.0
    )


def test_shift_follows_constant_motion():
    ws = _moving(6)
    pred = baselines.shift(ws.inputs)
    assert metrics.mse(pred, ws.targets) < 1e-4
    assert metrics.mse(pred, ws.targets) < metrics.mse(baselines.copy_last(ws.inputs), ws.targets) / 20


def test_shift_of_a_blank_window_is_copy_last():
    x = np.zeros((1, 2, 36, 36), np.float32)
    np.testing.assert_array_equal(baselines.shift(x), x[:, 1])


def test_inputs_must_be_pairs():
    with pytest.raises(ValueError, match="inputs"):
        baselines.copy_last(np.zeros((2, 3, 36, 36)))


def test_evaluate_baselines_keys_and_values():
    ws, still = _moving(5), _moving(4, seed=1)
    data = SimpleNamespace(n6_test=ws, n3=still.with_targets(still.targets))
    scores = baselines.evaluate_baselines(data)
    assert set(scores) == {"copy_last", "linear", "shift"}
    assert set(scores["copy_last"]) == {
        "n6_test_mse",
        "n6_test_psnr",
        "n6_test_ssim",
        "n6_test_clean_mse",
        "n3_mse",
        "n3_psnr",
        "n3_ssim",
        "n3_clean_mse",
    }
    expected = metrics.mse(ws.inputs[:, 1], ws.targets)
    assert scores["copy_last"]["n6_test_mse"] == pytest.approx(expected)
    with_loss = baselines.evaluate_baselines(data, batch_size=2)
    assert with_loss["shift"]["n3_paper_loss"] == pytest.approx(
        metrics.paper_loss(baselines.shift(still.inputs), still.targets, 2)
    )
