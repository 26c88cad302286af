"""multirun: independent training runs, in this process or side by side in spawned workers."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data.datasets import prepare_datasets
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training import multirun
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.loop import train_model
from convlstm_lib.training.settings import TrainConfig

MODEL = ModelConfig(model="convgru", layers=1, kernels=3, activation="tanh")


def _job(seed: int, **train) -> tuple[ModelConfig, TrainConfig]:
    settings = {"dataset": "base", "lr": 1e-2, "batch_size": 8, "epochs": 1, "optimizer": "Adam",
                "seed": seed, "device": "cpu", **train}
    return MODEL, TrainConfig(**settings)


@pytest.fixture(scope="module")
def data(blob_data):
    return blob_data(n_train=16)


def test_runs_in_this_process_are_the_runs_train_model_gives_in_the_jobs_order(data):
    outcomes = multirun.train_runs([_job(3), _job(4)], data=data)
    assert [o.train_config.seed for o in outcomes] == [3, 4]
    for outcome, seed in zip(outcomes, (3, 4), strict=True):
        alone = train_model(*_job(seed), data, progress=False, score_every_epoch=False)
        assert outcome.status == alone.status and outcome.metrics == alone.metrics
        np.testing.assert_array_equal(predict_frames(outcome.model, data.n6_test.inputs),
                                      predict_frames(alone.model, data.n6_test.inputs))
    assert outcomes[0].metrics["n6_test_mse"] != outcomes[1].metrics["n6_test_mse"]  # seeds differ
    record = multirun.describe(outcomes[1])
    assert record["seed"] == 4 and record["n6_test_mse"] == outcomes[1].metrics["n6_test_mse"]
    assert record["val_mse"] == outcomes[1].metrics["val_mse"]


def test_a_run_of_another_task_comes_back_as_the_network_that_task_built(blob_windows):
    """The weights return into the network built for the job's task: a SimVP reading 4 frames, not
    the 2 its ModelConfig says before the task is applied."""
    from types import SimpleNamespace

    from convlstm_lib.data.preprocessing import Scaler
    from convlstm_lib.data.tasks import Task

    train = blob_windows(16, 0, inputs=4)
    four = SimpleNamespace(task=Task("extrapolate", 4), train={name: train for name in ("base", "processed")},
                           val=blob_windows(4, 3, inputs=4), n6_test=blob_windows(4, 1, inputs=4),
                           n3=blob_windows(6, 2, inputs=4),
                           scaler=Scaler(-3.0, 260.0))
    job = (ModelConfig(model="simvp", layers=1, kernels=4), _job(5, task="extrapolate-4")[1])
    outcome = multirun.train_runs([job], data=four)[0]
    alone = train_model(*job, four, progress=False, score_every_epoch=False)
    assert outcome.model_config.frames == 4 and outcome.metrics == alone.metrics
    np.testing.assert_array_equal(predict_frames(outcome.model, four.n6_test.inputs),
                                  predict_frames(alone.model, four.n6_test.inputs))


def test_bad_calls_say_what_is_missing(data, tmp_path):
    with pytest.raises(ValueError, match="workers: must be a whole number >= 1"):
        multirun.train_runs([_job(1)], data=data, workers=0)
    with pytest.raises(ValueError, match="source: needed for workers > 1"):
        multirun.train_runs([_job(1), _job(2)], data=data, workers=2)
    with pytest.raises(ValueError, match="source: needed"):
        multirun.train_runs([_job(1)])
    missing = multirun.DataSource(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        multirun.train_runs([_job(1), _job(2)], source=missing, workers=2)


def test_the_cores_are_shared_out_among_the_workers(monkeypatch):
    monkeypatch.setattr(multirun.os, "cpu_count", lambda: 8)
    assert [multirun.worker_threads(k) for k in (1, 2, 3, 16)] == [8, 4, 2, 1]
    monkeypatch.setattr(multirun.os, "cpu_count", lambda: None)
    assert multirun.worker_threads(2) == 1


def test_a_profile_source_cuts_its_windows_as_prepare_datasets_does():
    cfg = get_profile("smoke")
    source = multirun.DataSource.for_profile(cfg)
    assert source == multirun.DataSource(str(paths.processed_dir("smoke")), cfg.max_train_windows, cfg.seed)
    assert multirun.DataSource.for_profile(cfg, 0).max_train_windows == 0


@pytest.mark.slow
def test_workers_train_the_same_runs_as_this_process(tmp_path, monkeypatch):
    for name, sub in (("DATA_DIR", ""), ("GENERATED_DIR", "generated"), ("PROCESSED_DIR", "processed")):
        monkeypatch.setattr(paths, name, tmp_path / "data" / sub)
    cfg = get_profile("smoke")
    data = prepare_datasets(cfg, progress=False)  # writes the cache the workers read
    source = multirun.DataSource.for_profile(cfg)
    jobs = [_job(5), _job(6), _job(7)]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the workers' thread count: this process's (conftest)
    side_by_side = multirun.train_runs(jobs, source=source, workers=2)
    here = multirun.train_runs(jobs, data=data)
    assert [o.train_config.seed for o in side_by_side] == [5, 6, 7]
    for a, b in zip(side_by_side, here, strict=True):
        assert a.status == b.status
        assert a.metrics == pytest.approx(b.metrics, rel=1e-6)
        for (key, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=key)
    assert dataclasses.asdict(side_by_side[0].model_config) == dataclasses.asdict(MODEL)
