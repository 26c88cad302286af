"""What notebooks hand on besides their results (`report.results`): the published checkpoint and
the course-format predictions.

* `copy_checkpoint(path, profile)` copies a trial's checkpoint to
  runs/<profile>/artifacts/best_model.pt; `predict_course_files` writes the course-format
  predictions there. `run_all.py` publishes the artifacts folder next to the report.

All files are written atomically; folders come from `paths`.
"""
from __future__ import annotations

from pathlib import Path

from convlstm_lib import paths
from convlstm_lib.atomic import write_bytes
from convlstm_lib.errors import ConvLSTMError


class ArtifactError(ConvLSTMError):
    """A checkpoint or course file the notebooks hand on cannot be found or used."""


def resolve_checkpoint(checkpoint: str | Path, profile: str) -> Path:
    """A trial's checkpoint path as an existing file: absolute, or relative to the repository
    root or to runs/<profile>/. ArtifactError naming the path when none exists."""
    raw = Path(str(checkpoint))
    candidates = [raw] if raw.is_absolute() else [paths.ROOT / raw, paths.runs_dir(profile) / raw]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(map(str, candidates))
    raise ArtifactError(f"checkpoint {checkpoint}: file not found (looked in {looked})")


def copy_checkpoint(checkpoint: str | Path, profile: str, name: str = paths.BEST_MODEL) -> Path:
    """Copy a checkpoint to runs/<profile>/artifacts/<name> atomically; the copy's path."""
    source = resolve_checkpoint(checkpoint, profile)
    target = paths.artifacts_dir(profile) / name
    write_bytes(target, source.read_bytes())
    return target


def predict_course_files(
    checkpoint: str | Path, directory: str | Path, profile: str, interp_checkpoint: str | Path | None = None
) -> dict[str, Path]:
    """Course-format predictions of the N6 and N3 train CSVs in `directory` by `checkpoint`
    (frame 16, and frame 4 unless `interp_checkpoint`, an interpolation model, is given).

    Runs `predict.predict_file` on <directory>/train_data_n6.csv and train_data_n3.csv, writing
    runs/<profile>/artifacts/predictions_n6.csv and predictions_n3.csv (test format, raw pixel
    scale). Returns {"n6": path, "n3": path}.
    """
    from convlstm_lib.training.predict import predict_file

    directory = Path(directory)
    written = {}
    for name in ("n6", "n3"):
        source = directory / paths.COURSE_FILES[f"train_{name}"]
        target = paths.artifacts_dir(profile) / f"predictions_{name}.csv"
        written[name], _ = predict_file(checkpoint, source, target, interp_checkpoint_path=interp_checkpoint)
    return written
