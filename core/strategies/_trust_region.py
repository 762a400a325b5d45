"""Local phase of sparse grid search: trust-region steps on quadratic models of the told points.

A derivative-free trust-region method in the spirit of Powell's UOBYQA/NEWUOA, kept small: no
Lagrange-polynomial bookkeeping, the model is refitted from the told points at every step.

*Model* (:func:`local_quadratic`, also the zoom stages' model steps'). The quadratic
``m(z) = g.z + z.H.z / 2`` (``(d + 1)(d + 2) / 2`` coefficients with the constant) is fitted by
least squares to the ``(d + 1)(d + 2) / 2 + 1`` told points nearest the incumbent ``c`` (the
best finite value; Euclidean distance), with ``z = u - c``.

*Step.* The minimum of ``m`` in the box ``|z_t| <= radius`` (inside the unit cube), found by
L-BFGS-B from ``z = 0``. The step is accepted or not by the data alone (the incumbent is always
the best point told), and the radius follows the ratio ``rho`` of the actual to the predicted
decrease: doubled when ``rho >= 0.75`` and the step reached the box's edge, halved when
``rho < 0.1``. A model that predicts no decrease, or a step onto a told point, gives a
*geometry step* instead: a uniform random point in the box (it adds information where the
model is poor) and the radius is halved.

*Start and end.* The first radius is the largest coordinate distance from ``c`` to the fitted
points. The phase has converged when the radius falls below ``min_radius`` (``1e-6`` of the
unit cube by default) or when the last ``2 d + 1`` steps lowered the incumbent's value by less
than ``STALL_TOL * (1 + |f(c)|)``: further steps would only resolve the incumbent's basin below
any useful precision, so the search returns to global exploration (:class:`LocalRestarts`, and
:class:`TrustRegionRestarts`, the wrapper strategy that runs a global search, this local phase
and global restarts).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.records import Origin
from core.strategies._staged import StagedSearch

__all__ = [
    "LocalRestarts", "QuadraticTrustRegion", "TrustRegionRestarts", "local_step_origin",
    "model_size", "quadratic_model_step",
]

#: Ratio thresholds of the radius update: shrink below ``ETA``, grow at or above ``GROW``.
ETA = 0.1
GROW = 0.75
#: Relative decrease of the incumbent's value over ``2 d + 1`` steps below which the phase has
#: stalled.
STALL_TOL = 1e-6
#: A told point this close (max norm) to a proposed step is the same point.
SAME_POINT_TOL = 1e-9


#: The local models :class:`LocalRestarts` runs: name -> description.
LOCAL_MODELS = {
    "quadratic": "trust region on least-squares quadratic models ((d + 1)(d + 2) / 2 + 1 points "
    "each)",
    "cobyla": "scipy's COBYLA: a trust region on linear models (d + 1 points), from the "
    "incumbent",
}


def check_local_model(value: Any) -> str:
    """``value`` if it names a local model of :data:`LOCAL_MODELS`, else ``ValueError``."""
    if not isinstance(value, str) or value not in LOCAL_MODELS:
        raise ValueError(
            f"`local_model` must be one of {sorted(LOCAL_MODELS)}, got local_model={value!r}")
    return value


def model_size(dim: int) -> int:
    """Coefficients of a full quadratic in ``dim`` variables: ``(dim + 1)(dim + 2) / 2``."""
    return (dim + 1) * (dim + 2) // 2


class QuadraticTrustRegion:
    """Trust-region steps on least-squares quadratic models (module docstring).

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    min_radius : float, default 1e-6
        The phase has converged once the radius is below this (unit-cube units).

    Attributes
    ----------
    radius : float or None
        Current half-width of the trust box (``None`` before the first step).
    n_steps : int
        Steps proposed so far (model and geometry steps).
    """

    #: What a step is called in the run's records (None: by its kind, model or geometry).
    source: str | None = None

    def __init__(self, dim: int, min_radius: float = 1e-6) -> None:
        self.dim = dim
        self.min_radius = float(min_radius)
        self.n_points = model_size(dim) + 1
        self.radius: float | None = None
        self.n_steps = 0
        self._last: tuple[float, float | None, bool] | None = None  # f(c), predicted, at edge
        self._incumbents: list[float] = []  # f(c) at each step

    @property
    def converged(self) -> bool:
        """Whether the radius has fallen below ``min_radius`` or the steps have stalled."""
        if self.radius is not None and self.radius < self.min_radius:
            return True
        f = self._incumbents
        k = 2 * self.dim + 1
        return len(f) > k and f[-1 - k] - f[-1] < STALL_TOL * (1.0 + abs(f[-1]))

    def propose(
        self, U: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, float] | None:
        """The next point to evaluate and the model's prediction of its value.

        Parameters
        ----------
        U : ndarray, shape (n, d)
            Told points in the unit cube.
        y : ndarray, shape (n,)
            Their values (non-finite ones are left out).
        rng : numpy.random.Generator
            Randomness of geometry steps.

        Returns
        -------
        (x, predicted) or None
            ``x`` of shape ``(d,)``; ``predicted`` is NaN for a geometry step. ``None`` once
            converged or while fewer finite values than model points are known.
        """
        if self.converged:
            return None
        finite = np.isfinite(y)
        P, v = U[finite], y[finite]
        if len(v) < self.n_points:
            return None
        c, fc, Z, fit = local_quadratic(P, v, self.n_points)
        self._incumbents.append(fc)
        if self.converged:
            return None
        if self.radius is None:
            self.radius = min(max(float(np.max(np.abs(Z))), self.min_radius), 0.5)
        lo, hi = np.maximum(-self.radius, -c), np.minimum(self.radius, 1.0 - c)
        z, decrease = _minimize_in_box(*fit[1:], lo, hi) if fit is not None else (None, 0.0)
        self.n_steps += 1
        x = None if z is None else np.clip(c + z, 0.0, 1.0)
        if x is None or decrease <= 0.0 or _is_told(U, x):
            x = np.clip(c + rng.uniform(-self.radius, self.radius, self.dim), 0.0, 1.0)
            self._last = (fc, None, False)
            return x, float("nan")
        at_edge = bool(np.max(np.abs(z)) >= 0.99 * self.radius)
        self._last = (fc, decrease, at_edge)
        # The prediction is f(c) less the model's decrease m(0) - m(z), without the fit's
        # intercept a (quadratic_model_step's includes it): the ratio test compares f(c) - f(x)
        # with that decrease, in which a cancels, and the value it expects is the one recorded.
        # Adding a would move no point but change every recorded prediction (docs/decisions.md,
        # "One quadratic fit, two predictions").
        return x, fc - decrease

    def update(self, value: float) -> None:
        """Adapt the radius to the true ``value`` at the last proposed point."""
        if self._last is None or self.radius is None:
            return
        fc, predicted, at_edge = self._last
        self._last = None
        if predicted is None or not np.isfinite(value):
            self.radius *= 0.5
            return
        rho = (fc - value) / predicted
        if rho >= GROW and at_edge:
            self.radius = min(2.0 * self.radius, 0.5)
        elif rho < ETA:
            self.radius *= 0.5


#: Quadratic model steps of the zoom stages (:func:`quadratic_model_step`): the model is fitted
#: to the ``FIT_FACTOR * (d + 1)(d + 2)/2`` told points nearest the incumbent, and its minimum is
#: sought in the box of ``STEP_FACTOR`` times their spread around the incumbent (per dimension).
FIT_FACTOR = 1.5
STEP_FACTOR = 2.0


def quadratic_model_step(U: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The minimum of a local quadratic model of the told values, as the next point to try.

    The zoom stages' single model steps, on the same least-squares fit and box minimizer as
    :class:`QuadraticTrustRegion`, with a fixed box instead of an adaptive radius: the
    quadratic is fitted to the ``FIT_FACTOR`` times as many told points nearest the incumbent
    (the best finite value) as it has coefficients, and minimized by L-BFGS-B in the box of
    ``STEP_FACTOR`` times the fitted points' spread along each axis around the incumbent,
    inside the unit cube. The model bends with a curved valley, so its minimum moves along it
    where a box re-centred on the incumbent would crawl.

    Parameters
    ----------
    U : ndarray, shape (n, d)
        Told points in the unit cube.
    y : ndarray, shape (n,)
        Their values (non-finite ones are left out).

    Returns
    -------
    (x, predicted) or None
        The step's point ``x`` of shape ``(d,)`` and the model's value there; ``None`` with
        ``(d + 1)(d + 2) / 2`` finite values or fewer, a zero-width box, a non-finite fit or a
        result within ``SAME_POINT_TOL`` of a told point. Deterministic.
    """
    finite = np.isfinite(y)
    P, v = U[finite], y[finite]
    p = model_size(U.shape[1])
    if len(v) <= p:
        return None
    c, fc, Z, fit = local_quadratic(P, v, int(FIT_FACTOR * p))
    h = STEP_FACTOR * np.max(np.abs(Z), axis=0)
    if fit is None or not np.any(h > 0):
        return None
    a, g, H = fit
    z, decrease = _minimize_in_box(g, H, np.maximum(-h, -c), np.minimum(h, 1.0 - c))
    x = np.clip(c + z, 0.0, 1.0)
    if _is_told(U, x):
        return None
    return x, fc + a - decrease  # the fit's own value at x; no ratio test reads it


