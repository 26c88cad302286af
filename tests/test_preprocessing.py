"""Pre-processing: scaling, windows that never touch the test frames, the outlier rule, denoising
and the four training sets; on synthetic data with known answers, and on generated N6."""


import numpy as np
import pytest
from scipy import stats

from convlstm_lib.config import TRAINING_SETS
from convlstm_lib.data import preprocessing as pp
from convlstm_lib.data.course_io import TEST_FRAMES

# ----------------------------------------------------------------------------- scaling


def test_scaler_maps_min_max_to_unit_and_inverts():
    frames = np.array([[-25.0, 0.0], [100.0, 272.0]])
    scaled, scaler = pp.scale_to_unit(frames)
    assert (scaler.lo, scaler.hi) == (-25.0, 272.0)
    assert scaled.dtype == np.float32 and scaled.min() == 0 and scaled.max() == 1
    np.testing.assert_allclose(scaler.transform([123.5]), [(123.5 + 25) / 297], rtol=1e-6)
    np.testing.assert_allclose(scaler.inverse(scaled), frames, atol=1e-4)
    # fitted on one set, applied to another: not clipped
    assert scaler.transform(np.array([300.0]))[0] > 1


@pytest.mark.parametrize(
    "frames, match", [(np.ones(4), "lo < hi"), (np.array([0, np.nan]), "NaN"), (np.zeros(0), "empty")]
)
def test_scaler_rejects_degenerate_frames(frames, match):
    with pytest.raises(ValueError, match=match):
        pp.Scaler.fit(frames)


# ----------------------------------------------------------------------------- windows


def _coded_sequences(n: int, t: int = 16) -> np.ndarray:
    """Frame (i, j) filled with the value 100 * i + j, so every window says where it came from."""
    codes = 100.0 * np.arange(n)[:, None] + np.arange(t)[None, :]
    return np.broadcast_to(codes[:, :, None, None], (n, t, 36, 36)).copy()


