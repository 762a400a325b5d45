"""Candidate search of sparse grid search: the surrogate minima proposed for true evaluation.

:func:`find_candidates` serves both variants of
:class:`~core.strategies.sparse_grid.SparseGridSearch` (its module docstring describes the
candidate phases); :func:`surrogate_minima` is the zoom variant's multi-start L-BFGS-B.

The B-spline surrogate has an exact, cheap gradient, so a quasi-Newton method with box bounds
(scipy's L-BFGS-B) reaches a local minimum of the surrogate in a few dozen evaluations, where
the derivative-free multi-start Nelder-Mead of the thesis spends its whole ``maxfev``. The
starts are the best grid points: the surrogate interpolates there, so the minimum it leads to
from a good point is a minimum the data support. Random starts are not used: far from good grid
points the interpolant of a few points overshoots, and its global minimum there is often an
artefact (on the shifted 2-D Rosenbrock of ``benchmarks/race.py`` the global minimum of the
final surrogate is worse than the best grid point by orders of magnitude).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "Candidate",
    "DISTINCT_TOL",
    "DUPLICATE_TOL",
    "LBFGSB",
    "find_candidates",
    "surrogate_minima",
]

#: Optimizer name of the zoom variant's candidate search: scipy's L-BFGS-B from the best grid
#: points (:func:`surrogate_minima`).
LBFGSB = "lbfgsb"
#: A primary candidate closer than this (max norm) to a known point is that point.
DUPLICATE_TOL = 1e-9
#: Extra candidates (filling leftover slots) must be at least this far from every known point.
DISTINCT_TOL = 1e-3


class Candidate(tuple):
    """A surrogate-optimum candidate: ``(u, surrogate_value, source, path)``.

    ``u`` has shape ``(d,)``; ``surrogate_value`` is the value of the surrogate it was found on;
    ``source`` names how it was found: ``"gradient_descent"``, ``"multistart"``, with ``"@k"``
    appended when started from the ``k``-th best grid point, ``" (local)"`` inside the neighbour
    box, ``"[m pts]"`` on the surrogate of the first ``m`` grid points (a coarser stage).
    ``path``, shape ``(k, d)``, is the surrogate optimizer's best-so-far trajectory from its
    start to ``u`` (the last row is ``u``; ``u[None, :]`` when none is given), in the same
    coordinates as ``u``.
    """

    __slots__ = ()

    def __new__(
        cls, u: np.ndarray, value: float, source: str, path: np.ndarray | None = None
    ) -> Candidate:
        u = np.array(u, dtype=np.float64)
        u.setflags(write=False)
        path = u[None, :] if path is None else _path_ending_at(path, u)
        path.setflags(write=False)
        return super().__new__(cls, (u, float(value), str(source), path))

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    @property
    def u(self) -> np.ndarray:
        return self[0]

    @property
    def value(self) -> float:
        return self[1]

    @property
    def source(self) -> str:
        return self[2]

    @property
    def path(self) -> np.ndarray:
        """The optimizer's best-so-far trajectory to ``u``, shape ``(k, d)``."""
        return self[3]

    def mapped(self, lo: np.ndarray, hi: np.ndarray, source: str | None = None) -> Candidate:
        """This candidate seen from the cube whose sub-box ``[lo, hi]`` it was found in
        (``u`` and ``path`` mapped by ``lo + v * (hi - lo)``), optionally with a new source."""
        w = np.asarray(hi, dtype=np.float64) - lo
        return Candidate(
            np.clip(lo + self.u * w, 0.0, 1.0), self.value,
            self.source if source is None else source, np.clip(lo + self.path * w, 0.0, 1.0),
        )


def _path_ending_at(path: Any, u: np.ndarray) -> np.ndarray:
    """``path`` as a float ``(k, d)`` array clipped to the unit cube whose last row is ``u``."""
    p = np.clip(np.array(path, dtype=np.float64).reshape(-1, u.size), 0.0, 1.0)
    if not len(p) or not np.array_equal(p[-1], u):
        p = np.vstack([p, u[None, :]])
    return p


#: Iteration limit of each L-BFGS-B run (it usually stops far earlier on its tolerances).
MAX_ITER = 200


