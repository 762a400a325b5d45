"""Grid search: the full tensor grid of cell midpoints, never over budget.

With budget ``B`` in ``d`` dimensions the grid has ``k = floor(B^(1/d))`` values per dimension, the
unit-cube cell midpoints ``(j + 1/2) / k``, ``j = 0..k-1``, so ``k^d <= B`` points in total. ``k``
is the exact integer root: ``64^(1/3)`` gives 4, not the 3 that floating-point truncation gives in
the thesis (docs/decisions.md, "Exact integer root for grid search"). Through the search space a
midpoint of a log parameter is the geometric cell midpoint, and an integer parameter gets the bin
holding the midpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.strategies.base import Strategy
from core.strategies.random_search import NATURAL_BATCH

__all__ = ["GridSearch", "MAX_GRID_BUDGET", "integer_root"]

#: Largest budget of grid search: point numbers stay within int64.
MAX_GRID_BUDGET = 2**62


def integer_root(n: int, d: int) -> int:
    """The largest integer ``k >= 0`` with ``k**d <= n`` (exact, no floating-point truncation).

    Examples
    --------
    >>> integer_root(64, 3), integer_root(63, 3), integer_root(1000, 3), integer_root(5, 1)
    (4, 3, 10, 5)
    """
    if n < 0 or d < 1:
        raise ValueError(f"integer_root needs n >= 0 and d >= 1, got n={n}, d={d}")
    k = int(round(n ** (1.0 / d)))
    while k > 0 and k**d > n:
        k -= 1
    while (k + 1) ** d <= n:
        k += 1
    return k


class GridSearch(Strategy):
    """Full tensor grid of ``k = floor(B^(1/d))`` cell midpoints per dimension.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget ``B``; the grid has ``k^d <= B`` points and the strategy then stops with
        ``"exhausted"`` (or ``"budget"`` when ``k^d == B``).
    seed : ignored
        Accepted for a uniform constructor signature; grid search is deterministic.

    Notes
    -----
    Points are proposed in ``itertools.product`` order: the first coordinate varies slowest.
    They are computed when asked (point ``j`` from the base-``k`` digits of ``j``), at most
    :data:`~core.strategies.random_search.NATURAL_BATCH` per ``ask``, so memory does not grow
    with the budget and any dimension works.

    Examples
    --------
    >>> g = GridSearch(2, 10)
    >>> g.points_per_dim, g.ask().tolist()[:2]
    (3, [[0.16666666666666666, 0.16666666666666666], [0.16666666666666666, 0.5]])
    """

    name = "grid"
    title = "Grid search"
    summary = "full tensor grid of cell midpoints"

    def __init__(self, dim: int, n_evals: int, *, seed: Any = None) -> None:
        super().__init__(dim, n_evals, seed=seed)
        if self.n_evals > MAX_GRID_BUDGET:
            raise ValueError(
                f"grid search needs n_evals <= 2**62 (point numbers are int64), got "
                f"n_evals={n_evals!r}"
            )
        self.points_per_dim = integer_root(self.n_evals, self.dim)
        self.n_points = self.points_per_dim**self.dim
        self._next = 0
        k, d = self.points_per_dim, self.dim
        self._say_why(
            f"the grid of {k} value(s) per dimension ({k}^{d} = {self.n_points} points) is "
            f"complete; {k + 1} values per dimension need {k + 1}^{d} = {(k + 1) ** d} "
            "evaluations"
        )

    @property
    def grid(self) -> np.ndarray:
        """All grid points in proposal order, shape ``(k^d, d)`` (built on request)."""
        return self._points(0, self.n_points)

    def _points(self, start: int, stop: int) -> np.ndarray:
        """Grid points ``start..stop-1`` in proposal order, shape ``(stop - start, d)``."""
        k = self.points_per_dim
        U = np.empty((stop - start, self.dim))
        if k == 1:
            U.fill(0.5)
            return U
        j = np.arange(start, stop, dtype=np.int64)
        for t in range(self.dim - 1, -1, -1):  # the last coordinate varies fastest
            j, digit = np.divmod(j, k)
            U[:, t] = (digit + 0.5) / k
        return U

    def _ask(self, max_points: int) -> np.ndarray:
        stop = min(self.n_points, self._next + min(max_points, NATURAL_BATCH))
        U = self._points(self._next, stop)
        self._next = stop
        return U

    def _stop(self) -> str | None:
        return "exhausted" if self._next >= self.n_points and self._pending is None else None
