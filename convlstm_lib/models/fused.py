"""The fast ConvLSTM cell: the paper's Equation 2 with exact shortcuts (no number changes).

`FusedConvLSTMCell` holds exactly the parameters of the reference `cells.ConvLSTMCell` (a test
checks outputs and gradients agree) and computes Equation 2 with shortcuts that change no number
beyond float rounding:

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
autocast handles operation by operation. Speed: `benchmarks/train_step.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convlstm_lib.models.cells import ConvLSTMCell

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
    over its unfolded k x k patches: oneDNN's direct convolution is slow with a single input
    channel (benchmarks/README.md, "Training-step speed"). The result comes out channels_last
    like the convolution's.
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
