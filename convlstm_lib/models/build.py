"""The one model builder: a `ModelConfig` and a task (`tasks.Task`) -> a freshly initialised network.

Every path that makes a network goes through `build_model`: training, checkpoints, predict,
the multi-process runs and the task study. It picks the model `config.model` names,

    convlstm  the paper's ConvLSTM (Equation 2), `stack.RecurrentStack` of the fused cell
    convgru   convolutional GRU (`cells.ConvGRUCell`) in a `stack.RecurrentStack`
    convrnn   plain convolutional RNN (`cells.ConvRNNCell`) in a `stack.RecurrentStack`
    simvp     a small SimVP-style feed-forward model (`simvp.SimVP`)

wraps it in `refiner.Refined` when `config.refiner` > 0, and adapts it to the task:

* extrapolation (any context): the model as it is; it reads the L frames as L time steps.
* interpolation: `FramesAsChannels`. The window's frames t-2, t-1, t+2, t+1 enter the stack as
  the four channels of a single time step, so the first convolution sees both sides of the
  target at once, and the output is added to the mean of frames t-1 and t+1: the network learns
  the correction to that mean (motion and blur), not the whole image. Of the three designs
  measured (a sequence through the stack, a bidirectional stack, frames as channels) this one
  reached the lowest error at a fraction of the cost (benchmarks/README.md, "The interpolator").

`model_config_for(config, task)` gives the config a task's network is built from (and saved
with); `build_model` refuses a config that does not fit its task.
"""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from convlstm_lib.data.tasks import PAPER_TASK, Task
from convlstm_lib.models.heads import output_conv
from convlstm_lib.models.refiner import Refined
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.simvp import SimVP
from convlstm_lib.models.stack import RecurrentStack


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


def build_model(
    config: ModelConfig, task: Task | str = PAPER_TASK, *, seed: int | None = None, fused: bool = True
) -> nn.Module:
    """The network for `task` from `config` (module docstring).

    seed: None draws the initial weights from torch's global RNG; an int draws them from that
    seed alone (the global RNG untouched), so the same seed gives the same weights.
    fused: False runs the convlstm through the reference cell (tests and benchmarks).
    ValueError when the config does not fit the task.
    """
    task = Task.parse(task) if isinstance(task, str) else task
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_model(config, task, fused=fused)
    if task.kind == "interpolate":
        if config.refiner:
            raise ValueError(
                f"model_cfg: refiner {config.refiner}, but task {task.name} has no refined model"
            )
        if config.in_channels != task.frames_in:
            raise ValueError(
                f"model_cfg: in_channels {config.in_channels}, task {task.name} reads"
                f" {task.frames_in} frames as channels (use build.model_config_for)"
            )
        return FramesAsChannels(_network(config, fused), task)
    return _network(config, fused)


def _network(config: ModelConfig, fused: bool) -> nn.Module:
    """The model `config.model` names, refined when config.refiner > 0."""
    if config.refiner:
        return Refined(config, lambda base: _network(base, fused))
    if config.model == "simvp":
        return SimVP(config)
    return RecurrentStack(config, fused=fused)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
