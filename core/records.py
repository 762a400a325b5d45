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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Evaluation", "Batch", "RunResult", "STATUSES"]

#: The two values of :attr:`Evaluation.status`.
STATUSES = ("ok", "failed")


def _frozen_array(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


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
