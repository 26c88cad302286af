"""Task models: an interpolation model reads its window's frames as channels and starts from the
mean of the frames next to the target; configs that do not fit the task are refused, also when a
checkpoint is loaded."""

import numpy as np
import pytest
import torch

from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.data.tasks import INTERPOLATE, PAPER_TASK, Task
from convlstm_lib.errors import CheckpointError
from convlstm_lib.models.build import FramesAsChannels, build_model, model_config_for
from convlstm_lib.models.heads import output_conv
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.stack import RecurrentStack
from convlstm_lib.training.checkpoints import load_checkpoint, save_checkpoint
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.settings import TrainConfig

CFG = ModelConfig(layers=1, kernels=3, height=8, width=8)


def test_an_untrained_interpolator_predicts_the_mean_of_frames_t_minus_1_and_t_plus_1():
    model = build_model(model_config_for(CFG, INTERPOLATE), INTERPOLATE)
    assert isinstance(model, FramesAsChannels) and model.inner.config.in_channels == 4
    x = np.random.default_rng(0).random((5, 4, 8, 8)).astype(np.float32)  # t-2, t-1, t+2, t+1
    assert np.allclose(predict_frames(model, x), 0.5 * (x[:, 1] + x[:, 3]), atol=1e-6)


def test_interpolator_sees_every_frame_of_its_window():
    model = build_model(model_config_for(CFG, INTERPOLATE), INTERPOLATE)
    with torch.no_grad():
        torch.nn.init.normal_(output_conv(model.inner).weight, std=0.3)  # as if trained: it starts at zero
    x = np.random.default_rng(1).random((2, 4, 8, 8)).astype(np.float32)
    base = predict_frames(model, x)
    for k in (0, 2):  # the outer frames reach the output only through the stack
        changed = x.copy()
        changed[:, k] += 0.5
        assert not np.allclose(predict_frames(model, changed), base)


def test_extrapolation_models_are_the_papers_stack_for_any_context():
    for task in (PAPER_TASK, Task("extrapolate", 11)):
        assert type(build_model(model_config_for(CFG, task), task)) is RecurrentStack


def test_a_config_that_does_not_fit_the_task_is_refused(tmp_path):
    with pytest.raises(ValueError, match="in_channels 1, task interpolate-2 reads 4 frames"):
        build_model(CFG, INTERPOLATE)
    path = save_checkpoint(
        tmp_path / "m.pt",
        build_model(CFG),
        CFG,
        TrainConfig(task="interpolate-2"),
        Scaler(0.0, 1.0),
        {},
        "complete",
    )
    with pytest.raises(CheckpointError, match="does not fit task interpolate-2"):
        load_checkpoint(path)
