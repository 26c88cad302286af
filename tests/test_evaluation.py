"""evaluation: predictions in eval mode, the collapse criterion."""
from __future__ import annotations

import numpy as np
import torch

from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training.evaluation import is_collapsed, predict_frames
from convlstm_lib.training.settings import TrainConfig

TINY = ModelConfig(layers=1, kernels=4)


def test_collapse_criterion(blob_windows):
    rng = np.random.default_rng(0)
    threshold = TrainConfig().collapse_std
    assert is_collapsed(np.full((5, 36, 36), 0.3), threshold)
    assert is_collapsed(0.3 + 0.0005 * rng.standard_normal((5, 36, 36)), threshold)
    assert not is_collapsed(blob_windows(5, 0).targets, threshold)
    assert not is_collapsed(0.1 * blob_windows(5, 0).targets, threshold)  # faint, but not blank


def test_predict_frames_shape_and_mode_restored(blob_data):
    data = blob_data()
    model = build_model(TINY, seed=0).train()
    pred = predict_frames(model, data.n6_test.inputs, batch_size=3)
    assert pred.shape == (4, 36, 36) and pred.dtype == np.float32 and model.training
    model.eval()
    with torch.no_grad():
        direct = model(torch.as_tensor(data.n6_test.inputs).unsqueeze(2)).squeeze(1).numpy()
    np.testing.assert_allclose(pred, direct, atol=1e-6)


def test_predictions_are_float32_also_under_autocast():
    """Scoring inside torch.autocast (a bf16 benchmark, `--precision bf16`) still gives float32
    arrays: the model's bf16 output is converted, not handed to NumPy, which cannot hold it."""
    model = build_model(ModelConfig(layers=1, kernels=3), seed=0)
    x = np.random.default_rng(0).random((5, 2, 36, 36), dtype=np.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model(torch.as_tensor(x[:, :, None])).dtype == torch.bfloat16
        pred = predict_frames(model, x, batch_size=2)
    assert pred.dtype == np.float32 and pred.shape == (5, 36, 36)
    np.testing.assert_allclose(pred, predict_frames(model, x), atol=0.05)
