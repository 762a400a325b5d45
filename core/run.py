"""The driver: the only code that calls objectives (docs/architecture.md, "The single
driver").

:func:`iterate` runs the ask -> evaluate -> tell loop of a strategy and yields one
:class:`~core.records.Batch` per ask/tell cycle; :func:`minimize` builds the strategy by name,
the evaluation backend and the journal, and collects the run into a
:class:`~core.records.RunResult`.

Policies
--------
Budget
    A run never records more evaluations than the strategy's ``n_evals`` (``res.nfev <=
    n_evals``); a strategy that asks beyond it is a protocol error (``RuntimeError``). The
    strategy runs inside :class:`~core.strategies.distinct.DistinctSearch`: a configuration is
    evaluated once (integer and categorical parameters map many points to one), and budget the
    strategy leaves goes to configurations not tried yet; a run that ends below ``n_evals``
    says why in :attr:`~core.records.RunResult.stop_detail`. :func:`minimize` refuses a budget
    below the method's :meth:`~core.strategies.base.Strategy.min_budget` for the space before
    anything runs.
Failures
    An objective that raises (an ``Exception`` in ``catch``), returns NaN, +inf, -inf, a
    :class:`~core.result.Measurement` with such a value, or something that is not a number, is
    recorded as a failed evaluation (``value`` NaN, ``error`` kept, naming the objective when its
    value is an int beyond float64) and the strategy is told NaN; the run goes on. One number
    in a list, tuple or array counts as that number. The same holds for evaluations the backend
    loses (a worker process that dies, a Dask worker lost mid-task). ``catch=()`` makes objective
    exceptions propagate instead.
Order
    Evaluations complete in any order on parallel backends (and are journaled as they
    complete), but the history and every :class:`~core.records.Batch` are in asked order, so a
    seeded run gives the same history on every backend.
Batches
    ``ask(max_points=max_batch)``: the strategy decides the batch size up to ``max_batch``
    (``None``: its natural batch, bounded by the remaining budget; random and grid search
    propose at most ``core.strategies.random_search.NATURAL_BATCH`` points per ask, so memory
    never grows with the budget). With ``n`` parallel workers
    and a strategy that proposes one point at a time (Bayesian optimization), pass
    ``max_batch=n`` to keep the workers busy. Results of adaptive strategies depend on
    ``max_batch``; it is part of a run's identity and is stored in the journal.
Stop
    ``stop`` is any object with ``is_set()`` (a :class:`threading.Event`). It is checked before
    each ask, before each submission and every 50 ms while waiting. A stop ends the run with
    what was done: completed evaluations are recorded, pending ones cancelled, running ones
    abandoned (their results dropped), and the strategy is stopped with reason ``"stopped"``.
    The serial backend cannot interrupt an evaluation in progress.
Journal and resume
    ``journal=path`` appends every evaluation as it completes (see :mod:`core.journal`).
    ``resume=True`` replays a fresh strategy: each asked point is matched by its history index
    to the journal (bit-exact ``u``), re-told without re-evaluation, and missing points
    (in flight at a kill) are evaluated. A seeded run resumed this way ends at exactly the
    result of an uninterrupted run.
"""

from __future__ import annotations

import bisect
import math
import os
import pickle
import sys
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core._validation import check_int
from core.executors import (
    DaskExecutor,
    ProcessPool,
    SerialExecutor,
    executor_workers,
    make_executor,
)
from core.journal import (
    JournalWriter,
    check_journal_path,
    make_header,
    open_journal,
    to_json,
)
from core.records import SAMPLE, Batch, Evaluation, Origin, RunResult
from core.result import Measurement
from core.space import SearchSpace

if TYPE_CHECKING:
    from core.strategies.base import Strategy

__all__ = ["Batch", "Evaluation", "RunResult", "iterate", "minimize", "replay"]

_POLL_SECONDS = 0.05
_Outcome = tuple  # (value: float, status: str, error: str | None, info: dict, seconds: float)


# -- the one place that calls an objective -------------------------------------------------------
def _evaluate(fun: Callable[[dict], Any], config: dict, catch: tuple) -> _Outcome:
    """Call ``fun(config)`` and classify the outcome; runs in the worker (picklable)."""
    t0 = time.perf_counter()
    try:
        out = fun(config)
    except catch as exc:
        seconds = time.perf_counter() - t0
        info = {"traceback": traceback.format_exc()}
        return math.nan, "failed", f"{type(exc).__name__}: {exc}", info, seconds
    seconds = time.perf_counter() - t0
    value, error, info = _classify(out, fun)
    return value, ("ok" if error is None else "failed"), error, info, seconds


def _objective_name(fun: Any) -> str:
    """How messages name the objective ``fun``: its ``name``, else its qualified name."""
    name = getattr(fun, "name", None)
    if not isinstance(name, str):
        name = getattr(fun, "__qualname__", None) or type(fun).__qualname__
    return f"objective {name!r}"


