"""Offline datasets for the neural-network objectives, as NumPy arrays (no torch, no downloads).

Every dataset comes back as a :class:`Split` with a fixed, documented train/validation split:

- ``"synthetic"`` (regression, the default): ``n = 500`` points ``x ~ U[-2, 2]``,
  ``y = sin(3x) + 0.3 x^2 + eps`` with ``eps ~ N(0, 0.1^2)``, drawn from
  ``numpy.random.default_rng(data_seed)``; the first 400 are the training set, the last 100 the
  validation set.
- ``"diabetes"`` (regression): scikit-learn's bundled ``load_diabetes`` (442 x 10), permuted with
  ``default_rng(data_seed)``; the first 80 % (354) train, the rest (88) validate.
- ``"digits"`` (classification, the default): scikit-learn's bundled ``load_digits`` (1797 images
  of 8 x 8, pixel values 0..16 scaled to [0, 1]), permuted with ``default_rng(data_seed)``; the
  first 80 % (1438) train, the rest (359) validate.
- ``"mnist"`` (classification): the four MNIST IDX files in a local directory ``data_dir``
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each optionally ``.gz``; ``-idx3-ubyte`` may also be spelled
  ``.idx3-ubyte``). Training set = the official training split, validation set = the official
  test split, optionally truncated to their first ``max_train`` / ``max_val`` images.

Regression features and targets are standardized with the training set's mean and standard
deviation (so predicting the mean gives a validation MSE of about 1). Images are float32 of shape
``(n, 1, h, w)`` in [0, 1]; labels are int64 of shape ``(n,)``.

The IDX format (LeCun's MNIST files) is: two zero bytes, a type code (0x08 ubyte, 0x09 byte,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then one big-endian
int32 per dimension, then the data in big-endian C order. :func:`read_idx` reads it (plain or
gzip); :func:`write_idx` writes it.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "Split",
    "REGRESSION_DATASETS",
    "CLASSIFICATION_DATASETS",
    "regression_data",
    "classification_data",
    "synthetic_regression",
    "diabetes",
    "digits",
    "mnist",
    "read_idx",
    "write_idx",
]

REGRESSION_DATASETS = ("synthetic", "diabetes")
CLASSIFICATION_DATASETS = ("digits", "mnist")

_IDX_TYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_IDX_CODES: dict[str, int] = {
    "u1": 0x08,
    "i1": 0x09,
    "i2": 0x0B,
    "i4": 0x0C,
    "f4": 0x0D,
    "f8": 0x0E,
}


@dataclass(frozen=True, eq=False)
class Split:
    """A train/validation split.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"synthetic"`` or ``"digits"``.
    X_train : ndarray, shape (n_train, p) or (n_train, 1, h, w), float32
    y_train : ndarray, shape (n_train,), float32 (regression) or int64 (class labels)
    X_val : ndarray, shape (n_val, p) or (n_val, 1, h, w), float32
    y_val : ndarray, shape (n_val,)
    n_classes : int
        Number of classes (0 for regression).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    n_classes: int = 0

    def __post_init__(self) -> None:
        for field in ("X_train", "y_train", "X_val", "y_val"):
            getattr(self, field).setflags(write=False)

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.X_val.shape[0])


