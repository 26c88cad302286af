"""artifacts: the published checkpoint, course-format predictions, tables as JSON records."""
from __future__ import annotations

import numpy as np
import pytest

from convlstm_lib.data import course_io
from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.report import artifacts
from convlstm_lib.training.checkpoints import save_checkpoint
from convlstm_lib.training.settings import TrainConfig


def test_copy_checkpoint_resolves_relative_to_the_runs_dir(project_dirs):
    tmp_path = project_dirs / "runs"
    source = tmp_path / "smoke" / "trials" / "7.pt"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"weights")
    copied = artifacts.copy_checkpoint("trials/7.pt", "smoke")
    assert copied == tmp_path / "smoke" / "artifacts" / "best_model.pt"
    assert copied.read_bytes() == b"weights"
    with pytest.raises(artifacts.ArtifactError, match="trials/8.pt: file not found"):
        artifacts.copy_checkpoint("trials/8.pt", "smoke")


def test_predict_course_files_writes_both_sets_in_the_course_test_format(project_dirs):
    cfg = ModelConfig(layers=1, kernels=2)
    ckpt = save_checkpoint(project_dirs / "m.pt", build_model(cfg, seed=0), cfg, TrainConfig(),
                           Scaler(0.0, 255.0), {}, "complete")
    data = project_dirs / "course"
    for name, n in (("n6", 3), ("n3", 2)):
        course_io.write_course_csv(data / f"train_data_{name}.csv", np.full((n, 14, 36, 36), 100.0))
    written = artifacts.predict_course_files(ckpt, data, "smoke")
    assert written["n6"] == project_dirs / "runs" / "smoke" / "artifacts" / "predictions_n6.csv"
    assert course_io.read_course_rows(written["n6"]).shape == (3 * 2, 36 * 36)  # frames 4 and 16
    assert course_io.read_course_rows(written["n3"]).shape == (2 * 2, 36 * 36)
    with pytest.raises(Exception, match="train_data_n6.csv"):
        artifacts.predict_course_files(ckpt, project_dirs / "nowhere", "smoke")
