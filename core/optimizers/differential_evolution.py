"""Differential evolution on [0, 1]^d via :func:`scipy.optimize.differential_evolution`.

Follows SG++'s ``DifferentialEvolution`` where it is sensible: budget 1000
evaluations, population ``10 d``, strategy rand/1/bin with scaling ``F = 0.6`` and crossover
``CR = 0.5``, generation-synchronous updates (``updating="deferred"``), and SG++'s stopping rule
(the population mean improved by less than 1e-6 for 20 generations *and* every member lies
within 1e-4 of the best), checked after each generation.

Differences from SG++
---------------------
- **The start point is used**, so an optimal start is never lost: ``x0`` replaces the first
  member of the initial population. SG++ ignores it.
- **Initial population**: a Latin hypercube sample (scipy's default) drawn from ``seed``
  instead of i.i.d. uniform points from a clock-seeded global generator; runs are reproducible.
- **The initial population counts**: its values take part in selection and in the result.
  SG++ updates its best value only from accepted trial points, so it can return +inf.
- **Trial points outside the cube** are repaired by scipy (the offending coordinates are
  redrawn uniformly in [0, 1]) and evaluated, where SG++ discards them unevaluated (+inf).
- **Stopping rule**: SG++ compares the first generation's mean with 0 (its initial "last
  mean"); here it is compared with the initial population's mean. scipy's own ``tol``/``atol``
  test is switched off.
- **Budget**: the population shrinks to ``max(5, maxfev // 2)`` when ``10 d`` members would not
  leave room for one generation; generations run while a whole one fits in ``maxfev``. The
  budget is exact.
- **Polishing** with L-BFGS-B is available (``polish=True``) but off by default: SG++ has none,
  and the gradient methods here polish better with the surrogate's exact gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import Bounds, differential_evolution
from scipy.stats import qmc

from core._validation import as_generator
from core.optimizers._common import (
    MAXFEV_RULE,
    BudgetExhausted,
    CountedFunction,
    Rule,
    apply_rules,
    check_fun,
    check_x0,
    choice,
    flag,
    for_library,
    integer,
    make_result,
    number,
    positive,
)
from core.result import OptimizeResult

__all__ = ["DIFFERENTIAL_EVOLUTION_OPTIONS", "STRATEGIES", "minimize_differential_evolution"]

Fun = Callable[[np.ndarray], Any]

_MIN_POPULATION = 5  # scipy's minimum for rand1bin

#: scipy's mutation strategies (``strategy`` option).
STRATEGIES: tuple[str, ...] = (
    "rand1bin", "rand1exp", "rand2bin", "rand2exp", "best1bin", "best1exp", "best2bin",
    "best2exp", "randtobest1bin", "randtobest1exp", "currenttobest1bin", "currenttobest1exp",
)

#: Option rules of :func:`minimize_differential_evolution` (name -> check). scipy accepts a
#: mutation constant in [0, 2); 0 would never move, so it is excluded.
DIFFERENTIAL_EVOLUTION_OPTIONS: dict[str, Rule] = {
    **MAXFEV_RULE,
    "popsize": integer("popsize", low=_MIN_POPULATION, optional=True),
    "mutation": number("mutation", low=0.0, high=2.0),
    "recombination": number("recombination", low=0.0, high=1.0, high_open=False),
    "strategy": choice("strategy", STRATEGIES),
    "init": choice("init", ("latinhypercube", "random")),
    "polish": flag("polish"),
    "idle_generations": integer("idle_generations", low=0),
    "mean_tol": positive("mean_tol"),
    "distance_tol": positive("distance_tol"),
}


class _SgppStop:
    """SG++'s convergence test, as a scipy callback (returns True to stop)."""

    def __init__(self, initial_mean: float, idle: int, mean_tol: float, distance_tol: float):
        self.last_mean = initial_mean
        self.last_progress = 0
        self.generation = 0
        self.idle = idle
        self.mean_tol = mean_tol
        self.distance_tol = distance_tol
        self.converged = False

    def __call__(self, intermediate_result: Any) -> bool:
        self.generation += 1
        energies = np.asarray(intermediate_result.population_energies, dtype=np.float64)
        mean = float(np.mean(energies))
        if self.last_mean - mean >= self.mean_tol:
            self.last_progress = self.generation
        elif self.generation - self.last_progress >= self.idle:
            population = np.asarray(intermediate_result.population, dtype=np.float64)
            best = population[int(np.argmin(energies))]
            spread = float(np.max(np.linalg.norm(population - best, axis=1)))
            if spread < self.distance_tol:
                self.converged = True
                return True
        self.last_mean = mean
        return False


