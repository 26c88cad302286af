"""Output heads of the models beyond the paper: the last input frame moved and changed.

The paper's ConvLSTM predicts the frame itself through one output convolution. The other kinds
(`RESIDUAL`, and SimVP) predict how the last input frame *moves and changes*: a displacement
field warps the last frame and a change is added to it, both from a convolution that starts at
zero, so an untrained model is copy-last and training moves it only where the windows show a
change worth predicting. The digits drift and turn, so the next frame is mostly the last one
moved; the change term keeps the fading, the blur and the noise. Measured against predicting
the frame, and the change alone: benchmarks/README.md, "The motion head".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# The recurrent models that predict how the last input frame moves and changes (`MotionHead`);
# the paper's convlstm predicts the frame itself.
RESIDUAL: tuple[str, ...] = ("convgru", "convrnn")


class MotionHead(nn.Module):
    """Features (B, C, H, W) and the last input frame (B, 1, H, W) -> the next frame (B, 1, H, W):

        u, v, change = Conv2d(C -> 3, kernel_size)(features)     u, v in px, change on [0, 1]
        next(y, x)   = last(y + v, x + u) + change(y, x)          bilinear; outside the frame: 0

    Each output pixel reads the last frame where its content was one step earlier (a backward
    warp), so a digit drifting right by 0.8 px is u = -0.8 everywhere on it. The convolution
    starts at zero: no motion and no change, an untrained model is copy-last (to float rounding
    of the sampling grid, a few 1e-6).
    """

    def __init__(self, channels: int, kernel_size: int, height: int, width: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, 3, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        # Pixel centres in grid_sample's [-1, 1] coordinates (align_corners=True: -1 and 1 are the
        # centres of the first and last pixels), and px -> those units per axis, as (x, y).
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack((xs, ys), dim=-1)[None], persistent=False)  # (1, H, W, 2)
        px = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)])
        self.register_buffer("px", px, persistent=False)

    def forward(self, features: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        out = self.conv(features).float()  # (B, 3, H, W)
        flow = out[:, :2].permute(0, 2, 3, 1) * self.px  # (B, H, W, 2) as (u, v)
        moved = F.grid_sample(last.float(), self.grid + flow, mode="bilinear", padding_mode="zeros",
                              align_corners=True)
        return moved + out[:, 2:3]



def output_conv(model: nn.Module) -> nn.Conv2d:
    """The convolution that ends `model` (a MotionHead's or the plain head): tests and task
    wrappers set it, e.g. to zero."""
    head = model.head
    return head.conv if isinstance(head, MotionHead) else head

