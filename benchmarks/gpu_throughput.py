"""The GPU levers of the paper's sweep, each measured as a ratio side by side in one run.

For a few configurations of the paper's search space (its best, 4 x 71 at batch 32; the middle of
its space, 4 x 50 at batch 144; its largest, 7 x 100 at batch 256) this script times training
steps of the library's model (`models.build.build_model`, Adam, MSE) on one device, each lever
against its baseline in interleaved rounds (a, b, b, a, ...) so that both see the same load:

* resident:    the training windows held on the device, a batch indexed there (what
               `training.loop` does), against a batch indexed on the host and copied per step;
* sync:        reading the loss back after every step (the GPU waits for each step) against
               once a round (what `training.loop` does on a GPU: once an epoch);
* bf16:        `torch.autocast(bfloat16)` against fp32 (`benchmarks/precision.py` adds the final
               error; skipped where bf16 is not native);
* compile:     `torch.compile(model)` and `torch.compile(model, mode="reduce-overhead")` (CUDA
               graphs of the fixed shapes) against eager, with the seconds the compilation took
               and the steps it needs to pay for itself;
* concurrency: K worker processes training at once on the device (what `--workers K` does)
               against one: the steps of all K per second over one process's steps per second;
and, for the configurations of --memory-configs (CUDA only, first: it is quick), the peak memory
of a training step beside the estimate `training.devices.trial_bytes` sizes `--workers auto` with.

    .venv/bin/python benchmarks/gpu_throughput.py [--device cuda] [--configs median]
        [--levers resident,sync,bf16,concurrency,compile] [--memory-configs paper_best,median,largest]
        [--workers 1,2,4] [--steps 20] [--rounds 3] [--seconds 8] [--json] [--out FILE]

Every ratio is baseline seconds over the lever's seconds (> 1: the lever is faster). --out is
rewritten after every measurement, so a run stopped at a time limit keeps what it measured. `tiny`
(1 x 4 at batch 8) is the configuration a CPU check of this script runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import check_at_least  # noqa: E402
from convlstm_lib.atomic import write_text  # noqa: E402
from convlstm_lib.errors import ConvLSTMError  # noqa: E402
from convlstm_lib.models.build import build_model  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.training import devices  # noqa: E402
from convlstm_lib.training.precision import native_bf16  # noqa: E402

CONFIGS: dict[str, tuple[ModelConfig, int]] = {
    "paper_best": (ModelConfig(layers=4, kernels=71, activation="relu"), 32),
    "median": (ModelConfig(layers=4, kernels=50, activation="relu"), 144),
    "largest": (ModelConfig(layers=7, kernels=100, activation="relu"), 256),
    "tiny": (ModelConfig(layers=1, kernels=4, activation="relu"), 8),
}
LEVERS = ("resident", "sync", "bf16", "concurrency", "compile")  # in the order they are measured
WINDOWS = 2048  # training windows held for the resident / copied lever (the paper's sets hold ~4,000)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Trainer:
    """One model, its optimiser and its windows on `device`; `run(steps, ...)` trains that many steps."""

    def __init__(self, config: ModelConfig, batch: int, device: torch.device, model=None, seed: int = 0):
        self.device, self.batch = device, batch
        self.model = model if model is not None else build_model(config, seed=seed).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), 1e-3)
        gen = torch.Generator().manual_seed(seed)
        self.x_host = torch.rand(WINDOWS, config.frames, 1, config.height, config.width, generator=gen)
        self.y_host = torch.rand(WINDOWS, 1, config.height, config.width, generator=gen)
        self.x, self.y = self.x_host.to(device), self.y_host.to(device)
        self.order = torch.randperm(WINDOWS, generator=gen)
        self.order_on_device = self.order.to(device)

    def run(self, steps: int, *, resident: bool = True, sync_each: bool = False, bf16: bool = False) -> float:
        """Train `steps` steps; the seconds they took (the device synchronised at both ends)."""
        _sync(self.device)
        start = time.perf_counter()
        losses = []
        for s in range(steps):
            start_at = (s * self.batch) % (WINDOWS - self.batch)
            if resident:  # as training.loop: windows and the epoch's order on the device
                idx = self.order_on_device[start_at : start_at + self.batch]
                x, y = self.x[idx], self.y[idx]
            else:
                idx = self.order[start_at : start_at + self.batch]
                x, y = self.x_host[idx].to(self.device), self.y_host[idx].to(self.device)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                out = self.model(x)
            loss = F.mse_loss(out.float(), y)
            loss.backward()
            self.optimizer.step()
            if sync_each:
                float(loss.detach())
            else:
                losses.append(loss.detach())
        if losses:
            torch.stack(losses).cpu()
        _sync(self.device)
        return time.perf_counter() - start


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Median seconds of each run over `rounds` rounds, the order alternating (a, b, b, a, ...)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(runs[name]())
    return {name: statistics.median(t) for name, t in times.items()}


def ratio(baseline_s: float, lever_s: float) -> float:
    """Baseline seconds over the lever's: > 1 when the lever is faster."""
    return baseline_s / lever_s


