"""Seconds per intensity level of each input corruption of the robustness study, side by side.

Corrupts an N6-test-sized input (800 windows x 2 frames of 36 x 36, random on [0, 1]; with
`--profile`, that profile's processed N6 test inputs) at `--levels` intensities of every noise
kind, the kinds interleaved, and reports the best of `--repeats` runs per kind and its ratio to
the Gaussian's. Prints a table, or one JSON line with `--json`.

    .venv/bin/python benchmarks/corruption.py [--levels 9] [--repeats 3] [--profile quick] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import check_at_least  # noqa: E402
from convlstm_lib.data import corruption  # noqa: E402


def seconds_per_level(inputs: np.ndarray, levels: int, repeats: int, seed: int = 0) -> dict[str, float]:
    """Best seconds per level of every kind of `corruption.NOISE_KINDS` on `inputs` (N, 2, H, W)."""
    grid = np.linspace(0.0, 1.0, levels)
    best = {kind: float("inf") for kind in corruption.NOISE_KINDS}
    for run in range(repeats):
        kinds = corruption.NOISE_KINDS if run % 2 == 0 else corruption.NOISE_KINDS[::-1]
        for kind in kinds:
            start = time.perf_counter()
            for _level, _corrupted in corruption.iter_levels(inputs, kind, grid, seed=seed):
                pass
            best[kind] = min(best[kind], (time.perf_counter() - start) / levels)
    return best


def n6_test_inputs(profile: str | None) -> np.ndarray:
    """The profile's processed N6 test inputs, or random inputs of the same size."""
    if profile is None:
        return np.random.default_rng(0).random((800, 2, 36, 36)).astype(np.float32)
    from convlstm_lib.config import get_profile
    from convlstm_lib.data.datasets import prepare_datasets

    return prepare_datasets(get_profile(profile), progress=False).n6_test.inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=9, help="intensities from 0 to 1 (the quick profile's)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per kind; the best is reported")
    parser.add_argument("--profile", default=None, help="corrupt this profile's N6 test inputs")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args(argv)
    check_at_least(parser, ("levels", args.levels, 2), ("repeats", args.repeats, 1))
    inputs = n6_test_inputs(args.profile)
    seconds = seconds_per_level(inputs, args.levels, args.repeats)
    ratios = {kind: s / seconds["gaussian"] for kind, s in seconds.items()}
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"seconds_per_level": seconds, "ratio_to_gaussian": ratios,
                          "inputs": list(inputs.shape), "load_average": load, "cpus": os.cpu_count()}))
    else:
        print(f"inputs {tuple(inputs.shape)}, {args.levels} levels (load {load:.2f}, {os.cpu_count()} CPUs)")
        print(f"{'kind':<16} {'s per level':>12} {'x Gaussian':>11}")
        for kind, s in seconds.items():
            print(f"{kind:<16} {s:>12.4f} {ratios[kind]:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
