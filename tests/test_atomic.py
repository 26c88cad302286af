import os
import stat

import pytest

from convlstm_lib import atomic


def test_write_text_replaces_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    atomic.write_text(target, "first")
    atomic.write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_an_interrupted_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_the_temporary_keeps_the_suffix_libraries_look_at(tmp_path):
    with atomic.atomic_path(tmp_path / "arrays.npz") as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        tmp.write_bytes(b"x")


def test_written_files_get_the_usual_permissions_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "f.bin", b"\x00")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644


def test_a_set_of_files_is_replaced_only_when_every_one_is_written(tmp_path):
    targets = [tmp_path / "a.csv", tmp_path / "b.npz", tmp_path / "manifest.json"]
    for t in targets:
        t.write_text(f"old {t.name}")
    with pytest.raises(RuntimeError), atomic.atomic_paths(targets) as tmps:
        tmps[0].write_text("new a")
        tmps[1].write_text("new b")
        raise RuntimeError("the manifest could not be made")
    assert [t.read_text() for t in targets] == ["old a.csv", "old b.npz", "old manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)  # no temporaries
    with atomic.atomic_paths(targets) as tmps:
        assert [p.suffix for p in tmps] == [".csv", ".npz", ".json"]  # numpy and torch look at it
        for tmp, t in zip(tmps, targets, strict=True):
            tmp.write_text(f"new {t.name}")
        assert targets[0].read_text() == "old a.csv"  # nothing replaced inside the block
    assert [t.read_text() for t in targets] == ["new a.csv", "new b.npz", "new manifest.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_output_checks_refuse_files_folders_and_suffixes_and_create_nothing(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    assert atomic.check_output_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    with pytest.raises(atomic.OutputPathError, match=r"^--out .*taken: is a file, not a folder$"):
        atomic.check_output_dir(blocker, "--out")
    with pytest.raises(atomic.OutputPathError, match=r"taken/x: .*taken is a file, not a folder$"):
        atomic.check_output_dir(blocker / "x", "--out")
    with pytest.raises(atomic.OutputPathError, match="is a folder; give a file name"):
        atomic.check_output_file(tmp_path, "--out")
    with pytest.raises(atomic.OutputPathError, match=r"must end in \.npy"):
        atomic.check_output_file(tmp_path / "p.csv", "--out", (".npy",))
    with pytest.raises(atomic.OutputPathError, match="cannot be written: .*taken is a file"):
        atomic.check_output_file(blocker / "p.npy", "--out", (".npy",))
    assert atomic.check_output_file(tmp_path / "a" / "P.NPY", "--out", (".npy",)).name == "P.NPY"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # the probes left nothing


def test_a_write_failing_for_space_names_the_target_not_the_temporary(tmp_path):
    target = tmp_path / "model.pt"
    target.write_text("old")
    with pytest.raises(atomic.OutputPathError, match=r"model\.pt: cannot be written \(No space left on dev"):
        with atomic.atomic_path(target) as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
    with pytest.raises(FileNotFoundError):  # not a fault of the target: passed on as it is
        with atomic.atomic_path(target):
            open(tmp_path / "missing.csv")


def test_input_problem_names_what_a_path_is_without_opening_a_pipe(tmp_path):
    (tmp_path / "file.csv").write_text("1\n")
    os.mkfifo(tmp_path / "pipe")  # opening it would block: it must be recognised, not read
    assert atomic.input_problem(tmp_path / "file.csv") is None
    assert atomic.input_problem(tmp_path / "none.csv") == "file not found"
    assert atomic.input_problem(tmp_path) == "is a folder"
    assert atomic.input_problem(tmp_path / "pipe") == "is a FIFO (named pipe), not a regular file"
    assert atomic.input_problem("/dev/null") == "is a device, not a regular file"
    assert atomic.input_problem("-") == "'-' (standard input) is not read; give a file path"
