"""Sparse-grid hyperparameter optimization: the computational core.

Search spaces map hyperparameters to the unit cube; the Novak-Ritter generator refines an adaptive
sparse grid; modified B-spline surrogates interpolate it; surrogate optimizers find its minimum;
strategies (sparse grid, grid, random, Bayesian, adaptive random search) propose points; and the
driver :func:`core.run.minimize` is the one place that evaluates objectives.

Nothing heavy is imported here: submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.result import Measurement, OptimizeResult
from core.space import Categorical, Float, Int, SearchSpace

__all__ = [
    "Categorical",
    "Float",
    "Int",
    "Measurement",
    "NovakRitter",
    "OBJECTIVES",
    "OPTIMIZERS",
    "OptimizeResult",
    "STRATEGIES",
    "SearchSpace",
    "fit_surrogate",
    "Batch",
    "Evaluation",
    "RunResult",
    "iterate",
    "make_executor",
    "minimize",
    "replay",
    "Origin",
    "load_journal",
]

_LAZY = {
    "NovakRitter": "core.grid",
    "fit_surrogate": "core.surrogate",
    "OPTIMIZERS": "core.optimizers",
    "STRATEGIES": "core.strategies",
    "OBJECTIVES": "core.objectives",
    "minimize": "core.run",
    "iterate": "core.run",
    "replay": "core.run",
    "Origin": "core.records",
    "load_journal": "core.journal",
    "Batch": "core.records",
    "Evaluation": "core.records",
    "RunResult": "core.records",
    "make_executor": "core.executors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
