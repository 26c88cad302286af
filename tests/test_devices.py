"""devices: the one place that picks the torch device."""
from __future__ import annotations

import pytest
import torch

from convlstm_lib import devices


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
