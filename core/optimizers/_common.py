"""Shared machinery of the surrogate optimizers: input checks, counted evaluation, results.

Every optimizer in :mod:`core.optimizers` evaluates ``fun`` only through :class:`CountedFunction`,
which

- counts the calls of ``fun`` exactly (``nfev``) and refuses call ``maxfev + 1`` by raising
  :class:`BudgetExhausted`, so no method can overshoot its budget, whatever a wrapped library
  does internally;
- never passes a point outside [0, 1]^d to ``fun``: such a point scores +inf without a call (the
  methods here never ask for one; this is a safety net);
- turns NaN (and anything that is not a finite number or +/-inf) into +inf, so a failing
  function cannot crash a method or win;
- remembers the best point evaluated (first one on ties). Every method returns that point and
  the value ``fun`` returned there, so ``result.fun == fun(result.x)`` holds without a
  re-evaluation and ``result.x`` always lies in the cube;
- records the best-so-far trajectory (each point that improved on all earlier ones), returned
  as ``result.path`` so that the methods' searches can be drawn and compared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core._validation import check_int, check_unit_cube
from core.result import OptimizeResult

#: Components with ``x_t < BINDING_TOL`` (or ``> 1 - BINDING_TOL``) whose descent direction
#: points out of the cube are "binding" and get frozen (SG++ ``BINDING_TOLERANCE``).
BINDING_TOL = 1e-6

#: Fixed table of stop reasons (scipy's ``_status_message`` idea): key -> message.
MESSAGES: dict[str, str] = {
    "maxfev": "Maximum number of function evaluations reached.",
    "maxiter": "Maximum number of iterations reached.",
    "gtol": "Norm of the projected gradient is below `tol`.",
    "small_improvement": "Relative improvement of the line search is below `tol`.",
    "line_search": "Armijo line search found no sufficient decrease inside the cube.",
    "bad_gradient": "The gradient is not finite at the current point.",
    "stalled": "Steps shorter than `tol` in 10 consecutive iterations.",
    "simplex": "Simplex converged (`xatol` and `fatol` met).",
    "de_converged": "Population converged (mean stalled and all members close to the best).",
    "cma": "CMA-ES stopped by its own criterion",
    "multistart": "Best of the local runs",
}

#: Values handed to wrapped libraries (scipy, pycma) are clipped to this magnitude so their
#: bookkeeping (means, standard deviations, differences) stays finite; +inf becomes +LARGE.
#: The true values are what the optimizers record and return.
LARGE = 1e150


class BudgetExhausted(Exception):
    """Raised by :class:`CountedFunction` when a call would exceed ``maxfev``."""


class CountedFunction:
    """Evaluate ``fun`` at points of the unit cube with exact counting and best-point tracking.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float`` with ``x`` of shape ``(d,)``; an array with one element is accepted.
    maxfev : int
        Maximal number of calls of ``fun``.

    Attributes
    ----------
    nfev : int
        Calls of ``fun`` so far.
    best_x : ndarray, shape (d,) or None
        Best point evaluated so far (``None`` before the first call).
    best_f : float
        Value at ``best_x`` (+inf before the first call).
    path : list of ndarray, shape (d,)
        Every point that improved ``best_f`` when it was evaluated, in order: the first point
        evaluated, then each new best (the method's best-so-far trajectory).
    """

    def __init__(self, fun: Callable[[np.ndarray], Any], maxfev: int) -> None:
        self.fun = fun
        self.maxfev = maxfev
        self.nfev = 0
        self.best_x: np.ndarray | None = None
        self.best_f = np.inf
        self.path: list[np.ndarray] = []

    @property
    def remaining(self) -> int:
        """Calls of ``fun`` still allowed."""
        return self.maxfev - self.nfev

    def __call__(self, x: np.ndarray) -> float:
        x = np.array(x, dtype=np.float64, copy=True)
        if not bool(np.all((x >= 0.0) & (x <= 1.0))):
            return np.inf
        if self.nfev >= self.maxfev:
            raise BudgetExhausted
        self.nfev += 1
        value = np.asarray(self.fun(x.copy()))
        if value.size != 1:
            raise ValueError(f"`fun` must return a scalar, got an array of shape {value.shape}")
        try:
            f = float(value.reshape(()))
        except (TypeError, ValueError):
            f = np.inf
        if np.isnan(f):
            f = np.inf
        if self.best_x is None or f < self.best_f:
            self.best_x = x
            self.best_f = f
            self.path.append(x)
        return f


def for_library(f: float) -> float:
    """Clip a recorded value to [-LARGE, LARGE] before handing it to scipy or pycma."""
    return float(min(max(f, -LARGE), LARGE))


def check_fun(fun: Any) -> None:
    """Raise ``TypeError`` unless ``fun`` is callable."""
    if not callable(fun):
        raise TypeError(f"`fun` must be callable, got {fun!r}")


def check_x0(x0: Any) -> np.ndarray:
    """Return ``x0`` as a fresh float64 array of shape ``(d,)`` inside [0, 1]^d."""
    x = np.array(x0, dtype=np.float64, copy=True)
    if x.ndim != 1 or x.shape[0] < 1:
        raise ValueError(f"`x0` must have shape (d,) with d >= 1, got shape {np.shape(x0)}")
    check_unit_cube(x[None, :], name="x0")
    return x


def check_maxfev(maxfev: Any) -> int:
    """Validate the evaluation budget (an int >= 1)."""
    return check_int(maxfev, "maxfev", low=1)


def apply_rules(rules: dict[str, Rule], values: dict[str, Any]) -> dict[str, Any]:
    """Check ``values`` (option name -> value) with ``rules``; return the normalized values.

    Names without a rule raise ``TypeError`` listing the valid names.
    """
    unknown = [k for k in values if k not in rules]
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))}; "
            f"valid options: {', '.join(rules)}"
        )
    return {k: rules[k](v) for k, v in values.items()}


#: An option rule: takes the value, returns it normalized, raises naming the option otherwise.
Rule = Callable[[Any], Any]


def check_number(
    value: Any,
    name: str,
    *,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Validate a real-number option (not a string or bool) inside an interval.

    Parameters
    ----------
    value : Any
        The value received.
    name : str
        Option name, used in the message.
    low, high : float
        Interval ends; infinite ends are always open, so the number is finite.
    low_open, high_open : bool
        Whether ``low`` / ``high`` themselves are excluded.

    Returns
    -------
    float
    """
    interval = (
        f"{'(' if low_open or not np.isfinite(low) else '['}{low:g}, "
        f"{high:g}{')' if high_open or not np.isfinite(high) else ']'}"
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"`{name}` must be a number in {interval}, got {name}={value!r}")
    v = float(value)
    below = v <= low if low_open else v < low
    above = v >= high if high_open else v > high
    if not np.isfinite(v) or below or above:
        raise ValueError(f"`{name}` must be a number in {interval}, got {name}={value!r}")
    return v


def check_positive(value: Any, name: str, *, below_one: bool = False) -> float:
    """Validate a positive finite number option (in (0, 1) when ``below_one``)."""
    return check_number(value, name, low=0.0, high=1.0 if below_one else np.inf)


def positive(name: str, *, below_one: bool = False) -> Rule:
    """Rule for :func:`check_positive`."""
    return lambda value: check_positive(value, name, below_one=below_one)


def number(name: str, **interval: Any) -> Rule:
    """Rule for :func:`check_number` with the given interval keywords."""
    return lambda value: check_number(value, name, **interval)


def integer(name: str, *, low: int, optional: bool = False) -> Rule:
    """Rule for an int ``>= low`` (``None`` allowed when ``optional``)."""

    def rule(value: Any) -> int | None:
        if optional and value is None:
            return None
        return check_int(value, name, low=low)

    return rule


def choice(name: str, choices: tuple[str, ...]) -> Rule:
    """Rule for one of a fixed set of strings."""

    def rule(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"`{name}` must be one of {list(choices)}, got {name}={value!r}")
        return value

    return rule


def flag(name: str) -> Rule:
    """Rule for a boolean option."""

    def rule(value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"`{name}` must be True or False, got {name}={value!r}")
        return bool(value)

    return rule


#: Rule of ``maxfev``, the evaluation budget every method takes.
MAXFEV_RULE: dict[str, Rule] = {"maxfev": integer("maxfev", low=1)}


def require(derivative: Any, kind: str, method: str) -> None:
    """Raise ``ValueError`` if a method that needs ``jac``/``hess`` did not get it."""
    if derivative is None:
        what = "the gradient of fun" if kind == "jac" else "the Hessian of fun"
        raise ValueError(f"method {method!r} requires `{kind}` ({what}), got {kind}=None")
    if not callable(derivative):
        raise TypeError(f"`{kind}` must be callable, got {kind}={derivative!r}")


def gradient_of(jac: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """Call ``jac`` at a copy of ``x``; return a fresh float64 array of shape ``(d,)``."""
    d = x.shape[0]
    g = np.array(jac(x.copy()), dtype=np.float64, copy=True)
    if g.size != d:
        raise ValueError(f"`jac` must return shape ({d},), got shape {g.shape}")
    return g.reshape(d)


def hessian_of(hess: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """Call ``hess`` at a copy of ``x``; return a fresh float64 array of shape ``(d, d)``."""
    d = x.shape[0]
    h = np.array(hess(x.copy()), dtype=np.float64, copy=True)
    if h.size != d * d:
        raise ValueError(f"`hess` must return shape ({d}, {d}), got shape {h.shape}")
    return h.reshape(d, d)


def binding(x: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Mask of components at a bound whose ``direction`` points out of the cube, shape (d,)."""
    return ((x < BINDING_TOL) & (direction < 0.0)) | ((x > 1.0 - BINDING_TOL) & (direction > 0.0))


def make_result(
    counted: CountedFunction, *, nit: int, success: bool, reason: str, detail: str = ""
) -> OptimizeResult:
    """Build the result from the best point ``counted`` has seen."""
    if counted.best_x is None:  # cannot happen: every method evaluates x0 first (maxfev >= 1)
        raise RuntimeError("optimizer ended without evaluating `fun`")
    message = MESSAGES[reason] + (f" {detail}" if detail else "")
    return OptimizeResult(
        x=counted.best_x,
        fun=counted.best_f,
        nfev=counted.nfev,
        nit=nit,
        success=success,
        message=message,
        path=np.array(counted.path, dtype=np.float64),
    )
