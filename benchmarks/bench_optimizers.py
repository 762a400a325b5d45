"""The seven surrogate optimizers side by side on the same sparse-grid surrogates.

Run: ``python benchmarks/bench_optimizers.py`` (``--quick``: smaller grids, one timing repeat;
``--budget N`` grid budget; ``--start best|centre|both``). Prints a Markdown table.

Each surrogate is the degree-3 modified B-spline interpolant (:func:`core.surrogate.fit_surrogate`)
of a plain Novak-Ritter grid (:class:`core.grid.NovakRitter`, gamma 0.85, the thesis' grid) on a
2-D test function: Rosenbrock (smooth, one curved valley), Himmelblau (four minima) and Rastrigin
(many minima). Every optimizer of :data:`core.optimizers.OPTIMIZERS` except the multi-start
wrapper starts from the same point (the best grid point, as the thesis did, or the centre of the
cube) with its default options and seed 0. Columns:

- ``surrogate``: the value the optimizer returns (its best surrogate value);
- ``true``: the test function at the proposed point, ``regret`` = true - known minimum;
- ``fun / jac / hess``: calls of the surrogate, its gradient and its Hessian;
- ``ms``: wall time of one run (best of ``--repeat`` runs).

:func:`compare_optimizers` also returns each run's path (the points where the best surrogate value
so far improved), which ``notebooks/02_sparse_grids_explained`` draws.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Gradient-free first, then gradient-based, as the slides list them.
GRADIENT_FREE = ("nelder_mead", "differential_evolution", "cmaes")
GRADIENT_BASED = ("gradient_descent", "nlcg", "newton", "rprop")
FUNCTIONS = {"rosenbrock": "smooth", "himmelblau": "multimodal", "rastrigin": "multimodal"}


@dataclass
class OptimizerRun:
    """One optimizer on one surrogate: result, counts, time and path (points in [0, 1]^d)."""

    function: str
    start: str
    method: str
    kind: str
    x: np.ndarray
    surrogate_value: float
    true_value: float
    regret: float
    n_fun: int
    n_jac: int
    n_hess: int
    seconds: float
    path: np.ndarray = field(repr=False)
    x0: np.ndarray = field(repr=False)


class _Recorder:
    """Counts calls of a function and keeps the points where the best value improved."""

    def __init__(self, fun: Callable[[np.ndarray], Any], x0: np.ndarray) -> None:
        self.fun = fun
        self.calls = 0
        self.best = np.inf
        self.path = [np.array(x0, dtype=float)]

    def __call__(self, x: np.ndarray) -> Any:
        self.calls += 1
        value = self.fun(x)
        v = float(value)
        if v < self.best:
            self.best = v
            self.path.append(np.array(x, dtype=float))
        return value


class _Counter:
    def __init__(self, fun: Callable[[np.ndarray], Any]) -> None:
        self.fun = fun
        self.calls = 0

    def __call__(self, x: np.ndarray) -> Any:
        self.calls += 1
        return self.fun(x)


def thesis_surrogate(function: str, budget: int, *, gamma: float = 0.85, degree: int = 3):
    """The test objective, its Novak-Ritter grid and the B-spline surrogate of that grid."""
    from core.grid import NovakRitter
    from core.objectives import TEST_FUNCTIONS
    from core.surrogate import fit_surrogate

    obj = TEST_FUNCTIONS[function].objective(2)
    gen = NovakRitter(2, n_evals=budget, gamma=gamma)
    while (U := gen.ask()).shape[0]:
        gen.tell(U, obj.evaluate_unit(U))
    surrogate = fit_surrogate(gen.levels, gen.indices, gen.values, degree=degree)
    return obj, gen, surrogate


def compare_optimizers(
    functions: Sequence[str] = tuple(FUNCTIONS),
    *,
    budget: int = 100,
    starts: Sequence[str] = ("best",),
    repeat: int = 3,
    seed: int = 0,
) -> list[OptimizerRun]:
    """Run every surrogate optimizer from the same start on the same surrogates.

    Parameters
    ----------
    functions : sequence of str
        2-D test functions (keys of ``core.objectives.TEST_FUNCTIONS``).
    budget : int
        Novak-Ritter budget of each grid.
    starts : sequence of {"best", "centre"}
        Start points: the best grid point (the thesis' choice) and/or the centre of the cube.
    repeat : int
        Timing repeats (the fastest is reported; results are identical across repeats).
    seed : int
        Seed of the randomized optimizers.
    """
    from core.optimizers import minimize

    runs = []
    for name in functions:
        obj, gen, s = thesis_surrogate(name, budget)

        def fun(x: np.ndarray, s: Any = s) -> float:
            return float(s(x[None, :])[0])

        def jac(x: np.ndarray, s: Any = s) -> np.ndarray:
            return s.gradient(x[None, :])[0]

        def hess(x: np.ndarray, s: Any = s) -> np.ndarray:
            return s.hessian(x[None, :])[0]

        for start in starts:
            x0 = gen.points[gen.best_index] if start == "best" else np.full(2, 0.5)
            for method in (*GRADIENT_FREE, *GRADIENT_BASED):
                seconds = np.inf
                for _ in range(max(1, repeat)):
                    rec, cj, ch = _Recorder(fun, x0), _Counter(jac), _Counter(hess)
                    t0 = time.perf_counter()
                    res = minimize(rec, x0, method=method, jac=cj, hess=ch, seed=seed)
                    seconds = min(seconds, time.perf_counter() - t0)
                true = float(obj.evaluate_unit(res.x[None, :])[0])
                runs.append(OptimizerRun(
                    function=name, start=start, method=method,
                    kind="gradient-free" if method in GRADIENT_FREE else "gradient-based",
                    x=np.array(res.x), surrogate_value=float(res.fun), true_value=true,
                    regret=true - float(obj.f_opt), n_fun=rec.calls, n_jac=cj.calls,
                    n_hess=ch.calls, seconds=seconds, path=np.array(rec.path),
                    x0=np.array(x0),
                ))
    return runs


def table(runs: Sequence[OptimizerRun]) -> str:
    """The runs as a Markdown table."""
    head = ("| function | start | kind | optimizer | surrogate | true | regret | fun | jac | "
            "hess | ms |")
    lines = [head, "|" + "---|" * 11]
    for r in runs:
        lines.append(
            f"| {r.function} ({FUNCTIONS.get(r.function, '')}) | {r.start} | {r.kind} | "
            f"{r.method} | {r.surrogate_value:.4g} | {r.true_value:.4g} | {r.regret:.3g} | "
            f"{r.n_fun} | {r.n_jac} | {r.n_hess} | {1e3 * r.seconds:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="grid budget 30, one repeat")
    parser.add_argument("--budget", type=int, default=None, help="grid budget (default 100)")
    parser.add_argument("--start", choices=["best", "centre", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    budget = args.budget or (30 if args.quick else 100)
    repeat = args.repeat or (1 if args.quick else 3)
    starts = ("best", "centre") if args.start == "both" else (args.start,)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        runs = compare_optimizers(budget=budget, starts=starts, repeat=repeat)
    print(f"Surrogate optimizers on degree-3 B-spline surrogates of Novak-Ritter grids "
          f"(budget {budget}, gamma 0.85), seed 0, best of {repeat} timing run(s)\n")
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
