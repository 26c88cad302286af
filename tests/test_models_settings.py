"""`ModelConfig` (models/settings.py): the paper's ranges, every bad value refused naming its field."""

from __future__ import annotations

import pytest

from convlstm_lib.models.settings import ModelConfig


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("layers", 0),
        ("layers", 8),
        ("kernels", 0),
        ("kernels", 101),
        ("kernel_size", 4),
        ("kernel_size", 0),
        ("activation", "sigmoid"),
        ("height", 0),
    ],
)
def test_model_config_rejects_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        ModelConfig(**{field: value})


def test_model_config_accepts_the_paper_range_limits():
    ModelConfig(layers=1, kernels=1)
    ModelConfig(layers=7, kernels=100, kernel_size=5, activation="tanh")


def test_frames_as_channels_is_for_recurrent_models_only():
    with pytest.raises(ValueError, match="^frames_as_channels: only for the recurrent models"):
        ModelConfig(model="simvp", frames_as_channels=True)
    with pytest.raises(ValueError, match="^frames_as_channels: must be true or false"):
        ModelConfig(frames_as_channels=1)


def test_unknown_model_is_refused_naming_it():
    with pytest.raises(ValueError, match="^model: unknown model 'tau'"):
        ModelConfig(model="tau")