def _classify(out: Any, fun: Any = None) -> tuple[float, str | None, dict]:
    info: dict = {}
    what = "value"
    raw = out
    if isinstance(out, Measurement):
        info = dict(out.info)
        raw = out.value
        what = "Measurement value"
    given_array = isinstance(raw, np.ndarray)
    if isinstance(raw, (list, tuple)):  # a sequence of one number counts as an array does
        try:
            as_array = np.asarray(raw)
        except (TypeError, ValueError):
            as_array = None
        if as_array is not None and as_array.dtype.kind in "biuf":
            raw = as_array
    if isinstance(raw, np.ndarray) and raw.size == 1:
        raw = raw.reshape(()).item()
    if isinstance(raw, np.ndarray):  # several numbers, or none
        return math.nan, (
            f"TypeError: the objective must return a float or a Measurement, got "
            f"{'an array' if given_array else 'a sequence'} of {raw.size} "
            f"values {raw.tolist()!r:.80}"
        ), info
    if isinstance(raw, (bool, np.bool_)) or not hasattr(raw, "__float__"):
        return math.nan, (
            f"TypeError: the objective must return a float or a Measurement, "
            f"got {type(raw).__name__} {raw!r:.80}"
        ), info
    try:
        value = float(raw)
    except OverflowError:  # an int beyond float64 (e.g. 10**400): the objective's fault
        bits = raw.bit_length() if isinstance(raw, int) else None
        size = f" (an int of {bits} bits)" if bits else ""
        return math.nan, (
            f"OverflowError: the {_objective_name(fun)} returned a {what} too large for a "
            f"float64 (at most {sys.float_info.max:.6g}){size}"
        ), info
    except (TypeError, ValueError) as exc:
        return math.nan, f"TypeError: the objective's {what} is not a float ({exc})", info
    if not math.isfinite(value):
        reason = info.get("error")
        if isinstance(reason, str) and reason:  # the objective said why (e.g. a diverged training)
            return math.nan, reason, info
        return math.nan, f"the objective returned a non-finite {what}: {value!r}", info
    return value, None, info


def _failed(error: str) -> _Outcome:
    return math.nan, "failed", error, {}, 0.0


# -- shipping the objective to worker processes --------------------------------------------------
def _cloud_loads(payload: bytes) -> Any:
    import cloudpickle

    return cloudpickle.loads(payload)


class _ByValue:
    """Ship an objective to worker processes with cloudpickle (lambdas, notebook functions)."""

    def __init__(self, fun: Any) -> None:
        import cloudpickle

        self._payload = cloudpickle.dumps(fun)

    def __reduce__(self) -> tuple:
        return (_cloud_loads, (self._payload,))


def _defined_interactively(fun: Any) -> bool:
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "__file__"):
        return False  # a script: spawn/forkserver workers re-import it as __mp_main__
    modules = {getattr(fun, "__module__", None), getattr(type(fun), "__module__", None)}
    return "__main__" in modules


def _unpicklable(fun: Any, executor: Executor, exc: Exception) -> TypeError:
    where = "a Dask cluster" if isinstance(executor, DaskExecutor) else "worker processes"
    return TypeError(
        f"the objective {fun!r:.80} cannot be sent to {where}: neither pickle nor cloudpickle "
        f"can serialize it ({type(exc).__name__}: {exc}). It or something it holds (a lock, an "
        "open file or connection, a generator) cannot be copied to another process; create "
        "that inside the objective, or run serially (no n_workers / executor)"
    )


def _prepare_objective(fun: Any, executor: Executor) -> Any:
    """Check that ``fun`` can travel to worker processes; fall back to cloudpickle.

    Checked before the first evaluation, so an objective that cannot travel costs no work.
    """
    if isinstance(executor, DaskExecutor):  # Dask ships it with cloudpickle itself
        try:
            import cloudpickle

            cloudpickle.dumps(fun)
        except Exception as exc:  # noqa: BLE001 - any pickling failure
            raise _unpicklable(fun, executor, exc) from exc
        return fun
    if not isinstance(executor, (ProcessPool, ProcessPoolExecutor)):
        return fun  # serial: no pickling
    if not _defined_interactively(fun):
        try:
            pickle.dumps(fun)
            return fun
        except Exception:  # noqa: BLE001, S110 - any pickling failure: try cloudpickle
            pass
    try:
        return _ByValue(fun)
    except Exception as exc:  # noqa: BLE001
        raise _unpicklable(fun, executor, exc) from exc


