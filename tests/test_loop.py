"""The training loop (training/loop.py): any torch optimiser, the schedule, statuses, determinism.
`TrainConfig` itself: tests/test_training_settings.py."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_datasets import SETTINGS, make_raw  # tests/ is on sys.path (pytest prepend import mode)

from convlstm_lib.data import datasets as D
from convlstm_lib.data.tasks import INTERPOLATE, task_data
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training import loop as training
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.loop import DIVERGED_MSE, TrainingFailed, lr_scheduler, train_model
from convlstm_lib.training.metrics import metric_keys
from convlstm_lib.training.settings import TrainConfig

TINY = ModelConfig(layers=1, kernels=4)
KEYS = list(metric_keys(clean=True))


@pytest.fixture(scope="module")
def data(blob_data):
    return blob_data()


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _lrs_used(schedule: str, steps: int, lr: float = 0.5) -> list[float]:
    """The learning rate each of `steps` optimiser steps runs at under `schedule`."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = lr_scheduler(opt, schedule, steps)
    used = []
    for _ in range(steps):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return used


def test_linear_schedule_starts_at_lr_and_ends_at_lr_over_steps():
    # 4 steps at lr 0.5: 0.5 x (1, 3/4, 1/2, 1/4), worked out by hand
    assert _lrs_used("linear", 4) == pytest.approx([0.5, 0.375, 0.25, 0.125])
    assert _lrs_used("constant", 4) == [0.5] * 4
    with pytest.raises(ValueError, match="^lr_schedule:"):
        _lrs_used("step", 1)


def test_linear_schedule_changes_training_but_not_its_first_step(data):
    # One batch in the whole run trains at the full rate under either schedule: the same weights.
    # Over three epochs the later batches run slower under 'linear': different weights.
    def weights(schedule, epochs):
        cfg = TrainConfig(dataset="base", optimizer="SGD", lr=0.05, batch_size=16, epochs=epochs,
                          collapse_std=0.0, lr_schedule=schedule)
        result = train_model(TINY, cfg, data, progress=False)
        assert result.train_config.lr_schedule == schedule
        return _weights(result.model)

    one_c, one_l = weights("constant", 1), weights("linear", 1)
    assert all(torch.equal(one_c[k], one_l[k]) for k in one_c)
    three_c, three_l = weights("constant", 3), weights("linear", 3)
    assert any(not torch.allclose(three_c[k], three_l[k]) for k in three_c)


# --- training ------------------------------------------------------------------------------


def test_small_model_overfits_a_handful_of_windows(blob_data):
    data = blob_data(n_train=8)
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


def test_scoring_only_the_last_epoch_changes_no_number(data, monkeypatch):
    cfg = TrainConfig(epochs=3, batch_size=8, collapse_std=0.0)
    every = train_model(TINY, cfg, data, progress=False)
    scored = []
    real = training.evaluate_model
    monkeypatch.setattr(training, "evaluate_model", lambda *a, **k: scored.append(1) or real(*a, **k))
    last = train_model(TINY, cfg, data, progress=False, score_every_epoch=False)
    assert len(scored) == 1  # the last epoch only
    assert [set(e) for e in last.history[:-1]] == [{"epoch", "train_loss"}] * 2
    assert last.history[-1] == every.history[-1]
    assert last.metrics == every.metrics and last.status == every.status == "complete"


def test_an_unscored_epoch_whose_loss_explodes_diverges_with_nan_metrics(data):
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e6, optimizer="Adam")
    result = train_model(TINY, cfg, data, progress=False, score_every_epoch=False)
    assert result.status == "diverged" and "train_loss" in result.note and result.epochs_run == 1
    assert all(math.isnan(v) for v in result.metrics.values())  # no epoch was scored


def test_no_clean_keys_without_clean_targets(blob_data):
    result = train_model(
        TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), blob_data(clean=False), progress=False
    )
    assert sorted(result.metrics) == sorted(k for k in KEYS if "clean" not in k)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "Adafactor", "Rprop", "LBFGS"])
