import pytest

from convlstm_lib.config import PROFILES, field_names, get_profile


def test_every_profile_round_trips_through_its_own_fields():
    # a notebook's parameters cell passes fields back as JSON values (lists): the profile must survive it
    import json

    for name, cfg in PROFILES.items():
        assert cfg.profile == name
        assert get_profile(name, **json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_paper_profile_is_the_papers_protocol():
    cfg = get_profile("paper")
    assert (cfg.n6, cfg.n3, cfg.n_trials, cfg.epochs, cfg.noise_levels) == (400, 100, 200, 20, 100)
    assert (cfg.layers_min, cfg.layers_max, cfg.kernels_min, cfg.kernels_max) == (1, 7, 1, 100)
    assert (cfg.lr_min, cfg.lr_max, cfg.batch_size_min, cfg.batch_size_max) == (1e-5, 0.1, 32, 256)
    assert len(cfg.optimizers) == 14 and not cfg.prune
    assert cfg.lr_schedule == "constant"  # the paper trains at a constant rate


def test_paper_profile_searches_the_papers_space():
    """What the sweep actually asks Optuna for, read off `sample_params`: the paper's 1-7 layers,
    1-100 kernels, learning rate 1e-5..0.1 on a log scale, batch 32-256, its 14 torch.optim
    optimisers, relu/tanh, the four training sets, its ConvLSTM; 200 trials x 20 epochs, 100 noise
    levels; as many trials at once as the GPU holds, and no wall-clock budget of its own."""
    from convlstm_lib.config import AUTO, PAPER_OPTIMIZERS
    from convlstm_lib.experiments.sweep_space import sample_params

    class Recorder:
        def __init__(self):
            self.asked = {}

        def suggest_categorical(self, name, choices):
            self.asked[name] = ("categorical", tuple(choices))
            return choices[0]

        def suggest_int(self, name, low, high):
            self.asked[name] = ("int", low, high)
            return low

        def suggest_float(self, name, low, high, log=False):
            self.asked[name] = ("float", low, high, log)
            return low

    cfg, trial = get_profile("paper"), Recorder()
    sample_params(trial, cfg)
    assert trial.asked == {
        "dataset": ("categorical", ("base", "cleaned", "denoised", "processed")),
        "activation": ("categorical", ("relu", "tanh")),
        "layers": ("int", 1, 7),
        "kernels": ("int", 1, 100),
        "lr": ("float", 1e-5, 0.1, True),
        "batch_size": ("int", 32, 256),
        "optimizer": ("categorical", PAPER_OPTIMIZERS),
        "model": ("categorical", ("convlstm",)),
    }
    assert set(PAPER_OPTIMIZERS) == {
        "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "SparseAdam", "Adamax", "ASGD", "LBFGS",
        "NAdam", "RAdam", "RMSprop", "Rprop", "SGD"}
    assert (cfg.n_trials, cfg.epochs, cfg.noise_levels, cfg.max_train_windows) == (200, 20, 100, 0)
    assert cfg.workers == AUTO and cfg.sweep_budget_s == 0 and cfg.budget_minutes == 0


def test_a_budget_in_minutes_sets_the_sweeps_budget_and_survives_a_round_trip():
    import json

    cfg = get_profile("paper", budget_minutes=5)
    assert cfg.sweep_budget_s == 300.0 and cfg.budget_minutes == 5
    assert get_profile("paper", **json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert get_profile("quick").sweep_budget_s == 660.0  # 0: the profile's own
    assert get_profile("quick", budget_minutes=0.5).sweep_budget_s == 30.0


def test_budget_minutes_on_a_command_line_must_be_a_positive_number():
    from convlstm_lib.config import check_budget_minutes

    assert check_budget_minutes("2.5") == 2.5
    for bad in ("0", "-1", "nan", "inf", "five", ""):
        with pytest.raises(ValueError, match=rf"^--budget-minutes: must be a positive number of minutes, "
                                             rf"got '{bad}'$"):
            check_budget_minutes(bad)


def test_overrides_apply_and_lists_become_tuples():
    cfg = get_profile("quick", seed=3, optimizers=["Adam"])
    assert cfg.seed == 3 and cfg.optimizers == ("Adam",)
    assert cfg.study_name == "convlstm-quick"


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"layers_max": 8}, "layers_min/layers_max"),
        ({"kernels_min": 0}, "kernels_min/kernels_max"),
        ({"n_trials": 0}, "n_trials"),
        ({"activations": ["sigmoid"]}, "activations"),
        ({"lr_schedule": "cosine"}, "^lr_schedule:"),
        ({"no_such_field": 1}, "no_such_field"),
        ({"final_model": "simvp"}, "^final_frames_as_channels: only for the recurrent models"),
        ({"final_drop_jump_targets": "yes"}, "^final_drop_jump_targets: must be true or false"),
        ({"final_frames_as_channels": 0}, "^final_frames_as_channels: must be true or false"),
        ({"workers": 0}, r"^workers: must be a whole number >= 1 or 'auto', got 0"),
        ({"workers": "many"}, r"^workers: must be a whole number >= 1 or 'auto', got 'many'"),
        ({"budget_minutes": -1}, r"^budget_minutes: must be a number of minutes >= 0"),
        ({"budget_minutes": float("nan")}, r"^budget_minutes: must be a number of minutes >= 0"),
        ({"val_share": 0.0}, r"^val_share: must be a number in \(0, 0.5\], got 0.0"),
        ({"val_share": 0.6}, r"^val_share: must be a number in \(0, 0.5\], got 0.6"),
        ({"val_share": "0.1"}, "^val_share: must be a number"),
        ({"val_share": 0.001}, "^val_share: 0.001 of the 400 N6 sequences holds none out"),
    ],
)
def test_bad_values_name_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        get_profile("quick", **overrides)


def test_unknown_profile():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        get_profile("fast")
    assert "profile" in field_names()


def test_every_profile_holds_out_validation_sequences():
    from convlstm_lib.config import held_out_count

    for cfg in PROFILES.values():
        assert 0 < cfg.val_share <= 0.5
        assert 1 <= held_out_count(cfg.n6, cfg.val_share) < cfg.n6
    assert held_out_count(24, 0.1) == 2 and held_out_count(400, 0.1) == 40 and held_out_count(5, 0.1) == 1


def test_each_use_of_the_profiles_seed_draws_from_its_own_stream():
    from convlstm_lib.config import SEED_STREAMS, derive_seed, seed_sequence

    assert len(set(SEED_STREAMS.values())) == len(SEED_STREAMS)  # no two uses share a stream
    seeds = {stream: derive_seed(0, stream, 1) for stream in SEED_STREAMS}
    assert len(set(seeds.values())) == len(seeds)
    assert len({derive_seed(seed, "sweep_trial", slot) for seed, slot in ((0, 1), (1, 1), (0, 2))}) == 3
    # the numbers every result is drawn from (slot 1 of seed 0: the quick sweep's trial 1)
    assert derive_seed(0, "sweep_trial", 1) == 1961547765
    assert [derive_seed(0, "final_run", k) for k in (0, 1)] == [1874364848, 2040376534]
    assert seed_sequence(0, "validation").entropy == [0, SEED_STREAMS["validation"]]
    with pytest.raises(KeyError):
        derive_seed(0, "no such use")
