"""Predicting frames with a trained checkpoint, on the raw pixel scale (CLI `predict`).

Two kinds of input, told apart by the file suffix:

* a course **train CSV** (14 frames per sequence: every frame but 4 and 16). For each
  sequence the model predicts the test frames "4 and 16" (0-based 3 and 15) from the frames
  before them (1, 2 and 13, 14), and the output is a **test-format CSV**: 2 rows per sequence,
  in the order frame 4, frame 16 (`course_io.write_course_csv`).
* a **.npy** array (N, 2, H, W) of input pairs (frames t-2, t-1); the output is a .npy array
  (N, H, W) float32 of the predicted frames t.

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
from pathlib import Path

import numpy as np

from . import course_io
from .atomic import atomic_path, check_output_file
from .checkpoints import Checkpoint, load_checkpoint
from .errors import ConvLSTMError, CourseDataError
from .evaluation import predict_frames

# Decimals of the predicted pixel values in a course-format CSV: the course data are whole
# numbers on the 0-255 scale, so 0.01 is far below its resolution (and half the file size).
PREDICTION_DECIMALS = 2


class PredictInputError(ConvLSTMError, ValueError):
    """An input array for `predict` is unreadable, of the wrong shape, or not finite."""


def _train_positions() -> tuple[list[int], list[int]]:
    """Positions, within a train file's 14 frames, of the inputs of test frames 3 and 15.

    Returns (positions of frames 1, 13), (positions of frames 2, 14): for each test frame t
    the pair (t-2, t-1).
    """
    index = {frame: pos for pos, frame in enumerate(course_io.TRAIN_FRAMES)}
    first = [index[t - 2] for t in course_io.TEST_FRAMES]
    second = [index[t - 1] for t in course_io.TEST_FRAMES]
    return first, second


def pairs_for_test_frames(train_sequences: np.ndarray) -> np.ndarray:
    """Train-file sequences (N, 14, H, W) -> input pairs (N * 2, 2, H, W), sequence-major.

    Row 2n holds frames (1, 2) of sequence n (predicting frame 3, the course's "frame 4"),
    row 2n + 1 frames (13, 14) (predicting frame 15, "frame 16").
    """
    seqs = np.asarray(train_sequences)
    if seqs.ndim != 4 or seqs.shape[1] != len(course_io.TRAIN_FRAMES):
        raise ValueError(f"train_sequences: expected shape (N, 14, H, W), got {seqs.shape}")
    first, second = _train_positions()
    pairs = np.stack([seqs[:, first], seqs[:, second]], axis=2)  # (N, 2 test frames, 2 inputs, H, W)
    return pairs.reshape(-1, 2, *seqs.shape[2:])


def predict_raw(checkpoint: Checkpoint, pairs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Input pairs (N, 2, H, W) on the raw scale -> predicted frames (N, H, W) float32, raw scale."""
    scaler = checkpoint.scaler
    pred = predict_frames(checkpoint.model, scaler.transform(pairs), batch_size)
    return scaler.inverse(pred, dtype=np.float32)


NPY_MAGIC, ZIP_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def load_pairs(path: Path, height: int, width: int) -> np.ndarray:
    """A .npy of input pairs (N, 2, height, width), validated; PredictInputError naming the file.

    The file is read only as a plain NumPy array (never unpickled): anything else (an .npz
    archive, pickled objects, other bytes) is refused, saying what it is.
    """
    if path.is_dir():
        raise PredictInputError(f"{path}: is a folder, not a .npy file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(NPY_MAGIC))
    except FileNotFoundError:
        raise PredictInputError(f"{path}: file not found") from None
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
    if arr.ndim != 4 or arr.shape[1:] != (2, height, width):
        raise PredictInputError(f"{path}: expected shape (N, 2, {height}, {width}), got {arr.shape}")
    if arr.shape[0] == 0:
        raise PredictInputError(f"{path}: no input pairs (N = 0)")
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        raise PredictInputError(
            f"{path}: pair {int(np.argmax(bad))} (0-based) contains NaN or infinite values"
        )
    return arr.astype(np.float64)


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
    """Before any work: --out must not be --input, must suit the input's format, must be writable."""
    suffix = ".npy" if input_path.suffix.lower() == ".npy" else ".csv"
    if out_path.resolve() == input_path.resolve() or (
        out_path.exists() and input_path.exists() and out_path.samefile(input_path)
    ):
        raise PredictInputError(f"--out {out_path}: is the input file; give another name")
    check_output_file(out_path, "--out", (suffix,))


def predict_file(
    checkpoint_path: str | Path, input_path: str | Path, out_path: str | Path, batch_size: int = 256
) -> tuple[Path, int]:
    """Run the checkpoint on a train CSV or a .npy of pairs (see module docstring); write `out_path`.

    Returns (out_path, number of predicted frames). Inputs far outside the model's training
    range and non-finite predictions raise PredictInputError; nothing is written then.
    """
    input_path, out_path = Path(input_path), Path(out_path)
    check_paths(input_path, out_path)
    checkpoint = load_checkpoint(checkpoint_path)
    cfg = checkpoint.model_config
    if input_path.suffix.lower() == ".npy":
        pairs = load_pairs(input_path, cfg.height, cfg.width)
        check_in_range(pairs, checkpoint, str(input_path), "pair", 0)
        pred = _finite_predictions(predict_raw(checkpoint, pairs, batch_size), input_path)
        with atomic_path(out_path) as tmp, open(tmp, "wb") as handle:
            np.save(handle, pred)
        return out_path, len(pred)
    sequences = course_io.read_course_csv(input_path, len(course_io.TRAIN_FRAMES))
    if sequences.shape[-2:] != (cfg.height, cfg.width):
        raise CourseDataError(
            f"{input_path}: frames are {sequences.shape[-2:]}, the model expects {cfg.height}x{cfg.width}"
        )
    check_in_range(sequences.reshape(-1, cfg.height * cfg.width), checkpoint, str(input_path), "row", 1)
    pred = predict_raw(checkpoint, pairs_for_test_frames(sequences), batch_size)  # (N * 2, H, W)
    frames = _finite_predictions(pred, input_path).reshape(
        len(sequences), len(course_io.TEST_FRAMES), *pred.shape[1:]
    )
    course_io.write_course_csv(out_path, frames, decimals=PREDICTION_DECIMALS)
    return out_path, len(pred)


# ---------------------------------------------------------------------------------------------
# CLI: python -m convlstm_lib predict --checkpoint FILE --input IN --out OUT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="model.pt written by train or the sweep"
    )
    parser.add_argument(
        "--input",
        type=Path,
        required=True,
        help="a course train CSV (14 frames per sequence) or a .npy of pairs (N, 2, 36, 36)",
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
    out, count = predict_file(args.checkpoint, args.input, args.out, args.batch_size)
    print(f"wrote {out}: {count} predicted frames (raw scale)")
    return 0
