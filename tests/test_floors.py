"""The ground-truth references (`floors`): what no model can remove from the test error."""
import numpy as np
import pytest

from convlstm_lib.data.generator import GeneratorConfig, generate_set
from convlstm_lib.experiments import floors


@pytest.fixture(scope="module")
def smooth():
    """Sequences whose every step is foreseeable from the one before: no jumps, no random part in
    the turn (per-sequence rates only) or the fading."""
    return generate_set(6, 12, 3, GeneratorConfig(outlier_rate=0.0, rotation_step_sd=0.0, intensity_sd=0.0))


def test_carrying_the_last_step_on_is_perfect_when_nothing_is_random(smooth):
    truth = smooth.arrays()
    for target in (3, 9, 15):
        errors = floors.reference_errors(smooth.frames, truth, target, scale=297.0)
        np.testing.assert_allclose(errors["carry_on"], errors["perfect"], rtol=1e-6)  # clean is float32
        np.testing.assert_array_equal(errors["jumps"], errors["perfect"])
        assert (errors["copy_last"] > 1.5 * errors["perfect"]).all()  # the frames do move


def test_perfect_leaves_the_noise_and_a_jump_its_whole_change():
    g = generate_set(6, 60, 1, GeneratorConfig(outlier_rate=0.1))
    truth = g.arrays()
    errors = floors.reference_errors(g.frames, truth, 15, scale=297.0)
    sigma2 = (g.config.noise_sigma / 297.0) ** 2
    assert errors["perfect"].mean() == pytest.approx(sigma2, rel=0.05)  # rounding adds 1/12 / 297^2
    jump = g.outlier_transitions[:, 14]
    assert jump.sum() == 6
    change = (((g.clean[:, 14].astype(float) - g.frames[:, 15]) / 297.0) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(errors["jumps"][jump], change[jump], rtol=1e-6)
    np.testing.assert_array_equal(errors["jumps"][~jump], errors["perfect"][~jump])
    np.testing.assert_array_equal(errors["carry_on"][jump], errors["jumps"][jump])
    assert errors["carry_on"][~jump].mean() > errors["perfect"][~jump].mean()  # the turn's random part


def test_floor_table_pools_the_test_frames_and_counts_the_jumps():
    g = generate_set(6, 100, 0)
    table = floors.floor_table(g.frames, g.arrays(), scale=297.0)
    assert list(table.index) == ["frame 4", "frame 16", "all test windows"]
    assert table["jump windows"].tolist() == [1, 1, 2]
    for name in ("copy_last", *floors.REFERENCES):
        assert table.loc["all test windows", name] == pytest.approx(table[name].iloc[:2].mean())
    assert (table["perfect"] <= table["jumps"]).all() and (table["jumps"] <= table["carry_on"]).all()
    assert (table["carry_on_ratio"] < 1).all()
    assert table.loc["frame 4", "jumps_ratio"] == pytest.approx(
        table.loc["frame 4", "jumps"] / table.loc["frame 4", "copy_last"])


def test_a_target_without_two_frames_before_it_is_refused(smooth):
    with pytest.raises(ValueError, match="^target: frame 1 needs"):
        floors.reference_errors(smooth.frames, smooth.arrays(), 1, scale=297.0)


def test_interpolation_floor_keeps_the_neighbour_mean_where_a_jump_is_next_to_the_frame():
    g = generate_set(6, 100, 2)
    errors = floors.interpolation_errors(g.frames, g.arrays(), 3, scale=297.0)
    jump = g.outlier_transitions[:, 2] | g.outlier_transitions[:, 3]
    np.testing.assert_array_equal(errors["jump"], jump)
    assert 1 <= jump.sum() <= 2  # one jump on each of the two steps (they may share a sequence)
    clean = g.clean.astype(float)
    mean = 0.5 * (clean[:, 2] + clean[:, 4])
    expected = (((mean - g.frames[:, 3]) / 297.0) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(errors["jumps"][jump], expected[jump], rtol=1e-6)
    np.testing.assert_array_equal(errors["jumps"][~jump], errors["perfect"][~jump])
    assert errors["jumps"].mean() < errors["neighbour_mean"].mean()
    with pytest.raises(ValueError, match="^target: frame 15 needs"):
        floors.interpolation_errors(g.frames, g.arrays(), 15, scale=297.0)