def test_optimizers_by_name_train_the_model(name, data):
    cfg = TrainConfig(optimizer=name, lr=1e-2, epochs=1, batch_size=8, collapse_std=0.0)
    before = _weights(build_model(TINY, seed=cfg.seed))
    result = train_model(TINY, cfg, data, progress=False)
    assert result.status == "complete"
    after = _weights(result.model)
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_sparse_adam_cannot_train_dense_gradients(data):
    with pytest.raises(TrainingFailed, match="SparseAdam"):
        train_model(TINY, TrainConfig(optimizer="SparseAdam", epochs=1, batch_size=8), data, progress=False)


def test_a_non_finite_loss_diverges_with_nan_metrics(blob_data):
    bad = blob_data()
    bad.train["base"].inputs[3] = np.inf  # one window: the first epoch's loss becomes non-finite
    result = train_model(TINY, TrainConfig(optimizer="SGD", epochs=3, batch_size=8), bad, progress=False)
    assert result.status == "diverged"
    assert result.epochs_run == 0 and "training loss" in result.note
    assert all(math.isnan(v) for v in result.metrics.values())


def test_an_exploding_but_finite_loss_is_diverged_not_collapsed(data):
    # Adam at lr 1e6 gives a finite validation MSE of order 1e13: the loss exploded, the images are
    # not merely blank. The rule: validation MSE or epoch training loss above DIVERGED_MSE per pixel.
    result = train_model(TINY, TrainConfig(optimizer="Adam", lr=1e6, epochs=3, batch_size=8), data,
                         progress=False)
    assert result.status == "diverged" and "exploded" in result.note
    assert result.epochs_run == 1 and result.metrics["val_mse"] > DIVERGED_MSE
    assert all(math.isfinite(v) for v in result.metrics.values())  # the numbers that show it are kept
    fine = train_model(TINY, TrainConfig(optimizer="Adam", lr=1e-2, epochs=1, batch_size=8), data,
                       progress=False)
    assert fine.status in ("complete", "collapsed") and fine.metrics["n6_test_mse"] < DIVERGED_MSE


def test_on_epoch_exceptions_propagate(data):
    class Pruned(Exception):
        pass

    def stop(epoch, metrics):
        raise Pruned

    with pytest.raises(Pruned):
        train_model(TINY, TrainConfig(epochs=3, batch_size=8), data, progress=False, on_epoch=stop)


def test_blank_predictions_mark_the_run_collapsed(data):
    # The criterion's threshold decides: above any prediction's std the run is collapsed, at 0 never.
    result = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=10.0), data, progress=False)
    assert result.status == "collapsed" and "blank" in result.note
    assert all(math.isfinite(v) for v in result.metrics.values())
    result = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), data, progress=False)
    assert result.status == "complete"


def test_statuses_are_decided_on_validation_and_never_on_the_test_windows(blob_data):
    """Test targets far off (an MSE above DIVERGED_MSE) or blank test inputs change the test numbers
    only: the status, the validation MSE and the training are the same; a blank validation set
    collapses the run."""
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, collapse_std=0.002)
    plain = train_model(TINY, cfg, blob_data(), progress=False)
    off = blob_data()
    off.n6_test = off.n6_test.with_targets(off.n6_test.targets + 5.0)  # every test pixel 5 off
    off.n3 = off.n3.subset(np.arange(len(off.n3)))
    off.n3.inputs[:] = 0.0  # blank inputs: blank test predictions
    moved = train_model(TINY, cfg, off, progress=False)
    assert plain.status == moved.status == "complete"
    assert moved.metrics["n6_test_mse"] > DIVERGED_MSE > plain.metrics["n6_test_mse"]
    assert [(e["train_loss"], e["val_mse"]) for e in moved.history] == \
        [(e["train_loss"], e["val_mse"]) for e in plain.history]
    blank = blob_data()
    blank.val = blank.val.subset(np.arange(len(blank.val)))
    blank.val.inputs[:] = 0.0
    collapsed = train_model(TINY, cfg, blank, progress=False)
    assert collapsed.status == "collapsed" and "validation predictions blank" in collapsed.note
    assert collapsed.metrics["n6_test_mse"] == plain.metrics["n6_test_mse"]  # the same model, flagged on val


