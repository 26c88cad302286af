"""Mixed precision for training: fp32, bf16 through `torch.autocast`, or auto.

`TrainConfig.precision` (CLI `--precision`) is one of

* ``fp32``  every operation in float32 (the default of the paper's protocol);
* ``bf16``  `torch.autocast(dtype=torch.bfloat16)` around the forward pass only:
            convolutions and matrix products run in bfloat16, the rest (normalisation,
            the loss, backward's accumulation, the optimiser, the weights) stays float32.
            Allowed only where the device computes bf16 natively: a CUDA GPU that supports it, or a CPU with
            AMX-BF16 or AVX512-BF16 (oneDNN's bf16 kernels). Elsewhere bf16 is emulated
            in software and slower than fp32, so it is refused (`PrecisionError`, one line,
            exit 2) rather than run slowly;
* ``auto``  bf16 only where the device has native bf16 *and* `BF16_VERDICTS`, the table
            committed here, says bf16 qualifies on a device of that description
            (`benchmarks/precision.py` measures it: faster than fp32 and within
            `MSE_TOLERANCE` of fp32's final validation MSE after the same epochs); fp32
            everywhere else. `auto` reads nothing a run or a benchmark writes, so the same
            profile and seed give the same numbers on the same device, whatever ran before.

The fast ConvLSTM cell's fused autograd functions are float32 code: under autocast the
cell runs the reference Equation 2 (`fused.FusedConvLSTMCell`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import torch

from convlstm_lib.errors import ConvLSTMError

PRECISIONS = ("fp32", "bf16", "auto")
# bf16 qualifies only when its final validation MSE is within this fraction of fp32's.
MSE_TOLERANCE = 0.02
# `auto`'s verdicts by `device_key`: does bf16 qualify there? Measured by benchmarks/precision.py
# and committed with the numbers behind each in benchmarks/README.md ("bf16 against fp32"); a
# device not listed trains in fp32.
BF16_VERDICTS: dict[str, bool] = {
    "cuda:NVIDIA H100 80GB HBM3": False,  # too small a model for bf16 to pay: 0.84-0.94x the speed
}


class PrecisionError(ConvLSTMError, ValueError):
    """The requested precision cannot run (well) on this device."""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def native_bf16(device: torch.device) -> bool:
    """True when `device` computes bfloat16 in hardware (see the module docstring)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and bool(
            _cpu_flags() & {"amx_bf16", "avx512_bf16"}
        )
    return False


def device_key(device: torch.device) -> str:
    """The description a precision verdict is stored under: the GPU's or the CPU's model name."""
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return f"cpu:{line.split(':', 1)[1].strip()}"
        except OSError:
            pass
    return device.type


def resolve_precision(
    name: str, device: torch.device, verdicts: Mapping[str, bool] | None = None
) -> torch.dtype:
    """The autocast dtype for precision `name` on `device` (torch.float32: no autocast);
    `verdicts`: the table `auto` reads (default `BF16_VERDICTS`)."""
    if name not in PRECISIONS:
        raise PrecisionError(f"precision: unknown precision {name!r}; choose one of {PRECISIONS}")
    if name == "fp32":
        return torch.float32
    native = native_bf16(device)
    if name == "bf16":
        if not native:
            raise PrecisionError(
                f"precision bf16: device {device_key(device)!r} has no native bfloat16 (AMX, AVX512-BF16 "
                "or a bf16 GPU); it would be emulated and slower than fp32: use --precision fp32 or auto"
            )
        return torch.bfloat16
    table = BF16_VERDICTS if verdicts is None else verdicts
    return torch.bfloat16 if native and table.get(device_key(device)) is True else torch.float32


def autocast(device: torch.device, dtype: torch.dtype):
    """A context for the forward pass (only: `training.loop`): torch.autocast in `dtype`, or
    nothing for float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