def test_window_frames_for_the_course_split():
    train, test = pp.window_frames(16)
    np.testing.assert_array_equal(train, [2, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    np.testing.assert_array_equal(test, TEST_FRAMES)


def test_make_windows_counts_and_contents():
    seqs = _coded_sequences(7)
    train, test = pp.make_windows(seqs)
    assert len(train) == 7 * 10 and len(test) == 7 * 2
    assert train.inputs.shape == (70, 2, 36, 36) and train.targets.shape == (70, 36, 36)
    assert train.inputs.dtype == np.float32 and train.clean_targets is None
    for ws in (train, test):
        np.testing.assert_array_equal(ws.targets[:, 0, 0], 100 * ws.seq + ws.frame)
        np.testing.assert_array_equal(ws.inputs[:, 0, 0, 0], 100 * ws.seq + ws.frame - 2)
        np.testing.assert_array_equal(ws.inputs[:, 1, 0, 0], 100 * ws.seq + ws.frame - 1)
    assert set(test.frame.tolist()) == set(TEST_FRAMES)
    # no training window contains a test frame anywhere (inputs or target)
    used = np.concatenate([train.inputs[:, :, 0, 0] % 100, train.targets[:, None, 0, 0] % 100], axis=1)
    assert not np.isin(used, TEST_FRAMES).any()


def test_make_windows_carries_clean_targets():
    seqs = _coded_sequences(3)
    train, test = pp.make_windows(seqs, clean=seqs + 0.5)
    np.testing.assert_array_equal(test.clean_targets, test.targets + 0.5)


def test_windows_at_every_target_for_n3():
    ws = pp.windows_at(_coded_sequences(4), np.arange(2, 16))
    assert len(ws) == 4 * 14
    np.testing.assert_array_equal(ws.frame[:14], np.arange(2, 16))
    np.testing.assert_array_equal(ws.seq, np.repeat(np.arange(4), 14))


@pytest.mark.parametrize("test_frames", [(1, 15), (3, 16), ()])
def test_bad_test_frames(test_frames):
    with pytest.raises(ValueError, match="test_frames: must lie in 2..15"):
        pp.make_windows(_coded_sequences(2), test_frames)


def test_windowset_validates_shapes_and_samples_reproducibly():
    train, _ = pp.make_windows(_coded_sequences(10))
    with pytest.raises(ValueError, match=r"targets: expected shape \(100, 36, 36\)"):
        pp.WindowSet(train.inputs, train.targets[:5], None, train.seq, train.frame)
    a, b = train.sample(17, seed=3), train.sample(17, seed=3)
    assert len(a) == 17 and np.array_equal(a.seq, b.seq) and np.array_equal(a.frame, b.frame)
    c = train.sample(17, seed=4)
    assert not np.array_equal(a.seq * 100 + a.frame, c.seq * 100 + c.frame)
    assert train.sample(0, seed=0) is train and train.sample(500, seed=0) is train


# ----------------------------------------------------------------------------- outliers


def test_mahalanobis_radius_keeps_the_three_sigma_tail():
    assert pp.mahalanobis_radius(1) == pytest.approx(3.0)
    for k in (2, 8, 20):
        r = pp.mahalanobis_radius(k)
        assert stats.chi2.sf(r * r, k) == pytest.approx(pp.THREE_SIGMA_TAIL, rel=1e-6)
    assert pp.mahalanobis_radius(2) == pytest.approx(3.4389, abs=1e-3)
    assert pp.THREE_SIGMA_TAIL == pytest.approx(0.0026998, rel=1e-4)


def _random_walks(n=300, t=16, jumps=((5, 4), (17, 9), (42, 0), (100, 14), (250, 7)), seed=0):
    """Sequences of 6x6 frames whose consecutive differences are Gaussian, plus a few big jumps."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 1, (n, t - 1, 6, 6)) * np.linspace(0.5, 2, 36).reshape(6, 6)
    truth = np.zeros((n, t - 1), bool)
    for i, step in jumps:
        steps[i, step] += 12 * rng.choice([-1, 1], (6, 6))
        truth[i, step] = True
    frames = np.concatenate([np.zeros((n, 1, 6, 6)), np.cumsum(steps, axis=1)], axis=1)
    return frames, truth


@pytest.mark.parametrize("robust", [True, False])
def test_detect_outliers_finds_planted_jumps_at_the_gaussian_false_alarm_rate(robust):
    frames, truth = _random_walks()
    report = pp.detect_outliers(frames, n_components=8, smooth_sigma=0, normalise=False, robust=robust)
    assert report.flagged.shape == (300, 15) and report.coords.shape == (4500, 8)
    score = report.score(truth)
    assert score["recall"] == 1.0
    # the rest is Gaussian: about 0.27 % of 4495 transitions (12) expected beyond the radius
    assert score["false_positives"] <= 30
    np.testing.assert_array_equal(report.flagged_sequences, report.flagged.any(axis=1))
    assert report.n_flagged == int((report.distance > report.threshold).sum())


def test_detect_outliers_is_scale_free_and_seeded():
    frames, _ = _random_walks(seed=1)
    a = pp.detect_outliers(frames, seed=5)
    b = pp.detect_outliers(3.0 * frames - 7.0, seed=5)
    np.testing.assert_array_equal(a.flagged, b.flagged)
    np.testing.assert_allclose(a.distance, b.distance, rtol=1e-6)


def test_transitions_clear_of_the_test_frames():
    """Worked by hand: T = 16, test frames 3 and 15 (0-based) touch transitions 2->3, 3->4 and 14->15."""
    clear = pp.transitions_clear_of(16, (3, 15))
    assert clear.shape == (15,) and np.flatnonzero(~clear).tolist() == [2, 3, 14]
    assert np.flatnonzero(~pp.transitions_clear_of(6, (2,))).tolist() == [1, 2]


def test_detect_outliers_fits_and_flags_only_the_examined_transitions():
    frames, truth = _random_walks(jumps=((0, 3), (5, 7), (9, 3)))
    examined = np.ones(15, bool)
    examined[[2, 3]] = False
    report = pp.detect_outliers(frames, n_components=8, smooth_sigma=0, normalise=False, examined=examined)
    assert report.coords.shape == (300 * 13, 8) and report.distance.shape == (300 * 13,)
    assert not report.flagged[:, [2, 3]].any()  # the jumps at transition 3 are not examined
    assert report.flagged[5, 7] and report.n_transitions == 300 * 13 and report.n_left_out == 600
    np.testing.assert_array_equal(report.examined_flags.reshape(-1), report.distance > report.threshold)
    # scored over the examined transitions only: one injected jump there, and it is found
    score = report.score(truth)
    assert score["injected"] == 1 and score["true_positives"] == 1
    # what the left-out transitions hold changes nothing
    wild = frames.copy()
    wild[:, 3] += np.random.default_rng(3).normal(0, 50, wild[:, 3].shape)
    again = pp.detect_outliers(wild, n_components=8, smooth_sigma=0, normalise=False, examined=examined)
    np.testing.assert_array_equal(again.flagged, report.flagged)
    np.testing.assert_allclose(again.distance, report.distance)
    with pytest.raises(ValueError, match="examined: expected a bool array over the 15 transitions"):
        pp.detect_outliers(frames, examined=np.zeros(15, bool))


def test_outlier_score_counts():
    report = pp.OutlierReport(
        flagged=np.array([[True, False, True], [False, False, False]]),
        coords=np.zeros((6, 2)), distance=np.zeros(6), threshold=3.4, explained_variance_ratio=np.zeros(2),
    )
    truth = np.array([[True, False, False], [False, True, False]])
    s = report.score(truth)
    assert (s["true_positives"], s["false_positives"], s["false_negatives"]) == (1, 1, 1)
    assert s["precision"] == 0.5 and s["recall"] == 0.5
    with pytest.raises(ValueError, match=r"truth: expected shape \(2, 3\)"):
        report.score(truth[:, :2])
    assert pp.score_flags(report.flagged, truth) == s  # one rule, whichever detector flagged


def test_score_flags_when_nothing_is_flagged_or_nothing_to_find():
    none = np.zeros((2, 3), bool)
    some = np.array([[True, False, False], [False, False, False]])
    missed = pp.score_flags(none, some)
    assert (missed["precision"], missed["recall"], missed["false_negatives"]) == (1.0, 0.0, 1)
    false_alarm = pp.score_flags(some, none)
    assert (false_alarm["precision"], false_alarm["recall"], false_alarm["injected"]) == (0.0, 1.0, 0)


@pytest.mark.parametrize(
    "kwargs, match", [({"n_components": 0}, "n_components"), ({"sigmas": 0}, "sigmas")]
)
def test_detect_outliers_bad_arguments(kwargs, match):
    frames, _ = _random_walks(n=20, jumps=())
    with pytest.raises(ValueError, match=match):
        pp.detect_outliers(frames, **kwargs)
    with pytest.raises(ValueError, match=r"frames: expected shape \(N, T, H, W\)"):
        pp.detect_outliers(frames[0])


# ----------------------------------------------------------------------------- denoising


def _blob_images(n=30, sigma=0.016, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:36, :36]
    clean = np.stack([
        0.08 + 0.8 * np.exp(-(((yy - 18 - rng.normal(0, 3)) ** 2) + (xx - 18 - rng.normal(0, 3)) ** 2) / 40)
        for _ in range(n)
    ]).astype(np.float32)
    return clean, (clean + rng.normal(0, sigma, clean.shape)).astype(np.float32)


def test_denoise_lowers_error_to_the_clean_image():
    clean, noisy = _blob_images()
    out = pp.denoise(noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32
    before = np.mean((noisy - clean) ** 2)
    after = np.mean((out - clean) ** 2)
    assert after < 0.5 * before


def test_denoise_keeps_leading_shape_and_clean_images():
    clean, _ = _blob_images(n=6)
    out = pp.denoise(clean.reshape(2, 3, 36, 36))
    assert out.shape == (2, 3, 36, 36)
    # a noise-free image changes by little more than the uint8 quantisation
    assert np.abs(out.reshape(6, 36, 36) - clean).max() < 0.02


@pytest.mark.parametrize(
    "images, h, match",
    [(np.zeros(5, np.float32), 7, "images: expected floating images"),
     (np.zeros((2, 8, 8), np.uint8), 7, "images: expected floating images"),
     (np.full((1, 8, 8), np.nan, np.float32), 7, "NaN"),
     (np.zeros((1, 8, 8), np.float32), 0, "h: the filter strength")],
)
def test_denoise_bad_input(images, h, match):
    with pytest.raises(ValueError, match=match):
        pp.denoise(images, h=h)


# ----------------------------------------------------------------------------- training sets


def test_build_training_sets_four_sets():
    clean, noisy = _blob_images(n=6 * 16)
    seqs, clean_seqs = noisy.reshape(6, 16, 36, 36), clean.reshape(6, 16, 36, 36)
    train, test = pp.make_windows(seqs, clean=clean_seqs)
    flagged = np.array([False, True, False, False, True, False])
    sets = pp.build_training_sets(train, flagged)
    assert list(sets) == list(TRAINING_SETS)
    sizes = {k: len(v) for k, v in sets.items()}
    assert sizes == {"base": 60, "cleaned": 40, "denoised": 60, "processed": 40}
    for name in ("cleaned", "processed"):
        assert not np.isin(sets[name].seq, [1, 4]).any()
    np.testing.assert_array_equal(sets["denoised"].inputs, sets["base"].inputs)
    np.testing.assert_array_equal(sets["denoised"].clean_targets, sets["base"].clean_targets)
    err = {k: np.mean((v.targets - v.clean_targets) ** 2) for k, v in sets.items()}
    assert err["denoised"] < err["base"] and err["processed"] < err["cleaned"]
    with pytest.raises(ValueError, match="flagged_sequences: expected a bool array over the 6 sequences"):
        pp.build_training_sets(train, flagged[:3])


# ----------------------------------------------------------------------------- generated N6


@pytest.fixture(scope="module")
def generated_n6(generated_n6_400):
    """Generated N6 with the calibrated defaults, 400 sequences (the population the rule is fitted to)."""
    s = generated_n6_400
    return s.frames.astype(np.float64), s.clean.astype(np.float64), s.outlier_transitions


def test_outliers_on_generated_n6(generated_n6):
    frames, _, truth = generated_n6
    report = pp.detect_outliers(frames)
    score = report.score(truth)
    assert score["recall"] >= 0.8 and score["precision"] >= 0.5, score
    # the plain pixel differences with the same rule are far less precise: the smoothing matters
    plain = pp.detect_outliers(frames, smooth_sigma=0, normalise=False).score(truth)
    assert plain["precision"] < score["precision"]


def test_denoising_generated_targets_lowers_error_to_clean(generated_n6):
    frames, clean, _ = generated_n6
    scaler = pp.Scaler.fit(frames)
    noisy = scaler.transform(frames[:40, [2, 8, 14]])
    truth = scaler.transform(clean[:40, [2, 8, 14]])
    before = np.mean((noisy - truth) ** 2)
    after = np.mean((pp.denoise(noisy) - truth) ** 2)
    assert after < 0.35 * before
    # the default strength beats a much weaker and a much stronger one
    for h in (4.0, 20.0):
        assert after < np.mean((pp.denoise(noisy, h=h) - truth) ** 2)


def test_full_n6_training_sets_have_the_expected_sizes(generated_n6):
    """Ten training windows a sequence (targets 2 and 6..14); cleaned drops whole flagged sequences.

    (The 20 s budget for this chain is measured by benchmarks/pipeline_speed.py, not here.)
    """
    frames, _, _ = generated_n6
    scaled, _ = pp.scale_to_unit(frames)
    report = pp.detect_outliers(scaled)
    train, _ = pp.make_windows(scaled)
    sets = pp.build_training_sets(train, report.flagged_sequences)
    kept = 400 - report.n_flagged_sequences
    assert len(sets["base"]) == len(sets["denoised"]) == 4000
    assert len(sets["cleaned"]) == len(sets["processed"]) == 10 * kept


def test_jump_targets_are_the_windows_whose_target_follows_a_flagged_transition():
    """Transition t of the report is frame t -> t + 1: a window with target frame f follows transition
    f - 1 (worked by hand; the inputs' transition f - 2 does not count)."""
    from convlstm_lib.data.preprocessing import OutlierReport

    flagged = np.array([[False, True, False], [False, False, True]])
    report = OutlierReport(flagged, np.zeros((6, 1)), np.zeros(6), 1.0, np.ones(1))
    seq, frame = np.array([0, 0, 1, 1, 1]), np.array([2, 3, 3, 2, 1])
    assert report.jump_targets(seq, frame).tolist() == [True, False, True, False, False]
    with pytest.raises(ValueError, match="outside the 2 sequences x 4 frames"):
        report.jump_targets(np.array([0]), np.array([4]))
    with pytest.raises(ValueError, match="outside"):
        report.jump_targets(np.array([2]), np.array([1]))


def test_hold_out_sequences_is_seeded_and_counts_a_rounded_share():
    held = pp.hold_out_sequences(400, 0.1, seed=0)
    assert held.dtype == bool and held.shape == (400,) and held.sum() == 40
    assert np.array_equal(held, pp.hold_out_sequences(400, 0.1, seed=0))
    assert not np.array_equal(held, pp.hold_out_sequences(400, 0.1, seed=1))
    assert pp.hold_out_sequences(24, 0.1, seed=0).sum() == 2  # 2.4 rounds to 2
    assert pp.hold_out_sequences(3, 0.5, seed=0).sum() == 2  # 1.5 rounds half up


@pytest.mark.parametrize(("n", "share", "match"), [
    (4, 0.1, "val_share: 0.1 of 4 N6 sequences holds none out"),
    (1, 0.5, "val_share: 0.5 of 1 N6 sequences leaves none to train on"),
    (10, 0.7, r"val_share: must be a number in \(0, 0.5\]"),
])
def test_hold_out_sequences_refuses_a_share_that_leaves_no_validation_or_no_training(n, share, match):
    with pytest.raises(ValueError, match=match):
        pp.hold_out_sequences(n, share, seed=0)