def lever_pair(trainer: Trainer, base: dict, lever: dict, steps: int, rounds: int) -> dict:
    """Warm up both ways, then time `steps` steps of each (interleaved); seconds a step and the ratio."""
    trainer.run(2, **base)
    trainer.run(2, **lever)
    med = interleaved({"baseline": lambda: trainer.run(steps, **base),
                       "lever": lambda: trainer.run(steps, **lever)}, rounds)
    return {"baseline_step_s": med["baseline"] / steps, "lever_step_s": med["lever"] / steps,
            "ratio": ratio(med["baseline"], med["lever"])}


def compile_lever(config: ModelConfig, batch: int, device: torch.device, steps: int, rounds: int,
                  mode: str | None) -> dict:
    """torch.compile(model, mode) against the eager model (the same weights): step seconds, the
    ratio, the compilation's seconds and how many steps pay for it. {'error': ...} when it fails."""
    eager = Trainer(config, batch, device)
    try:
        compiled_model = torch.compile(build_model(config, seed=0).to(device), mode=mode)
        compiled = Trainer(config, batch, device, model=compiled_model)
        first = compiled.run(3)  # the compilation happens here
    except Exception as exc:  # torch raises many kinds (no compiler, an unsupported operator)
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]}
    eager.run(2)
    med = interleaved({"eager": lambda: eager.run(steps), "compiled": lambda: compiled.run(steps)}, rounds)
    eager_s, compiled_s = med["eager"] / steps, med["compiled"] / steps
    compile_s = max(0.0, first - 3 * compiled_s)
    saved = eager_s - compiled_s
    return {"baseline_step_s": eager_s, "lever_step_s": compiled_s, "ratio": ratio(eager_s, compiled_s),
            "compile_s": compile_s, "break_even_steps": (compile_s / saved) if saved > 0 else None}


def memory_lever(config: ModelConfig, batch: int, device: torch.device) -> dict:
    """Peak bytes of Adam training steps on a CUDA device beside `devices.trial_bytes`'s estimate
    for the same model, batch and optimiser (without the CUDA context and the data)."""
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    trainer = Trainer(config, batch, device)
    data = trainer.x.nbytes + trainer.y.nbytes
    trainer.run(3)
    peak = torch.cuda.max_memory_reserved(device) - before - data
    shape = devices.TrialShape(config, batch, "Adam", 0)
    estimate = devices.trial_bytes(shape, "cpu")  # "cpu": without the CUDA context
    free, total = torch.cuda.mem_get_info(device)
    del trainer
    torch.cuda.empty_cache()
    return {"peak_bytes": int(peak), "estimate_bytes": int(estimate), "peak_over_estimate": peak / estimate,
            "outside_torch_bytes": int(total - free - torch.cuda.memory_reserved(device))}


def _concurrent_worker(config: ModelConfig, batch: int, device: str, seconds: float, barrier, results,
                       threads: int) -> None:
    torch.set_num_threads(threads)
    trainer = Trainer(config, batch, torch.device(device))
    trainer.run(3)  # warm up (CUDA context, cuDNN's algorithm choice)
    barrier.wait()
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.run(5)
        steps += 5
    results.put(steps / (time.perf_counter() - start))


