"""Models: configuration, shapes, gradients, peepholes, fused ConvLSTM == reference Equation 2,
the other cells' equations, SimVP, and the registry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convlstm_lib.models import cells
from convlstm_lib.models.build import build_model, count_parameters
from convlstm_lib.models.fused import FusedConvLSTMCell
from convlstm_lib.models.heads import MotionHead, output_conv
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.stack import RecurrentStack, train_step_flops


def _model(seed: int = 0, fused: bool = True, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelConfig(**{"layers": 2, "kernels": 6, **kw}), fused=fused)


def _reference_of(model: torch.nn.Module) -> torch.nn.Module:
    """The reference (unfused) model holding exactly `model`'s parameters and statistics."""
    ref = build_model(model.config, fused=False)
    ref.load_state_dict(model.state_dict())
    return ref.train(model.training)


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
def test_fused_convlstm_equals_the_reference_equation_2(config, steps):
    """Same weights in the fused cell and cells.ConvLSTMCell: same outputs and gradients."""
    model = _model(**config)
    assert isinstance(model.cells[0], FusedConvLSTMCell)
    ref = _reference_of(model)
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
    model = _model()
    ref = _reference_of(model)
    with torch.no_grad():
        ref.cells[0].w_cf.add_(0.5)
    x = torch.rand(2, 3, 1, 36, 36)
    assert (model(x) - ref(x)).abs().max() > 1e-5


def test_reference_convlstm_cell_is_equation_2_by_hand():
    """One step from a given state, computed from the equation with plain tensor ops."""
    torch.manual_seed(0)
    cell = cells.ConvLSTMCell(2, 3, 3, 5, 5)
    x, h, c = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5), torch.randn(1, 3, 5, 5)
    z = F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
    z = z + F.conv2d(h, cell.conv_h.weight, padding=1)
    zi, zc, zo, zf = z[:, 0:3], z[:, 3:6], z[:, 6:9], z[:, 9:12]
    i, f = torch.sigmoid(zi + cell.w_ci * c), torch.sigmoid(zf + cell.w_cf * c)
    c_new = f * c + i * torch.tanh(zc)
    h_new = torch.sigmoid(zo + cell.w_co * c_new) * torch.tanh(c_new)
    got_h, (_, got_c) = cell.step(x, (h, c))
    torch.testing.assert_close(got_h, h_new)
    torch.testing.assert_close(got_c, c_new)


def test_convgru_cell_is_its_equation_by_hand():
    torch.manual_seed(0)
    cell = cells.ConvGRUCell(2, 3, 3, 5, 5)
    x, h = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5)
    gx = F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
    w = cell.conv_h.weight
    z = torch.sigmoid(gx[:, 0:3] + F.conv2d(h, w[0:3], padding=1))
    r = torch.sigmoid(gx[:, 3:6] + F.conv2d(h, w[3:6], padding=1))
    n = torch.tanh(gx[:, 6:9] + F.conv2d(r * h, w[6:9], padding=1))
    got, _ = cell.step(x, h)
    torch.testing.assert_close(got, (1 - z) * h + z * n)
    # t = 1 from H_0 = 0: the shortcut equals the full step on a zero state
    torch.testing.assert_close(cell.step(x, None)[0], cell.step(x, torch.zeros_like(h))[0])


def test_convrnn_cell_is_its_equation_by_hand():
    torch.manual_seed(0)
    cell = cells.ConvRNNCell(2, 3, 3, 5, 5)
    x, h = torch.randn(1, 2, 5, 5), torch.randn(1, 3, 5, 5)
    want = torch.tanh(F.conv2d(x, cell.conv_x.weight, cell.conv_x.bias, padding=1)
                      + F.conv2d(h, cell.conv_h.weight, padding=1))
    torch.testing.assert_close(cell.step(x, h)[0], want)
    torch.testing.assert_close(cell.step(x, None)[0], cell.step(x, torch.zeros_like(h))[0])


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn"])
@pytest.mark.parametrize("steps", [1, 4, 11])
def test_recurrent_models_take_any_number_of_frames(kind, steps):
    model = _model(model=kind)
    assert model(torch.rand(2, steps, 1, 36, 36)).shape == (2, 1, 36, 36)


