"""Training-step speed: the library's fused ConvLSTM vs the reference Equation 2.

For each configuration (the paper's best: 4 layers, 71 kernels, ReLU, batch 32; and a typical
quick-profile model) this script

1. builds the library model (`fused.FusedConvLSTMCell`) and the reference model
   (`build_model(config, fused=False)`: `cells.ConvLSTMCell`, Equation 2 as written) with the
   SAME weights, runs both on the same batch and checks that outputs agree within 1e-4 and that
   every parameter gradient agrees within 1e-4 (relative to the largest gradient);
2. times one training step (zero_grad, forward, MSE loss, backward, Adam step) of each,
   interleaved (fast, naive, fast, naive, ...) after warm-up steps, `--repeats` times,
   and reports the median samples/s, the achieved GFLOP/s measured on one yardstick (the
   FLOPs of plain Equation 2, `stack.train_step_flops`) and the speed-up;
3. profiles a few fast steps and reports the time they spend in convolutions (forward and
   backward, the kernels oneDNN runs near this CPU's peak) and the bound that puts on the
   speed-up: naive step time / convolution time, what the fast path would reach if
   everything but its convolutions took no time at all.

Other processes share the CPU: interleaving makes both sides see the same load; the load
average is printed with the table. `--json` prints one JSON line instead.

    .venv/bin/python benchmarks/train_step.py [--repeats 7] [--json] [--threads N] [--only-best] [--compile]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import interleaved_step_times, timed_step  # noqa: E402
from convlstm_lib.config import PROFILES  # noqa: E402
from convlstm_lib.models.build import build_model  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.models.stack import train_step_flops  # noqa: E402


def reference_of(model: torch.nn.Module) -> torch.nn.Module:
    """The reference (unfused) model with exactly `model`'s parameters and statistics."""
    ref = build_model(model.config, fused=False)
    ref.load_state_dict(model.state_dict())
    return ref.train(model.training)


def configurations() -> list[tuple[str, ModelConfig, int]]:
    """(name, model config, batch size): the paper's best, and the middle of the quick profile's ranges."""
    quick = PROFILES["quick"]
    typical = ModelConfig(
        layers=quick.layers_max, kernels=(quick.kernels_min + quick.kernels_max) // 2, activation="relu"
    )
    typical_batch = (quick.batch_size_min + quick.batch_size_max) // 2
    return [
        ("paper best (4x71 relu, batch 32)", ModelConfig(layers=4, kernels=71, activation="relu"), 32),
        (
            f"quick typical ({typical.layers}x{typical.kernels} relu, batch {typical_batch})",
            typical,
            typical_batch,
        ),
    ]


