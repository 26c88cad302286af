"""The paper's profile on a GPU inside a short lease: one command, everything the README line needs.

    python3 benchmarks/paper_gpu.py --out DIR [--budget-minutes 3] [--run-limit-minutes 7]
        [--levers-minutes 2] [--profile paper] [--device cuda] [--commit SHA]

1. Checks first, in seconds, that everything the run needs imports (one line naming what is
   missing) and that the device is there, and refuses a study that already holds trials
   (throughput is measured on a fresh one).
2. Runs `run_all.py --profile P --budget-minutes M --output-dir DIR/report`: the sweep stops
   starting trials after M minutes (`experiments.sweep`), the other notebooks and the report run
   as usual. If the whole run outlasts --run-limit-minutes it is stopped, and the sweep's own
   files still give the throughput.
3. Writes DIR/paper_gpu.json (`summarise`): device, trials_complete, epochs, median_trial_s,
   workers, precision, trials_per_gpu_hour, projected_gpu_hours (the profile's n_trials x epochs
   at that rate), commit, and what they rest on; prints it and the README line.
4. Copies back what a reader checks (report.html, results.json, trials.csv, sweep.json, the
   executed notebooks as one archive, the log), then spends --levers-minutes on
   `gpu_throughput.py` (`run_levers`) into DIR/gpu_throughput.json.

Afterwards, on the CPU: `--compare-cpu DIR/trials.csv [--compare-trials 2]` retrains the cheapest
complete trials of that table on this machine's CPU from their own parameters and seeds, and
writes DIR/cpu_comparison.json: each one's final N6 test MSE on the GPU and here, and their
relative difference (a GPU run must lose no precision against the CPU).

benchmarks/README.md ("The paper's profile on a GPU") has the exact command a GPU session runs,
how the Python packages the GPU image lacks travel with it, and what to commit afterwards.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# What the pipeline imports beyond torch and the scientific stack (pyproject.toml's dependencies).
NEEDED_MODULES = (
    "numpy", "scipy", "pandas", "matplotlib", "seaborn", "sklearn", "cv2", "mlxtend", "torch", "torchmetrics",
    "optuna", "tqdm", "papermill", "jupytext", "nbconvert", "latex2mathml", "nbformat", "ipykernel",
    "jupyter_client", "matplotlib_inline", "ipywidgets",
)
RESULT = "paper_gpu.json"
LEVERS_RESULT = "gpu_throughput.json"
BROUGHT_BACK = ("report.html", "results.json")  # from the report folder
NOTEBOOKS_ARCHIVE = "notebooks.tar.gz"
COMPARISON = "cpu_comparison.json"
LOG = "run_all.log"


class PaperRunError(Exception):
    """The run cannot start or its outputs cannot be read: one line, exit 2."""


def missing_modules(names=NEEDED_MODULES) -> list[str]:
    """The modules of `names` that do not import here."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # an import can fail with more than ImportError (a broken binary)
            missing.append(name)
    return missing


def commit_of(given: str | None) -> str:
    """`given`, else this checkout's HEAD (with -dirty when it has changes), else 'unknown'."""
    if given:
        return given
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def run_pipeline(profile: str, budget_minutes: float, report_dir: Path, limit_s: float, log: Path) -> dict:
    """run_all.py for `profile` with the budget, into `report_dir`, its output in `log`; stopped
    (SIGTERM, then SIGKILL) after `limit_s`. Returns its exit status, wall time and whether it was
    stopped."""
    cmd = [sys.executable, str(ROOT / "run_all.py"), "--profile", profile, "--budget-minutes",
           f"{budget_minutes:g}", "--output-dir", str(report_dir)]
    # the notebooks' kernels import this checkout's library, whatever else is installed
    python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}
    start = time.perf_counter()
    with open(log, "w") as handle:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env)
        stopped = False
        try:
            code = proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            stopped = True
            proc.terminate()
            try:
                code = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
    return {"exit_status": code, "wall_s": time.perf_counter() - start, "stopped_at_limit": stopped}


