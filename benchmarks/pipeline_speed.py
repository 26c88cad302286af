"""Data-side speed against its time budgets, measured here instead of in timed unit tests.

Times, on full-size data (N6: 400 sequences, N3: 100), each stage the project promises a budget for:

| stage | budget |
|---|---|
| `generate` both sets (CSV + ground truth written) | 30 s |
| reading `train_data_n6.csv` (5600 rows) | 1 s |
| all pre-processing of N6: scaling, outliers, windows, four training sets (denoising included) | 20 s |
| corrupting the N6 test inputs (800 x 2 frames) at 100 levels of each noise kind | 10 s |

Each stage runs `--repeats` times and the best time is reported (the machine is shared: the best
run is the one least disturbed). Prints a table, or one JSON line with `--json`; exits 1 if a
stage is over its budget, so it can gate a release by hand (it is deliberately not a unit test).

    .venv/bin/python benchmarks/pipeline_speed.py [--repeats 2] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from convlstm_lib.data import (
    corruption,
    preprocessing,  # noqa: E402
)
from convlstm_lib.data.course_io import read_course_csv  # noqa: E402
from convlstm_lib.data.generator import generate_set, write_dataset  # noqa: E402

BUDGETS_S = {"generate": 30.0, "read_csv": 1.0, "preprocess_n6": 20.0, "corrupt_100_levels": 10.0}


def best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def preprocess(frames: np.ndarray) -> dict:
    """The N6 pre-processing chain as datasets.build runs it, on (N, 16, 36, 36) raw frames."""
    scaled, _ = preprocessing.scale_to_unit(frames)
    report = preprocessing.detect_outliers(scaled)
    train, _ = preprocessing.make_windows(scaled)
    return preprocessing.build_training_sets(train, report.flagged_sequences)


def corrupt_all(x: np.ndarray) -> None:
    levels = np.linspace(0.0, 1.0, 100)
    for kind in corruption.NOISE_KINDS:
        for _ in corruption.iter_levels(x, kind, levels):
            pass


def measure(repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        seconds = {"generate": best_of(lambda: write_dataset(out, seed=0, progress=False), repeats)}
        seconds["read_csv"] = best_of(lambda: read_course_csv(out / "train_data_n6.csv"), repeats)
    frames = generate_set(6, 400, seed=0).frames.astype(np.float64)
    seconds["preprocess_n6"] = best_of(lambda: preprocess(frames), repeats)
    test_inputs = np.random.default_rng(0).random((800, 2, 36, 36)).astype(np.float32)
    seconds["corrupt_100_levels"] = best_of(lambda: corrupt_all(test_inputs), repeats)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per stage; the best is reported")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats: must be >= 1, got {args.repeats}")
    seconds = measure(args.repeats)
    over = [k for k, s in seconds.items() if s > BUDGETS_S[k]]
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"seconds": seconds, "budgets_s": BUDGETS_S, "over_budget": over,
                          "load_average": load, "cpus": os.cpu_count()}))
    else:
        print(f"{'stage':<20} {'best s':>8} {'budget s':>9}  ok   (load {load:.2f}, {os.cpu_count()} CPUs)")
        for key, s in seconds.items():
            print(f"{key:<20} {s:>8.2f} {BUDGETS_S[key]:>9.1f}  {'yes' if s <= BUDGETS_S[key] else 'NO'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
