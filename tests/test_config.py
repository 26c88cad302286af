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