def summarise(cfg, device_name: str, precision: str, commit: str, run: dict | None = None) -> dict:
    """The JSON of a budgeted run of `cfg`'s profile (module docstring), from its study's files.

    trials_per_gpu_hour is the counted trials over the sweep's wall time (all workers together:
    the whole GPU), projected_gpu_hours the profile's n_trials at that rate. The trials that ran
    are a random sample of the search space (slot k draws its own parameters), so their rate is
    the whole search's; the start-up of the workers and a last trial running alone count against
    it.
    """
    from convlstm_lib.experiments.sweep_record import load_summary, load_trials
    from convlstm_lib.statuses import complete_trials

    summary = load_summary(cfg)
    if not summary:
        raise PaperRunError(f"study {cfg.study_name!r}: no sweep.json: the sweep did not finish (see {LOG})")
    trials = load_trials(cfg)
    complete = complete_trials(trials, "n6_test_mse")
    counted, wall_s = int(summary["counted"]), float(summary["wall_s_this_run"])
    rate = counted / (wall_s / 3600.0) if wall_s > 0 else 0.0
    best = summary.get("best") or {}
    return {
        "device": device_name,
        "trials_complete": int(len(complete)),
        "trials_counted": counted,
        "n_trials": int(cfg.n_trials),
        "epochs": int(cfg.epochs),
        "median_trial_s": float(statistics.median(complete["runtime_s"])) if len(complete) else None,
        "workers": summary["config"]["workers"],
        "precision": precision,
        "sweep_wall_s": wall_s,
        "trials_per_gpu_hour": rate,
        "projected_gpu_hours": cfg.n_trials / rate if rate else None,
        "budget_minutes": cfg.budget_minutes,
        "stopped_by_budget": bool(summary["stopped_by_budget"]),
        "statuses": summary["status_counts"],
        "best_val_mse": best.get("val_mse"),  # the sweep's best is chosen on validation
        "best_n6_test_mse": best.get("n6_test_mse"),
        "run_all": run,
        "commit": commit,
    }


def readme_line(result: dict) -> str:
    """The README's line for the paper profile's row, from `summarise`'s JSON."""
    hours, median = result["projected_gpu_hours"], result["median_trial_s"]
    median_text = f", median trial {median:.0f} s" if median is not None else ""
    projected = (f"the whole {result['n_trials']} x {result['epochs']} projected at {hours:.2f} GPU-hours"
                 if hours is not None else "no projection (no trial counted)")
    return (f"{result['device']}: {result['trials_counted']} of {result['n_trials']} trials in "
            f"{result['sweep_wall_s'] / 60:.1f} min of sweep on {result['workers']} worker(s), "
            f"{result['precision']}{median_text}; {result['trials_per_gpu_hour']:.0f} trials a GPU-hour, "
            f"{projected} (the paper: 5.7); commit {result['commit'][:12]}")


def bring_back(report_dir: Path, cfg, out: Path) -> list[str]:
    """Copy what a reader checks into `out`: report.html, results.json, trials.csv, sweep.json and
    the executed notebooks as one archive. Returns the names copied."""
    from convlstm_lib import paths
    from convlstm_lib.experiments.sweep_storage import study_folder

    copied = []
    for name in BROUGHT_BACK:
        if (report_dir / name).is_file():
            shutil.copy2(report_dir / name, out / name)
            copied.append(name)
    for name in (paths.TRIALS_CSV, paths.SWEEP_SUMMARY):
        if (study_folder(cfg) / name).is_file():
            shutil.copy2(study_folder(cfg) / name, out / name)
            copied.append(name)
    notebooks = report_dir / "notebooks"
    if notebooks.is_dir():
        with tarfile.open(out / NOTEBOOKS_ARCHIVE, "w:gz") as archive:
            archive.add(notebooks, arcname="notebooks")
        copied.append(NOTEBOOKS_ARCHIVE)
    return copied