def test_a_run_needs_validation_windows(blob_data):
    data = blob_data()
    data.val = data.val.subset(np.zeros(len(data.val), bool))
    with pytest.raises(ValueError, match="^data: no validation windows"):
        train_model(TINY, TrainConfig(epochs=1), data, progress=False)


def test_only_the_forward_pass_runs_under_autocast(data, monkeypatch):
    """The mixed-precision context wraps the model's forward pass; the loss, backward and the
    optimiser step run outside it."""
    state = {"inside": False}
    seen: dict[str, list[bool]] = {"forward": [], "backward": [], "step": []}

    class Recording:
        def __enter__(self):
            state["inside"] = True

        def __exit__(self, *exc):
            state["inside"] = False

    def forward_hook(module, args, out):
        seen["forward"].append(state["inside"])
        if out.requires_grad:  # a training step's forward (scoring runs under no_grad)
            out.register_hook(lambda grad: seen["backward"].append(state["inside"]))

    real_optimizer = training.make_optimizer

    def recording_optimizer(name, params, lr):
        opt = real_optimizer(name, params, lr)
        opt.register_step_pre_hook(lambda optimizer, args, kwargs: seen["step"].append(state["inside"]))
        return opt

    real_build = training.build_model

    def hooked_build(*args, **kwargs):
        model = real_build(*args, **kwargs)
        model.register_forward_hook(forward_hook)
        return model

    monkeypatch.setattr(training, "autocast", lambda device, dtype: Recording())
    monkeypatch.setattr(training, "make_optimizer", recording_optimizer)
    monkeypatch.setattr(training, "build_model", hooked_build)
    for name in ("Adam", "LBFGS"):  # LBFGS calls the closure several times in a step
        seen = {key: [] for key in seen}
        train_model(TINY, TrainConfig(optimizer=name, epochs=1, batch_size=8, collapse_std=0.0), data,
                    progress=False)
        training_forwards = len(seen["backward"])
        assert training_forwards >= 2 and seen["step"] == [False] * 2
        assert seen["backward"] == [False] * training_forwards
        assert seen["forward"][:training_forwards] == [True] * training_forwards  # then scoring, in fp32


def test_same_seed_same_result_and_other_seed_differs(data):
    runs = [
        train_model(TINY, TrainConfig(epochs=2, batch_size=4, seed=s), data, progress=False)
        for s in (3, 3, 4)
    ]
    a, b, c = (_weights(r.model) for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert runs[0].metrics == runs[1].metrics
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_max_train_windows_subsamples_once(data):
    cut = train_model(
        TINY, TrainConfig(epochs=1, batch_size=4, max_train_windows=3, collapse_std=0.0), data, progress=False
    )
    assert cut.status == "complete" and cut.train_windows == 3
    full = train_model(TINY, TrainConfig(epochs=1, batch_size=4, collapse_std=0.0), data, progress=False)
    assert full.train_windows == len(data.train["processed"]) == 16
    assert cut.metrics != full.metrics  # it trained on fewer windows, not on all of them


def test_drop_jump_targets_trains_without_exactly_the_flagged_targets(blob_data):
    """The same run as on a training set from which those windows were deleted by hand."""
    data = blob_data(n_train=16, jump_targets=(2, 5, 11))
    cfg = TrainConfig(epochs=1, batch_size=8, collapse_std=0.0, drop_jump_targets=True)
    dropped = train_model(TINY, cfg, data, progress=False)
    assert dropped.status == "complete" and dropped.train_windows == 13
    by_hand = blob_data(n_train=16)
    kept = np.setdiff1d(np.arange(16), [2, 5, 11])
    by_hand.train = {name: ws.subset(kept) for name, ws in by_hand.train.items()}
    plain = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), by_hand, progress=False)
    assert dropped.metrics == plain.metrics
    kept_all = train_model(TINY, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), data, progress=False)
    assert kept_all.train_windows == 16
    cut = train_model(TINY, TrainConfig(epochs=1, batch_size=4, collapse_std=0.0, drop_jump_targets=True,
                                        max_train_windows=10), data, progress=False)
    assert cut.train_windows == 10  # dropped first, then cut to the windows asked for