def surrogate_minima(
    surrogate: Any, starts: np.ndarray
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """Local minima of ``surrogate`` on [0, 1]^d reached by L-BFGS-B from each start.

    Parameters
    ----------
    surrogate : core.surrogate.Surrogate
        Provides ``value_and_gradient(u) -> (float, (d,) array)``.
    starts : ndarray, shape (k, d)
        Start points in the unit cube, in order of preference.

    Returns
    -------
    list of (x, value, path)
        One ``(x of shape (d,), surrogate value, path of shape (m, d))`` per start, in the
        order of ``starts``; ``x`` is clipped to the unit cube; ``path`` is the best-so-far
        trajectory (the start, then every evaluated point better than all earlier ones; the
        last row is ``x``), as ``core.optimizers`` records it. Deterministic: no randomness is
        involved.
    """
    from scipy.optimize import minimize

    d = starts.shape[1]
    bounds = [(0.0, 1.0)] * d
    out = []
    for x0 in starts:
        fun = _Recorder(surrogate)
        res = minimize(
            fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": MAX_ITER},
        )
        path = fun.path
        x = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, 1.0)
        value = float(res.fun)
        start_value = float(surrogate(x0))
        if not np.isfinite(value) or value > start_value:  # never worse than the start
            x, value = np.array(x0, dtype=np.float64), start_value
            path = []
        out.append((x, value, _path_ending_at(path, x)))
    return out


