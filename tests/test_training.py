"""Training loop, statuses, optimisers by name, determinism, metrics keys, checkpoints, train CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from convlstm_lib import paths
from convlstm_lib.errors import CheckpointError
from convlstm_lib.model import ModelConfig
from convlstm_lib.preprocessing import Scaler, WindowSet
from convlstm_lib.training import (
    TrainConfig,
    TrainingFailed,
    build_model,
    is_collapsed,
    load_checkpoint,
    optimizer_names,
    predict_frames,
    save_checkpoint,
    train_model,
)

TINY = ModelConfig(layers=1, kernels=4)
KEYS = [
    "n6_test_mse",
    "n6_test_psnr",
    "n6_test_ssim",
    "n6_test_clean_mse",
    "n6_test_paper_loss",
    "n3_mse",
    "n3_psnr",
    "n3_ssim",
    "n3_clean_mse",
    "n3_paper_loss",
]




def blobs(n: int, seed: int, clean: bool = True, size: int = 36) -> WindowSet:
    """n windows of a Gaussian blob moving at a constant random velocity: frames t-2, t-1 -> t."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    frames = np.empty((n, 3, size, size), np.float32)
    for k in range(n):
        p, v = rng.uniform(10, 26, 2), rng.uniform(-3, 3, 2)
        for t in range(3):
            cy, cx = p + t * v
            frames[k, t] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 3.0**2))
    target = frames[:, 2].copy()
    return WindowSet(
        frames[:, :2].copy(), target, target.copy() if clean else None, np.arange(n), np.full(n, 3)
    )


def make_data(n_train: int = 16, n_test: int = 4, clean: bool = True) -> SimpleNamespace:
    """A hand-built stand-in for datasets.Datasets."""
    train = blobs(n_train, 0, clean)
    return SimpleNamespace(
        train={k: train for k in ("base", "cleaned", "denoised", "processed")},
        n6_test=blobs(n_test, 1, clean),
        n3=blobs(n_test + 2, 2, clean),
        scaler=Scaler(-3.0, 260.0),
    )


@pytest.fixture(scope="module")
def data():
    return make_data()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "raw"),
        ("lr", 0.0),
        ("lr", math.nan),
        ("batch_size", 0),
        ("epochs", 0),
        ("optimizer", "Adamm"),
        ("max_train_windows", -1),
    ],
)
def test_train_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        TrainConfig(**{field: value})


def test_every_paper_optimizer_is_available_by_name():
    from convlstm_lib.config import PAPER_OPTIMIZERS

    assert set(PAPER_OPTIMIZERS) <= set(optimizer_names())


# --- training ------------------------------------------------------------------------------


def test_small_model_overfits_a_handful_of_windows():
    data = make_data(n_train=8)
    cfg = TrainConfig(dataset="base", optimizer="Adam", lr=1e-2, batch_size=8, epochs=60)
    result = train_model(ModelConfig(layers=1, kernels=8), cfg, data, progress=False)
    assert result.status == "complete" and result.epochs_run == 60
    first, last = result.history[0]["train_loss"], result.history[-1]["train_loss"]
    assert last < first / 10
    train_mse = float(
        np.mean((predict_frames(result.model, data.train["base"].inputs) - data.train["base"].targets) ** 2)
    )
    blank_mse = float(np.mean(data.train["base"].targets ** 2))  # predicting black
    assert train_mse < blank_mse / 5


def test_metrics_after_every_epoch_with_the_contract_keys(data):
    seen = []
    result = train_model(
        TINY,
        TrainConfig(epochs=2, batch_size=8, collapse_std=0.0),
        data,
        progress=False,
        on_epoch=lambda epoch, m: seen.append((epoch, dict(m))),
    )
    assert [e for e, _ in seen] == [1, 2]
    assert sorted(result.metrics) == sorted(KEYS)
    for entry in result.history:
        assert set(entry) == set(KEYS) | {"epoch", "train_loss"}
        assert all(math.isfinite(entry[k]) for k in KEYS)
    assert result.metrics == {k: v for k, v in result.history[-1].items() if k in KEYS}
    # the paper's loss is the per-pixel MSE divided by the batch size (one batch here: 4 windows < 8)
    assert result.metrics["n6_test_paper_loss"] == pytest.approx(result.metrics["n6_test_mse"] / 4)
    assert result.runtime_s > 0


def test_no_clean_keys_without_clean_targets():
    result = train_model(
        TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), make_data(clean=False), progress=False
    )
    assert sorted(result.metrics) == sorted(k for k in KEYS if "clean" not in k)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "Adafactor", "Rprop", "LBFGS"])
