"""Finished cheap runs shared between the sessions of a server (same key, same run)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from explorer.engine.record import RunRecord
from explorer.engine.worker import RunWorker

__all__ = ["RunStore"]


class RunStore:
    """Cheap runs by key, with reference counts.

    A finished run is immutable apart from its model-image cache, so sessions asking for the
    same key share one :class:`RunRecord` and one :class:`RunWorker`. The worker of a run nobody
    uses any more is stopped (an unfinished run is dropped); finished runs stay cached, least
    recently used first out, without their model images (128x128 float32, 64 kB per step: a run
    of a few hundred steps holds tens of MB of them, far more than the run itself; for a viewer
    who comes back, the step shown is computed first).
    """

    def __init__(self, max_runs: int = 24, inline: bool = False) -> None:
        self.max_runs = max_runs
        #: workers without threads (``RunWorker(inline=True)``)
        self.inline = inline
        self._lock = threading.Lock()
        self._runs: OrderedDict[Any, tuple[RunRecord, RunWorker]] = OrderedDict()
        self._refs: dict[Any, int] = {}

    def acquire(
        self, key: Any, objective: Any, has_model: bool, dims: tuple[int, int] = (0, 1)
    ) -> tuple[RunRecord, RunWorker]:
        """The shared run of ``key`` (started if new); call :meth:`release` when done."""
        with self._lock:
            entry = self._runs.get(key)
            if entry is not None and (entry[0].error is not None or (
                    entry[1].stop_event.is_set() and not entry[0].done)):
                entry = None  # failed, or stopped before it finished: compute again
            if entry is not None and entry[0].has_model and (
                    not entry[1].alive or entry[1].stop_event.is_set()):
                # finished, its image thread stopped (or stopping: it would end without
                # computing the images of the viewer who came back): a fresh one for images
                record = entry[0]
                entry = (record, RunWorker(record, dims=dims, compute=False,
                                           inline=self.inline).start())
            if entry is None:
                record = RunRecord(key, objective, has_model)
                entry = (record, RunWorker(record, dims=dims, inline=self.inline).start())
            self._runs[key] = entry
            self._runs.move_to_end(key)
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
            if entry is None:
                return
            entry[1].stop()  # a finished run keeps its record; its image thread ends
            if not entry[0].done:
                self._runs.pop(key, None)
            else:  # and its model images (a viewer who comes back gets them recomputed)
                entry[0].drop_images()

    def workers(self) -> list[RunWorker]:
        with self._lock:
            return [w for _, w in self._runs.values()]

    def close(self) -> None:
        """Stop every worker (server shutdown, tests)."""
        for w in self.workers():
            w.stop()

    def _evict(self) -> None:
        while len(self._runs) > self.max_runs:
            for key in list(self._runs):
                if self._refs.get(key, 0) == 0:
                    _, worker = self._runs.pop(key)
                    worker.stop()
                    break
            else:
                return
