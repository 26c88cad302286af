from pathlib import Path

import pytest

from convlstm_lib import paths
from convlstm_lib.errors import OutputPathError


def test_paths_are_rooted_at_the_repository_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert paths.ROOT == Path(__file__).resolve().parent.parent
    assert (paths.ROOT / "pyproject.toml").is_file()
    assert paths.processed_dir("smoke") == paths.ROOT / "data" / "processed" / "smoke"
    assert paths.runs_dir("quick") == paths.ROOT / "runs" / "quick"


def test_the_runs_layout_follows_the_runs_folder(monkeypatch, tmp_path):
    # computed on every call, so redirecting RUNS_DIR (tests, another checkout) moves every stage's folder
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path)
    folders = [paths.figures_dir("smoke"), paths.results_dir("smoke"), paths.artifacts_dir("smoke"),
               paths.study_dir("smoke", "convlstm-smoke")]
    assert all(f.parent == tmp_path / "smoke" for f in folders)
    assert len({f.name for f in folders}) == 4


def test_every_file_of_a_study_lies_under_its_own_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "RUNS_DIR", tmp_path)
    ckpt = paths.trial_checkpoint("quick", "other", 7)
    assert ckpt == tmp_path / "quick" / "other" / "trials" / "trial_00007.pt"
    assert paths.trial_checkpoint("quick", "convlstm-quick", 7) != ckpt  # two studies never share a file
    assert paths.study_dir("quick", "s", runs=tmp_path / "elsewhere") == tmp_path / "elsewhere" / "s"


@pytest.mark.parametrize("name", ["", "..", ".hidden", "a/b", "../up", "figures", "trials", "x" * 101, "a b"])
def test_a_study_name_that_cannot_name_its_own_folder_is_refused(name):
    with pytest.raises(OutputPathError, match="study name"):
        paths.study_dir("quick", name)


def test_user_course_files_need_all_four(tmp_path):
    names = list(paths.COURSE_FILES.values())
    for name in names[:3]:
        (tmp_path / name).write_text("0\n")
    assert paths.user_course_files(tmp_path) is None
    (tmp_path / names[3]).write_text("0\n")
    found = paths.user_course_files(tmp_path)
    assert found is not None and {p.name for p in found.values()} == set(names)