class LocalRestarts:
    """The local phase after a global search, and its global restarts, for any global search.

    The schedule of sparse grid search's local phase, kept apart from the global search it
    follows so that another global phase can be put in front of it (the ablation of
    ``benchmarks/ablation.py`` starts it from a Sobol design): trust-region steps
    (:class:`QuadraticTrustRegion`) from the incumbent; once the trust region has converged, or
    while too few finite values exist for a model, :meth:`restart` gives the budget of a
    *global restart*, twice the previous global search's (at most ``n_evals``), after which a
    fresh trust region starts. The caller runs the restart's global search.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    first_global : int
        Budget of the first global search.
    n_evals : int
        The whole budget.
    min_radius : float, default 1e-6
        Convergence radius of each trust region.
    local_model : {"quadratic", "cobyla"}, default "quadratic"
        Each local run: a :class:`QuadraticTrustRegion`, or COBYLA's linear-model trust region
        (:class:`~core.strategies._cobyla.CobylaSteps`, at most the budget left).

    Attributes
    ----------
    trust : QuadraticTrustRegion, CobylaSteps or None
        The running trust region (None after a restart, until the next step).
    n_restarts : int
        Global restarts begun.
    global_size : int
        Budget of the latest global search (the first one or the latest restart).
    """

    def __init__(self, dim: int, first_global: int, n_evals: int,
                 min_radius: float = 1e-6, local_model: str = "quadratic") -> None:
        self.dim, self.n_evals, self.min_radius = dim, n_evals, float(min_radius)
        self.local_model = check_local_model(local_model)
        self.trust: Any = None
        self.n_restarts = 0
        self.global_size = first_global
        self._restart_told = 0  # points told when the latest restart began
        self._pending = False  # a proposed step awaits its value

    def step(self, U: np.ndarray, y: np.ndarray, rng: np.random.Generator,
             fresh_if_converged: bool = False) -> tuple[np.ndarray, float] | None:
        """The running trust region's next step (``(x, predicted)``, see
        :meth:`QuadraticTrustRegion.propose`), starting one if none runs (or, with
        ``fresh_if_converged``, if the running one has converged); None when it proposes none."""
        if self.trust is None or (fresh_if_converged and self.trust.converged):
            if self.local_model == "cobyla":
                from core.strategies._cobyla import CobylaSteps

                self.trust = CobylaSteps(self.dim, self.min_radius,
                                         maxfun=max(self.n_evals - len(y), 1))
            else:
                self.trust = QuadraticTrustRegion(self.dim, self.min_radius)
        proposal = self.trust.propose(U, y, rng)
        self._pending = proposal is not None
        return proposal

    def tell(self, value: float) -> None:
        """The true value at the last step (ignored when no step is pending)."""
        if self._pending:
            self._pending = False
            self.trust.update(value)

    def restart(self, n_told: int) -> int | None:
        """Begin a global restart and return its budget, or None when the latest restart added
        no point (``n_told`` unchanged since it began) or already had the whole budget."""
        if self.n_restarts and (n_told == self._restart_told
                                or self.global_size >= self.n_evals):
            return None
        self.global_size = min(2 * self.global_size, self.n_evals)
        self.n_restarts += 1
        self._restart_told = n_told
        self.trust = None
        return self.global_size