def concurrency(config: ModelConfig, batch: int, device: torch.device, counts: list[int],
                seconds: float) -> dict:
    """Steps a second of all K processes training at once, for each K; the ratio to K = 1."""
    ctx = multiprocessing.get_context("spawn")
    out: dict[str, dict] = {}
    for k in counts:
        barrier, results = ctx.Barrier(k), ctx.Queue()
        threads = max(1, devices.cpu_cores() // k)
        procs = [ctx.Process(target=_concurrent_worker,
                             args=(config, batch, str(device), seconds, barrier, results, threads))
                 for _ in range(k)]
        for p in procs:
            p.start()
        rates = [results.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()
        out[str(k)] = {"steps_per_s": sum(rates), "per_process": rates}
    one = out[str(counts[0])]["steps_per_s"] if counts[0] == 1 else None
    for entry in out.values():
        entry["ratio_to_one"] = entry["steps_per_s"] / one if one else None
    return out


def measure(device: torch.device, configs: list[str], levers: list[str], steps: int, rounds: int,
            workers: list[int], seconds: float, memory_configs: list[str] = (),
            on_result: Callable[[dict], None] = lambda result: None) -> dict:
    """The memory of `memory_configs` (CUDA only), then every chosen lever of every chosen
    configuration (module docstring); `on_result` gets the results so far after each measurement."""
    out: dict[str, dict] = {}

    def entry_of(name: str) -> dict:
        config, batch = CONFIGS[name]
        return out.setdefault(name, {"layers": config.layers, "kernels": config.kernels, "batch_size": batch})

    for name in memory_configs if device.type == "cuda" else ():
        entry_of(name)["memory"] = memory_lever(*CONFIGS[name], device)
        on_result(out)
    for name in configs:
        config, batch = CONFIGS[name]
        entry = entry_of(name)
        torch.manual_seed(0)
        trainer = Trainer(config, batch, device) if {"resident", "sync", "bf16"} & set(levers) else None
        pairs = {"resident": ({"resident": False}, {"resident": True}),  # (baseline, lever)
                 "sync": ({"sync_each": True}, {"sync_each": False}),
                 "bf16": ({"bf16": False}, {"bf16": True})}
        for lever, (base, chosen) in pairs.items():
            if lever not in levers:
                continue
            if lever == "bf16" and not native_bf16(device):
                entry[lever] = {"skipped": "no native bf16 on this device"}
            else:
                entry[lever] = lever_pair(trainer, base, chosen, steps, rounds)
            on_result(out)
        del trainer
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the worker processes get the memory this one no longer uses
        if "concurrency" in levers:
            entry["concurrency"] = concurrency(config, batch, device, workers, seconds)
            on_result(out)
        if "compile" in levers:
            entry["compile"] = compile_lever(config, batch, device, steps, rounds, None)
            on_result(out)
            if device.type == "cuda":
                entry["cuda_graphs"] = compile_lever(config, batch, device, steps, rounds, "reduce-overhead")
                on_result(out)
    return out


def _names(text: str, allowed, option: str, parser: argparse.ArgumentParser) -> list[str]:
    names = [n for n in text.split(",") if n]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        parser.error(f"--{option}: {bad or 'none'} not in {list(allowed)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--configs", default="median", help=f"of {list(CONFIGS)} (default median)")
    parser.add_argument("--levers", default=",".join(LEVERS), help=f"of {list(LEVERS)}")
    parser.add_argument("--memory-configs", default="paper_best,median,largest",
                        help="configurations whose peak memory is measured (CUDA only; '' for none)")
    parser.add_argument("--workers", default="1,2,4", help="process counts of the concurrency lever")
    parser.add_argument("--steps", type=int, default=20, help="steps a timed round (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each side (median; default 3)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of each concurrency measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file (after every measurement)")
    args = parser.parse_args(argv)
    configs = _names(args.configs, CONFIGS, "configs", parser)
    levers = _names(args.levers, LEVERS, "levers", parser)
    memory_configs = (_names(args.memory_configs, CONFIGS, "memory-configs", parser)
                      if args.memory_configs else [])
    try:
        workers = sorted({int(k) for k in args.workers.split(",")})
    except ValueError:
        parser.error(f"--workers: whole numbers separated by commas, got {args.workers!r}")
    check_at_least(parser, ("steps", args.steps, 1), ("rounds", args.rounds, 1), ("workers", workers[0], 1))
    if not args.seconds > 0:
        parser.error(f"--seconds: must be > 0, got {args.seconds}")
    try:
        device = devices.check_device(args.device)
    except ConvLSTMError as exc:
        parser.error(str(exc))
    started = time.perf_counter()
    result = {
        "device": devices.describe_device(str(device)), "torch": torch.__version__,
        "cores": devices.cpu_cores(), "load_avg_1min": round(os.getloadavg()[0], 2),
    }

    def save(configs_so_far: dict) -> None:
        result["configs"], result["wall_s"] = configs_so_far, time.perf_counter() - started
        if args.out:
            write_text(args.out, json.dumps(result, indent=1) + "\n")
        if not args.json:
            print(json.dumps(configs_so_far), flush=True)

    save(measure(device, configs, levers, args.steps, args.rounds, workers, args.seconds, memory_configs,
                 on_result=save))
    print(json.dumps(result) if args.json else f"{result['device']}, torch {result['torch']}: "
          f"{result['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