def minimize_differential_evolution(
    fun: Fun,
    x0: Any,
    *,
    jac: Fun | None = None,
    hess: Fun | None = None,
    seed: Any = None,
    maxfev: int = 1000,
    popsize: int | None = None,
    mutation: float = 0.6,
    recombination: float = 0.5,
    strategy: str = "rand1bin",
    init: str = "latinhypercube",
    polish: bool = False,
    idle_generations: int = 20,
    mean_tol: float = 1e-6,
    distance_tol: float = 1e-4,
) -> OptimizeResult:
    """Minimize ``fun`` on [0, 1]^d by differential evolution, starting from ``x0``.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> float``, ``x`` of shape ``(d,)``. NaN counts as +inf.
    x0 : array_like, shape (d,)
        Start point in [0, 1]^d; it replaces the first member of the initial population.
    jac, hess : optional
        Ignored (derivative-free).
    seed : None, int, SeedSequence or Generator
        Source of all randomness (initial population, mutation, crossover).
    maxfev : int
        Maximal number of calls of ``fun`` (SG++ default 1000).
    popsize : int, optional
        Population size (number of members, not scipy's multiplier); default ``10 d``.
    mutation, recombination : float
        Scaling factor F and crossover probability CR (SG++ defaults 0.6 and 0.5).
    strategy : str
        scipy strategy name (SG++: ``"rand1bin"``).
    init : {"latinhypercube", "random"}
        Initial population design.
    polish : bool
        Polish the result with L-BFGS-B inside the remaining budget (default False).
    idle_generations, mean_tol, distance_tol : int, float, float
        SG++'s stopping rule (20, 1e-6, 1e-4).

    Returns
    -------
    OptimizeResult
        Best point evaluated; ``nit`` counts generations.
    """
    check_fun(fun)
    x = check_x0(x0)
    d = x.shape[0]
    o = apply_rules(
        DIFFERENTIAL_EVOLUTION_OPTIONS,
        {"maxfev": maxfev, "popsize": popsize, "mutation": mutation,
         "recombination": recombination, "strategy": strategy, "init": init, "polish": polish,
         "idle_generations": idle_generations, "mean_tol": mean_tol,
         "distance_tol": distance_tol},
    )
    counted = CountedFunction(fun, o["maxfev"])
    rng = as_generator(seed)
    pop = 10 * d if o["popsize"] is None else o["popsize"]
    if 2 * pop > counted.maxfev:
        pop = max(_MIN_POPULATION, counted.maxfev // 2)
    if o["init"] == "latinhypercube":
        population = qmc.LatinHypercube(d, rng=rng).random(pop)
    else:
        population = rng.random((pop, d))
    population[0] = x
    maxiter = max(0, (counted.maxfev - pop) // pop)

    initial_values: list[float] = []

    def objective(u: np.ndarray) -> float:
        value = for_library(counted(u))
        if len(initial_values) < pop:
            initial_values.append(value)
            if len(initial_values) == pop:
                stop.last_mean = float(np.mean(initial_values))
        return value

    stop = _SgppStop(np.inf, o["idle_generations"], o["mean_tol"], o["distance_tol"])
    try:
        differential_evolution(
            objective,
            Bounds(np.zeros(d), np.ones(d)),
            strategy=o["strategy"],
            maxiter=maxiter,
            mutation=o["mutation"],
            recombination=o["recombination"],
            rng=rng,
            callback=stop,
            polish=o["polish"],
            init=population,
            tol=0.0,
            atol=0.0,
            updating="deferred",
        )
    except BudgetExhausted:
        return make_result(counted, nit=stop.generation, success=False, reason="maxfev")
    if stop.converged:
        return make_result(counted, nit=stop.generation, success=True, reason="de_converged")
    reason = "maxfev" if counted.maxfev - counted.nfev < pop else "maxiter"
    return make_result(counted, nit=stop.generation, success=False, reason=reason)
