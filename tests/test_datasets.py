"""Datasets: sizes, scaling on the training frames only, test targets never denoised, the
validation split (whole sequences, seeded, recorded), the save/load round trip, damaged files,
and prepare_datasets' cache (rebuilt when it must be)."""
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

import convlstm_lib.data
from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import datasets as D
from convlstm_lib.data.course_io import TEST_FRAMES


@dataclass
class FakeRaw:
    """Stands in for sources.RawData (same fields)."""

    n6: np.ndarray
    n3: np.ndarray
    source: str
    truth_n6: dict | None
    truth_n3: dict | None


def _sequences(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) raw-scale sequences (n, 16, 36, 36): a drifting blob, noise sigma 4.6."""
    yy, xx = np.mgrid[:36, :36]
    clean = np.empty((n, 16, 36, 36))
    for i in range(n):
        cy, cx = 18 + rng.normal(0, 2), 18 + rng.normal(0, 2)
        for t in range(16):
            clean[i, t] = 250 * 0.985**t * np.exp(-((yy - cy - 0.3 * t) ** 2 + (xx - cx - 0.4 * t) ** 2) / 30)
    return np.round(clean + rng.normal(0, 4.6, clean.shape)), clean


def make_raw(n6=12, n3=4, seed=0, truth=True) -> FakeRaw:
    rng = np.random.default_rng(seed)
    s6, c6 = _sequences(n6, rng)
    s3, c3 = _sequences(n3, rng)
    outl = np.zeros((n6, 15), bool)
    outl[2, 6] = True
    if not truth:
        return FakeRaw(s6, s3, "course", None, None)
    truth6 = {"frames": s6, "clean": c6, "outlier_transitions": outl}
    return FakeRaw(s6, s3, "generated", truth6, {"clean": c3})


SETTINGS = D.ProcessingConfig(outlier_components=4)


@pytest.fixture(scope="module")
def raw() -> FakeRaw:
    return make_raw()


@pytest.fixture(scope="module")
def ds(raw) -> D.Datasets:
    return D.build_datasets(raw, SETTINGS, progress=False)


def test_sizes_and_dtypes(ds):
    # 12 sequences, val_share 0.1: one held out, 11 train; every sequence keeps its test windows
    assert ds.sizes()["base"] == 11 * 10 and ds.sizes()["denoised"] == 110 and ds.sizes()["val"] == 10
    assert len(ds.n6_test) == 24 and len(ds.n3) == 4 * 14 and len(ds.n3_test) == 8
    assert set(ds.n3_test.frame.tolist()) == set(TEST_FRAMES)
    assert ds.info["sizes"]["n3_test"] == 8
    flagged = ds.outliers.flagged_sequences
    removed = int(flagged[np.setdiff1d(np.arange(12), ds.val_sequences)].sum())
    assert len(ds.train["cleaned"]) == 10 * (11 - removed) == len(ds.train["processed"])
    for ws in (*ds.train.values(), ds.val, ds.n6_test, ds.n3):
        assert ws.inputs.dtype == ws.targets.dtype == ws.clean_targets.dtype == np.float32


def test_validation_holds_out_whole_sequences_by_the_training_rule(raw, ds):
    held = ds.val_sequences
    assert len(held) == 1
    assert not np.isin(ds.train["base"].seq, held).any()  # no training window of a held-out sequence
    assert set(ds.val.seq.tolist()) == set(held.tolist())
    assert sorted(set(ds.val.frame.tolist())) == [2, *range(6, 15)]  # the training rule: no test frame
    # raw targets (never denoised) and inputs of the held-out sequences, on the training scale
    s = int(held[0])
    np.testing.assert_array_equal(ds.val.targets, ds.scaler.transform(raw.n6[s, ds.val.frame]))
    np.testing.assert_array_equal(ds.val.inputs[:, 1], ds.scaler.transform(raw.n6[s, ds.val.frame - 1]))
    assert sorted(set(ds.n6_test.seq.tolist())) == list(range(12))  # the test windows are every sequence's
    assert ds.info["validation"] == ds.validation == {
        "sequences": 1, "windows": 10, "rule": D.VALIDATION_RULE,
    }


def test_the_split_is_seeded_and_part_of_the_fingerprint(raw, ds):
    again = D.build_datasets(raw, SETTINGS, progress=False)
    np.testing.assert_array_equal(again.val_sequences, ds.val_sequences)
    assert again.info["fingerprint"] == ds.info["fingerprint"]
    splits = {tuple(D.build_datasets(raw, D.ProcessingConfig(outlier_components=4, seed=s, val_share=0.25),
                                     progress=False).val_sequences) for s in range(4)}
    assert len(splits) > 1 and all(len(split) == 3 for split in splits)
    other = D.build_datasets(raw, D.ProcessingConfig(outlier_components=4, val_share=0.25), progress=False)
    assert other.info["fingerprint"] != ds.info["fingerprint"]  # trials of another split are other data
    assert D.fingerprint(raw) not in (other.info["fingerprint"], ds.info["fingerprint"])


@pytest.mark.parametrize("share", [0.0, -0.1, 0.51, float("nan")])
def test_a_share_outside_its_range_is_refused_naming_it(share):
    with pytest.raises(ValueError, match=r"val_share: must be a number in \(0, 0.5\]"):
        D.ProcessingConfig(val_share=share)


def test_a_share_that_holds_out_no_sequence_is_refused_before_anything_is_written(cached_env, tmp_path):
    cached_env["raw"] = make_raw(n6=4, n3=2)  # 0.1 x 4 sequences rounds to none
    with pytest.raises(D.DatasetsError, match=r"val_share: 0.1 of 4 N6 sequences holds none out"):
        D.prepare_datasets(get_profile("smoke", n6=6, n3=2), progress=False)
    assert not (tmp_path / "smoke").exists()


def test_scaler_fitted_on_n6_training_frames_only():
    raw = make_raw(n6=6, n3=2)
    raw.n6[0, 3, 0, 0] = 5000.0  # a test frame's extreme value must not set the scale
    ds = D.build_datasets(raw, SETTINGS, progress=False)
    assert ds.scaler.hi == raw.n6[:, np.r_[0:3, 4:15]].max()
    assert ds.scaler.lo == raw.n6[:, np.r_[0:3, 4:15]].min()


def test_test_targets_are_the_raw_frames_never_denoised(raw, ds):
    expected = ds.scaler.transform(raw.n6[:, list(TEST_FRAMES)]).reshape(-1, 36, 36)
    np.testing.assert_array_equal(ds.n6_test.targets, expected)
    clean = ds.scaler.transform(raw.truth_n6["clean"][:, list(TEST_FRAMES)]).reshape(-1, 36, 36)
    np.testing.assert_array_equal(ds.n6_test.clean_targets, clean)
    np.testing.assert_array_equal(ds.n3.targets, ds.scaler.transform(raw.n3[:, 2:]).reshape(-1, 36, 36))
    # whereas the denoised training targets did change, and moved towards the clean frames
    assert not np.array_equal(ds.train["denoised"].targets, ds.train["base"].targets)
    assert ds.info["denoise"]["mse_denoised_to_clean"] < ds.info["denoise"]["mse_raw_to_clean"]


def test_info_scores_outliers_against_the_injected_truth(ds):
    out = ds.info["outliers"]
    # 15 transitions a sequence, 3 of them touching frame 3 or 15 (2->3, 3->4, 14->15) left out
    assert out["transitions"] == 12 * 12 and out["transitions_left_out"] == 12 * 3 and out["injected"] == 1
    assert {"precision", "recall", "threshold", "flagged_transitions"} <= set(out)
    assert out["removed_windows"] == len(ds.train["base"]) - len(ds.train["cleaned"])


def _with_test_frames_replaced(raw: FakeRaw, seed: int = 1) -> FakeRaw:
    """`raw` with N6 frames 3 and 15 (0-based) shuffled across sequences, a jump of every sequence."""
    rng = np.random.default_rng(seed)
    n6 = raw.n6.copy()
    for t in (3, 15):
        n6[:, t] = np.roll(raw.n6[:, t], 1, axis=0)[:, ::-1] + rng.normal(0, 20, n6[:, t].shape)
    return FakeRaw(n6, raw.n3, raw.source, raw.truth_n6, raw.truth_n3)


def test_raw_test_frames_shape_no_training_or_validation_window_nor_any_flag(raw, ds):
    """The detector fits and flags only transitions clear of the test frames: replacing the raw
    test frames (before any window is cut) leaves the outlier flags, the four training sets, the
    validation windows and the fingerprint as they were; only the test windows change."""
    bad_raw = _with_test_frames_replaced(raw)
    bad = D.build_datasets(bad_raw, SETTINGS, progress=False)
    np.testing.assert_array_equal(bad.outliers.flagged, ds.outliers.flagged)
    np.testing.assert_array_equal(bad.outliers.distance, ds.outliers.distance)
    for name in D.TRAINING_SETS:
        np.testing.assert_array_equal(bad.train[name].targets, ds.train[name].targets)
        np.testing.assert_array_equal(bad.train[name].seq, ds.train[name].seq)
    np.testing.assert_array_equal(bad.val.inputs, ds.val.inputs)
    assert bad.scaler == ds.scaler
    assert bad.info["outliers"] == ds.info["outliers"]
    assert not np.array_equal(bad.n6_test.targets, ds.n6_test.targets)
    # the replaced frames are jumps the full-transition fit would have flagged
    every = D.detect_outliers(bad.scaler.transform(bad_raw.n6), n_components=4)
    assert every.flagged[:, [2, 3, 14]].any()
    assert not bad.outliers.flagged[:, [2, 3, 14]].any()


def test_the_cleaned_sets_are_part_of_the_fingerprint(raw, ds):
    flagged = np.flatnonzero(ds.outliers.flagged_sequences)
    val = ds.val_sequences
    assert ds.info["fingerprint"] == D.fingerprint(raw, val, flagged)
    assert D.fingerprint(raw, val, np.r_[flagged, 11]) != ds.info["fingerprint"]


def _assert_same(a: D.Datasets, b: D.Datasets):
    for name in D.TRAINING_SETS:
        for field in ("inputs", "targets", "clean_targets", "seq", "frame"):
            np.testing.assert_array_equal(getattr(a.train[name], field), getattr(b.train[name], field))
    for attr in ("val", "n6_test", "n3"):
        for field in ("inputs", "targets", "clean_targets", "seq", "frame"):
            np.testing.assert_array_equal(getattr(getattr(a, attr), field), getattr(getattr(b, attr), field))
    assert a.scaler == b.scaler
    np.testing.assert_array_equal(a.outliers.flagged, b.outliers.flagged)
    np.testing.assert_array_equal(a.outliers.coords, b.outliers.coords)
    np.testing.assert_array_equal(a.outliers.examined, b.outliers.examined)
    assert a.outliers.threshold == b.outliers.threshold


def test_save_load_round_trip(ds, tmp_path):
    npz, info = D.save_datasets(ds, tmp_path / "p")
    assert npz.exists() and info.exists()
    assert not [p for p in (tmp_path / "p").iterdir() if p.name.startswith(".")]  # no temp files left
    back = D.load_datasets(tmp_path / "p")
    _assert_same(ds, back)
    assert back.info["sizes"] == ds.info["sizes"]


def test_round_trip_without_ground_truth(tmp_path):
    ds = D.build_datasets(make_raw(n6=5, n3=2, truth=False), SETTINGS, progress=False)
    assert ds.n6_test.clean_targets is None and "precision" not in ds.info["outliers"]
    D.save_datasets(ds, tmp_path)
    back = D.load_datasets(tmp_path)
    assert back.train["processed"].clean_targets is None
    np.testing.assert_array_equal(back.train["processed"].targets, ds.train["processed"].targets)


def test_load_missing_or_damaged_names_the_file(ds, tmp_path):
    with pytest.raises(D.DatasetsError, match="datasets.json: not found"):
        D.load_datasets(tmp_path)
    D.save_datasets(ds, tmp_path)
    (tmp_path / "datasets.npz").write_bytes(b"not a zip")
    with pytest.raises(D.DatasetsError, match="datasets.npz: damaged"):
        D.load_datasets(tmp_path)
    (tmp_path / "datasets.json").write_text("{")
    with pytest.raises(D.DatasetsError, match="datasets.json: not a processed-datasets"):
        D.load_datasets(tmp_path)


def test_bad_raw_shapes():
    raw = make_raw(n6=3, n3=2)
    raw.n3 = raw.n3[:, :, :30]
    with pytest.raises(D.DatasetsError, match=r"n3: expected frames of shape \(16, 36, 36\)"):
        D.build_datasets(raw, SETTINGS, progress=False)
    with pytest.raises(D.DatasetsError, match=r"n6: expected sequences of shape \(N, T, H, W\)"):
        D.build_datasets(FakeRaw(np.zeros((16, 36, 36)), raw.n3, "x", None, None), SETTINGS)


@pytest.fixture
def cached_env(monkeypatch, tmp_path):
    """prepare_datasets against a fake sources.load_raw and a temporary processed folder."""
    state = {"raw": make_raw(n6=6, n3=2), "loads": 0, "builds": 0}

    def load_raw(cfg, progress=True):
        state["loads"] += 1
        return state["raw"]

    fake = types.ModuleType("convlstm_lib.data.sources")
    fake.load_raw = load_raw
    monkeypatch.setitem(sys.modules, "convlstm_lib.data.sources", fake)
    monkeypatch.setattr(convlstm_lib.data, "sources", fake, raising=False)
    monkeypatch.setattr(paths, "PROCESSED_DIR", tmp_path)
    real_build = D.build_datasets

    def counting_build(*args, **kwargs):
        state["builds"] += 1
        return real_build(*args, **kwargs)

    monkeypatch.setattr(D, "build_datasets", counting_build)
    return state


def test_prepare_caches_and_rebuilds_when_inputs_change(cached_env, tmp_path):
    cfg = get_profile("smoke", n6=6, n3=2, max_train_windows=0)
    first = D.prepare_datasets(cfg, progress=False)
    assert cached_env["builds"] == 1 and (tmp_path / "smoke" / "datasets.npz").exists()
    again = D.prepare_datasets(cfg, progress=False)
    assert cached_env["builds"] == 1  # served from the cache
    _assert_same(first, again)
    D.prepare_datasets(get_profile("smoke", n6=6, n3=2, seed=1, max_train_windows=0), progress=False)
    assert cached_env["builds"] == 2  # another seed
    cached_env["raw"] = make_raw(n6=6, n3=2, seed=9)
    D.prepare_datasets(get_profile("smoke", n6=6, n3=2, seed=1, max_train_windows=0), progress=False)
    assert cached_env["builds"] == 3  # the raw data changed
    split = D.prepare_datasets(get_profile("smoke", n6=6, n3=2, seed=1, max_train_windows=0, val_share=0.5),
                               progress=False)
    assert cached_env["builds"] == 4 and len(split.val_sequences) == 3  # another validation share


def test_prepare_honours_max_train_windows(cached_env):
    cfg = get_profile("smoke", n6=6, n3=2, max_train_windows=25)
    a = D.prepare_datasets(cfg, progress=False)
    b = D.prepare_datasets(cfg, progress=False)
    assert {name: len(ws) for name, ws in a.train.items()} == {name: 25 for name in D.TRAINING_SETS}
    np.testing.assert_array_equal(a.train["base"].seq, b.train["base"].seq)
    np.testing.assert_array_equal(a.train["base"].frame, a.train["denoised"].frame)  # same windows
    assert len(a.n6_test) == 12 and len(a.n3) == 28 and len(a.val) == 10  # never cut
    assert a.info["train_windows_used"]["base"] == 25


def test_course_data_too_small_to_validate_on_exit_2_in_one_line_and_write_nothing(project_dirs, run_cli):
    """Course CSVs of 4 N6 sequences: 0.1 of them holds none out, and the train command says so."""
    from convlstm_lib.data.course_io import split_sequences, write_course_csv

    rng = np.random.default_rng(0)
    data = project_dirs / "data"
    for name, n in (("n6", 4), ("n3", 2)):
        train, test = split_sequences(rng.integers(0, 255, (n, 16, 36, 36)))
        write_course_csv(data / paths.COURSE_FILES[f"train_{name}"], train)
        write_course_csv(data / paths.COURSE_FILES[f"test_{name}"], test)
    out = project_dirs / "out"
    result = run_cli("train", "--profile", "smoke", "--epochs", "1", "--out", out)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: val_share: 0.1 of 4 N6 sequences holds none out for validation; raise it (at most 0.5) "
        "or use more sequences"
    ]
    assert not out.exists() and not (project_dirs / "data" / "processed").exists()
