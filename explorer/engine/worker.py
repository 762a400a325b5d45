"""Computing a run in a worker thread (and its model slices), and sharing runs."""

from __future__ import annotations

import threading
import traceback
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from explorer.engine.record import ROLE_CANDIDATE, ROLE_GRID, ROLE_SAMPLE, RunData
from explorer.engine.units import MODEL_RESOLUTION, dyadic_levels, slice_points


def make_strategy_for(key: Any, dim: int) -> Any:
    """The strategy for ``key`` (``core.strategies.make_strategy`` with the key's options)."""
    from core.strategies import make_strategy

    return make_strategy(key.method, dim, key.budget, seed=key.seed, **key.strategy_options)


def animation_batch(method: str, budget: int, live: bool, n_workers: int = 2) -> int | None:
    """Points per evaluated batch, so that the animation has steps worth watching.

    Sparse grids keep their natural batch (one refinement, ``2 d`` points) when replayed; other
    methods are replayed in batches of one point (at most about 150 steps per run). Live
    trainings go ``n_workers`` at a time, so each finished training shows soon.
    """
    if live:
        return n_workers
    if method == "sparse_grid":
        return None
    return max(1, round(budget / 150))


def _batches(
    objective: Any,
    strategy: Any,
    stop: threading.Event,
    executor: Any = None,
    max_batch: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, list[dict | None]]]:
    """Yield ``(U, y, infos)`` per told batch, through :func:`core.run.iterate`."""
    from core import run as core_run

    kwargs: dict[str, Any] = {"stop": stop, "max_batch": max_batch}
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


def executor_workers(executor: Any) -> int:
    """Parallel workers of ``executor`` (1 when unknown or inline)."""
    if executor is None:
        return 1
    from core.executors import executor_workers as workers

    return max(1, workers(executor) or 1)


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
        batch = animation_batch(data.key.method, data.budget, self.live,
                                executor_workers(self.executor))
        for U, y, infos in _batches(
            data.objective, strategy, self.stop_event, self.executor, batch
        ):
            role, levels, indices, rec, label = ROLE_SAMPLE, None, None, None, ""
            if gen is not None:
                # Grid points come first, in the generator's storage order, possibly in parts
                # of a refinement's batch (live runs); the candidates follow in their phase.
                if getattr(strategy, "phase", "grid") == "grid":
                    role = ROLE_GRID
                    levels, indices = dyadic_levels(U)
                    hist = gen.history
                    if len(hist) > n_hist:  # the refinement whose batch is now complete
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
