"""The recurrent stack (models/stack.py) and the models built through it: shapes, gradients,
peepholes, any number of frames, frames as channels, bf16, seeds, parameter and FLOP counts.
`small_model`, `reference_of` and `as_if_trained` serve the other models' tests too."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convlstm_lib.models.build import build_model, count_parameters
from convlstm_lib.models.heads import output_conv
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.models.stack import RecurrentStack, train_step_flops


def small_model(seed: int = 0, fused: bool = True, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(ModelConfig(**{"layers": 2, "kernels": 6, **kw}), fused=fused)


def reference_of(model: torch.nn.Module) -> torch.nn.Module:
    """The reference (unfused) model holding exactly `model`'s parameters and statistics."""
    ref = build_model(model.config, fused=False)
    ref.load_state_dict(model.state_dict())
    return ref.train(model.training)


def as_if_trained(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with a non-zero output convolution (the residual models start at zero: copy-last)."""
    with torch.no_grad():
        torch.nn.init.normal_(output_conv(model).weight, std=0.3)
    return model


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_output_shape_is_one_frame_per_window(steps):
    model = small_model()
    assert model(torch.rand(3, steps, 1, 36, 36)).shape == (3, 1, 36, 36)


def test_input_must_be_five_dimensional():
    with pytest.raises(ValueError, match="x: expected"):
        small_model()(torch.rand(3, 2, 36, 36))


def test_peephole_weights_have_one_value_per_channel_and_pixel():
    cell = small_model(kernels=5).cells[0]
    for name in ("w_ci", "w_cf", "w_co"):
        assert getattr(cell, name).shape == (5, 36, 36)


def test_every_parameter_receives_a_gradient():
    model = small_model(layers=3)
    F.mse_loss(model(torch.rand(4, 2, 1, 36, 36)), torch.rand(4, 1, 36, 36)).backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert not dead, f"parameters without gradient: {dead}"


@pytest.mark.parametrize("name", ["w_ci", "w_cf", "w_co"])
def test_each_peephole_changes_the_output(name):
    model = small_model().eval()
    x = torch.rand(2, 2, 1, 36, 36)
    before = model(x)
    with torch.no_grad():
        for cell in model.cells:
            getattr(cell, name).zero_()
    assert (model(x) - before).abs().max() > 1e-6


def test_activation_changes_the_prediction():
    x = torch.rand(2, 2, 1, 36, 36)
    relu, tanh = small_model(activation="relu").eval(), small_model(activation="tanh").eval()
    assert (relu(x) - tanh(x)).abs().max() > 1e-6


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn"])
@pytest.mark.parametrize("steps", [1, 4, 11])
def test_recurrent_models_take_any_number_of_frames(kind, steps):
    model = small_model(model=kind)
    assert model(torch.rand(2, steps, 1, 36, 36)).shape == (2, 1, 36, 36)


def test_recurrent_models_use_more_than_the_last_frame():
    """The prediction depends on an earlier frame (the recurrence is wired through)."""
    for kind in ("convlstm", "convgru", "convrnn"):
        model = as_if_trained(small_model(model=kind)).eval()
        x = torch.rand(2, 3, 1, 36, 36)
        y = x.clone()
        y[:, 0] = torch.rand(2, 1, 36, 36)
        assert (model(x) - model(y)).abs().max() > 1e-6, kind


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn"])
def test_frames_as_channels_read_every_frame_in_one_step(kind):
    """The stack's first cell takes the T frames as T channels; every frame reaches the output, and
    the residual models still start at copy-last of the last frame."""
    model = small_model(model=kind, frames=3, frames_as_channels=True, kernels=4).eval()
    assert model.cells[0].conv_x.in_channels == 3 and model.cells[1].conv_x.in_channels == 4
    x = torch.rand(2, 3, 1, 36, 36)
    if kind != "convlstm":
        assert torch.allclose(model(x), x[:, -1], atol=1e-5)
    as_if_trained(model)
    for frame in range(3):
        y = x.clone()
        y[:, frame] = torch.rand(2, 1, 36, 36)
        assert (model(x) - model(y)).abs().max() > 1e-6, (kind, frame)
    with pytest.raises(ValueError, match="reads its 3 frames as channels, got 2 frames"):
        model(torch.rand(2, 2, 1, 36, 36))


def test_frames_as_channels_is_one_step_of_the_stacked_frames():
    """The same numbers as the stack fed one time step of the frames stacked along channels."""
    stacked = as_if_trained(small_model(model="convgru", frames_as_channels=True, kernels=4)).eval()
    one_step = ModelConfig(model="convgru", layers=2, kernels=4, in_channels=2, frames=1)
    as_steps = RecurrentStack(one_step).eval()
    as_steps.load_state_dict({k: v for k, v in stacked.state_dict().items() if not k.startswith("head.")},
                             strict=False)
    x = torch.rand(2, 2, 1, 36, 36)
    expected = as_steps.hidden_sequence(x.transpose(1, 2))[-1]
    assert torch.allclose(stacked.hidden_sequence(x)[-1], expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["convlstm", "convgru", "convrnn", "simvp"])
def test_every_model_trains_under_bf16_autocast(kind):
    """The fused cell falls back to the reference under autocast; every kind gives finite gradients."""
    model = small_model(model=kind)
    x, y = torch.rand(2, 2, 1, 36, 36), torch.rand(2, 1, 36, 36)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    # the motion head samples the last frame in float32: bf16 would round sub-pixel positions
    assert out.dtype == (torch.bfloat16 if kind == "convlstm" else torch.float32)
    F.mse_loss(out.float(), y).backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    ref = reference_of(model)
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        torch.testing.assert_close(model.eval()(x), ref.eval()(x))


def test_same_seed_same_weights():
    a, b, c = small_model(seed=1), small_model(seed=1), small_model(seed=2)
    assert all(
        torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )
    assert not torch.equal(a.cells[0].conv_x.weight, c.cells[0].conv_x.weight)


def test_parameter_count_matches_equation_2():
    """Peepholes (C, H, W) per gate with a peephole; the bias once per gate block."""
    k, cin, ks, hw = 6, 1, 3, 36 * 36
    per_cell = lambda c_in: 4 * k * (c_in + k) * ks * ks + 4 * k + 3 * k * hw  # noqa: E731
    expected = per_cell(cin) + per_cell(k) + 2 * k + (k * ks * ks + 1)  # cells, one batch norm, head
    assert count_parameters(small_model()) == expected


def test_train_step_flops_by_hand():
    cfg = ModelConfig(layers=1, kernels=2, kernel_size=3, height=4, width=4)
    conv = 2 * (1 + 2) * 8 * 9 * 16  # one step's gate convolution: 2 * C_in_total * 4C * k^2 * pixels
    head = 2 * 2 * 9 * 16
    assert train_step_flops(cfg, steps=2) == 3 * (2 * conv + head)


def test_the_stack_refuses_a_model_that_is_not_recurrent():
    with pytest.raises(ValueError, match="not a recurrent model"):
        RecurrentStack(ModelConfig(model="simvp"))
