"""The refined model: an untrained one predicts exactly its base model's frame, training moves only
the correction, it reads its own context length, and it travels through a checkpoint."""

import pytest
import torch

from convlstm_lib.data.tasks import INTERPOLATE
from convlstm_lib.models.build import build_model, model_config_for
from convlstm_lib.models.refiner import BASE_FRAMES, Refined
from convlstm_lib.models.settings import ModelConfig

BASE = ModelConfig(layers=1, kernels=3, height=12, width=12)


def _refined(frames=4, width=5, model="convlstm"):
    torch.manual_seed(0)
    base = build_model(ModelConfig(layers=1, kernels=3, height=12, width=12, model=model))
    torch.manual_seed(1)
    refined = build_model(ModelConfig(layers=1, kernels=3, height=12, width=12, model=model,
                                      frames=frames, refiner=width))
    refined.load_base(base.state_dict())
    return base.eval(), refined


@pytest.mark.parametrize("model", ["convlstm", "simvp"])
def test_an_untrained_refined_model_predicts_its_base_models_frame(model):
    base, refined = _refined(model=model)
    x = torch.rand(3, 4, 1, 12, 12)
    refined.eval()
    assert isinstance(refined, Refined)
    assert torch.equal(refined(x), base(x[:, -BASE_FRAMES:]))


def test_training_moves_the_correction_and_leaves_the_base_alone():
    base, refined = _refined()
    before = {k: v.clone() for k, v in refined.base.state_dict().items()}
    opt = torch.optim.Adam(refined.parameters(), lr=1e-2)
    refined.train()
    assert not refined.base.training  # batch norm of the frozen base stays in eval mode
    x, y = torch.rand(8, 4, 1, 12, 12), torch.rand(8, 1, 12, 12)
    for _ in range(3):
        opt.zero_grad()
        loss = ((refined(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    for key, value in refined.base.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert refined.correction[-1].weight.abs().sum() > 0
    refined.eval()
    assert not torch.equal(refined(x), base(x[:, -BASE_FRAMES:]))


def test_the_correction_reads_every_frame_of_its_window():
    _, refined = _refined(frames=4)
    torch.nn.init.normal_(refined.correction[-1].weight)
    refined.eval()
    x = torch.rand(2, 4, 1, 12, 12)
    moved = x.clone()
    moved[:, 0] += 0.5  # the oldest frame: the base never sees it, the correction does
    assert not torch.allclose(refined(x), refined(moved))
    with pytest.raises(ValueError, match=r"expected \(B, 4, C, H, W\)"):
        refined(torch.rand(2, 2, 1, 12, 12))


def test_config_refuses_bad_refiners():
    with pytest.raises(ValueError, match="refiner: must be in 0..100"):
        ModelConfig(refiner=-1)
    with pytest.raises(ValueError, match="reads >= 2 frames"):
        build_model(ModelConfig(layers=1, kernels=2, frames=1, refiner=4))
    interp = model_config_for(ModelConfig(layers=1, kernels=2, refiner=4), INTERPOLATE)
    with pytest.raises(ValueError, match="refiner 4, but task interpolate-2"):
        build_model(interp, INTERPOLATE)
