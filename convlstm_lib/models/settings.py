"""`ModelConfig`: the architecture of one model, saved as `asdict()` in every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from convlstm_lib.config import ACTIVATIONS, MODELS
from convlstm_lib.models.cells import CELLS


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model (the paper's search space: 1-7 layers, 1-100 kernels).

    model:        'convlstm' (the paper's), 'convgru', 'convrnn' or 'simvp' (`build` says which is which)
    layers:       recurrent models: stacked cells, 1..7; simvp: translator blocks
    kernels:      recurrent models: hidden channels C of every cell, 1..100; simvp: the
                  channels of one frame's features (the translator has `frames` times more)
    kernel_size:  odd side of every convolution kernel (cells, encoder/decoder and output)
    activation:   output activation: recurrent models apply it to the last hidden state,
                  simvp to the decoder's features; 'relu' or 'tanh'
    in_channels:  channels of an input frame (1: greyscale)
    height/width: frame size; fixes the shape (C, H, W) of the peephole weights
    frames:       input frames per window T; simvp stacks them along channels and is built
                  for exactly this many, the recurrent models take any T
    refiner:      0: the model above; > 0: `refiner.Refined`, that model (frozen, reading the
                  last two frames) corrected by a CNN of this many channels reading all T frames
    frames_as_channels: recurrent models only: read the `frames` input frames as the channels
                  of one time step instead of as time steps (`stack`'s docstring); simvp
                  always does
    """

    layers: int = 4
    kernels: int = 71
    kernel_size: int = 3
    activation: str = "relu"
    in_channels: int = 1
    height: int = 36
    width: int = 36
    model: str = "convlstm"
    frames: int = 2
    refiner: int = 0
    frames_as_channels: bool = False

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: unknown model {self.model!r}; choose one of {MODELS}")
        if not 1 <= self.layers <= 7:
            raise ValueError(f"layers: must be in 1..7, got {self.layers}")
        if not 1 <= self.kernels <= 100:
            raise ValueError(f"kernels: must be in 1..100, got {self.kernels}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: must be a positive odd number, got {self.kernel_size}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation: must be one of {ACTIVATIONS}, got {self.activation!r}")
        for name in ("in_channels", "height", "width", "frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.refiner <= 100:
            raise ValueError(f"refiner: must be in 0..100 (0 = none), got {self.refiner}")
        if not isinstance(self.frames_as_channels, bool):
            raise ValueError(f"frames_as_channels: must be true or false, got {self.frames_as_channels!r}")
        if self.frames_as_channels and self.model not in CELLS:
            raise ValueError(
                f"frames_as_channels: only for the recurrent models {tuple(CELLS)}; {self.model} always"
                " reads its frames as channels"
            )

    def to_dict(self) -> dict:
        return asdict(self)

