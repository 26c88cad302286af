"""`TrainConfig` (training/settings.py): every bad value refused naming its field, every torch.optim
optimiser by name, the jump targets dropped only where a target follows one transition."""
from __future__ import annotations

import math

import pytest

from convlstm_lib.training.settings import TrainConfig, optimizer_names


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "raw"),
        ("lr", 0.0),
        ("lr", math.nan),
        ("batch_size", 0),
        ("epochs", 0),
        ("optimizer", "Adamm"),
        ("max_train_windows", -1),
        ("lr_schedule", "cosine"),
        ("precision", "fp16"),
        ("task", "sideways-2"),
        ("collapse_std", -1.0),
    ],
)
def test_train_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        TrainConfig(**{field: value})


def test_every_paper_optimizer_is_available_by_name():
    from convlstm_lib.config import PAPER_OPTIMIZERS

    assert set(PAPER_OPTIMIZERS) <= set(optimizer_names())


def test_drop_jump_targets_is_for_extrapolation_only():
    assert TrainConfig(task="extrapolate-4", drop_jump_targets=True).drop_jump_targets
    with pytest.raises(ValueError, match="^drop_jump_targets: only for extrapolation.*interpolate-2"):
        TrainConfig(task="interpolate-2", drop_jump_targets=True)
    with pytest.raises(ValueError, match="^drop_jump_targets: must be true or false"):
        TrainConfig(drop_jump_targets="yes")