# -- regression ----------------------------------------------------------------------------------
def _standardized(name: str, X: np.ndarray, y: np.ndarray, n_train: int) -> Split:
    """Standardize features and target by the first ``n_train`` rows; return the split."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mx, sx = X[:n_train].mean(axis=0), X[:n_train].std(axis=0)
    my, sy = y[:n_train].mean(), y[:n_train].std()
    sx = np.where(sx > 0, sx, 1.0)
    Xs = ((X - mx) / sx).astype(np.float32)
    ys = ((y - my) / (sy if sy > 0 else 1.0)).astype(np.float32)
    return Split(name, Xs[:n_train], ys[:n_train], Xs[n_train:], ys[n_train:])


def synthetic_regression(data_seed: int = 0, n: int = 500, noise: float = 0.1) -> Split:
    """The default regression data: ``y = sin(3x) + 0.3 x^2 + N(0, noise^2)`` on ``x ~ U[-2, 2]``.

    Parameters
    ----------
    data_seed : int
        Seed of the data (not of the training); the registered objectives use 0.
    n : int
        Number of points; the first ``round(0.8 n)`` train, the rest validate.
    noise : float
        Standard deviation of the additive Gaussian noise (before standardization).

    Returns
    -------
    Split
        ``X`` of shape ``(n_train, 1)`` / ``(n_val, 1)``, standardized by the training set.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"`n` must be an int >= 10, got n={n!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"`noise` must be finite and >= 0, got noise={noise!r}")
    rng = np.random.default_rng(data_seed)
    x = rng.uniform(-2.0, 2.0, size=n)
    y = np.sin(3.0 * x) + 0.3 * x**2 + noise * rng.standard_normal(n)
    return _standardized("synthetic", x[:, None], y, int(round(0.8 * n)))


def diabetes(data_seed: int = 0) -> Split:
    """scikit-learn's bundled ``load_diabetes``, permuted by ``data_seed``, 80 % / 20 % split."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    perm = np.random.default_rng(data_seed).permutation(data.data.shape[0])
    X, y = data.data[perm], data.target[perm]
    return _standardized("diabetes", X, y, int(round(0.8 * X.shape[0])))


def regression_data(name: str = "synthetic", data_seed: int = 0) -> Split:
    """Return the regression split ``name`` (one of :data:`REGRESSION_DATASETS`)."""
    if name == "synthetic":
        return synthetic_regression(data_seed)
    if name == "diabetes":
        return diabetes(data_seed)
    raise ValueError(
        f"unknown regression dataset {name!r}; valid names: {', '.join(REGRESSION_DATASETS)}"
    )


# -- classification ------------------------------------------------------------------------------
def digits(data_seed: int = 0) -> Split:
    """scikit-learn's bundled 8 x 8 ``load_digits``, permuted by ``data_seed``, 80 % / 20 %.

    Returns
    -------
    Split
        ``X`` float32 of shape ``(n, 1, 8, 8)`` in [0, 1]; ``y`` int64 in 0..9.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    perm = np.random.default_rng(data_seed).permutation(data.data.shape[0])
    X = (data.images[perm] / 16.0).astype(np.float32)[:, None, :, :]
    y = data.target[perm].astype(np.int64)
    n_train = int(round(0.8 * X.shape[0]))
    return Split("digits", X[:n_train], y[:n_train], X[n_train:], y[n_train:], n_classes=10)


def _find_idx(data_dir: Path, stem: str, kind: str) -> Path:
    """Find ``<stem>-<kind>-ubyte`` (or ``.<kind>-ubyte``, optionally ``.gz``) in ``data_dir``."""
    candidates = [f"{stem}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for sub in (data_dir, data_dir / "MNIST" / "raw", data_dir / "raw"):
        for c in candidates:
            if (sub / c).is_file():
                return sub / c
    raise FileNotFoundError(
        f"no MNIST file {stem}-{kind}-ubyte[.gz] in {str(data_dir)!r} "
        f"(looked for {', '.join(candidates)}; also in MNIST/raw/ and raw/)"
    )


def mnist(
    data_dir: str | os.PathLike[str], *, max_train: int | None = None, max_val: int | None = None
) -> Split:
    """MNIST from the four local IDX files in ``data_dir`` (never downloaded).

    Parameters
    ----------
    data_dir : path
        Directory holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``),
        directly or in ``MNIST/raw/`` (torchvision's layout).
    max_train, max_val : int or None
        Keep only the first ``max_train`` training / ``max_val`` validation images.

    Returns
    -------
    Split
        ``X`` float32 ``(n, 1, h, w)`` scaled from 0..255 to [0, 1]; validation = the test set.
    """
    if data_dir is None:
        raise ValueError("dataset='mnist' needs `data_dir`, the directory of the MNIST IDX files")
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"`data_dir` must be an existing directory, got {str(root)!r}")
    for name, m in (("max_train", max_train), ("max_val", max_val)):
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise ValueError(f"`{name}` must be None or an int >= 1, got {name}={m!r}")
    arrays = {}
    for part in ("train", "t10k"):
        images = read_idx(_find_idx(root, f"{part}-images", "idx3"))
        labels = read_idx(_find_idx(root, f"{part}-labels", "idx1"))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"MNIST {part} files must hold images (n, h, w) and labels (n,), "
                f"got shapes {images.shape} and {labels.shape}"
            )
        arrays[part] = (images, labels)
    (Xt, yt), (Xv, yv) = arrays["train"], arrays["t10k"]
    Xt, yt = Xt[:max_train], yt[:max_train]
    Xv, yv = Xv[:max_val], yv[:max_val]
    scale = 255.0 if np.issubdtype(Xt.dtype, np.integer) else 1.0
    n_classes = int(max(yt.max(), yv.max())) + 1
    return Split(
        "mnist",
        (Xt / scale).astype(np.float32)[:, None],
        yt.astype(np.int64),
        (Xv / scale).astype(np.float32)[:, None],
        yv.astype(np.int64),
        n_classes=max(n_classes, 10),
    )


