"""Every path the project uses, rooted at this package's own location.

Data flow one way (cookiecutter-data-science):

    data/                       course CSVs a user drops in (used instead of generating)
    data/generated/<profile>/   generated course CSVs + ground truth (.npz)
    data/processed/<profile>/   windows and the four training sets (.npz)
    runs/<profile>/             one folder per sweep study and the folders below; .run_all.lock while
                                run_all.py runs this profile
      <study>/                  one study's files (default study convlstm-<profile>): sweep.journal
                                (its default storage), trials.csv, history.json, sweep.json
        trials/                 one checkpoint per trial
      figures/                  every notebook figure (PNG + SVG), copied next to the report
      results/                  one JSON per notebook result, merged into report/results.json
      artifacts/                best_model.pt, the final model's runs, the course-format predictions
    report/                     executed notebooks, figures, report.html/.pdf, results.json, and
                                .convlstm-report.json (the marker: what the pipeline published there)

Notebooks and tests import from here; nobody writes "../data".
"""
from __future__ import annotations

import re
from pathlib import Path

from convlstm_lib.errors import OutputPathError

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
DATA_DIR = ROOT / "data"
GENERATED_DIR = DATA_DIR / "generated"
PROCESSED_DIR = DATA_DIR / "processed"
RUNS_DIR = ROOT / "runs"
REPORT_DIR = ROOT / "report"
NOTEBOOKS_DIR = ROOT / "notebooks"

# The course's file names (long format, no header, one flattened 36x36 image per row).
COURSE_FILES = {
    "train_n6": "train_data_n6.csv",
    "test_n6": "test_data_n6.csv",
    "train_n3": "train_data_n3.csv",
    "test_n3": "test_data_n3.csv",
}
GROUND_TRUTH_FILES = {"n6": "ground_truth_n6.npz", "n3": "ground_truth_n3.npz"}


def generated_dir(profile: str) -> Path:
    return GENERATED_DIR / profile


def processed_dir(profile: str) -> Path:
    return PROCESSED_DIR / profile


def runs_dir(profile: str) -> Path:
    return RUNS_DIR / profile


# The runs layout: the sub-folders of runs/<profile>/ and the files the stages hand on.
FIGURES = "figures"
RESULTS = "results"
ARTIFACTS = "artifacts"
BEST_MODEL = "best_model.pt"
FINAL_RUN = "final_run_{run}.pt"  # one checkpoint per run of the final model (`final`)
RUN_LOCK = ".run_all.lock"  # held by the run_all.py that is running this profile (pid, host, start)
# A study's files, in runs/<profile>/<study>/ (`study_dir`).
TRIALS = "trials"
SWEEP_JOURNAL = "sweep.journal"
TRIALS_CSV = "trials.csv"
TRIAL_HISTORY = "history.json"  # every trial's per-epoch validation and test metrics: the learning curves
SWEEP_SUMMARY = "sweep.json"
STUDY_STORAGE = "storage.json"  # which storage the study folder belongs to (one study, one folder)
# A report folder's marker: present only in folders run_all.py published into, listing what it wrote.
REPORT_MARKER = ".convlstm-report.json"
# What `train --out DIR` writes.
TRAIN_MODEL = "model.pt"
TRAIN_METRICS = "metrics.json"

# A study name is a folder name: no separators, no dot-only names, none of the runs layout's own.
_STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_RESERVED = {FIGURES, RESULTS, ARTIFACTS, TRIALS}


def figures_dir(profile: str) -> Path:
    return runs_dir(profile) / FIGURES


def results_dir(profile: str) -> Path:
    return runs_dir(profile) / RESULTS


def artifacts_dir(profile: str) -> Path:
    return runs_dir(profile) / ARTIFACTS


def check_study_name(study: str) -> str:
    """`study` if it can name its folder under runs/<profile>/, else OutputPathError saying why."""
    if not _STUDY_NAME.fullmatch(str(study)) or study in _RESERVED:
        raise OutputPathError(
            f"study name {study!r}: must start with a letter or digit and hold only letters, digits, "
            f"'.', '_' and '-' (at most 100), and not be one of {sorted(_RESERVED)}: it names the folder "
            "runs/<profile>/<study>/"
        )
    return str(study)


def study_dir(profile: str, study: str, runs: Path | None = None) -> Path:
    """runs/<profile>/<study>/: every file of one sweep study (`runs` replaces runs/<profile>/)."""
    return (Path(runs) if runs is not None else runs_dir(profile)) / check_study_name(study)


def trials_dir(profile: str, study: str, runs: Path | None = None) -> Path:
    return study_dir(profile, study, runs) / TRIALS


def trial_checkpoint(profile: str, study: str, number: int, runs: Path | None = None) -> Path:
    """runs/<profile>/<study>/trials/trial_NNNNN.pt: the checkpoint of trial `number` of `study`."""
    return trials_dir(profile, study, runs) / trial_checkpoint_name(number)


def final_run_checkpoint(profile: str, run: int) -> Path:
    """runs/<profile>/artifacts/final_run_<run>.pt: run `run` of the final model (`final`)."""
    return artifacts_dir(profile) / FINAL_RUN.format(run=run)


def trial_checkpoint_name(number: int) -> str:
    return f"trial_{number:05d}.pt"


def user_course_files(data_dir: Path = DATA_DIR) -> dict[str, Path] | None:
    """The four course CSVs if a user placed *all* of them in `data_dir`, else None."""
    files = {key: data_dir / name for key, name in COURSE_FILES.items()}
    return files if all(p.is_file() for p in files.values()) else None


def repo_relative(path: str | Path) -> str:
    """`path` relative to the repository root when inside it (as results files record paths),
    else absolute; `from_repo` reads it back."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(ROOT.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def from_repo(path: str | Path) -> Path:
    """A path recorded by `repo_relative` (or any path) as an absolute path."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