class _Recorder:
    """``surrogate.value_and_gradient`` that records the best-so-far points it is called at."""

    def __init__(self, surrogate: Any) -> None:
        self.surrogate, self.best, self.path = surrogate, np.inf, []

    def __call__(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = self.surrogate.value_and_gradient(v)
        if not self.path or value < self.best:
            self.best = value
            self.path.append(np.clip(np.array(v, dtype=np.float64), 0.0, 1.0))
        return value, grad


def find_candidates(strategy: Any, slots: int) -> list[Candidate]:
    """The candidates of sparse grid search ``strategy`` for ``slots`` evaluations."""
    if strategy.variant == "zoom":
        return _zoom_candidates(strategy, slots)
    return _thesis_candidates(strategy, slots)

def _zoom_candidates(strategy: Any, slots: int) -> list[Candidate]:
    """The zoom variant's candidates: ``optimizer`` from each of the best grid points.

    ``max(slots + 1, 3)`` starts (the best finite grid values). The minimum reached from the
    best grid point comes first (where the interpolant is best supported); then, alternately,
    the minimum of a coarser stage's surrogate (if ``coarse_candidates``, as in the thesis
    variant) and the other starts' minima in order of surrogate value. Each must be a new
    point (``DUPLICATE_TOL`` for the first, ``DISTINCT_TOL`` from all known points and
    earlier candidates for the others).
    """
    from core.surrogate import fit_surrogate

    gen, sur = strategy.generator, strategy.surrogate
    y = np.asarray(gen.values)
    known = np.asarray(gen.points)

    def ranked(m: int) -> np.ndarray:
        finite = np.flatnonzero(np.isfinite(y[:m]))
        return finite[np.argsort(y[finite], kind="stable")]

    order = ranked(len(y))
    minima = _local_minima(strategy, sur, known[order[: max(slots + 1, 3)]])
    rest = sorted(range(1, len(minima)), key=lambda j: (minima[j][1], j))
    stages = strategy.stage_sizes() if strategy.coarse_candidates else []
    jobs: list[tuple[str, int]] = [("start", 0)]
    for j in range(max(len(stages), len(rest))):
        if j < len(stages):
            jobs.append(("coarse", stages[j]))
        if j < len(rest):
            jobs.append(("start", rest[j]))
    found: list[Candidate] = []
    for kind, arg in jobs:
        if len(found) >= slots:
            break
        if kind == "start":
            (u, value, path), source = minima[arg], strategy.optimizer
            if arg:
                source = f"{strategy.optimizer}@{arg + 1}"
        else:
            first = ranked(arg)
            if first.size == 0:
                continue
            try:
                coarse = fit_surrogate(
                    gen.levels[:arg], gen.indices[:arg], y[:arg], degree=strategy.degree
                )
            except np.linalg.LinAlgError:
                continue
            ((u, value, path),) = _local_minima(strategy, coarse, known[first[:1]])
            source = f"{strategy.optimizer}[{arg} pts]"
        pts = np.vstack([known, *[c.u[None, :] for c in found]])
        tol = DUPLICATE_TOL if not found and kind == "start" and arg == 0 else DISTINCT_TOL
        if np.min(np.max(np.abs(pts - u), axis=1)) <= tol:
            continue
        found.append(Candidate(u, float(value), source, path))
    return found

def _local_minima(
    strategy: Any, sur: Any, starts: np.ndarray
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """``optimizer`` on the surrogate ``sur`` from each start: ``[(x, value, path), ...]``."""
    from core.optimizers import minimize

    if strategy.optimizer == LBFGSB:
        return surrogate_minima(sur, starts)
    minima = []
    for x0 in starts:
        res = minimize(
            sur, x0, method=strategy.optimizer, jac=sur.gradient, hess=sur.hessian,
            seed=strategy._rng, **strategy.optimizer_options,
        )
        x = np.clip(np.asarray(res.x, dtype=np.float64), 0, 1)
        minima.append((x, res.fun, _path_ending_at(_result_path(res, x), x)))
    return minima

def _thesis_candidates(strategy: Any, slots: int) -> list[Candidate]:
    from core.optimizers import minimize
    from core.surrogate import fit_surrogate

    gen, full = strategy.generator, strategy.surrogate
    y = np.asarray(gen.values)
    known = np.asarray(gen.points)
    found: list[Candidate] = []

    def ranked(m: int) -> np.ndarray:
        """Indices of the finite values among the first ``m`` points, best first."""
        finite = np.flatnonzero(np.isfinite(y[:m]))
        return finite[np.argsort(y[finite], kind="stable")]

    order = ranked(len(y))

    def add(res: Any, source: str, tol: float = DUPLICATE_TOL) -> None:
        u = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, 1.0)
        pts = np.vstack([known, *[c.u[None, :] for c in found]])
        if np.min(np.max(np.abs(pts - u), axis=1)) <= tol:
            return
        found.append(Candidate(u, float(res.fun), source, _result_path(res, u)))

    def run(method: str, k: int, local: bool = False, sur: Any = full) -> Any:
        opts = dict(strategy.optimizer_options) if method == strategy.optimizer else {}
        x0 = known[k]
        if method == LBFGSB:
            d = strategy.dim
            lo, hi = strategy.local_box(k) if local else (np.zeros(d), np.ones(d))
            view = _BoxView(sur, lo, hi)
            ((x, value, path),) = surrogate_minima(view, ((x0 - lo) / (hi - lo))[None, :])
            return _Moved(lo + x * (hi - lo), value, lo + path * (hi - lo))
        if not local:
            return minimize(
                sur, x0, method=method, jac=sur.gradient, hess=sur.hessian,
                seed=strategy._rng, **opts,
            )
        lo, hi = strategy.local_box(k)
        w = hi - lo
        res = minimize(
            lambda v: sur(lo + v * w), (x0 - lo) / w, method=method,
            jac=lambda v: sur.gradient(lo + v * w) * w,
            hess=lambda v: sur.hessian(lo + v * w) * np.outer(w, w),
            seed=strategy._rng, **opts,
        )
        return _Moved(lo + res.x * w, res.fun, None if res.path is None else lo + res.path * w)

    def coarse(m: int) -> None:
        """The optimizer on the surrogate of the first ``m`` grid points."""
        first = ranked(m)
        if first.size == 0:
            return
        try:
            sur = fit_surrogate(gen.levels[:m], gen.indices[:m], y[:m], degree=strategy.degree)
        except np.linalg.LinAlgError:
            return
        add(run(strategy.optimizer, int(first[0]), sur=sur), f"{strategy.optimizer}[{m} pts]",
            DISTINCT_TOL)

    def next_best(rank: int) -> None:
        add(run(strategy.optimizer, int(order[rank]), local=strategy.candidate_box),
            f"{strategy.optimizer}@{rank + 1}", DISTINCT_TOL)

    best = int(order[0])
    if strategy.candidate_box:
        add(run(strategy.optimizer, best, local=True), f"{strategy.optimizer} (local)")
    add(run(strategy.optimizer, best), strategy.optimizer)
    if strategy.multistart and len(found) < slots:
        add(run("multistart", best), "multistart")
    # extra slots: alternately a coarser stage's surrogate and the next best grid point;
    # at most 2 * free slots + 1 runs (they often re-find an optimum already found)
    extras: list[tuple[Any, int]] = []
    stages = strategy.stage_sizes() if strategy.coarse_candidates else []
    for j in range(max(len(stages), len(order) - 1)):
        if j < len(stages):
            extras.append((coarse, stages[j]))
        if j + 1 < len(order):
            extras.append((next_best, j + 1))
    for step, arg in extras[: 2 * (slots - len(found)) + 1]:
        if len(found) >= slots:
            break
        step(arg)
    return found[:slots]


class _BoxView:
    """The surrogate seen through the affine map of a box onto the unit cube."""

    def __init__(self, surrogate: Any, lo: np.ndarray, hi: np.ndarray) -> None:
        self.surrogate, self.lo, self.w = surrogate, lo, hi - lo

    def __call__(self, v: np.ndarray) -> float:
        return self.surrogate(self.lo + v * self.w)

    def value_and_gradient(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = self.surrogate.value_and_gradient(self.lo + v * self.w)
        return value, grad * self.w


class _Moved:
    """An optimizer result mapped back from a neighbour box: ``x``, ``fun`` and ``path``."""

    def __init__(self, x: np.ndarray, fun: float, path: np.ndarray | None) -> None:
        self.x, self.fun, self.path = x, fun, path


def _result_path(res: Any, x: np.ndarray) -> np.ndarray:
    """The best-so-far path of optimizer result ``res`` (``x[None, :]`` when it has none)."""
    path = getattr(res, "path", None)
    return x[None, :] if path is None or not len(path) else np.asarray(path, dtype=np.float64)
