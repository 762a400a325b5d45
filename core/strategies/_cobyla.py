"""COBYLA's steps as an ask/tell local phase: a trust region on linear models.

scipy's COBYLA (Powell's Constrained Optimization BY Linear Approximations, here on the box
``[0, 1]^d``) calls the objective itself. :class:`CobylaSteps` turns those calls into
ask/tell: a worker thread runs ``scipy.optimize.minimize(method="COBYLA")`` with an objective
that hands each point over a queue and waits for its value. The worker only computes COBYLA's
next point, and the two sides share nothing but the queues, so the points depend only on the
start point, the options and the values told: a run is deterministic, and replaying the told
values into a fresh instance reproduces it, which is how an instance pickles (Ray Tune
checkpoints pickle a whole strategy). COBYLA treats the box as constraints and may ask points
slightly outside it; they are clipped to the cube, and COBYLA is told the value there.

A linear model needs ``d + 1`` points where a full quadratic needs ``(d + 1)(d + 2) / 2``, so
COBYLA can step from the first evaluations of a small budget; why the sparse grid search offers
it as its local phase (``local_model="cobyla"``): docs/decisions.md, "A linear-model local
phase".
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Any

import numpy as np

__all__ = ["CobylaSteps", "COBYLA_RADIUS"]

#: COBYLA's initial trust-region radius (``rhobeg``, unit-cube units).
COBYLA_RADIUS = 0.1
#: A told point this close (max norm) to COBYLA's next point gives it its value unasked.
SAME_POINT_TOL = 1e-12

_DONE = object()
_CANCEL = object()


class _Cancelled(Exception):
    """Raised inside the worker's objective to end an abandoned run."""


def _worker(x0: np.ndarray, rhobeg: float, tol: float, maxfun: int,
            to_caller: queue.Queue, to_worker: queue.Queue) -> None:
    """Run COBYLA; each objective call puts the point on ``to_caller`` and waits for its value
    on ``to_worker``. Holds no reference to the :class:`CobylaSteps` that reads the queues, so
    an abandoned instance can be collected (its finalizer cancels this run)."""
    from scipy.optimize import minimize

    def fun(x: np.ndarray) -> float:
        to_caller.put(np.array(x, dtype=np.float64))
        value = to_worker.get()
        if value is _CANCEL:
            raise _Cancelled
        return value

    end: object = _DONE
    try:
        # COBYLA needs at least d + 2 evaluations, and its start (told already) counts as one;
        # the caller enforces its own cap
        minimize(fun, x0, method="COBYLA", bounds=[(0.0, 1.0)] * len(x0),
                 options={"rhobeg": rhobeg, "maxiter": max(maxfun + 1, len(x0) + 2),
                          "tol": tol})
    except _Cancelled:
        return
    except BaseException as exc:  # handed to the caller, which raises it in its own thread
        end = exc
    to_caller.put(end)


