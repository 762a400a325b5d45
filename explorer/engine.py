"""Runs behind the explorer: computed in worker threads, read by the event loop (rule 12).

No Panel, Bokeh or param here, so everything is testable and usable from notebooks.

- :class:`RunData` is the append-only record of one run: points, values, plotting coordinates,
  one :class:`Frame` per evaluated batch (one Novak-Ritter refinement for sparse grids), and a
  cache of 2-D model slices (sparse-grid interpolant or GP posterior mean) per step.
- :class:`RunWorker` computes a run in a daemon thread through :func:`core.run.iterate` (the only
  code that evaluates objectives), then precomputes the model slices, the step the viewer wants
  first. Cheap objectives run to the end at once and are replayed; neural-network objectives run
  live, batch by batch, only while the viewer lets them (:meth:`RunWorker.allow`).
- :class:`RunStore` shares finished cheap runs between sessions (same key, same run).
- :func:`race_result` and :func:`gamma_strip` are pure functions submitted to a small
  server-wide process pool (:func:`background_pool`) so that Bayesian optimization's GP fits
  never hold the server's GIL.

Thread safety: one writer per :class:`RunData`. Arrays are preallocated; the writer fills the
rows of a batch and then appends its :class:`Frame`, so a reader that only looks at rows below
``frames[k].end`` never sees a half-written batch.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.space import Categorical, Int

__all__ = [
    "MODEL_RESOLUTION",
    "AxisSpec",
    "Frame",
    "RaceResult",
    "RunKey",
    "RunData",
    "RunStore",
    "RunWorker",
    "axis_spec",
    "background_pool",
    "best_prefix",
    "gamma_strip",
    "native_coordinates",
    "race_result",
    "slice_points",
]

#: Cells per axis of the model and truth heatmaps (STACK.md: animated images <= 128x128).
MODEL_RESOLUTION = 128


# ---------------------------------------------------------------------------------------------
# units and axes
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AxisSpec:
    """How one hyperparameter is drawn: native extent of the unit interval and axis type.

    ``lo``/``hi`` are the native coordinates of ``u = 0`` and ``u = 1`` (for integers the outer
    bin edges, so every value sits at the centre of its bin); ``log`` asks for a log axis, on
    which a heatmap sampled uniformly in ``u`` is exact.
    """

    name: str
    lo: float
    hi: float
    log: bool
    labels: tuple[str, ...] | None = None  # categorical choices, drawn at 0..n-1

    def to_native(self, u: np.ndarray) -> np.ndarray:
        """Continuous native coordinate of ``u`` (shape preserved)."""
        if self.log:
            return np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        return self.lo + u * (self.hi - self.lo)


def axis_spec(space: Any, name: str) -> AxisSpec:
    """The :class:`AxisSpec` of hyperparameter ``name`` of ``space``."""
    p = space[name]
    if isinstance(p, Categorical):
        n = p.n_values
        return AxisSpec(name, -0.5, n - 0.5, False, tuple(str(c) for c in p.choices))
    if isinstance(p, Int):
        if p.log:
            lo = max(p.low - 0.5, 0.5)
            return AxisSpec(name, lo, p.high + 0.5, True)
        return AxisSpec(name, p.low - 0.5, p.high + 0.5, False)
    return AxisSpec(name, float(p.low), float(p.high), bool(p.log))


def native_coordinates(space: Any, U: np.ndarray) -> np.ndarray:
    """Plotting coordinates of unit-cube points: native values, categoricals as indices.

    Parameters
    ----------
    space : core.space.SearchSpace
    U : ndarray, shape (n, d)

    Returns
    -------
    ndarray of float64, shape (n, d)
    """
    U = np.asarray(U, dtype=np.float64).reshape(-1, space.dim)
    out = np.empty_like(U)
    for t, name in enumerate(space.names):
        p = space[name]
        col = p._from_unit(np.clip(U[:, t], 0.0, 1.0))
        out[:, t] = np.asarray(col, dtype=np.float64)
    return out


def slice_points(d: int, dims: tuple[int, int], fixed: np.ndarray, resolution: int) -> np.ndarray:
    """Unit-cube points of a ``resolution x resolution`` image over dimensions ``dims``.

    Row ``j * resolution + i`` has ``u[dims[0]] = (i + 1/2)/r`` and ``u[dims[1]] = (j + 1/2)/r``
    (image order: ``Z.reshape(r, r)[j, i]``); other coordinates come from ``fixed`` (shape (d,)).
    """
    r = resolution
    g = (np.arange(r) + 0.5) / r
    U = np.repeat(np.asarray(fixed, dtype=np.float64).reshape(1, d), r * r, axis=0)
    U[:, dims[0]] = np.tile(g, r)
    U[:, dims[1]] = np.repeat(g, r)
    return U


def best_prefix(y: np.ndarray) -> np.ndarray:
    """Best finite value so far after each evaluation (NaN until the first finite one)."""
    yy = np.where(np.isfinite(y), y, np.inf)
    out = np.minimum.accumulate(yy) if len(yy) else yy.copy()
    out[~np.isfinite(out)] = np.nan
    return out


# ---------------------------------------------------------------------------------------------
# the record of one run
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunKey:
    """The values that define one run; two equal keys give the same run (seeded)."""

    objective: str
    method: str
    gamma: float
    budget: int
    optimizer: str
    degree: int
    initial_level: int
    seed: int

    @property
    def strategy_options(self) -> dict[str, Any]:
        """Keyword options for ``core.strategies.make_strategy`` for this key's method."""
        if self.method != "sparse_grid":
            return {}
        return {
            "gamma": self.gamma,
            "initial_level": self.initial_level,
            "degree": self.degree,
            "optimizer": self.optimizer,
        }

    def with_method(self, method: str) -> RunKey:
        """The same experiment with another method (for the race)."""
        return RunKey(
            self.objective, method, self.gamma, self.budget, self.optimizer, self.degree,
            self.initial_level, self.seed,
        )


