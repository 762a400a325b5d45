"""Search strategies: black-box search on the expensive objective through one ask/tell contract.

``STRATEGIES`` maps a registry name to its class; :func:`make_strategy` builds one by name with
checked options. Every strategy works in the unit cube and never sees the objective
(see docs/architecture.md); :mod:`core.run` drives them. Each class also states its menu
``title``, whether it ``has_model`` to draw and its ``min_budget(dim, **options)``.

========================  ===========================  ===========================================
name                      class                        what it does
========================  ===========================  ===========================================
``"sparse_grid"``         :class:`ComposedSparseGrid`  :class:`SparseGridSearch` (Novak-Ritter
                                                       grid, B-spline surrogate's optima) in
                                                       :class:`ZoomSearch` stages on the
                                                       incumbent with quadratic model steps, then
                                                       (budget allowing)
                                                       :class:`TrustRegionRestarts`' trust region
                                                       with global restarts;
                                                       ``variant="thesis"``: one grid, surrogate
                                                       optima at the end
``"grid"``                :class:`GridSearch`          full tensor grid of cell midpoints
``"random"``              :class:`RandomSearch`        uniform random points
``"bayesian"``            :class:`BayesianOptimization` Matern 5/2 GP + expected improvement
``"adaptive_random"``     :class:`AdaptiveRandomSearch` thesis' iterative adaptive random search
========================  ===========================  ===========================================

``COMPOSITIONS`` names the other compositions a registered strategy's options select (the thesis'
sparse grid, the local phase forced on or off), each with a line saying what runs; benchmarks
and tests take them from there.
"""

from __future__ import annotations

import inspect
from typing import Any

from core.strategies._trust_region import TrustRegionRestarts
from core.strategies.adaptive_random import AdaptiveRandomSearch
from core.strategies.base import STOP_REASONS, Strategy
from core.strategies.bayesian import BayesianOptimization
from core.strategies.composed import ComposedSparseGrid
from core.strategies.grid_search import GridSearch
from core.strategies.random_search import RandomSearch
from core.strategies.sparse_grid import SparseGridSearch
from core.strategies.zoom import ZoomSearch

__all__ = [
    "STRATEGIES",
    "COMPOSITIONS",
    "STOP_REASONS",
    "check_option_names",
    "AdaptiveRandomSearch",
    "BayesianOptimization",
    "ComposedSparseGrid",
    "GridSearch",
    "RandomSearch",
    "SparseGridSearch",
    "Strategy",
    "TrustRegionRestarts",
    "ZoomSearch",
    "make_strategy",
    "strategy_options",
]

STRATEGIES: dict[str, type[Strategy]] = {
    "sparse_grid": ComposedSparseGrid,
    "grid": GridSearch,
    "random": RandomSearch,
    "bayesian": BayesianOptimization,
    "adaptive_random": AdaptiveRandomSearch,
}


#: Compositions selected by options of a registered strategy: name -> (registry name, options,
#: what runs). ``make_strategy(*COMPOSITIONS[k][:1], dim, n_evals, **COMPOSITIONS[k][1])``.
COMPOSITIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "sparse_grid_thesis": (
        "sparse_grid", {"variant": "thesis"},
        "the thesis' method: one Novak-Ritter grid, then its surrogate's optima",
    ),
    "sparse_grid_local": (
        "sparse_grid", {"local_search": True},
        "the trust-region phase at every budget (the default adds it from a threshold): a "
        "first global search of 30 % of the budget (with zoom stages where they fit), then "
        "the quadratic trust region with global restarts",
    ),
    "sparse_grid_no_local": (
        "sparse_grid", {"local_search": False},
        "zoom stages and quadratic model steps on the whole budget, no trust-region phase "
        "(evaluations they leave go to trust-region steps from the incumbent)",
    ),
}


def strategy_options(name: str) -> dict[str, Any]:
    """The keyword options of strategy ``name`` and their defaults (``seed`` excluded)."""
    cls = _lookup(name)
    params = inspect.signature(cls.__init__).parameters
    return {
        p.name: p.default
        for p in params.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "seed"
    }


def _lookup(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown strategy {name!r}; valid names: {', '.join(STRATEGIES)}"
        ) from None


def make_strategy(
    name: str, dim: int, n_evals: int, *, seed: Any = None, **options: Any
) -> Strategy:
    """Build the strategy registered as ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`STRATEGIES`; an unknown name raises ``ValueError`` listing the valid
        ones.
    dim : int
        Dimension of the unit cube.
    n_evals : int
        Budget (number of points the strategy may propose).
    seed : int, numpy Generator or None
        Source of randomness.
    **options
        Strategy options (see each class); an unknown option raises ``TypeError`` naming it and
        listing the valid ones.

    Examples
    --------
    >>> s = make_strategy("random", 2, 5, seed=0)
    >>> s.ask(max_points=2).shape
    (2, 2)
    """
    cls = _lookup(name)
    check_option_names(name, options)
    return cls(dim, n_evals, seed=seed, **options)


#: Options renamed since an earlier release, by strategy: old name -> new name. Passing the old
#: name is an error that names the new one ("trust region" now names only the local phase of
#: sparse grid search; the thesis' candidate box is ``candidate_box``).
RENAMED_OPTIONS: dict[str, dict[str, str]] = {"sparse_grid": {"trust_region": "candidate_box"}}


def check_option_names(name: str, options: dict[str, Any]) -> None:
    """Raise ``TypeError`` naming any key of ``options`` that strategy ``name`` does not take
    (and listing the valid ones, or the new name of a renamed option); values are checked by
    the strategy itself."""
    valid = strategy_options(name)
    renamed = RENAMED_OPTIONS.get(name, {})
    for k in options:
        if k in renamed and k not in valid:
            raise TypeError(
                f"option {k!r} of strategy {name!r} was renamed {renamed[k]!r}; "
                f"pass {renamed[k]}={options[k]!r}"
            )
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for strategy {name!r}; "
            f"valid options: {', '.join(valid) or 'none'}"
        )
