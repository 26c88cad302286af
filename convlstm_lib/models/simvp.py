"""A small SimVP-style model: no recurrence, the input frames stacked along channels.

After the two SimVP papers the report names as future work:
[4] Gao et al., "SimVP: Simpler yet Better Video Prediction", CVPR 2022, and
[11] Tan et al., "SimVP: Towards Simple yet Powerful Spatiotemporal Predictive Learning",
arXiv:2211.12509 (2022). Both build a video predictor from three convolutional parts,

    spatial encoder  ->  temporal translator  ->  spatial decoder,

and fold time into channels: the encoder sees each frame alone, the translator sees the T
frames' features stacked as T x C channels, so one 2-D convolution mixes time and space.

This model, for x (B, T, C_in, H, W) -> the next frame (B, 1, H, W), with K = config.kernels:

    encoder (each frame alone; frames folded into the batch), as SimVP's ConvSC blocks:
        Conv k x k (C_in -> K), GroupNorm, SiLU              -> skip (B*T, K, H, W)
        Conv k x k (K -> K), stride 2, GroupNorm, SiLU       -> (B*T, K, H/2, W/2)
    translator over the stacked frames (B, T*K, H/2, W/2): config.layers gated blocks after
        [11]'s gSTA (gated spatiotemporal attention), each
            y = BatchNorm(z)
            a = Conv1x1(DWConv 7x7(DWConv 5x5(y)))            (large-kernel attention)
            z = z + Conv1x1(sigmoid(a_gate) . SiLU(a_value))  (a split in two halves)
        The two depthwise convolutions see 11 x 11 pixels of the half-resolution map (22 x 22
        of the frame) per block. gSTA's third, dilated depthwise convolution is left out:
        oneDNN runs dilated depthwise convolutions an order of magnitude slower on a CPU
        (benchmarks/README.md, "SimVP's translator"), and two blocks already see the whole frame.
    decoder (one output frame), as SimVP's ConvSC blocks with PixelShuffle up-sampling [11]:
        Conv1x1 (T*K -> K)                                   the translator's frames -> one
        Conv k x k (K -> 4K), PixelShuffle(2), GroupNorm, SiLU -> (B, K, H, W)
        + the encoder's full-resolution features of the last frame (SimVP's skip connection)
        output activation (config.activation), then on one-channel frames `heads.MotionHead`
        with a 1 x 1 convolution: the last input frame moved by a predicted displacement field
        plus a predicted change (frames as channels: Conv1x1 (K -> 1), a correction)

Differences from the papers, by design for 36 x 36 greyscale frames on a CPU: the output is
the last input frame moved and changed, from a convolution that starts at zero, so an untrained
model is copy-last and the network learns the motion and change between frames (the papers
predict frames directly over hundreds of epochs, the quick profile trains for a few:
benchmarks/README.md, "The motion head"; windows whose frames arrive as channels, the
interpolator's, get their skip from `build.FramesAsChannels` instead); one down-sampling stage
(the papers use two to four), a single output frame, and gSTA's feed-forward half and its
drop-path left out. The translator is built for T = config.frames input frames (the papers fix
T too); a window of another length is refused with a ValueError that names both lengths.
"""

from __future__ import annotations

import torch
from torch import nn

from convlstm_lib.models.cells import ACTIVATION_FNS
from convlstm_lib.models.heads import MotionHead


def _groups(channels: int) -> int:
    return 2 if channels % 2 == 0 else 1


class _ConvBlock(nn.Sequential):
    """SimVP's ConvSC: convolution (optionally strided, or followed by PixelShuffle), GroupNorm, SiLU."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1, upsample: bool = False):
        layers: list[nn.Module] = []
        if upsample:
            layers += [nn.Conv2d(cin, 4 * cout, kernel_size, padding=kernel_size // 2), nn.PixelShuffle(2)]
        else:
            layers.append(nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2))
        layers += [nn.GroupNorm(_groups(cout), cout), nn.SiLU()]
        super().__init__(*layers)


class GatedTranslatorBlock(nn.Module):
    """One translator block after gSTA [11] (module docstring), channels in = channels out."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.local = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.wide = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.mix = nn.Conv2d(channels, 2 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        gate, value = self.mix(self.wide(self.local(self.norm(z)))).chunk(2, dim=1)
        return z + self.out(torch.sigmoid(gate) * nn.functional.silu(value))


class SimVP(nn.Module):
    """Encoder, translator over stacked frames, decoder (module docstring).

    forward(x): x (B, T, C_in, H, W), T == config.frames, [0, 1] scale -> (B, 1, H, W).
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        k, ks, frames = config.kernels, config.kernel_size, config.frames
        self.encode_full = _ConvBlock(config.in_channels, k, ks)
        self.encode_half = _ConvBlock(k, k, ks, stride=2)
        self.translator = nn.Sequential(*(GatedTranslatorBlock(frames * k) for _ in range(config.layers)))
        self.merge = nn.Conv2d(frames * k, k, 1)
        self.decode = _ConvBlock(k, k, ks, upsample=True)
        self.activation = ACTIVATION_FNS[config.activation]
        # One-channel frames: the last frame moved and changed (`heads.MotionHead`); frames as
        # channels (the interpolator's): a correction to the task's neighbour mean. Either starts
        # at exactly zero, so an untrained model is copy-last (or the neighbour mean) and training
        # moves it only where the windows show a change worth predicting.
        self.motion = config.in_channels == 1
        if self.motion:
            self.head = MotionHead(k, 1, config.height, config.width)
        else:
            self.head = nn.Conv2d(k, 1, 1)
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5:
            raise ValueError(f"x: expected (B, T, C, H, W), got shape {tuple(x.shape)}")
        b, t, c, h, w = x.shape
        if t != self.config.frames:
            raise ValueError(f"x: this simvp model was built for {self.config.frames} input frames, got {t}")
        frames = x.reshape(b * t, c, h, w).contiguous(memory_format=torch.channels_last)
        skip = self.encode_full(frames)  # (B*T, K, H, W)
        z = self.encode_half(skip)  # (B*T, K, H', W')
        z = self.translator(z.reshape(b, t * z.shape[1], *z.shape[2:]))  # (B, T*K, H', W')
        y = self.decode(self.merge(z))[..., :h, :w]  # (B, K, H, W)
        y = y + skip.reshape(b, t, *skip.shape[1:])[:, -1]
        if self.motion:
            return self.head(self.activation(y), x[:, -1])  # (B, 1, H, W)
        return self.head(self.activation(y))
