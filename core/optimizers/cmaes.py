"""CMA-ES on [0, 1]^d via pycma (``cma``), after SG++'s ``CMAES``.

SG++'s settings are kept where pycma has them: start mean ``x0``, step size ``sigma0 = 0.3``,
default population ``4 + floor(3 ln d)`` and pycma's standard weights and learning rates
(SG++ implements the same textbook update). The loop is an explicit ask/tell over
``cma.CMAEvolutionStrategy``.

Differences from SG++
---------------------
- **Best ever, not last generation**: the result is the best point evaluated
  over the whole run. SG++ returns the best sample of the last generation.
- **Box handling**: pycma's ``BoundTransform`` maps every sample into [0, 1]^d, so no
  evaluation is wasted; SG++ gives out-of-box samples +inf.
- **Randomness**: all normal draws come from the numpy Generator built from ``seed``, passed to
  pycma as its ``randn`` option with ``seed=nan`` ("do nothing"), so pycma never reseeds or
  reads numpy's global random state. (An integer pycma ``seed`` would call
  ``numpy.random.seed`` -- global state shared by threads -- and ``seed=0`` means "from the
  clock" there.) Mirrored sampling is off (``CMA_mirrors=0``), which also avoids pycma's draws
  from the global generator; SG++ does not mirror either.
- **Stopping**: pycma's own termination criteria (``tolfun``, ``tolx``, ...) apply besides
  the budget; SG++ always spends its budget. The budget is exact: in the last generation only
  as many samples are evaluated as the budget allows (that partial generation is not told).
- Non-finite values reach pycma clipped to a large finite number (+1e150); the result uses
  the true values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core._validation import as_generator
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
    positive,
)
from core.result import OptimizeResult

__all__ = ["CMAES_OPTIONS", "minimize_cmaes"]

Fun = Callable[[np.ndarray], Any]

#: Option rules of :func:`minimize_cmaes` (name -> check).
CMAES_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "sigma0": positive("sigma0"),
    "popsize": integer("popsize", low=2, optional=True),
}


def minimize_cmaes(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    sigma0: float = 0.3,
    popsize: int | None = None,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d with the covariance matrix adaptation evolution strategy.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Initial mean in [0, 1]^d. It is evaluated first, so the result is never worse.
    jac, hess : optional
        Ignored (derivative-free).
    seed : None, int, SeedSequence or Generator
        Source of all randomness.
    maxfev : int
        Maximal number of calls of ``fun`` (SG++ default 1000).
    sigma0 : float
        Initial step size (SG++: 0.3).
    popsize : int, optional
        Samples per generation (default ``4 + floor(3 ln d)``).

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts generations told to pycma.
    """
    import cma  # local: only this method needs pycma

    check_fun(fun)
    x = check_x0(x0)
    o = apply_rules(CMAES_OPTIONS, {"maxfev": maxfev, "sigma0": sigma0, "popsize": popsize})
    counted = CountedFunction(fun, o["maxfev"])
    rng = as_generator(seed)
    options: dict[str, Any] = {
        "bounds": [0.0, 1.0],
        "seed": np.nan,
        "randn": lambda *shape: rng.standard_normal(shape),
        "CMA_mirrors": 0,
        "maxfevals": counted.maxfev,
        "verbose": -9,
    }
    if o["popsize"] is not None:
        options["popsize"] = o["popsize"]
    sigma = o["sigma0"]

    nit = 0
    try:
        counted(x)
        es = cma.CMAEvolutionStrategy(x, sigma, options)
        while not es.stop():
            solutions = es.ask()
            values = [for_library(counted(np.clip(u, 0.0, 1.0))) for u in solutions]
            es.tell(solutions, values)
            nit += 1
    except BudgetExhausted:
        return make_result(counted, nit=nit, success=False, reason="maxfev")
    stops = {k: v for k, v in es.stop().items() if k != "maxfevals"}
    if not stops:
        return make_result(counted, nit=nit, success=False, reason="maxfev")
    detail = "(" + ", ".join(sorted(stops)) + ")."
    return make_result(counted, nit=nit, success=True, reason="cma", detail=detail)
