"""ConvLSTM (Equation 2): configuration, shapes, gradients, peepholes, fast path == plain path."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from benchmarks import naive_convlstm  # the repository root is on pytest's pythonpath (pyproject.toml)
from convlstm_lib.model import ConvLSTM, ModelConfig, count_parameters, train_step_flops


def _model(seed: int = 0, **kw) -> ConvLSTM:
    torch.manual_seed(seed)
    return ConvLSTM(ModelConfig(**{"layers": 2, "kernels": 6, **kw}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("layers", 0),
        ("layers", 8),
        ("kernels", 0),
        ("kernels", 101),
        ("kernel_size", 4),
        ("kernel_size", 0),
        ("activation", "sigmoid"),
        ("height", 0),
    ],
)
def test_model_config_rejects_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        ModelConfig(**{field: value})


def test_model_config_accepts_the_paper_range_limits():
    ModelConfig(layers=1, kernels=1)
    ModelConfig(layers=7, kernels=100, kernel_size=5, activation="tanh")


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_output_shape_is_one_frame_per_window(steps):
    model = _model()
    assert model(torch.rand(3, steps, 1, 36, 36)).shape == (3, 1, 36, 36)


def test_input_must_be_five_dimensional():
    with pytest.raises(ValueError, match="x: expected"):
        _model()(torch.rand(3, 2, 36, 36))


def test_peephole_weights_have_one_value_per_channel_and_pixel():
    cell = _model(kernels=5).cells[0]
    for name in ("w_ci", "w_cf", "w_co"):
        assert getattr(cell, name).shape == (5, 36, 36)


def test_every_parameter_receives_a_gradient():
    model = _model(layers=3)
    F.mse_loss(model(torch.rand(4, 2, 1, 36, 36)), torch.rand(4, 1, 36, 36)).backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not dead, f"parameters without gradient: {dead}"


@pytest.mark.parametrize("name", ["w_ci", "w_cf", "w_co"])
def test_each_peephole_changes_the_output(name):
    model = _model().eval()
    x = torch.rand(2, 2, 1, 36, 36)
    before = model(x)
    with torch.no_grad():
        for cell in model.cells:
            getattr(cell, name).zero_()
    assert (model(x) - before).abs().max() > 1e-6


def test_activation_changes_the_prediction():
    x = torch.rand(2, 2, 1, 36, 36)
    relu, tanh = _model(activation="relu").eval(), _model(activation="tanh").eval()
    assert (relu(x) - tanh(x)).abs().max() > 1e-6


@pytest.mark.parametrize(
    "config",
    [
        dict(layers=2, kernels=6),
        dict(layers=3, kernels=4, kernel_size=5, activation="tanh"),
        dict(layers=1, kernels=3),
    ],
)
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_fast_path_equals_plain_equation_2(config, steps):
    """Same weights in model.ConvLSTM and benchmarks/naive_convlstm.py: same outputs and gradients."""
    model = _model(**config)
    naive = naive_convlstm.NaiveConvLSTM.from_model(model)
    x, y = torch.rand(4, steps, 1, 36, 36), torch.rand(4, 1, 36, 36)
    outs = []
    for net in (model, naive):
        out = net(x)
        F.mse_loss(out, y).backward()
        outs.append(out.detach())
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-4)
    theirs = naive.gradients_as_model(model)
    # With T = 1 the hidden convolution and the peepholes on C_0 = 0 are skipped: no gradient (= 0).
    mine = {name: torch.zeros_like(p) if p.grad is None else p.grad for name, p in model.named_parameters()}
    scale = max(float(g.abs().max()) for g in mine.values())
    for name, grad in mine.items():
        assert float((grad - theirs[name]).abs().max()) <= 1e-4 * scale, name
    # and in eval mode (batch-norm running statistics)
    model.eval(), naive.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), naive(x), atol=1e-5, rtol=1e-4)


def test_naive_reference_is_not_trivially_equal():
    """The comparison above can fail: a perturbed naive model disagrees."""
    model = _model()
    naive = naive_convlstm.NaiveConvLSTM.from_model(model)
    with torch.no_grad():
        naive.cells[0].w_cf.add_(0.5)
    x = torch.rand(2, 2, 1, 36, 36)
    assert (model(x) - naive(x)).abs().max() > 1e-5


def test_same_seed_same_weights():
    a, b, c = _model(seed=1), _model(seed=1), _model(seed=2)
    assert all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert not torch.equal(a.cells[0].conv_x.weight, c.cells[0].conv_x.weight)


def test_parameter_count_matches_equation_2():
    k, cin, ks, hw = 6, 1, 3, 36 * 36
    per_cell = lambda c_in: 4 * k * (c_in + k) * ks * ks + 4 * k + 3 * k * hw  # noqa: E731
    expected = per_cell(cin) + per_cell(k) + 2 * k + (k * ks * ks + 1)  # cells, one batch norm, head
    assert count_parameters(_model()) == expected


def test_train_step_flops_by_hand():
    cfg = ModelConfig(layers=1, kernels=2, kernel_size=3, height=4, width=4)
    conv = 2 * (1 + 2) * 8 * 9 * 16  # one step's gate convolution: 2 * C_in_total * 4C * k^2 * pixels
    head = 2 * 2 * 9 * 16
    assert train_step_flops(cfg, steps=2) == 3 * (2 * conv + head)


def test_speed_benchmark_checks_agreement_and_reports_the_contract_keys():
    from benchmarks import train_step

    result = train_step.benchmark(ModelConfig(layers=2, kernels=3), batch=2, repeats=1, warmup=0)
    for key in ("speedup", "samples_per_s", "naive_samples_per_s", "config"):
        assert key in result
    assert result["max_output_diff"] < 1e-4 and result["max_grad_rel_diff"] < 1e-4
    assert result["speedup"] == pytest.approx(result["samples_per_s"] / result["naive_samples_per_s"])
    assert result["config"]["batch_size"] == 2 and result["config"]["kernels"] == 3
    assert result["conv_s"] > 0
    assert result["speedup_bound"] == pytest.approx(result["naive_step_s"] / result["conv_s"])


def test_convolution_seconds_counts_only_convolutions():
    """The bound's denominator: a network without convolutions spends no time in them."""
    from benchmarks import train_step

    x, y = torch.rand(4, 2, 1, 36, 36), torch.rand(4, 1, 36, 36)
    no_conv = torch.nn.Sequential(torch.nn.Flatten(0, 1), torch.nn.Tanh(), torch.nn.Unflatten(0, (4, 2)))
    scale = torch.nn.Parameter(torch.ones(1))

    def net(inp):
        return no_conv(inp)[:, -1] * scale

    assert train_step.convolution_seconds(net, torch.optim.SGD([scale], 0.1), x, y, steps=1) == 0
    model = _model()
    assert train_step.convolution_seconds(model, torch.optim.SGD(model.parameters(), 0.1), x, y, steps=1) > 0


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_one_channel_first_step_convolution_equals_conv2d(kernel_size):
    """The matrix-product path for one input channel: same values and gradients as F.conv2d."""
    from convlstm_lib.model import _first_step_conv

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


def test_winograd_alternative_in_the_benchmarks_is_a_correct_convolution():
    """benchmarks/conv_alternatives.py times a Winograd F(4x4, 3x3) convolution: it must be one."""
    from benchmarks.conv_alternatives import winograd_conv3x3

    torch.manual_seed(0)
    x, w, b = torch.randn(2, 5, 8, 12), torch.randn(7, 5, 3, 3), torch.randn(7)
    torch.testing.assert_close(winograd_conv3x3(x, w, b), F.conv2d(x, w, b, padding=1), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="multiples of 4"):
        winograd_conv3x3(torch.randn(1, 5, 6, 8), w)
