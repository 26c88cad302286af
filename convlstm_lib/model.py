"""The models: a stack of any recurrent cell, the fused fast ConvLSTM cell, and the registry.

`build_model(config)` builds the model that `config.model` names:

    convlstm  the paper's ConvLSTM (Equation 2, cells.ConvLSTMCell), run by FusedConvLSTMCell
    convgru   convolutional GRU (cells.ConvGRUCell)
    convrnn   plain convolutional RNN (cells.ConvRNNCell)
    simvp     a small SimVP-style feed-forward model (simvp.SimVP)

and, with `refiner` > 0, any of them frozen and corrected by a small CNN (refiner.Refined).

Every model maps x (B, T, C_in, H, W) on the [0, 1] scale to the next frame (B, 1, H, W).

The recurrent models (`RecurrentStack`):

    input frames (B, T, C_in, H, W)
      -> cell 1 -> BatchNorm2d -> cell 2 -> ... -> cell L
         (every cell returns its whole hidden sequence, T tensors (B, C, H, W); batch
          normalisation sits *between* layers, with statistics over batch, time and pixels)
      -> the last hidden state H_T of layer L, (B, C, H, W)
      -> output activation (relu or tanh: the paper's "output activation function")
      -> Conv2d(C -> 1, kernel_size)                      the paper's convlstm
         or MotionHead: the last input frame moved by a predicted displacement field, plus a
         predicted change                                 convgru, convrnn (`RESIDUAL`)
      -> predicted next frame (B, 1, H, W)

They take any T >= 1 (the paper's windows have T = 2).

Frames as channels (`ModelConfig.frames_as_channels`): the stack may instead read the T frames
as the T x C_in channels of a single time step, as the frame-4 interpolator does
(`task_models`) and SimVP does. Its first convolution then sees both frames at once, and a
window costs one step of the cells instead of T: at t = 1 the state is zero, so a ConvGRU step
is one convolution and its gates (a gated CNN), with no hidden convolutions at all. The model is
built for exactly `frames` frames. Measured on the quick profile's data (ConvGRU, tanh, RAdam
7.17e-3, batch 8, linear decay, 4 epochs on 2,400 base windows, seed 1; N6 test MSE x copy-last;
one thread a run, two runs side by side on a 2-core AMD EPYC):

    ConvGRU                         x copy-last    seconds
    3 x 16, frames as time steps    0.417           98
    3 x 16, frames as channels      0.419           42
    3 x 32, frames as channels      0.408           89
    3 x 40, frames as channels      0.407          143
    4 x 32, frames as channels      0.409          125

The same error at less than half the time, so the same minutes buy a wider stack: the final
model (`final`) reads its frames so.

The paper's ConvLSTM predicts the frame itself, as the paper built it. The models beyond the
paper (convgru, convrnn and simvp) predict how the last frame *moves and changes*
(`MotionHead`): a displacement field that warps the last input frame, plus a change added to
it, both from a convolution that starts at zero, so an untrained model is copy-last and
training moves it only where the windows show a change worth predicting. The digits drift
and turn, so the next frame is mostly the last one moved; the change term keeps the fading,
the blur and the noise. Measured on the quick-profile data, 4 epochs, N6 test MSE as a ratio
to copy-last (1.88e-3), same seed and settings:

    model (trial settings)              last frame + change   + motion (this)
    ConvGRU 2 x 12, RAdam 7.2e-3        0.56                  0.50
    ConvRNN 2 x 6, Adam 2.2e-3          0.62                  0.59

(Predicting the change instead of the frame itself, measured the round before on generator
v2's data, took ConvRNN 1 x 6 from 1.91e-3 to 1.62e-3 and SimVP 2 x 7 from 1.87e-3 to 1.50e-3.)

The fast ConvLSTM cell. `FusedConvLSTMCell` holds exactly the parameters of the reference
`cells.ConvLSTMCell` (a test checks outputs and gradients agree) and computes Equation 2
with shortcuts that change no number beyond float rounding:

* The state starts at zero (H_0 = C_0 = 0). At the first step the hidden convolutions, the
  peepholes on C_0 and the forget gate (which multiplies C_0) contribute nothing, so the
  first step runs a single convolution of X_1 with only the i, c, o rows of W_x (the gate
  rows are stored in the order i, c, o, f so that these are one contiguous slice). For a
  one-channel X_1 that convolution is one matrix product over unfolded patches.
* At later steps W_x * X_t + W_h * H_{t-1} is one convolution of concat([X_t, H_{t-1}])
  with concat([W_x, W_h]): one large convolution is faster on a CPU than two thin ones.
* The gate arithmetic after the convolution is one fused autograd function
  (`_FirstStep` at t = 1, `_Step` after), which saves the few tensors its hand-written
  backward needs instead of every intermediate, and creates no zero-filled gradient buffers.
* The hidden sequence is kept as a list of (B, C, H, W) tensors (no indexing of one time step
  out of a stacked tensor, whose backward allocates a zero tensor of the whole stack).
* Convolution weights are stored channels_last once at construction (never converted per
  call), which is the faster layout for oneDNN's CPU convolutions.

Under `torch.autocast` (mixed precision) the fused functions would see half-precision gate
inputs beside float32 state; the cell then runs the reference Equation 2 instead, which
autocast handles operation by operation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cells import ACTIVATION_FNS, CELLS, ConvLSTMCell
from .config import ACTIVATIONS, MODELS
from .refiner import Refined
from .simvp import SimVP

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


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model (the paper's search space: 1-7 layers, 1-100 kernels).

    model:        'convlstm' (the paper's), 'convgru', 'convrnn' or 'simvp' (module docstring)
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
                  of one time step instead of as time steps (module docstring, "Frames as
                  channels"); simvp always does
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


_sigmoid_backward = torch.ops.aten.sigmoid_backward  # grad * y * (1 - y), y = sigmoid(x)
_tanh_backward = torch.ops.aten.tanh_backward  # grad * (1 - y * y), y = tanh(x)


class _FirstStep(torch.autograd.Function):
    """Gate arithmetic of step t = 1 from the zero state (H_0 = C_0 = 0), fused.

    With C_0 = 0 Equation 2 reduces to  C_1 = i . tanh(z_c),  H_1 = o . tanh(C_1),
    i = sigma(z_i), o = sigma(z_o + W_co . C_1): the forget gate and the peepholes on C_0
    contribute nothing and are not computed.

    Inputs:  gates (B, 3C, H, W) = W_x * X_1 + b, blocks i, c, o;  w_co (C, H, W).
    Outputs: h (B, C, H, W), c (B, C, H, W).
    """

    @staticmethod
    def forward(ctx, gates, w_co):
        ctx.set_materialize_grads(False)
        zi, zc, zo = gates.chunk(3, dim=1)
        i = torch.sigmoid(zi)
        g = torch.tanh(zc)
        c = i * g
        o = torch.addcmul(zo, w_co, c).sigmoid_()
        tc = torch.tanh(c)
        h = o * tc
        ctx.save_for_backward(i, g, o, tc, c, w_co)
        return h, c

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        i, g, o, tc, c, w_co = ctx.saved_tensors
        d_gates = torch.empty(
            (c.shape[0], 3 * c.shape[1], *c.shape[2:]),
            dtype=c.dtype,
            device=c.device,
            memory_format=_layout(c),
        )
        d_zi, d_zc, d_zo = d_gates.chunk(3, dim=1)
        dc = _cell_grad(grad_h, grad_c, o, tc, w_co, d_zo)
        _sigmoid_backward.grad_input(dc * g, i, grad_input=d_zi)
        _tanh_backward.grad_input(dc * i, g, grad_input=d_zc)
        return d_gates, _peephole_grad(d_zo, c)


class _Step(torch.autograd.Function):
    """Gate arithmetic of one step t >= 2 of Equation 2, fused, with a hand-written backward.

    Inputs:  gates (B, 4C, H, W) = W_x * X_t + W_h * H_{t-1} + b, blocks i, c, o, f;
             c_prev = C_{t-1} (B, C, H, W); peepholes w_ci, w_cf, w_co (C, H, W).
    Outputs: h = H_t (B, C, H, W), c = C_t (B, C, H, W).
    """

    @staticmethod
    def forward(ctx, gates, c_prev, w_ci, w_cf, w_co):
        ctx.set_materialize_grads(False)
        zi, zc, zo, zf = gates.chunk(4, dim=1)
        i = torch.addcmul(zi, w_ci, c_prev).sigmoid_()
        f = torch.addcmul(zf, w_cf, c_prev).sigmoid_()
        g = torch.tanh(zc)
        c = torch.mul(f, c_prev).addcmul_(i, g)
        o = torch.addcmul(zo, w_co, c).sigmoid_()
        tc = torch.tanh(c)
        h = o * tc
        ctx.save_for_backward(i, f, g, o, tc, c, c_prev, w_ci, w_cf, w_co)
        return h, c

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        i, f, g, o, tc, c, c_prev, w_ci, w_cf, w_co = ctx.saved_tensors
        d_gates = torch.empty(
            (c.shape[0], 4 * c.shape[1], *c.shape[2:]),
            dtype=c.dtype,
            device=c.device,
            memory_format=_layout(c),
        )
        d_zi, d_zc, d_zo, d_zf = d_gates.chunk(4, dim=1)
        dc = _cell_grad(grad_h, grad_c, o, tc, w_co, d_zo)
        # C_t = f . C_{t-1} + i . g
        _sigmoid_backward.grad_input(dc * g, i, grad_input=d_zi)
        _sigmoid_backward.grad_input(dc * c_prev, f, grad_input=d_zf)
        _tanh_backward.grad_input(dc * i, g, grad_input=d_zc)
        d_cprev = (dc * f).addcmul_(d_zi, w_ci).addcmul_(d_zf, w_cf)
        return (
            d_gates,
            d_cprev,
            _peephole_grad(d_zi, c_prev),
            _peephole_grad(d_zf, c_prev),
            _peephole_grad(d_zo, c),
        )


def _layout(t: torch.Tensor) -> torch.memory_format:
    return (
        torch.channels_last if t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    )


def _peephole_grad(d_z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """dL/dW for a peephole term W . C: sum over the batch of d_z . C, shape (C, H, W).

    For channels_last tensors the batch sum is taken over the contiguous (B, H*W*C) view
    (a plain .sum(0) walks the strided layout ~20x slower) and returned in the same
    (C, H, W)-with-channels-innermost layout as the peephole parameters.
    """
    prod = d_z * c
    if prod.is_contiguous(memory_format=torch.channels_last) and not prod.is_contiguous():
        b, ch, hgt, wid = prod.shape
        return prod.permute(0, 2, 3, 1).reshape(b, -1).sum(0).view(hgt, wid, ch).permute(2, 0, 1)
    return prod.sum(0)


def _cell_grad(grad_h, grad_c, o, tc, w_co, d_zo):
    """dL/dC_t from H_t = o . tanh(C_t), o = sigma(z_o + W_co . C_t) and C_t's own gradient.

    Writes dL/dz_o into `d_zo` (a slice of the gate gradient) and returns dL/dC_t.
    """
    if grad_h is None:
        d_zo.zero_()
        dc = torch.zeros_like(tc)
    else:
        _sigmoid_backward.grad_input(grad_h * tc, o, grad_input=d_zo)
        dc = _tanh_backward(grad_h * o, tc).addcmul_(d_zo, w_co)
    return dc if grad_c is None else dc.add_(grad_c)


def _first_step_conv(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, padding: tuple[int, int]
) -> torch.Tensor:
    """W * x + b ("same" padding) for the first step's input convolution, (B, C_out, H, W).

    A one-channel input (the greyscale frames entering layer 1) runs as one matrix product
    over its unfolded k x k patches: oneDNN's direct convolution with a single input channel
    is ~2.6x slower (forward + backward, 1 -> 213 channels, batch 32: 46 ms vs 18 ms;
    benchmarks/README.md). The result comes out channels_last like the convolution's.
    """
    if x.shape[1] != 1:
        return F.conv2d(x, w, b, padding=padding)
    bsz, _, hgt, wid = x.shape
    k = w.shape[-1]
    patches = F.unfold(x, k, padding=padding).transpose(1, 2).reshape(bsz * hgt * wid, k * k)
    z = torch.addmm(b, patches, w.reshape(w.shape[0], k * k).t())  # (B*H*W, C_out)
    return z.view(bsz, hgt, wid, -1).permute(0, 3, 1, 2)


class FusedConvLSTMCell(ConvLSTMCell):
    """The reference `cells.ConvLSTMCell` (same parameters), computed by the fast path of the
    module docstring; the reference computation under autocast."""

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """xs: T tensors (B, C_in, H, W), X_1..X_T -> hs: T tensors (B, C, H, W), H_1..H_T."""
        if torch.is_autocast_enabled(xs[0].device.type):
            return super().forward(xs)
        n = self.hidden
        pad = self.conv_x.padding
        wx, wh, b = self.conv_x.weight, self.conv_h.weight, self.conv_x.bias
        # t = 1: H_0 = C_0 = 0, so only W_x* X_1 + b for the gates i, c, o matters; C_1 = i . g.
        z = _first_step_conv(xs[0], wx[: 3 * n], b[: 3 * n], pad)
        h, c = _FirstStep.apply(z, self.w_co)
        hs = [h]
        if len(xs) > 1:
            w = torch.cat((wx, wh), dim=1)  # (4C, C_in + C, k, k): one convolution per step
            for x in xs[1:]:
                z = F.conv2d(torch.cat((x, h), dim=1), w, b, padding=pad)
                h, c = _Step.apply(z, c, self.w_ci, self.w_cf, self.w_co)
                hs.append(h)
        return hs


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


def output_conv(model: nn.Module) -> nn.Conv2d:
    """The convolution that ends `model` (a MotionHead's or the plain head): tests and task
    wrappers set it, e.g. to zero."""
    head = model.head
    return head.conv if isinstance(head, MotionHead) else head


def build_model(config: ModelConfig, fused: bool = True) -> nn.Module:
    """The model `config.model` names (module docstring), freshly initialised from torch's RNG;
    wrapped in `refiner.Refined` when config.refiner > 0."""
    if config.refiner:
        return Refined(config, lambda base: build_model(base, fused))
    if config.model == "simvp":
        return SimVP(config)
    return RecurrentStack(config, fused=fused)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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
