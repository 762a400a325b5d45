"""Minimizers of a cheap function (the sparse-grid surrogate) on the unit cube [0, 1]^d.

Every method has the signature

``minimize_<name>(fun, x0, *, jac=None, hess=None, seed=None, maxfev=..., **options)``

with ``fun(x) -> float``, ``jac(x) -> (d,)`` and ``hess(x) -> (d, d)`` for ``x`` of shape
``(d,)``, and returns a :class:`core.result.OptimizeResult`. Common guarantees:

- ``nfev`` is the exact number of calls of ``fun`` and never exceeds ``maxfev``;
- ``fun`` is only called inside [0, 1]^d, and ``x`` lies in [0, 1]^d;
- ``x`` is the best point evaluated and ``fun`` the value ``fun`` returned there;
- NaN values count as +inf (as do points outside the surrogate's support), nothing crashes;
- gradients so large that their norms or products overflow (a surrogate of values near
  1e300) give inf in the methods' own arithmetic, without a ``RuntimeWarning``;
- all randomness comes from ``seed`` (:func:`core._validation.as_generator`): the same seed
  gives bit-identical results;
- methods that do not use ``jac``/``hess``/``seed`` accept and ignore them, so callers can pass
  them uniformly. Methods in :data:`GRADIENT_BASED` raise ``ValueError`` without ``jac``,
  those in :data:`NEEDS_HESSIAN` without ``hess``.

The methods follow SG++ 3.3's optimizers (ALGORITHMS.md section 4); each module docstring lists
where and why it differs (decision 10).

Examples
--------
>>> import numpy as np
>>> from core.optimizers import minimize
>>> f = lambda x: float(np.sum((x - 0.25) ** 2))
>>> res = minimize(f, [0.5, 0.5], method="gradient_descent", jac=lambda x: 2 * (x - 0.25))
>>> bool(np.allclose(res.x, 0.25, atol=1e-6)), res.success
(True, True)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from core.optimizers.cmaes import minimize_cmaes
from core.optimizers.differential_evolution import minimize_differential_evolution
from core.optimizers.gradient import minimize_gradient_descent, minimize_nlcg
from core.optimizers.line_search import armijo
from core.optimizers.multistart import LOCAL_METHODS, minimize_multistart, multistart
from core.optimizers.nelder_mead import minimize_nelder_mead
from core.optimizers.newton import minimize_newton
from core.optimizers.rprop import minimize_rprop
from core.result import OptimizeResult

__all__ = [
    "GRADIENT_BASED",
    "NEEDS_HESSIAN",
    "OPTIMIZERS",
    "armijo",
    "check_options",
    "get_optimizer",
    "minimize",
    "minimize_cmaes",
    "minimize_differential_evolution",
    "minimize_gradient_descent",
    "minimize_multistart",
    "minimize_nelder_mead",
    "minimize_newton",
    "minimize_nlcg",
    "minimize_rprop",
    "multistart",
]

#: Registry name -> method. "multistart" wraps one of the others (default Nelder-Mead).
OPTIMIZERS: dict[str, Callable[..., OptimizeResult]] = {
    **LOCAL_METHODS,
    "multistart": minimize_multistart,
}

#: Methods that need ``jac``.
GRADIENT_BASED: frozenset[str] = frozenset({"gradient_descent", "nlcg", "newton", "rprop"})

#: Methods that need ``hess`` (and ``jac``).
NEEDS_HESSIAN: frozenset[str] = frozenset({"newton"})


def get_optimizer(name: str) -> Callable[..., OptimizeResult]:
    """Return the method registered as ``name``; unknown names raise ``ValueError``."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}"
        ) from None


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check that ``options`` are keyword options of optimizer ``name``; return them.

    An unknown option name raises ``TypeError`` naming it and listing the valid ones, so a typo
    fails when a strategy is built, not after its grid evaluations were spent. For
    ``"multistart"`` the options of its ``local_method`` (default Nelder-Mead) are valid too.
    Values are checked by the optimizer itself.
    """
    method = get_optimizer(name)
    common = {"jac", "hess", "seed"}

    def keywords(f: Callable[..., Any]) -> list[str]:
        params = inspect.signature(f).parameters.values()
        return [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in common]

    valid = keywords(method)
    if name == "multistart":
        inner = options.get("local_method", "nelder_mead")
        inner_fun = LOCAL_METHODS.get(inner) if isinstance(inner, str) else inner
        if not callable(inner_fun):
            raise ValueError(
                f"the local method of multistart must be one of {sorted(LOCAL_METHODS)} or a "
                f"callable, got local_method={inner!r}"
            )
        try:
            extra = keywords(inner_fun)
        except (TypeError, ValueError):  # a callable without a signature: accept anything
            return dict(options)
        valid += [k for k in extra if k not in valid]
    unknown = [k for k in options if k not in valid]
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for optimizer {name!r}; "
            f"valid options: {', '.join(valid)}"
        )
    return dict(options)


def minimize(
    fun: Callable[..., Any],
    x0: Any,
    *,
    method: str,
    jac: Callable[..., Any] | None = None,
    hess: Callable[..., Any] | None = None,
    seed: Any = None,
    **options: Any,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d with the method registered as ``method``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` for ``x`` of shape ``(d,)``.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d.
    method : str
        A key of :data:`OPTIMIZERS`.
    jac, hess : callable, optional
        Gradient ``(d,) -> (d,)`` and Hessian ``(d,) -> (d, d)``; see :data:`GRADIENT_BASED`
        and :data:`NEEDS_HESSIAN`.
    seed : None, int, SeedSequence or Generator
        Randomness for the stochastic methods.
    **options
        Method options, e.g. ``maxfev``.

    Returns
    -------
    OptimizeResult
    """
    return get_optimizer(method)(fun, x0, jac=jac, hess=hess, seed=seed, **options)
