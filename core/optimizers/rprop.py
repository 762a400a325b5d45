"""Rprop (resilient propagation) on [0, 1]^d, after SG++'s ``Rprop``.

Each coordinate has its own step size ``alpha_t`` and moves by ``-alpha_t * sign(g_t)``. With
``q_t = g_t * g_old_t``: if ``q_t > 0`` the step grows (``*= 1.2``) and ``g_old_t = g_t``; if
``q_t < 0`` it shrinks (``*= 0.5``) and ``g_old_t = 0`` (so the next iteration takes the
neutral branch); otherwise ``g_old_t = g_t``. Every coordinate then steps with its current
``alpha_t`` (after a sign change too, as in SG++). A step that would leave [0, 1] is clamped to
the bound and ``alpha_t`` becomes the distance actually moved. The method stops when the iterate
moved less than ``tol`` (Euclidean) in 10 consecutive iterations.

Differences from SG++
---------------------
- **One step per iteration.** SG++ moves a coordinate twice in the ``q_t > 0`` branch (an extra
  ``x_t -= alpha_t sign(g_t)`` before the regular step), i.e. it doubles the grown step without
  a box check on the first half. We take the single step of textbook Rprop (Riedmiller and
  Braun 1993); the step size still grows by 1.2 per agreeing iteration.
- **No frozen coordinates.** When a step is clamped at a bound, ``alpha_t`` becomes the
  distance moved only if that distance is positive; otherwise (the coordinate already sits on
  the bound) it keeps its value from the start of the iteration. SG++ sets ``alpha_t = 0``
  there, after which the coordinate can never move again, even when the gradient later
  points back into the cube.
- **fun is evaluated at every iterate** (one call per iteration) and the best iterate is
  returned with its exact value. SG++ evaluates ``f`` with each gradient too but returns the
  last iterate (re-evaluated). Rprop is not monotone, so the best iterate can be better.
- ``maxfev`` bounds the calls of ``fun`` and ``maxiter`` the iterations (SG++: ``N`` = 1000
  iterations). A non-finite gradient stops the method with ``success=False``.

References
----------
M. Riedmiller and H. Braun, "A direct adaptive method for faster backpropagation learning:
the RPROP algorithm", IEEE ICNN 1993.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.optimizers._common import (
    MAXFEV_RULE,
    BudgetExhausted,
    CountedFunction,
    Rule,
    apply_rules,
    check_fun,
    check_x0,
    gradient_of,
    integer,
    make_result,
    number,
    positive,
    require,
)
from core.result import OptimizeResult

__all__ = ["RPROP_OPTIONS", "minimize_rprop"]

Fun = Callable[[np.ndarray], Any]

#: Option rules of :func:`minimize_rprop` (name -> check).
RPROP_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "maxiter": integer("maxiter", low=0),
    "tol": positive("tol"),
    "initial_step": positive("initial_step"),
    "increase": number("increase", low=1.0),
    "decrease": positive("decrease", below_one=True),
}

_STALL_ITERATIONS = 10


@np.errstate(over="ignore")  # huge gradients overflow to inf: handled, not warned
def minimize_rprop(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    maxiter: int = 1000,
    tol: float = 1e-6,
    initial_step: float = 0.01,
    increase: float = 1.2,
    decrease: float = 0.5,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d with sign-based, per-coordinate adaptive steps.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d.
    jac : callable
        ``jac(x) -> ndarray, shape (d,)``. Required.
    hess, seed : optional
        Ignored.
    maxfev : int
        Maximal number of calls of ``fun`` (one per iterate, default 1000).
    maxiter : int
        Maximal number of iterations (SG++ default 1000).
    tol : float
        Stall tolerance on the step length (SG++ default 1e-6).
    initial_step, increase, decrease : float
        Initial per-coordinate step and its growth and shrink factors (SG++ defaults).

    Returns
    -------
    OptimizeResult
        Best iterate; ``nit`` counts iterations.
    """
    require(jac, "jac", "rprop")
    check_fun(fun)
    x = check_x0(x0)
    d = x.shape[0]
    o = apply_rules(
        RPROP_OPTIONS,
        {"maxfev": maxfev, "maxiter": maxiter, "tol": tol, "initial_step": initial_step,
         "increase": increase, "decrease": decrease},
    )
    counted = CountedFunction(fun, o["maxfev"])
    maxiter, tol = o["maxiter"], o["tol"]
    initial_step, increase, decrease = o["initial_step"], o["increase"], o["decrease"]

    alpha = np.full(d, initial_step)
    g_old = np.zeros(d)
    nit = 0
    stalled = 0
    reason = "maxiter"
    try:
        counted(x)
        while nit < maxiter:
            g = gradient_of(jac, x)
            if not np.all(np.isfinite(g)):
                reason = "bad_gradient"
                break
            nit += 1
            alpha_start = alpha.copy()
            q = g * g_old
            grow, shrink = q > 0.0, q < 0.0
            alpha[grow] *= increase
            alpha[shrink] *= decrease
            g_old = np.where(shrink, 0.0, g)
            x_new = x - alpha * np.sign(g)
            below, above = x_new < 0.0, x_new > 1.0
            x_new[below] = 0.0
            x_new[above] = 1.0
            clamped = below | above
            distance = np.abs(x_new - x)
            alpha[clamped] = np.where(
                distance[clamped] > 0.0, distance[clamped], alpha_start[clamped]
            )
            moved = float(np.linalg.norm(x_new - x))
            x = x_new
            counted(x)
            stalled = stalled + 1 if moved < tol else 0
            if stalled >= _STALL_ITERATIONS:
                reason = "stalled"
                break
    except BudgetExhausted:
        reason = "maxfev"
    return make_result(counted, nit=nit, success=reason == "stalled", reason=reason)
