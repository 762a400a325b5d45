"""The ask/tell contract every search strategy follows (docs/architecture.md).

A strategy proposes points in the unit cube and learns from their values; it never sees the
objective. :mod:`core.run` is the only code that evaluates anything.

Protocol
--------
``ask(max_points=None) -> U``
    A ``(k, d)`` float array in [0, 1]^d with ``k <= max_points`` and ``k <=`` the remaining
    budget. ``k == 0`` only when :attr:`stop_reason` is not None. A second ``ask`` before the
    previous batch was told raises ``RuntimeError``.
``tell(U, y)``
    ``U`` must be exactly the last asked batch (``RuntimeError`` otherwise); ``y`` has shape
    ``(k,)`` and may hold NaN or inf (failed evaluations, ranked worst).
``stop_reason``
    ``None`` while the strategy can go on; otherwise one of :data:`STOP_REASONS`.
``stop_detail``
    A sentence saying why the strategy stopped, with its figures (e.g. why budget is left
    unspent); ``""`` while it runs. Subclasses set it with :meth:`Strategy._say_why`.
``best``
    ``(u, value)`` of the best finite value told so far (first on ties), or ``None``.
``origins``
    One :class:`~core.records.Origin` per point of the last asked batch: what each point is
    (kind, the model's prediction and which model made it, the optimizer's path, the refinement
    that created it, its zoom stage or restart). Subclasses set them in ``_ask`` with
    :meth:`Strategy._set_origins`; points without one get ``Origin("sample")``.

Metadata for front ends
-----------------------
``title`` (menu label), ``has_model`` (whether the strategy builds a model of the landscape that
can be drawn) and :meth:`Strategy.min_budget` (the fewest evaluations the strategy accepts for
given options) let an application offer the strategies without restating their rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from core._validation import as_generator, as_points, as_values, check_int
from core.records import SAMPLE, Origin
from core.result import OptimizeResult

__all__ = ["Strategy", "STOP_REASONS"]

STOP_REASONS: dict[str, str] = {
    "budget": "the evaluation budget is used up",
    "exhausted": "the method has no further points to propose",
    "max_level": "every grid point has reached the maximal refinement level",
    "converged": "the method converged",
    "stopped": "the run was stopped on request",
}


class Strategy(ABC):
    """Base class: budget accounting, ask/tell protocol checks and the record of told points.

    Parameters
    ----------
    dim : int
        Dimension ``d`` of the unit cube.
    n_evals : int
        Budget: the number of points this strategy may propose in total.
    seed : int, numpy Generator or None
        Source of randomness (``core._validation.as_generator``).

    Subclasses implement :meth:`_ask` and may override :meth:`_tell` and :meth:`_stop`.
    """

    name: ClassVar[str] = "strategy"
    title: ClassVar[str] = "Strategy"
    #: One line saying what runs (``python -m core list`` prints it under the title).
    summary: ClassVar[str] = ""
    #: Whether the strategy builds a model of the landscape (a surrogate) that can be drawn.
    has_model: ClassVar[bool] = False
    #: The options that take one of a fixed set of values: option -> {value: what it means}
    #: (their defaults: ``core.strategies.strategy_options``), so a front end can offer them
    #: without restating them.
    option_choices: ClassVar[dict[str, dict[str, str]]] = {}
    #: The largest budget worth running while someone waits for the result (a demonstration,
    #: a background comparison), or None when the cost stays small at any budget. A front end
    #: runs such a method above it only on request, and says why.
    max_interactive_budget: ClassVar[int | None] = None

    @classmethod
    def min_budget(cls, dim: int, space_size: int | None = None, **options: Any) -> int:
        """The fewest evaluations (``n_evals``) the strategy spends usefully with these options.

        Parameters
        ----------
        dim : int
            Dimension ``d``.
        space_size : int or None
            The number of distinct configurations of a finite search space (None: infinite); a
            budget that covers them all is enough (:mod:`core.strategies.distinct` enumerates
            what the strategy leaves), so the result is at most ``space_size``, and never below
            what the constructor accepts.
        **options
            The strategy's keyword options (unknown ones are ignored here).

        Returns
        -------
        int
            At least 1; subclasses with an initial design or reserved evaluations override it
            (and :meth:`budget_rule` says why).
        """
        return 1

    @classmethod
    def budget_rule(cls, dim: int, **options: Any) -> str:
        """Why :meth:`min_budget` is what it is, in words with figures (``""``: no rule)."""
        return ""

    def __init__(self, dim: int, n_evals: int, *, seed: Any = None) -> None:
        self.dim = check_int(dim, "dim", low=1)
        self.n_evals = check_int(n_evals, "n_evals", low=1)
        self._rng = as_generator(seed)
        self._pending: np.ndarray | None = None
        self._U: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._n_told = 0
        self._n_batches = 0
        self._stopped: str | None = None
        self._detail = ""
        self._origins: tuple[Origin, ...] = ()
        self._next_origins: list[Origin] | None = None

    # -- protocol ---------------------------------------------------------------------------
    def ask(self, max_points: int | None = None) -> np.ndarray:
        """Propose the next batch; see the module docstring."""
        if self._pending is not None:
            raise RuntimeError(
                f"{type(self).__name__}.ask called again before the previous batch of "
                f"{len(self._pending)} points was told"
            )
        if max_points is not None:
            max_points = check_int(max_points, "max_points", low=1)
        self._origins = ()
        if self.stop_reason is not None:
            return np.empty((0, self.dim))
        k = self.remaining if max_points is None else min(max_points, self.remaining)
        self._next_origins = None
        U = np.array(self._ask(k), dtype=np.float64).reshape(-1, self.dim)
        if len(U) > k:
            raise AssertionError(f"{type(self).__name__}._ask returned {len(U)} > {k} points")
        origins, self._next_origins = self._next_origins, None
        if origins is None:
            origins = [SAMPLE] * len(U)
        if len(origins) != len(U):
            raise AssertionError(
                f"{type(self).__name__}._ask set {len(origins)} origins for {len(U)} points"
            )
        self._origins = tuple(origins)
        if len(U) == 0 and self._stopped is None:
            self._stopped = "exhausted"
        if len(U):
            np.clip(U, 0.0, 1.0, out=U)
            self._pending = U
        U = U.copy()
        U.setflags(write=False)
        return U

    def tell(self, U: Any, y: Any) -> None:
        """Report the values ``y`` (shape ``(k,)``, NaN allowed) of the last asked batch ``U``."""
        if self._pending is None:
            raise RuntimeError(f"{type(self).__name__}.tell called without a pending ask")
        U = as_points(U, self.dim)
        if U.shape != self._pending.shape or not np.array_equal(U, self._pending):
            raise RuntimeError(
                f"{type(self).__name__}.tell must receive exactly the last asked batch "
                f"(shape {self._pending.shape}), got a different batch of shape {U.shape}"
            )
        y = as_values(y, len(U))
        self._pending = None
        self._U.append(U.copy())
        self._y.append(y.copy())
        self._n_told += len(U)
        self._n_batches += 1
        self._tell(U, y)

    def stop(self, reason: str = "stopped") -> None:
        """Stop the strategy from outside (the driver does this on a stop request)."""
        if reason not in STOP_REASONS:
            raise ValueError(f"`reason` must be one of {sorted(STOP_REASONS)}, got {reason!r}")
        self._stopped = reason

    @property
    def origins(self) -> tuple[Origin, ...]:
        """What each point of the last asked batch is, shape ``(k,)`` like the batch (one
        :class:`~core.records.Origin` per row; empty before the first ask or after an empty
        one)."""
        return self._origins

    def _set_origins(self, origins: Any) -> None:
        """Called by ``_ask``: the origins of the points it returns (one each, in order)."""
        origins = list(origins)
        for o in origins:
            if not isinstance(o, Origin):
                raise TypeError(f"origins must be core.records.Origin, got {o!r}")
        self._next_origins = origins

    @property
    def stop_reason(self) -> str | None:
        if self._stopped is not None:
            return self._stopped
        if self._n_told >= self.n_evals:
            return "budget"
        return self._stop()

    @property
    def stop_detail(self) -> str:
        """Why the strategy stopped, in a sentence with its figures; ``""`` while it runs.

        ``"budget"`` says how many evaluations were made; any other reason also says how many
        of the budget are left unspent and the strategy's own explanation, if it gave one.
        """
        reason = self.stop_reason
        if reason is None:
            return ""
        if reason == "budget":
            return f"all {self.n_evals} evaluations of the budget were made"
        text = self._detail or STOP_REASONS.get(reason, reason)
        left = self.remaining
        if left > 0 and reason != "stopped":
            text += f" ({left} of the budget of {self.n_evals} evaluations left unspent)"
        return text

    def _say_why(self, detail: str) -> None:
        """Record the sentence :attr:`stop_detail` gives (without the unspent count)."""
        self._detail = str(detail)

    # -- state ------------------------------------------------------------------------------
    @property
    def remaining(self) -> int:
        return self.n_evals - self._n_told

    @property
    def n_told(self) -> int:
        return self._n_told

    @property
    def pending(self) -> np.ndarray | None:
        return None if self._pending is None else self._pending.copy()

    @property
    def U_told(self) -> np.ndarray:
        """All told points in order, shape ``(n, d)``."""
        return np.concatenate(self._U) if self._U else np.empty((0, self.dim))

    @property
    def y_told(self) -> np.ndarray:
        """All told values in order, shape ``(n,)``."""
        return np.concatenate(self._y) if self._y else np.empty(0)

    @property
    def best(self) -> tuple[np.ndarray, float] | None:
        y = self.y_told
        finite = np.isfinite(y)
        if not finite.any():
            return None
        i = int(np.argmin(np.where(finite, y, np.inf)))
        return self.U_told[i].copy(), float(y[i])

    def result(self) -> OptimizeResult:
        """The best point so far as an :class:`~core.result.OptimizeResult`."""
        best = self.best
        reason = self.stop_reason
        message = STOP_REASONS.get(reason, "running") if reason else "running"
        if best is None:
            return OptimizeResult(
                np.full(self.dim, np.nan), np.nan, self._n_told, self._n_batches, False,
                "no finite value was told" if self._n_told else message,
            )
        return OptimizeResult(
            best[0], best[1], self._n_told, self._n_batches, reason is not None, message
        )

    # -- hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _ask(self, max_points: int) -> np.ndarray:
        """Return up to ``max_points`` new points, shape ``(k, d)``; ``k = 0`` means exhausted."""

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Learn from a told batch (already validated and recorded)."""

    def _stop(self) -> str | None:
        """A subclass's own stop reason (``None`` to go on)."""
        return None
