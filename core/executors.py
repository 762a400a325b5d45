"""Evaluation backends: where :mod:`core.run` evaluates the points a strategy asks for.

Every backend is a :class:`concurrent.futures.Executor` (``submit(fn, *args) -> Future``,
``shutdown``, context manager). The driver accepts any such executor; the three here add what a
long hyperparameter search needs:

``"serial"`` -> :class:`SerialExecutor`
    Runs each call inline in the caller's thread (the default; right for microsecond test
    functions). No thread, no pickling.
``"process"`` -> :class:`ProcessPool`
    Local worker processes started with ``forkserver`` (``spawn`` where forkserver is missing):
    never ``fork``, which torch and threaded servers do not survive. Each worker runs
    :func:`worker_init` (one BLAS/OpenMP/torch thread per worker, so ``n`` workers use ``n``
    cores). A pool whose worker died (``BrokenProcessPool``) is replaced on the next ``submit``,
    so a crash costs the evaluations it took down, never the run.
``"dask"`` -> :class:`DaskExecutor`
    A ``distributed.Client`` (connected to ``address``, or to a ``LocalCluster`` of ``n_workers``
    single-threaded worker processes it starts). Needs the optional extra
    ``pip install sparse-hpo[distributed]``; imported lazily.

Lifecycle: an executor made by :func:`make_executor` belongs to whoever made it. The driver
never shuts down an executor it was given, so one server-wide pool can be shared by many runs
(the explorer does this); ``with make_executor(...) as ex:`` shuts it down at the end.

Examples
--------
>>> with make_executor("serial") as ex:
...     ex.submit(pow, 2, 10).result()
1024
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = [
    "EXECUTOR_KINDS",
    "DaskExecutor",
    "ProcessPool",
    "SerialExecutor",
    "executor_workers",
    "make_executor",
    "worker_init",
]

#: Kinds accepted by :func:`make_executor`.
EXECUTOR_KINDS = ("serial", "process", "dask")

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def worker_init() -> None:
    """Limit a worker process to one compute thread (BLAS, OpenMP, torch).

    Sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` to 1 (torch reads
    them when it is imported later), limits already loaded BLAS libraries through
    ``threadpoolctl``, and calls ``torch.set_num_threads(1)`` if torch is already imported.
    torch is never imported here, so workers that only evaluate test functions stay light.
    Used as the ``initializer`` of :class:`ProcessPool`; call it yourself on workers of your own
    (for Dask, the nanny already sets the same variables).
    """
    for name in _THREAD_ENV:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    else:
        threadpool_limits(limits=1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - exists, owned by someone else
        return True
    return True


def _watch_owner(owner_pid: int, interval: float) -> None:
    """End this worker process soon after the process that owns the pool is gone.

    ``ProcessPoolExecutor`` workers do not notice when their owner is killed (``kill -9``, OOM
    killer): they wait for work forever, holding memory (a torch model, a dataset). A daemon
    thread polls the owner every ``interval`` seconds and exits the worker when it is gone.
    """

    def watch() -> None:
        while _alive(owner_pid):
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="owner-watchdog", daemon=True).start()


def _worker_start(
    owner_pid: int, interval: float, initializer: Callable[..., None] | None, initargs: tuple
) -> None:
    _watch_owner(owner_pid, interval)
    if initializer is not None:
        initializer(*initargs)


class SerialExecutor(Executor):
    """Run each submitted call immediately in the calling thread.

    ``submit`` returns an already finished :class:`~concurrent.futures.Future`; an ``Exception``
    raised by the call is stored in it, while ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """

    n_workers = 1

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._shutdown:
            raise RuntimeError("cannot submit to a SerialExecutor after shutdown")
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True

    def __repr__(self) -> str:
        return "SerialExecutor()"


def _default_context() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessPool(Executor):
    """A process pool that replaces itself when a worker dies.

    Parameters
    ----------
    n_workers : int, optional
        Number of worker processes (default: ``os.cpu_count()``).
    context : {"forkserver", "spawn"}, optional
        Start method (default: forkserver where available, else spawn). ``"fork"`` is refused:
        torch and threaded programs (the Panel server) are not fork-safe.
    initializer : callable or None
        Run once in every worker (default :func:`worker_init`).
    initargs : tuple
        Arguments of ``initializer``.

    Notes
    -----
    When a worker dies (``os._exit``, a segfault, the OOM killer), ``ProcessPoolExecutor`` fails
    *every* pending future with ``BrokenProcessPool`` and refuses new work. This class keeps the
    broken pool's futures as they are (the driver decides what to re-run) and transparently
    starts a fresh pool on the next :meth:`submit`; :attr:`restarts` counts the replacements.
    It is thread-safe, so several runs may share one pool. Workers exit within about a second
    when the process that made the pool dies (even by ``kill -9``), instead of lingering.
    """

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        context: str | None = None,
        initializer: Callable[..., None] | None = worker_init,
        initargs: tuple = (),
    ) -> None:
        if n_workers is None:
            n_workers = os.cpu_count() or 1
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"`n_workers` must be an int >= 1, got n_workers={n_workers!r}")
        context = _default_context() if context is None else context
        if context not in ("forkserver", "spawn"):
            raise ValueError(
                f"`context` must be 'forkserver' or 'spawn' (fork is not torch-safe), "
                f"got context={context!r}"
            )
        self.n_workers = n_workers
        self.context = context
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._lock = threading.Lock()
        self._shutdown = False
        self.restarts = 0
        self.owner_poll = 1.0
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.n_workers,
            mp_context=multiprocessing.get_context(self.context),
            initializer=_worker_start,
            initargs=(os.getpid(), self.owner_poll, self._initializer, self._initargs),
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a ProcessPool after shutdown")
            pool = self._pool
        try:
            return pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            return self._replace(pool).submit(fn, *args, **kwargs)

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a ProcessPool after shutdown")
            if self._pool is broken:  # another thread may have replaced it already
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                self.restarts += 1
            return self._pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def terminate(self) -> None:
        """Cancel pending work, kill the worker processes now and shut down.

        For a pool you own, after a stop request: running evaluations are abandoned instead of
        waited for.
        """
        with self._lock:
            self._shutdown = True
            pool = self._pool
        processes = list(getattr(pool, "_processes", {}).values())  # private; absent -> no-op
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.kill()
        for p in processes:
            p.join(timeout=5)

    def __repr__(self) -> str:
        return f"ProcessPool(n_workers={self.n_workers}, context={self.context!r})"


_MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"


def _local_cluster_without_malloc_trim(distributed: Any, options: dict[str, Any]) -> Any:
    """Start a ``LocalCluster`` whose workers keep glibc's default malloc trimming.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (its default
    ``distributed.nanny.pre-spawn-environ``) and leaves the variable in this process's
    ``os.environ``, so process pools started later inherit it too. It disables glibc's dynamic
    mmap threshold: every torch buffer above 128 KiB becomes a fresh mmap, which made a
    ``cnn_digits_9d`` evaluation cost about 1.9x the CPU time here (0.37 -> 0.7 CPU s,
    ``benchmarks/bench_objectives.py``). Remote clusters: set the same config key to ``None``
    on the workers' machines.
    """
    import dask

    before = os.environ.get(_MALLOC_TRIM)
    try:
        os.environ.pop(_MALLOC_TRIM, None)
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{_MALLOC_TRIM}": None}):
            return distributed.LocalCluster(**options)
    finally:
        os.environ.pop(_MALLOC_TRIM, None)
        if before is not None:
            os.environ[_MALLOC_TRIM] = before


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the 'dask' backend needs dask.distributed; install it with "
            "`pip install sparse-hpo[distributed]` (or `pip install 'dask[distributed]'`)"
        ) from exc
    return distributed


class DaskExecutor(Executor):
    """A ``concurrent.futures`` view of a Dask ``distributed.Client``.

    Parameters
    ----------
    address : str, optional
        Scheduler address (``"tcp://host:8786"``) of a running cluster. Without it, a
        ``LocalCluster`` is started.
    n_workers : int, optional
        Workers of the ``LocalCluster`` (default: ``os.cpu_count()``); not allowed with
        ``address``.
    client : distributed.Client, optional
        Use this client (not closed by :meth:`shutdown`).
    **cluster_kwargs
        Passed to ``LocalCluster`` (defaults: ``processes=True``, ``threads_per_worker=1``,
        scheduler, workers and dashboard on ``127.0.0.1`` only, the dashboard on a free port,
        quiet logs). Pass ``host=`` / ``dashboard_address=`` to listen elsewhere.

    Notes
    -----
    Tasks are submitted with ``pure=False`` (two evaluations of the same configuration are two
    tasks). A worker lost mid-task is handled by Dask: the task is retried on another worker up
    to ``distributed.scheduler.allowed-failures`` times, then its future raises ``KilledWorker``,
    which the driver records as a failed evaluation. Dask's nanny starts workers with
    ``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=1``, the same limits as
    :func:`worker_init`.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        n_workers: int | None = None,
        client: Any = None,
        **cluster_kwargs: Any,
    ) -> None:
        if n_workers is not None and (
            isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1
        ):
            raise ValueError(f"`n_workers` must be an int >= 1, got n_workers={n_workers!r}")
        if address is not None and not isinstance(address, str):
            raise TypeError(f"`address` must be a scheduler address string, got {address!r}")
        distributed = _import_distributed()
        self._cluster = None
        self._owns_client = client is None
        if client is not None:
            if address is not None or n_workers is not None:
                raise ValueError("give either `client` or `address`/`n_workers`, not both")
            self.client = client
        elif address is not None:
            if n_workers is not None or cluster_kwargs:
                raise ValueError(
                    "`n_workers` and cluster options apply to a LocalCluster, not to "
                    f"address={address!r}"
                )
            self.client = distributed.Client(address)
        else:
            import logging

            options: dict[str, Any] = {
                "n_workers": n_workers or os.cpu_count() or 1,
                "processes": True,
                "threads_per_worker": 1,
                # loopback only: a dashboard or scheduler on 0.0.0.0 lets anyone on the
                # network watch and control the cluster; no fixed port (8787 may be taken)
                "host": "127.0.0.1",
                "dashboard_address": "127.0.0.1:0",
                "silence_logs": logging.WARNING,
            }
            options.update(cluster_kwargs)
            self._cluster = _local_cluster_without_malloc_trim(distributed, options)
            self.client = distributed.Client(self._cluster)
        self._executor = self.client.get_executor(pure=False)

    @property
    def n_workers(self) -> int:
        """Number of workers currently connected to the scheduler."""
        return len(self.client.scheduler_info().get("workers", {}))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            futures = list(self._executor._futures)  # ClientExecutor's record of its tasks
            if futures:
                self.client.cancel(futures)
        self._executor.shutdown(wait=wait and not cancel_futures)
        if self._owns_client:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor(client={self.client!r})"


def make_executor(
    kind: str = "serial",
    *,
    n_workers: int | None = None,
    address: str | None = None,
    **kwargs: Any,
) -> Executor:
    """Build an evaluation backend; use it as a context manager to shut it down.

    Parameters
    ----------
    kind : {"serial", "process", "dask"}
        See the module docstring.
    n_workers : int, optional
        Worker processes for ``"process"`` and for a Dask ``LocalCluster``.
    address : str, optional
        Dask scheduler address (``kind="dask"`` only).
    **kwargs
        Passed to :class:`ProcessPool` or :class:`DaskExecutor`.

    Returns
    -------
    concurrent.futures.Executor
    """
    if kind not in EXECUTOR_KINDS:
        raise ValueError(
            f"unknown executor kind {kind!r}; valid kinds: {', '.join(EXECUTOR_KINDS)}"
        )
    if address is not None and kind != "dask":
        raise ValueError(
            f"`address` is a Dask scheduler address; it needs kind='dask', got kind={kind!r}"
        )
    if kind == "serial":
        if n_workers not in (None, 1) or kwargs:
            raise ValueError(
                f"the serial executor takes no options, got n_workers={n_workers!r}, "
                f"{sorted(kwargs)}"
            )
        return SerialExecutor()
    if kind == "process":
        return ProcessPool(n_workers, **kwargs)
    return DaskExecutor(address, n_workers=n_workers, **kwargs)


def executor_workers(executor: Executor) -> int | None:
    """Best-effort number of parallel workers of ``executor`` (None when unknown)."""
    n = getattr(executor, "n_workers", None)
    if n is None:
        n = getattr(executor, "_max_workers", None)  # ThreadPool/ProcessPoolExecutor
    return int(n) if isinstance(n, int) else None
