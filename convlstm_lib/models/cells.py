"""Recurrent convolutional cells, written the way their equations read: the reference cells.

Every cell runs over a whole sequence from the zero state: `cell(xs) -> hs`, where xs are the
T input frames X_1..X_T as tensors (B, C_in, H, W) and hs the T hidden states H_1..H_T as
tensors (B, C, H, W). `stack.RecurrentStack` stacks any of them. `*` is a 2-D
convolution with "same" padding, `.` the element-wise product, sigma the logistic sigmoid.

ConvLSTM, the paper's Equation 2 (with peepholes W_c . C, one value per channel and pixel):

    i_t = sigma(W_xi * X_t + W_hi * H_{t-1} + W_ci . C_{t-1} + b_i)
    f_t = sigma(W_xf * X_t + W_hf * H_{t-1} + W_cf . C_{t-1} + b_f)
    C_t = f_t . C_{t-1} + i_t . tanh(W_xc * X_t + W_hc * H_{t-1} + b_c)
    o_t = sigma(W_xo * X_t + W_ho * H_{t-1} + W_co . C_t + b_o)
    H_t = o_t . tanh(C_t)

ConvGRU (the GRU of Cho et al. 2014 with convolutions, as in Ballas et al. 2016): two gates,
no cell state.

    z_t = sigma(W_xz * X_t + W_hz * H_{t-1} + b_z)            update gate
    r_t = sigma(W_xr * X_t + W_hr * H_{t-1} + b_r)            reset gate
    N_t = tanh(W_xn * X_t + W_hn * (r_t . H_{t-1}) + b_n)     candidate
    H_t = (1 - z_t) . H_{t-1} + z_t . N_t

ConvRNN (the plain recurrent network of the paper's Figure 1 with convolutions; the paper's
own suggestion to cut cost on short sequences):

    H_t = tanh(W_x * X_t + W_h * H_{t-1} + b)

Per step, with C hidden channels, the cells run 4C (ConvLSTM), 3C (ConvGRU) and C (ConvRNN)
output channels of convolution: the cost falls in that ratio.

The reference ConvLSTM stores its gate blocks in the order i, c, o, f (in `conv_x`, `conv_h`
and the bias) so that `fused.FusedConvLSTMCell`, its optimised twin, holds the very same
parameters: the first step's shortcut needs i, c, o as one contiguous slice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Output activations by name (config.ACTIVATIONS), applied to the features the output
# convolution reads.
ACTIVATION_FNS = {"relu": torch.relu, "tanh": torch.tanh}


def _peephole(channels: int, height: int, width: int) -> nn.Parameter:
    """A (C, H, W) peephole weight, uniform in +-0.1, laid out (H, W, C) in memory.

    Channels innermost matches the channels_last activations it multiplies (element-wise ops
    on matching layouts are faster on CPU).
    """
    w = nn.Parameter(torch.empty(height, width, channels).permute(2, 0, 1))
    nn.init.uniform_(w, -0.1, 0.1)
    return w


class RecurrentCell(nn.Module):
    """A cell over a sequence: `forward(xs)` loops `step` from the zero state (state None)."""

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, gates: int):
        super().__init__()
        self.in_channels, self.hidden = in_channels, hidden
        pad = kernel_size // 2
        self.conv_x = nn.Conv2d(in_channels, gates * hidden, kernel_size, padding=pad, bias=True)
        self.conv_h = nn.Conv2d(hidden, gates * hidden, kernel_size, padding=pad, bias=False)

    def step(self, x: torch.Tensor, state):
        """One time step: x (B, C_in, H, W), state (None at t = 1) -> (H_t, new state)."""
        raise NotImplementedError

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """xs: T tensors (B, C_in, H, W) -> T hidden states (B, C, H, W)."""
        state, hs = None, []
        for x in xs:
            h, state = self.step(x, state)
            hs.append(h)
        return hs

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.hidden, *x.shape[2:])


class ConvLSTMCell(RecurrentCell):
    """The paper's Equation 2 (module docstring), one line of code per line of the equation.

    Parameters (gate blocks in the order i, c, o, f):
        conv_x: W_x* and b_*, Conv2d(C_in -> 4C), with bias
        conv_h: W_h*,         Conv2d(C -> 4C), no bias (b_* is counted once, in conv_x)
        w_ci, w_cf, w_co: peephole weights, (C, H, W)
    The forget gate's bias starts at 1 (remember by default; Jozefowicz et al. 2015).
    """

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, height: int, width: int):
        super().__init__(in_channels, hidden, kernel_size, gates=4)
        self.w_ci = _peephole(hidden, height, width)
        self.w_cf = _peephole(hidden, height, width)
        self.w_co = _peephole(hidden, height, width)
        with torch.no_grad():
            self.conv_x.bias[3 * hidden :].fill_(1.0)

    def step(self, x, state):
        h, c = state if state is not None else (self._zeros(x), self._zeros(x))
        z = self.conv_x(x) + self.conv_h(h)
        z_i, z_c, z_o, z_f = z.split(self.hidden, dim=1)
        i = torch.sigmoid(z_i + self.w_ci * c)
        f = torch.sigmoid(z_f + self.w_cf * c)
        c = f * c + i * torch.tanh(z_c)
        o = torch.sigmoid(z_o + self.w_co * c)
        h = o * torch.tanh(c)
        return h, (h, c)


class ConvGRUCell(RecurrentCell):
    """Convolutional GRU (module docstring). Gate blocks z, r, n in conv_x (with the biases)
    and conv_h; the update gate's bias starts at -1 (lean towards keeping H_{t-1}).

    At t = 1 (H_0 = 0) the hidden convolutions contribute nothing and are skipped, so
    H_1 = z_1 . N_1 (exact, not an approximation).
    """

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, height: int, width: int):
        super().__init__(in_channels, hidden, kernel_size, gates=3)
        with torch.no_grad():
            self.conv_x.bias[:hidden].fill_(-1.0)

    def step(self, x, state):
        n_ch, pad = self.hidden, self.conv_h.padding
        x_z, x_r, x_n = self.conv_x(x).split(n_ch, dim=1)
        if state is None:
            h = torch.sigmoid(x_z) * torch.tanh(x_n)
            return h, h
        h = state
        w_zr, w_n = self.conv_h.weight.split((2 * n_ch, n_ch), dim=0)
        h_z, h_r = F.conv2d(h, w_zr, padding=pad).split(n_ch, dim=1)
        z = torch.sigmoid(x_z + h_z)
        r = torch.sigmoid(x_r + h_r)
        n = torch.tanh(x_n + F.conv2d(r * h, w_n, padding=pad))
        h = (1 - z) * h + z * n
        return h, h


class ConvRNNCell(RecurrentCell):
    """Plain convolutional RNN (module docstring): one convolution pair and a tanh per step
    (at t = 1 only W_x * X_1 + b: H_0 = 0)."""

    def __init__(self, in_channels: int, hidden: int, kernel_size: int, height: int, width: int):
        super().__init__(in_channels, hidden, kernel_size, gates=1)

    def step(self, x, state):
        z = self.conv_x(x)
        if state is not None:
            z = z + self.conv_h(state)
        h = torch.tanh(z)
        return h, h


# The recurrent model kinds, by the name `ModelConfig.model` gives them.
CELLS: dict[str, type[RecurrentCell]] = {
    "convlstm": ConvLSTMCell,
    "convgru": ConvGRUCell,
    "convrnn": ConvRNNCell,
}
