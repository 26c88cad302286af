"""The quick profile's figures under the selection protocol (every choice on validation windows),
and its measured defaults re-checked on validation.

Parts (`--part`, default all):

* ``headline``  what the quick profile trains for each headline figure, through the library:
  its data (`datasets.prepare_datasets`), its sweep (`sweep.run_sweep`, resumed from
  runs/quick/ when there; all of its trials, without the wall-clock safety net that cuts it
  short on a busy machine), the best ConvLSTM by validation MSE beside the one the paper's rule
  (the lowest N6 test MSE) would have picked (`table1.paper_rule`), the best of each kind, the
  task study (`task_study.run_study`: frame 4 and frame 16) and the final model
  (`final.train_final`). Every figure with its validation MSE and its N6 test MSE, each also as a
  ratio to copy-last on the same windows.
* ``recipe``    the final model's recipe (`config.ProfileConfig.final_*`) against one change at a
  time, each a single run with the seed of the final model's run `--run` (default 0,
  `final.final_seed(seed, run)`), two side by side (`multirun.train_runs`); `--variants` names
  the rows to train (default all).
* ``task``      the task study's budgets against the alternatives they were chosen over: the
  interpolator's epochs (`interp_epochs` against the best trial's) and windows
  (`interp_max_train_windows` against the profile's `max_train_windows`), the frame-16 refiners'
  windows (`context_max_train_windows` against `max_train_windows`). Needs the sweep's best
  ConvLSTM (part headline first).

* ``schedule``  the sweep's learning-rate schedule and batch sizes (`lr_schedule="linear"`, batches
  of 8-16) against the paper's constant rate at a large batch, on the model they were measured
  with (ConvGRU 2 x 12, RAdam 7.2e-3, 4 epochs of 2,400 base windows, seed 0), side by side.
* ``cost``      what scoring the validation windows adds: seconds to predict them against the
  test sets' (N6 test and N3, what every scored epoch predicts anyway) with the sweep's best
  ConvLSTM, interleaved, median of 5 (part headline first).

A default is kept when it has the lowest validation MSE of its row group; the test columns are
reported beside and decide nothing. Results go to runs/quick/benchmarks/protocol.json (one key a
part) and are printed as tables; benchmarks/README.md ("Every choice on validation") holds them.

    nice -n 10 .venv/bin/python benchmarks/protocol.py [--part headline|recipe|task|all] [--seed S] \
        [--run K] [--variants "NAME;NAME"]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.jsonio import write_json  # noqa: E402
from convlstm_lib.training import metrics  # noqa: E402

PARTS = ("headline", "recipe", "task", "schedule", "cost")


def _copy_last(ds) -> dict[str, float]:
    """copy-last's validation and N6 test MSE: the yardstick of every ratio."""
    from convlstm_lib.experiments.baselines import copy_last

    return {metrics.VAL_MSE: metrics.mse(copy_last(ds.val.inputs), ds.val.targets),
            "n6_test_mse": metrics.mse(copy_last(ds.n6_test.inputs), ds.n6_test.targets)}


def _row(name: str, scores: dict, yardstick: dict | None = None, **extra) -> dict:
    """A figure: its validation and N6 test MSE and, given copy-last's, both as ratios to it."""
    row = {"name": name, **{k: scores.get(k) for k in (metrics.VAL_MSE, "n6_test_mse")}}
    if yardstick:
        for key in (metrics.VAL_MSE, "n6_test_mse"):
            value = row[key]
            row[f"{key}_x_copy_last"] = None if value is None else value / yardstick[key]
    return {**row, **extra}


def _print(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'':<58} {'val MSE':>10} {'x copy':>7} {'N6 test MSE':>12} {'x copy':>7}")
    def cell(r, key, fmt):
        value = r.get(key)
        return format(value, fmt) if isinstance(value, (int, float)) else "-"

    for r in rows:
        print(f"{r['name']:<58} {cell(r, 'val_mse', '10.3e'):>10} "
              f"{cell(r, 'val_mse_x_copy_last', '7.3f'):>7} {cell(r, 'n6_test_mse', '12.3e'):>12} "
              f"{cell(r, 'n6_test_mse_x_copy_last', '7.3f'):>7}")


