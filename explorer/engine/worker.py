"""Computing a run in a worker thread through :func:`core.run.iterate`, and its model images.

:class:`RunWorker` is the only place where the explorer drives a strategy. Cheap objectives run
to the end at once and are replayed; expensive ones (trainings, user objectives) run live, batch
by batch, only while the viewer lets them (:meth:`RunWorker.allow`). After each batch the worker
records what the strategy knows about it (grid levels from its generator, the refinement, the
surrogate's prediction at a checked candidate); then it computes model images, the step the
viewer wants first.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np

from explorer.engine.record import ROLE_CANDIDATE, ROLE_GRID, ROLE_SAMPLE, RunRecord
from explorer.engine.units import MODEL_RESOLUTION, slice_points

__all__ = ["RunWorker", "animation_batch", "make_strategy_for", "record_batches", "record_run"]


def make_strategy_for(key: Any, dim: int) -> Any:
    """The strategy for ``key`` (``core.strategies.make_strategy`` with the key's options)."""
    from core.strategies import make_strategy

    return make_strategy(key.method, dim, key.budget, seed=key.seed, **key.strategy_options)


def animation_batch(method: str, budget: int, live: bool, n_workers: int = 2) -> int | None:
    """Points per evaluated batch, so that the animation has steps worth watching.

    Strategies with a model keep their natural batch (one refinement, one proposal) when
    replayed; others propose everything at once and are replayed in batches of one point (at
    most about 150 steps per run). Live runs go ``n_workers`` at a time, so each finished
    evaluation shows soon.
    """
    if live:
        return n_workers
    from core.strategies import STRATEGIES

    if STRATEGIES[method].has_model:
        return None
    return max(1, round(budget / 150))


def executor_workers(executor: Any) -> int:
    """Parallel workers of ``executor`` (1 when unknown or inline)."""
    if executor is None:
        return 1
    from core.executors import executor_workers as workers

    return max(1, workers(executor) or 1)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def record_run(
    record: RunRecord,
    strategy: Any,
    stop: threading.Event,
    *,
    executor: Any = None,
    max_batch: int | None = None,
    wait: Any = None,
    after_batch: Any = None,
) -> None:
    """Drive ``strategy`` on the record's objective and append every told batch to ``record``.

    ``wait()`` is asked before each batch (False ends the run); ``after_batch(k)`` runs after
    frame ``k`` was published.
    """
    if wait is not None and not wait():
        record.stop_reason = "stopped"
        return
    batches = record_batches(record, strategy, stop, executor=executor, max_batch=max_batch,
                             after_batch=after_batch)
    for _ in batches:
        if wait is not None and not wait():
            break
    batches.close()


def record_batches(
    record: RunRecord,
    strategy: Any,
    stop: threading.Event,
    *,
    executor: Any = None,
    max_batch: int | None = None,
    after_batch: Any = None,
) -> Any:
    """:func:`record_run` one batch at a time: a generator that yields each published frame's
    index, and evaluates the next batch only when asked for the next value. Closing it ends
    the run (``record.stop_reason`` is then set)."""
    from core import run as core_run

    record.strategy = strategy
    if callable(getattr(strategy, "posterior", None)):  # its images: the posterior's mean
        record.model_kind = "gp_posterior"
    kwargs: dict[str, Any] = {"stop": stop, "max_batch": max_batch}
    if executor is not None:
        kwargs["executor"] = executor
    obj = record.objective
    journal = getattr(obj, "journal_path", None)
    if journal is not None:  # a journal: core's replay answers the strategy from the file
        batches = core_run.replay(journal, follow=obj.follow, stop=stop, strategy=strategy)
    else:
        batches = core_run.iterate(obj, obj.space, strategy, **kwargs)
    try:
        for batch in batches:
            if batch.done:
                record.stop_reason = batch.stop_reason
            if not batch.evaluations or not batch.complete:
                continue  # the empty end record, or a batch cut short by a stop request
            record_batch(record, batch)
            if after_batch is not None:
                after_batch(record.n_frames - 1)
            if stop.is_set():
                break
            yield record.n_frames - 1
    finally:
        batches.close()  # a replay's journal stream is closed with it
        if stop.is_set():
            record.stop_reason = "stopped"
        elif record.stop_reason is None:
            record.stop_reason = strategy.stop_reason


#: Origin kinds (``core.records.ORIGIN_KINDS``) of points a model proposed and the objective
#: checked: drawn as diamonds, labelled with the prediction.
CHECKED_KINDS = ("candidate", "model_step", "local_step")
#: How a status line names the model behind a prediction (``core.records.ORIGIN_MODELS``).
MODEL_WORDS = {"sparse_grid_surrogate": "surrogate", "local_quadratic": "trust-region model",
               "gp_posterior": "GP"}


def record_batch(record: RunRecord, batch: Any) -> None:
    """Append a told batch to ``record`` with what its points are, read from each
    evaluation's :class:`core.records.Origin` (kind, prediction, path, the refinement or
    selection that made it, grid levels)."""
    from core.records import SAMPLE

    evs = list(batch.evaluations)
    origins = [ev.origin or SAMPLE for ev in evs]
    a = record.n
    kinds = {o.kind for o in origins}
    grid = [o.kind == "grid" and o.stage == 0 and o.levels is not None for o in origins]
    if all(grid):
        role = ROLE_GRID
        record.set_levels(np.array([o.levels for o in origins]),
                          np.array([o.indices for o in origins]), start=a)
    elif kinds & set(CHECKED_KINDS):
        role = ROLE_CANDIDATE
    else:
        role = ROLE_SAMPLE
    level_sums = [int(np.sum(o.levels)) if o.levels is not None else 0 for o in origins]
    predicted = np.array([o.prediction for o in origins], dtype=np.float64)
    for k, o in enumerate(origins):
        if o.path is not None and len(o.path):
            record.paths[a + k] = np.asarray(o.path, np.float64)
    first = origins[0]
    # the selection rides on the first point of its batch; a batch shown in several frames
    # (one point at a time, or as live workers finish) keeps it for the rest
    where_from = (first.kind, first.stage, first.refinement)
    selection = first.selection or record.selections.get(where_from)
    if first.selection is not None:
        record.selections[where_from] = first.selection
    if role == ROLE_CANDIDATE:
        label = _checked_label(record, evs, origins)
    elif selection is not None:
        where = ", ".join(_fmt(v) for v in record.X[selection.refined])
        verb = "refined point" if first.kind == "grid" else "drawn around point"
        label = f"{verb} #{selection.refined} ({where})"
    elif first.refinement == 0 and a == 0:
        label = "initial grid" if first.kind == "grid" else "initial points"
    else:
        label = ""
    record.append(batch, role=role, refinement=selection, label=label,
                  predicted=predicted if np.isfinite(predicted).any() else None,
                  level_sums=level_sums)


def _checked_label(record: RunRecord, evs: list[Any], origins: list[Any]) -> str:
    """What a batch of checked model proposals found: per point the model's prediction and
    the true value."""
    metric = getattr(record.objective, "metric", "f")
    parts = []
    for ev, o in zip(evs, origins, strict=True):
        x = ", ".join(_fmt(v) for v in native_row(record, ev.u))
        true = _fmt(ev.value) if np.isfinite(ev.value) else "failed"
        model = MODEL_WORDS.get(o.model or "", o.model or "model")
        pred = (f"{model} predicted {_fmt(o.prediction)} at ({x})"
                if np.isfinite(o.prediction) else f"({x})")
        parts.append(f"{pred}; true {metric} = {true}")
    return "; ".join(parts[:2]) + (" …" if len(parts) > 2 else "")


def native_row(record: RunRecord, u: np.ndarray) -> np.ndarray:
    from explorer.engine.units import native_coordinates

    return native_coordinates(record.space, np.asarray(u)[None, :])[0]


class RunWorker:
    """Compute one run in a daemon thread, then its model images (module docstring).

    Parameters
    ----------
    record : RunRecord
    live : bool
        Batches are evaluated only while allowed (:meth:`allow`), in ``executor`` if given.
    executor : optional
        Passed to :func:`core.run.iterate`.
    dims : (int, int)
        Dimensions of the first model images to compute.
    inline : bool
        No thread: :meth:`start` computes a cheap run to its end in the calling thread, a live
        run evaluates its batches inside :meth:`allow`, and :meth:`want` computes the model
        image asked for at once (tests and scripts that need no concurrency).
    """

    def __init__(
        self,
        record: RunRecord,
        *,
        live: bool = False,
        executor: Any = None,
        dims: tuple[int, int] = (0, 1),
        resolution: int = MODEL_RESOLUTION,
        compute: bool = True,
        inline: bool = False,
    ) -> None:
        self.record = record
        self.inline = inline
        self._batches: Any = None
        self.live = live
        self.executor = executor
        self.resolution = resolution
        self.compute = compute
        self.stop_event = threading.Event()
        self._cond = threading.Condition()
        self._allowed: int | None = None if not live else 0  # None: run freely, 0: paused
        self._wanted: tuple[tuple[int, int], int] = (tuple(dims), 0)  # type: ignore[assignment]
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._main, name="explorer-run", daemon=True)

    # -- control (any thread) ---------------------------------------------------------------
    def start(self) -> RunWorker:
        if not self.inline:
            self._thread.start()
        elif self.live:
            self._batches = self._record()
        else:
            self._main()
        return self

    def stop(self) -> None:
        """End at the next batch boundary (pending trainings are cancelled by the driver)."""
        self.stop_event.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        if self._batches is not None:  # inline: the run ends here
            self._batches.close()
            self.record.done = True

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() or (self._batches is not None and not self.record.done)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def allow(self, n: int | None) -> None:
        """Let a live run evaluate ``n`` more batches (``None``: freely, ``0``: pause)."""
        if self._batches is not None:  # inline: evaluate now
            self._step_inline(n)
            return
        with self._cond:
            self._allowed = n
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._allowed == 0

    def want(self, dims: tuple[int, int], step: int) -> None:
        """Ask for the model image of ``step`` over ``dims`` next."""
        key = (tuple(int(v) for v in dims), int(step))
        if key != self._wanted:
            self._wanted = key  # type: ignore[assignment]
            self._wake.set()
        if self.inline and self.record.has_model and \
                self.record.model_kind == "sparse_grid_surrogate":
            self._compute_slice(*key)  # type: ignore[arg-type]

    # -- work -------------------------------------------------------------------------------
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
        record = self.record
        try:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):
                if self.compute:
                    try:
                        self._run()
                    finally:
                        record.done = True
                if not self.inline:
                    self._precompute_slices()
        except Exception as err:  # shown in the page, never raised into the server
            self._failed(err)
        finally:
            record.done = True

    def _failed(self, err: BaseException) -> None:
        self.record.error = f"{type(err).__name__}: {err}"
        self.record.error_traceback = traceback.format_exc()  # type: ignore[attr-defined]

    def _strategy_and_batch(self) -> tuple[Any, int | None]:
        record = self.record
        replay = getattr(record.objective, "replay_strategy", None)
        if callable(replay):  # an optuna study: its trials in order (explorer.study)
            return replay(self.stop_event)
        strategy = make_strategy_for(record.key, record.d)
        batch = animation_batch(record.key.method, record.budget, self.live,
                                executor_workers(self.executor))
        fixed = getattr(record.objective, "fixed_run", None)
        if fixed is not None:  # a replayed journal: the same batches as the journaled run
            batch = fixed["max_batch"]
        return strategy, batch

    def _run(self) -> None:
        strategy, batch = self._strategy_and_batch()
        record_run(
            self.record, strategy, self.stop_event, executor=self.executor, max_batch=batch,
            wait=self._wait_allowed if self.live else None, after_batch=self._after_batch,
        )

    def _record(self) -> Any:
        """An inline live run's batches (:func:`record_batches`), evaluated on demand."""
        strategy, batch = self._strategy_and_batch()
        return record_batches(self.record, strategy, self.stop_event, executor=self.executor,
                              max_batch=batch, after_batch=self._after_batch)

    def _step_inline(self, n: int | None) -> None:
        """Evaluate ``n`` more batches of an inline live run now (``None``: all of them)."""
        record = self.record
        count = 0
        while (n is None or count < n) and not record.done and not self.stop_event.is_set():
            try:
                next(self._batches)
            except StopIteration:
                record.done = True
            except Exception as err:
                self._failed(err)
                record.done = True
            count += 1

    def _after_batch(self, step: int) -> None:
        record = self.record
        if not record.has_model:
            return
        if record.model_kind == "gp_posterior":
            self._posterior_slice(step)  # the model changes with every batch: now or never
        elif self.live:
            self._compute_slice(self._wanted[0], step)

    # -- model images -----------------------------------------------------------------------
    def _posterior_slice(self, step: int) -> None:
        """The strategy's posterior mean on the wanted dims right after batch ``step``."""
        record = self.record
        dims = self._wanted[0]
        if record.d < 2:
            return
        r = self.resolution // 2
        U = slice_points(record.d, dims, record.fixed_point(step), r)
        try:
            mean, _ = record.strategy.posterior(U)
        except Exception as err:  # a failed fit shows as a message, not a crash
            record.slice_errors[(dims, step)] = str(err)
            return
        record.slices[(dims, step)] = np.asarray(mean, dtype=np.float32).reshape(r, r)

    def _compute_slice(self, dims: tuple[int, int], step: int) -> None:
        """The sparse-grid interpolant of ``step`` on the slice over ``dims``."""
        record = self.record
        key = (dims, step)
        # the dicts of now: images dropped meanwhile (a stopped worker's run) stay dropped
        slices, errors = record.slices, record.slice_errors
        if key in slices or key in errors or step >= len(record.frames):
            return
        from core.surrogate import fit_surrogate

        fitted = getattr(record.objective, "surrogate", None)  # scattered points: a fit
        m = record.frames[step].end if fitted else min(record.frames[step].n_grid,
                                                         record.levels_known)
        y = record.y[:m]
        if m == 0 or not np.isfinite(y).any():
            errors[key] = "no finite value yet"
            return
        try:
            s = fitted(record.U[:m], y) if fitted else fit_surrogate(
                record.levels[:m], record.indices[:m], y, degree=record.key.option("degree", 3))
            if record.d == 1:
                g = (np.arange(self.resolution) + 0.5) / self.resolution
                Z = np.repeat(np.asarray(s(g[:, None]))[None, :], self.resolution, axis=0)
            else:
                _, _, Z = s.evaluate_slice(dims, fixed=record.fixed_point(step),
                                           resolution=self.resolution)
        except Exception as err:
            errors[key] = f"{type(err).__name__}: {err}"
            return
        slices[key] = np.asarray(Z, dtype=np.float32)

    def _next_slice(self) -> tuple[tuple[int, int], int] | None:
        record = self.record
        dims, step = self._wanted
        n = len(record.frames)
        for k in (*range(step, n), *range(0, min(step, n))):
            if (dims, k) not in record.slices and (dims, k) not in record.slice_errors:
                return dims, k
        return None

    def _precompute_slices(self) -> None:
        """Sparse-grid images of every step, the wanted one first, until stopped."""
        record = self.record
        if not record.has_model or record.model_kind == "gp_posterior":
            return
        while not self.stop_event.is_set():
            self._wake.clear()
            job = self._next_slice()
            if job is None:
                self._wake.wait(1.0)
                continue
            self._compute_slice(*job)
