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
- ``result.path``, shape ``(k, d)``, is the best-so-far trajectory: the first point evaluated,
  then every point that improved on all earlier ones (the last row is ``x``; for multi-start
  over all its runs). Drawn on the surrogate it shows how the methods search;
- every option is checked by one rule per option (type and range), which
  :func:`check_options` applies without running anything, so a caller can reject bad options
  before spending evaluations;
- methods that do not use ``jac``/``hess``/``seed`` accept and ignore them, so callers can pass
  them uniformly. Methods in :data:`GRADIENT_BASED` raise ``ValueError`` without ``jac``,
  those in :data:`NEEDS_HESSIAN` without ``hess``.

The methods follow SG++ 3.3's optimizers (``docs/algorithms.md``, "Surrogate optimizers"); each
module docstring lists where and why it differs (``docs/decisions.md``, "Optimizers without
SG++'s quirks").

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

from collections.abc import Callable
from typing import Any

from core.optimizers._common import Rule, apply_rules
from core.optimizers.cmaes import minimize_cmaes
from core.optimizers.differential_evolution import minimize_differential_evolution
from core.optimizers.gradient import minimize_gradient_descent, minimize_nlcg
from core.optimizers.line_search import armijo
from core.optimizers.multistart import (
    LOCAL_METHODS,
    LOCAL_OPTIONS,
    MULTISTART_OPTIONS,
    check_local_method,
    minimize_multistart,
    multistart,
)
from core.optimizers.nelder_mead import minimize_nelder_mead
from core.optimizers.newton import minimize_newton
from core.optimizers.rprop import minimize_rprop
from core.result import OptimizeResult

__all__ = [
    "GRADIENT_BASED",
    "NEEDS_HESSIAN",
    "OPTIMIZERS",
    "TITLES",
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
    "option_rules",
]

#: Registry name -> method. "multistart" wraps one of the others (default Nelder-Mead).
OPTIMIZERS: dict[str, Callable[..., OptimizeResult]] = {
    **LOCAL_METHODS,
    "multistart": minimize_multistart,
}

#: Menu titles of the registered methods (one per key of :data:`OPTIMIZERS`).
TITLES: dict[str, str] = {
    "nelder_mead": "Nelder-Mead",
    "differential_evolution": "Differential evolution",
    "cmaes": "CMA-ES",
    "gradient_descent": "Gradient descent",
    "nlcg": "Nonlinear CG",
    "newton": "Newton",
    "rprop": "Rprop",
    "multistart": "Multi-start",
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


def option_rules(method: str, local_method: Any = "nelder_mead") -> dict[str, Rule] | None:
    """The option rules (option name -> check) of optimizer ``method``.

    For ``"multistart"`` these are its own options plus those of ``local_method`` except
    ``maxfev`` (multi-start splits its own budget). ``None`` for a custom callable local method,
    whose options cannot be known.
    """
    get_optimizer(method)
    if method != "multistart":
        return dict(LOCAL_OPTIONS[method])
    check_local_method(local_method)
    if callable(local_method):
        return None
    inner = {k: v for k, v in LOCAL_OPTIONS[local_method].items() if k != "maxfev"}
    return {**MULTISTART_OPTIONS, **inner}


def check_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate every option of optimizer ``method`` without evaluating anything.

    Each value is checked by the same rule the optimizer applies when it runs (type and range),
    so a strategy can call this in its constructor and fail before its first evaluation.

    Parameters
    ----------
    method : str
        A key of :data:`OPTIMIZERS`.
    options : dict
        Keyword options for the method (not ``jac``, ``hess`` or ``seed``, which the caller
        passes). For ``"multistart"`` the options of its ``local_method`` (default Nelder-Mead)
        are valid too; with a custom callable local method only multi-start's own options are
        checked.

    Returns
    -------
    dict
        The options, normalized (e.g. ints as ``int``, numbers as ``float``).

    Raises
    ------
    ValueError
        Unknown ``method``; a value out of range, naming the option, the rule and the value
        (``optimizer 'nelder_mead': `xatol` must be a number in (0, inf), got xatol=-1``).
    TypeError
        ``options`` not a dict; an unknown option name (listing the valid ones); a value of the
        wrong type.
    """
    get_optimizer(method)
    if not isinstance(options, dict):
        raise TypeError(f"optimizer options must be a dict, got {options!r}")
    rules = option_rules(method, options.get("local_method", "nelder_mead"))
    if rules is None:  # custom local method: check multi-start's own options only
        own = {k: v for k, v in options.items() if k in MULTISTART_OPTIONS}
        return {**options, **_apply(method, MULTISTART_OPTIONS, own)}
    unknown = [k for k in options if k not in rules]
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for optimizer {method!r}; "
            f"valid options: {', '.join(rules)}"
        )
    return _apply(method, rules, options)


def _apply(method: str, rules: dict[str, Rule], options: dict[str, Any]) -> dict[str, Any]:
    try:
        return apply_rules(rules, options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"optimizer {method!r}: {error}") from None


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
