"""The search space and its sampler (experiments/sweep_space.py): trial k draws the same parameters
whichever worker runs it, in one go or resumed; the training sets and model kinds cycle; draws are
uniform over choices and log-uniform over ranges."""
from __future__ import annotations

import numpy as np
import optuna
import pytest

from convlstm_lib.config import get_profile
from convlstm_lib.experiments import sweep_space, sweep_storage


def _draw(cfg, numbers_seen: int, worker: int = 0, storage=None) -> list[dict]:
    """Parameters of the next `numbers_seen` trials of study "s" (a new one unless `storage` has it)."""
    study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True,
                                sampler=sweep_space.TrialSeededSampler(cfg.seed, worker))
    out = []
    for _ in range(numbers_seen):
        trial = study.ask()
        out.append(sweep_space.sample_params(trial, cfg))
        study.tell(trial, 0.0)
    return out


def test_same_seed_samples_same_parameters_whatever_the_worker():
    cfg = get_profile("quick")
    a, b = _draw(cfg, 6), _draw(cfg, 6, worker=1)  # another worker's sampler, same sweep seed
    assert a == b
    assert len({p["lr"] for p in a}) == 6  # really random: no two trials alike
    other = _draw(get_profile("quick", seed=1), 6)
    assert [p["lr"] for p in other] != [p["lr"] for p in a]
    assert sweep_space.worker_seed(0, 0) != sweep_space.worker_seed(0, 1)


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_training_set_is_trained_in_every_profile(profile):
    cfg = get_profile(profile)
    drawn = _draw(cfg, min(cfg.n_trials, 12))
    n = len(cfg.training_sets)
    assert [p["dataset"] for p in drawn] == [cfg.training_sets[k % n] for k in range(len(drawn))]
    assert {p["dataset"] for p in drawn} == set(cfg.training_sets)  # the profile has trials enough
    # the cycle does not tie the other parameters to the training set: they stay random
    assert len({(p["activation"], p["layers"], p["kernels"], p["optimizer"]) for p in drawn[:n]}) > 1


def test_cycling_follows_the_profiles_training_sets():
    cfg = get_profile("quick", training_sets=("denoised", "base"))
    assert [p["dataset"] for p in _draw(cfg, 5)] == ["denoised", "base", "denoised", "base", "denoised"]


def test_parameters_stay_in_the_profiles_space():
    cfg = get_profile("quick")
    for p in _draw(cfg, 40):
        assert p["dataset"] in cfg.training_sets and p["activation"] in cfg.activations
        assert p["optimizer"] in cfg.optimizers
        assert cfg.layers_min <= p["layers"] <= cfg.layers_max
        assert cfg.kernels_min <= p["kernels"] <= cfg.kernels_max
        assert cfg.batch_size_min <= p["batch_size"] <= cfg.batch_size_max
        assert cfg.lr_min <= p["lr"] <= cfg.lr_max


def test_model_kinds_are_cycled_evenly_and_leave_the_random_draws_alone():
    cfg = get_profile("quick", models=("convlstm", "convgru", "convrnn", "simvp"))
    drawn = _draw(cfg, 16)
    kinds = [p["model"] for p in drawn]
    assert {k: kinds.count(k) for k in cfg.models} == {k: 4 for k in cfg.models}
    # not in lock-step with a k mod 4 cycle: 16 trials see every (k mod 4, kind) pair once
    assert len({(k % 4, kind) for k, kind in enumerate(kinds)}) == 16
    alone = _draw(get_profile("quick", models=("convlstm",)), 16)
    assert [{**p, "model": None} for p in drawn] == [{**p, "model": None} for p in alone]
    assert {p["model"] for p in alone} == {"convlstm"}


def test_trial_k_draws_the_same_parameters_in_one_go_or_resumed_by_another_worker(tmp_path):
    cfg = get_profile("quick")
    one_go = _draw(cfg, 6)
    storage = sweep_storage.open_storage(str(tmp_path / "sweep.journal"))
    first = _draw(cfg, 3, worker=0, storage=storage)
    resumed = _draw(cfg, 3, worker=1, storage=storage)  # the same study, reopened by another worker
    assert first + resumed == one_go


def test_draw_is_uniform_over_choices_and_log_uniform_over_ranges():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    rng = np.random.RandomState(0)
    cats = [sweep_space.draw(rng, CategoricalDistribution(["a", "b", "c", "d"])) for _ in range(4000)]
    assert {c: cats.count(c) for c in "abcd"} == pytest.approx({c: 1000 for c in "abcd"}, rel=0.1)
    ints = [sweep_space.draw(rng, IntDistribution(1, 3)) for _ in range(3000)]
    assert {i: ints.count(i) for i in (1, 2, 3)} == pytest.approx({1: 1000, 2: 1000, 3: 1000}, rel=0.1)
    lrs = np.array([sweep_space.draw(rng, FloatDistribution(1e-4, 1.0, log=True)) for _ in range(4000)])
    assert lrs.min() >= 1e-4 and lrs.max() < 1.0
    assert np.log10(lrs).mean() == pytest.approx(-2.0, abs=0.06)  # the middle of 1e-4..1 on a log scale
    assert ((lrs > 1e-3) & (lrs < 1e-2)).mean() == pytest.approx(0.25, abs=0.03)  # one decade of four
    steps = {sweep_space.draw(rng, FloatDistribution(0.0, 1.0, step=0.25)) for _ in range(200)}
    assert steps == {0.0, 0.25, 0.5, 0.75, 1.0}
    logints = [sweep_space.draw(rng, IntDistribution(1, 100, log=True)) for _ in range(2000)]
    assert min(logints) == 1 and max(logints) == 100 and np.median(logints) == pytest.approx(10, rel=0.3)
