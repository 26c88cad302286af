"""seeds: Table 1's best row re-trained with other seeds."""
from __future__ import annotations

import numpy as np
import pytest

from convlstm_lib.experiments.seeds import retrain_with_seeds, run_seed

# A trials-table row as the sweep writes it: the paper's model, its parameters, seed and metrics.
BEST = {"number": 5, "dataset": "base", "layers": 1, "kernels": 4, "activation": "relu", "lr": 0.05,
        "batch_size": 4, "optimizer": "SGD", "seed": 11, "val_mse": 0.01, "n6_test_mse": 0.02, "n3_mse": 0.03}


@pytest.fixture(scope="module")
def data(blob_data):
    return blob_data()


def test_the_trials_own_run_comes_first_and_the_others_get_derived_seeds(data):
    record = retrain_with_seeds(BEST, data, epochs=1, sweep_seed=7, runs=3, device="cpu")
    assert record["trial"] == 5
    assert record["seeds"] == [11, run_seed(7, 5, 1), run_seed(7, 5, 2)]
    assert len(set(record["seeds"])) == 3
    assert record["n6_test_mse"][0] == 0.02 and record["n3_mse"][0] == 0.03 and record["val_mse"][0] == 0.01
    assert np.isfinite(record["val_mse"]).all() and len(record["val_mse"]) == 3
    n6 = np.asarray(record["n6_test_mse"])
    assert np.isfinite(n6).all() and record["mean"] == pytest.approx(n6.mean())
    assert record["spread"] == pytest.approx(n6.std(ddof=1))


def test_the_extra_runs_train_with_the_schedule_asked_for(data):
    # blob data hold 16 windows: 4 batches of 4, so the last three steps run slower under 'linear'
    runs = {s: retrain_with_seeds(BEST, data, epochs=1, sweep_seed=7, runs=2, device="cpu", lr_schedule=s)
            for s in ("constant", "linear")}
    assert runs["constant"]["seeds"] == runs["linear"]["seeds"]
    assert runs["constant"]["n6_test_mse"][1] != runs["linear"]["n6_test_mse"][1]
    with pytest.raises(ValueError, match="^lr_schedule:"):
        retrain_with_seeds(BEST, data, epochs=1, sweep_seed=7, runs=2, device="cpu", lr_schedule="step")


def test_runs_below_one_are_refused(data):
    with pytest.raises(ValueError, match="runs"):
        retrain_with_seeds(BEST, data, epochs=1, sweep_seed=7, runs=0)


def test_a_seed_ensemble_predicts_the_mean_of_its_members():
    import torch

    from convlstm_lib.experiments.seeds import SeedEnsemble
    from convlstm_lib.models.build import build_model
    from convlstm_lib.models.settings import ModelConfig

    torch.manual_seed(0)
    members = [build_model(ModelConfig(layers=1, kernels=2)).eval() for _ in range(3)]
    x = torch.rand(2, 2, 1, 36, 36)
    with torch.no_grad():
        by_hand = (members[0](x) + members[1](x) + members[2](x)) / 3
        assert torch.allclose(SeedEnsemble(members)(x), by_hand, atol=1e-6)
        assert torch.equal(SeedEnsemble(members[:1])(x), members[0](x))
    with pytest.raises(ValueError, match="^members:"):
        SeedEnsemble([])


def test_with_the_trials_own_model_the_runs_are_also_scored_together(data):
    from convlstm_lib.models.settings import ModelConfig
    from convlstm_lib.training.loop import train_model
    from convlstm_lib.training.settings import TrainConfig

    own = train_model(ModelConfig(layers=1, kernels=4, activation="relu"),
                      TrainConfig(dataset="base", lr=0.05, batch_size=4, epochs=1, optimizer="SGD",
                                  seed=11, device="cpu"), data, progress=False)
    row = {**BEST, **{k: own.metrics[k] for k in ("val_mse", "n6_test_mse", "n3_mse")}}
    record = retrain_with_seeds(row, data, epochs=1, sweep_seed=7, runs=3, device="cpu",
                                first_model=own.model)
    ensemble = record["ensemble"]
    assert ensemble["runs"] == 3
    # the squared error is convex: the mean prediction scores at most the members' mean MSE
    assert ensemble["n6_test_mse"] <= np.mean(record["n6_test_mse"]) + 1e-9
    assert ensemble["val_mse"] <= np.mean(record["val_mse"]) + 1e-9
    assert not any(key.startswith("n3") for key in ensemble)  # N6 test only: the paper's target
    assert ensemble["n6_test_mse"] != record["n6_test_mse"][0]
    assert "ensemble" not in retrain_with_seeds(BEST, data, epochs=1, sweep_seed=7, runs=2, device="cpu")


def test_the_extra_runs_are_scored_once_each_after_their_last_epoch(data, monkeypatch):
    # Nobody reads a seed re-run's learning curve: scoring every epoch would cost a third of a
    # small model's training for numbers that are thrown away.
    from convlstm_lib.training import loop as training

    scored = []
    real = training.evaluate_model
    monkeypatch.setattr(training, "evaluate_model", lambda *a, **k: scored.append(1) or real(*a, **k))
    record = retrain_with_seeds(BEST, data, epochs=3, sweep_seed=7, runs=3, device="cpu")
    assert len(scored) == 2 and all(np.isfinite(record["n6_test_mse"]))
