"""Predicting frames with a trained checkpoint, on the raw pixel scale (CLI `predict`).

Two kinds of input, told apart by the file suffix:

* a course **train CSV** (14 frames per sequence: every frame but 4 and 16). For each
  sequence the output is a **test-format CSV**: 2 rows per sequence, in the order frame 4,
  frame 16 (`course_io.write_course_csv`). Frame 16 (0-based 15) comes from `--checkpoint`,
  an extrapolation model, from as many frames before it as its task reads (the paper's: frames
  14, 15). Frame 4 (0-based 3) comes from `--interp-checkpoint` when given, an interpolation
  model reading frames 2, 3, 5, 6; otherwise from `--checkpoint` too (frames 2, 3). Every
  checkpoint records its task (`tasks.Task`), so each reads exactly the frames it learned from.
* a **.npy** array (N, L, H, W) of windows in the checkpoint's reading order (the paper's
  L = 2: frames t-2, t-1); the output is a .npy array (N, H, W) float32 of the predicted frames t.

Values go in and come out on the raw scale (the course's 0-255); the checkpoint's scaler maps
them to the [0, 1] scale the model was trained on and back. Predictions are not clipped.
Bad input (a malformed CSV, an array of the wrong shape or with NaN/inf, a damaged
checkpoint, values far outside the raw range the model was trained on, an output path that is
the input, has the other format's suffix or cannot be written) raises a `ConvLSTMError`
subclass before anything is written: the CLI prints one line and exits 2. A prediction that is
not finite is never written. Output files are written atomically.

    python -m convlstm_lib predict --checkpoint runs/quick/artifacts/best_model.pt \
        --input data/train_data_n6.csv --out predictions_n6.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from convlstm_lib import paths
from convlstm_lib.atomic import atomic_path, check_output_file, input_problem
from convlstm_lib.data import course_io, tasks
from convlstm_lib.errors import CheckpointError, ConvLSTMError, CourseDataError
from convlstm_lib.training.checkpoints import Checkpoint, load_checkpoint
from convlstm_lib.training.evaluation import predict_frames

# Decimals of the predicted pixel values in a course-format CSV: the course data are whole
# numbers on the 0-255 scale, so 0.01 is far below its resolution (and half the file size).
PREDICTION_DECIMALS = 2


class PredictInputError(ConvLSTMError, ValueError):
    """An input array for `predict` is unreadable, of the wrong shape, or not finite."""


def pairs_for_test_frames(train_sequences: np.ndarray) -> np.ndarray:
    """Train-file sequences (N, 14, H, W) -> the paper's input pairs (N * 2, 2, H, W), sequence-major.

    Row 2n holds frames (1, 2) of sequence n (predicting frame 3, the course's "frame 4"),
    row 2n + 1 frames (13, 14) (predicting frame 15, "frame 16").
    """
    seqs = np.asarray(train_sequences)
    if seqs.ndim != 4 or seqs.shape[1] != len(course_io.TRAIN_FRAMES):
        raise ValueError(f"train_sequences: expected shape (N, 14, H, W), got {seqs.shape}")
    pairs = np.stack([course_windows(tasks.PAPER_TASK, seqs, f) for f in course_io.TEST_FRAMES], axis=1)
    return pairs.reshape(-1, 2, *seqs.shape[2:])


def predict_raw(checkpoint: Checkpoint, pairs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Input windows (N, L, H, W) on the raw scale -> predicted frames (N, H, W) float32, raw scale."""
    scaler = checkpoint.scaler
    pred = predict_frames(checkpoint.model, scaler.transform(pairs), batch_size)
    return scaler.inverse(pred, dtype=np.float32)


NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def load_pairs(path: Path, height: int, width: int, frames: int = 2, task_note: str = "") -> np.ndarray:
    """A .npy of input windows (N, frames, height, width), validated; PredictInputError naming
    the file (a wrong shape's message ends with `task_note`).

    The file is read only as a plain NumPy array (never unpickled): anything else (an .npz
    archive, pickled objects, other bytes) is refused, saying what it is.
    """
    problem = input_problem(path)
    if problem is not None:
        raise PredictInputError(f"{path}: {problem}{', not a .npy file' if problem == 'is a folder' else ''}")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
    except OSError as exc:
        raise PredictInputError(f"{path}: cannot be read ({exc.strerror})") from None
    if magic.startswith(ZIP_MAGIC):
        raise PredictInputError(f"{path}: is a zip archive (an .npz of several arrays?), not a .npy array")
    if magic != NPY_MAGIC:
        raise PredictInputError(f"{path}: not a NumPy .npy file (it lacks the .npy header)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        what = "holds Python objects, not numbers" if "allow_pickle" in str(exc) else "damaged .npy header"
        raise PredictInputError(f"{path}: not a readable .npy array ({what})") from None
    except (OSError, EOFError):
        raise PredictInputError(f"{path}: truncated or damaged .npy array") from None
    if not (np.issubdtype(arr.dtype, np.number) and arr.dtype.kind != "c"):
        raise PredictInputError(f"{path}: expected a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 4 or arr.shape[1:] != (frames, height, width):
        raise PredictInputError(
            f"{path}: expected shape (N, {frames}, {height}, {width}), got {arr.shape}{task_note}"
        )
    if arr.shape[0] == 0:
        raise PredictInputError(f"{path}: no input pairs (N = 0)")
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        raise PredictInputError(
            f"{path}: pair {int(np.argmax(bad))} (0-based) contains NaN or infinite values"
        )
    return arr.astype(np.float64)


def check_same_run(checkpoint: Checkpoint) -> None:
    """Refuse a `train` model.pt whose metrics.json beside it describes another run (`run_id`):
    e.g. a later run into the same folder that diverged and left no model."""
    if checkpoint.path.name != paths.TRAIN_MODEL:
        return
    metrics = checkpoint.path.parent / paths.TRAIN_METRICS
    if not metrics.is_file():
        return
    try:
        summary = json.loads(metrics.read_text())
    except (OSError, ValueError):
        raise CheckpointError(
            f"{metrics}: cannot be read as JSON; it describes the run of {checkpoint.path}"
        ) from None
    run_id = summary.get("run_id") if isinstance(summary, dict) else None
    if run_id != checkpoint.run_id:
        status = summary.get("status") if isinstance(summary, dict) else None
        raise CheckpointError(
            f"{checkpoint.path}: is not the model of the run {metrics.name} beside it describes (that run: "
            f"status {status}{', no model' if status == 'diverged' else ''}); train again, or use another"
        )


def checkpoint_task(checkpoint: Checkpoint) -> tasks.Task:
    """The task a checkpoint was trained for (its TrainConfig's `task`)."""
    return tasks.Task.parse(checkpoint.train_config.task)


def _task_note(checkpoint: Checkpoint) -> str:
    task = checkpoint_task(checkpoint)
    if task.is_paper:
        return ""
    order = "t-2, t-1, t+2, t+1" if task == tasks.INTERPOLATE else f"{task.frames_in} frames in reading order"
    return (
        f"; {checkpoint.path} was trained for task {task.name}"
        f" (windows of {task.frames_in} frames: {order})"
    )


def read_train_sequences(path: Path) -> np.ndarray:
    """A course train CSV as sequences (N, 14, H, W); CourseDataError naming the sequence when
    the last one is short (interpolation needs frames 5 and 6, extrapolation frame 15)."""
    rows = course_io.read_course_rows(path)  # a missing file or a folder is named there
    per = len(course_io.TRAIN_FRAMES)
    if len(rows) % per:
        n_full, have = divmod(len(rows), per)
        raise CourseDataError(
            f"{path}: sequence {n_full + 1} (rows {n_full * per + 1}-{len(rows)}) has {have} of {per} frames;"
            " frame 4 by interpolation needs its frames 5 and 6 and frame 16 its frames up to 15"
        )
    return rows.reshape(-1, per, course_io.IMAGE_SIZE, course_io.IMAGE_SIZE)


def course_windows(task: tasks.Task, train_sequences: np.ndarray, frame: int) -> np.ndarray:
    """Train-file sequences (N, 14, H, W) -> the task's input windows (N, L, H, W) for the test
    frame `frame` (0-based: 3 or 15); ValueError when the task cannot predict that frame."""
    seqs = np.asarray(train_sequences)
    n_frames = len(course_io.TRAIN_FRAMES) + len(course_io.TEST_FRAMES)
    available = tasks.available_frames(n_frames, course_io.TEST_FRAMES)
    index = task.input_frames(frame, available)
    if index is None:
        raise ValueError(f"task {task.name}: cannot predict frame {frame + 1} from a course train file")
    position = {f: p for p, f in enumerate(course_io.TRAIN_FRAMES)}
    return seqs[:, [position[int(f)] for f in index]]


def predict_course(
    checkpoint: Checkpoint, sequences: np.ndarray, interp_checkpoint: Checkpoint | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Frames 4 and 16 of train-file sequences (N, 14, H, W): (N, 2, H, W) float32, raw scale.

    Frame 16 by `checkpoint` (an extrapolation model of any context); frame 4 by
    `interp_checkpoint` when given, else by `checkpoint`. CheckpointError when a checkpoint's
    task cannot predict the frame asked of it.
    """
    frame4, frame16 = course_io.TEST_FRAMES
    out = []
    frame4_flag = "--interp-checkpoint" if interp_checkpoint is not None else "--checkpoint"
    jobs = ((frame4, interp_checkpoint or checkpoint, frame4_flag), (frame16, checkpoint, "--checkpoint"))
    for frame, ck, flag in jobs:
        task = checkpoint_task(ck)
        if flag == "--interp-checkpoint" and task.kind != "interpolate":
            raise CheckpointError(
                f"{ck.path}: {flag} needs an interpolation model, this one was trained for {task.name}"
            )
        try:
            windows = course_windows(task, sequences, frame)
        except ValueError:
            raise CheckpointError(
                f"{ck.path}: trained for task {task.name}, which cannot predict frame {frame + 1}; give an"
                " extrapolation model with --checkpoint and an interpolation model with --interp-checkpoint"
            ) from None
        out.append(predict_raw(ck, windows, batch_size))
    return np.stack(out, axis=1)


def check_in_range(values: np.ndarray, checkpoint: Checkpoint, where: str, item: str, first: int) -> None:
    """Refuse inputs far outside the raw range the model was trained on (`course_io.far_outside`).

    `item` names what axis 0 counts ("row", "pair") and `first` the number of its first entry.
    """
    lo, hi = checkpoint.scaler_lo, checkpoint.scaler_hi
    index = course_io.far_outside(values, lo, hi)
    if index is not None:
        row = np.asarray(values[index], dtype=np.float64)
        raise PredictInputError(
            f"{where}: {item} {index + first} holds values {row.min():g} to {row.max():g}, far outside "
            f"the range the model was trained on ({lo:g} to {hi:g}, raw scale); refusing to predict"
        )


def _finite_predictions(pred: np.ndarray, where: Path) -> np.ndarray:
    if not np.isfinite(pred).all():
        raise PredictInputError(
            f"{where}: the model's predictions are not finite (NaN or inf); nothing was written"
        )
    return pred


def check_paths(input_path: Path, out_path: Path) -> None:
    """Before any work: --input must be a readable file; --out must not be --input, must suit the
    input's format, must be writable."""
    problem = input_problem(input_path)
    if problem is not None:
        folder = ", not a CSV file or a .npy array" if problem == "is a folder" else ""
        raise PredictInputError(f"{input_path}: {problem}{folder}")
    suffix = ".npy" if input_path.suffix.lower() == ".npy" else ".csv"
    if out_path.resolve() == input_path.resolve() or (
        out_path.exists() and input_path.exists() and out_path.samefile(input_path)
    ):
        raise PredictInputError(f"--out {out_path}: is the input file; give another name")
    check_output_file(out_path, "--out", (suffix,))


def predict_file(
    checkpoint_path: str | Path,
    input_path: str | Path,
    out_path: str | Path,
    batch_size: int = 256,
    interp_checkpoint_path: str | Path | None = None,
) -> tuple[Path, int]:
    """Run the checkpoint(s) on a train CSV or a .npy of windows (see module docstring); write
    `out_path`. Returns (out_path, number of predicted frames). Inputs far outside the model's
    training range and non-finite predictions raise PredictInputError; nothing is written then.
    """
    input_path, out_path = Path(input_path), Path(out_path)
    check_paths(input_path, out_path)
    checkpoint = load_checkpoint(checkpoint_path)
    check_same_run(checkpoint)
    cfg = checkpoint.model_config
    if input_path.suffix.lower() == ".npy":
        if interp_checkpoint_path is not None:
            raise PredictInputError(f"--interp-checkpoint: only for a course train CSV, not {input_path}")
        task = checkpoint_task(checkpoint)
        windows = load_pairs(input_path, cfg.height, cfg.width, task.frames_in, _task_note(checkpoint))
        item = "pair" if task.frames_in == 2 else "window"
        check_in_range(windows, checkpoint, str(input_path), item, 0)
        pred = _finite_predictions(predict_raw(checkpoint, windows, batch_size), input_path)
        with atomic_path(out_path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, pred)
        return out_path, len(pred)
    interp = None if interp_checkpoint_path is None else load_checkpoint(interp_checkpoint_path)
    if interp is not None:
        check_same_run(interp)
    sequences = read_train_sequences(input_path)
    for ck in (checkpoint, interp):
        if ck is None:
            continue
        if sequences.shape[-2:] != (ck.model_config.height, ck.model_config.width):
            raise CourseDataError(
                f"{input_path}: frames are {sequences.shape[-2:]}, {ck.path} expects"
                f" {ck.model_config.height}x{ck.model_config.width}"
            )
        rows = sequences.reshape(-1, sequences.shape[-2] * sequences.shape[-1])
        check_in_range(rows, ck, str(input_path), "row", 1)
    frames = _finite_predictions(predict_course(checkpoint, sequences, interp, batch_size), input_path)
    course_io.write_course_csv(out_path, frames, decimals=PREDICTION_DECIMALS)
    return out_path, frames.shape[0] * frames.shape[1]


# ---------------------------------------------------------------------------------------------
# CLI: python -m convlstm_lib predict --checkpoint FILE --input IN --out OUT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True,
        help="model.pt written by train or the sweep: frame 16 (and frame 4 without --interp-checkpoint)",
    )
    parser.add_argument(
        "--interp-checkpoint", type=Path, default=None,
        help="an interpolation model (task interpolate-2) for frame 4 of a course train CSV",
    )
    parser.add_argument(
        "--input",
        type=Path,
        required=True,
        help="a course train CSV (14 frames per sequence) or a .npy of windows (N, L, 36, 36)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="test-format CSV (frames 4 and 16 per sequence) or .npy (N, 36, 36)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="windows per forward pass (default %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise PredictInputError(f"--batch-size: must be >= 1, got {args.batch_size}")
    out, count = predict_file(args.checkpoint, args.input, args.out, args.batch_size, args.interp_checkpoint)
    print(f"wrote {out}: {count} predicted frames (raw scale)")
    return 0