# -- one batch on an executor --------------------------------------------------------------------
def _worker_died(exc: BaseException) -> bool:
    # KilledWorker: Dask gave up on a task after its workers died allowed-failures + 1 times
    return isinstance(exc, BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


def _check_stop(stop: Any) -> None:
    if stop is not None and not callable(getattr(stop, "is_set", None)):
        raise TypeError(f"`stop` must have an is_set() method (a threading.Event), got {stop!r}")


def _check_hooks(**hooks: Any) -> None:
    for name, hook in hooks.items():
        if hook is not None and not callable(hook):
            raise TypeError(f"`{name}` must be callable or None, got {name}={hook!r:.80}")


def _check_catch(catch: Any) -> None:
    if not isinstance(catch, tuple) or not all(
        isinstance(c, type) and issubclass(c, BaseException) for c in catch
    ):
        raise TypeError(f"`catch` must be a tuple of exception types, got catch={catch!r:.80}")


def _check_journal_arg(journal: Any, resume: bool) -> None:
    if not isinstance(resume, (bool, np.bool_)):
        raise TypeError(f"`resume` must be True or False, got resume={resume!r}")
    if journal is None:
        if resume:
            raise ValueError("`resume=True` needs a `journal` path to resume from")
        return
    if not isinstance(journal, (str, os.PathLike)):
        raise TypeError(f"`journal` must be a path (str or os.PathLike), got journal={journal!r}")
    check_journal_path(journal, resume=bool(resume))


def _stop_requested(stop: Any) -> bool:
    return stop is not None and bool(stop.is_set())


class _BatchRun:
    """Evaluate the points ``todo`` of one batch; iterate to get ``(j, outcome)`` as they finish.

    At most ``window`` evaluations are in flight (submitted, not finished): enough to keep every
    worker busy and the next task queued, few enough that a stop cancels little and that a
    crash takes down little. Several runs sharing one pool thus interleave.

    Crash recovery: when a future fails with ``BrokenProcessPool`` (a worker died), the culprit
    is unknown, because the pool fails every pending future. Each affected point is then re-run
    *alone* (nothing else of this batch in flight); a point whose lone run kills its worker
    again is recorded as failed. Innocent points lose nothing; the pool is replaced by
    :class:`~core.executors.ProcessPool` on the next submission. Dask's ``KilledWorker`` is
    treated the same way, because Dask also blames the tasks that were merely queued on a
    dying worker: each is re-run alone once (so a real culprit is tried
    ``allowed-failures + 1`` more times before it is recorded as failed).
    """

    def __init__(
        self,
        executor: Executor,
        fun: Any,
        configs: list[dict],
        todo: list[int],
        catch: tuple,
        stop: Any,
        window: int | None = None,
    ) -> None:
        self.executor = executor
        self.window = window
        self.fun = fun
        self.configs = configs
        self.catch = catch
        self.stop = stop
        self.queue = deque(todo)
        self.suspects: list[int] = []
        self.running: dict[Future, tuple[int, bool]] = {}
        self.stopped = False

    def _submit(self, j: int, alone: bool) -> Future:
        try:
            f = self.executor.submit(_evaluate, self.fun, dict(self.configs[j]), self.catch)
        except BrokenProcessPool as exc:
            raise RuntimeError(
                "the executor's process pool is broken (a worker died) and cannot restart "
                "itself; use core.executors.ProcessPool (make_executor('process')), which does"
            ) from exc
        self.running[f] = (j, alone)
        return f

    def _handle(self, f: Future) -> Iterator[tuple[int, _Outcome]]:
        j, alone = self.running.pop(f)
        if f.cancelled():
            yield j, _failed("CancelledError: the executor cancelled this evaluation")
            return
        exc = f.exception()
        if exc is None:
            yield j, f.result()
        elif _worker_died(exc):
            if alone:
                yield j, _failed(
                    "WorkerDied: the worker process died while evaluating this configuration "
                    f"({type(exc).__name__}: {exc})"
                )
            else:
                bisect.insort(self.suspects, j)
        elif isinstance(exc, self.catch):
            yield j, _failed(f"{type(exc).__name__} (evaluation backend): {exc}")
        else:
            raise exc

    def __iter__(self) -> Iterator[tuple[int, _Outcome]]:
        timeout = None if self.stop is None else _POLL_SECONDS
        try:
            while self.queue or self.suspects or self.running:
                if _stop_requested(self.stop):
                    self.stopped = True
                    return
                if self.suspects:
                    if not self.running:
                        self._submit(self.suspects.pop(0), alone=True)
                else:
                    while (
                        self.queue
                        and (self.window is None or len(self.running) < self.window)
                        and not _stop_requested(self.stop)
                    ):
                        f = self._submit(self.queue.popleft(), alone=False)
                        if f.done():  # serial backend: handle at once (journal, stop checks)
                            yield from self._handle(f)
                        if self.suspects:
                            break
                if not self.running:
                    continue
                done, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
                for f in sorted(done, key=lambda f: self.running[f][0]):
                    yield from self._handle(f)
        finally:
            for f in self.running:
                f.cancel()


# -- the loop ------------------------------------------------------------------------------------
def _resolve_space(fun: Any, space: Any) -> SearchSpace:
    if not callable(fun):
        raise TypeError(f"`fun` must be callable as fun(config) -> float, got {fun!r}")
    if space is None:
        space = getattr(fun, "space", None)
        if space is None:
            raise TypeError("`space` is required unless `fun` has a `.space` attribute")
    if not isinstance(space, SearchSpace):
        raise TypeError(f"`space` must be a core.space.SearchSpace, got {space!r}")
    return space


def _restore(
    record: Mapping[str, Any], u: np.ndarray, config: dict, step: int, source: Any,
    origin: Origin,
) -> Evaluation:
    index = record["index"]
    u_journal = np.asarray(record.get("u"), dtype=np.float64)
    if u_journal.shape != u.shape or not np.array_equal(u_journal, u):
        raise ValueError(
            f"cannot resume from {str(source)!r}: evaluation {index} in the journal is at "
            f"u={u_journal.tolist()}, "
            f"but the replayed strategy asked u={u.tolist()}; the run is not reproducible "
            "(was it seeded with an int, with the same options and max_batch?)"
        )
    status = record.get("status")
    value = record.get("value")
    return Evaluation(
        index=index,
        config=config,
        u=u,
        value=math.nan if value is None or status != "ok" else value,
        seconds=record.get("seconds") or 0.0,
        status=status if status in ("ok", "failed") else "failed",
        error=record.get("error"),
        info=record.get("info") or {},
        step=step,
        origin=origin,
    )


def iterate(
    fun: Callable[[dict], Any],
    space: SearchSpace | None,
    strategy: Strategy,
    *,
    executor: Executor | None = None,
    journal: str | Path | None = None,
    resume: bool = False,
    stop: Any = None,
    max_batch: int | None = None,
    on_evaluation: Callable[[Evaluation], Any] | None = None,
    catch: tuple[type[BaseException], ...] = (Exception,),
    run_info: Mapping[str, Any] | None = None,
) -> Iterator[Batch]:
    """Drive ``strategy`` on ``fun``: one :class:`~core.records.Batch` per ask/tell cycle.

    Parameters
    ----------
    fun : callable
        ``fun(config: dict) -> float | Measurement``, lower is better.
    space : SearchSpace or None
        Maps the strategy's unit-cube points to configurations (None: ``fun.space``).
    strategy : Strategy
        A fresh ask/tell strategy of dimension ``space.dim``; its ``n_evals`` is the budget.
    executor : concurrent.futures.Executor, optional
        Evaluation backend (default: serial, inline). Never shut down here.
    journal : path, optional
        Append every evaluation to this JSON-lines file (:mod:`core.journal`).
    resume : bool
        Continue the run recorded in ``journal`` (see the module docstring).
    stop : object with ``is_set()``, optional
        Request to end the run (a :class:`threading.Event`).
    max_batch : int, optional
        Upper bound on the points per ask (None: the strategy's natural batch).
    on_evaluation : callable, optional
        Called in the driver's thread with each :class:`~core.records.Evaluation` as it
        completes (completion order; replayed ones included), before the batch's record.
    catch : tuple of exception types
        Objective exceptions recorded as failures; others propagate (after pending work is
        cancelled).
    run_info : mapping, optional
        JSON-serializable facts stored in the journal header and checked on resume.

    Yields
    ------
    Batch
        Evaluations in asked order; the last record has ``stop_reason`` set. Each
        evaluation's ``origin`` is the :class:`~core.records.Origin` the strategy stated for
        its point when it asked it (``strategy.origins``).

    Raises
    ------
    ValueError
        Mismatched dimensions, or a journal from another run (``resume=True``).
    FileExistsError
        ``journal`` already holds a run and ``resume`` is False.
    RuntimeError
        The strategy broke the ask/tell contract (e.g. asked beyond its budget).
    """
    space = _resolve_space(fun, space)
    if strategy.dim != space.dim:
        raise ValueError(
            f"the strategy's dimension must equal the space's, got strategy.dim={strategy.dim} "
            f"and space.dim={space.dim}"
        )
    if max_batch is not None:
        max_batch = check_int(max_batch, "max_batch", low=1)
    _check_catch(catch)
    _check_stop(stop)
    _check_hooks(on_evaluation=on_evaluation)
    _check_journal_arg(journal, resume)
    executor = SerialExecutor() if executor is None else executor
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(f"`executor` must be a concurrent.futures.Executor, got {executor!r}")
    shipped = _prepare_objective(fun, executor)  # before the journal: a refusal writes nothing
    from core.strategies.base import Strategy
    from core.strategies.distinct import DistinctSearch, unwrap

    plain = unwrap(strategy)
    writer: JournalWriter | None = None
    known: dict[int, dict] = {}
    if journal is not None:
        header = make_header(
            space=space.describe(),
            strategy=type(plain).__name__,
            dim=space.dim,
            n_evals=strategy.n_evals,
            max_batch=max_batch,
            run=run_info,
        )
        writer, records = open_journal(journal, header, resume=resume)
        for rec in records:
            if isinstance(rec, dict) and isinstance(rec.get("index"), int):
                known.setdefault(rec["index"], rec)
    if isinstance(strategy, Strategy) and not isinstance(strategy, DistinctSearch):
        strategy = DistinctSearch(strategy, space)  # each configuration once (space contract)
    return _loop(
        shipped, space, strategy, executor, writer, known, stop, max_batch, on_evaluation, catch
    )


def _origins_of(strategy: Any, k: int) -> tuple[Origin, ...]:
    """The strategy's origins of its last asked batch of ``k`` points (``Origin("sample")``
    each when it states none, as a strategy outside ``core.strategies.base`` may)."""
    origins = tuple(getattr(strategy, "origins", ()) or ())
    if len(origins) != k or not all(isinstance(o, Origin) for o in origins):
        if origins:
            raise RuntimeError(
                f"{type(strategy).__name__}.origins must hold one core.records.Origin per "
                f"asked point ({k}), got {len(origins)} item(s)"
            )
        return (SAMPLE,) * k
    return origins


def _loop(
    fun: Any,
    space: SearchSpace,
    strategy: Strategy,
    executor: Executor,
    writer: JournalWriter | None,
    known: dict[int, dict],
    stop: Any,
    max_batch: int | None,
    on_evaluation: Callable[[Evaluation], Any] | None,
    catch: tuple,
) -> Iterator[Batch]:
    t0 = time.perf_counter()
    n_evals = strategy.n_evals
    nfev = 0
    best: Evaluation | None = None
    step = 0

    def record(ev: Evaluation, replayed: bool) -> None:
        if writer is not None and not replayed:
            writer.append(ev)
        if on_evaluation is not None:
            on_evaluation(ev)

    def ended(reason: str, n: int) -> None:
        if writer is not None:  # followers of the journal learn that the run is over
            writer.end(reason, n)

    try:
        while True:
            if _stop_requested(stop):
                strategy.stop("stopped")
                ended("stopped", nfev)
                yield Batch(step, (), nfev, best, "stopped", time.perf_counter() - t0, False)
                return
            U = strategy.ask(max_batch)
            k = len(U)
            if k == 0:
                reason = strategy.stop_reason or "exhausted"
                ended(reason, nfev)
                yield Batch(step, (), nfev, best, reason, time.perf_counter() - t0, False)
                return
            if nfev + k > n_evals:
                raise RuntimeError(
                    f"{type(strategy).__name__} asked {k} points with {n_evals - nfev} of its "
                    f"budget n_evals={n_evals} left"
                )
            origins = _origins_of(strategy, k)
            configs = space.from_unit(U)
            evaluations: list[Evaluation | None] = [None] * k
            for j in range(k):
                rec = known.pop(nfev + j, None)
                if rec is not None:
                    evaluations[j] = ev = _restore(
                        rec, U[j], configs[j], step, writer.path, origins[j]
                    )
                    record(ev, replayed=True)
            todo = [j for j in range(k) if evaluations[j] is None]
            n_workers = executor_workers(executor)  # per batch: Dask clusters may scale
            window = 2 * n_workers if n_workers else None
            batch = _BatchRun(executor, fun, configs, todo, catch, stop, window)
            with closing(iter(batch)) as outcomes:  # cancels pending work if anything raises
                for j, (value, status, error, info, seconds) in outcomes:
                    ev = Evaluation(
                        nfev + j, configs[j], U[j], value, seconds, status, error, info, step,
                        origins[j],
                    )
                    evaluations[j] = ev
                    record(ev, replayed=False)
            done = [ev for ev in evaluations if ev is not None]
            for ev in done:
                if ev.ok and (best is None or ev.value < best.value):
                    best = ev
            if batch.stopped:
                strategy.stop("stopped")
                ended("stopped", nfev + len(done))
                yield Batch(
                    step, tuple(done), nfev + len(done), best, "stopped",
                    time.perf_counter() - t0, False,
                )
                return
            strategy.tell(U, np.array([ev.value for ev in done], dtype=np.float64))
            nfev += k
            reason = strategy.stop_reason
            if reason is not None and known:
                warnings.warn(
                    f"{len(known)} journal record(s) were not replayed (indices "
                    f"{sorted(known)[:5]}): the resumed run ended before reaching them",
                    RuntimeWarning,
                    stacklevel=2,
                )
            if reason is not None:
                ended(reason, nfev)
            yield Batch(step, tuple(done), nfev, best, reason, time.perf_counter() - t0, True)
            if reason is not None:
                return
            step += 1
    finally:
        if writer is not None:
            writer.close()


# -- minimize ------------------------------------------------------------------------------------
class _AnyStop:
    def __init__(self, *stops: Any) -> None:
        self._stops = [s for s in stops if s is not None]

    def is_set(self) -> bool:
        return any(s.is_set() for s in self._stops)


def _seed_record(seed: Any) -> Any:
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return None if seed is None else int(seed)
    return f"<{type(seed).__name__}>"


def _resolve_executor(
    executor: Executor | str | None, n_workers: int | None, scheduler: str | None
) -> tuple[Executor, bool]:
    if executor is not None and not isinstance(executor, str):
        if n_workers is not None or scheduler is not None:
            raise ValueError(
                "give either an `executor` or `n_workers`/`scheduler`, not both, got "
                f"executor={executor!r}, n_workers={n_workers!r}, scheduler={scheduler!r}"
            )
        return executor, False
    kind = executor
    if kind is None:
        kind = "serial"
        if scheduler is not None:
            kind = "dask"
        elif n_workers is not None:
            kind = "process"
    return make_executor(kind, n_workers=n_workers, address=scheduler), True


def _message(reason: str, best: Evaluation | None, nfev: int) -> str:
    from core.strategies.base import STOP_REASONS

    text = STOP_REASONS.get(reason, reason)
    if best is None:
        text += "; no evaluation succeeded" if nfev else "; nothing was evaluated"
    return text


def minimize(
    fun: Callable[[dict], Any],
    space: SearchSpace | None = None,
    method: str = "sparse_grid",
    n_evals: int = 100,
    *,
    seed: Any = None,
    journal: str | Path | None = None,
    resume: bool = False,
    executor: Executor | str | None = None,
    n_workers: int | None = None,
    scheduler: str | None = None,
    max_batch: int | None = None,
    stop: Any = None,
    callback: Callable[[Batch], Any] | None = None,
    on_evaluation: Callable[[Evaluation], Any] | None = None,
    catch: tuple[type[BaseException], ...] = (Exception,),
    **options: Any,
) -> RunResult:
    """Minimize a black-box objective over a search space with a registered strategy.

    Parameters
    ----------
    fun : callable
        ``fun(config: dict) -> float | Measurement`` (lower is better).
    space : SearchSpace, optional
        The hyperparameters (default: ``fun.space``).
    method : str
        A key of ``core.strategies.STRATEGIES`` (an unknown name raises ``ValueError`` listing
        the valid ones).
    n_evals : int
        Budget: ``res.nfev <= n_evals``.
    seed : int, numpy Generator or None
        An int reproduces the run bit for bit (same ``max_batch``, any backend).
    journal, resume
        See :func:`iterate`; resuming needs ``seed`` to be an int (or None for deterministic
        methods) and the same space, method, budget, options and ``max_batch``.
    executor : Executor or {"serial", "process", "dask"}, optional
        An executor object is used as is and never shut down (share one across runs). A kind
        (or ``n_workers`` alone -> ``"process"``, ``scheduler`` -> ``"dask"``) builds one that
        this call owns and shuts down; after a stop request its running work is abandoned.
    n_workers : int, optional
        Worker processes for ``"process"`` or a Dask ``LocalCluster`` (``executor="dask"``).
    scheduler : str, optional
        Address of a Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    max_batch : int, optional
        Points per ask at most (see :mod:`core.run`, "Batches").
    stop : object with ``is_set()``, optional
        A :class:`threading.Event` that ends the run cleanly when set.
    callback : callable, optional
        ``callback(batch)`` after each :class:`~core.records.Batch`; returning True requests a
        stop.
    on_evaluation : callable, optional
        ``on_evaluation(evaluation)`` as each evaluation completes (completion order; also for
        evaluations replayed from a journal), e.g. to tick a progress bar.
    catch : tuple of exception types
        Objective exceptions recorded as failures (default: every ``Exception``).
    **options
        Strategy options (see ``core.strategies.make_strategy``).

    Returns
    -------
    RunResult

    Examples
    --------
    >>> from core.space import Float, SearchSpace
    >>> space = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)})
    >>> res = minimize(lambda c: (c["x"] - 1) ** 2 + c["y"] ** 2, space, "random", 50, seed=0)
    >>> res.nfev, res.fun < 0.5
    (50, True)
    """
    space = _resolve_space(fun, space)
    n_evals = check_int(n_evals, "n_evals", low=1)
    _check_stop(stop)
    _check_catch(catch)
    _check_hooks(callback=callback, on_evaluation=on_evaluation)
    if max_batch is not None:
        max_batch = check_int(max_batch, "max_batch", low=1)
    _check_journal_arg(journal, resume)  # before a cluster is started or anything evaluated
    from core.strategies import STRATEGIES, check_option_names, make_strategy

    if not isinstance(method, str) or method not in STRATEGIES:
        raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(STRATEGIES)}")
    if resume and journal is not None and isinstance(_seed_record(seed), str):
        raise ValueError(
            "resuming needs `seed` to be an int (or None for deterministic methods), got "
            f"seed={seed!r}"
        )
    from core.strategies.distinct import DistinctSearch, check_budget, restart_seed

    check_option_names(method, options)
    check_budget(STRATEGIES[method], space, n_evals, **options)
    strategy = DistinctSearch(
        make_strategy(method, space.dim, n_evals, seed=seed, **options), space,
        restart=lambda n, k: make_strategy(
            method, space.dim, n, seed=restart_seed(seed, k), **options
        ),
    )
    run_info = {"method": method, "seed": _seed_record(seed), "options": to_json(options)}
    objective_name = getattr(fun, "name", None)
    if isinstance(objective_name, str):  # registered objectives: a journal is tied to one
        run_info["objective"] = objective_name
    ex, owned = _resolve_executor(executor, n_workers, scheduler)
    requested = threading.Event()
    combined = _AnyStop(stop, requested)
    t0 = time.perf_counter()
    history: list[Evaluation] = []
    nit = 0
    reason = "stopped"
    best: Evaluation | None = None
    clean = False
    try:
        for batch in iterate(
            fun, space, strategy, executor=ex, journal=journal, resume=resume, stop=combined,
            max_batch=max_batch, catch=catch, run_info=run_info, on_evaluation=on_evaluation,
        ):
            history.extend(batch.evaluations)
            nit += batch.complete
            best = batch.best
            if batch.stop_reason is not None:
                reason = batch.stop_reason
            if callback is not None and callback(batch) is True:
                requested.set()
        clean = reason != "stopped"
    finally:
        if owned:
            _release(ex, clean)
    return RunResult(
        x=None if best is None else dict(best.config),
        fun=math.nan if best is None else best.value,
        u=np.full(space.dim, np.nan) if best is None else best.u,
        nfev=len(history),
        nit=nit,
        history=tuple(history),
        method=method,
        stop_reason=reason,
        success=best is not None and reason != "stopped",
        message=_message(reason, best, len(history)),
        seconds=time.perf_counter() - t0,
        stop_detail=strategy.stop_detail or _message(reason, best, len(history)),
    )


