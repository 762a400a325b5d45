"""Projected gradient descent and nonlinear conjugate gradients on [0, 1]^d (after SG++).

Both follow SG++'s ``GradientDescent`` and ``NLCG``: normalised search directions, components
that are *binding* (the point is within 1e-6 of a bound and the direction points outward) are
zeroed in the direction and the gradient, and an Armijo backtracking line search
(:func:`core.optimizers.line_search.armijo`) that only evaluates inside the cube.

Differences from SG++
---------------------
- Budget: SG++ counts gradient evaluations and line-search evaluations together in one counter
  ``k < N``. Here ``maxfev`` bounds the calls of ``fun`` exactly and ``maxiter`` bounds the
  iterations (one ``jac`` call each). ``fun`` is not re-evaluated together with the gradient:
  the value at the new point is known from the line search.
- Result: the best point evaluated and its value. SG++ gradient descent can return a stale
  ``fOpt`` (the previous iterate's value) when the budget ends right after a step; here
  ``fun`` is always the value at ``x``.
- The stop test uses the norm of the *projected* gradient (SG++ gradient descent tests the
  unprojected norm first; SG++ NLCG tests the projected norm of the previous step).
- NLCG: if the conjugate direction is zero or not a descent direction (``s . grad >= 0``),
  the method restarts with steepest descent. SG++ has no such guard (its line search then
  accepts any non-increase, or divides by a zero norm).
- A non-finite gradient stops the method with ``success=False`` instead of propagating NaN.
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
    binding,
    check_fun,
    check_x0,
    gradient_of,
    integer,
    make_result,
    positive,
    require,
)
from core.optimizers.line_search import CONVERGED, LINE_SEARCH_OPTIONS, armijo, descend
from core.result import OptimizeResult

__all__ = [
    "GRADIENT_DESCENT_OPTIONS",
    "NLCG_OPTIONS",
    "minimize_gradient_descent",
    "minimize_nlcg",
]

Fun = Callable[[np.ndarray], Any]

#: Option rules of :func:`minimize_gradient_descent` (name -> check).
GRADIENT_DESCENT_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "maxiter": integer("maxiter", low=0),
    **LINE_SEARCH_OPTIONS,
}

#: Option rules of :func:`minimize_nlcg`.
NLCG_OPTIONS: dict[str, Rule] = {
    **GRADIENT_DESCENT_OPTIONS,
    "restart_threshold": positive("restart_threshold"),
}

def minimize_gradient_descent(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 2000,
    maxiter: int = 2000,
    beta: float = 0.5,
    gamma: float = 1e-2,
    tol: float = 1e-8,
    eps: float = 1e-18,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d by projected steepest descent with Armijo steps.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d.
    jac : callable
        ``jac(x) -> ndarray, shape (d,)``, the gradient of ``fun``. Required.
    hess : callable, optional
        Ignored (accepted so that callers can pass derivatives uniformly).
    seed : optional
        Ignored (the method is deterministic).
    maxfev : int
        Maximal number of calls of ``fun`` (SG++ default 2000).
    maxiter : int
        Maximal number of iterations, i.e. calls of ``jac`` (default 2000).
    beta, gamma, tol, eps : float
        Armijo step factor, Armijo constant, tolerance (gradient norm and relative
        improvement) and its guard. SG++ defaults.

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts line searches.
    """
    require(jac, "jac", "gradient_descent")
    check_fun(fun)
    x = check_x0(x0)
    o = apply_rules(
        GRADIENT_DESCENT_OPTIONS,
        {"maxfev": maxfev, "maxiter": maxiter, "beta": beta, "gamma": gamma, "tol": tol,
         "eps": eps},
    )
    counted = CountedFunction(fun, o.pop("maxfev"))
    maxiter = o.pop("maxiter")
    ls = o

    def steepest(x: np.ndarray, g: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        return -g / float(np.linalg.norm(g))

    nit, reason = descend(counted, x, jac, steepest, maxiter=maxiter, ls=ls)
    return make_result(counted, nit=nit, success=reason in CONVERGED, reason=reason)


@np.errstate(over="ignore")  # huge gradients overflow to inf: handled, not warned
def minimize_nlcg(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    maxiter: int = 1000,
    beta: float = 0.5,
    gamma: float = 1e-2,
    tol: float = 1e-8,
    eps: float = 1e-18,
    restart_threshold: float = 0.1,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d by nonlinear conjugate gradients (Polak-Ribiere).

    Parameters
    ----------
    fun, x0, jac, hess, seed, maxfev, maxiter, beta, gamma, tol, eps
        As in :func:`minimize_gradient_descent` (``maxfev`` and ``maxiter`` default to 1000,
        SG++'s ``N``).
    restart_threshold : float
        Powell's restart test: the Polak-Ribiere coefficient is used only if
        ``|g_new . g_old| / |g_new|^2 < restart_threshold``; otherwise the method restarts
        with steepest descent (SG++ default 0.1).

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts line searches.

    Notes
    -----
    With projected gradients :math:`g_k` (binding components zeroed) the direction update is

    .. math:: s_{k+1} = \\beta_k s_k - g_{k+1}, \\qquad
              \\beta_k = \\frac{g_{k+1} \\cdot (g_{k+1} - g_k)}{\\|g_k\\|^2}

    with no ``max(0, .)``, as in SG++.
    """
    require(jac, "jac", "nlcg")
    check_fun(fun)
    x = check_x0(x0)
    o = apply_rules(
        NLCG_OPTIONS,
        {"maxfev": maxfev, "maxiter": maxiter, "beta": beta, "gamma": gamma, "tol": tol,
         "eps": eps, "restart_threshold": restart_threshold},
    )
    counted = CountedFunction(fun, o.pop("maxfev"))
    maxiter = o.pop("maxiter")
    alpha = o.pop("restart_threshold")
    ls = o
    nit = 0
    reason = "maxiter"
    try:
        fx = counted(x)
        g = gradient_of(jac, x)
        s = -g
        while nit < maxiter:
            if not np.all(np.isfinite(g)):
                reason = "bad_gradient"
                break
            fixed = binding(x, s)
            s[fixed] = 0.0
            g[fixed] = 0.0
            g_norm = float(np.linalg.norm(g))
            if g_norm < ls["tol"]:
                reason = "gtol"
                break
            if not float(np.dot(s, g)) < 0.0:  # zero or not a descent direction: restart
                s = -g
            s_unit = s / float(np.linalg.norm(s))
            nit += 1
            step = armijo(counted, x, fx, g, s_unit, **ls)
            if step.status != "ok":
                reason = step.status
                break
            y, fy = step.y, step.fy
            g_new = gradient_of(jac, y)
            if not np.all(np.isfinite(g_new)):
                x, fx = y, fy
                reason = "bad_gradient"
                break
            g_new[binding(y, -g_new)] = 0.0
            g_new_sq = float(np.dot(g_new, g_new))
            coefficient = 0.0
            if g_new_sq > 0.0 and abs(float(np.dot(g_new, g))) / g_new_sq < alpha:
                coefficient = float(np.dot(g_new, g_new - g)) / (g_norm * g_norm)
            s = coefficient * s - g_new
            x, fx, g = y, fy, g_new
    except BudgetExhausted:
        reason = "maxfev"
    return make_result(counted, nit=nit, success=reason in CONVERGED, reason=reason)
