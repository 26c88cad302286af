"""Training cost per epoch of each task's windows, side by side in one process.

One epoch of `loop.train_model` (training steps plus the per-epoch scoring of the task's
test windows) for each task, on random frames of the real size (the cost does not depend on the
pixel values) with the windows each task has per N6 sequence: the paper's extrapolate-2 (10 per
sequence), interpolate-2 (7 per sequence, frames as channels: one time step), extrapolate-4 and
extrapolate-11 (10 per sequence, 4 and 11 time steps). The model is the quick profile's typical
best (2 layers x 15 kernels, batch 41). Tasks run in turn, `--repeats` rounds, best time kept (the
machine is shared); the ratio to extrapolate-2 is what carries over between machines.

    .venv/bin/python benchmarks/task_cost.py [--sequences 100] [--repeats 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from convlstm_lib.data.preprocessing import Scaler  # noqa: E402
from convlstm_lib.data.tasks import INTERPOLATE, PAPER_TASK, Task, TaskData, task_windows  # noqa: E402
from convlstm_lib.models import build as task_models  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.training.loop import train_model  # noqa: E402
from convlstm_lib.training.settings import TrainConfig  # noqa: E402

TASKS = (PAPER_TASK, INTERPOLATE, Task("extrapolate", 4), Task("extrapolate", 11))


def task_data_of(task: Task, sequences: np.ndarray) -> TaskData:
    """The task's windows of `sequences`, the last tenth of them held out as validation windows."""
    windows, test = task_windows(task, sequences)
    held = windows.seq >= len(sequences) - max(1, len(sequences) // 10)
    train, val = windows.subset(~held), windows.subset(held)
    sets = {name: train for name in ("base", "cleaned", "denoised", "processed")}
    return TaskData(task, tuple(np.unique(test.frame).tolist()), sets, val, test, test, Scaler(0.0, 1.0))


def one_epoch(task: Task, data: TaskData, model_cfg: ModelConfig, batch_size: int) -> float:
    train_cfg = TrainConfig(
        dataset="base", lr=1e-3, batch_size=batch_size, epochs=1, device="cpu", task=task.name
    )
    start = time.perf_counter()
    train_model(task_models.model_config_for(model_cfg, task), train_cfg, data, progress=False)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=100, help="N6 sequences (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds, best kept (default %(default)s)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--kernels", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=41)
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args(argv)
    for name in ("sequences", "repeats", "layers", "kernels", "batch_size"):
        if getattr(args, name) < 1:
            print(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}", file=sys.stderr)
            return 2
    sequences = np.random.default_rng(0).random((args.sequences, 16, 36, 36)).astype(np.float32)
    model_cfg = ModelConfig(layers=args.layers, kernels=args.kernels, activation="relu")
    data = {task.name: task_data_of(task, sequences) for task in TASKS}
    best = {name: float("inf") for name in data}
    for _ in range(args.repeats):
        for task in TASKS:
            best[task.name] = min(
                best[task.name], one_epoch(task, data[task.name], model_cfg, args.batch_size)
            )
    rows = {
        name: {
            "train_windows": len(d.train["base"]),
            "frames_per_window": d.task.frames_in,
            "s_per_epoch": best[name],
            "ratio_to_extrapolate_2": best[name] / best[PAPER_TASK.name],
        }
        for name, d in data.items()
    }
    meta = {
        "sequences": args.sequences,
        "model": f"{args.layers}x{args.kernels}",
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps({"meta": meta, "tasks": rows}))
        return 0
    print(
        f"one epoch on {args.sequences} N6 sequences, model {meta['model']}, batch {args.batch_size}, "
        f"{meta['torch_threads']} torch threads"
    )
    print(f"{'task':<16}{'windows':>9}{'frames':>8}{'s/epoch':>10}{'x extrapolate-2':>17}")
    for name, row in rows.items():
        print(
            f"{name:<16}{row['train_windows']:>9}{row['frames_per_window']:>8}{row['s_per_epoch']:>10.2f}"
            f"{row['ratio_to_extrapolate_2']:>17.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
