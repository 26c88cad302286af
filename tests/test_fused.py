"""The fused ConvLSTM cell (models/fused.py): the same outputs and gradients as the reference
Equation 2 with the same weights, and its one-channel first-step convolution equal to conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_stack import reference_of, small_model  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib.models import cells
from convlstm_lib.models.fused import FusedConvLSTMCell, _first_step_conv


@pytest.mark.parametrize(
    "config",
    [
        dict(layers=2, kernels=6),
        dict(layers=3, kernels=4, kernel_size=5, activation="tanh"),
        dict(layers=1, kernels=3),
    ],
)
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_fused_convlstm_equals_the_reference_equation_2(config, steps):
    """Same weights in the fused cell and cells.ConvLSTMCell: same outputs and gradients."""
    model = small_model(**config)
    assert isinstance(model.cells[0], FusedConvLSTMCell)
    ref = reference_of(model)
    assert type(ref.cells[0]) is cells.ConvLSTMCell
    x, y = torch.rand(4, steps, 1, 36, 36), torch.rand(4, 1, 36, 36)
    outs = []
    for net in (model, ref):
        out = net(x)
        F.mse_loss(out, y).backward()
        outs.append(out.detach())
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-4)
    grads = dict(ref.named_parameters())
    # With T = 1 the fused cell skips the hidden convolution and the peepholes on C_0 = 0: no
    # gradient; the reference computes them and gets exactly zero.
    mine = {name: torch.zeros_like(p) if p.grad is None else p.grad for name, p in model.named_parameters()}
    scale = max(float(g.abs().max()) for g in mine.values())
    for name, grad in mine.items():
        assert float((grad - grads[name].grad).abs().max()) <= 1e-5 * max(scale, 1.0), name
    model.eval(), ref.eval()  # and with batch norm's running statistics
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), atol=1e-5, rtol=1e-4)


def test_reference_comparison_can_fail():
    """The comparison above is not vacuous: a perturbed forget-gate peephole changes the output."""
    model = small_model()
    ref = reference_of(model)
    with torch.no_grad():
        ref.cells[0].w_cf.add_(0.5)
    x = torch.rand(2, 3, 1, 36, 36)
    assert (model(x) - ref(x)).abs().max() > 1e-5


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_one_channel_first_step_convolution_equals_conv2d(kernel_size):
    """The matrix-product path for one input channel: same values and gradients as F.conv2d."""

    torch.manual_seed(0)
    pad = (kernel_size // 2, kernel_size // 2)
    x = torch.rand(3, 1, 9, 7)
    w = torch.randn(12, 1, kernel_size, kernel_size, requires_grad=True)
    b = torch.randn(12, requires_grad=True)
    grad_out = torch.randn(3, 12, 9, 7)
    mine, ref = _first_step_conv(x, w, b, pad), F.conv2d(x, w, b, padding=pad)
    assert mine.shape == ref.shape and mine.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-5)
    for got, want in zip(
        torch.autograd.grad(mine, (w, b), grad_out), torch.autograd.grad(ref, (w, b), grad_out), strict=True
    ):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-5)