ROLE_SAMPLE, ROLE_GRID, ROLE_CANDIDATE = 0, 1, 2


@dataclass(frozen=True)
class Frame:
    """One evaluated batch: points ``start..end-1`` (one refinement for sparse grids).

    Attributes
    ----------
    start, end : int
        The batch's rows in :class:`RunData`.
    best : int
        Row of the best finite value among ``0..end-1`` (``-1`` if none).
    best_value : float
    n_grid : int
        Number of sparse-grid points among ``0..end-1`` (the surrogate of this step fits them).
    refinement : core.grid.RefinementStep or None
        The Novak-Ritter selection that created this batch (sparse grid, after step 0).
    label : str
        What the batch is, for the status line.
    seconds : float
        Wall time of the run when the batch was told.
    """

    start: int
    end: int
    best: int
    best_value: float
    n_grid: int = 0
    refinement: Any = None
    label: str = ""
    seconds: float = 0.0


class RunData:
    """Append-only record of one run (see the module docstring for the threading rule)."""

    def __init__(self, key: Any, objective: Any) -> None:
        self.key = key
        self.objective = objective
        self.space = objective.space
        self.d = self.space.dim
        self.budget = int(key.budget)
        cap = self.budget + 4
        d = self.d
        self.U = np.zeros((cap, d))
        self.X = np.zeros((cap, d))
        self.y = np.full(cap, np.nan)
        self.best_so_far = np.full(cap, np.nan)
        self.role = np.zeros(cap, dtype=np.int8)
        self.level_sum = np.zeros(cap, dtype=np.int64)
        self.levels = np.ones((cap, d), dtype=np.int64)
        self.indices = np.ones((cap, d), dtype=np.int64)
        self.info: list[dict | None] = [None] * cap
        self.frames: list[Frame] = []
        self.done = False
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.strategy: Any = None
        # model slices: (dims, step) -> float32 (r, r); written by the worker only
        self.slices: dict[tuple[tuple[int, int], int], np.ndarray] = {}
        self.slice_errors: dict[tuple[tuple[int, int], int], str] = {}
        self.model_kind = {"sparse_grid": "sparse_grid", "bayesian": "gp"}.get(key.method)
        self.created = time.perf_counter()

    # -- reading --------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def n(self) -> int:
        """Number of evaluations recorded so far."""
        return self.frames[-1].end if self.frames else 0

    def fixed_point(self, step: int) -> np.ndarray:
        """Unit-cube point at which the hidden dimensions are held at ``step``: the best so far."""
        if not self.frames:
            return np.full(self.d, 0.5)
        f = self.frames[min(step, len(self.frames) - 1)]
        return self.U[f.best].copy() if f.best >= 0 else np.full(self.d, 0.5)

    def best_config(self, step: int | None = None) -> dict | None:
        """Best configuration (native units) up to ``step`` (default: the last)."""
        if not self.frames:
            return None
        f = self.frames[-1 if step is None else min(step, len(self.frames) - 1)]
        if f.best < 0:
            return None
        return self.space.from_unit(self.U[f.best : f.best + 1])[0]

    # -- writing (worker thread only) -----------------------------------------------------
    def append_batch(
        self,
        U: np.ndarray,
        y: np.ndarray,
        infos: list[dict | None],
        *,
        role: int = ROLE_SAMPLE,
        levels: np.ndarray | None = None,
        indices: np.ndarray | None = None,
        refinement: Any = None,
        label: str = "",
    ) -> Frame:
        """Record a told batch and publish its frame."""
        m = len(U)
        a = self.n
        b = a + m
        if b > len(self.y):  # never expected (strategies respect the budget); grow anyway
            self._grow(b)
        self.U[a:b] = U
        self.X[a:b] = native_coordinates(self.space, U)
        self.y[a:b] = y
        self.role[a:b] = role
        if levels is not None:
            self.levels[a:b] = levels
            self.indices[a:b] = indices
            self.level_sum[a:b] = np.asarray(levels).sum(axis=1)
        for k, info in enumerate(infos):
            self.info[a + k] = info
        self.best_so_far[:b] = best_prefix(self.y[:b])
        prev = self.frames[-1] if self.frames else None
        best, best_value = (prev.best, prev.best_value) if prev else (-1, math.nan)
        yb = np.where(np.isfinite(y), y, np.inf)
        if m and np.isfinite(yb.min()) and (best < 0 or yb.min() < best_value):
            best, best_value = a + int(np.argmin(yb)), float(yb.min())
        n_grid = (prev.n_grid if prev else 0) + (m if role == ROLE_GRID else 0)
        frame = Frame(
            a, b, best, best_value, n_grid, refinement, label, time.perf_counter() - self.created
        )
        self.frames.append(frame)
        return frame

    def _grow(self, need: int) -> None:
        for name in ("U", "X", "y", "best_so_far", "role", "level_sum", "levels", "indices"):
            old = getattr(self, name)
            new = np.zeros((need + 16,) + old.shape[1:], dtype=old.dtype)
            if old.dtype.kind == "f" and old.ndim == 1:
                new[:] = np.nan
            new[: len(old)] = old
            setattr(self, name, new)
        self.info.extend([None] * (need + 16 - len(self.info)))


