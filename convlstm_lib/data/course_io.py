"""The course's CSV format: reading (validated, fast), writing, and splitting sequences.

Format (data/README.md): long format, no header, one flattened 36x36 image per row (row-major,
1296 values), the rows of one sequence consecutive. A train file holds 14 frames per
sequence (all but frames 4 and 16), a test file 2 (frames 4 and 16, in that order):

    train_data_n6.csv 5600 x 1296   test_data_n6.csv 800 x 1296
    train_data_n3.csv 1400 x 1296   test_data_n3.csv 200 x 1296

Arrays: sequences (N, T, 36, 36) float64 on the raw 0-255 scale. Frame indices are 0-based:
the test frames "4 and 16" are indices 3 and 15 (`TEST_FRAMES`).

Any fault in a file (missing, unreadable or not a regular file, empty, a row without 1296
values, another delimiter than the comma, a non-numeric cell, NaN or inf, a value far outside
the course's range (`far_outside`: no pixel of the 0-255 scale lies there), a row count that is
not a whole number of sequences) raises `CourseDataError` with one line naming the file, the
1-based row (and column) and the fault.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from convlstm_lib.atomic import atomic_path, input_problem
from convlstm_lib.errors import CourseDataError

FRAMES = 16
IMAGE_SIZE = 36
PIXELS = IMAGE_SIZE * IMAGE_SIZE
TEST_FRAMES: tuple[int, int] = (3, 15)
TRAIN_FRAMES: tuple[int, ...] = tuple(t for t in range(FRAMES) if t not in TEST_FRAMES)
# The lowest and highest value in the real course data (docs/DATA.md: noise is not clipped).
COURSE_VALUE_RANGE: tuple[float, float] = (-25.0, 272.0)


def frames_per_sequence_for(path: str | os.PathLike) -> int:
    """14 for a file named train_*, 2 for test_*; otherwise CourseDataError (pass it explicitly)."""
    name = Path(path).name.lower()
    if name.startswith("train"):
        return len(TRAIN_FRAMES)
    if name.startswith("test"):
        return len(TEST_FRAMES)
    raise CourseDataError(
        f"{path}: cannot tell frames per sequence from the name (train_* or test_*); pass --frames"
    )


def _is_number(cell: bytes) -> bool:
    """Whether the CSV parser reads `cell` as a number (Python's float() also takes `1_000`; it does not)."""
    if b"_" in cell:
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _locate_bad_cell(path: Path, lines: list[bytes]) -> CourseDataError:
    """The error for the first cell that is not a number (only run when the fast parser failed)."""
    for row, line in enumerate(lines, start=1):
        for col, cell in enumerate(line.split(b","), start=1):
            if not _is_number(cell):
                text = cell.decode("utf-8", errors="replace").strip()
                return CourseDataError(f"{path}: row {row}, column {col}: {text!r} is not a number")
    return CourseDataError(f"{path}: a cell is not a number")


def _check_is_file(path: Path) -> None:
    problem = input_problem(path)
    if problem is not None:
        raise CourseDataError(f"{path}: {problem}{', not a CSV file' if problem == 'is a folder' else ''}")


def _delimiter_hint(line: bytes) -> str:
    """'; ...' naming the delimiter a row seems to use instead of the comma, or ''."""
    for delimiter, name in ((b";", "semicolons"), (b"\t", "tabs"), (b" ", "spaces")):
        if line.strip().count(delimiter) + 1 == PIXELS:
            return f"; its values are separated by {name}, the course format separates them by commas"
    return ""


def far_outside(values: np.ndarray, lo: float, hi: float) -> int | None:
    """The first index along axis 0 of `values` holding a value far outside lo..hi, or None.

    "Far" means more than one range width (hi - lo) below lo or above hi: for the course data
    (`COURSE_VALUE_RANGE`) that is below -322 or above 569, where no image of the 0-255 scale
    lies, while a scanner's or a generator's small excursions stay accepted.
    """
    span = hi - lo
    flat = np.asarray(values).reshape(len(values), -1)
    bad = ((flat < lo - span) | (flat > hi + span)).any(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def read_course_rows(path: str | os.PathLike) -> np.ndarray:
    """All rows of a course CSV as (rows, 1296) float64, validated as described in the module doc."""
    path = Path(path)
    _check_is_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CourseDataError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not data.strip():
        raise CourseDataError(f"{path}: file is empty")
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline
    counts = np.fromiter(
        (line.count(b",") + 1 if line.strip() else 0 for line in lines), dtype=np.int64, count=len(lines)
    )
    bad = np.flatnonzero(counts != PIXELS)
    if bad.size:
        row = int(bad[0])
        raise CourseDataError(
            f"{path}: row {row + 1} has {counts[row]} values, expected {PIXELS} (one 36x36 image)"
            + _delimiter_hint(lines[row])
        )
    try:
        values = pd.read_csv(
            io.BytesIO(data), header=None, dtype=np.float64, engine="c", skip_blank_lines=False
        ).to_numpy()
    except (ValueError, pd.errors.ParserError):
        raise _locate_bad_cell(path, lines) from None
    finite = np.isfinite(values)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        what = "NaN or empty" if np.isnan(values[row, col]) else "infinite"
        raise CourseDataError(f"{path}: row {row + 1}, column {col + 1}: value is {what}")
    row = far_outside(values, *COURSE_VALUE_RANGE)
    if row is not None:
        lo, hi = COURSE_VALUE_RANGE
        span = hi - lo
        col = int(np.argmax((values[row] < lo - span) | (values[row] > hi + span)))
        raise CourseDataError(
            f"{path}: row {row + 1}, column {col + 1}: value {values[row, col]:g} is far outside the course "
            f"data's range ({lo:g} to {hi:g}; nothing below {lo - span:g} or above {hi + span:g} is a pixel "
            "of the 0-255 scale)"
        )
    return values


def read_course_csv(path: str | os.PathLike, frames_per_sequence: int | None = None) -> np.ndarray:
    """A course CSV as sequences (N, T, 36, 36) float64.

    `frames_per_sequence` (T) defaults to 14 for train_* files and 2 for test_* files.
    """
    _check_is_file(Path(path))  # say so before complaining about the name
    t = frames_per_sequence if frames_per_sequence is not None else frames_per_sequence_for(path)
    if t < 1:
        raise ValueError(f"frames_per_sequence: must be >= 1, got {t}")
    values = read_course_rows(path)
    if values.shape[0] % t:
        raise CourseDataError(
            f"{path}: {values.shape[0]} rows are not a whole number of sequences of {t} frames "
            f"(row {values.shape[0] // t * t + 1} starts an incomplete sequence)"
        )
    return values.reshape(-1, t, IMAGE_SIZE, IMAGE_SIZE)


def assemble_sequences(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Full sequences (N, 16, 36, 36) from train (N, 14, 36, 36) and test (N, 2, 36, 36) frames."""
    train, test = np.asarray(train), np.asarray(test)
    if train.ndim != 4 or train.shape[1:] != (len(TRAIN_FRAMES), IMAGE_SIZE, IMAGE_SIZE):
        raise CourseDataError(f"train: expected shape (N, 14, 36, 36), got {train.shape}")
    if test.ndim != 4 or test.shape[1:] != (len(TEST_FRAMES), IMAGE_SIZE, IMAGE_SIZE):
        raise CourseDataError(f"test: expected shape (N, 2, 36, 36), got {test.shape}")
    if train.shape[0] != test.shape[0]:
        raise CourseDataError(f"train and test: {train.shape[0]} vs {test.shape[0]} sequences")
    out = np.empty((train.shape[0], FRAMES, IMAGE_SIZE, IMAGE_SIZE), dtype=np.result_type(train, test))
    out[:, list(TRAIN_FRAMES)] = train
    out[:, list(TEST_FRAMES)] = test
    return out


def split_sequences(sequences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `assemble_sequences`: (N, 16, H, W) -> (train (N, 14, H, W), test (N, 2, H, W))."""
    sequences = np.asarray(sequences)
    if sequences.ndim != 4 or sequences.shape[1] != FRAMES:
        raise ValueError(f"sequences: expected shape (N, 16, H, W), got {sequences.shape}")
    return sequences[:, list(TRAIN_FRAMES)], sequences[:, list(TEST_FRAMES)]


def read_course_pair(train_path: str | os.PathLike, test_path: str | os.PathLike) -> np.ndarray:
    """Full sequences (N, 16, 36, 36) float64 from one train and one test CSV of the same data set."""
    train = read_course_csv(train_path, len(TRAIN_FRAMES))
    test = read_course_csv(test_path, len(TEST_FRAMES))
    if train.shape[0] != test.shape[0]:
        raise CourseDataError(
            f"{test_path}: {test.shape[0]} sequences, but {train_path} has {train.shape[0]}"
        )
    return assemble_sequences(train, test)


def write_course_csv(path: str | os.PathLike, frames: np.ndarray, decimals: int | None = None) -> None:
    """Write frames (N, T, 36, 36) or rows (M, 1296) as a course CSV, atomically.

    Integer arrays, and float arrays holding only whole numbers, are written as integers
    (the course's format); other floats with 9 significant digits (float32 round-trips), or
    with `decimals` places after the point when given (predictions: the course's own
    resolution is 1 on the 0-255 scale, so 2 decimals lose nothing and halve the file).
    """
    if decimals is not None and not 0 <= decimals <= 12:
        raise ValueError(f"decimals: must be in 0..12, got {decimals}")
    frames = np.asarray(frames)
    if frames.ndim >= 2 and frames.shape[-2:] == (IMAGE_SIZE, IMAGE_SIZE):
        rows = frames.reshape(-1, PIXELS)
    elif frames.ndim == 2 and frames.shape[1] == PIXELS:
        rows = frames
    else:
        raise ValueError(f"frames: expected (N, T, 36, 36) or (M, 1296), got {frames.shape}")
    if rows.shape[0] == 0:
        raise ValueError("frames: nothing to write (0 rows)")
    if not np.issubdtype(rows.dtype, np.integer):
        if not np.isfinite(rows).all():
            raise ValueError("frames: contain NaN or infinite values")
        if np.array_equal(rows, np.rint(rows)) and np.abs(rows).max() < 2**62:
            rows = rows.astype(np.int64)
    if np.issubdtype(rows.dtype, np.integer):
        fmt = "%d"
    else:
        fmt = "%.9g" if decimals is None else f"%.{decimals}f"
    with atomic_path(path) as tmp:
        np.savetxt(tmp, rows, fmt=fmt, delimiter=",")


# ---------------------------------------------------------------------------------------------
# CLI: python -m convlstm_lib inspect FILE [--frames T]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a course CSV (train_* or test_*)")
    parser.add_argument(
        "--frames", type=int, default=None, help="frames per sequence (default: 14 for train_*, 2 for test_*)"
    )


def summary(path: str | os.PathLike, frames_per_sequence: int | None = None) -> dict[str, float]:
    """rows, sequences, frames_per_sequence, min, max, mean of a course CSV (read and validated
    as every reader does: a file that cannot be course data raises CourseDataError)."""
    if frames_per_sequence is not None and frames_per_sequence < 1:
        raise CourseDataError(f"--frames: must be >= 1, got {frames_per_sequence}")
    seq = read_course_csv(path, frames_per_sequence)
    return {
        "rows": seq.shape[0] * seq.shape[1],
        "sequences": seq.shape[0],
        "frames_per_sequence": seq.shape[1],
        "min": float(seq.min()),
        "max": float(seq.max()),
        "mean": float(seq.mean()),
    }


def run(args: argparse.Namespace) -> int:
    info = summary(args.file, args.frames)
    print(f"{args.file}")
    print(f"  rows                {info['rows']}")
    print(f"  sequences           {info['sequences']}")
    print(f"  frames per sequence {info['frames_per_sequence']}")
    print(f"  min / max / mean    {info['min']:g} / {info['max']:g} / {info['mean']:.3f}")
    return 0