def classification_data(
    name: str = "digits",
    data_seed: int = 0,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    max_train: int | None = None,
    max_val: int | None = None,
) -> Split:
    """Return the image-classification split ``name`` (one of :data:`CLASSIFICATION_DATASETS`)."""
    if name == "digits":
        return digits(data_seed)
    if name == "mnist":
        return mnist(data_dir, max_train=max_train, max_val=max_val)  # type: ignore[arg-type]
    raise ValueError(
        f"unknown classification dataset {name!r}; valid names: "
        f"{', '.join(CLASSIFICATION_DATASETS)}"
    )


# -- IDX files -----------------------------------------------------------------------------------
def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed, detected from its first bytes).

    Returns
    -------
    ndarray
        The array with the file's shape, in native byte order (uint8 for MNIST).
    """
    path = Path(path)
    with _open(path) as f:
        header = f.read(4)
        if len(header) != 4 or header[0] != 0 or header[1] != 0:
            raise ValueError(
                f"{str(path)!r} is not an IDX file: the magic number must start with two zero "
                f"bytes, got {header[:2].hex() or 'an empty file'}"
            )
        code, ndim = header[2], header[3]
        if code not in _IDX_TYPES:
            raise ValueError(
                f"{str(path)!r}: IDX type code must be one of "
                f"{[hex(c) for c in _IDX_TYPES]}, got {hex(code)}"
            )
        raw_dims = f.read(4 * ndim)
        if len(raw_dims) != 4 * ndim:
            raise ValueError(f"{str(path)!r}: IDX header truncated ({ndim} dimensions expected)")
        shape = struct.unpack(f">{ndim}I", raw_dims)
        dtype = np.dtype(_IDX_TYPES[code])
        count = int(np.prod(shape, dtype=np.int64))
        data = f.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(
                f"{str(path)!r}: IDX data truncated, expected {count * dtype.itemsize} bytes for "
                f"shape {shape}, got {len(data)}"
            )
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed if ``compress`` (default: name ends .gz).

    Supported dtypes: uint8, int8, int16, int32, float32, float64; at most 255 dimensions.
    """
    path = Path(path)
    arr = np.asarray(array)
    key = arr.dtype.kind + str(arr.dtype.itemsize)
    code = _IDX_CODES.get(key)
    if code is None or arr.dtype.kind not in "uif" or (arr.dtype.kind == "u" and key != "u1"):
        raise ValueError(
            f"IDX supports uint8, int8, int16, int32, float32, float64, got dtype={arr.dtype}"
        )
    if arr.ndim > 255:
        raise ValueError(f"IDX supports at most 255 dimensions, got ndim={arr.ndim}")
    big = arr.astype(arr.dtype.newbyteorder(">"), copy=False)
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += np.ascontiguousarray(big).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    with gzip.open(path, "wb") if compress else open(path, "wb") as f:
        f.write(payload)
    return path