def _release(executor: Executor, clean: bool) -> None:
    """Shut down an executor this module made; abandon running work unless the run ended."""
    if clean:
        executor.shutdown(wait=True)
    elif isinstance(executor, ProcessPool):
        executor.terminate()
    elif isinstance(executor, DaskExecutor):
        executor.shutdown(wait=False, cancel_futures=True)
    else:
        executor.shutdown(wait=False, cancel_futures=True)


# -- replay: the driver, read-only, on a journal ------------------------------------------------
#: Seconds between two looks at a followed journal that holds nothing new.
REPLAY_POLL_SECONDS = 0.25


class _ReplayEnd(BaseException):
    """The journal holds no further evaluation (and none will come): the replay ends.

    A ``BaseException`` so that no ``catch`` records it as a failed evaluation."""


class _JournalAnswers:
    """The "objective" of a replay: evaluation ``k`` is answered with journal record ``k``.

    The driver calls it in asked order (serial backend, one call per evaluation), so the
    ``k``-th call is evaluation ``k``; its configuration must be the journaled one. Records are
    read from the file as they are needed (out-of-order ones wait in a small buffer), so the
    replay's memory does not grow with the journal.
    """

    def __init__(self, run: Any, follow: bool, stop: Any, poll_seconds: float) -> None:
        from core.journal import JournalTail

        self.path = run.path
        self.space = run.space
        self.tail = JournalTail(run.path, run.space.dim)
        self.follow = follow
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.calls = 0
        self.waiting: dict[int, dict] = {}
        self.seconds: dict[int, float] = {}  # journaled wall times of answered evaluations
        self._stream: Iterator[dict] | None = None  # one pass over the file, kept open

    def _record(self, k: int) -> dict | None:
        wait = getattr(self.stop, "wait", None)
        while k not in self.waiting:
            if self._stream is None:
                self._stream = self.tail.records()
            for rec in self._stream:
                self.waiting.setdefault(rec["index"], rec)
                if rec["index"] == k:
                    break
            else:
                self._stream = None  # the file as it was has been read: look again later
            if k in self.waiting:
                break
            over = self.tail.end is not None and self.tail.end["nfev"] <= k
            if not self.follow or over or (self.stop is not None and self.stop.is_set()):
                return None
            if callable(wait):
                wait(self.poll_seconds)
            else:
                time.sleep(self.poll_seconds)
        return self.waiting.pop(k)

    def __call__(self, config: dict) -> Measurement:
        from core.journal import JournalError, to_json

        k = self.calls
        self.calls += 1
        rec = self._record(k)
        if rec is None:
            raise _ReplayEnd(k)
        journaled = rec.get("config")
        if config != journaled and to_json(config) != journaled:  # tuples read back as lists
            raise JournalError(
                self.path, None, f"is not this run's journal: the replay asked "
                f"{to_json(config)!r:.120} as evaluation {k}, the journal holds "
                f"{journaled!r:.120} (another method, options, seed or program version)"
            )
        seconds = rec.get("seconds")
        numeric = isinstance(seconds, (int, float)) and not isinstance(seconds, bool)
        self.seconds[k] = float(seconds) if numeric else 0.0
        info = dict(rec.get("info") or {})
        if rec.get("status") != "ok":
            info["error"] = str(rec.get("error") or "failed in the journaled run")
            return Measurement(math.nan, info)
        return Measurement(float(rec["value"]), info)


