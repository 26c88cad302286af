"""final: the profile's final model, trained a few times, saved run by run and averaged."""
from __future__ import annotations

import numpy as np
import pytest

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.experiments import final
from convlstm_lib.training import metrics
from convlstm_lib.training.checkpoints import load_checkpoint
from convlstm_lib.training.evaluation import predict_frames


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path / "runs")
    return tmp_path


def test_the_jobs_follow_the_profile_with_a_seed_of_their_own_each():
    cfg = get_profile("quick")
    jobs = final.final_jobs(cfg, device="cpu")
    assert len(jobs) == cfg.final_runs == 2
    model_cfg, train_cfg = jobs[0]
    assert (model_cfg.model, model_cfg.layers, model_cfg.kernels, model_cfg.activation) == (
        cfg.final_model, cfg.final_layers, cfg.final_kernels, cfg.final_activation)
    assert model_cfg.frames_as_channels is cfg.final_frames_as_channels is True
    assert train_cfg.drop_jump_targets is cfg.final_drop_jump_targets is True
    assert (train_cfg.dataset, train_cfg.optimizer, train_cfg.lr, train_cfg.batch_size, train_cfg.epochs) == (
        cfg.final_dataset, cfg.final_optimizer, cfg.final_lr, cfg.final_batch_size, cfg.final_epochs)
    assert train_cfg.lr_schedule == cfg.lr_schedule and train_cfg.device == "cpu"
    seeds = [t.seed for _, t in jobs]
    assert seeds == [final.final_seed(cfg.seed, 0), final.final_seed(cfg.seed, 1)] and len(set(seeds)) == 2
    assert final.final_seed(1, 0) != final.final_seed(0, 0)
    source = final.final_source(cfg)  # the profile's cache, cut (seed cfg.seed) to the final model's windows
    assert source.processed_dir == str(paths.processed_dir("quick")) and source.seed == cfg.seed
    assert source.max_train_windows == cfg.final_max_train_windows


def test_the_runs_are_saved_and_their_average_is_what_is_scored(blob_data, runs_root):
    cfg = get_profile("smoke", final_epochs=2)
    data = blob_data(n_train=16, jump_targets=(3, 7))
    result = final.train_final(cfg, data=data, device="cpu")
    record = result.record
    seeds = [final.final_seed(cfg.seed, k) for k in range(cfg.final_runs)]
    assert [r["seed"] for r in record["runs"]] == seeds
    assert record["members"] == cfg.final_runs and record["params"] > 0
    assert (record["set_windows"], record["train_windows"]) == (16, 14)  # the two jump targets left out
    assert record["model_config"]["kernels"] == cfg.final_kernels and record["train_config"]["epochs"] == 2
    predictions = []
    for k, run in enumerate(record["runs"]):
        checkpoint = load_checkpoint(paths.final_run_checkpoint(cfg.profile, k))
        assert checkpoint.train_config.seed == run["seed"] and checkpoint.status == run["status"]
        pred = predict_frames(checkpoint.model, data.n6_test.inputs)
        assert metrics.mse(pred, data.n6_test.targets) == pytest.approx(run["n6_test_mse"], rel=1e-5)
        predictions.append(pred)
    average = np.mean(predictions, axis=0)
    assert record["n6_test_mse"] == pytest.approx(metrics.mse(average, data.n6_test.targets), rel=1e-5)
    assert record["n6_test_mse"] <= max(r["n6_test_mse"] for r in record["runs"])  # convexity
    assert {"n6_test_psnr", "n6_test_ssim", "n6_test_clean_mse", "n3_mse"} <= set(record)


def test_a_profile_without_a_final_model_says_so(blob_data, runs_root):
    with pytest.raises(ValueError, match="final_runs: profile 'quick' trains no final model"):
        final.train_final(get_profile("quick", final_runs=0), data=blob_data())


@pytest.mark.parametrize("field, value", [("final_model", "lstm"), ("final_dataset", "all"),
                                          ("final_activation", "gelu"), ("final_kernels", 0),
                                          ("final_lr", float("nan")), ("final_runs", -1)])
def test_a_bad_final_setting_is_named(field, value):
    with pytest.raises(ValueError, match=field):
        get_profile("quick", **{field: value})