# ---------------------------------------------------------------------------------------------
# driving a strategy
# ---------------------------------------------------------------------------------------------
def make_strategy_for(key: Any, dim: int) -> Any:
    """The strategy for ``key`` (``core.strategies.make_strategy`` with the key's options)."""
    from core.strategies import make_strategy

    return make_strategy(key.method, dim, key.budget, seed=key.seed, **key.strategy_options)


def _batches(
    objective: Any, strategy: Any, stop: threading.Event, executor: Any = None
) -> Iterator[tuple[np.ndarray, np.ndarray, list[dict | None]]]:
    """Yield ``(U, y, infos)`` per told batch, through :func:`core.run.iterate`."""
    from core import run as core_run

    kwargs: dict[str, Any] = {"stop": stop}
    if executor is not None:
        kwargs["executor"] = executor
    for rec in core_run.iterate(objective, objective.space, strategy, **kwargs):
        evs = list(rec.evaluations)
        if not evs or not getattr(rec, "complete", True):
            continue  # empty end record, or a batch cut short by a stop request (not told)
        U = np.array([np.asarray(e.u, dtype=np.float64) for e in evs]).reshape(-1, strategy.dim)
        y = np.array([float(e.value) for e in evs], dtype=np.float64)
        infos = [dict(e.info) if getattr(e, "info", None) else None for e in evs]
        yield U, y, infos


