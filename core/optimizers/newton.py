"""Newton's method with a steepest-descent safeguard on [0, 1]^d (SG++ ``Newton``).

Each iteration projects out the binding components (gradient entries zeroed; the matching
Hessian rows and columns zeroed with a 1 on the diagonal), solves ``H d = -g``, accepts the
Newton direction if it is a sufficiently good descent direction,

.. math:: -g \\cdot d \\ge \\min(\\alpha_1, \\alpha_2 \\|d\\|^p) \\|d\\|^2,

and otherwise falls back to steepest descent; both are normalised and followed by the Armijo
line search of :mod:`core.optimizers.line_search`.

Differences from SG++
---------------------
- Linear solver: LAPACK (``numpy.linalg.solve``, LU with partial pivoting) instead of SG++'s
  Gaussian elimination. A singular or non-finite system, or a non-finite Hessian, counts as a
  failed solve and selects steepest descent, as a failed solve does in SG++.
- Budget and result as in :mod:`core.optimizers.gradient`: ``maxfev`` bounds the calls of
  ``fun`` (the value at a new point comes from the line search; SG++ re-evaluates it with the
  Hessian), ``maxiter`` bounds the ``jac``/``hess`` calls, and the best point evaluated is
  returned with its exact value.
- The stop test uses the norm of the projected gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.optimizers._common import (
    MAXFEV_RULE,
    CountedFunction,
    Rule,
    apply_rules,
    check_fun,
    check_x0,
    hessian_of,
    integer,
    make_result,
    positive,
    require,
)
from core.optimizers.line_search import CONVERGED, LINE_SEARCH_OPTIONS, descend
from core.result import OptimizeResult

__all__ = ["NEWTON_OPTIONS", "minimize_newton", "newton_direction"]

Fun = Callable[[np.ndarray], Any]

#: Option rules of :func:`minimize_newton` (name -> check).
NEWTON_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "maxiter": integer("maxiter", low=0),
    **LINE_SEARCH_OPTIONS,
    "alpha1": positive("alpha1"),
    "alpha2": positive("alpha2"),
    "p": positive("p"),
}

@np.errstate(over="ignore")  # huge gradients overflow to inf: handled, not warned
def newton_direction(
    g: np.ndarray, H: np.ndarray, *, alpha1: float = 1e-6, alpha2: float = 1e-6, p: float = 0.1
) -> tuple[np.ndarray, bool]:
    """Unit search direction from a projected gradient and Hessian.

    Parameters
    ----------
    g : ndarray, shape (d,)
        Projected gradient (nonzero).
    H : ndarray, shape (d, d)
        Projected Hessian.
    alpha1, alpha2, p : float
        Constants of the acceptance test (SG++ defaults).

    Returns
    -------
    s : ndarray, shape (d,)
        Unit direction: the normalised Newton step, or ``-g / |g|``.
    is_newton : bool
        Whether the Newton step was accepted.
    """
    rhs = -g
    if np.all(np.isfinite(H)):
        try:
            d = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:
            d = None
        if d is not None and np.all(np.isfinite(d)):
            d_norm = float(np.linalg.norm(d))
            if (
                d_norm > 0.0
                and float(np.dot(rhs, d)) >= min(alpha1, alpha2 * d_norm**p) * d_norm * d_norm
            ):
                return d / d_norm, True
    return rhs / float(np.linalg.norm(rhs)), False


def minimize_newton(
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
    alpha1: float = 1e-6,
    alpha2: float = 1e-6,
    p: float = 0.1,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d by a safeguarded, projected Newton method.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d.
    jac : callable
        ``jac(x) -> ndarray, shape (d,)``. Required.
    hess : callable
        ``hess(x) -> ndarray, shape (d, d)``. Required.
    seed : optional
        Ignored (deterministic).
    maxfev, maxiter : int
        Budget of ``fun`` calls and of iterations (SG++ ``N`` = 1000).
    beta, gamma, tol, eps : float
        Armijo line-search constants (SG++ defaults).
    alpha1, alpha2, p : float
        Newton-direction acceptance constants (SG++ defaults).

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts line searches.
    """
    require(jac, "jac", "newton")
    require(hess, "hess", "newton")
    check_fun(fun)
    x = check_x0(x0)
    o = apply_rules(
        NEWTON_OPTIONS,
        {"maxfev": maxfev, "maxiter": maxiter, "beta": beta, "gamma": gamma, "tol": tol,
         "eps": eps, "alpha1": alpha1, "alpha2": alpha2, "p": p},
    )
    counted = CountedFunction(fun, o.pop("maxfev"))
    maxiter = o.pop("maxiter")
    constants = {k: o.pop(k) for k in ("alpha1", "alpha2", "p")}
    ls = o

    def newton(x: np.ndarray, g: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        H = hessian_of(hess, x)
        H[fixed, :] = 0.0
        H[:, fixed] = 0.0
        H[fixed, fixed] = 1.0
        return newton_direction(g, H, **constants)[0]

    nit, reason = descend(counted, x, jac, newton, maxiter=maxiter, ls=ls)
    return make_result(counted, nit=nit, success=reason in CONVERGED, reason=reason)
