"""Ablation of the default sparse grid search: which part of it does the work?

The columns are extra methods of ``benchmarks/race.py`` and ``benchmarks/bbob.py``
(``VARIANTS``, opt-in through ``--methods``); the table of ``docs/ablation.md`` was written by::

    nice -n 10 .venv/bin/python benchmarks/bbob.py --methods sparse_grid sg_no_local sg_local \
        sobol_local --dims 2 5 10 --budget-factors 20 --instances 1 2 3 --prefix ablation

(BBOB's 10 functions, instances 1-3, ``B = 20 d``). The four methods:

``sparse_grid``
    the library default (``method="sparse_grid"``), unchanged: its local phase runs only when
    ``round(0.3 B) >= 2 (d + 1)(d + 2) / 2``, which at ``B = 20 d`` holds in 2-D only;
``sg_no_local``
    the same grid search without the local phase (``local_search=False``): stage 0, zoom stages,
    quadratic model steps and the rest of the budget as the default spends it;
``sg_local``
    the grid search with the local phase forced on (``local_search=True``): a first global
    search of ``local_fraction = 0.3`` of the budget, then the quadratic trust region and global
    restarts;
``sobol_local``
    :class:`SobolTrustRegion`: the same local phase (the same
    :class:`~core.strategies._trust_region.QuadraticTrustRegion`, the same restart rule) started
    from a scrambled Sobol design of the same size as ``sg_local``'s first global search, so
    ``sg_local`` against ``sobol_local`` isolates the grid's part as the global phase.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from core.records import Origin
from core.strategies import SparseGridSearch
from core.strategies._trust_region import QuadraticTrustRegion
from core.strategies.base import Strategy
from core.strategies.sparse_grid import LOCAL_MIN_RADIUS

__all__ = ["ABLATION_VARIANTS", "SobolTrustRegion"]


class SobolTrustRegion(Strategy):
    """A scrambled Sobol design, then the default sparse grid search's local phase.

    The design has as many points as the first global search of
    ``SparseGridSearch(dim, n_evals, local_search=True)`` (its ``global_budget``). Then the
    trust region proposes steps on quadratic models of the told points; once it has converged
    (or while too few finite values exist for a model) a *restart* continues the same Sobol
    sequence until the design holds twice as many points as before (at most ``n_evals``), and a
    fresh trust region follows, as the sparse grid search's global restarts double the global
    search's budget. The run ends when the budget is spent or a restart with the whole budget
    adds no point.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget.
    seed : int, numpy Generator or None
        Scrambling of the Sobol sequence and the trust region's geometry steps.
    """

    name = "sobol_local"
    title = "Sobol design + trust region (ablation)"
    summary = "scrambled Sobol design, then sparse grid search's quadratic trust region"

    def __init__(self, dim: int, n_evals: int, *, seed: Any = None) -> None:
        super().__init__(dim, n_evals, seed=seed)
        from scipy.stats import qmc

        #: Size of the first design: ``SparseGridSearch(..., local_search=True).global_budget``.
        self.global_budget = SparseGridSearch(
            self.dim, self.n_evals, local_search=True, seed=0
        ).global_budget
        self._sobol = qmc.Sobol(self.dim, scramble=True, seed=self._rng)
        self._design: np.ndarray = np.empty((0, self.dim))
        self._handed = 0  # design points asked so far
        self._target = self.global_budget  # design size of the running search
        self._trust: QuadraticTrustRegion | None = None
        self._step_pending = False
        self.n_restarts = 0
        self._restart_told = 0

    def _draw_to(self, size: int) -> None:
        new = size - len(self._design)
        if new > 0:
            with warnings.catch_warnings():  # sizes are not powers of two
                warnings.simplefilter("ignore", UserWarning)
                self._design = np.vstack([self._design, self._sobol.random(new)])

    def _ask(self, max_points: int) -> np.ndarray:
        while self.remaining > 0:
            if self._handed < self._target:
                self._draw_to(self._target)
                k = min(max_points, self._target - self._handed)
                U = self._design[self._handed : self._handed + k]
                self._handed += k
                self._set_origins(
                    Origin("sample", restart=self.n_restarts, source="Sobol design")
                    for _ in range(k)
                )
                return U
            if self._trust is None:
                self._trust = QuadraticTrustRegion(self.dim, LOCAL_MIN_RADIUS)
            proposal = self._trust.propose(self.U_told, self.y_told, self._rng)
            if proposal is not None:
                x, predicted = proposal
                source = "trust region" if np.isfinite(predicted) else "trust region (geometry)"
                self._set_origins([Origin(
                    "local_step", predicted,
                    "local_quadratic" if np.isfinite(predicted) else None,
                    np.vstack([self.best[0], x]), restart=self.n_restarts, source=source,
                )])
                self._step_pending = True
                return x[None, :]
            if self.n_restarts and (self.n_told == self._restart_told
                                    or self._target >= self.n_evals):
                break
            self._target = min(2 * self._target, self._handed + self.remaining)
            self.n_restarts += 1
            self._restart_told = self.n_told
            self._trust = None
        self._say_why("the last restart's design added no point the trust region could use")
        return np.empty((0, self.dim))

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if self._step_pending:
            self._step_pending = False
            self._trust.update(float(y[0]))

    def _stop(self) -> str | None:
        return None


#: Ablation columns: name -> (strategy name or class, fixed options).
ABLATION_VARIANTS: dict[str, tuple[Any, dict]] = {
    "sg_no_local": ("sparse_grid", {"local_search": False}),
    "sg_local": ("sparse_grid", {"local_search": True}),
    "sobol_local": (SobolTrustRegion, {}),
}
