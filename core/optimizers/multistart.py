"""Multi-start wrapper: run a local method from ``x0`` and from random points, keep the best.

After SG++'s ``MultiStart``: ``n_starts`` defaults to ``min(10 d, 100)``, the
inner method defaults to Nelder-Mead, and the budget is split evenly: start ``k`` (0-based)
may use ``ceil(remaining / (n_starts - k))`` calls of ``fun``, where ``remaining`` is what the
earlier starts left over, so unused evaluations flow to later starts.

Differences from SG++
---------------------
- **The start point is used**, so an optimal start is never lost: the first run starts at
  ``x0``; the other ``n_starts - 1`` start at uniform random points drawn from ``seed``.
  SG++ ignores ``x0``.
- Runs are sequential and reproducible; each inner run gets its own child generator spawned
  from ``seed`` (relevant for randomized inner methods). SG++ runs them in parallel with
  OpenMP and a clock-seeded global generator.
- A start whose share of the budget is 0 (``n_starts > maxfev``) is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core._validation import as_generator
from core.optimizers._common import (
    MAXFEV_RULE,
    MESSAGES,
    CountedFunction,
    Rule,
    apply_rules,
    check_fun,
    check_x0,
    integer,
)
from core.optimizers.cmaes import CMAES_OPTIONS, minimize_cmaes
from core.optimizers.differential_evolution import (
    DIFFERENTIAL_EVOLUTION_OPTIONS,
    minimize_differential_evolution,
)
from core.optimizers.gradient import (
    GRADIENT_DESCENT_OPTIONS,
    NLCG_OPTIONS,
    minimize_gradient_descent,
    minimize_nlcg,
)
from core.optimizers.nelder_mead import NELDER_MEAD_OPTIONS, minimize_nelder_mead
from core.optimizers.newton import NEWTON_OPTIONS, minimize_newton
from core.optimizers.rprop import RPROP_OPTIONS, minimize_rprop
from core.result import OptimizeResult

__all__ = [
    "LOCAL_METHODS",
    "LOCAL_OPTIONS",
    "MULTISTART_OPTIONS",
    "minimize_multistart",
    "multistart",
]

Fun = Callable[[np.ndarray], Any]

#: The single-run methods, by registry name (the inner methods multistart can wrap).
LOCAL_METHODS: dict[str, Callable[..., OptimizeResult]] = {
    "nelder_mead": minimize_nelder_mead,
    "differential_evolution": minimize_differential_evolution,
    "cmaes": minimize_cmaes,
    "gradient_descent": minimize_gradient_descent,
    "nlcg": minimize_nlcg,
    "newton": minimize_newton,
    "rprop": minimize_rprop,
}

#: Option rules of each single-run method (name -> option -> check).
LOCAL_OPTIONS: dict[str, dict[str, Rule]] = {
    "nelder_mead": NELDER_MEAD_OPTIONS,
    "differential_evolution": DIFFERENTIAL_EVOLUTION_OPTIONS,
    "cmaes": CMAES_OPTIONS,
    "gradient_descent": GRADIENT_DESCENT_OPTIONS,
    "nlcg": NLCG_OPTIONS,
    "newton": NEWTON_OPTIONS,
    "rprop": RPROP_OPTIONS,
}


def check_local_method(method: Any) -> str | Callable[..., OptimizeResult]:
    """Rule of ``local_method``: a name from :data:`LOCAL_METHODS` or a callable."""
    _inner(method)
    return method


#: Multi-start's own option rules; the inner method's options (but ``maxfev``) come on top.
MULTISTART_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "local_method": check_local_method,
    "n_starts": integer("n_starts", low=1, optional=True),
}


def _inner(method: Any) -> tuple[str, Callable[..., OptimizeResult]]:
    if callable(method):
        return getattr(method, "__name__", repr(method)), method
    if isinstance(method, str) and method in LOCAL_METHODS:
        return method, LOCAL_METHODS[method]
    raise ValueError(
        f"the local method of multistart must be one of {sorted(LOCAL_METHODS)} or a "
        f"callable, got {method!r}"
    )


def minimize_multistart(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    local_method: str | Callable[..., OptimizeResult] = "nelder_mead",
    n_starts: int | None = None,
    **options: Any,
) -> OptimizeResult:
    """Run ``local_method`` from ``x0`` and from random starts on a shared budget; keep the best.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        The first start point, in [0, 1]^d.
    jac, hess : callable, optional
        Passed to the inner method (required by the gradient-based ones).
    seed : None, int, SeedSequence or Generator
        Source of the random start points and of the inner methods' randomness.
    maxfev : int
        Total number of calls of ``fun`` over all starts (SG++ default 1000).
    local_method : str or callable
        Inner method: a name from :data:`LOCAL_METHODS` (default ``"nelder_mead"``) or a
        function with the ``minimize_<name>`` signature. (Not called ``method``, so that
        ``minimize(fun, x0, method="multistart", local_method="newton", ...)`` works.)
    n_starts : int, optional
        Number of starts including ``x0`` (default ``min(10 d, 100)``).
    **options
        Further keyword options for the inner method.

    Returns
    -------
    OptimizeResult
        The best inner result (earliest start on ties) with ``nfev`` summed over all runs,
        ``nit`` = number of runs and ``path`` the best-so-far trajectory over all runs.
    """
    name, inner = _inner(local_method)
    check_fun(fun)
    x = check_x0(x0)
    d = x.shape[0]
    o = apply_rules(MULTISTART_OPTIONS, {"maxfev": maxfev, "n_starts": n_starts})
    budget = o["maxfev"]
    starts_wanted = min(10 * d, 100) if o["n_starts"] is None else o["n_starts"]
    rng = as_generator(seed)
    # records the best-so-far path over all starts; the inner runs share its budget
    recorder = CountedFunction(fun, budget)
    starts = np.vstack([x[None, :], rng.random((starts_wanted - 1, d))])
    child_seeds = rng.spawn(starts_wanted)

    best: OptimizeResult | None = None
    best_index = -1
    nfev = 0
    runs = 0
    for k in range(starts_wanted):
        share = math.ceil((budget - nfev) / (starts_wanted - k))
        if share <= 0:
            continue
        result = inner(
            recorder, starts[k], jac=jac, hess=hess, seed=child_seeds[k], maxfev=share,
            **options,
        )
        nfev += result.nfev
        runs += 1
        if best is None or result.fun < best.fun:
            best, best_index = result, k
    if best is None:  # cannot happen: budget >= 1 gives the first start a share >= 1
        raise RuntimeError("multistart ran no start")
    message = (
        f"{MESSAGES['multistart']} ({name}, {runs} runs); "
        f"best from start {best_index}: {best.message}"
    )
    return OptimizeResult(
        x=best.x, fun=best.fun, nfev=nfev, nit=runs, success=best.success, message=message,
        path=np.array(recorder.path, dtype=np.float64),
    )


def multistart(
    method: str | Callable[..., OptimizeResult],
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    n_starts: int | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    **options: Any,
) -> OptimizeResult:
    """Same as :func:`minimize_multistart`, with the local ``method`` as first argument.

    Examples
    --------
    >>> import numpy as np
    >>> from core.optimizers import multistart
    >>> res = multistart("nelder_mead", lambda x: float(np.sum((x - 0.3) ** 2)), [0.9, 0.9],
    ...                  n_starts=4, seed=0, maxfev=400)
    >>> bool(np.allclose(res.x, 0.3, atol=1e-4)), res.nfev <= 400
    (True, True)
    """
    return minimize_multistart(
        fun,
        x0,
        jac=jac,
        hess=hess,
        seed=seed,
        maxfev=maxfev,
        local_method=method,
        n_starts=n_starts,
        **options,
    )
