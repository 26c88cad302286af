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
