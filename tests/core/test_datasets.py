"""Offline datasets and the IDX reader/writer (no torch needed)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from core.objectives import datasets
from core.objectives.datasets import read_idx, write_idx


# -- IDX ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, rng, dtype, name):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        arr = rng.integers(info.min, info.max, size=(5, 3, 4), endpoint=True).astype(dtype)
    else:
        arr = rng.standard_normal((5, 3, 4)).astype(dtype)
    path = write_idx(tmp_path / name, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    with open(path, "rb") as f:
        assert (f.read(2) == b"\x1f\x8b") == name.endswith(".gz")


def test_idx_layout_matches_the_mnist_spec(tmp_path):
    """The bytes are exactly LeCun's format: 0 0 type ndim, big-endian dims, big-endian data."""
    arr = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int16)
    raw = write_idx(tmp_path / "x.idx", arr).read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert struct.unpack(">2I", raw[4:12]) == (2, 3)
    assert struct.unpack(">6h", raw[12:]) == (1, 2, 3, 4, 5, 6)
    # a hand-written MNIST-style label file reads back
    (tmp_path / "labels").write_bytes(
        bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes([7, 0, 9])
    )
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), [7, 0, 9])


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_idx(tmp_path / "plain-name", arr, compress=True)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain-name"), arr)


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "two zero bytes"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "type code"),
        (b"\x00\x00\x08\x02" + struct.pack(">I", 1), "header truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x01", "data truncated"),
        (b"", "empty file"),
    ],
)
def test_idx_rejects_malformed_files(tmp_path, payload, match):
    (tmp_path / "bad").write_bytes(payload)
    with pytest.raises(ValueError, match=match):
        read_idx(tmp_path / "bad")


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype=uint16"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="dtype=complex128"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=complex))


def write_fake_mnist(root, rng, n_train=40, n_val=12, size=28, gz=False, sep="-"):
    """Small MNIST-format files: images uint8 (n, size, size), labels uint8 0..9."""
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    out = {}
    for part, n in (("train", n_train), ("t10k", n_val)):
        images = rng.integers(0, 256, size=(n, size, size)).astype(np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / f"{part}-images{sep}idx3-ubyte{ext}", images)
        write_idx(root / f"{part}-labels{sep}idx1-ubyte{ext}", labels)
        out[part] = (images, labels)
    return out


@pytest.mark.parametrize(
    "gz, sep, sub", [(False, "-", ""), (True, "-", ""), (True, ".", "MNIST/raw")]
)
def test_mnist_loader_round_trip(tmp_path, rng, gz, sep, sub):
    raw = write_fake_mnist(tmp_path / sub if sub else tmp_path, rng, gz=gz, sep=sep)
    split = datasets.mnist(tmp_path)
    assert split.name == "mnist" and split.n_classes == 10
    assert split.X_train.shape == (40, 1, 28, 28) and split.X_val.shape == (12, 1, 28, 28)
    assert split.X_train.dtype == np.float32 and split.y_train.dtype == np.int64
    np.testing.assert_allclose(split.X_train[:, 0] * 255.0, raw["train"][0], atol=1e-4)
    np.testing.assert_array_equal(split.y_val, raw["t10k"][1])
    small = datasets.mnist(tmp_path, max_train=5, max_val=3)
    assert small.n_train == 5 and small.n_val == 3
    np.testing.assert_array_equal(small.X_train, split.X_train[:5])


def test_mnist_loader_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="existing directory"):
        datasets.mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.mnist(tmp_path)
    write_fake_mnist(tmp_path, rng)
    with pytest.raises(ValueError, match="max_train"):
        datasets.mnist(tmp_path, max_train=0)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))  # wrong count
    with pytest.raises(ValueError, match=r"labels \(n,\)"):
        datasets.mnist(tmp_path)


def test_mnist_gz_and_plain_files_are_read_identically(tmp_path, rng):
    raw = write_fake_mnist(tmp_path / "a", np.random.default_rng(1), gz=True)
    write_fake_mnist(tmp_path / "b", np.random.default_rng(1), gz=False)
    a, b = datasets.mnist(tmp_path / "a"), datasets.mnist(tmp_path / "b")
    np.testing.assert_array_equal(a.X_train, b.X_train)
    with gzip.open(tmp_path / "a" / "train-labels-idx1-ubyte.gz") as f:
        assert f.read(4) == bytes([0, 0, 8, 1])
    assert raw["train"][0].shape == (40, 28, 28)


# -- regression and digits ----------------------------------------------------------------------
def test_synthetic_regression_split_and_standardization():
    split = datasets.synthetic_regression()
    assert (split.n_train, split.n_val) == (400, 100)
    assert split.X_train.shape == (400, 1) and split.y_val.shape == (100,)
    assert split.X_train.dtype == np.float32 and split.y_train.dtype == np.float32
    np.testing.assert_allclose(split.X_train.mean(), 0.0, atol=1e-5)
    np.testing.assert_allclose(split.y_train.std(), 1.0, atol=1e-5)
    # the generating formula, standardized with the training statistics
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 500)
    y = np.sin(3 * x) + 0.3 * x**2 + 0.1 * rng.standard_normal(500)
    ys = (y - y[:400].mean()) / y[:400].std()
    np.testing.assert_allclose(split.y_val, ys[400:], rtol=1e-5, atol=1e-6)
    assert not split.X_train.flags.writeable


def test_synthetic_regression_depends_only_on_data_seed():
    a, b = datasets.synthetic_regression(3), datasets.synthetic_regression(3)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, datasets.synthetic_regression(4).y_train)


def test_diabetes_split():
    split = datasets.regression_data("diabetes")
    assert (split.n_train, split.n_val) == (354, 88)
    assert split.X_train.shape[1] == 10
    np.testing.assert_allclose(split.X_train.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(split.y_train.mean(), 0.0, atol=1e-5)


def test_digits_split():
    split = datasets.classification_data("digits")
    assert (split.n_train, split.n_val) == (1438, 359)
    assert split.X_train.shape[1:] == (1, 8, 8) and split.n_classes == 10
    assert 0.0 <= split.X_train.min() and split.X_train.max() == 1.0
    assert set(np.unique(split.y_val)) == set(range(10))


def test_unknown_dataset_names_list_valid_ones():
    with pytest.raises(ValueError, match="synthetic, diabetes"):
        datasets.regression_data("boston")
    with pytest.raises(ValueError, match="digits, mnist"):
        datasets.classification_data("cifar")
    with pytest.raises(ValueError, match="data_dir"):
        datasets.classification_data("mnist")
