"""What the driver (:mod:`core.run`) records: one evaluation, one batch, one finished run.

All three are frozen dataclasses; array fields are copied and read-only (``frozen`` alone does
not protect numpy buffers).
They are plain data: picklable, cheap to pass between threads, and free of objective code.

Failed evaluations
------------------
An evaluation is ``status="failed"`` when the objective raised, returned NaN, +inf or -inf (bare
or inside a :class:`~core.result.Measurement`), returned something that is not a number, or when
the evaluation backend lost it (a worker process that died, a Dask worker lost mid-task). Its
``value`` is NaN, ``error`` says why, and the strategy is told NaN: NaN is the one value that
means "failed"; an infinite loss is told as NaN too, so that ``-inf`` can never become the best
point and ``+inf`` never enters a surrogate fit (docs/decisions.md, 'Failed evaluations are
NaN').
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core._validation import check_int

__all__ = [
    "Evaluation",
    "Batch",
    "RunResult",
    "STATUSES",
    "ORIGIN_KINDS",
    "ORIGIN_MODELS",
    "SELECTION_LEVELS",
    "Origin",
    "Selection",
]

#: The two values of :attr:`Evaluation.status`.
STATUSES = ("ok", "failed")

#: What an asked point is (:attr:`Origin.kind`), with what each kind means.
ORIGIN_KINDS: dict[str, str] = {
    "sample": "a point drawn or enumerated without a model (random search, grid search, an "
    "initial design, a random fallback)",
    "grid": "a sparse-grid point: the initial grid of a search (refinement 0) or a child of a "
    "Novak-Ritter refinement (``parent`` is the refined point)",
    "candidate": "a minimum of a sparse-grid surrogate found by an optimizer (``path``), "
    "checked with the objective",
    "model_step": "the minimum of a least-squares quadratic model of the told points nearest "
    "the incumbent, between zoom stages",
    "local_step": "a trust-region step of the local phase (a quadratic model's minimum; a "
    "geometry step, drawn at random in the trust region, has no prediction)",
    "neighbourhood": "a point drawn around a selected point (adaptive random search; "
    "``parent`` is the selected point)",
    "acquisition": "the maximizer of an acquisition function on a model (Bayesian "
    "optimization's expected improvement)",
}

#: The models that predict a point's value (:attr:`Origin.model`).
ORIGIN_MODELS: dict[str, str] = {
    "sparse_grid_surrogate": "the B-spline interpolant of a sparse grid's values",
    "local_quadratic": "a least-squares quadratic fitted to told points near the incumbent",
    "gp_posterior": "the posterior mean of a Gaussian process",
}

#: The level term of a selection criterion (:attr:`Selection.level_kind`): the level sum
#: ``|l|_1`` of a sparse-grid point, or the level of an adaptive random search point.
SELECTION_LEVELS = ("level_sum", "point_level")


def _frozen_array(a: Any, dtype: Any = np.float64) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _opt_int(value: Any, name: str, low: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int or None, got {name}={value!r}")
    if value < low:
        raise ValueError(f"`{name}` must be >= {low}, got {name}={value!r}")
    return int(value)


def _nan_to_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


@dataclass(frozen=True, slots=True, eq=False)
class Selection:
    """One selection of a point to refine, with the criterion of every candidate it weighed.

    A Novak-Ritter refinement (sparse grid search) and a selection of adaptive random search
    both pick the candidate with the smallest criterion
    ``g = (rank + 1)^(1 - gamma) * (level + n_refinements + 1)^gamma``; this record is what a
    front end needs to draw that choice. Arrays are read-only, one entry per candidate, and
    refer to candidates by their history index (:attr:`Evaluation.index`).

    Cost: a selection holds one entry per candidate, so a sparse-grid run of ``n`` grid points
    in ``d`` dimensions keeps about ``n**2 / (4 d)`` entries over all its refinements (a
    refinement adds ``2 d`` points); journals leave the arrays out (:mod:`core.journal`).

    Attributes
    ----------
    step : int
        1-based selection number within its search (the grid of one zoom stage, or the run).
    refined : int
        History index of the selected point (the argmin of ``scores``).
    candidates : ndarray of int64, shape (n,)
        History indices of the candidates, in the search's storage order.
    ranks, levels, n_refinements : ndarray of int64, shape (n,)
        The criterion's inputs: 0-based rank of the value (as the search counts it), the level
        term (see ``level_kind``) and refinements before this one.
    scores : ndarray of float64, shape (n,)
        The criterion ``g``; ``inf`` for candidates the search ignores (a child would exceed
        its maximal level).
    gamma : float
        The adaptivity in the criterion.
    level_kind : str
        One of :data:`SELECTION_LEVELS`.
    """

    step: int
    refined: int
    candidates: np.ndarray
    ranks: np.ndarray
    levels: np.ndarray
    n_refinements: np.ndarray
    scores: np.ndarray
    gamma: float
    level_kind: str = "level_sum"

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", _opt_int(self.step, "step", low=1))
        object.__setattr__(self, "refined", _opt_int(self.refined, "refined"))
        n = None
        for name in ("candidates", "ranks", "levels", "n_refinements", "scores"):
            dtype = np.float64 if name == "scores" else np.int64
            arr = _frozen_array(getattr(self, name), dtype).reshape(-1)
            if n is not None and arr.shape != (n,):
                raise ValueError(
                    f"Selection arrays must all have shape ({n},), got {name} of shape "
                    f"{arr.shape}"
                )
            n = arr.shape[0]
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "gamma", float(self.gamma))
        if self.level_kind not in SELECTION_LEVELS:
            raise ValueError(
                f"`level_kind` must be one of {SELECTION_LEVELS}, got {self.level_kind!r}"
            )

    @property
    def n_candidates(self) -> int:
        """Number of candidates weighed."""
        return int(self.candidates.shape[0])

    def remapped(self, index: np.ndarray) -> Selection:
        """This selection with history indices ``i`` replaced by ``index[i]`` (a nested
        search reporting to the search that runs it)."""
        return Selection(
            self.step, int(index[self.refined]), index[self.candidates], self.ranks,
            self.levels, self.n_refinements, self.scores, self.gamma, self.level_kind,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``inf`` scores as null); :meth:`from_json` reads it back."""
        return {
            "step": self.step,
            "refined": self.refined,
            "candidates": self.candidates.tolist(),
            "ranks": self.ranks.tolist(),
            "levels": self.levels.tolist(),
            "n_refinements": self.n_refinements.tolist(),
            "scores": [_nan_to_none(v) for v in self.scores.tolist()],
            "gamma": self.gamma,
            "level_kind": self.level_kind,
        }

    @classmethod
    def from_json(cls, data: Any) -> Selection:
        """The selection that :meth:`to_json` wrote (``ValueError``/``TypeError`` if not one)."""
        if not isinstance(data, dict):
            raise TypeError(f"a selection must be a JSON object, got {data!r:.80}")
        scores = [math.inf if v is None else v for v in data.get("scores", ())]
        return cls(
            data["step"], data["refined"], data["candidates"], data["ranks"], data["levels"],
            data["n_refinements"], scores, data["gamma"], data.get("level_kind", "level_sum"),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Origin:
    """What an asked point is and why the strategy asked it (provenance, as data).

    Strategies set one per asked point (:attr:`core.strategies.base.Strategy.origins`);
    :func:`core.run.iterate` puts it into the point's :class:`Evaluation` and journals write
    it. The analogue in optuna is a trial's ``system_attrs``.

    Attributes
    ----------
    kind : str
        One of :data:`ORIGIN_KINDS`.
    prediction : float
        The model's value at the point before it was evaluated (NaN when no model predicted
        it); for a trust-region step, the incumbent's value less the model's predicted
        decrease (docs/decisions.md, "One quadratic fit, two predictions").
    model : str or None
        Which model made ``prediction``: one of :data:`ORIGIN_MODELS`, None when none did.
    path : ndarray of float64, shape (m, d), or None
        The optimizer's best-so-far path on the model that found the point, in the unit cube of
        the whole space (the last row is the point); for a model or trust-region step, the
        incumbent and the step; None when no optimizer ran.
    parent : int or None
        History index of the point whose refinement created this one (a grid point's refined
        point, an adaptive-random-search point's selected point); None for initial points.
    refinement : int or None
        The refinement (1-based, within its search) that created a grid point or a drawn
        neighbourhood point; 0 for an initial grid or initial points; None for other kinds.
    stage : int
        The grid search the point belongs to: 0 for the first grid, then each zoom stage and
        global restart of sparse grid search in the order they began, nested ones included
        (a composed strategy's ``n_searches`` counts them). A candidate or model step has the
        number of the search that made it (the run's own local phase and other strategies: 0).
    restart : int
        Global restarts begun before the point was asked (0 during the first global search).
    levels, indices : ndarray of int64, shape (d,), or None
        A grid point's sparse-grid levels and indices (within its stage's box).
    box : ndarray of float64, shape (2, d), or None
        Lower and upper corner of the stage's box in the unit cube (None: the whole cube), so
        that ``u = box[0] + v * (box[1] - box[0])`` maps the grid's coordinates ``v``.
    source : str
        The strategy's own short description (e.g. ``"lbfgsb@2 (zoom 1)"``); free text.
    selection : Selection or None
        The criterion of the selection that created this point, on the first point of its
        batch (the other points of the same refinement have the same ``parent`` and
        ``refinement`` and ``selection=None``, so a run stores each selection once).
    """

    kind: str = "sample"
    prediction: float = math.nan
    model: str | None = None
    path: np.ndarray | None = None
    parent: int | None = None
    refinement: int | None = None
    stage: int = 0
    restart: int = 0
    levels: np.ndarray | None = None
    indices: np.ndarray | None = None
    box: np.ndarray | None = None
    source: str = ""
    selection: Selection | None = None

    def __post_init__(self) -> None:
        if self.kind not in ORIGIN_KINDS:
            raise ValueError(f"`kind` must be one of {tuple(ORIGIN_KINDS)}, got {self.kind!r}")
        if self.model is not None and self.model not in ORIGIN_MODELS:
            raise ValueError(
                f"`model` must be None or one of {tuple(ORIGIN_MODELS)}, got {self.model!r}"
            )
        object.__setattr__(self, "prediction", float(self.prediction))
        for name in ("parent", "refinement"):
            object.__setattr__(self, name, _opt_int(getattr(self, name), name))
        for name in ("stage", "restart"):
            object.__setattr__(self, name, _opt_int(getattr(self, name), name))
        if self.path is not None:
            path = _frozen_array(self.path)
            object.__setattr__(self, "path", path.reshape(-1, path.shape[-1]))
        for name in ("levels", "indices"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _frozen_array(getattr(self, name), np.int64))
        if self.box is not None:
            object.__setattr__(self, "box", _frozen_array(self.box).reshape(2, -1))
        object.__setattr__(self, "source", str(self.source))
        if self.selection is not None and not isinstance(self.selection, Selection):
            raise TypeError(f"`selection` must be a Selection or None, got {self.selection!r}")

    def replace(self, **changes: Any) -> Origin:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return replace(self, **changes)

    def remapped(self, index: Any) -> Origin:
        """This origin with every history index ``i`` it holds (``parent``, the selection's
        ``refined`` and ``candidates``) replaced by ``index[i]``: what a strategy that runs
        another one (a zoom stage, a wrapper that skips repeated configurations) reports of the
        points the inner one asked, ``index`` mapping the inner told order to its own."""
        index = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            parent=None if self.parent is None else int(index[self.parent]),
            selection=None if self.selection is None else self.selection.remapped(index),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as null, arrays as lists, defaults left out)."""
        out: dict[str, Any] = {"kind": self.kind}
        if math.isfinite(self.prediction):
            out["prediction"] = self.prediction
        if self.model is not None:
            out["model"] = self.model
        for name in ("path", "levels", "indices", "box"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.tolist()
        for name in ("parent", "refinement"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.stage:
            out["stage"] = self.stage
        if self.restart:
            out["restart"] = self.restart
        if self.source:
            out["source"] = self.source
        if self.selection is not None:
            out["selection"] = self.selection.to_json()
        return out

    @classmethod
    def from_json(cls, data: Any) -> Origin:
        """The origin that :meth:`to_json` wrote (``ValueError``/``TypeError`` if not one)."""
        if not isinstance(data, dict):
            raise TypeError(f"an origin must be a JSON object, got {data!r:.80}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown origin field(s) {sorted(unknown)}")
        fields = dict(data)
        if fields.get("prediction") is None:
            fields["prediction"] = math.nan
        if fields.get("selection") is not None:
            fields["selection"] = Selection.from_json(fields["selection"])
        return cls(**fields)

    def __repr__(self) -> str:
        parts = [repr(self.kind)]
        if math.isfinite(self.prediction):
            parts.append(f"prediction={self.prediction:.6g} ({self.model})")
        if self.parent is not None:
            parts.append(f"parent={self.parent}")
        if self.stage:
            parts.append(f"stage={self.stage}")
        if self.source:
            parts.append(f"source={self.source!r}")
        return f"Origin({', '.join(parts)})"


#: The origin of a point whose strategy says nothing more about it.
SAMPLE = Origin()


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """One call of the objective, as the driver recorded it.

    Attributes
    ----------
    index : int
        Position in the run's history (0-based, in the order the strategy asked the points).
    config : dict
        The configuration passed to the objective, in native units (treat as read-only).
    u : ndarray, shape (d,)
        The same point in the unit cube, exactly as the strategy asked it (read-only).
    value : float
        The loss (lower is better); NaN when ``status == "failed"``.
    seconds : float
        Wall time of the objective call, measured where it ran.
    status : str
        ``"ok"`` or ``"failed"``.
    error : str or None
        Why the evaluation failed (``"ValueError: ..."``), None when ok.
    info : dict
        Extra facts from a :class:`~core.result.Measurement` (accuracy, loss curve, ...); for a
        raised exception, ``info["traceback"]`` holds the formatted traceback.
    step : int
        The ask/tell cycle (0-based) the point belongs to.
    origin : Origin or None
        What the point is and why it was asked (:class:`Origin`); :func:`core.run.iterate`
        always sets it; None only in records made elsewhere (or read from an older journal).
    """

    index: int
    config: dict[str, Any]
    u: np.ndarray
    value: float
    seconds: float
    status: str
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    origin: Origin | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"`status` must be one of {STATUSES}, got status={self.status!r}")
        value = float(self.value)
        if self.status == "ok" and not math.isfinite(value):
            raise ValueError(f"an ok evaluation needs a finite value, got value={self.value!r}")
        if self.status == "failed":
            value = math.nan
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "step", int(self.step))
        object.__setattr__(self, "u", _frozen_array(self.u))
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "seconds", float(self.seconds))
        object.__setattr__(self, "config", dict(self.config))
        object.__setattr__(self, "info", dict(self.info))
        if self.origin is not None and not isinstance(self.origin, Origin):
            raise TypeError(f"`origin` must be an Origin or None, got {self.origin!r}")

    @property
    def ok(self) -> bool:
        """Whether the evaluation succeeded (``status == "ok"``)."""
        return self.status == "ok"

    def __repr__(self) -> str:
        tail = f"value={self.value:.6g}" if self.ok else f"failed: {self.error}"
        return f"Evaluation(index={self.index}, step={self.step}, config={self.config}, {tail})"


@dataclass(frozen=True, slots=True, eq=False)
class Batch:
    """One ask/tell cycle of a run, as :func:`core.run.iterate` yields it.

    Attributes
    ----------
    step : int
        The cycle (0-based).
    evaluations : tuple of Evaluation
        The batch's evaluations in asked order. The last record of a run may hold fewer than
        were asked (a stop request arrived mid-batch) or none (the run stopped between batches).
    nfev : int
        Evaluations recorded so far in the whole run, this batch included.
    best : Evaluation or None
        The best ok evaluation so far (first on ties, in history order), None if none is ok.
    stop_reason : str or None
        None while the run goes on; on the run's last record, why it ended (one of
        ``core.strategies.base.STOP_REASONS``).
    seconds : float
        Wall time since the run started.
    complete : bool
        True when every asked point of the batch was evaluated and told to the strategy (False
        for a batch cut short by a stop request and for an empty last record).
    """

    step: int
    evaluations: tuple[Evaluation, ...]
    nfev: int
    best: Evaluation | None
    stop_reason: str | None = None
    seconds: float = 0.0
    complete: bool = True

    @property
    def done(self) -> bool:
        """Whether this is the run's last record."""
        return self.stop_reason is not None


