"""Mixed precision for training: fp32, bf16 through `torch.autocast`, or auto.

`TrainConfig.precision` (CLI `--precision`) is one of

* ``fp32``  every operation in float32 (the default of the paper's protocol);
* ``bf16``  `torch.autocast(dtype=torch.bfloat16)` around the forward pass and loss:
            convolutions and matrix products run in bfloat16, the rest (normalisation,
            the loss, the optimiser, the weights) stays float32. Allowed only where the
            device computes bf16 natively: a CUDA GPU that supports it, or a CPU with
            AMX-BF16 or AVX512-BF16 (oneDNN's bf16 kernels). Elsewhere bf16 is emulated
            in software and slower than fp32, so it is refused (`PrecisionError`, one line,
            exit 2) rather than run slowly;
* ``auto``  bf16 only where the device has native bf16 *and* `benchmarks/precision.py`,
            run on a device of the same description, found it both faster than fp32 and
            within `MSE_TOLERANCE` of fp32's final N6 test MSE after the same epochs (its
            verdict is stored in `paths.PRECISION_VERDICT`); fp32 everywhere else.

The fast ConvLSTM cell's fused autograd functions are float32 code: under autocast the
cell runs the reference Equation 2 (`model.FusedConvLSTMCell`).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

from convlstm_lib import paths
from convlstm_lib.errors import ConvLSTMError

PRECISIONS = ("fp32", "bf16", "auto")
# auto picks bf16 only when its final N6 test MSE is within this fraction of fp32's.
MSE_TOLERANCE = 0.02


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


def read_verdicts(path: Path | None = None) -> dict:
    """The stored verdicts of benchmarks/precision.py, {device_key: {"bf16_qualifies": bool, ...}}."""
    path = Path(path or paths.PRECISION_VERDICT)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def resolve_precision(name: str, device: torch.device, verdicts: dict | None = None) -> torch.dtype:
    """The autocast dtype for precision `name` on `device` (torch.float32: no autocast)."""
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
    verdict = (read_verdicts() if verdicts is None else verdicts).get(device_key(device), {})
    return torch.bfloat16 if native and verdict.get("bf16_qualifies") is True else torch.float32


def autocast(device: torch.device, dtype: torch.dtype):
    """A context for the forward pass: torch.autocast in `dtype`, or nothing for float32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
