"""bf16 against fp32 where it counts: seconds per epoch and the final validation MSE.

For the paper's best configuration (4 layers, 71 kernels, ReLU, batch 32, Adam) and the quick
profile's best (the parameters of the committed report's best trial, `report/results.json`),
this script trains the same model from the same seed on the same data twice through the
library's `loop.train_model`: in float32, and inside `torch.autocast(bfloat16)` (what
`--precision bf16` does; here forced even on a CPU without native bf16, where the library
itself refuses it, so that the cost of emulation is measured, not guessed). The fused
ConvLSTM cell runs its reference Equation 2 under autocast (`fused.FusedConvLSTMCell`).

It reports seconds per epoch (training and scoring), the final validation MSE of each (and
the N6 test MSE beside it, reported only), the speed ratio and the relative difference of the
validation MSEs; and for every configuration the median time of one training step
(interleaved fp32 / bf16 after warm-up), which is all `--steps-only` measures (the paper's
best trains for hours per run on a 2-core CPU; its default). The verdict: bf16 qualifies on
this device when it is faster for every configuration *and* its final validation MSE is within
`precision.MSE_TOLERANCE` (2 %) of fp32's for every configuration. `--precision auto` reads
only the table committed in the library (`precision.BF16_VERDICTS`): the script prints the
entry to commit there, with its numbers for benchmarks/README.md; it writes nothing.

    .venv/bin/python benchmarks/precision.py [--epochs 4] [--max-train-windows N] \
        [--only quick|paper] [--threads N] [--device cpu|cuda] [--json]

The data are the quick profile's (prepared and cached on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import check_at_least  # noqa: E402
from convlstm_lib import paths  # noqa: E402
from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.models.build import build_model  # noqa: E402
from convlstm_lib.models.settings import ModelConfig  # noqa: E402
from convlstm_lib.training.devices import check_device  # noqa: E402
from convlstm_lib.training.loop import train_model  # noqa: E402
from convlstm_lib.training.metrics import VAL_MSE  # noqa: E402
from convlstm_lib.training.precision import MSE_TOLERANCE, device_key, native_bf16  # noqa: E402
from convlstm_lib.training.settings import TrainConfig  # noqa: E402

CPU = torch.device("cpu")

# The quick profile's best trial when no report is there to read it from (report of 2026-11).
QUICK_BEST = {
    "model": "convlstm",
    "layers": 2,
    "kernels": 15,
    "activation": "tanh",
    "lr": 0.003945326057853032,
    "batch_size": 41,
    "optimizer": "RAdam",
    "dataset": "denoised",
}


def quick_best() -> dict:
    """The committed report's best trial parameters (model kind included), or QUICK_BEST."""
    try:
        best = json.loads((paths.REPORT_DIR / "results.json").read_text())["best"]
        return {"model": best.get("model", "convlstm"), **best["parameters"], "dataset": best["training_set"]}
    except (OSError, ValueError, KeyError):
        return dict(QUICK_BEST)


def configurations() -> dict[str, dict]:
    return {
        "paper": {
            "model": "convlstm",
            "layers": 4,
            "kernels": 71,
            "activation": "relu",
            "lr": 1e-3,
            "batch_size": 32,
            "optimizer": "Adam",
            "dataset": "processed",
        },
        "quick": quick_best(),
    }


def _model_config(params: dict) -> ModelConfig:
    return ModelConfig(
        model=params["model"], layers=params["layers"], kernels=params["kernels"],
        activation=params["activation"],
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_speed(params: dict, repeats: int = 5, warmup: int = 1, device: torch.device = CPU) -> dict:
    """Median seconds of one training step in fp32 and under bf16 autocast (interleaved)."""
    torch.manual_seed(0)
    net = build_model(_model_config(params)).to(device)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(params["batch_size"], 2, 1, 36, 36, device=device)
    y = torch.rand(params["batch_size"], 1, 36, 36, device=device)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for i in range(warmup + repeats):
        for name in ("fp32", "bf16") if i % 2 == 0 else ("bf16", "fp32"):
            _sync(device)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=name == "bf16"):
                out = net(x)
            F.mse_loss(out.float(), y).backward()
            opt.step()
            _sync(device)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    speedup = med["fp32"] / med["bf16"]
    return {"fp32_step_s": med["fp32"], "bf16_step_s": med["bf16"], "step_speedup": speedup}


