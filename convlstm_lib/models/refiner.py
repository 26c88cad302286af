"""A refined predictor: a frozen base model's next frame, corrected by a small CNN that reads more.

The quick profile trains every sweep model for a few epochs only, and the trained ConvLSTM's
prediction keeps systematic errors (a frame too soft, a shift too short) that a cheap
convolutional network can learn to remove once the expensive recurrent part is fixed. The
frame-16 study (`task_study.frame16_study`) uses this to ask its question fairly: every
context length L gets the *same* recipe on top of the *same* base model, so the rows differ
only in how many past frames the correction may read.

For a window x (B, L, C_in, H, W), [0, 1] scale:

    base      = the base model (`config` with refiner = 0) on the last `BASE_FRAMES` frames
                -> (B, 1, H, W); its weights come from a trained checkpoint and stay frozen
                (no gradient; batch normalisation kept in eval mode)
    features  = concat(the L frames' channels, base)                 (B, L*C_in + 1, H, W)
    refined   = base + Conv3x3(ReLU(Conv3x3(ReLU(Conv3x3(features)))))
                with `config.refiner` channels in the two hidden layers

The last convolution starts at zero, so an untrained refined model predicts exactly what its
base model predicts: training can only start from the base model's error. Refining beat
fine-tuning the recurrent model on longer windows (benchmarks/README.md, "The frame-16 contexts").
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

BASE_FRAMES = 2  # the base model reads the paper's two frames before the target


class Refined(nn.Module):
    """Frozen base model + zero-initialised correction CNN (module docstring).

    forward(x): x (B, L, C_in, H, W) with L >= BASE_FRAMES -> (B, 1, H, W).
    """

    def __init__(self, config, build_base):
        super().__init__()
        if config.frames < BASE_FRAMES:
            raise ValueError(f"frames: a refined model reads >= {BASE_FRAMES} frames, got {config.frames}")
        self.config = config
        self.base = build_base(replace(config, refiner=0, frames=BASE_FRAMES))
        self.base.requires_grad_(False)
        width = config.refiner
        self.correction = nn.Sequential(
            nn.Conv2d(config.frames * config.in_channels + 1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 1, 3, padding=1),
        )
        nn.init.zeros_(self.correction[-1].weight)
        nn.init.zeros_(self.correction[-1].bias)

    def train(self, mode: bool = True) -> Refined:
        super().train(mode)
        self.base.eval()  # frozen: its batch-norm statistics never move
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != self.config.frames:
            raise ValueError(
                f"x: expected (B, {self.config.frames}, C, H, W) for this refined model,"
                f" got shape {tuple(x.shape)}"
            )
        with torch.no_grad():
            base = self.base(x[:, -BASE_FRAMES:])  # (B, 1, H, W)
        frames = x.flatten(1, 2)  # (B, L*C_in, H, W)
        return base + self.correction(torch.cat([frames, base], dim=1))

    def load_base(self, state: dict[str, torch.Tensor]) -> None:
        """Take the base model's weights from a trained model's state_dict (same architecture)."""
        self.base.load_state_dict(state)
