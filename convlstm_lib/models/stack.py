"""The recurrent models: a stack of any recurrent cell with batch normalisation between layers.

    input frames (B, T, C_in, H, W)
      -> cell 1 -> BatchNorm2d -> cell 2 -> ... -> cell L
         (every cell returns its whole hidden sequence, T tensors (B, C, H, W); batch
          normalisation sits *between* layers, with statistics over batch, time and pixels)
      -> the last hidden state H_T of layer L, (B, C, H, W)
      -> output activation (relu or tanh: the paper's "output activation function")
      -> Conv2d(C -> 1, kernel_size)                      the paper's convlstm
         or `heads.MotionHead`: the last input frame moved by a predicted displacement
         field, plus a predicted change                  convgru, convrnn (`heads.RESIDUAL`)
      -> predicted next frame (B, 1, H, W)

The stack takes any T >= 1 (the paper's windows have T = 2). The convlstm cell runs through its
fused twin (`fused.FusedConvLSTMCell`), the others as written in `cells`.

Frames as channels (`ModelConfig.frames_as_channels`): the stack may instead read the T frames
as the T x C_in channels of a single time step, as the frame-4 interpolator and SimVP do. Its
first convolution then sees both frames at once, and a window costs one step of the cells
instead of T: at t = 1 the state is zero, so a ConvGRU step is one convolution and its gates (a
gated CNN), with no hidden convolutions at all. The model is built for exactly `frames` frames.
The same error at less than half the time (benchmarks/README.md, "Frames as channels").
"""

from __future__ import annotations

import torch
from torch import nn

from convlstm_lib.models.cells import ACTIVATION_FNS, CELLS
from convlstm_lib.models.fused import FusedConvLSTMCell
from convlstm_lib.models.heads import RESIDUAL, MotionHead
from convlstm_lib.models.settings import ModelConfig


class RecurrentStack(nn.Module):
    """Stacked recurrent cells with batch normalisation between them, and the predictor.

    forward(x): x (B, T, C_in, H, W) on the [0, 1] scale -> next frame (B, 1, H, W); with
    config.frames_as_channels the stack reads x as one time step (B, 1, T * C_in, H, W), and
    T must be config.frames.
    The cell is `cells.CELLS[config.model]`; for 'convlstm' its fused twin unless
    `fused=False` (the reference, for tests and benchmarks: same parameter names).
    """

    def __init__(self, config: ModelConfig, fused: bool = True):
        super().__init__()
        if config.model not in CELLS:
            raise ValueError(
                f"model: {config.model!r} is not a recurrent model; choose one of {tuple(CELLS)}"
            )
        self.config = config
        cell = FusedConvLSTMCell if fused and config.model == "convlstm" else CELLS[config.model]
        k = config.kernels
        # Frames as channels: one time step of T x C_in channels (module docstring).
        c_in = config.in_channels * (config.frames if config.frames_as_channels else 1)
        self.cells = nn.ModuleList(
            cell(c_in if layer == 0 else k, k, config.kernel_size, config.height, config.width)
            for layer in range(config.layers)
        )
        self.norms = nn.ModuleList(nn.BatchNorm2d(k) for _ in range(config.layers - 1))
        self.activation = ACTIVATION_FNS[config.activation]
        self.residual = config.model in RESIDUAL and config.in_channels == 1
        if self.residual:
            self.head = MotionHead(k, config.kernel_size, config.height, config.width)
        else:
            self.head = nn.Conv2d(k, 1, config.kernel_size, padding=config.kernel_size // 2)
        # Store 4-D weights channels_last once; oneDNN's CPU convolutions are faster in it.
        self.to(memory_format=torch.channels_last)

    def hidden_sequence(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, T, C_in, H, W) -> the last layer's hidden states, T tensors (B, C, H, W)."""
        if x.ndim != 5:
            raise ValueError(f"x: expected (B, T, C, H, W), got shape {tuple(x.shape)}")
        if self.config.frames_as_channels:
            if x.shape[1] != self.config.frames:
                raise ValueError(
                    f"x: this model reads its {self.config.frames} frames as channels,"
                    f" got {x.shape[1]} frames"
                )
            x = x.flatten(1, 2).unsqueeze(1)  # (B, 1, T * C_in, H, W): one time step
        steps = x.shape[1]
        xs = [t.contiguous(memory_format=torch.channels_last) for t in x.unbind(1)]
        for layer, cell in enumerate(self.cells):
            xs = cell(xs)
            if layer < len(self.norms):
                # Batch norm between layers: statistics over batch, time steps and pixels.
                xs = list(self.norms[layer](torch.cat(xs, dim=0)).chunk(steps, dim=0))
        return xs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C_in, H, W) -> predicted frame T+1, (B, 1, H, W)."""
        h_last = self.hidden_sequence(x)[-1]
        if self.residual:
            return self.head(self.activation(h_last), x[:, -1])
        return self.head(self.activation(h_last))


def train_step_flops(config: ModelConfig, steps: int = 2) -> float:
    """FLOPs of one training sample (forward + backward ~ 3x forward) of plain Equation 2.

    Counts the multiply-adds (x2) of every convolution of the straightforward implementation
    (one convolution over concat([X_t, H_{t-1}]) per layer and step, plus the head); used to
    report achieved GFLOP/s on the same yardstick for every implementation.
    """
    pixels = config.height * config.width
    taps = config.kernel_size**2
    k = config.kernels
    fwd = 0.0
    for layer in range(config.layers):
        cin = config.in_channels if layer == 0 else k
        fwd += steps * 2.0 * (cin + k) * 4 * k * taps * pixels
    fwd += 2.0 * k * taps * pixels
    return 3.0 * fwd
