"""Metric values against numbers worked out by hand."""
import math

import numpy as np
import pytest
import torch

from convlstm_lib.training import metrics


def test_mse_is_mean_over_every_pixel():
    pred = np.zeros((2, 12, 12))
    target = np.zeros((2, 12, 12))
    target[0, 0, 0] = 1.0  # one pixel off by 1 among 288
    target[1, :, :] = 0.5  # a whole image off by 0.5
    # (1 + 144 * 0.25) / 288 = 37 / 288
    assert metrics.mse(pred, target) == pytest.approx(37 / 288)
    np.testing.assert_allclose(metrics.mse_per_image(pred, target), [1 / 144, 0.25])


def test_psnr_is_mean_of_per_image_psnr():
    pred = np.zeros((2, 12, 12))
    target = np.full((2, 12, 12), 0.1)  # image mse 0.01 -> 20 dB
    target[1] = 0.01  # image mse 1e-4 -> 40 dB
    assert metrics.psnr(pred, target) == pytest.approx(30.0, abs=1e-5)
    # not the PSNR of the mean MSE (0.00505), which would be 10*log10(1/0.00505) = 22.97 dB
    assert metrics.psnr(pred, target) != pytest.approx(22.967, abs=1e-2)


def test_ssim_identical_is_one_and_constant_shift_is_luminance_term():
    rng = np.random.default_rng(0)
    x = rng.random((3, 36, 36))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    # constant images a, b: SSIM = (2ab + C1) / (a^2 + b^2 + C1), C1 = (0.01)^2
    a, b, c1 = 0.2, 0.6, 1e-4
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    # (SSIM runs in float32: its variance terms cancel to ~1e-4 of the value, not 1e-6)
    assert metrics.ssim(np.full((1, 36, 36), a), np.full((1, 36, 36), b)) == pytest.approx(expected, rel=3e-4)
    assert metrics.ssim(np.full((1, 36, 36), a), np.full((1, 36, 36), b + 0.05)) < expected - 0.02


def test_paper_loss_sums_batch_means_and_divides_by_n():
    pred = np.zeros((5, 12, 12))
    target = np.zeros((5, 12, 12))
    target[4] = 1.0  # only the last image is wrong (mse 1)
    # batches of 2: [0,1] mean 0, [2,3] mean 0, [4] mean 1 -> (0 + 0 + 1) / 5
    assert metrics.paper_loss(pred, target, batch_size=2) == pytest.approx(0.2)
    # batches of 4: [0..3] mean 0, [4] mean 1 -> 1 / 5 as well; batch 5: mean 0.2 -> 0.2 / 5
    assert metrics.paper_loss(pred, target, batch_size=5) == pytest.approx(0.04)
    # the paper's best: 3.69e-6 at batch 254 is ~9.4e-4 per pixel
    assert metrics.paper_to_per_pixel(3.69e-6, 254) == pytest.approx(9.37e-4, rel=1e-3)


def test_accepts_torch_and_channel_dim():
    p = torch.zeros(2, 1, 12, 12)
    t = torch.ones(2, 12, 12)
    assert metrics.mse(p, t.unsqueeze(1)) == 1.0
    assert math.isclose(metrics.psnr(p + 0.9, t), 20.0, abs_tol=1e-5)


@pytest.mark.parametrize(
    "pred, target, match",
    [
        (np.zeros((2, 12, 12)), np.zeros((3, 12, 12)), "shapes differ"),
        (np.zeros((2, 2, 12, 12)), np.zeros((2, 2, 12, 12)), r"expected shape \(N, H, W\)"),
        (np.full((1, 12, 12), np.nan), np.zeros((1, 12, 12)), "NaN"),
        (np.zeros((0, 12, 12)), np.zeros((0, 12, 12)), "N = 0"),
    ],
)
def test_bad_input_names_the_problem(pred, target, match):
    with pytest.raises(ValueError, match=match):
        metrics.mse(pred, target)


def test_ssim_rejects_images_smaller_than_window():
    with pytest.raises(ValueError, match="11x11"):
        metrics.ssim(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))


def test_metric_keys_are_validation_then_test_set_times_metric_and_drop_clean_without_clean_frames():
    assert metrics.METRIC_KEYS[0] == metrics.VAL_MSE == metrics.SELECTION_KEY == "val_mse"
    assert metrics.METRIC_KEYS[1:6] == (
        "n6_test_mse", "n6_test_psnr", "n6_test_ssim", "n6_test_clean_mse", "n6_test_paper_loss"
    )
    assert len(metrics.METRIC_KEYS) == 11 and len(set(metrics.METRIC_KEYS)) == 11
    assert "n3_clean_mse" not in metrics.metric_keys(clean=False)
    assert len(metrics.metric_keys(clean=False)) == 9 and "val_mse" in metrics.metric_keys(clean=False)
