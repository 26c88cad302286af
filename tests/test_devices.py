"""devices: the one place that picks the torch device."""
from __future__ import annotations

import pytest
import torch

from convlstm_lib.training import devices


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.resolve_device("auto") == torch.device("cpu")
    assert devices.describe_device("auto") == f"cpu ({torch.get_num_threads()} threads)"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.resolve_device("auto") == torch.device("cuda")


def test_named_devices_pass_through_and_nonsense_names_the_device():
    assert devices.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^device: 'nosuch'"):
        devices.resolve_device("nosuch")


def test_check_device_refuses_what_this_machine_cannot_run_in_one_line(monkeypatch):
    assert devices.check_device("cpu") == torch.device("cpu")
    with pytest.raises(devices.DeviceError, match=r"^--device 'nosuch': not a torch device"):
        devices.check_device("nosuch")
    monkeypatch.setattr(torch.version, "cuda", None)  # a CPU-only torch build
    with pytest.raises(devices.DeviceError, match=r"^--device cuda: this torch build .* has no CUDA"):
        devices.check_device("cuda")
    monkeypatch.setattr(torch.version, "cuda", "12.8")  # CUDA built in, one GPU: cuda:1 is not there
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert devices.check_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(devices.DeviceError, match=r"^device cuda:1: no such CUDA GPU here \(1 visible\)"):
        devices.check_device("cuda:1", "device")
    with pytest.raises(devices.DeviceError, match="not supported"):
        devices.check_device("meta")


# --- how many trials a device holds ----------------------------------------------------------

from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402

GIB = 2**30


def test_the_memory_decides_how_many_trials_a_device_holds_and_auto_caps_them_at_the_cores():
    h100 = devices.Capacity("H100", 80 * GIB, cores=16, reserve_bytes=GIB)
    assert devices.trials_held(h100, 25 * GIB) == devices.auto_workers(h100, 25 * GIB) == 3  # 79 GiB / 25
    assert devices.trials_held(h100, GIB) == 79 and devices.auto_workers(h100, GIB) == 16  # one a core
    assert devices.auto_workers(devices.Capacity("two cores", 80 * GIB, cores=2), GIB) == 2
    assert devices.trials_held(h100, 100 * GIB) == 0  # not even one
    assert devices.auto_workers(h100, 100 * GIB) == 1  # one worker is always allowed


def test_saved_activations_grow_linearly_with_the_batch_and_with_the_model():
    small = ModelConfig(layers=1, kernels=4)
    one, two, eight = (devices.saved_bytes(small, b) for b in (1, 2, 8))
    assert one < two < eight
    assert eight - one == 7 * (two - one)
    wide = ModelConfig(layers=2, kernels=8)
    assert devices.saved_bytes(wide, 8) > eight
    # what the hooks see is what the model keeps: at least its hidden states, 4 bytes a value
    assert two - one >= small.kernels * 36 * 36 * 4


def test_the_largest_trial_is_the_profiles_largest_model_batch_and_optimiser():
    cfg = get_profile("paper")
    (shape,) = devices.largest_trials(cfg)
    assert (shape.model.model, shape.model.layers, shape.model.kernels) == ("convlstm", 7, 100)
    assert shape.batch_size == 256 and shape.optimizer == "LBFGS"  # LBFGS keeps 200 past steps
    smaller = devices.TrialShape(shape.model, 32, "Adam", shape.data_bytes)
    big, small = devices.trial_bytes(shape), devices.trial_bytes(smaller)
    assert big > small > devices.CUDA_CONTEXT_BYTES
    assert devices.trial_bytes(smaller, "cpu") == small - devices.CUDA_CONTEXT_BYTES
    # the paper's largest ConvLSTM needs tens of GiB a trial: an 80 GB H100 holds two, a 141 GB H200 four
    assert 20 * GIB < big < 40 * GIB
    kinds = devices.largest_trials(get_profile("quick"))
    assert [s.model.model for s in kinds] == list(get_profile("quick").models)


def _fake_gpu(monkeypatch, memory_gib: float, cores: int = 16):
    capacity = devices.Capacity(f"Fake GPU ({memory_gib:.1f} GiB)", int(memory_gib * GIB), cores,
                                devices.CUDA_CONTEXT_BYTES)
    monkeypatch.setattr(devices, "capacity_of", lambda device: capacity)


def test_auto_workers_follow_the_gpus_memory_and_a_count_above_it_is_refused(monkeypatch):
    shapes = devices.largest_trials(get_profile("paper"))
    per_trial = devices.trial_bytes(shapes[0])
    cuda = torch.device("cuda")
    _fake_gpu(monkeypatch, (1 + 3 * per_trial / GIB) + 0.5)  # the parent's context and three trials
    assert devices.resolve_workers("auto", shapes, cuda) == 3
    assert devices.resolve_workers(3, shapes, cuda) == 3
    refused = (r"^--workers 4: Fake GPU .* holds at most 3 trial\(s\) at once of the largest this search can "
               r"draw \(convlstm 7 x 100 kernels, batch 256, LBFGS: about \d+\.\d GiB each\); use --workers "
               r"auto or at most 3$")
    with pytest.raises(devices.DeviceError, match=refused):
        devices.resolve_workers(4, shapes, cuda)
    _fake_gpu(monkeypatch, 500, cores=2)  # memory for many, cores for two: auto takes two, more are allowed
    assert devices.resolve_workers("auto", shapes, cuda) == 2
    assert devices.resolve_workers(6, shapes, cuda) == 6
    _fake_gpu(monkeypatch, 8)  # not even one fits: one worker is still allowed, no more
    assert devices.resolve_workers("auto", shapes, cuda) == 1
    assert devices.resolve_workers(1, shapes, cuda) == 1
    with pytest.raises(devices.DeviceError, match="at most 1"):
        devices.resolve_workers(2, shapes, cuda)
    with pytest.raises(ValueError, match=r"^--workers: must be a whole number >= 1 or 'auto', got 0"):
        devices.resolve_workers(0, shapes, cuda)


def test_the_gpus_cores_are_shared_among_the_visible_gpus(monkeypatch):
    props = type("Props", (), {"name": "Fake GPU", "total_memory": 80 * GIB})()
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: props)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(devices, "cpu_cores", lambda: 16)
    capacity = devices.capacity_of(torch.device("cuda:1"))
    assert capacity == devices.Capacity("Fake GPU (80.0 GiB)", 80 * GIB, 4, devices.CUDA_CONTEXT_BYTES)
    cpu = devices.capacity_of(torch.device("cpu"))
    assert cpu.cores == 16 and cpu.memory_bytes > GIB and cpu.reserve_bytes == 0


def test_side_by_side_runs_count_their_own_models(monkeypatch):
    from convlstm_lib.training.settings import TrainConfig

    _fake_gpu(monkeypatch, 10, cores=8)
    jobs = [(ModelConfig(layers=1, kernels=4), TrainConfig(batch_size=8, device="cpu"))] * 3
    assert devices.workers_for_runs("auto", jobs) == 8  # tiny runs: one a core
    with pytest.raises(devices.DeviceError, match="^workers 100000: Fake GPU"):
        devices.workers_for_runs(100_000, jobs)
    assert devices.workers_for_runs(2, jobs) == 2
    assert devices.workers_for_runs("auto", []) == 1
