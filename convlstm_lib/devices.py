"""Which torch device a run uses: the one place that decides (training, sweep, report stamp)."""
from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; anything else as torch.device(name).

    ValueError naming the device when `name` is not a torch device string.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device: {name!r} is not a torch device ({exc})") from None


def describe_device(name: str = "auto") -> str:
    """What `resolve_device(name)` trains on, for a report: `cuda: <name>`, `mps`, `cpu (N threads)`."""
    device = resolve_device(name)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
