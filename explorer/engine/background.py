"""Races and γ strips: pure functions for a background process, and the cache that runs them.

:func:`race_result` runs one method to the end; :func:`gamma_strip` computes sparse grids at
several γ. Both are submitted to a small process pool (created by
:class:`explorer.services.Services`) so that Bayesian optimization's GP fits never hold the
server's GIL. :class:`RaceService` computes each key once and caches it for every session.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer.engine.record import RunKey, RunRecord
from explorer.engine.worker import make_strategy_for, record_run

__all__ = [
    "RaceResult", "RaceService", "gamma_strip", "make_background_pool",
    "make_training_executor", "race_result", "summarize",
]

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
    data = RunRecord(key, objective)
    try:
        record_run(data, make_strategy_for(key, data.d), threading.Event())
    except Exception as err:
        return RaceResult(
            key.method, np.zeros(0), np.zeros(0), None, math.nan, data.n,
            time.perf_counter() - t0, error=f"{type(err).__name__}: {err}",
        )
    return summarize(data, time.perf_counter() - t0)


def summarize(data: RunRecord, seconds: float | None = None) -> RaceResult:
    """A :class:`RaceResult` from a (possibly unfinished) :class:`RunRecord`."""
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
    objective: Any,
    budget: int,
    options: dict[str, Any],
    gammas: tuple[float, ...] = (0.0, 0.5, 1.0),
) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sparse grids without surrogate optimizer at several ``gammas``, same budget and options.

    Parameters
    ----------
    options : dict
        Sparse-grid options besides ``gamma`` (initial level, variant, ...).

    Returns
    -------
    dict
        ``gamma -> (U, y, level_sum)``: points ``U`` of shape ``(n, d)`` in storage order,
        their values ``(n,)`` and level sums ``(n,)``.
    """
    out = {}
    base = {k: v for k, v in options.items() if k != "gamma"} | {"optimizer": "none"}
    for gamma in gammas:
        opts = tuple(sorted((base | {"gamma": float(gamma)}).items()))
        key = RunKey("strip", "sparse_grid", budget, 0, opts)
        data = RunRecord(key, objective)
        record_run(data, make_strategy_for(key, data.d), threading.Event())
        n = data.n
        out[float(gamma)] = (data.U[:n].copy(), data.y[:n].copy(), data.level_sum[:n].copy())
    return out


def _init_background_worker() -> None:  # pragma: no cover - runs in the child process
    """One compute thread, lower priority: the server process keeps the CPU for animation."""
    from core.executors import worker_init

    worker_init()
    try:
        os.nice(10)
    except OSError:
        pass


def make_background_pool() -> Any:
    """A pool of one niced worker process for races and γ strips."""
    from core.executors import ProcessPool

    return ProcessPool(1, initializer=_init_background_worker)


def make_training_executor(n_workers: int) -> Any:
    """The executor for live neural-network evaluations (``core.executors``)."""
    from core.executors import make_executor

    return make_executor("process", n_workers=n_workers, initializer=_init_background_worker)


class RaceService:
    """Races and gamma strips computed once per key in the background pool, cached for all.

    ``get`` never blocks: it returns the finished value or ``None`` (and submits the work the
    first time). ``release`` cancels work nobody waits for any more, if it has not started.
    """

    def __init__(self, submit_fn: Callable[..., Future], max_items: int = 256) -> None:
        self._lock = threading.Lock()
        self._done: OrderedDict[Any, Any] = OrderedDict()
        self._futures: dict[Any, Future] = {}
        self._interest: dict[Any, int] = {}
        self._max = max_items
        self._submit = submit_fn

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