def test_optimizers_by_name_train_the_model(name, data):
    cfg = TrainConfig(optimizer=name, lr=1e-2, epochs=1, batch_size=8, collapse_std=0.0)
    before = _weights(build_model(TINY, cfg.seed))
    result = train_model(TINY, cfg, data, progress=False)
    assert result.status == "complete"
    after = _weights(result.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_sparse_adam_cannot_train_dense_gradients(data):
    with pytest.raises(TrainingFailed, match="SparseAdam"):
        train_model(TINY, TrainConfig(optimizer="SparseAdam", epochs=1, batch_size=8), data, progress=False)


def test_huge_learning_rate_diverges(data):
    result = train_model(
        TINY, TrainConfig(optimizer="SGD", lr=1e12, epochs=3, batch_size=8), data, progress=False
    )
    assert result.status == "diverged"
    assert result.epochs_run < 3 and "loss" in result.note
    assert all(math.isnan(v) for v in result.metrics.values())


def test_on_epoch_exceptions_propagate(data):
    class Pruned(Exception):
        pass

    def stop(epoch, metrics):
        raise Pruned

    with pytest.raises(Pruned):
        train_model(TINY, TrainConfig(epochs=3, batch_size=8), data, progress=False, on_epoch=stop)


def test_collapse_criterion():
    rng = np.random.default_rng(0)
    threshold = TrainConfig().collapse_std
    assert is_collapsed(np.full((5, 36, 36), 0.3), threshold)
    assert is_collapsed(0.3 + 0.0005 * rng.standard_normal((5, 36, 36)), threshold)
    assert not is_collapsed(blobs(5, 0).targets, threshold)
    assert not is_collapsed(0.1 * blobs(5, 0).targets, threshold)  # faint, but not blank


def test_blank_predictions_mark_the_run_collapsed(data):
    # The criterion's threshold decides: above any prediction's std the run is collapsed, at 0 never.
    result = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=10.0), data, progress=False)
    assert result.status == "collapsed" and "blank" in result.note
    assert all(math.isfinite(v) for v in result.metrics.values())
    result = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), data, progress=False)
    assert result.status == "complete"


def test_same_seed_same_result_and_other_seed_differs(data):
    runs = [
        train_model(TINY, TrainConfig(epochs=2, batch_size=4, seed=s), data, progress=False)
        for s in (3, 3, 4)
    ]
    a, b, c = (_weights(r.model) for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert runs[0].metrics == runs[1].metrics
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_max_train_windows_subsamples(data):
    result = train_model(
        TINY, TrainConfig(epochs=1, batch_size=1, max_train_windows=3, collapse_std=0.0), data, progress=False
    )
    assert result.status == "complete"  # 3 batches of 1; the same seed always picks the same 3


def test_predict_frames_shape_and_mode_restored(data):
    model = build_model(TINY, 0).train()
    pred = predict_frames(model, data.n6_test.inputs, batch_size=3)
    assert pred.shape == (4, 36, 36) and pred.dtype == np.float32 and model.training
    model.eval()
    with torch.no_grad():
        direct = model(torch.as_tensor(data.n6_test.inputs).unsqueeze(2)).squeeze(1).numpy()
    np.testing.assert_allclose(pred, direct, atol=1e-6)


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path, data):
    path = tmp_path / "run" / "model.pt"
    result = train_model(
        TINY,
        TrainConfig(epochs=1, batch_size=8, collapse_std=0.0),
        data,
        progress=False,
        checkpoint_path=path,
    )
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == TINY and ckpt.train_config == result.train_config
    assert (ckpt.scaler.lo, ckpt.scaler.hi) == (-3.0, 260.0)
    assert ckpt.metrics == result.metrics and ckpt.status == "complete"
    assert not ckpt.model.training
    np.testing.assert_array_equal(
        predict_frames(ckpt.model, data.n3.inputs), predict_frames(result.model, data.n3.inputs)
    )
    assert isinstance(torch.load(path, weights_only=True), dict)


def _one_line_naming(path, exc_info) -> None:
    message = str(exc_info.value)
    assert str(path) in message and "\n" not in message


def test_missing_truncated_and_foreign_checkpoints_raise_checkpoint_error(tmp_path, data):
    good = save_checkpoint(
        tmp_path / "good.pt", build_model(TINY, 0), TINY, TrainConfig(), data.scaler, {}, "complete"
    )
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": build_model(TINY, 0).state_dict()}, foreign)
    wrong_version = tmp_path / "v99.pt"
    payload = torch.load(good, weights_only=True)
    torch.save({**payload, "version": 99}, wrong_version)
    mismatched = tmp_path / "mismatch.pt"
    torch.save({**payload, "model_config": {**payload["model_config"], "kernels": 5}}, mismatched)
    for path in (tmp_path / "absent.pt", truncated, garbage, foreign, wrong_version, mismatched):
        with pytest.raises(CheckpointError) as exc_info:
            load_checkpoint(path)
        _one_line_naming(path, exc_info)


