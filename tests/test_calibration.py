import numpy as np
import pytest

from convlstm_lib.calibration import (
    SPEC_REFERENCE,
    centre_of_mass,
    compare,
    corner_noise,
    digit_mass,
    laplacian_variance,
    measure,
    outlier_steps,
    rotation_steps,
)
from convlstm_lib.generator import GeneratorConfig, generate_set


@pytest.fixture(scope="module")
def n6():
    """N6 with the calibrated defaults, at the course's size (generated once per test session)."""
    return generate_set(6, 400, seed=0)


@pytest.fixture(scope="module")
def measured(n6):
    return measure(n6.frames)


def test_default_generator_matches_every_quantity_of_spec_table(measured):
    table = compare(measured)
    assert set(table["quantity"]) == set(SPEC_REFERENCE)
    failing = table.loc[~table["within_25pct"], ["quantity", "generated", "real"]]
    assert failing.empty, f"outside +-25 % of SPEC §1:\n{failing.to_string()}"


def test_rotation_estimate_recovers_ground_truth_with_its_sign(n6):
    est = rotation_steps(n6.frames[:100])
    true = n6.rotation[:100]
    normal = ~n6.outlier_transitions[:100]
    assert np.corrcoef(est[normal], true[normal])[0, 1] > 0.98
    assert np.median(np.abs(est[normal] - true[normal])) < 0.7


def test_rotation_of_a_bar_by_known_angles():
    """A bar rotated counter-clockwise (as displayed) by +10 deg per step reads +10."""
    from convlstm_lib.generator import _warp

    bar = np.zeros((1, 36, 36))
    bar[0, 17:19, 8:28] = 200.0
    bar[0, 12:17, 25:28] = 200.0  # a hook, so the shape is not symmetric under 180 deg
    frames = [bar]
    for _ in range(3):
        centre = centre_of_mass(frames[-1])
        frames.append(_warp(frames[-1], centre, np.array([10.0]), np.zeros(1), np.zeros(1), order=3))
    seq = np.stack(frames, axis=1)
    np.testing.assert_allclose(rotation_steps(seq), 10.0, atol=1.0)
    # counter-clockwise as displayed: the right-hand end of the bar moves up (smaller row)
    assert centre_of_mass(np.clip(seq[0, 1, :, 18:], 0, None))[0] < centre_of_mass(seq[0, 0, :, 18:])[0]


def test_simple_statistics_on_known_images():
    img = np.zeros((36, 36))
    img[10, 20] = 3.0
    img[12, 20] = 1.0
    np.testing.assert_allclose(centre_of_mass(img), [10.5, 20.0])
    assert digit_mass(img) == 4.0
    assert laplacian_variance(np.full((36, 36), 7.0)) == pytest.approx(0.0, abs=1e-12)
    noise = np.random.default_rng(0).normal(0, 4.6, size=(200, 36, 36))
    assert np.median(corner_noise(noise)) == pytest.approx(4.6, rel=0.05)
    assert laplacian_variance(img) > 0


def test_outlier_rule_finds_injected_jumps(n6):
    flagged = outlier_steps(n6.frames)
    truth = n6.outlier_transitions
    tp = (flagged & truth).sum()
    assert truth.sum() > 20
    assert tp / truth.sum() >= 0.8, "recall"
    assert tp / flagged.sum() >= 0.5, "precision"


def test_compare_rules_fail_what_is_off(measured):
    off = dict(measured, laplacian_var_f16=measured["laplacian_var_f16"] * 1.4, rotation_median_deg=2.0)
    table = compare(off).set_index("quantity")
    assert not table.loc["laplacian_var_f16", "within_25pct"]
    assert not table.loc["rotation_median_deg", "within_25pct"]
    assert table.loc["noise_sigma", "within_25pct"]
    assert np.isnan(table.loc["rotation_median_deg", "ratio"])
    with pytest.raises(ValueError, match="missing quantities"):
        compare({"noise_sigma": 4.6})


def test_a_miscalibrated_generator_is_caught():
    """Bilinear resampling and no extra blur: frame 16 stays too crisp, which the table exposes."""
    g = generate_set(6, 60, seed=0, config=GeneratorConfig(interpolation_order=1, blur_sigma_end=0.0))
    table = compare(measure(g.frames)).set_index("quantity")
    assert not table.loc["laplacian_var_f4", "within_25pct"]


def test_measure_rejects_bad_shapes():
    with pytest.raises(ValueError, match="frames"):
        measure(np.zeros((2, 10, 36, 36)))
    with pytest.raises(ValueError, match="NaN"):
        measure(np.full((1, 16, 36, 36), np.nan))
