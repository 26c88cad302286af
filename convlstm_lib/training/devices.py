"""Which torch device a run uses, and how many trials it holds at once: the one place that decides
(training, sweep, side-by-side runs, report stamp)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import torch

from convlstm_lib.config import AUTO, ProfileConfig, check_workers_field
from convlstm_lib.data.course_io import FRAMES
from convlstm_lib.errors import DeviceError
from convlstm_lib.models.settings import ModelConfig


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


# ---------------------------------------------------------------------------------------------
# How many trials one device holds at once (`--workers auto`, and the refusal of a count above it)
#
# These models are small: one trial leaves a large GPU mostly idle, so several trials (worker
# processes on one study) share it. How many is set by the memory of the *largest* trial the
# search space can draw, so that no trial runs out of memory beside its neighbours (an out-of-
# memory step would be recorded as a failed trial). Per trial, `trial_bytes` adds up:
#
# * the activations autograd saves for the backward pass, measured, not guessed: the model is
#   run forward on the CPU at batch 1 and 2 with `saved_tensors_hooks` summing the distinct
#   storages it saves (`saved_bytes`), and the batch's bytes extrapolated linearly (they are
#   linear in the batch); times ACTIVATION_FACTOR for the backward's own gradient buffers and
#   the caching allocator's rounding;
# * weights, gradients and the optimiser's state: OPTIMIZER_COPIES copies of the weights
#   (LBFGS keeps 2 x 100 past steps);
# * the data held on the device for the whole trial (`data_bytes`);
# * on a GPU, CUDA_CONTEXT_BYTES for the process's CUDA context and cuDNN / cuBLAS workspaces.
#
# The paper's largest trial comes to about 28 GiB; benchmarks/gpu_throughput.py measures the peak
# on a GPU beside this estimate (benchmarks/README.md, "What a GPU run does with the sweep").

ACTIVATION_FACTOR = 1.5
CUDA_CONTEXT_BYTES = 1 << 30
LBFGS_HISTORY = 100  # torch.optim.LBFGS's default history_size
OPTIMIZER_COPIES = {"LBFGS": 2 * LBFGS_HISTORY + 4}  # weights, grad, flat grad, direction + history
OTHER_OPTIMIZER_COPIES = 4  # weights, grad and at most two state tensors a weight (Adam, Adadelta, Rprop)
FLOAT_BYTES = 4
COURSE_SEQUENCES = 400 + 100  # N6 and N3 at the course's size: the data of a run whose size is not given


@dataclass(frozen=True)
class TrialShape:
    """What one training run holds on its device: its model, batch, optimiser and data."""

    model: ModelConfig
    batch_size: int
    optimizer: str = "Adam"
    data_bytes: int = 0


@dataclass(frozen=True)
class Capacity:
    """What a device offers trials: its name, memory, the CPU cores that feed it, and the bytes
    kept back for the parent process (its own CUDA context on a GPU)."""

    name: str
    memory_bytes: int
    cores: int
    reserve_bytes: int = 0


def data_bytes(n_sequences: int, frames: int = FRAMES, side: int = 36, window: int = 3) -> int:
    """Bytes of every window of `n_sequences` sequences as float32 (inputs and target: `window`
    frames each), the training set and the test sets a trial keeps on its device."""
    return int(n_sequences) * frames * window * side * side * FLOAT_BYTES


@lru_cache(maxsize=32)
def saved_bytes(model: ModelConfig, batch_size: int) -> int:
    """Bytes of the distinct tensors autograd saves for the backward pass of one training step of
    `model` at `batch_size` (measured on the CPU at batch 1 and 2, extrapolated linearly)."""
    from convlstm_lib.models.build import build_model

    net = build_model(model, seed=0)
    measured = []
    for batch in (1, 2):
        storages: dict[int, int] = {}

        def pack(t: torch.Tensor, storages: dict[int, int] = storages) -> torch.Tensor:
            storage = t.untyped_storage()
            storages[storage.data_ptr()] = storage.nbytes()
            return t

        x = torch.zeros(batch, model.frames, model.in_channels, model.height, model.width)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net(x).float().mean().backward()
        measured.append(sum(storages.values()))
    per_sample = max(0, measured[1] - measured[0])
    return int(measured[0] + per_sample * (batch_size - 1))


def trial_bytes(shape: TrialShape, device_type: str = "cuda") -> int:
    """An upper estimate of the memory one trial of `shape` takes on a device (module comment)."""
    from convlstm_lib.models.build import build_model, count_parameters

    weights = count_parameters(build_model(shape.model, seed=0)) * FLOAT_BYTES
    copies = OPTIMIZER_COPIES.get(shape.optimizer, OTHER_OPTIMIZER_COPIES)
    context = CUDA_CONTEXT_BYTES if device_type == "cuda" else 0
    activations = ACTIVATION_FACTOR * saved_bytes(shape.model, shape.batch_size)
    return int(context + shape.data_bytes + copies * weights + activations)


def largest_trials(cfg: ProfileConfig) -> list[TrialShape]:
    """The largest trial of each model kind `cfg`'s search space can draw: layers_max x
    kernels_max at batch_size_max, with the optimiser that keeps the most state."""
    optimizer = max(cfg.optimizers, key=lambda name: OPTIMIZER_COPIES.get(name, OTHER_OPTIMIZER_COPIES))
    data = data_bytes(cfg.n6 + cfg.n3)
    return [TrialShape(ModelConfig(model=kind, layers=cfg.layers_max, kernels=cfg.kernels_max),
                       cfg.batch_size_max, optimizer, data) for kind in cfg.models]


def trials_held(capacity: Capacity, per_trial_bytes: int) -> int:
    """How many trials of `per_trial_bytes` the device's memory holds at once (0: not even one)."""
    free = capacity.memory_bytes - capacity.reserve_bytes
    return max(0, free // max(1, per_trial_bytes))


def auto_workers(capacity: Capacity, per_trial_bytes: int) -> int:
    """`--workers auto`: as many trials as the memory holds, at most one a CPU core (a worker
    process drives its trial from one core), at least one."""
    return max(1, min(capacity.cores, trials_held(capacity, per_trial_bytes)))


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def capacity_of(device: torch.device) -> Capacity | None:
    """What `device` offers trials; None where its memory is not known (MPS shares the host's).

    A GPU's cores are this machine's shared out among its visible GPUs (a study may run a worker
    set on each); its reserve is the parent process's own CUDA context. A CPU's memory is the
    machine's physical memory.
    """
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        cores = max(1, cpu_cores() // max(1, torch.cuda.device_count()))
        memory = int(props.total_memory)
        return Capacity(f"{props.name} ({memory / 2**30:.1f} GiB)", memory, cores, CUDA_CONTEXT_BYTES)
    if device.type == "cpu":
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return Capacity(f"this CPU ({memory / 2**30:.1f} GiB of memory)", int(memory), cpu_cores())
    return None


def resolve_workers(workers: int | str, shapes: list[TrialShape], device: torch.device,
                    option: str = "--workers") -> int:
    """The worker count for trials of `shapes` on `device`, sized by the largest shape: AUTO ->
    `auto_workers`; a count -> itself, refused (DeviceError, one line naming `option`) when the
    device's memory holds fewer trials at once (`trials_held`; more workers than cores is slow,
    not refused). One worker is always allowed; where the device's memory is unknown (MPS) AUTO
    is one and a count is taken as given."""
    workers = check_workers_field(workers, option)
    capacity = None if workers == 1 else capacity_of(device)  # one worker needs no measuring
    if capacity is None:
        return 1 if workers == AUTO else workers
    sizes = {i: trial_bytes(s, device.type) for i, s in enumerate(shapes)}
    at = max(sizes, key=sizes.get)
    largest, per_trial = shapes[at], sizes[at]
    if workers == AUTO:
        return auto_workers(capacity, per_trial)
    holds = max(1, trials_held(capacity, per_trial))
    if workers > holds:
        m = largest.model
        raise DeviceError(
            f"{option} {workers}: {capacity.name} holds at most {holds} trial(s) at once of the largest "
            f"this search can draw ({m.model} {m.layers} x {m.kernels} kernels, batch {largest.batch_size}, "
            f"{largest.optimizer}: about {per_trial / 2**30:.1f} GiB each); use {option} {AUTO} or at most "
            f"{holds}"
        )
    return workers


def workers_for_runs(workers: int | str, jobs, option: str = "workers") -> int:
    """`resolve_workers` for side-by-side training runs: jobs are (ModelConfig, TrainConfig) pairs
    on one device (the first job's), each holding the course-sized data."""
    if not jobs:
        return 1 if workers == AUTO else check_workers_field(workers, option)
    shapes = [TrialShape(model, train.batch_size, train.optimizer, data_bytes(COURSE_SEQUENCES))
              for model, train in jobs]
    return resolve_workers(workers, shapes, resolve_device(jobs[0][1].device), option)
