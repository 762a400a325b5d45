"""Random search: independent uniform points in the unit cube.

Log-scaled and integer parameters are respected through the search space's unit-cube mapping
(docs/decisions.md, "Integer and categorical bins"), so a uniform ``u`` is log-uniform in native
units for a log parameter and hits every integer value with equal probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.strategies.base import Strategy

__all__ = ["NATURAL_BATCH", "RandomSearch"]

#: Most points random and grid search propose per ``ask`` when the caller sets no limit: memory
#: stays independent of the budget (a budget of 10**9 runs until stopped).
NATURAL_BATCH = 1024


class RandomSearch(Strategy):
    """Uniform random points in [0, 1]^d until the budget is used up.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget (number of points proposed in total).
    seed : int, numpy Generator or None
        Source of randomness.

    Notes
    -----
    Points are drawn row by row from one stream, so the sequence of proposed points does not
    depend on how many points each ``ask`` requests. Each ``ask`` proposes at most
    :data:`NATURAL_BATCH` points, drawn when asked: memory does not grow with the budget.

    Examples
    --------
    >>> s = RandomSearch(2, 3, seed=0)
    >>> U = s.ask()
    >>> U.shape
    (3, 2)
    >>> RandomSearch(2, 10**9, seed=0).ask().shape  # a natural batch, not the budget
    (1024, 2)
    """

    name = "random"
    title = "Random search"
    summary = "uniform random points"

    def __init__(self, dim: int, n_evals: int, *, seed: Any = None) -> None:
        super().__init__(dim, n_evals, seed=seed)

    def _ask(self, max_points: int) -> np.ndarray:
        return self._rng.random((min(max_points, NATURAL_BATCH), self.dim))
