"""predict: course train CSV -> test-format CSV, .npy pairs -> .npy frames, raw scale, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from convlstm_lib import cli, course_io, paths
from convlstm_lib.checkpoints import load_checkpoint, save_checkpoint
from convlstm_lib.evaluation import predict_frames
from convlstm_lib.model import ModelConfig
from convlstm_lib.predict import PredictInputError, pairs_for_test_frames, predict_file
from convlstm_lib.preprocessing import Scaler
from convlstm_lib.training import TrainConfig, build_model

CFG = ModelConfig(layers=1, kernels=3)




@pytest.fixture
def checkpoint(tmp_path):
    model = build_model(CFG, 0)
    return save_checkpoint(
        tmp_path / "model.pt", model, CFG, TrainConfig(), Scaler(-5.0, 260.0), {}, "complete"
    )


@pytest.fixture
def train_csv(tmp_path):
    """3 sequences of 14 frames, each frame filled with its full-sequence index * 10 (+ noise)."""
    seqs = np.empty((3, 14, 36, 36))
    for pos, frame in enumerate(course_io.TRAIN_FRAMES):
        seqs[:, pos] = frame * 10.0
    seqs += np.random.default_rng(0).integers(0, 5, seqs.shape)
    path = tmp_path / "train_data_n6.csv"
    course_io.write_course_csv(path, seqs)
    return path, seqs


def _cli(*argv):
    return subprocess.run(
        [sys.executable, "-m", "convlstm_lib", "predict", *map(str, argv)],
        cwd=paths.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pairs_for_test_frames_take_frames_1_2_and_13_14():
    seqs = np.broadcast_to(np.array(course_io.TRAIN_FRAMES, float)[None, :, None, None], (2, 14, 4, 4))
    pairs = pairs_for_test_frames(seqs)
    assert pairs.shape == (4, 2, 4, 4)
    np.testing.assert_array_equal(pairs[:, :, 0, 0], [[1, 2], [13, 14], [1, 2], [13, 14]])


def test_csv_prediction_matches_the_model_on_the_scaled_frames(tmp_path, checkpoint, train_csv):
    path, seqs = train_csv
    out, count = predict_file(checkpoint, path, tmp_path / "pred.csv")
    assert count == 6
    got = course_io.read_course_csv(out, 2)  # test format: 2 rows per sequence
    ckpt = load_checkpoint(checkpoint)
    scaled = ckpt.scaler.transform(pairs_for_test_frames(seqs))
    expected = ckpt.scaler.inverse(predict_frames(ckpt.model, scaled)).reshape(3, 2, 36, 36)
    # written with PREDICTION_DECIMALS = 2 places: within half a hundredth on the 0-255 scale
    np.testing.assert_allclose(got, expected, rtol=0, atol=0.005 + 1e-4)


def test_cli_csv_and_npy(tmp_path, checkpoint, train_csv):
    path, seqs = train_csv
    proc = _cli("--checkpoint", checkpoint, "--input", path, "--out", tmp_path / "test_pred.csv")
    assert proc.returncode == 0, proc.stderr
    assert course_io.read_course_rows(tmp_path / "test_pred.csv").shape == (6, 1296)

    pairs = pairs_for_test_frames(seqs)
    np.save(tmp_path / "pairs.npy", pairs)
    proc = _cli("--checkpoint", checkpoint, "--input", tmp_path / "pairs.npy", "--out", tmp_path / "pred.npy")
    assert proc.returncode == 0, proc.stderr
    pred = np.load(tmp_path / "pred.npy")
    assert pred.shape == (6, 36, 36) and pred.dtype == np.float32
    np.testing.assert_allclose(
        pred,
        course_io.read_course_csv(tmp_path / "test_pred.csv", 2).reshape(6, 36, 36),
        rtol=0,
        atol=0.005 + 1e-4,  # the CSV holds 2 decimals
    )


def test_cli_bad_input_and_corrupt_checkpoint_exit_2_with_one_line(tmp_path, checkpoint):
    bad = tmp_path / "train_bad.csv"
    course_io.write_course_csv(bad, np.zeros((13, 36, 36)))  # 13 rows: not whole sequences of 14
    proc = _cli("--checkpoint", checkpoint, "--input", bad, "--out", tmp_path / "x.csv")
    assert proc.returncode == 2 and str(bad) in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint.read_bytes()[:100])
    np.save(tmp_path / "pairs.npy", np.zeros((2, 2, 36, 36)))
    proc = _cli("--checkpoint", corrupt, "--input", tmp_path / "pairs.npy", "--out", tmp_path / "x.npy")
    assert proc.returncode == 2 and str(corrupt) in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 36, 36)), "expected shape"),
        (np.zeros((0, 2, 36, 36)), "N = 0"),
        (np.where(np.arange(2)[:, None, None, None] == 1, np.nan, np.zeros((2, 2, 36, 36))), "pair 1"),
        (np.array(["a", "b"]), "numeric"),
    ],
)
def test_bad_arrays_exit_2_naming_the_file(tmp_path, checkpoint, capsys, array, message):
    path = tmp_path / "pairs.npy"
    np.save(path, array)
    assert (
        cli.main(
            [
                "predict",
                "--checkpoint",
                str(checkpoint),
                "--input",
                str(path),
                "--out",
                str(tmp_path / "o.npy"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert str(path) in err and message in err and err.strip().count("\n") == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage", "not a NumPy .npy file"),
        (b"PK\x03\x04 an npz renamed", "zip archive"),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (9, 2, 36, 36), }",
         "damaged"),
    ],
)
def test_unreadable_npy_says_what_it_is_and_never_advises_unpickling(tmp_path, checkpoint, content, message):
    path = tmp_path / "pairs.npy"
    path.write_bytes(content)
    with pytest.raises(PredictInputError, match=message) as info:
        predict_file(checkpoint, path, tmp_path / "o.npy")
    assert "pickle" not in str(info.value) and "unsafe" not in str(info.value)