def replay(
    journal: str | Path,
    *,
    follow: bool = False,
    stop: Any = None,
    poll_seconds: float = REPLAY_POLL_SECONDS,
    on_evaluation: Callable[[Evaluation], Any] | None = None,
    strategy: Any = None,
) -> Iterator[Batch]:
    """Replay a journaled run, read-only: the same strategy, answered from the journal.

    The journal's header names the run (space, method, seed, options, budget, ``max_batch``);
    the strategy is built again and driven by :func:`iterate`, and each point it asks is
    answered with the journaled value of that evaluation instead of being evaluated. A seeded
    run is reproducible, so the replay asks exactly the journaled points, and its batches carry
    everything a live run's do (refinements, origins, best so far). The file is only read
    (never written, locked or truncated), as a stream: memory does not grow with its size.

    Parameters
    ----------
    journal : path-like
        A journal written by :func:`minimize` (or the CLI) with a registered method and an int
        (or no) seed.
    follow : bool
        Follow a journal that is still being written: an evaluation not journaled yet is waited
        for (every ``poll_seconds``) until it appears, the journal's run ends (its end line) or
        ``stop`` is set. False: the replay ends where the file ends.
    stop : object with ``is_set()``, optional
        Ends the replay (a :class:`threading.Event` also ends a wait at once).
    poll_seconds : float
        Seconds between two looks at a followed file that holds nothing new.
    on_evaluation : callable, optional
        As in :func:`iterate`.
    strategy : Strategy, optional
        A fresh strategy of the journaled run (its method, options, seed and budget) to drive
        instead of the one built from the header, for a caller that looks at it while the
        replay runs (the explorer draws a Gaussian process's posterior). A strategy of another
        run asks other points: the replay then raises ``JournalError``.

    Yields
    ------
    Batch
        As :func:`iterate` yields them; the last has ``stop_reason`` set: the strategy's own
        reason when the journal holds the whole run, ``"stopped"`` when the replay ended before
        (the file ended, the followed run ended early, or ``stop``). A batch the journal holds
        only part of is not yielded. Evaluations carry the journaled ``seconds`` (the wall time
        of the original run).

    Raises
    ------
    JournalError
        The file is not a readable journal, its run cannot be repeated (an unregistered method,
        a seed that is not an int), or the replay asks other points than the journal holds.
    """
    from core.journal import JournalError, load_journal
    from core.strategies import make_strategy

    run = load_journal(journal)
    ok, why = run.replayable
    if not ok:
        raise JournalError(run.path, 1, f"cannot be replayed: {why}")
    if strategy is None:
        try:
            strategy = make_strategy(
                run.method, run.space.dim, run.n_evals, seed=run.seed, **run.options
            )
        except (TypeError, ValueError) as exc:
            raise JournalError(run.path, 1, f"cannot be replayed: {exc}") from None
    _check_stop(stop)
    answers = _JournalAnswers(run, bool(follow), stop, float(poll_seconds))
    return _replayed(answers, strategy, run, stop, on_evaluation)


