"""The motion head (models/heads.py): the models beyond the paper start at copy-last and predict
how the last frame moves and changes; the paper's ConvLSTM and frames-as-channels models do not."""

from __future__ import annotations

import pytest
import torch
from test_stack import as_if_trained, small_model  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib.models.heads import MotionHead, output_conv


@pytest.mark.parametrize("kind", ["convgru", "convrnn", "simvp"])
def test_models_beyond_the_paper_start_at_copy_last_and_predict_the_change(kind):
    """Untrained, they return the last input frame (to float rounding); a trained output convolution is
    added to it (the change), not a frame of its own."""
    model = small_model(model=kind, kernels=4).eval()
    x = torch.rand(2, 2, 1, 36, 36)
    assert torch.allclose(model(x), x[:, -1], atol=1e-5)  # no motion or change learned: copy-last
    as_if_trained(model)
    with torch.no_grad():
        change = model(x) - x[:, -1]
        output_conv(model).weight.zero_()
        output_conv(model).bias.copy_(torch.tensor([0.0, 0.0, 0.125]))  # no motion, a uniform change
    assert change.abs().max() > 1e-3
    assert torch.allclose(model(x), x[:, -1] + 0.125, atol=1e-5)
    with torch.no_grad():
        output_conv(model).bias.copy_(torch.tensor([1.0, 0.0, 0.0]))  # u = 1 px: read one pixel right
    assert torch.allclose(model(x)[..., :-1], x[:, -1, ..., 1:], atol=1e-5)


def test_motion_head_moves_the_last_frame_by_the_predicted_field():
    """next(y, x) = last(y + v, x + u) + change: whole-pixel moves are exact shifts, half a pixel
    is the mean of two neighbours, what comes from outside the frame is 0; and at its zero start
    the loss has a gradient along the motion (a drift can be learned)."""
    head = MotionHead(channels=2, kernel_size=3, height=6, width=5)
    last = torch.rand(1, 1, 6, 5)
    features = torch.rand(1, 2, 6, 5)
    with torch.no_grad():
        head.conv.bias.copy_(torch.tensor([0.0, -2.0, 0.0]))  # v = -2: the content moved 2 px down
    moved = head(features, last)
    assert torch.allclose(moved[..., 2:, :], last[..., :-2, :], atol=1e-6)
    assert torch.equal(moved[..., :2, :], torch.zeros(1, 1, 2, 5))
    with torch.no_grad():
        head.conv.bias.copy_(torch.tensor([0.5, 0.0, 0.0]))
    expected = 0.5 * (last[..., :-1] + last[..., 1:])
    assert torch.allclose(head(features, last)[..., :-1], expected, atol=1e-6)
    fresh = MotionHead(channels=2, kernel_size=3, height=6, width=9)
    column = torch.arange(9.0)
    blob = torch.exp(-0.5 * (column - 4) ** 2 / 1.5**2).expand(1, 1, 6, 9)
    moved_left = torch.exp(-0.5 * (column - 3) ** 2 / 1.5**2).expand(1, 1, 6, 9)
    torch.nn.functional.mse_loss(fresh(torch.rand(1, 2, 6, 9), blob), moved_left).backward()
    assert fresh.conv.bias.grad[0] < -1e-3  # descent raises u: each pixel reads further right


def test_the_papers_convlstm_predicts_the_frame_itself():
    model = small_model(model="convlstm", kernels=4).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(0.25)
    assert torch.allclose(model(torch.rand(2, 2, 1, 36, 36)), torch.full((2, 1, 36, 36), 0.25))


def test_frames_as_channels_have_no_skip_of_their_own():
    """With 4 frames as channels (the interpolator's inner model) the skip is the task's."""
    for kind in ("convgru", "simvp"):
        channels = small_model(model=kind, in_channels=4, frames=1, kernels=4).eval()
        torch.nn.init.zeros_(channels.head.weight)
        torch.nn.init.zeros_(channels.head.bias)
        assert channels(torch.rand(2, 1, 4, 36, 36)).abs().max() == 0, kind
