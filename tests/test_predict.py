"""predict: course train CSV -> test-format CSV, .npy pairs -> .npy frames, raw scale, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from convlstm_lib import cli
from convlstm_lib.data import course_io
from convlstm_lib.data.preprocessing import Scaler
from convlstm_lib.models.build import build_model
from convlstm_lib.models.settings import ModelConfig
from convlstm_lib.training.checkpoints import load_checkpoint, save_checkpoint
from convlstm_lib.training.evaluation import predict_frames
from convlstm_lib.training.predict import PredictInputError, pairs_for_test_frames, predict_file
from convlstm_lib.training.settings import TrainConfig

CFG = ModelConfig(layers=1, kernels=3)




@pytest.fixture
def checkpoint(tmp_path):
    model = build_model(CFG, seed=0)
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


def test_cli_csv_and_npy(tmp_path, checkpoint, train_csv, run_cli):
    path, seqs = train_csv
    proc = run_cli(
        "predict", "--checkpoint", checkpoint, "--input", path, "--out", tmp_path / "test_pred.csv"
    )
    assert proc.returncode == 0, proc.stderr
    assert course_io.read_course_rows(tmp_path / "test_pred.csv").shape == (6, 1296)

    pairs = pairs_for_test_frames(seqs)
    np.save(tmp_path / "pairs.npy", pairs)
    proc = run_cli(
        "predict", "--checkpoint", checkpoint, "--input", tmp_path / "pairs.npy",
        "--out", tmp_path / "pred.npy",
    )
    assert proc.returncode == 0, proc.stderr
    pred = np.load(tmp_path / "pred.npy")
    assert pred.shape == (6, 36, 36) and pred.dtype == np.float32
    np.testing.assert_allclose(
        pred,
        course_io.read_course_csv(tmp_path / "test_pred.csv", 2).reshape(6, 36, 36),
        rtol=0,
        atol=0.005 + 1e-4,  # the CSV holds 2 decimals
    )


def test_cli_bad_input_and_corrupt_checkpoint_exit_2_with_one_line(tmp_path, checkpoint, run_cli):
    bad = tmp_path / "train_bad.csv"
    course_io.write_course_csv(bad, np.zeros((13, 36, 36)))  # 13 rows: not whole sequences of 14
    proc = run_cli("predict", "--checkpoint", checkpoint, "--input", bad, "--out", tmp_path / "x.csv")
    assert proc.returncode == 2 and str(bad) in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint.read_bytes()[:100])
    np.save(tmp_path / "pairs.npy", np.zeros((2, 2, 36, 36)))
    proc = run_cli(
        "predict", "--checkpoint", corrupt, "--input", tmp_path / "pairs.npy", "--out", tmp_path / "x.npy"
    )
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


# ---------------------------------------------------------------------------------------------
# Tasks: frame 4 by interpolation, frame 16 by a longer context


@pytest.fixture
def task_checkpoints(tmp_path):
    """An interpolation and a 4-frame extrapolation checkpoint (untrained: only the wiring counts)."""
    from convlstm_lib.data.tasks import Task
    from convlstm_lib.models.build import model_config_for

    made = {}
    for task in ("interpolate-2", "extrapolate-4"):
        cfg = model_config_for(CFG, Task.parse(task))
        made[task] = save_checkpoint(
            tmp_path / f"{task}.pt", build_model(cfg, task, seed=1), cfg, TrainConfig(task=task),
            Scaler(-5.0, 260.0), {}, "complete",
        )
    return made


def test_course_windows_read_the_frames_each_task_needs(train_csv):
    from convlstm_lib.data.tasks import INTERPOLATE, Task
    from convlstm_lib.training.predict import course_windows

    _, seqs = train_csv
    tens = lambda w: np.rint(w[0, :, 0, 0] / 10).astype(int).tolist()  # noqa: E731 (frame index of each input)
    assert tens(course_windows(INTERPOLATE, seqs, 3)) == [1, 2, 5, 4]  # frames 2, 3, then 6, 5 (1-based)
    assert tens(course_windows(Task("extrapolate", 4), seqs, 15)) == [11, 12, 13, 14]
    assert tens(course_windows(Task("extrapolate", 4), seqs, 3)) == [0, 0, 1, 2]  # edge-padded
    with pytest.raises(ValueError, match="cannot predict frame 16"):
        course_windows(INTERPOLATE, seqs, 15)


def test_csv_takes_frame_4_from_the_interpolator_and_frame_16_from_the_context_model(
    tmp_path, task_checkpoints, train_csv
):
    from convlstm_lib.data.tasks import INTERPOLATE, Task
    from convlstm_lib.training.predict import course_windows

    path, seqs = train_csv
    out = tmp_path / "pred.csv"
    interp = task_checkpoints["interpolate-2"]
    predict_file(task_checkpoints["extrapolate-4"], path, out, interp_checkpoint_path=interp)
    got = course_io.read_course_csv(out, 2)
    jobs = ((3, 0, "interpolate-2", INTERPOLATE), (15, 1, "extrapolate-4", Task("extrapolate", 4)))
    for frame, pos, name, task in jobs:
        ckpt = load_checkpoint(task_checkpoints[name])
        scaled = ckpt.scaler.transform(course_windows(task, seqs, frame))
        expected = ckpt.scaler.inverse(predict_frames(ckpt.model, scaled))
        assert np.allclose(got[:, pos], expected, atol=0.006)  # the CSV holds 2 decimals


def test_interpolation_checkpoint_fed_pairs_names_its_task(tmp_path, task_checkpoints):
    pairs = tmp_path / "pairs.npy"
    np.save(pairs, np.zeros((3, 2, 36, 36)))
    message = r"was trained for task interpolate-2 \(windows of 4 frames: t-2, t-1, t\+2, t\+1\)"
    with pytest.raises(PredictInputError, match=message):
        predict_file(task_checkpoints["interpolate-2"], pairs, tmp_path / "out.npy")
    windows = tmp_path / "windows.npy"
    np.save(windows, np.zeros((3, 4, 36, 36)))
    predict_file(task_checkpoints["interpolate-2"], windows, tmp_path / "out.npy")
    assert np.load(tmp_path / "out.npy").shape == (3, 36, 36)


def test_interpolation_checkpoint_alone_cannot_give_frame_16(
    tmp_path, task_checkpoints, train_csv, checkpoint
):
    from convlstm_lib.errors import CheckpointError

    path, _ = train_csv
    with pytest.raises(CheckpointError, match="interpolate-2, which cannot predict frame 16"):
        predict_file(task_checkpoints["interpolate-2"], path, tmp_path / "out.csv")
    with pytest.raises(CheckpointError, match="needs an interpolation model"):
        predict_file(checkpoint, path, tmp_path / "out.csv", interp_checkpoint_path=checkpoint)
    assert not (tmp_path / "out.csv").exists()


def test_short_sequence_in_a_course_csv_is_named_exit_2(tmp_path, task_checkpoints, train_csv, capsys):
    path, seqs = train_csv
    short = tmp_path / "train_short.csv"
    course_io.write_course_csv(short, seqs.reshape(-1, 36, 36)[:-10][:, None])  # sequence 3 keeps 4 frames
    code = cli.main([
        "predict", "--checkpoint", str(task_checkpoints["extrapolate-4"]),
        "--interp-checkpoint", str(task_checkpoints["interpolate-2"]),
        "--input", str(short), "--out", str(tmp_path / "o.csv"),
    ])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "sequence 3 (rows 29-32) has 4 of 14 frames" in err and "frames 5 and 6" in err
    assert not (tmp_path / "o.csv").exists()