def _refinement_label(rec: Any, data: RunData) -> str:
    row = rec.refined
    cfg = ", ".join(f"{v:.3g}" for v in data.X[row])
    return f"refined point #{row} ({cfg})"


class RunWorker:
    """Compute one run in a daemon thread, then its model slices (module docstring).

    Parameters
    ----------
    data : RunData
        Where the run is recorded.
    live : bool
        ``True`` for expensive objectives: batches are evaluated only while allowed
        (:meth:`allow`), in ``executor`` if given.
    executor : optional
        Passed to :func:`core.run.iterate` (a bounded process pool for trainings).
    dims : (int, int)
        Dimensions of the first slices to precompute.
    """

    def __init__(
        self,
        data: RunData,
        *,
        live: bool = False,
        executor: Any = None,
        dims: tuple[int, int] = (0, 1),
        resolution: int = MODEL_RESOLUTION,
    ) -> None:
        self.data = data
        self.live = live
        self.executor = executor
        self.resolution = resolution
        self.stop_event = threading.Event()
        self._cond = threading.Condition()
        self._allowed: int | None = None if not live else 0  # batches still allowed; None = all
        self._wanted: tuple[tuple[int, int], int] = (tuple(dims), 0)  # type: ignore[assignment]
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._main, name="explorer-run", daemon=True)

    # -- control (any thread) ---------------------------------------------------------------
    def start(self) -> RunWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the worker to end at the next batch boundary (trainings are cancelled)."""
        self.stop_event.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def allow(self, n: int | None) -> None:
        """Let a live run evaluate ``n`` more batches (``None``: run freely, ``0``: pause)."""
        with self._cond:
            self._allowed = n
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._allowed == 0

    def want(self, dims: tuple[int, int], step: int) -> None:
        """Ask for the slice of ``step`` over ``dims`` to be computed next."""
        key = (tuple(int(v) for v in dims), int(step))
        if key != self._wanted:
            self._wanted = key  # type: ignore[assignment]
            self._wake.set()

    # -- work ---------------------------------------------------------------------------------
    def _wait_allowed(self) -> bool:
        with self._cond:
            while self._allowed == 0 and not self.stop_event.is_set():
                self._cond.wait(0.25)
            if self.stop_event.is_set():
                return False
            if self._allowed is not None:
                self._allowed -= 1
            return True

    def _main(self) -> None:
        data = self.data
        try:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):
                try:
                    self._run()
                finally:
                    data.done = True
                self._precompute_slices()
        except Exception as err:  # shown in the page, never raised into the server
            data.error = f"{type(err).__name__}: {err}"
            data.error_traceback = traceback.format_exc()  # type: ignore[attr-defined]
        finally:
            data.done = True

    def _run(self) -> None:
        data = self.data
        strategy = make_strategy_for(data.key, data.d)
        data.strategy = strategy
        gen = getattr(strategy, "generator", None)
        n_hist = 0
        if self.live and not self._wait_allowed():
            data.stop_reason = "stopped"
            return
        for U, y, infos in _batches(data.objective, strategy, self.stop_event, self.executor):
            role, levels, indices, rec, label = ROLE_SAMPLE, None, None, None, ""
            if gen is not None:
                n_grid_before = data.frames[-1].n_grid if data.frames else 0
                if gen.n_points >= n_grid_before + len(U) and _same_rows(
                    gen.points[n_grid_before : n_grid_before + len(U)], U
                ):
                    role = ROLE_GRID
                    levels = np.asarray(gen.levels[n_grid_before : n_grid_before + len(U)])
                    indices = np.asarray(gen.indices[n_grid_before : n_grid_before + len(U)])
                    hist = gen.history
                    if len(hist) > n_hist:
                        rec = hist[-1]
                        n_hist = len(hist)
                else:
                    role = ROLE_CANDIDATE
                    label = "surrogate optimum checked with the true objective"
            frame = data.append_batch(
                U, y, infos, role=role, levels=levels, indices=indices, refinement=rec,
                label=label,
            )
            if rec is not None:
                object.__setattr__(frame, "label", _refinement_label(rec, data))
            elif role == ROLE_GRID and len(data.frames) == 1:
                object.__setattr__(frame, "label", "initial grid")
            if data.model_kind == "gp":
                self._gp_slice(len(data.frames) - 1)
            elif data.model_kind == "sparse_grid" and self.live:
                self._compute_slice(*self._wanted_now(len(data.frames) - 1))
            if self.stop_event.is_set():
                break
            if self.live and not self._wait_allowed():
                break
        data.stop_reason = "stopped" if self.stop_event.is_set() else strategy.stop_reason

    def _wanted_now(self, latest: int) -> tuple[tuple[int, int], int]:
        dims, _ = self._wanted
        return dims, latest

    # -- model slices -------------------------------------------------------------------------
    def _gp_slice(self, step: int) -> None:
        """GP posterior mean on the wanted dims right after the batch of ``step`` was told."""
        data = self.data
        dims = self._wanted[0]
        if data.d < 2:
            return
        U = slice_points(data.d, dims, data.fixed_point(step), self.resolution // 2)
        try:
            mean, _ = data.strategy.posterior(U)
        except Exception as err:  # a failed fit shows as a message, not a crash
            data.slice_errors[(dims, step)] = str(err)
            return
        r = self.resolution // 2
        data.slices[(dims, step)] = np.asarray(mean, dtype=np.float32).reshape(r, r)

    def _compute_slice(self, dims: tuple[int, int], step: int) -> None:
        """Sparse-grid interpolant of ``step`` on the slice over ``dims``."""
        data = self.data
        key = (dims, step)
        if key in data.slices or key in data.slice_errors or step >= len(data.frames):
            return
        from core.surrogate import fit_surrogate

        frame = data.frames[step]
        m = frame.n_grid
        y = data.y[:m]
        if m == 0 or not np.isfinite(y).any():
            data.slice_errors[key] = "no finite value yet"
            return
        try:
            s = fit_surrogate(data.levels[:m], data.indices[:m], y, degree=data.key.degree)
            if data.d == 1:
                Z = np.asarray(s(((np.arange(self.resolution) + 0.5) / self.resolution)[:, None]))
                Z = np.repeat(Z[None, :], self.resolution, axis=0)
            else:
                _, _, Z = s.evaluate_slice(
                    dims, fixed=data.fixed_point(step), resolution=self.resolution
                )
        except Exception as err:
            data.slice_errors[key] = f"{type(err).__name__}: {err}"
            return
        data.slices[key] = np.asarray(Z, dtype=np.float32)

    def _next_slice(self) -> tuple[tuple[int, int], int] | None:
        data = self.data
        dims, step = self._wanted
        n = len(data.frames)
        for k in (*range(step, n), *range(0, min(step, n))):
            if (dims, k) not in data.slices and (dims, k) not in data.slice_errors:
                return dims, k
        return None

    def _precompute_slices(self) -> None:
        data = self.data
        if data.model_kind != "sparse_grid" or data.d < 1:
            return
        while not self.stop_event.is_set():
            self._wake.clear()
            job = self._next_slice()
            if job is None:
                self._wake.wait(1.0)
                if self._idle_exit():
                    return
                continue
            self._compute_slice(*job)

    def _idle_exit(self) -> bool:
        """Keep the thread for slice requests while the run is shown (until stopped)."""
        return self.stop_event.is_set()


def _same_rows(A: np.ndarray, B: np.ndarray) -> bool:
    return A.shape == B.shape and bool(np.all(np.abs(np.asarray(A) - B) <= 1e-12))


# ---------------------------------------------------------------------------------------------
# sharing cheap runs between sessions
# ---------------------------------------------------------------------------------------------
class RunStore:
    """Server-wide cache of cheap runs by key, with reference counts.

    A finished run is immutable apart from its slice cache, so sessions asking for the same key
    share one :class:`RunData` and one :class:`RunWorker`. The worker of a run nobody uses any
    more is stopped; finished runs stay cached (least recently used first out).
    """

    def __init__(self, max_runs: int = 24) -> None:
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._runs: OrderedDict[Any, tuple[RunData, RunWorker]] = OrderedDict()
        self._refs: dict[Any, int] = {}

    def acquire(
        self, key: Any, objective: Any, dims: tuple[int, int] = (0, 1)
    ) -> tuple[RunData, RunWorker]:
        with self._lock:
            entry = self._runs.get(key)
            if entry is not None and (entry[0].error is None):
                self._runs.move_to_end(key)
                if not entry[1].alive and not entry[1].stop_event.is_set():
                    pass
                if entry[1].stop_event.is_set() and not entry[0].done:
                    entry = None  # an unfinished run was stopped: compute again
            if entry is None or entry[0].error is not None:
                data = RunData(key, objective)
                worker = RunWorker(data, dims=dims)
                entry = (data, worker)
                self._runs[key] = entry
                worker.start()
            self._refs[key] = self._refs.get(key, 0) + 1
            self._evict()
            return entry

    def release(self, key: Any) -> None:
        with self._lock:
            refs = self._refs.get(key, 0) - 1
            if refs > 0:
                self._refs[key] = refs
                return
            self._refs.pop(key, None)
            entry = self._runs.get(key)
            if entry is not None and not entry[0].done:
                entry[1].stop()
                self._runs.pop(key, None)
            elif entry is not None:
                entry[1].stop()  # finished: only the slice thread stops; data stays cached

    def _evict(self) -> None:
        while len(self._runs) > self.max_runs:
            for key in list(self._runs):
                if self._refs.get(key, 0) == 0:
                    data, worker = self._runs.pop(key)
                    worker.stop()
                    break
            else:
                return

    def restart_slices(self, key: Any) -> RunWorker | None:
        """A finished cached run whose slice thread was stopped gets a fresh slice worker."""
        with self._lock:
            entry = self._runs.get(key)
            if entry is None:
                return None
            data, worker = entry
            if worker.alive:
                return worker
            new = _SliceOnlyWorker(data, dims=worker._wanted[0]).start()
            self._runs[key] = (data, new)
            return new


class _SliceOnlyWorker(RunWorker):
    """Precomputes slices of an already finished run (its worker was stopped)."""

    def _main(self) -> None:
        try:
            self._precompute_slices()
        except Exception as err:
            self.data.error = f"{type(err).__name__}: {err}"


# ---------------------------------------------------------------------------------------------
# race and gamma strip (run in the background process pool)
# ---------------------------------------------------------------------------------------------
@dataclass
class RaceResult:
    """Outcome of one method on one experiment, for the convergence race and results table."""

    method: str
    n: np.ndarray  # evaluations 1..nfev
    best: np.ndarray  # best finite value after each evaluation
    best_config: dict | None
    best_value: float
    nfev: int
    seconds: float
    accuracy: float | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


def race_result(key: Any, objective: Any) -> RaceResult:
    """Run ``key.method`` on ``objective`` to the end (no slices) and summarize it."""
    t0 = time.perf_counter()
    data = RunData(key, objective)
    try:
        strategy = make_strategy_for(key, data.d)
        for U, y, infos in _batches(objective, strategy, threading.Event()):
            data.append_batch(U, y, infos)
    except Exception as err:
        return RaceResult(
            key.method, np.zeros(0), np.zeros(0), None, math.nan, data.n,
            time.perf_counter() - t0, error=f"{type(err).__name__}: {err}",
        )
    return summarize(data, time.perf_counter() - t0)


def summarize(data: RunData, seconds: float | None = None) -> RaceResult:
    """A :class:`RaceResult` from a (possibly unfinished) :class:`RunData`."""
    n = data.n
    best_row = data.frames[-1].best if data.frames else -1
    acc = None
    if best_row >= 0 and data.info[best_row]:
        acc = data.info[best_row].get("accuracy")
    return RaceResult(
        data.key.method,
        np.arange(1, n + 1, dtype=np.float64),
        data.best_so_far[:n].copy(),
        data.best_config(),
        data.frames[-1].best_value if data.frames else math.nan,
        n,
        data.frames[-1].seconds if seconds is None and data.frames else (seconds or 0.0),
        None if acc is None else float(acc),
    )


def gamma_strip(
    objective: Any, budget: int, initial_level: int, gammas: tuple[float, ...] = (0.0, 0.5, 1.0)
) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Novak-Ritter grids (no surrogate optimizer) at several ``gammas``, same budget.

    Returns
    -------
    dict
        ``gamma -> (U, y, level_sum)``: points ``U`` of shape ``(n, d)`` in storage order,
        their values ``(n,)`` and level sums ``(n,)``.
    """
    out = {}
    for gamma in gammas:
        key = RunKey("strip", "sparse_grid", float(gamma), budget, "none", 1, initial_level, 0)
        data = RunData(key, objective)
        strategy = make_strategy_for(key, data.d)
        for U, y, infos in _batches(objective, strategy, threading.Event()):
            data.append_batch(U, y, infos)
        n = data.n
        out[float(gamma)] = (
            data.U[:n].copy(), data.y[:n].copy(), np.asarray(strategy.generator.level_sums).copy()
        )
    return out