def train_both(
    params: dict, data, epochs: int, max_train_windows: int, seed: int = 0, device: torch.device = CPU
) -> dict:
    """Train fp32 then bf16 (autocast) from the same seed; seconds per epoch and final metrics."""
    train_cfg = TrainConfig(
        dataset=params["dataset"], lr=params["lr"], batch_size=params["batch_size"], epochs=epochs,
        optimizer=params["optimizer"], seed=seed, device=str(device), precision="fp32",
        max_train_windows=max_train_windows,
    )
    out = {"params": params, "epochs": epochs, "max_train_windows": max_train_windows}
    native = native_bf16(device)
    for name in ("fp32", "bf16"):
        if name == "bf16" and native:
            # What `--precision bf16` does: autocast around each forward pass, scoring in fp32.
            bf16_cfg = replace(train_cfg, precision="bf16")
            result = train_model(_model_config(params), bf16_cfg, data, progress=False)
        else:
            # Emulated bf16 is refused by the library: forced here, one autocast region around the
            # whole run (scoring too). Its cast cache must be off: autocast keeps the bf16 copy of
            # each weight for the rest of its region, so the forward passes would keep reading the
            # first step's weights (benchmarks/README.md, "bf16 against fp32").
            forced = torch.autocast(
                device.type, dtype=torch.bfloat16, enabled=name == "bf16", cache_enabled=False
            )
            with forced:
                result = train_model(_model_config(params), train_cfg, data, progress=False)
        out[name] = {
            "status": result.status,
            "seconds_per_epoch": result.runtime_s / max(1, result.epochs_run),
            VAL_MSE: result.metrics.get(VAL_MSE),
            "n6_test_mse": result.metrics.get("n6_test_mse"),
            "n3_mse": result.metrics.get("n3_mse"),
        }
    fp, bf = out["fp32"], out["bf16"]
    out["speedup"] = fp["seconds_per_epoch"] / bf["seconds_per_epoch"]
    out["mse_rel_diff"] = (bf[VAL_MSE] - fp[VAL_MSE]) / fp[VAL_MSE]
    out["bf16_qualifies"] = out["speedup"] > 1 and abs(out["mse_rel_diff"]) <= MSE_TOLERANCE
    return out


def qualifies(device: torch.device, runs: dict) -> bool:
    """bf16 for `--precision auto`: native, faster at every step, and every trained comparison passed."""
    trained = [r for r in runs.values() if "bf16_qualifies" in r]
    return (
        native_bf16(device)
        and bool(trained)
        and all(r["bf16_qualifies"] for r in trained)
        and all(r["step_speedup"] > 1 for r in runs.values())
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs of each run (default 4, as quick)")
    parser.add_argument("--max-train-windows", type=int, default=0, help="training windows (0 = all)")
    parser.add_argument("--only", choices=("paper", "quick"), help="one configuration only")
    parser.add_argument(
        "--steps-only", choices=("paper", "quick", "both", "none"), default="paper",
        help="configurations timed per step only, not trained (default paper)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per precision (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    parser.add_argument("--device", default="cpu", help="cpu (default) or a GPU, e.g. cuda")
    args = parser.parse_args(argv)
    check_at_least(
        parser, ("epochs", args.epochs, 1), ("max-train-windows", args.max_train_windows, 0),
        ("threads", args.threads, 0), ("repeats", args.repeats, 1),
    )
    if args.threads:
        torch.set_num_threads(args.threads)
    from convlstm_lib.data.datasets import prepare_datasets

    try:
        device = check_device(args.device)
    except ValueError as exc:
        parser.error(str(exc))
    data = prepare_datasets(get_profile("quick"), progress=False)
    runs = {}
    for name, params in configurations().items():
        if args.only not in (None, name):
            continue
        runs[name] = {"params": params, **step_speed(params, args.repeats, device=device)}
        if args.steps_only not in (name, "both"):
            runs[name].update(train_both(params, data, args.epochs, args.max_train_windows, device=device))
    verdict = {
        "bf16_qualifies": qualifies(device, runs),
        "native_bf16": native_bf16(device),
        "runs": runs,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps({"device": device_key(device), **verdict}))
        return 0
    print(
        f"{device_key(device)}; native bf16: {verdict['native_bf16']}; torch {torch.__version__}, "
        f"{verdict['threads']} threads, load {verdict['load_avg_1min']}"
    )
    print(
        f"{'configuration':<12} {'fp32 step s':>11} {'bf16 step s':>11} {'step x':>7} {'fp32 s/epoch':>12} "
        f"{'bf16 s/epoch':>12} {'epoch x':>8} {'fp32 val MSE':>12} {'bf16 val MSE':>12} {'MSE diff':>9} "
        f"{'fp32 N6 MSE':>12} {'bf16 N6 MSE':>12}"
    )
    for name, r in runs.items():
        line = f"{name:<12} {r['fp32_step_s']:>11.3f} {r['bf16_step_s']:>11.3f} {r['step_speedup']:>6.2f}x"
        if "fp32" in r:
            line += (
                f" {r['fp32']['seconds_per_epoch']:>12.1f} {r['bf16']['seconds_per_epoch']:>12.1f} "
                f"{r['speedup']:>7.2f}x {r['fp32'][VAL_MSE]:>12.3e} {r['bf16'][VAL_MSE]:>12.3e} "
                f"{r['mse_rel_diff']:>+9.1%} {r['fp32']['n6_test_mse']:>12.3e} "
                f"{r['bf16']['n6_test_mse']:>12.3e}"
            )
        print(line)
    print(
        f"verdict: bf16 {'qualifies' if verdict['bf16_qualifies'] else 'does not qualify'} for "
        f"--precision auto on this device (native, faster and within {MSE_TOLERANCE:.0%} of fp32's final "
        "validation MSE); to commit it, add to precision.BF16_VERDICTS:\n"
        f"    {device_key(device)!r}: {verdict['bf16_qualifies']},"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
