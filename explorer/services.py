"""What the sessions of one server share, created once and passed to each session.

:class:`Services` holds the run store (finished cheap runs), the race service (races and γ
strips in one background process) and the pool for live trainings, both pools started on first
use. ``panel serve`` keeps one instance in ``pn.state.cache`` (see :mod:`explorer.app`); tests
and notebooks make their own and :meth:`Services.close` it.

Nothing here refers to a session: sessions hold the services, never the reverse, so a closed
session is freed whole. What the services keep is bounded and keyed by experiment, not by
session (``max_runs`` finished runs, the race cache, the stored landscapes of the objectives).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from explorer.engine import RaceService, RunStore, make_background_pool, make_training_executor

__all__ = ["Services", "TRAINING_WORKERS"]

#: Worker processes for live trainings, shared by all sessions of a server.
TRAINING_WORKERS = 2


class Services:
    """Run store, race service and training pool of one server (module docstring).

    Parameters
    ----------
    submit : callable, optional
        ``submit(fn, *args) -> Future`` for races and strips (default: a background process,
        started on first use). Tests pass an inline function.
    training_executor : Executor, optional
        Where live trainings run (default: a process pool of ``TRAINING_WORKERS``).
    max_runs : int
        Cheap runs kept in the store.
    inline : bool
        Runs compute in the calling thread (``RunWorker(inline=True)``): a cheap run is whole
        when its session starts, a live run evaluates when allowed. For tests and scripts.
    """

    def __init__(
        self,
        *,
        submit: Callable[..., Future] | None = None,
        training_executor: Any = None,
        max_runs: int = 24,
        inline: bool = False,
    ) -> None:
        self.inline = inline
        self._lock = threading.Lock()
        self._pool: Any = None
        self._training = training_executor
        self._own_training = training_executor is None
        self.runs = RunStore(max_runs, inline=inline)
        self.races = RaceService(submit or self._submit)
        #: Stored landscapes of 2-D trainings, read once (see ``engine.truth``).
        self.landscapes: dict[Any, Any] = {}

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = make_background_pool()
            pool = self._pool
        return pool.submit(fn, *args)

    def training_executor(self) -> Any:
        """The executor for neural-network evaluations (started on first use)."""
        with self._lock:
            if self._training is None:
                self._training = make_training_executor(TRAINING_WORKERS)
            return self._training

    def close(self) -> None:
        """Stop the runs and shut the pools this object started."""
        self.runs.close()
        with self._lock:
            pool, self._pool = self._pool, None
            training = self._training if self._own_training else None
            if self._own_training:
                self._training = None
        for ex in (pool, training):
            if ex is not None:
                ex.shutdown(wait=False, cancel_futures=True)