def headline(cfg) -> dict:
    """The quick profile's headline figures under the protocol (module docstring)."""
    from convlstm_lib.data.datasets import load_datasets, prepare_datasets
    from convlstm_lib.data.sources import load_raw
    from convlstm_lib.experiments import final, task_study
    from convlstm_lib.experiments import table1 as results
    from convlstm_lib.experiments.sweep import run_sweep
    from convlstm_lib.experiments.sweep_record import best_per_model, trials_frame

    seconds = {}
    t0 = time.perf_counter()
    ds = prepare_datasets(cfg, progress=False)
    seconds["data"] = time.perf_counter() - t0
    yard = _copy_last(ds)
    t0 = time.perf_counter()
    study = run_sweep(replace(cfg, sweep_budget_s=0.0), progress=False)
    seconds["sweep"] = time.perf_counter() - t0
    trials = trials_frame(study)
    best = results.best_trial(trials, model=results.PAPER_MODEL)
    rule = results.paper_rule(trials).set_index("training_set")
    rows = [
        _row("copy-last", yard, yard),
        _row(f"best ConvLSTM by validation (trial {int(best['number'])})", best, yard),
    ]
    paper_pick = trials.set_index("number").loc[int(rule.loc[results.OVERALL, "paper_rule_trial"])]
    rows.append(_row(f"best ConvLSTM by the paper's rule, N6 test (trial {int(paper_pick.name)})",
                     paper_pick, yard))
    for kind, entry in best_per_model(trials).items():
        if entry:
            rows.append(_row(f"best {kind} by validation (trial {entry['number']})", entry, yard))
    t0 = time.perf_counter()
    full = load_datasets(paths.processed_dir(cfg.profile))
    raw = load_raw(cfg, progress=False)
    tasks = task_study.run_study(cfg, full, raw, paths.from_repo(best["checkpoint"]))
    seconds["task_study"] = time.perf_counter() - t0
    f4, f16 = tasks["frame4"], tasks["frame16"]
    for key in ("extrapolate", "interpolate", "neighbour_mean", "copy_last"):
        rows.append(_row(f"frame 4: {key}", f4[key]))
    for key, entry in f16.items():
        if isinstance(entry, dict) and "n6_test_mse" in entry:
            rows.append(_row(f"frame 16: {key}", entry))
    t0 = time.perf_counter()
    final_model = final.train_final(cfg)
    seconds["final"] = time.perf_counter() - t0
    record = final_model.record
    for k, run in enumerate(record["runs"]):
        rows.append(_row(f"final run {k}", run, yard))
    rows.append(_row(f"final model ({record['members']} runs averaged)", record, yard))
    _print("headline figures (quick profile, chosen on validation)", rows)
    print(f"frame 4 for the course: {f4['course_csv']}; frame 16: {f16['course_csv']}; "
          f"interpolation / neighbour mean on N6 test: {f4['ratios']['interpolate_to_neighbour_mean']:.3f}")
    print("paper's rule beside each pick (ConvLSTM):")
    print(rule.to_string())
    return {"rows": rows, "paper_rule": results.paper_rule_record(trials), "frame4": f4, "frame16": f16,
            "final": record, "validation": ds.validation, "seconds": seconds,
            "best_checkpoint": str(best["checkpoint"])}