def check_agreement(model, naive, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(max |output difference|, max |gradient difference| / max |gradient|), both in train mode."""
    outputs = []
    for net in (model, naive):
        net.zero_grad(set_to_none=True)
        out = net(x)
        F.mse_loss(out, y).backward()
        outputs.append(out.detach())
    out_err = float((outputs[0] - outputs[1]).abs().max())
    theirs = {name: p.grad for name, p in naive.named_parameters()}
    scale = max(float(p.grad.abs().max()) for p in model.parameters())
    grad_err = max(float((p.grad - theirs[name]).abs().max()) for name, p in model.named_parameters())
    return out_err, grad_err / max(scale, 1e-12)


# Operators that are convolutions in the fast step: oneDNN's forward and backward, and the
# matrix products of the one-channel first-step convolution (fused._first_step_conv).
CONVOLUTION_OPS = ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::addmm", "aten::mm")


def convolution_seconds(net, optimizer, x, y, steps: int = 3) -> float:
    """Seconds per training step spent inside convolution operators (profiled, `steps` steps).

    The profiler times each operator where it is called (wall clock of that call, all
    threads working inside it), so the sum is the step's time in convolutions.
    """
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            timed_step(net, optimizer, x, y)
    micros = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in CONVOLUTION_OPS)
    return micros / 1e6 / steps


def benchmark(
    config: ModelConfig, batch: int, repeats: int, warmup: int = 2, seed: int = 0, compiled: bool = False
) -> dict:
    """Agreement, then interleaved step timings of the fast and naive models (and, with
    `compiled`, of torch.compile(fast model), sharing its weights and optimiser)."""
    torch.manual_seed(seed)
    model = build_model(config)
    naive = reference_of(model)
    x = torch.rand(batch, 2, config.in_channels, config.height, config.width)
    y = torch.rand(batch, 1, config.height, config.width)
    out_err, grad_err = check_agreement(model, naive, x, y)
    if out_err > 1e-4 or grad_err > 1e-4:
        raise SystemExit(
            f"implementations disagree: output {out_err:.2e}, gradient {grad_err:.2e} (limit 1e-4)"
        )
    opts = {
        "fast": torch.optim.Adam(model.parameters(), 1e-3),
        "naive": torch.optim.Adam(naive.parameters(), 1e-3),
    }
    nets = {"fast": model, "naive": naive}
    if compiled:
        nets["compiled"], opts["compiled"] = torch.compile(model), opts["fast"]
        timed_step(nets["compiled"], opts["compiled"], x, y)  # compiles (C++ code generation: slow)
    times = interleaved_step_times(nets, opts, x, y, warmup, repeats)
    flops = train_step_flops(config) * batch
    med = {k: statistics.median(v) for k, v in times.items()}
    conv_s = convolution_seconds(model, opts["fast"], x, y)
    extra = {}
    if compiled:
        extra = {
            "compiled_samples_per_s": batch / med["compiled"],
            "compiled_speedup": med["naive"] / med["compiled"],
        }
    return {
        **extra,
        "config": {**config.to_dict(), "batch_size": batch},
        "samples_per_s": batch / med["fast"],
        "naive_samples_per_s": batch / med["naive"],
        "speedup": med["naive"] / med["fast"],
        "conv_s": conv_s,
        "speedup_bound": med["naive"] / conv_s,
        "gflops": flops / med["fast"] / 1e9,
        "naive_gflops": flops / med["naive"] / 1e9,
        "step_s": med["fast"],
        "naive_step_s": med["naive"],
        "fast_step_s_all": times["fast"],
        "naive_step_s_all": times["naive"],
        "max_output_diff": out_err,
        "max_grad_rel_diff": grad_err,
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed steps per implementation (median reported)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--only-best", action="store_true", help="skip the quick-profile configuration")
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile(fast model) (needs a C++ compiler)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)
    limits = (("repeats", args.repeats, 1), ("warmup", args.warmup, 0), ("threads", args.threads, 0))
    for name, value, least in limits:
        if value < least:
            parser.error(f"--{name}: must be >= {least}, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    results = []
    for name, config, batch in configurations()[: 1 if args.only_best else None]:
        results.append((name, benchmark(config, batch, args.repeats, args.warmup, compiled=args.compile)))
    load_after = os.getloadavg()[0]
    best = results[0][1]
    env = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_avg_1min": [round(load_before, 2), round(load_after, 2)],
    }
    if args.json:
        line = {
            k: best[k]
            for k in (
                "speedup",
                "speedup_bound",
                "samples_per_s",
                "naive_samples_per_s",
                "config",
                "gflops",
                "naive_gflops",
                "max_output_diff",
                "max_grad_rel_diff",
                "repeats",
                "compiled_samples_per_s",
                "compiled_speedup",
            )
            if k in best
        }
        line["others"] = [
            {
                "name": n,
                **{
                    k: r[k]
                    for k in ("speedup", "speedup_bound", "samples_per_s", "naive_samples_per_s", "config")
                },
            }
            for n, r in results[1:]
        ]
        line["environment"] = env
        print(json.dumps(line))
        return 0
    print(
        f"torch {env['torch']}, {env['threads']} threads, "
        f"load average {load_before:.2f} -> {load_after:.2f}; "
        f"median of {args.repeats} interleaved steps; GFLOP/s counted on plain Equation 2's FLOPs"
    )
    header = (
        f"{'configuration':<40} {'fast samples/s':>14} {'naive samples/s':>15} {'fast GFLOP/s':>12} "
        f"{'naive GFLOP/s':>13} {'speedup':>8} {'conv share':>10} {'bound':>7} "
        f"{'max |dy|':>9} {'grad rel':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results:
        print(
            f"{name:<40} {r['samples_per_s']:>14.2f} {r['naive_samples_per_s']:>15.2f} {r['gflops']:>12.1f} "
            f"{r['naive_gflops']:>13.1f} {r['speedup']:>7.2f}x "
            f"{r['conv_s'] / r['step_s']:>10.0%} {r['speedup_bound']:>6.2f}x "
            f"{r['max_output_diff']:>9.1e} {r['max_grad_rel_diff']:>9.1e}"
        )
        if "compiled_speedup" in r:
            print(
                f"{'  torch.compile(fast model)':<40} {r['compiled_samples_per_s']:>14.2f} "
                f"{'':>15} {'':>12} {'':>13} {r['compiled_speedup']:>7.2f}x"
            )
    print(
        "conv share: the fast step's time inside convolutions (profiled); bound: naive step time / that "
        "time, the speed-up if everything but the convolutions were free"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