@dataclass(frozen=True, slots=True, eq=False)
class RunResult:
    """Outcome of :func:`core.run.minimize` (scipy's vocabulary plus the full history).

    Attributes
    ----------
    x : dict or None
        Best configuration found (native units), None when no evaluation succeeded.
    fun : float
        Its value (NaN when none succeeded).
    u : ndarray, shape (d,)
        Its unit-cube point (NaN when none succeeded).
    nfev : int
        Number of objective evaluations recorded (failed ones included); never above the budget.
    nit : int
        Number of ask/tell cycles completed.
    history : tuple of Evaluation
        Every evaluation, in the order the strategy asked the points.
    method : str
        Strategy name.
    stop_reason : str
        Why the run ended (a key of ``core.strategies.base.STOP_REASONS``).
    success : bool
        True when the run ended on its own (not stopped on request) with a finite best value.
    message : str
        Human-readable reason.
    seconds : float
        Wall time of the run.
    stop_detail : str
        Why the run ended, with figures: e.g. how much of the budget is left unspent and why
        (the strategy's :attr:`~core.strategies.base.Strategy.stop_detail`).
    """

    x: dict[str, Any] | None
    fun: float
    u: np.ndarray
    nfev: int
    nit: int
    history: tuple[Evaluation, ...]
    method: str
    stop_reason: str
    success: bool
    message: str
    seconds: float
    stop_detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "u", _frozen_array(self.u))
        object.__setattr__(self, "history", tuple(self.history))
        object.__setattr__(self, "fun", float(self.fun))

    # -- array views of the history ---------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """All values in history order, shape ``(nfev,)``; NaN for failed evaluations."""
        return np.array([e.value for e in self.history], dtype=np.float64)

    @property
    def U(self) -> np.ndarray:
        """All unit-cube points in history order, shape ``(nfev, d)``."""
        if not self.history:
            return np.empty((0, len(self.u)))
        return np.stack([e.u for e in self.history])

    @property
    def n_failed(self) -> int:
        """Number of failed evaluations."""
        return sum(1 for e in self.history if not e.ok)

    def top(self, k: int) -> tuple[Evaluation, ...]:
        """The ``k`` evaluations with the lowest finite values, best first.

        Under a noisy objective the reported best is the luckiest draw; evaluating these few
        again (fresh folds or seeds) and choosing by the mean is the remedy (docs/decisions.md,
        "Noisy objectives"). Ties keep history order; failed evaluations are never included,
        so fewer than ``k`` come back when fewer succeeded.

        Parameters
        ----------
        k : int
            How many, at least 1.

        Returns
        -------
        tuple of Evaluation
            At most ``k``, by increasing value; empty when no evaluation succeeded.

        Raises
        ------
        TypeError
            ``k`` is not an int (a bool is not).
        ValueError
            ``k < 1``.
        """
        k = check_int(k, "k", low=1)
        v = self.values
        ok = np.flatnonzero(np.isfinite(v))
        order = ok[np.argsort(v[ok], kind="stable")][:k]
        return tuple(self.history[i] for i in order)

    def best_curve(self) -> np.ndarray:
        """Best value so far after each evaluation, shape ``(nfev,)``.

        Entries before the first ok evaluation are NaN; failed evaluations never lower it.
        """
        v = np.where(np.isfinite(self.values), self.values, np.inf)
        curve = np.minimum.accumulate(v) if len(v) else v
        return np.where(np.isfinite(curve), curve, np.nan)

    def __repr__(self) -> str:
        return (
            f"RunResult(method={self.method!r}, fun={self.fun:.6g}, x={self.x}, "
            f"nfev={self.nfev}, nit={self.nit}, stop_reason={self.stop_reason!r}, "
            f"success={self.success})"
        )