def _as_if_trained(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with a non-zero output convolution (the residual models start at zero: copy-last)."""
    with torch.no_grad():
        torch.nn.init.normal_(output_conv(model).weight, std=0.3)
    return model


def test_recurrent_models_use_more_than_the_last_frame():
    """The prediction depends on an earlier frame (the recurrence is wired through)."""
    for kind in ("convlstm", "convgru", "convrnn"):
        model = _as_if_trained(_model(model=kind)).eval()
        x = torch.rand(2, 3, 1, 36, 36)
        y = x.clone()
        y[:, 0] = torch.rand(2, 1, 36, 36)
        assert (model(x) - model(y)).abs().max() > 1e-6, kind


def test_cheaper_cells_have_fewer_parameters():
    kinds = ("convlstm", "convgru", "convrnn")
    sizes = {k: count_parameters(_model(model=k, layers=2, kernels=8)) for k in kinds}
    assert sizes["convrnn"] < sizes["convgru"] < sizes["convlstm"]


@pytest.mark.parametrize("frames", [2, 4])
def test_simvp_predicts_one_frame_from_the_frames_it_was_built_for(frames):
    model = _as_if_trained(_model(model="simvp", frames=frames, kernels=5))  # odd width: one group
    x = torch.rand(3, frames, 1, 36, 36)
    assert model(x).shape == (3, 1, 36, 36)
    y = x.clone()
    y[:, 0] += 0.5
    assert (model.eval()(x) - model(y)).abs().max() > 1e-6  # every input frame reaches the output


@pytest.mark.parametrize("kind", ["convgru", "convrnn", "simvp"])
def test_models_beyond_the_paper_start_at_copy_last_and_predict_the_change(kind):
    """Untrained, they return the last input frame (to float rounding); a trained output convolution is
    added to it (the change), not a frame of its own."""
    model = _model(model=kind, kernels=4).eval()
    x = torch.rand(2, 2, 1, 36, 36)
    assert torch.allclose(model(x), x[:, -1], atol=1e-5)  # no motion or change learned: copy-last
    _as_if_trained(model)
    with torch.no_grad():
        change = model(x) - x[:, -1]
        output_conv(model).weight.zero_()
        output_conv(model).bias.copy_(torch.tensor([0.0, 0.0, 0.125]))  # no motion, a uniform change
    assert change.abs().max() > 1e-3
    assert torch.allclose(model(x), x[:, -1] + 0.125, atol=1e-5)
    with torch.no_grad():
        output_conv(model).bias.copy_(torch.tensor([1.0, 0.0, 0.0]))  # u = 1 px: read one pixel right
    assert torch.allclose(model(x)[..., :-1], x[:, -1, ..., 1:], atol=1e-5)


def test_motion_head_moves_the_last_frame_by_the_predicted_field():
    """next(y, x) = last(y + v, x + u) + change: whole-pixel moves are exact shifts, half a pixel
    is the mean of two neighbours, what comes from outside the frame is 0; and at its zero start
    the loss has a gradient along the motion (a drift can be learned)."""
    head = MotionHead(channels=2, kernel_size=3, height=6, width=5)
    last = torch.rand(1, 1, 6, 5)
    features = torch.rand(1, 2, 6, 5)
    with torch.no_grad():
        head.conv.bias.copy_(torch.tensor([0.0, -2.0, 0.0]))  # v = -2: the content moved 2 px down
    moved = head(features, last)
    assert torch.allclose(moved[..., 2:, :], last[..., :-2, :], atol=1e-6)
    assert torch.equal(moved[..., :2, :], torch.zeros(1, 1, 2, 5))
    with torch.no_grad():
        head.conv.bias.copy_(torch.tensor([0.5, 0.0, 0.0]))
    expected = 0.5 * (last[..., :-1] + last[..., 1:])
    assert torch.allclose(head(features, last)[..., :-1], expected, atol=1e-6)
    fresh = MotionHead(channels=2, kernel_size=3, height=6, width=9)
    column = torch.arange(9.0)
    blob = torch.exp(-0.5 * (column - 4) ** 2 / 1.5**2).expand(1, 1, 6, 9)
    moved_left = torch.exp(-0.5 * (column - 3) ** 2 / 1.5**2).expand(1, 1, 6, 9)
    torch.nn.functional.mse_loss(fresh(torch.rand(1, 2, 6, 9), blob), moved_left).backward()
    assert fresh.conv.bias.grad[0] < -1e-3  # descent raises u: each pixel reads further right


def test_the_papers_convlstm_predicts_the_frame_itself():
    model = _model(model="convlstm", kernels=4).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(0.25)
    assert torch.allclose(model(torch.rand(2, 2, 1, 36, 36)), torch.full((2, 1, 36, 36), 0.25))


def test_frames_as_channels_have_no_skip_of_their_own():
    """With 4 frames as channels (the interpolator's inner model) the skip is the task's."""
    for kind in ("convgru", "simvp"):
        channels = _model(model=kind, in_channels=4, frames=1, kernels=4).eval()
        torch.nn.init.zeros_(channels.head.weight)
        torch.nn.init.zeros_(channels.head.bias)
        assert channels(torch.rand(2, 1, 4, 36, 36)).abs().max() == 0, kind


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn"])
def test_frames_as_channels_read_every_frame_in_one_step(kind):
    """The stack's first cell takes the T frames as T channels; every frame reaches the output, and
    the residual models still start at copy-last of the last frame."""
    model = _model(model=kind, frames=3, frames_as_channels=True, kernels=4).eval()
    assert model.cells[0].conv_x.in_channels == 3 and model.cells[1].conv_x.in_channels == 4
    x = torch.rand(2, 3, 1, 36, 36)
    if kind != "convlstm":
        assert torch.allclose(model(x), x[:, -1], atol=1e-5)
    _as_if_trained(model)
    for frame in range(3):
        y = x.clone()
        y[:, frame] = torch.rand(2, 1, 36, 36)
        assert (model(x) - model(y)).abs().max() > 1e-6, (kind, frame)
    with pytest.raises(ValueError, match="reads its 3 frames as channels, got 2 frames"):
        model(torch.rand(2, 2, 1, 36, 36))


def test_frames_as_channels_is_one_step_of_the_stacked_frames():
    """The same numbers as the stack fed one time step of the frames stacked along channels."""
    stacked = _as_if_trained(_model(model="convgru", frames_as_channels=True, kernels=4)).eval()
    one_step = ModelConfig(model="convgru", layers=2, kernels=4, in_channels=2, frames=1)
    as_steps = RecurrentStack(one_step).eval()
    as_steps.load_state_dict({k: v for k, v in stacked.state_dict().items() if not k.startswith("head.")},
                             strict=False)
    x = torch.rand(2, 2, 1, 36, 36)
    expected = as_steps.hidden_sequence(x.transpose(1, 2))[-1]
    assert torch.allclose(stacked.hidden_sequence(x)[-1], expected, atol=1e-6)


def test_frames_as_channels_is_for_recurrent_models_only():
    with pytest.raises(ValueError, match="^frames_as_channels: only for the recurrent models"):
        ModelConfig(model="simvp", frames_as_channels=True)
    with pytest.raises(ValueError, match="^frames_as_channels: must be true or false"):
        ModelConfig(frames_as_channels=1)


def test_simvp_handles_odd_frame_sizes():
    model = _model(model="simvp", height=13, width=11)
    assert model(torch.rand(2, 2, 1, 13, 11)).shape == (2, 1, 13, 11)


def test_simvp_refuses_windows_of_another_length_naming_both():
    with pytest.raises(ValueError, match="built for 2 input frames, got 3"):
        _model(model="simvp")(torch.rand(1, 3, 1, 36, 36))


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn", "simvp"])
def test_every_model_trains_under_bf16_autocast(kind):
    """The fused cell falls back to the reference under autocast; every kind gives finite gradients."""
    model = _model(model=kind)
    x, y = torch.rand(2, 2, 1, 36, 36), torch.rand(2, 1, 36, 36)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    # the motion head samples the last frame in float32: bf16 would round sub-pixel positions
    assert out.dtype == (torch.bfloat16 if kind == "convlstm" else torch.float32)
    F.mse_loss(out.float(), y).backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    ref = _reference_of(model)
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        torch.testing.assert_close(model.eval()(x), ref.eval()(x))


def test_unknown_model_is_refused_naming_it():
    with pytest.raises(ValueError, match="^model: unknown model 'tau'"):
        ModelConfig(model="tau")
    with pytest.raises(ValueError, match="not a recurrent model"):
        RecurrentStack(ModelConfig(model="simvp"))


def test_same_seed_same_weights():
    a, b, c = _model(seed=1), _model(seed=1), _model(seed=2)
    assert all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert not torch.equal(a.cells[0].conv_x.weight, c.cells[0].conv_x.weight)


def test_parameter_count_matches_equation_2():
    """Peepholes (C, H, W) per gate with a peephole; the bias once per gate block."""
    k, cin, ks, hw = 6, 1, 3, 36 * 36
    per_cell = lambda c_in: 4 * k * (c_in + k) * ks * ks + 4 * k + 3 * k * hw  # noqa: E731
    expected = per_cell(cin) + per_cell(k) + 2 * k + (k * ks * ks + 1)  # cells, one batch norm, head
    assert count_parameters(_model()) == expected


def test_train_step_flops_by_hand():
    cfg = ModelConfig(layers=1, kernels=2, kernel_size=3, height=4, width=4)
    conv = 2 * (1 + 2) * 8 * 9 * 16  # one step's gate convolution: 2 * C_in_total * 4C * k^2 * pixels
    head = 2 * 2 * 9 * 16
    assert train_step_flops(cfg, steps=2) == 3 * (2 * conv + head)


@pytest.mark.parametrize("kernel_size", [3, 5])
def test_one_channel_first_step_convolution_equals_conv2d(kernel_size):
    """The matrix-product path for one input channel: same values and gradients as F.conv2d."""
    from convlstm_lib.models.fused import _first_step_conv

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
