"""checkpoints: round trip, and every damaged or foreign file is one CheckpointError naming it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from convlstm_lib.errors import CheckpointError
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training.checkpoints import (
    load_checkpoint,
    save_checkpoint,
    stamp_run,
    stamp_trial,
    trial_identity,
)
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.settings import TrainConfig

TINY = ModelConfig(layers=1, kernels=4)


@pytest.fixture(scope="module")
def data(blob_data):
    return blob_data()


def test_checkpoint_round_trip(tmp_path, data):
    path = tmp_path / "run" / "model.pt"
    result = train_model(
        TINY,
        TrainConfig(epochs=1, batch_size=8, collapse_std=0.0),
        data,
        progress=False,
        checkpoint_path=path,
    )
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == TINY and ckpt.train_config == result.train_config
    assert (ckpt.scaler.lo, ckpt.scaler.hi) == (-3.0, 260.0)
    assert ckpt.metrics == result.metrics and ckpt.status == "complete"
    assert not ckpt.model.training
    np.testing.assert_array_equal(
        predict_frames(ckpt.model, data.n3.inputs), predict_frames(result.model, data.n3.inputs)
    )
    assert isinstance(torch.load(path, weights_only=True), dict)


def _one_line_naming(path, exc_info) -> None:
    message = str(exc_info.value)
    assert str(path) in message and "\n" not in message


def test_missing_truncated_and_foreign_checkpoints_raise_checkpoint_error(tmp_path, data):
    good = save_checkpoint(
        tmp_path / "good.pt", build_model(TINY, seed=0), TINY, TrainConfig(), data.scaler, {}, "complete"
    )
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": build_model(TINY, seed=0).state_dict()}, foreign)
    wrong_version = tmp_path / "v99.pt"
    payload = torch.load(good, weights_only=True)
    torch.save({**payload, "version": 99}, wrong_version)
    mismatched = tmp_path / "mismatch.pt"
    torch.save({**payload, "model_config": {**payload["model_config"], "kernels": 5}}, mismatched)
    for path in (tmp_path / "absent.pt", truncated, garbage, foreign, wrong_version, mismatched):
        with pytest.raises(CheckpointError) as exc_info:
            load_checkpoint(path)
        _one_line_naming(path, exc_info)


@pytest.mark.parametrize("kind", ["convgru", "convrnn", "simvp"])
def test_every_model_kind_round_trips_through_its_checkpoint(tmp_path, data, kind):
    path = tmp_path / f"{kind}.pt"
    result = train_model(ModelConfig(model=kind, layers=1, kernels=4),
                         TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), data, progress=False,
                         checkpoint_path=path)
    ckpt = load_checkpoint(path)
    assert ckpt.model_config.model == kind and ckpt.model_config == result.model_config
    np.testing.assert_array_equal(
        predict_frames(ckpt.model, data.n3.inputs), predict_frames(result.model, data.n3.inputs)
    )


def test_a_checkpoint_of_an_unknown_or_other_model_kind_is_one_line_naming_it(tmp_path, data):
    good = save_checkpoint(tmp_path / "good.pt", build_model(TINY, seed=0), TINY, TrainConfig(), data.scaler,
                           {}, "complete")
    payload = torch.load(good, weights_only=True)
    for name in ("tau", "convgru"):  # unknown; known, but these are a convlstm's weights
        path = tmp_path / f"{name}.pt"
        torch.save({**payload, "model_config": {**payload["model_config"], "model": name}}, path)
        with pytest.raises(CheckpointError, match=name) as exc_info:
            load_checkpoint(path)
        _one_line_naming(path, exc_info)


def test_a_checkpoint_records_the_trial_and_the_run_it_comes_from(tmp_path, data):
    path = save_checkpoint(tmp_path / "m.pt", build_model(TINY, seed=0), TINY, TrainConfig(), data.scaler,
                           {"n6_test_mse": 0.5}, "complete")
    assert trial_identity(path) is None and load_checkpoint(path).run_id is None
    weights = path.read_bytes()
    stamp_trial(path, "convlstm-quick", 7, 123456789)
    stamp_run(path, "abc")
    assert trial_identity(path) == {"study": "convlstm-quick", "number": 7, "seed": 123456789}
    ckpt = load_checkpoint(path)
    assert ckpt.trial == {"study": "convlstm-quick", "number": 7, "seed": 123456789} and ckpt.run_id == "abc"
    assert path.read_bytes() != weights and ckpt.metrics == {"n6_test_mse": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]  # rewritten in place, atomically


def test_a_checkpoint_written_on_a_gpu_loads_on_a_machine_without_cuda(tmp_path, data, monkeypatch):
    """torch records each tensor's device in the file; one saved as a GPU run would (every storage
    tagged cuda:0) loads here, on the CPU, with the same weights."""
    import torch.serialization

    result = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0, device="cpu"), data,
                         progress=False)
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        save_checkpoint(path, result.model, TINY, result.train_config, data.scaler, result.metrics,
                        result.status)
    if not torch.cuda.is_available():  # the file does claim a GPU: a plain load fails here
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    ckpt = load_checkpoint(path)
    assert all(t.device.type == "cpu" for t in ckpt.model.state_dict().values())
    np.testing.assert_array_equal(
        predict_frames(ckpt.model, data.n3.inputs), predict_frames(result.model, data.n3.inputs)
    )