# --- CLI -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_cli_writes_model_and_metrics(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "convlstm_lib",
            "train",
            "--profile",
            "smoke",
            "--dataset",
            "processed",
            "--layers",
            "1",
            "--kernels",
            "4",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--lr",
            "0.01",
            "--optimizer",
            "Adam",
            "--seed",
            "0",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the run collapsed (a valid outcome)
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["status"] in ("complete", "collapsed")
    assert "n6_test_mse" in summary["metrics"] and "n6_test_mse" in proc.stdout
    assert load_checkpoint(out / "model.pt").model_config.kernels == 4


def test_train_cli_bad_parameter_is_one_line_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "convlstm_lib", "train", "--layers", "9", "--out", str(tmp_path)],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "layers" in proc.stderr and "Traceback" not in proc.stderr


# --- model kinds and precision -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["convgru", "convrnn", "simvp"])
def test_every_model_kind_trains_and_round_trips_through_its_checkpoint(tmp_path, data, kind):
    cfg = ModelConfig(model=kind, layers=1, kernels=4)
    path = tmp_path / f"{kind}.pt"
    result = train_model(cfg, TrainConfig(epochs=2, batch_size=8, lr=1e-2, collapse_std=0.0), data,
                         progress=False, checkpoint_path=path)
    assert result.status == "complete" and len(result.history) == 2
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]  # it learns
    ckpt = load_checkpoint(path)
    assert ckpt.model_config.model == kind and ckpt.model_config == result.model_config
    np.testing.assert_array_equal(
        predict_frames(ckpt.model, data.n3.inputs), predict_frames(result.model, data.n3.inputs)
    )


def test_the_model_is_built_for_the_datas_window_length():
    four = make_data()
    for ws in {id(ws): ws for ws in (*four.train.values(), four.n6_test, four.n3)}.values():
        ws.inputs = np.concatenate([ws.inputs, ws.inputs], axis=1)  # (N, 4, H, W)
    result = train_model(ModelConfig(model="simvp", layers=1, kernels=4), TrainConfig(epochs=1, batch_size=8,
                         collapse_std=0.0), four, progress=False)
    assert result.model_config.frames == 4 and result.status == "complete"


def test_a_checkpoint_of_an_unknown_model_kind_is_one_line_naming_it(tmp_path, data):
    good = save_checkpoint(tmp_path / "good.pt", build_model(TINY, 0), TINY, TrainConfig(), data.scaler, {},
                           "complete")
    payload = torch.load(good, weights_only=True)
    for name, config in (("tau", {**payload["model_config"], "model": "tau"}),
                         ("convgru", {**payload["model_config"], "model": "convgru"})):
        path = tmp_path / f"{name}.pt"
        torch.save({**payload, "model_config": config}, path)
        with pytest.raises(CheckpointError, match=name) as exc_info:
            load_checkpoint(path)
        _one_line_naming(path, exc_info)


def test_precision_is_checked_and_bf16_refused_where_it_would_be_emulated(data):
    from convlstm_lib.precision import PrecisionError, native_bf16

    with pytest.raises(ValueError, match="^precision:"):
        TrainConfig(precision="fp8")
    if native_bf16(torch.device("cpu")):
        pytest.skip("this CPU has native bf16: the refusal does not apply")
    with pytest.raises(PrecisionError, match="precision bf16: .*emulated"):
        train_model(TINY, TrainConfig(epochs=1, precision="bf16"), data, progress=False)
    auto = train_model(TINY, TrainConfig(epochs=1, batch_size=8, precision="auto", collapse_std=0.0), data,
                       progress=False)
    fp32 = train_model(TINY, TrainConfig(epochs=1, batch_size=8, precision="fp32", collapse_std=0.0), data,
                       progress=False)
    assert auto.metrics == fp32.metrics  # auto is fp32 here: the same numbers to the last bit


def test_train_cli_unknown_model_and_emulated_bf16_are_one_line_exit_2(tmp_path):
    from convlstm_lib.precision import native_bf16

    cases = [(["--model", "tau"], "model")]
    if not native_bf16(torch.device("cpu")):
        cases.append((["--precision", "bf16"], "precision bf16"))
    for extra, word in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "convlstm_lib", "train", *extra, "--out", str(tmp_path)],
            cwd=paths.ROOT, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and word in proc.stderr and "Traceback" not in proc.stderr