def run_levers(out: Path, device: str, seconds: float) -> int | None:
    """gpu_throughput.py within `seconds`: the peak memory of the paper's best, median and largest
    configurations, then the median configuration's levers (compilation last); its exit status,
    None when it was stopped at the limit (what it measured by then is in its JSON)."""
    gpu = device.startswith("cuda")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_throughput.py"), "--device", device,
           "--configs", "median" if gpu else "tiny", "--workers", "1,2,4" if gpu else "1,2",
           "--steps", "15" if gpu else "2", "--rounds", "3" if gpu else "1", "--seconds", "6" if gpu else "1",
           "--out", str(out / LEVERS_RESULT)]
    try:
        return subprocess.run(cmd, cwd=ROOT, timeout=seconds, stdout=subprocess.DEVNULL).returncode
    except subprocess.TimeoutExpired:
        return None


def trial_run(cfg, row) -> tuple:
    """(ModelConfig, TrainConfig) of a trials.csv row, as `experiments.sweep.Objective` trains it
    (its parameters and seed, cfg's epochs and learning-rate schedule, the whole training set
    `prepare_datasets` gives cfg), on the CPU."""
    from convlstm_lib.models.settings import ModelConfig
    from convlstm_lib.training.settings import TrainConfig

    model = ModelConfig(model=row["model"], layers=int(row["layers"]), kernels=int(row["kernels"]),
                        activation=row["activation"])
    train = TrainConfig(dataset=row["dataset"], lr=float(row["lr"]), batch_size=int(row["batch_size"]),
                        epochs=cfg.epochs, optimizer=row["optimizer"], seed=int(row["seed"]), device="cpu",
                        max_train_windows=0, lr_schedule=cfg.lr_schedule)
    return model, train


def compare_cpu(cfg, trials_csv: Path, count: int) -> list[dict]:
    """Retrain the `count` cheapest complete trials of `trials_csv` on the CPU (`trial_run`); for
    each, its final N6 test MSE there and here and their relative difference."""
    import pandas as pd

    from convlstm_lib.data.datasets import prepare_datasets
    from convlstm_lib.statuses import complete_trials
    from convlstm_lib.training.loop import train_model

    try:
        trials = pd.read_csv(trials_csv)
    except (OSError, ValueError) as exc:
        raise PaperRunError(f"{trials_csv}: cannot be read as a trials table ({exc})") from None
    missing = [c for c in ("status", "runtime_s", "n6_test_mse", "seed", "number") if c not in trials.columns]
    if missing:
        raise PaperRunError(f"{trials_csv}: not a sweep's trials.csv (no column {missing[0]})")
    cheapest = complete_trials(trials, "n6_test_mse").sort_values("runtime_s").head(count)
    data = prepare_datasets(cfg, progress=False)
    out = []
    for _, row in cheapest.iterrows():
        model, train = trial_run(cfg, row)
        result = train_model(model, train, data, progress=False, score_every_epoch=False)
        here, there = float(result.metrics["n6_test_mse"]), float(row["n6_test_mse"])
        out.append({"number": int(row["number"]), "model": f"{model.model} {model.layers} x {model.kernels}",
                    "optimizer": train.optimizer, "batch_size": train.batch_size,
                    "status_here": result.status,
                    "n6_test_mse_there": there, "n6_test_mse_here": here, "rel_diff": (here - there) / there,
                    "runtime_s_there": float(row["runtime_s"]), "runtime_s_here": result.runtime_s})
        print(f"paper_gpu: trial {out[-1]['number']} ({out[-1]['model']}): N6 test MSE {there:.4e} there, "
              f"{here:.4e} here ({out[-1]['rel_diff']:+.2%})", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the JSON and what comes back")
    parser.add_argument("--profile", default="paper", help="paper (default); smoke for a CPU check")
    parser.add_argument("--budget-minutes", default="3", help="the sweep's budget (default 3)")
    parser.add_argument("--run-limit-minutes", type=float, default=7.0,
                        help="stop run_all.py after this long (default 7)")
    parser.add_argument("--levers-minutes", type=float, default=2.0,
                        help="time for gpu_throughput.py afterwards (default 2; 0 = none)")
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu for a CPU check")
    parser.add_argument("--commit", help="the commit to record (default: git's HEAD here)")
    parser.add_argument("--compare-cpu", type=Path, metavar="TRIALS_CSV",
                        help="instead of a run: retrain this table's cheapest complete trials on the CPU")
    parser.add_argument("--compare-trials", type=int, default=2, help="how many (default 2)")
    args = parser.parse_args(argv)
    try:
        if args.compare_cpu is not None:
            return _compare(args)
        return _run(args)
    except PaperRunError as exc:
        print(f"paper_gpu: error: {exc}", file=sys.stderr)
        return 2


def _compare(args: argparse.Namespace) -> int:
    from convlstm_lib.config import get_profile
    from convlstm_lib.jsonio import write_json

    if args.compare_trials < 1:
        raise PaperRunError(f"--compare-trials: must be >= 1, got {args.compare_trials}")
    try:
        cfg = get_profile(args.profile)
    except ValueError as exc:
        raise PaperRunError(str(exc)) from None
    if not args.compare_cpu.is_file():
        raise PaperRunError(f"{args.compare_cpu}: no such file (the trials.csv a GPU run brought back)")
    compared = compare_cpu(cfg, args.compare_cpu, args.compare_trials)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / COMPARISON, {"profile": cfg.profile, "trials": compared})
    return 0


