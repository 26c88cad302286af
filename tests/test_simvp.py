"""The SimVP-style model (models/simvp.py): one frame from the frames it was built for."""

from __future__ import annotations

import pytest
import torch
from test_stack import as_if_trained, small_model  # tests/ is on sys.path (pytest prepend import mode)


@pytest.mark.parametrize("frames", [2, 4])
def test_simvp_predicts_one_frame_from_the_frames_it_was_built_for(frames):
    model = as_if_trained(small_model(model="simvp", frames=frames, kernels=5))  # odd width: one group
    x = torch.rand(3, frames, 1, 36, 36)
    assert model(x).shape == (3, 1, 36, 36)
    y = x.clone()
    y[:, 0] += 0.5
    assert (model.eval()(x) - model(y)).abs().max() > 1e-6  # every input frame reaches the output


def test_simvp_handles_odd_frame_sizes():
    model = small_model(model="simvp", height=13, width=11)
    assert model(torch.rand(2, 2, 1, 13, 11)).shape == (2, 1, 13, 11)


def test_simvp_refuses_windows_of_another_length_naming_both():
    with pytest.raises(ValueError, match="built for 2 input frames, got 3"):
        small_model(model="simvp")(torch.rand(1, 3, 1, 36, 36))