class CobylaSteps:
    """COBYLA from the incumbent, one point per :meth:`propose` (module docstring).

    The same interface as :class:`~core.strategies._trust_region.QuadraticTrustRegion`, so
    :class:`~core.strategies._trust_region.LocalRestarts` runs either as its local phase.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    min_radius : float, default 1e-6
        COBYLA's final radius (``tol``): the run has converged once it ends there.
    maxfun : int, default 1000
        Most points one COBYLA run proposes (the caller's remaining budget); told points it
        asks again do not count.
    rhobeg : float, default COBYLA_RADIUS
        Initial radius (unit-cube units).

    Attributes
    ----------
    n_steps : int
        Points proposed so far (told points COBYLA asked again are answered unasked and not
        counted).
    start : ndarray of shape (d,) or None
        Where COBYLA started (the incumbent at the first :meth:`propose`).
    """

    #: What a step is called in the run's records.
    source = "cobyla"

    def __init__(self, dim: int, min_radius: float = 1e-6, maxfun: int = 1000,
                 rhobeg: float = COBYLA_RADIUS) -> None:
        self.dim, self.min_radius = int(dim), float(min_radius)
        self.maxfun, self.rhobeg = max(int(maxfun), 1), float(rhobeg)
        self.n_steps = 0
        self.start: np.ndarray | None = None
        self._fed: list[float] = []  # every value handed to COBYLA, in order (for replay)
        self._pending: np.ndarray | None = None  # proposed, value not yet told
        self._done = False
        self._to_caller: queue.Queue | None = None
        self._to_worker: queue.Queue | None = None

    @property
    def converged(self) -> bool:
        """Whether the COBYLA run has ended (final radius reached or ``maxfun`` points)."""
        return self._done

    # -- the worker ----------------------------------------------------------------------------
    def _launch(self, x0: np.ndarray) -> None:
        self.start = np.array(x0, dtype=np.float64)
        self._to_caller, self._to_worker = queue.Queue(), queue.Queue()
        thread = threading.Thread(
            target=_worker, name="cobyla-steps", daemon=True,
            args=(self.start, self.rhobeg, self.min_radius, self.maxfun, self._to_caller,
                  self._to_worker),
        )
        self._finalizer = weakref.finalize(self, self._to_worker.put, _CANCEL)
        thread.start()

    def _finish(self) -> None:
        """End the run: no more points, and the worker (if waiting) is cancelled."""
        self._done = True
        if self._to_worker is not None:
            self._finalizer()

    def _next_point(self) -> np.ndarray | None:
        """COBYLA's next point, or None once it has finished."""
        item = self._to_caller.get()
        if item is _DONE:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return np.clip(item, 0.0, 1.0)  # COBYLA may step slightly outside its box

    def _feed(self, value: float) -> None:
        self._fed.append(value)
        self._to_worker.put(value)

    # -- ask/tell --------------------------------------------------------------------------------
    def propose(
        self, U: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, float] | None:
        """COBYLA's next point to evaluate, and NaN for its prediction (COBYLA's linear model is
        internal to scipy).

        Parameters
        ----------
        U : ndarray, shape (n, d)
            Told points in the unit cube (the start is the best finite one).
        y : ndarray, shape (n,)
            Their values.
        rng : numpy.random.Generator
            Unused (COBYLA is deterministic); the shared interface's argument.

        Returns
        -------
        (x, nan) or None
            ``x`` of shape ``(d,)``; None once COBYLA has finished or no finite value is known.
        """
        if self._done:
            return None
        if self._pending is not None:
            return self._pending, float("nan")
        if self._to_caller is None:
            finite = np.flatnonzero(np.isfinite(y))
            if not len(finite):
                return None
            self._launch(U[finite[np.argmin(y[finite])]])
        while True:
            if self.n_steps >= self.maxfun:
                self._finish()
                return None
            x = self._next_point()
            if x is None:
                return None
            self._pending = x
            if len(U):  # a point already told gets its value unasked
                gap = np.max(np.abs(U - x), axis=1)
                i = int(np.argmin(gap))
                if gap[i] <= SAME_POINT_TOL:
                    self._pending = None
                    self._feed(float(y[i]))
                    continue
            self.n_steps += 1
            return x, float("nan")

    def update(self, value: float) -> None:
        """Tell COBYLA the value at the last proposed point (a failed one, NaN, is passed on:
        COBYLA treats it as a very bad value)."""
        if self._pending is None:
            return
        self._pending = None
        self._feed(float(value))

    # -- pickling: replay the told values into a fresh run ------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_to_caller", "_to_worker", "_finalizer")}
        state["_pending"] = None if self._pending is None else self._pending.copy()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        fed, pending, done = state["_fed"], state["_pending"], state["_done"]
        self.__dict__.update(state)
        self._to_caller = self._to_worker = None
        self._fed, self._pending, self._done = [], None, False
        if self.start is None:
            self._done = done
            return
        self._launch(self.start)
        for value in fed:  # COBYLA asks the same points again, in the same order
            if self._next_point() is None:
                raise RuntimeError("COBYLA ended early while its told values were replayed")
            self._feed(value)
        if pending is not None:
            x = self._next_point()
            if x is None or not np.array_equal(x, pending):
                raise RuntimeError("COBYLA's replay did not reach its pending point")
            self._pending = x
        elif done:  # a run that ended on its own ends again; one stopped at maxfun is stopped
            if self._next_point() is not None and not self.n_steps >= self.maxfun:
                raise RuntimeError("COBYLA's replay did not end where the run ended")
            self._finish()