def _run(args: argparse.Namespace) -> int:
    missing = missing_modules()
    if missing:
        raise PaperRunError(f"these modules do not import here: {', '.join(missing)} (benchmarks/README.md: "
                            "the wheels a GPU session carries)")
    from convlstm_lib.config import check_budget_minutes, get_profile
    from convlstm_lib.errors import ConvLSTMError
    from convlstm_lib.experiments.sweep_storage import study_folder
    from convlstm_lib.training.devices import check_device
    from convlstm_lib.training.precision import resolve_precision

    try:
        budget = check_budget_minutes(args.budget_minutes)
        cfg = get_profile(args.profile, budget_minutes=budget)
        device = check_device(args.device)
    except (ConvLSTMError, ValueError) as exc:
        raise PaperRunError(str(exc)) from None
    if args.run_limit_minutes <= 0 or args.levers_minutes < 0:
        raise PaperRunError("--run-limit-minutes must be > 0 and --levers-minutes >= 0")
    folder = study_folder(cfg)
    if (folder / "trials.csv").exists() or (folder / "sweep.journal").exists():
        raise PaperRunError(f"{folder}: holds an earlier study; throughput is measured on a fresh one: "
                            "move that folder aside first")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores)"
    precision = "bf16" if resolve_precision("auto", device) == torch.bfloat16 else "fp32"
    print(f"paper_gpu: {name}, torch {torch.__version__}; run_all.py --profile {cfg.profile} "
          f"--budget-minutes {budget:g} (stopped after {args.run_limit_minutes:g} min)", flush=True)
    report_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"convlstm-{cfg.profile}-report-{os.getpid()}"
    run = run_pipeline(cfg.profile, budget, report_dir, args.run_limit_minutes * 60, args.out / LOG)
    print(f"paper_gpu: run_all.py exit {run['exit_status']} after {run['wall_s']:.0f} s"
          + (" (stopped at the limit)" if run["stopped_at_limit"] else ""), flush=True)
    result = summarise(cfg, name, precision, commit_of(args.commit), run)
    result["report_complete"] = run["exit_status"] == 0 and (report_dir / "report.html").is_file()
    from convlstm_lib.jsonio import dumps, write_json

    write_json(out / RESULT, result)
    result["brought_back"] = bring_back(report_dir, cfg, out)
    write_json(out / RESULT, result)
    print(dumps(result), end="")
    print("README:", readme_line(result), flush=True)
    if args.levers_minutes:
        status = run_levers(out, str(device), args.levers_minutes * 60)
        said = "stopped at its limit" if status is None else f"exit {status}"
        print(f"paper_gpu: gpu_throughput.py {said}", flush=True)
    return 0 if result["report_complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