def recipe(cfg, run: int = 0, only: tuple[str, ...] = ()) -> dict:
    """The final recipe against one change at a time (module docstring); `only`: the rows to train."""
    from convlstm_lib.experiments import final
    from convlstm_lib.training.multirun import train_runs

    source = final.final_source(cfg)
    data = source.load()
    yard = _copy_last(data)
    model_cfg, train_cfg = final.final_jobs(replace(cfg, final_runs=run + 1))[run]
    variants = {
        f"the recipe: {cfg.final_model} {cfg.final_layers} x {cfg.final_kernels}, frames as channels, "
        f"{cfg.final_epochs} epochs, jump targets dropped": (model_cfg, train_cfg),
        "jump targets kept": (model_cfg, replace(train_cfg, drop_jump_targets=False)),
        "3 epochs": (model_cfg, replace(train_cfg, epochs=3)),
        "frames as time steps": (replace(model_cfg, frames_as_channels=False), train_cfg),
        # the width a stack reading its frames as time steps can pay for in the recipe's time
        f"frames as time steps, {cfg.final_layers} x {cfg.final_kernels // 2}":
            (replace(model_cfg, frames_as_channels=False, kernels=cfg.final_kernels // 2), train_cfg),
        f"{cfg.final_layers} x 24": (replace(model_cfg, kernels=24), train_cfg),
        "ConvLSTM": (replace(model_cfg, model="convlstm"), train_cfg),
        f"lr {cfg.final_lr / 2:.3g}": (model_cfg, replace(train_cfg, lr=cfg.final_lr / 2)),
        f"lr {cfg.final_lr * 2:.3g}": (model_cfg, replace(train_cfg, lr=cfg.final_lr * 2)),
        "batch 16": (model_cfg, replace(train_cfg, batch_size=16)),
        "denoised set": (model_cfg, replace(train_cfg, dataset="denoised")),
    }
    unknown = sorted(set(only) - set(variants))
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; choose among {list(variants)}")
    variants = {name: job for name, job in variants.items() if not only or name in only}
    t0 = time.perf_counter()
    outcomes = train_runs(list(variants.values()), data=data, source=source, workers=cfg.workers)
    rows = [_row(name, o.metrics, yard, seconds=o.runtime_s, status=o.status)
            for name, o in zip(variants, outcomes, strict=True)]
    wall = time.perf_counter() - t0
    _print(f"final recipe, one change at a time (seed {train_cfg.seed}; {wall:.0f} s)", rows)
    kept = min(rows, key=lambda r: r[metrics.VAL_MSE])["name"]
    print(f"lowest validation MSE: {kept}")
    return {"rows": rows, "lowest_val": kept, "model_config": asdict(model_cfg),
            "train_config": asdict(train_cfg)}


def task_budgets(cfg, best_checkpoint: str) -> dict:
    """The task study's budgets against their alternatives (module docstring)."""
    from convlstm_lib.data.datasets import load_datasets
    from convlstm_lib.data.sources import load_raw
    from convlstm_lib.experiments import task_study
    from convlstm_lib.training.checkpoints import load_checkpoint

    full = load_datasets(paths.processed_dir(cfg.profile))
    raw = load_raw(cfg, progress=False)
    best = load_checkpoint(paths.from_repo(best_checkpoint))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        interp = {
            f"interpolator: {cfg.interp_epochs} epochs, {cfg.interp_max_train_windows} windows "
            "(the profile's)": cfg,
            f"interpolator: the best trial's {best.train_config.epochs} epochs":
                replace(cfg, interp_epochs=0),
            f"interpolator: {cfg.max_train_windows} windows": replace(cfg, interp_max_train_windows=0),
        }
        rows = []
        for name, variant in interp.items():
            train_cfg = task_study.study_train_configs(variant, best.train_config)[0]
            entry = task_study.frame4_study(full, raw, best, train_cfg, Path(tmp))["interpolate"]
            rows.append(_row(name, entry, seconds=entry["runtime_s"]))
        _print("frame 4: the interpolator's budget", rows)
        out["interp"] = rows
        rows = []
        for name, variant in {
            f"refiners on {cfg.context_max_train_windows} windows (the profile's)": cfg,
            f"refiners on {cfg.max_train_windows} windows": replace(cfg, context_max_train_windows=0),
        }.items():
            train_cfg = task_study.study_train_configs(variant, best.train_config)[1]
            payload = task_study.frame16_study(full, raw, best, train_cfg, cfg.frame16_contexts, Path(tmp),
                                               refiner=cfg.refiner)
            for key, entry in payload.items():
                if isinstance(entry, dict) and "runtime_s" in entry:
                    rows.append(_row(f"{name}: {key}", entry, seconds=entry["runtime_s"]))
            rows.append(_row(f"{name}: chosen {payload['course_csv']}", payload[payload["course_csv"]]))
        _print("frame 16: the refiners' windows", rows)
        out["context"] = rows
    return out


def schedule(cfg) -> dict:
    """The sweep's schedule and batch against the paper's constant rate at batch 50 (module docstring)."""
    from convlstm_lib.models.settings import ModelConfig
    from convlstm_lib.training.multirun import DataSource, train_runs
    from convlstm_lib.training.settings import TrainConfig

    source = DataSource.for_profile(cfg)
    data = source.load()
    yard = _copy_last(data)
    model_cfg = ModelConfig(model="convgru", layers=2, kernels=12, activation="tanh")
    base = TrainConfig(dataset="base", lr=7.2e-3, epochs=4, optimizer="RAdam", seed=cfg.seed,
                       max_train_windows=0)
    variants = {
        "batch 8, linear decay to zero (the profile's)": replace(base, batch_size=8, lr_schedule="linear"),
        "batch 50, constant rate (the paper's way)": replace(base, batch_size=50, lr_schedule="constant"),
    }
    outcomes = train_runs([(model_cfg, t) for t in variants.values()], data=data, source=source,
                          workers=cfg.workers)
    rows = [_row(name, o.metrics, yard, seconds=o.runtime_s)
            for name, o in zip(variants, outcomes, strict=True)]
    _print("the sweep's schedule and batch (ConvGRU 2 x 12, RAdam 7.2e-3, 4 epochs, 2,400 windows)", rows)
    return {"rows": rows}


def scoring_cost(cfg, best_checkpoint: str, repeats: int = 5) -> dict:
    """Seconds to predict the validation windows and the test sets, interleaved (module docstring)."""
    import statistics

    from convlstm_lib.data.datasets import load_datasets
    from convlstm_lib.training.checkpoints import load_checkpoint
    from convlstm_lib.training.evaluation import predict_frames

    ds = load_datasets(paths.processed_dir(cfg.profile))
    model = load_checkpoint(paths.from_repo(best_checkpoint)).model
    sets = {"val": [ds.val], "test": [ds.n6_test, ds.n3]}
    times: dict[str, list[float]] = {name: [] for name in sets}
    for i in range(repeats + 1):
        for name in sets if i % 2 == 0 else list(sets)[::-1]:
            t0 = time.perf_counter()
            for ws in sets[name]:
                predict_frames(model, ws.inputs)
            if i:  # the first round warms up
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    out = {"windows": {name: sum(len(ws) for ws in group) for name, group in sets.items()},
           "seconds": med, "val_to_test": med["val"] / med["test"]}
    print(f"\nscoring: validation {out['windows']['val']} windows {med['val']:.2f} s, test sets "
          f"{out['windows']['test']} windows {med['test']:.2f} s: validation adds {out['val_to_test']:.2f} x")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--seed", type=int, default=0, help="the quick profile's seed (default 0)")
    parser.add_argument("--run", type=int, default=0, help="recipe: the final model's run whose seed to use")
    parser.add_argument("--variants", default="", help="recipe: the rows to train, separated by ';'")
    args = parser.parse_args(argv)
    cfg = get_profile("quick", seed=args.seed)
    target = paths.runs_dir(cfg.profile) / "benchmarks" / "protocol.json"
    done = json.loads(target.read_text()) if target.is_file() else {}
    parts = PARTS if args.part == "all" else (args.part,)
    for part in parts:
        if part == "headline":
            done[part] = headline(cfg)
        elif part == "schedule":
            done[part] = schedule(cfg)
        elif part == "recipe":
            only = tuple(v for v in args.variants.split(";") if v)
            key = part if not (args.run or only) else f"recipe run {args.run}: {'; '.join(only) or 'all'}"
            done[key] = recipe(cfg, args.run, only)
        else:
            if "headline" not in done:
                parser.error(f"--part {part}: needs the sweep's best ConvLSTM; run --part headline first")
            best = done["headline"]["best_checkpoint"]
            done[part] = task_budgets(cfg, best) if part == "task" else scoring_cost(cfg, best)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json(target, done)
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
