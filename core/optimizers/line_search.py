"""Armijo backtracking line search inside the unit cube (SG++ ``LineSearchArmijo.hpp``).

Differences from SG++
---------------------
- When the sufficient-decrease test passes but the relative improvement is below ``tol``, SG++
  discards the new point and its caller stops. Here the caller stops as well, but the point was
  evaluated, so the optimizers (which return the best point evaluated) may still return it.
- Values are compared as Python floats; +inf (outside the surrogate's support, or a NaN turned
  into +inf) never passes the test, and ``inf - inf`` is simply not an improvement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from core.optimizers._common import (
    BudgetExhausted,
    CountedFunction,
    Rule,
    apply_rules,
    binding,
    gradient_of,
    positive,
)

__all__ = [
    "CONVERGED",
    "LINE_SEARCH_OPTIONS",
    "LineSearchResult",
    "armijo",
    "descend",
    "line_search_options",
]

#: Rules of the Armijo constants, shared by gradient descent, NLCG and Newton.
LINE_SEARCH_OPTIONS: dict[str, Rule] = {
    "beta": positive("beta", below_one=True),
    "gamma": positive("gamma", below_one=True),
    "tol": positive("tol"),
    "eps": positive("eps"),
}

#: Stop reasons of :func:`descend` that count as convergence.
CONVERGED = frozenset({"gtol", "small_improvement", "line_search"})


class LineSearchResult(NamedTuple):
    """Outcome of :func:`armijo`.

    Attributes
    ----------
    status : str
        ``"ok"`` (accept ``y`` and go on), ``"small_improvement"`` (sufficient decrease, but the
        relative improvement is below ``tol``: stop) or ``"line_search"`` (no trial step passed).
    y : ndarray, shape (d,) or None
        The accepted point (``None`` for ``"line_search"``).
    fy : float
        Value at ``y`` (+inf for ``"line_search"``).
    """

    status: str
    y: np.ndarray | None
    fy: float


def armijo(
    fun: CountedFunction,
    x: np.ndarray,
    fx: float,
    grad: np.ndarray,
    s: np.ndarray,
    *,
    beta: float = 0.5,
    gamma: float = 1e-2,
    tol: float = 1e-8,
    eps: float = 1e-18,
    max_trials: int = 100,
) -> LineSearchResult:
    """Backtrack along ``s`` from ``x`` until Armijo's sufficient-decrease rule holds.

    Parameters
    ----------
    fun : CountedFunction
        The counted objective (each trial inside the cube costs one call).
    x : ndarray, shape (d,)
        Current point in [0, 1]^d.
    fx : float
        ``fun(x)``.
    grad : ndarray, shape (d,)
        Gradient at ``x`` (binding components already zeroed by the caller).
    s : ndarray, shape (d,)
        Unit search direction.
    beta, gamma, tol, eps : float
        Step reduction factor, Armijo constant, relative-improvement tolerance and its guard.
    max_trials : int
        Number of step sizes tried: ``sigma = 1, beta, beta**2, ...``.

    Returns
    -------
    LineSearchResult

    Notes
    -----
    Trial ``y = x + sigma * s`` is evaluated only when it lies in [0, 1]^d and accepted when

    .. math:: f(x) - f(y) \\ge \\gamma \\sigma (-\\nabla f(x) \\cdot s).

    The search then reports ``"ok"`` if
    :math:`|f(x) - f(y)| \\ge tol (|f(x)| + |f(y)| + eps)` and ``"small_improvement"`` otherwise.
    """
    ip = float(np.dot(grad, s))
    sigma = 1.0
    for _ in range(max_trials):
        y = x + sigma * s
        if bool(np.all((y >= 0.0) & (y <= 1.0))):
            fy = fun(y)
            improvement = fx - fy
            if improvement >= gamma * sigma * (-ip):
                relative_ok = abs(improvement) >= tol * (abs(fx) + abs(fy) + eps)
                return LineSearchResult("ok" if relative_ok else "small_improvement", y, fy)
        sigma *= beta
    return LineSearchResult("line_search", None, np.inf)


def line_search_options(beta: Any, gamma: Any, tol: Any, eps: Any) -> dict[str, float]:
    """Check the Armijo constants of :func:`armijo`; return them as keyword options."""
    return apply_rules(
        LINE_SEARCH_OPTIONS, {"beta": beta, "gamma": gamma, "tol": tol, "eps": eps}
    )


@np.errstate(over="ignore")  # huge gradients overflow to inf: handled, not warned
def descend(
    counted: CountedFunction,
    x: np.ndarray,
    jac: Callable[[np.ndarray], Any],
    direction: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    *,
    maxiter: int,
    ls: dict[str, float],
) -> tuple[int, str]:
    """Projected descent with Armijo steps, the loop of gradient descent and Newton's method.

    Each iteration takes the gradient ``g`` at ``x`` (non-finite: stop, ``"bad_gradient"``),
    zeroes its components that are binding for ``-g`` (at a bound and pointing out of the
    cube), stops with ``"gtol"`` once ``|g| < ls["tol"]``, asks ``direction(x, g, fixed)`` for
    a unit search direction, shape ``(d,)``, and searches along it with :func:`armijo`.

    Parameters
    ----------
    counted : CountedFunction
        The counted objective; ``counted(x)`` is evaluated first.
    x : ndarray, shape (d,)
        Start point in [0, 1]^d.
    jac : callable
        ``jac(x) -> (d,)``.
    direction : callable
        ``direction(x, g, fixed) -> s``; ``g`` (projected) and the mask ``fixed`` have shape
        ``(d,)``.
    maxiter : int
        Maximal number of line searches.
    ls : dict
        From :func:`line_search_options`.

    Returns
    -------
    nit : int
        Number of line searches.
    reason : str
        ``"maxiter"``, ``"maxfev"``, ``"bad_gradient"``, ``"gtol"`` or a non-``"ok"`` status of
        :func:`armijo`; those in :data:`CONVERGED` count as success.
    """
    nit = 0
    reason = "maxiter"
    try:
        fx = counted(x)
        while nit < maxiter:
            g = gradient_of(jac, x)
            if not np.all(np.isfinite(g)):
                reason = "bad_gradient"
                break
            fixed = binding(x, -g)
            g[fixed] = 0.0
            if float(np.linalg.norm(g)) < ls["tol"]:
                reason = "gtol"
                break
            s = direction(x, g, fixed)
            nit += 1
            step = armijo(counted, x, fx, g, s, **ls)
            if step.status != "ok":
                reason = step.status
                break
            x, fx = step.y, step.fy
    except BudgetExhausted:
        reason = "maxfev"
    return nit, reason
