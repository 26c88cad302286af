"""What the benchmarks share: one timed training step, and the check of their count arguments."""

from __future__ import annotations

import argparse
import time

import torch.nn.functional as F


def timed_step(net, optimizer, x, y) -> float:
    """Seconds of one training step: zero_grad, forward, MSE loss, backward, optimiser step."""
    t0 = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    F.mse_loss(net(x), y).backward()
    optimizer.step()
    return time.perf_counter() - t0


def interleaved_step_times(nets: dict, opts: dict, x, y, warmup: int, repeats: int) -> dict[str, list[float]]:
    """Step seconds of every net, `repeats` each after `warmup`, in alternating order (a, b, b, a, ...)
    so that every net sees the same load from other processes."""
    times: dict[str, list[float]] = {name: [] for name in nets}
    for i in range(warmup + repeats):
        for name in list(nets) if i % 2 == 0 else list(nets)[::-1]:
            dt = timed_step(nets[name], opts[name], x, y)
            if i >= warmup:
                times[name].append(dt)
    return times


def check_at_least(parser: argparse.ArgumentParser, *limits: tuple[str, int, int]) -> None:
    """(option name, value, least allowed) each; the parser's one-line error (exit 2) if below."""
    for name, value, least in limits:
        if value < least:
            parser.error(f"--{name}: must be >= {least}, got {value}")