# ---------------------------------------------------------------------------------------------
# the server-wide background pool
# ---------------------------------------------------------------------------------------------
_POOL_LOCK = threading.Lock()
_POOL: Any = None


def _init_background_worker() -> None:  # pragma: no cover - runs in the child process
    """One compute thread, lower priority: the server process keeps the CPU for animation."""
    from core.executors import worker_init

    worker_init()
    try:
        os.nice(10)
    except OSError:
        pass


def background_pool() -> Any:
    """The server-wide pool (one niced worker process) for races and gamma strips."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from core.executors import ProcessPool

            _POOL = ProcessPool(1, initializer=_init_background_worker)
        return _POOL


def submit(fn: Callable[..., Any], *args: Any) -> Future:
    """Submit ``fn(*args)`` to :func:`background_pool`."""
    return background_pool().submit(fn, *args)


# ---------------------------------------------------------------------------------------------
# the true landscape on a slice
# ---------------------------------------------------------------------------------------------
def truth_slice(
    objective: Any, dims: tuple[int, int], fixed: np.ndarray, resolution: int = MODEL_RESOLUTION
) -> np.ndarray | None:
    """The objective on the image grid of :func:`slice_points`, or ``None`` if unknown.

    Test functions are evaluated directly (vectorized, microseconds). A 2-D neural-network
    objective uses its stored landscape (``core.objectives.landscapes``, coarse but true);
    higher-dimensional trainings have no affordable truth.

    Returns
    -------
    ndarray of float32, shape (r, r) or (n2, n1) for a stored landscape; ``Z[j, i]`` has
    ``u[dims[0]]`` from the ``i``-th column and ``u[dims[1]]`` from the ``j``-th row.
    """
    d = objective.space.dim
    if getattr(objective, "kind", "") == "test_function" and hasattr(objective, "evaluate_unit"):
        if d == 1:
            g = (np.arange(resolution) + 0.5) / resolution
            z = objective.evaluate_unit(g[:, None])
            return np.repeat(np.asarray(z, np.float32)[None, :], resolution, axis=0)
        U = slice_points(d, dims, fixed, resolution)
        return np.asarray(objective.evaluate_unit(U), dtype=np.float32).reshape(
            resolution, resolution
        )
    proxy = landscape_objective(objective)
    if proxy is None:
        return None
    U = slice_points(2, tuple(dims), np.full(2, 0.5), resolution)
    return np.asarray(proxy.evaluate_unit(U), dtype=np.float32).reshape(resolution, resolution)


@dataclass(frozen=True, eq=False)
class LandscapeObjective:
    """A 2-D training objective replaced by its stored landscape (bilinear in the unit square).

    Used only for display: the truth heatmap at the views' resolution and the gamma strip of a
    neural-network objective, whose true values would each cost a training.

    Attributes
    ----------
    name, title, metric : str
    space : SearchSpace
        The objective's own space (so configurations print in native units).
    u1, u2 : ndarray, shape (n1,), (n2,)
        Cell midpoints of the stored grid in the unit square.
    values : ndarray, shape (n2, n1)
    """

    name: str
    title: str
    metric: str
    space: Any
    u1: np.ndarray
    u2: np.ndarray
    values: np.ndarray
    kind: str = "test_function"
    f_opt: Any = None
    x_opt: Any = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def evaluate_unit(self, U: Any) -> np.ndarray:
        """Bilinear interpolation at unit-square points ``U`` (shape (m, 2)) -> (m,)."""
        from scipy.interpolate import RegularGridInterpolator

        V = np.asarray(self.values, dtype=np.float64)
        if np.isnan(V).any():  # failed trainings: the worst value, as the strategies do
            V = np.where(np.isnan(V), np.nanmax(V), V)
        f = RegularGridInterpolator((self.u2, self.u1), V, method="linear", bounds_error=False,
                                    fill_value=None)
        U = np.asarray(U, dtype=np.float64).reshape(-1, 2)
        P = np.column_stack([  # constant beyond the outer cell midpoints, never extrapolated
            np.clip(U[:, 1], self.u2[0], self.u2[-1]), np.clip(U[:, 0], self.u1[0], self.u1[-1])
        ])
        return f(P)

    def __call__(self, config: dict) -> float:
        return float(self.evaluate_unit(self.space.to_unit(config))[0])


_LANDSCAPES: dict[tuple[str, str], LandscapeObjective | None] = {}


def landscape_objective(objective: Any) -> LandscapeObjective | None:
    """The stored-landscape stand-in of a 2-D objective, or ``None`` without a landscape.

    Files are read once per server process (they are a few kB and never change while it runs).
    """
    if objective.space.dim != 2 or not getattr(objective, "name", ""):
        return None
    key = (objective.name, repr(objective.space))
    if key not in _LANDSCAPES:
        _LANDSCAPES[key] = _load_landscape_objective(objective)
    return _LANDSCAPES[key]


def _load_landscape_objective(objective: Any) -> LandscapeObjective | None:
    try:
        from core.objectives.landscapes import load_landscape

        land = load_landscape(objective.name)
    except Exception:  # a missing or unreadable file only means "no truth to show"
        return None
    if land is None:
        return None
    return LandscapeObjective(
        objective.name, getattr(objective, "title", objective.name),
        getattr(objective, "metric", "f"), objective.space, land.u1, land.u2, land.values,
    )


# ---------------------------------------------------------------------------------------------
# the race, shared by every session of the server
# ---------------------------------------------------------------------------------------------
class RaceService:
    """Races and gamma strips computed once per key in the background pool, cached for all.

    ``get`` never blocks: it returns the finished value or ``None`` (and submits the work the
    first time). ``release`` cancels work nobody waits for any more, if it has not started.
    """

    def __init__(self, max_items: int = 256, submit_fn: Callable[..., Future] | None = None):
        self._lock = threading.Lock()
        self._done: OrderedDict[Any, Any] = OrderedDict()
        self._futures: dict[Any, Future] = {}
        self._interest: dict[Any, int] = {}
        self._max = max_items
        self._submit = submit_fn or submit

    def get(self, key: Any, fn: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            fut = self._futures.get(key)
            if fut is None:
                try:
                    fut = self._submit(fn, *args)
                except Exception as err:  # a broken pool: report, do not crash the session
                    self._done[key] = err
                    return err
                self._futures[key] = fut
                return None
            if not fut.done():
                return None
            self._futures.pop(key)
            try:
                value = fut.result()
            except Exception as err:
                value = err
            if not isinstance(value, BaseException):
                self._done[key] = value
                while len(self._done) > self._max:
                    self._done.popitem(last=False)
            return value

    def hold(self, key: Any) -> None:
        with self._lock:
            self._interest[key] = self._interest.get(key, 0) + 1

    def release(self, key: Any) -> None:
        with self._lock:
            k = self._interest.get(key, 0) - 1
            if k > 0:
                self._interest[key] = k
                return
            self._interest.pop(key, None)
            fut = self._futures.get(key)
            if fut is not None and fut.cancel():
                self._futures.pop(key, None)


# ---------------------------------------------------------------------------------------------
# trainings: a bounded process pool shared by every session
# ---------------------------------------------------------------------------------------------
_TRAIN_LOCK = threading.Lock()
_TRAIN_EXECUTOR: Any = None
#: Worker processes for live trainings, shared by all sessions of the server.
TRAINING_WORKERS = 2


def training_executor() -> Any:
    """The server-wide executor for neural-network evaluations (``core.executors``)."""
    global _TRAIN_EXECUTOR
    with _TRAIN_LOCK:
        if _TRAIN_EXECUTOR is None:
            from core.executors import make_executor

            _TRAIN_EXECUTOR = make_executor(
                "process", n_workers=TRAINING_WORKERS, initializer=_init_background_worker
            )
        return _TRAIN_EXECUTOR