def local_step_origin(x: np.ndarray, predicted: float, incumbent: np.ndarray, restart: int,
                      source: str | None = None) -> Origin:
    """The :class:`~core.records.Origin` of a local step to ``x`` (shape ``(d,)``) from the
    incumbent (shape ``(d,)``): a model step when ``predicted`` is finite, else a geometry step
    (``source`` overrides the name)."""
    model = np.isfinite(predicted)
    if source is None:
        source = "trust region" if model else "trust region (geometry)"
    return Origin("local_step", predicted, "local_quadratic" if model else None,
                  np.vstack([incumbent, x]), restart=restart, source=source)


def local_quadratic(
    P: np.ndarray, v: np.ndarray, n_fit: int
) -> tuple[np.ndarray, float, np.ndarray, tuple[float, np.ndarray, np.ndarray] | None]:
    """The local quadratic model of both kinds of steps (the one fit of the trust region and
    of the zoom stages' model steps): the incumbent ``c`` (the first best of the finite values
    ``v`` at the points ``P``), its value ``fc``, the offsets ``Z = P[near] - c`` of the
    ``n_fit`` points nearest it (Euclidean distance; ``c`` first) and the least-squares fit
    ``(a, g, H)`` of ``v[near] - fc ~ a + g.z + z.H.z / 2`` (None when not finite).

    Both callers step to the minimum of ``g.z + z.H.z / 2``, which ``a`` does not move; they
    differ in the prediction they record: the trust region's is ``fc`` less the model's
    decrease (its ratio test's reference, ``a`` cancels), a model step's the fit's value
    ``fc + a + m(z)`` (docs/decisions.md, "One quadratic fit, two predictions")."""
    i = int(np.argmin(v))
    c, fc = P[i], float(v[i])
    near = np.argsort(np.linalg.norm(P - c, axis=1), kind="stable")[:n_fit]
    Z = P[near] - c
    return c, fc, Z, _fit_quadratic(Z, v[near] - fc)


