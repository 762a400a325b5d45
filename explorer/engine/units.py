"""Units and axes: unit-cube points as native plotting coordinates, image slices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.space import Categorical, Int

MODEL_RESOLUTION = 128


@dataclass(frozen=True)
class AxisSpec:
    """How one hyperparameter is drawn: native extent of the unit interval and axis type.

    ``lo``/``hi`` are the native coordinates of ``u = 0`` and ``u = 1`` (for integers the outer
    bin edges, so every value sits at the centre of its bin); ``log`` asks for a log axis, on
    which a heatmap sampled uniformly in ``u`` is exact.
    """

    name: str
    lo: float
    hi: float
    log: bool
    labels: tuple[str, ...] | None = None  # categorical choices, drawn at 0..n-1

    def to_native(self, u: np.ndarray) -> np.ndarray:
        """Continuous native coordinate of ``u`` (shape preserved)."""
        if self.log:
            return np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        return self.lo + u * (self.hi - self.lo)


def axis_spec(space: Any, name: str) -> AxisSpec:
    """The :class:`AxisSpec` of hyperparameter ``name`` of ``space``."""
    p = space[name]
    if isinstance(p, Categorical):
        n = p.n_values
        return AxisSpec(name, -0.5, n - 0.5, False, tuple(str(c) for c in p.choices))
    if isinstance(p, Int):
        if p.log:
            lo = max(p.low - 0.5, 0.5)
            return AxisSpec(name, lo, p.high + 0.5, True)
        return AxisSpec(name, p.low - 0.5, p.high + 0.5, False)
    return AxisSpec(name, float(p.low), float(p.high), bool(p.log))


def native_coordinates(space: Any, U: np.ndarray) -> np.ndarray:
    """Plotting coordinates of unit-cube points: native values, categoricals as indices.

    Parameters
    ----------
    space : core.space.SearchSpace
    U : ndarray, shape (n, d)

    Returns
    -------
    ndarray of float64, shape (n, d)
    """
    U = np.asarray(U, dtype=np.float64).reshape(-1, space.dim)
    out = np.empty_like(U)
    for t, name in enumerate(space.names):
        p = space[name]
        col = p._from_unit(np.clip(U[:, t], 0.0, 1.0))
        out[:, t] = np.asarray(col, dtype=np.float64)
    return out


def slice_points(d: int, dims: tuple[int, int], fixed: np.ndarray, resolution: int) -> np.ndarray:
    """Unit-cube points of a ``resolution x resolution`` image over dimensions ``dims``.

    Row ``j * resolution + i`` has ``u[dims[0]] = (i + 1/2)/r`` and ``u[dims[1]] = (j + 1/2)/r``
    (image order: ``Z.reshape(r, r)[j, i]``); other coordinates come from ``fixed`` (shape (d,)).
    """
    r = resolution
    g = (np.arange(r) + 0.5) / r
    U = np.repeat(np.asarray(fixed, dtype=np.float64).reshape(1, d), r * r, axis=0)
    U[:, dims[0]] = np.tile(g, r)
    U[:, dims[1]] = np.repeat(g, r)
    return U


def best_prefix(y: np.ndarray) -> np.ndarray:
    """Best finite value so far after each evaluation (NaN until the first finite one)."""
    yy = np.where(np.isfinite(y), y, np.inf)
    out = np.minimum.accumulate(yy) if len(yy) else yy.copy()
    out[~np.isfinite(out)] = np.nan
    return out
