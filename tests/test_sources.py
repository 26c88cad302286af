import numpy as np
import pytest

from convlstm_lib import paths
from convlstm_lib.config import get_profile
from convlstm_lib.data import sources
from convlstm_lib.data.course_io import split_sequences, write_course_csv


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """data/ and data/generated/ redirected to a temporary folder (never the real data/)."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setattr(paths, "DATA_DIR", data)
    monkeypatch.setattr(paths, "GENERATED_DIR", data / "generated")
    return data


@pytest.fixture
def calls(monkeypatch):
    """Counts write_dataset calls made by sources."""
    made = []
    real = sources.write_dataset

    def counting(*args, **kwargs):
        made.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "write_dataset", counting)
    return made


def _course_files(folder, n6, n3, keys=tuple(paths.COURSE_FILES)):
    rng = np.random.default_rng(0)
    seqs = {"n6": rng.integers(0, 255, (n6, 16, 36, 36)), "n3": rng.integers(0, 255, (n3, 16, 36, 36))}
    for name, seq in seqs.items():
        train, test = split_sequences(seq)
        for kind, part in (("train", train), ("test", test)):
            if f"{kind}_{name}" in keys:
                write_course_csv(folder / paths.COURSE_FILES[f"{kind}_{name}"], part)
    return seqs


def test_course_csvs_are_used_when_all_four_exist(dirs, calls):
    seqs = _course_files(dirs, n6=3, n3=2)
    raw = sources.load_raw(get_profile("smoke"), progress=False)
    assert raw.source == "course" and raw.truth_n6 is None and raw.truth_n3 is None and not raw.has_truth
    assert raw.n6.dtype == np.float64
    np.testing.assert_array_equal(raw.n6, seqs["n6"])
    np.testing.assert_array_equal(raw.n3, seqs["n3"])
    assert calls == [] and not (dirs / "generated").exists()


def test_generates_once_when_a_course_file_is_missing_then_reuses(dirs, calls):
    _course_files(dirs, n6=3, n3=2, keys=("train_n6", "test_n6", "train_n3"))
    cfg = get_profile("smoke", n6=5, n3=2, seed=7)  # 5: the fewest N6 sequences that keep one to validate
    raw = sources.load_raw(cfg, progress=False)
    assert raw.source == "generated" and raw.directory == dirs / "generated" / "smoke"
    assert raw.n6.shape == (5, 16, 36, 36) and raw.n3.shape == (2, 16, 36, 36)
    assert raw.truth_n6["seed"] == 7 and raw.truth_n6["digit"] == 6 and raw.truth_n3["digit"] == 3
    assert raw.truth_n6["outlier_transitions"].shape == (5, 15)
    np.testing.assert_array_equal(raw.n6, raw.truth_n6["frames"])
    assert len(calls) == 1
    again = sources.load_raw(cfg, progress=False)
    assert len(calls) == 1, "reused, not regenerated"
    np.testing.assert_array_equal(again.n6, raw.n6)


@pytest.mark.parametrize("change", [{"seed": 8}, {"n6": 6}, {"n3": 3}])
def test_regenerates_when_seed_or_size_differ(dirs, calls, change):
    base = {"n6": 5, "n3": 2, "seed": 7}
    first = sources.load_raw(get_profile("smoke", **base), progress=False)
    second = sources.load_raw(get_profile("smoke", **{**base, **change}), progress=False)
    assert len(calls) == 2
    assert second.n6.shape[0] == change.get("n6", 5) and second.n3.shape[0] == change.get("n3", 2)
    if "seed" in change:
        assert not np.array_equal(first.n6, second.n6)


def test_regenerates_when_a_file_is_gone(dirs, calls):
    cfg = get_profile("smoke", n6=5, n3=2)
    raw = sources.load_raw(cfg, progress=False)
    (raw.directory / paths.GROUND_TRUTH_FILES["n3"]).unlink()
    sources.load_raw(cfg, progress=False)
    assert len(calls) == 2 and (raw.directory / paths.GROUND_TRUTH_FILES["n3"]).is_file()


def test_course_csvs_the_user_put_in_the_generated_folder_are_never_overwritten(dirs, calls):
    from convlstm_lib.errors import OutputPathError

    folder = dirs / "generated" / "smoke"
    folder.mkdir(parents=True)
    _course_files(folder, n6=3, n3=2)  # the user's files, no manifest of generate's
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(OutputPathError, match="holds files generate did not write"):
        sources.load_raw(get_profile("smoke"), progress=False)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
