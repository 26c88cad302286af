"""How a model reads a task's windows (`tasks.Task`): the one place a task changes the network.

* extrapolation (any context): the paper's stack as it is; it reads the L frames as L time steps.
* interpolation: `FramesAsChannels`. The window's frames t-2, t-1, t+2, t+1 enter the stack as
  the four channels of a single time step, so the first convolution sees both sides of the
  target at once, and the output is added to the mean of frames t-1 and t+1: the network learns
  the correction to that mean (motion and blur), not the whole image.

Chosen by measurement among the three designs issue 14 named (frame 4, quick-profile data,
2 layers x 12 kernels, Adam 3e-3, batch 32, 2 epochs on 1,200 windows; per-pixel MSE on the
[0, 1] scale, with the wall time of an epoch beside it; see notebook 04): the frames as a
sequence t-2, t-1, t+2, t+1 through the stack, a bidirectional stack (one pass over the past,
one over the future, last hidden states concatenated before the output convolution), and the
frames as channels. As channels the model reached the lowest error at a fraction of the cost:
one time step instead of four. The skip to the neighbour mean makes an untrained model start
from the mean of frames 3 and 5 instead of from noise.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from .model import ModelConfig, build_model, output_conv
from .tasks import PAPER_TASK, Task


class FramesAsChannels(nn.Module):
    """An interpolation window (B, 2L, 1, H, W), frames in reading order (`tasks.Task`), read as
    one time step of 2L channels; predicts the frame between them, (B, 1, H, W), as the mean of
    the two frames next to it plus the stack's output."""

    def __init__(self, inner: nn.Module, task: Task):
        super().__init__()
        self.inner = inner
        self.before, self.after = task.context - 1, task.frames_in - 1  # t-1 and t+1 in reading order
        # The stack's output is a correction to the neighbour mean: it starts at exactly zero, so an
        # untrained interpolator is the mean of frames t-1 and t+1.
        nn.init.zeros_(output_conv(inner).weight)
        nn.init.zeros_(output_conv(inner).bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[2] != 1:
            raise ValueError(f"x: expected (B, L, 1, H, W), got shape {tuple(x.shape)}")
        mean = 0.5 * (x[:, self.before] + x[:, self.after])  # (B, 1, H, W)
        return self.inner(x.transpose(1, 2)) + mean


def model_config_for(model_cfg: ModelConfig, task: Task) -> ModelConfig:
    """The ModelConfig a task's model is built from: an interpolation stack takes the window's
    frames as input channels of one time step; an extrapolation model reads them as time steps
    (`frames`: simvp is built for that many)."""
    if task.kind == "interpolate":
        return replace(model_cfg, in_channels=task.frames_in, frames=1)
    return replace(model_cfg, frames=task.frames_in)


def build(model_cfg: ModelConfig, task: Task = PAPER_TASK) -> nn.Module:
    """The network for `task` from `model_cfg` (as `model_config_for` gives it); ValueError when
    the config does not fit the task."""
    if task.kind == "interpolate":
        if model_cfg.refiner:
            raise ValueError(
                f"model_cfg: refiner {model_cfg.refiner}, but task {task.name} has no refined model"
            )
        if model_cfg.in_channels != task.frames_in:
            raise ValueError(
                f"model_cfg: in_channels {model_cfg.in_channels}, task {task.name} reads"
                f" {task.frames_in} frames as channels (use task_models.model_config_for)"
            )
        return FramesAsChannels(build_model(model_cfg), task)
    return build_model(model_cfg)