def _replayed(
    answers: _JournalAnswers, strategy: Any, run: Any, stop: Any,
    on_evaluation: Callable[[Evaluation], Any] | None,
) -> Iterator[Batch]:
    t0 = time.perf_counter()
    last: Batch | None = None
    best: Evaluation | None = None

    def journaled(ev: Evaluation) -> Evaluation:
        """``ev`` with the wall time the journal recorded (not the replay's look-up)."""
        seconds = answers.seconds.get(ev.index)
        return ev if seconds is None else replace(ev, seconds=seconds)

    hook = None if on_evaluation is None else (lambda ev: on_evaluation(journaled(ev)))
    batches = iterate(
        answers, run.space, strategy, stop=stop, max_batch=run.max_batch, catch=(),
        on_evaluation=hook,
    )
    try:
        for batch in batches:
            evaluations = tuple(journaled(ev) for ev in batch.evaluations)
            for ev in evaluations:
                answers.seconds.pop(ev.index, None)
                if batch.best is not None and ev.index == batch.best.index:
                    best = ev
            last = replace(batch, evaluations=evaluations, best=best)
            yield last
    except _ReplayEnd:
        nfev = 0 if last is None else last.nfev
        best = None if last is None else last.best
        step = 0 if last is None else last.step + 1
        yield Batch(step, (), nfev, best, "stopped", time.perf_counter() - t0, False)
