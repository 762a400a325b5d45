"""Input validation shared by the public entry points of :mod:`core`.

Public functions validate once here and trust their inputs afterwards (docs/architecture.md,
"Array shapes and validation").
Every error states the rule and the value received.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SeedLike = "int | np.random.Generator | np.random.SeedSequence | None"


def as_generator(seed: Any = None) -> np.random.Generator:
    """Normalize ``seed`` to a :class:`numpy.random.Generator` (SPEC 7 style).

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        ``None`` gives fresh OS entropy; an int or SeedSequence a reproducible stream; a
        Generator is returned unchanged (shared, not copied).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not (
        seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence))
    ):
        raise TypeError(
            f"`seed` must be None, an int, a SeedSequence or a numpy Generator, got {seed!r}"
        )
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"`seed` must be a non-negative int, got seed={seed}")
    return np.random.default_rng(seed)


def as_points(U: Any, d: int, *, name: str = "U") -> np.ndarray:
    """Return ``U`` as a float64 array of shape ``(n, d)``.

    A 1-D array of length ``d`` is accepted as a single point and returned as ``(1, d)``.
    """
    arr = np.asarray(U, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == d:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"`{name}` must have shape (n, {d}), got shape {np.shape(U)}")
    return arr


def as_values(y: Any, n: int, *, name: str = "y") -> np.ndarray:
    """Return ``y`` as a float64 array of shape ``(n,)``; NaN and inf are allowed."""
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 0 and n == 1:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},), got shape {np.shape(y)}")
    return arr


def check_unit_cube(U: np.ndarray, *, name: str = "U") -> np.ndarray:
    """Raise ``ValueError`` unless every coordinate of ``U`` lies in [0, 1]."""
    bad = ~((U >= 0.0) & (U <= 1.0))
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(
            f"`{name}` must lie in the unit cube [0, 1]^d, got row {row} = {U[row].tolist()}"
        )
    return U


def check_gamma(gamma: Any) -> float:
    """Validate the Novak-Ritter adaptivity ``gamma`` in [0, 1]."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise TypeError(f"`gamma` must be a number in [0, 1], got gamma={gamma!r}") from None
    if not (0.0 <= g <= 1.0):
        raise ValueError(f"`gamma` must be in [0, 1], got gamma={gamma!r}")
    return g


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer argument within optional inclusive bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {name}={value!r}")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"`{name}` must be in [{lo}, {hi}], got {name}={value!r}")
    return v
