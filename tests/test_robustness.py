"""robustness: corruption of the inputs only, curves per level, determinism."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from convlstm_lib.data.preprocessing import WindowSet
from convlstm_lib.experiments import robustness
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training import metrics


class CopyLast(nn.Module):
    """The copy-last predictor as a module: (B, T, C, H, W) -> last frame (B, 1, H, W)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))  # predict_frames reads the device from a parameter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1]


def _windows(n: int = 40, side: int = 12, seed: int = 0, clean: bool = True) -> WindowSet:
    """Smooth blobs moving one pixel per frame; targets = next frame (plus mild noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    frames = np.empty((n, 3, side, side), np.float32)
    for i in range(n):
        cy, cx = rng.uniform(3, side - 4, 2)
        for t in range(3):
            frames[i, t] = np.exp(-((yy - cy) ** 2 + (xx - cx - t) ** 2) / 6.0)
    noisy = np.clip(frames[:, 2] + rng.normal(0, 0.02, frames[:, 2].shape), 0, 1).astype(np.float32)
    return WindowSet(frames[:, :2].copy(), noisy, frames[:, 2].copy() if clean else None,
                     np.arange(n), np.full(n, 3))


def test_level_zero_equals_the_clean_evaluation():
    ws = _windows()
    model = CopyLast()
    reference = metrics.mse(ws.inputs[:, -1], ws.targets)
    curves = robustness.noise_curves(model, ws, levels=[0.0, 0.5], seed=3, batch_size=7)
    assert tuple(curves.columns) == robustness.NOISE_COLUMNS
    assert len(curves) == 6
    at_zero = curves[curves["intensity"] == 0.0]
    assert np.allclose(at_zero["mse"], reference, rtol=1e-6)
    assert np.allclose(at_zero["clean_mse"], metrics.mse(ws.inputs[:, -1], ws.clean_targets), rtol=1e-6)
    region = robustness.missing_region_curve(model, ws, sizes=[0, 6], seed=3, batch_size=7)
    assert region.loc[0, "mse"] == pytest.approx(reference, rel=1e-6)


def test_corruption_touches_inputs_only():
    ws = _windows()
    inputs, targets, clean = ws.inputs.copy(), ws.targets.copy(), ws.clean_targets.copy()
    robustness.noise_curves(CopyLast(), ws, levels=[1.0], seed=0)
    robustness.missing_region_curve(CopyLast(), ws, sizes=[12], seed=0)
    assert np.array_equal(ws.inputs, inputs) and np.array_equal(ws.targets, targets)
    assert np.array_equal(ws.clean_targets, clean)


def test_salt_and_pepper_loss_grows_with_intensity_for_copy_last():
    ws = _windows(clean=False)
    levels = robustness.intensity_levels(6)
    curve = robustness.noise_curves(CopyLast(), ws, kinds=["salt_and_pepper"], levels=levels, seed=1)
    mse = curve["mse"].to_numpy()
    assert np.all(np.diff(mse) > 0), mse
    # Every pixel 0 or 1 at random against targets near 0 over most of the image: near 0.5.
    assert 0.3 < mse[-1] < 0.6
    assert curve["clean_mse"].isna().all()  # no clean targets given


def test_missing_region_of_the_full_side_removes_the_whole_input():
    ws = _windows()
    curve = robustness.missing_region_curve(CopyLast(), ws, sizes=robustness.region_sizes(5, side=12), seed=0)
    assert curve["size"].tolist() == [0, 5, 10, 12]
    assert curve["fraction_removed"].tolist() == pytest.approx([0, 25 / 144, 100 / 144, 1.0])
    # Copy-last of a blank input predicts zeros: the loss is the mean squared target.
    blank_loss = float(np.mean(ws.targets.astype(np.float64) ** 2))
    assert curve["mse"].iloc[-1] == pytest.approx(blank_loss, rel=1e-5)
    assert np.all(np.diff(curve["mse"].to_numpy()) >= -1e-9)


def test_curves_are_deterministic_by_seed():
    ws = _windows()
    model = CopyLast()
    a = robustness.noise_curves(model, ws, levels=[0.3, 0.7], seed=5)
    b = robustness.noise_curves(model, ws, levels=[0.3, 0.7], seed=5)
    c = robustness.noise_curves(model, ws, levels=[0.3, 0.7], seed=6)
    assert a.equals(b)
    assert not np.allclose(a["mse"], c["mse"])
    r1 = robustness.missing_region_curve(model, ws, sizes=[4, 8], seed=5)
    r2 = robustness.missing_region_curve(model, ws, sizes=[4, 8], seed=5)
    assert r1.equals(r2)


def test_batch_size_does_not_change_the_result_of_a_convlstm():
    ws = _windows(n=10)
    torch.manual_seed(0)
    model = build_model(ModelConfig(layers=2, kernels=3, height=12, width=12))
    a = robustness.noise_curves(model, ws, kinds=["gaussian"], levels=[0.0, 0.4], seed=2, batch_size=3)
    b = robustness.noise_curves(model, ws, kinds=["gaussian"], levels=[0.0, 0.4], seed=2, batch_size=10)
    assert np.allclose(a["mse"], b["mse"], rtol=1e-5)
    # Predictions ran in eval mode (batch norm with running statistics: batches independent)
    # and the model's training mode was restored afterwards.
    assert model.training


def test_bad_arguments_raise_value_errors_naming_them():
    ws = _windows(n=4)
    with pytest.raises(ValueError, match="kinds: 'speckle'"):
        robustness.noise_curves(CopyLast(), ws, kinds=["speckle"])
    with pytest.raises(ValueError, match="noise_levels"):
        robustness.intensity_levels(0)
    with pytest.raises(ValueError, match="region_step"):
        robustness.region_sizes(0)
    empty = WindowSet(np.zeros((0, 2, 12, 12), np.float32), np.zeros((0, 12, 12), np.float32), None,
                      np.zeros(0, int), np.zeros(0, int))
    with pytest.raises(ValueError, match="N = 0"):
        robustness.noise_curves(CopyLast(), empty, levels=[0.0])


def test_levels_and_sizes_helpers():
    assert robustness.intensity_levels(5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert robustness.intensity_levels(1).tolist() == [0.0]
    assert robustness.region_sizes(12).tolist() == [0, 12, 24, 36]
    assert robustness.region_sizes(5).tolist() == [0, 5, 10, 15, 20, 25, 30, 35, 36]


def test_tolerance_is_the_last_level_within_the_factor():
    import pandas as pd

    curve = pd.DataFrame({"intensity": [0.0, 0.1, 0.2, 0.3], "mse": [1.0, 1.5, 2.5, 4.0]})
    assert robustness.tolerance(curve, factor=2.0) == 0.1
    assert robustness.tolerance(curve, factor=10.0) == 0.3
    with pytest.raises(ValueError, match="intensity = 0"):
        robustness.tolerance(curve.iloc[1:])


def test_evaluate_robustness_record_is_strict_json():
    sets = {"n6": _windows(n=12, seed=0), "n3": _windows(n=8, seed=1, clean=False)}
    config = robustness.RobustnessConfig(levels=(0.0, 1.0), sizes=(0, 12), seed=0, batch_size=5)
    result = robustness.evaluate_robustness(CopyLast(), sets, config, progress=False)
    record = result.record()
    assert record["windows"] == {"n6": 12, "n3": 8}
    assert set(record["noise"]) == {"gaussian", "poisson", "salt_and_pepper"}
    sp = record["noise"]["salt_and_pepper"]
    assert sp["intensities"] == [0.0, 1.0] and len(sp["n6"]) == 2 and len(sp["n3"]) == 2
    assert record["missing_region"]["sizes"] == [0, 12]
    assert list(record["config"]["levels"]) == [0.0, 1.0]
    assert len(result.noise_table()) == 12 and set(result.region_table()["test_set"]) == {"n6", "n3"}
    from convlstm_lib.jsonio import jsonable as _jsonable

    json.dumps(_jsonable(record), allow_nan=False)
    with pytest.raises(ValueError, match="levels and sizes"):
        robustness.evaluate_robustness(CopyLast(), sets, robustness.RobustnessConfig(levels=(), sizes=(0,)))
