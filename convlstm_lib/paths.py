"""Every path the project uses, rooted at this package's own location.

Data flow one way (cookiecutter-data-science):

    data/                       course CSVs a user drops in (used instead of generating)
    data/generated/<profile>/   generated course CSVs + ground truth (.npz)
    data/processed/<profile>/   windows and the four training sets (.npz)
    runs/<profile>/             sweep journal, trials.csv, history.json, sweep.json and the folders below
      trials/                   one checkpoint per trial
      figures/                  every notebook figure (PNG + SVG), copied next to the report
      results/                  one JSON per notebook result, merged into report/results.json
      artifacts/                best_model.pt, the final model's runs, the course-format predictions
    report/                     executed notebooks, figures, report.html/.pdf, results.json

Notebooks and tests import from here; nobody writes "../data".
"""
from __future__ import annotations

from pathlib import Path

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
TRIALS = "trials"
SWEEP_JOURNAL = "sweep.journal"
TRIALS_CSV = "trials.csv"
TRIAL_HISTORY = "history.json"  # every trial's per-epoch test metrics: the learning curves
SWEEP_SUMMARY = "sweep.json"
BEST_MODEL = "best_model.pt"
FINAL_RUN = "final_run_{run}.pt"  # one checkpoint per run of the final model (`final`)


def figures_dir(profile: str) -> Path:
    return runs_dir(profile) / FIGURES


def results_dir(profile: str) -> Path:
    return runs_dir(profile) / RESULTS


def artifacts_dir(profile: str) -> Path:
    return runs_dir(profile) / ARTIFACTS


def trials_dir(profile: str) -> Path:
    return runs_dir(profile) / TRIALS


def trial_checkpoint(profile: str, number: int) -> Path:
    """runs/<profile>/trials/trial_NNNNN.pt: the checkpoint the sweep writes for trial `number`."""
    return trials_dir(profile) / trial_checkpoint_name(number)


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
