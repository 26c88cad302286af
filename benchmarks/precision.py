"""bf16 against fp32 where it counts: seconds per epoch and the final N6 test MSE.

For the paper's best configuration (4 layers, 71 kernels, ReLU, batch 32, Adam) and the quick
profile's best (the parameters of the committed report's best trial, `report/results.json`),
this script trains the same model from the same seed on the same data twice through the
library's `training.train_model`: in float32, and inside `torch.autocast(bfloat16)` (what
`--precision bf16` does; here forced even on a CPU without native bf16, where the library
itself refuses it, so that the cost of emulation is measured, not guessed). The fused
ConvLSTM cell runs its reference Equation 2 under autocast (`model.FusedConvLSTMCell`).

It reports seconds per epoch (training and scoring), the final N6 test MSE of each, the
speed ratio and the relative MSE difference, and the verdict `--precision auto` uses:
bf16 qualifies on this device when it is faster for every configuration *and* its final
N6 test MSE is within `precision.MSE_TOLERANCE` (2 %) of fp32's for every configuration.
`--write-verdict` stores the verdict under this device's description in
`paths.PRECISION_VERDICT` (runs/precision.json).

    .venv/bin/python benchmarks/precision.py [--epochs 4] [--max-train-windows N] \
        [--only quick|paper] [--threads N] [--write-verdict] [--json]

The data are the quick profile's (prepared and cached on first use).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from convlstm_lib import paths  # noqa: E402
from convlstm_lib.atomic import write_text  # noqa: E402
from convlstm_lib.config import get_profile  # noqa: E402
from convlstm_lib.model import ModelConfig  # noqa: E402
from convlstm_lib.precision import MSE_TOLERANCE, device_key, native_bf16, read_verdicts  # noqa: E402
from convlstm_lib.training import TrainConfig, train_model  # noqa: E402

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


def train_both(params: dict, data, epochs: int, max_train_windows: int, seed: int = 0) -> dict:
    """Train fp32 then bf16 (autocast) from the same seed; seconds per epoch and final metrics."""
    model_cfg = ModelConfig(
        model=params["model"],
        layers=params["layers"],
        kernels=params["kernels"],
        activation=params["activation"],
    )
    train_cfg = TrainConfig(
        dataset=params["dataset"],
        lr=params["lr"],
        batch_size=params["batch_size"],
        epochs=epochs,
        optimizer=params["optimizer"],
        seed=seed,
        device="cpu",
        precision="fp32",
        max_train_windows=max_train_windows,
    )
    out = {"params": params, "epochs": epochs, "max_train_windows": max_train_windows}
    for name in ("fp32", "bf16"):
        if name == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                result = train_model(model_cfg, train_cfg, data, progress=False)
        else:
            result = train_model(model_cfg, train_cfg, data, progress=False)
        out[name] = {
            "status": result.status,
            "seconds_per_epoch": result.runtime_s / max(1, result.epochs_run),
            "n6_test_mse": result.metrics.get("n6_test_mse"),
            "n3_mse": result.metrics.get("n3_mse"),
        }
    fp, bf = out["fp32"], out["bf16"]
    out["speedup"] = fp["seconds_per_epoch"] / bf["seconds_per_epoch"]
    out["mse_rel_diff"] = (bf["n6_test_mse"] - fp["n6_test_mse"]) / fp["n6_test_mse"]
    out["bf16_qualifies"] = out["speedup"] > 1 and abs(out["mse_rel_diff"]) <= MSE_TOLERANCE
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs of each run (default 4, the quick profile's)"
    )
    parser.add_argument("--max-train-windows", type=int, default=0, help="training windows (0 = all)")
    parser.add_argument("--only", choices=("paper", "quick"), help="one configuration only")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument(
        "--write-verdict", action="store_true", help=f"store the verdict in {paths.PRECISION_VERDICT}"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    args = parser.parse_args(argv)
    for name, value, least in (
        ("epochs", args.epochs, 1),
        ("max-train-windows", args.max_train_windows, 0),
        ("threads", args.threads, 0),
    ):
        if value < least:
            parser.error(f"--{name}: must be >= {least}, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    from convlstm_lib.datasets import prepare_datasets

    data = prepare_datasets(get_profile("quick"), progress=False)
    device = torch.device("cpu")
    runs = {
        name: train_both(params, data, args.epochs, args.max_train_windows)
        for name, params in configurations().items()
        if args.only in (None, name)
    }
    verdict = {
        "bf16_qualifies": native_bf16(device) and all(r["bf16_qualifies"] for r in runs.values()),
        "native_bf16": native_bf16(device),
        "runs": runs,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
    if args.write_verdict:
        verdicts = read_verdicts()
        verdicts[device_key(device)] = verdict
        write_text(paths.PRECISION_VERDICT, json.dumps(verdicts, indent=2) + "\n")
    if args.json:
        print(json.dumps({"device": device_key(device), **verdict}))
        return 0
    print(
        f"{device_key(device)}; native bf16: {verdict['native_bf16']}; torch {torch.__version__}, "
        f"{verdict['threads']} threads, load {verdict['load_avg_1min']}"
    )
    print(
        f"{'configuration':<12} {'fp32 s/epoch':>12} {'bf16 s/epoch':>12} {'speed-up':>9} "
        f"{'fp32 N6 MSE':>12} {'bf16 N6 MSE':>12} {'MSE diff':>9}"
    )
    for name, r in runs.items():
        print(
            f"{name:<12} {r['fp32']['seconds_per_epoch']:>12.1f} {r['bf16']['seconds_per_epoch']:>12.1f} "
            f"{r['speedup']:>8.2f}x {r['fp32']['n6_test_mse']:>12.3e} {r['bf16']['n6_test_mse']:>12.3e} "
            f"{r['mse_rel_diff']:>+9.1%}"
        )
    print(
        f"verdict: bf16 {'qualifies' if verdict['bf16_qualifies'] else 'does not qualify'} for "
        f"--precision auto on this device (faster and within {MSE_TOLERANCE:.0%} of fp32's final N6 test MSE)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
