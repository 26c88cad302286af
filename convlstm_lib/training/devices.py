"""Which torch device a run uses: the one place that decides (training, sweep, report stamp)."""
from __future__ import annotations

import torch

from convlstm_lib.errors import DeviceError


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


def check_device(name: str, option: str = "--device") -> torch.device:
    """`resolve_device(name)`, refused in one line (DeviceError naming `option`) unless this
    machine can run on it: a known device type whose backend this torch build has and sees.

    Called by the CLIs and the sweep before any data are prepared or any trial is created.
    """
    try:
        device = resolve_device(name)
    except ValueError:
        raise DeviceError(
            f"{option} {name!r}: not a torch device; use auto, cpu, cuda, cuda:N or mps"
        ) from None
    if device.type == "cuda":
        if torch.version.cuda is None:
            raise DeviceError(
                f"{option} {name}: this torch build ({torch.__version__}) has no CUDA; use auto or cpu"
            )
        count = torch.cuda.device_count()
        if count == 0 or (device.index or 0) >= count:
            raise DeviceError(f"{option} {name}: no such CUDA GPU here ({count} visible); use auto or cpu")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"{option} {name}: MPS (Apple GPU) is not available here; use auto or cpu")
    elif device.type != "cpu":
        raise DeviceError(
            f"{option} {name}: device type {device.type!r} is not supported; use auto, cpu, cuda or mps"
        )
    return device


def describe_device(name: str = "auto") -> str:
    """What `resolve_device(name)` trains on, for a report: `cuda: <name>`, `mps`, `cpu (N threads)`."""
    device = resolve_device(name)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type