def _fit_quadratic(Z: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Least-squares ``a``, ``g`` (shape ``(d,)``) and symmetric ``H`` (``(d, d)``) of
    ``v ~ a + g.z + z.H.z / 2`` (``Z`` of shape ``(n, d)``, ``v`` of shape ``(n,)``); ``None``
    when the fit is not finite."""
    d = Z.shape[1]
    iu = np.triu_indices(d)
    A = np.hstack([np.ones((len(Z), 1)), Z, Z[:, iu[0]] * Z[:, iu[1]]])
    with np.errstate(all="ignore"):  # values near the float limit give non-finite terms
        coef = np.linalg.lstsq(A, v, rcond=None)[0]
    if not np.all(np.isfinite(coef)):
        return None
    H = np.zeros((d, d))
    H[iu] = coef[d + 1 :]
    # the diagonal doubles: z.H.z / 2 carries h_tt z_t^2
    return float(coef[0]), coef[1 : d + 1], H + H.T


def _minimize_in_box(
    g: np.ndarray, H: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, float]:
    """Minimum ``z`` of ``g.z + z.H.z / 2`` on ``[lo, hi]`` (L-BFGS-B from 0) and the
    predicted decrease ``-m(z)``."""
    from scipy.optimize import minimize

    res = minimize(
        lambda z: (float(g @ z + 0.5 * z @ H @ z), g + H @ z), np.zeros(len(g)), jac=True,
        method="L-BFGS-B", bounds=list(zip(lo, hi, strict=True)),
    )
    z = np.clip(np.asarray(res.x, dtype=np.float64), lo, hi)
    return z, -float(g @ z + 0.5 * z @ H @ z)


def _is_told(U: np.ndarray, x: np.ndarray) -> bool:
    return bool(len(U)) and float(np.min(np.max(np.abs(U - x), axis=1))) <= SAME_POINT_TOL


class TrustRegionRestarts(StagedSearch):
    """A global search, then trust-region steps on local quadratic models, with global restarts.

    A wrapper strategy around a global search (any strategy, built by ``global_search``) and
    the local model of :class:`LocalRestarts`:

    1. *First global search*: ``global_search(n_evals, first_global)``, a search of the whole
       cube planned for ``first_global`` evaluations (``None``: the whole budget, and no local
       phase) that may use more.
    2. *Local phase* (when ``first_global`` is given): trust-region steps
       (:class:`QuadraticTrustRegion`) from the incumbent; once the trust region converges, or
       while too few finite values exist for a model, a *global restart*
       ``global_search(size, None)`` with twice the previous global budget (at most
       ``n_evals``; points told before cost nothing), then a fresh trust region, until a
       restart adds no point or had the whole budget.
    3. Without a local phase, with ``final_model_steps``: quadratic model steps
       (:func:`quadratic_model_step`) while the model proposes a new point.
    4. *The rest of the budget* (``spend_rest``): evaluations the phases above leave go to
       trust-region steps from the incumbent (a fresh trust region once one has converged), or
       while too few finite values exist for a model, to points drawn uniformly (``seed``) in
       the box of the latest global stage's half-width around the incumbent; so the run spends
       exactly ``n_evals``.

    Parameters
    ----------
    dim, n_evals : int
        Dimension and budget.
    global_search : callable ``(n_evals, planned) -> Strategy``
        Builds a global search sharing this strategy's generator: the first one with its
        planned budget, a restart with ``planned=None``.
    first_global : int or None
        Planned budget of the first global search; None: no local phase.
    final_model_steps : bool, default False
        Phase 3.
    spend_rest : bool, default True
        Phase 4.
    min_radius : float, default 1e-6
        Convergence radius of each trust region.
    local_model : {"quadratic", "cobyla"}, default "quadratic"
        The local phase's model (:class:`LocalRestarts`).
    seed : int, numpy Generator or None
        Geometry steps, random points and (passed on) the global searches' randomness.

    Attributes
    ----------
    local : LocalRestarts
        The trust regions and the restart schedule.
    local_steps : list of Candidate
        The trust-region steps (and random points) of phases 2 and 4, in order.
    """

    name = "trust_region_restarts"
    title = "Global search + trust region"
    summary = "a global search, then trust-region steps on quadratic models with global restarts"

    def __init__(self, dim: int, n_evals: int, *, global_search: Any, first_global: int | None,
                 final_model_steps: bool = False, spend_rest: bool = True,
                 min_radius: float = 1e-6, local_model: str = "quadratic",
                 seed: Any = None) -> None:
        super().__init__(dim, n_evals, seed=seed)
        self._global_search = global_search
        self.local_search = first_global is not None
        self.final_model_steps, self.spend_rest = bool(final_model_steps), bool(spend_rest)
        #: Planned evaluations of the first global search.
        self.global_budget = self.n_evals if first_global is None else int(first_global)
        self.local = LocalRestarts(self.dim, self.global_budget, self.n_evals, min_radius,
                                   local_model)
        self.local_steps: list[Any] = []
        self._step_pending = False
        self._own_steps = np.empty((0, self.dim))
        self._done = False
        first = global_search(self.n_evals, self.global_budget)
        self._add_stage(np.zeros(self.dim), np.ones(self.dim), first, None)

    @property
    def n_restarts(self) -> int:
        """Global restarts begun."""
        return self.local.n_restarts

    @property
    def first_search(self) -> Any:
        """The first global search."""
        return self.stages[0][2]

    @property
    def model_step_points(self) -> np.ndarray:
        """The first global search's model steps, then this strategy's steps, shape
        ``(k, d)``."""
        inner = getattr(self.first_search, "model_step_points", np.empty((0, self.dim)))
        return np.vstack([inner, self._own_steps])

    def why_done(self) -> str:
        """Why the run ends with budget left (the first global search's reason)."""
        why = getattr(self.first_search, "why_done", None)
        return why() if why is not None else ""

    # -- ask/tell --------------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        U = self._ask_stage(max_points)
        if len(U):
            return U
        if self.local_search:
            U = self._ask_local(max_points)
            if len(U):
                return U
        elif self.final_model_steps and self.best is not None:
            step = quadratic_model_step(self.U_told, self.y_told)
            if step is not None:
                x, predicted = step
                self._own_steps = np.vstack([self._own_steps, x])
                self._set_origins([Origin(
                    "model_step", predicted, "local_quadratic", np.vstack([self.best[0], x]),
                    restart=self.n_restarts, source="quadratic model step",
                )])
                self._step_pending = True
                return x[None, :]
        if self.spend_rest and self.remaining > 0:
            return self._ask_rest()
        self._done = True
        self._say_why(self.why_done())
        return np.empty((0, self.dim))

    def _ask_local(self, max_points: int) -> np.ndarray:
        """A trust-region step; a converged trust region starts the next global restart."""
        while self.remaining > 0:
            U = self._ask_stage(max_points)
            if len(U):
                return U
            proposal = self.local.step(self.U_told, self.y_told, self._rng)
            if proposal is not None:
                return self._local_step(*proposal, self.best[0], self.local.trust.source)
            size = self.local.restart(self.n_told)
            if size is None:
                break
            restart = self._global_search(size, None)
            self._add_stage(np.zeros(self.dim), np.ones(self.dim), restart,
                            f"restart {self.n_restarts}")
        return np.empty((0, self.dim))

    def _ask_rest(self) -> np.ndarray:
        """One point of the budget the phases leave: a trust-region step from the incumbent (a
        fresh trust region once one has converged), or, while too few finite values exist for a
        quadratic model, a point drawn uniformly in the box of the latest global stage's
        half-width around the incumbent."""
        proposal = self.local.step(self.U_told, self.y_told, self._rng, fresh_if_converged=True)
        best = self.best
        c = best[0] if best is not None else np.full(self.dim, 0.5)
        source = None
        if proposal is not None:
            x, predicted = proposal
            source = self.local.trust.source
        else:
            boxes = self.stages[1:] or getattr(self.first_search, "zoom_stages", [])
            h = 0.5 * (boxes[-1][1] - boxes[-1][0]) if boxes else np.full(self.dim, 0.25)
            x = np.clip(c + self._rng.uniform(-1.0, 1.0, self.dim) * np.abs(h), 0.0, 1.0)
            predicted, source = float("nan"), "random near the incumbent"
        return self._local_step(x, predicted, c, source)

    def _local_step(self, x: np.ndarray, predicted: float, c: np.ndarray,
                    source: str | None) -> np.ndarray:
        """Record and hand out the local step ``x`` from the incumbent ``c``."""
        from core.strategies._sparse_grid_candidates import Candidate

        origin = local_step_origin(x, predicted, c, self.n_restarts, source)
        self.local_steps.append(Candidate(x, predicted, origin.source, origin.path))
        self._own_steps = np.vstack([self._own_steps, x])
        self._set_origins([origin])
        self._step_pending = True
        return x[None, :]

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if self._step_pending:  # a model or trust-region step: its value is in the told data
            self._step_pending = False
            self.local.tell(float(y[0]))  # a trust-region step adapts the radius
            return
        self._tell_stage(U, y)

    def _stop(self) -> str | None:
        return "exhausted" if self._done else None
