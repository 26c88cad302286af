"""Corruptions: identity at level 0, damage that grows with the level, the documented formulas,
seeding, vectorisation over levels, and every bad-input case."""

import numpy as np
import pytest

from convlstm_lib.data import corruption as c


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    """(N, 2, H, W) inputs on [0, 1] with a dark background and bright strokes, like the data."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 2, 36, 36)).astype(np.float32) * 0.2
    x[:, :, 10:26, 14:22] = 0.9
    return x


@pytest.mark.parametrize("kind", c.NOISE_KINDS)
def test_intensity_zero_is_identity(batch, kind):
    out = c.corrupt(batch, kind, 0.0, seed=1)
    assert out.dtype == batch.dtype and out.shape == batch.shape
    np.testing.assert_array_equal(out, batch)
    assert out is not batch


def test_identity_keeps_values_outside_unit_range(batch):
    x = batch.copy()
    x[0, 0, 0, 0] = -0.05  # a scaled test frame may dip below the training minimum
    np.testing.assert_array_equal(c.corrupt(x, "gaussian", 0.0), x)
    np.testing.assert_array_equal(c.corrupt(x, "missing_region", 0), x)


@pytest.mark.parametrize("kind", c.NOISE_KINDS)
def test_error_grows_with_intensity_and_stays_in_unit_range(batch, kind):
    levels = np.linspace(0, 1, 11)
    out = c.corrupt(batch, kind, levels, seed=2)
    assert out.shape == (11, *batch.shape)
    assert out.min() >= 0 and out.max() <= 1
    err = ((out - batch[None]) ** 2).mean(axis=(1, 2, 3, 4))
    assert err[0] == 0
    assert np.all(np.diff(err) > 0), err


def test_gaussian_std_is_the_intensity():
    x = np.full((200, 1, 36, 36), 0.5, dtype=np.float64)
    y = c.corrupt(x, "gaussian", 0.05, seed=3)
    assert np.std(y - x) == pytest.approx(0.05, rel=0.02)
    assert np.mean(y - x) == pytest.approx(0.0, abs=1e-3)


def test_poisson_variance_is_a_squared_times_brightness():
    # K ~ Poisson(P x) / P with P = 1/a^2: mean x, variance a^2 x
    x = np.full((200, 1, 36, 36), 0.25, dtype=np.float64)
    a = 0.2
    y = c.corrupt(x, "poisson", a, seed=4)
    assert np.mean(y) == pytest.approx(0.25, rel=0.01)
    assert np.var(y) == pytest.approx(a * a * 0.25, rel=0.03)
    # values are whole photon counts divided by P = 25
    np.testing.assert_allclose(y * 25, np.round(y * 25), atol=1e-9)


def test_salt_and_pepper_hits_a_fraction_intensity_half_white():
    x = np.full((100, 1, 36, 36), 0.5, dtype=np.float32)
    y = c.corrupt(x, "salt_and_pepper", 0.3, seed=5)
    hit = y != 0.5
    assert hit.mean() == pytest.approx(0.3, abs=0.01)
    assert set(np.unique(y[hit]).tolist()) == {0.0, 1.0}
    assert (y[hit] == 1).mean() == pytest.approx(0.5, abs=0.02)
    assert (c.corrupt(x, "salt_and_pepper", 1.0, seed=5) != 0.5).all()


def test_missing_region_is_one_square_shared_by_the_frames(batch):
    x = np.full((30, 2, 36, 36), 0.7, dtype=np.float32)
    y = c.corrupt(x, "missing_region", 7, seed=6)
    for n in range(30):
        holes = y[n, 0] == 0
        np.testing.assert_array_equal(holes, y[n, 1] == 0)
        rows, cols = np.nonzero(holes)
        assert holes.sum() == 49
        assert rows.max() - rows.min() == 6 and cols.max() - cols.min() == 6
    # positions differ between samples
    assert len({tuple(np.argwhere(y[n, 0] == 0)[0]) for n in range(30)}) > 5
    assert (c.corrupt(x, "missing_region", 36, seed=6) == 0).all()
    filled = c.corrupt(x, "missing_region", 36, seed=6, fill=0.5)
    assert (filled == 0.5).all()


def test_missing_area_grows_with_size(batch):
    sizes = np.arange(0, 37, 4)
    out = c.corrupt(np.ones((10, 2, 36, 36), np.float32), "missing_region", sizes, seed=0)
    np.testing.assert_array_equal((out == 0).sum(axis=(1, 2, 3, 4)), 10 * 2 * sizes**2)


@pytest.mark.parametrize("kind, level", [*[(k, 0.4) for k in c.NOISE_KINDS], ("missing_region", 9)])
def test_same_seed_same_corruption_other_seed_differs(batch, kind, level):
    a = c.corrupt(batch, kind, level, seed=11)
    np.testing.assert_array_equal(a, c.corrupt(batch, kind, level, seed=11))
    assert not np.array_equal(a, c.corrupt(batch, kind, level, seed=12))


@pytest.mark.parametrize(
    "kind, levels", [*[(k, [0.0, 0.1, 0.7]) for k in c.NOISE_KINDS], ("missing_region", [0, 5, 36])]
)
def test_vectorised_levels_equal_single_levels_and_iterator(batch, kind, levels):
    stacked = c.corrupt(batch, kind, levels, seed=7)
    for i, lv in enumerate(levels):
        np.testing.assert_array_equal(stacked[i], c.corrupt(batch, kind, lv, seed=7))
    for i, (lv, arr) in enumerate(c.iter_levels(batch, kind, levels, seed=7)):
        assert lv == levels[i]
        np.testing.assert_array_equal(arr, stacked[i])


def test_figure5_grid_rows_are_intensities():
    image = np.zeros((36, 36), np.float32)
    image[8:28, 12:24] = 1.0
    grid, intensities, sizes = c.figure5_grid(image, rows=4, seed=0)
    assert grid.shape == (4, 4, 36, 36)
    np.testing.assert_allclose(intensities, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_array_equal(sizes, [0, 12, 24, 36])
    for k in range(4):
        np.testing.assert_array_equal(grid[0, k], image)
    assert (grid[-1, 3] == 0).all()


@pytest.mark.parametrize(
    "x, level, match",
    [
        (np.zeros((36, 36), np.float32), 0.1, r"x: expected shape \(N, \.\.\., H, W\)"),
        (np.zeros((2, 36, 36), np.uint8), 0.1, "x: expected a floating dtype"),
        (np.full((2, 36, 36), np.nan, np.float32), 0.1, "x: contains NaN"),
        ([[[0.0]]], 0.1, "x: expected a NumPy array"),
        (np.zeros((2, 36, 36), np.float32), 1.5, r"intensity: must lie in \[0, 1\]"),
        (np.zeros((2, 36, 36), np.float32), -0.1, r"intensity: must lie in \[0, 1\]"),
        (np.zeros((2, 36, 36), np.float32), [[0.1]], "intensity: expected a scalar or a 1-D"),
        (np.zeros((2, 36, 36), np.float32), float("nan"), r"intensity: must lie in \[0, 1\]"),
    ],
)
def test_bad_noise_input(x, level, match):
    with pytest.raises(ValueError, match=match):
        c.corrupt(x, "gaussian", level)


@pytest.mark.parametrize(
    "size, match",
    [(-1, r"size: must lie in 0\.\.36"), (37, r"size: must lie in 0\.\.36"), (2.5, "size: must be whole")],
)
def test_bad_region_size(size, match):
    with pytest.raises(ValueError, match=match):
        c.corrupt(np.zeros((2, 36, 36), np.float32), "missing_region", size)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind: unknown corruption 'blur'"):
        c.corrupt(np.zeros((2, 36, 36), np.float32), "blur", 0.1)
