"""Nelder-Mead on [0, 1]^d via :func:`scipy.optimize.minimize` (SG++ ``NelderMead``).

SG++'s defaults are kept: budget 1000 evaluations, coefficients reflection 1, expansion 2,
contraction 0.5, shrink 0.5 (scipy's standard, non-adaptive coefficients), and the start
simplex ``x0, x0 + 0.4 e_1, ..., x0 + 0.4 e_d``.

Differences from SG++
---------------------
- **Start simplex near the upper bound.** SG++ clips ``x0_t + 0.4`` at 1, which makes the
  simplex degenerate when ``x0_t = 1`` (and flat when ``x0_t`` is close to 1). Here a vertex
  steps to ``x0_t - 0.4`` instead whenever ``x0_t + 0.4 > 1``, so every edge has length 0.4.
- **Box handling.** scipy clips trial points onto [0, 1]^d (``bounds``); SG++ gives points
  outside the cube the value +inf and still counts an evaluation.
- **Stopping.** Besides the budget, scipy's convergence test stops the method once the simplex
  has shrunk (``xatol``, default 1e-8) and its values agree (``fatol``, default 1e-12). SG++
  always spends the whole budget.
- **Budget.** ``maxfev`` is exact: scipy may ask for up to ``d`` evaluations past its own
  check (a shrink); those calls are refused and the best point so far is returned.
- **Result.** The best point evaluated. SG++ returns the best vertex at the start of the last
  iteration and can miss the final improvement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import Bounds, minimize

from core.optimizers._common import (
    MAXFEV_RULE,
    BudgetExhausted,
    CountedFunction,
    Rule,
    apply_rules,
    check_fun,
    check_x0,
    for_library,
    integer,
    make_result,
    number,
    positive,
)
from core.result import OptimizeResult

__all__ = ["NELDER_MEAD_OPTIONS", "minimize_nelder_mead", "start_simplex"]

Fun = Callable[[np.ndarray], Any]

#: Option rules of :func:`minimize_nelder_mead` (name -> check).
NELDER_MEAD_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "maxiter": integer("maxiter", low=0, optional=True),
    "initial_edge": number("initial_edge", low=0.0, high=0.5, high_open=False),
    "xatol": positive("xatol"),
    "fatol": positive("fatol"),
}


def start_simplex(x0: np.ndarray, edge: float = 0.4) -> np.ndarray:
    """SG++'s axis-aligned start simplex, kept inside the cube.

    Parameters
    ----------
    x0 : ndarray, shape (d,)
        First vertex, in [0, 1]^d.
    edge : float
        Edge length, at most 0.5 so that one of ``x0_t +/- edge`` lies in [0, 1].

    Returns
    -------
    ndarray, shape (d + 1, d)
        ``x0`` followed by ``x0 + edge e_t`` (or ``x0 - edge e_t`` when ``x0_t + edge > 1``).
    """
    d = x0.shape[0]
    simplex = np.tile(x0, (d + 1, 1))
    for t in range(d):
        simplex[t + 1, t] = x0[t] + edge if x0[t] + edge <= 1.0 else x0[t] - edge
    return simplex


def minimize_nelder_mead(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    maxiter: int | None = None,
    initial_edge: float = 0.4,
    xatol: float = 1e-8,
    fatol: float = 1e-12,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d with the Nelder-Mead simplex method.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d (a vertex of the start simplex).
    jac, hess, seed : optional
        Ignored (derivative-free and deterministic).
    maxfev : int
        Maximal number of calls of ``fun`` (SG++ default 1000).
    maxiter : int, optional
        Maximal number of simplex iterations (default: unlimited; the budget decides).
    initial_edge : float
        Edge length of the start simplex, in (0, 0.5] (SG++ default 0.4).
    xatol, fatol : float
        scipy's convergence tolerances on the simplex size and the spread of its values.

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts simplex iterations.
    """
    check_fun(fun)
    x = check_x0(x0)
    o = apply_rules(
        NELDER_MEAD_OPTIONS,
        {"maxfev": maxfev, "maxiter": maxiter, "initial_edge": initial_edge, "xatol": xatol,
         "fatol": fatol},
    )
    counted = CountedFunction(fun, o["maxfev"])
    options: dict[str, Any] = {
        "initial_simplex": start_simplex(x, o["initial_edge"]),
        "maxfev": counted.maxfev,
        "maxiter": math.inf if o["maxiter"] is None else o["maxiter"],
        "xatol": o["xatol"],
        "fatol": o["fatol"],
        "adaptive": False,
    }
    d = x.shape[0]
    nit = 0

    def count_iteration(intermediate_result: Any) -> None:
        nonlocal nit
        nit += 1

    try:
        res = minimize(
            lambda u: for_library(counted(u)),
            x,
            method="Nelder-Mead",
            bounds=Bounds(np.zeros(d), np.ones(d)),
            callback=count_iteration,
            options=options,
        )
    except BudgetExhausted:
        return make_result(counted, nit=nit, success=False, reason="maxfev")
    if res.success:
        return make_result(counted, nit=nit, success=True, reason="simplex")
    reason = "maxfev" if counted.nfev >= counted.maxfev else "maxiter"
    return make_result(counted, nit=nit, success=False, reason=reason)
