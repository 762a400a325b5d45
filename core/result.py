"""Result types shared by optimizers, strategies and the driver (scipy's vocabulary)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _frozen_array(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True)
class OptimizeResult:
    """Outcome of minimizing a cheap function on the unit cube.

    Attributes
    ----------
    x : ndarray, shape (d,)
        Best point found (read-only).
    fun : float
        Function value at ``x``.
    nfev : int
        Number of function evaluations used.
    nit : int
        Number of iterations (generations, restarts, ... as the method defines them).
    success : bool
        Whether the method ended by its own convergence criterion.
    message : str
        Why the method ended.
    path : ndarray, shape (k, d), or None
        For the surrogate optimizers of :mod:`core.optimizers`: the best-so-far trajectory (the
        first point evaluated, then every point that improved on all earlier ones; the last row
        is ``x``). ``None`` where nothing was recorded (search strategies).
    """

    x: np.ndarray
    fun: float
    nfev: int
    nit: int
    success: bool
    message: str
    path: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _frozen_array(self.x))
        object.__setattr__(self, "fun", float(self.fun))
        object.__setattr__(self, "nfev", int(self.nfev))
        object.__setattr__(self, "nit", int(self.nit))
        object.__setattr__(self, "success", bool(self.success))
        if self.path is not None:
            object.__setattr__(self, "path", _frozen_array(self.path))


@dataclass(frozen=True, slots=True)
class Measurement:
    """What an objective may return instead of a bare float.

    Attributes
    ----------
    value : float
        The loss (lower is better). NaN or inf marks a failed evaluation.
    info : Mapping
        Extra JSON-serializable facts (e.g. ``accuracy``, ``loss_curve``, ``epochs_run``).
    """

    value: float
    info: Mapping[str, Any] = field(default_factory=dict)