def test_drop_jump_targets_needs_an_outlier_report(blob_data):
    data = blob_data()
    del data.outliers
    with pytest.raises(ValueError, match="^drop_jump_targets: these data carry no outlier report"):
        train_model(TINY, TrainConfig(epochs=1, drop_jump_targets=True), data, progress=False)


# --- model kinds and precision -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["convgru", "convrnn", "simvp"])
def test_every_model_kind_trains(data, kind):
    cfg = ModelConfig(model=kind, layers=1, kernels=4)
    train_cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, collapse_std=0.0)
    result = train_model(cfg, train_cfg, data, progress=False)
    assert result.status == "complete" and len(result.history) == 2
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]  # it learns
    assert result.model_config.model == kind


def test_the_model_is_built_for_the_tasks_windows(data):
    from convlstm_lib.data.tasks import Task
    from convlstm_lib.models import build as task_models

    cfg = ModelConfig(model="simvp", layers=1, kernels=4)
    assert task_models.model_config_for(cfg, Task.parse("extrapolate-4")).frames == 4
    inner = task_models.model_config_for(cfg, Task.parse("interpolate-2"))
    assert (inner.frames, inner.in_channels) == (1, 4)  # one step of four channels
    result = train_model(cfg, TrainConfig(epochs=1, batch_size=8, collapse_std=0.0), data, progress=False)
    assert result.model_config.frames == 2 and result.status == "complete"


def test_precision_is_checked_and_bf16_refused_where_it_would_be_emulated(data):
    from convlstm_lib.training.precision import PrecisionError, native_bf16

    with pytest.raises(ValueError, match="^precision:"):
        TrainConfig(precision="fp8")
    if native_bf16(torch.device("cpu")):
        pytest.skip("this CPU has native bf16: the refusal does not apply")
    with pytest.raises(PrecisionError, match="precision bf16: .*emulated"):
        train_model(TINY, TrainConfig(epochs=1, precision="bf16"), data, progress=False)
    runs = [
        train_model(TINY, TrainConfig(epochs=1, batch_size=8, precision=p, collapse_std=0.0), data,
                    progress=False)
        for p in ("auto", "fp32")
    ]
    assert runs[0].metrics == runs[1].metrics  # auto is fp32 here: the same numbers to the last bit


# --- data on the device ----------------------------------------------------------------------


def test_a_run_moves_its_data_to_the_device_once_and_no_batch_crosses(data, monkeypatch):
    """Training windows and the scored test inputs go to the device once a run, and predictions come
    back once a scoring: no batch, of training or of scoring, is copied to or from the device. A copy
    a batch would make the counts grow with the number of batches."""
    calls = {"to": 0, "cpu": 0}
    real_to, real_cpu = torch.Tensor.to, torch.Tensor.cpu

    def to(self, *args, **kwargs):
        calls["to"] += 1
        return real_to(self, *args, **kwargs)

    def cpu(self, *args, **kwargs):
        calls["cpu"] += 1
        return real_cpu(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", to)
    monkeypatch.setattr(torch.Tensor, "cpu", cpu)

    def copies(batch_size: int, eval_batch_size: int) -> dict[str, int]:
        calls.update(to=0, cpu=0)
        cfg = TrainConfig(epochs=2, batch_size=batch_size, eval_batch_size=eval_batch_size, device="cpu",
                          collapse_std=0.0)
        assert train_model(TINY, cfg, data, progress=False).status == "complete"
        return dict(calls)

    many = copies(batch_size=2, eval_batch_size=2)  # 8 training and 2-3 scoring batches a set
    one = copies(batch_size=16, eval_batch_size=256)  # one batch each
    assert many == one and one["to"] > 0 and one["cpu"] > 0


def test_training_refuses_windows_of_another_task():
    raw = make_raw(n6=8, n3=3)
    ds = D.build_datasets(raw, SETTINGS, progress=False)
    with pytest.raises(ValueError, match="data hold interpolate-2 windows"):
        train_model(TINY, TrainConfig(dataset="base", epochs=1), task_data(ds, raw, INTERPOLATE),
                    progress=False)
    with pytest.raises(ValueError, match="data hold extrapolate-2 windows"):
        train_model(TINY, TrainConfig(dataset="base", epochs=1, task="interpolate-2"), ds, progress=False)
