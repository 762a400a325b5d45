"""Journals replayed in the explorer: a run written by ``core.run.minimize`` or the CLI, watched.

A journal (:mod:`core.journal`) holds the run's space, method, seed, options, budget and batch
bound in its header and one evaluation per line. The explorer replays it by running the same
strategy again on a :class:`JournalObjective`, which answers each asked configuration with the
value recorded for it instead of evaluating anything. Because a seeded run is reproducible, the
replayed strategy asks exactly the recorded points, and the page gets the whole run: refinement
steps, surrogate, inspector and history. A point that is not in the journal yet (the run is
still going elsewhere) is waited for: the file is polled for new complete lines. A point the
journal can never hold (another version of a strategy asks differently) is reported as such.

The file is only ever read (opened read-only, never locked, truncated or written).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from core.journal import JournalError, JournalRun, JournalTail, load_journal, to_json
from core.result import Measurement
from core.space import SearchSpace

__all__ = [
    "JournalError",
    "JournalObjective",
    "JournalRun",
    "config_key",
    "load_journal",
    "parse_space",
]

#: Seconds between two looks at a journal that is still being written.
POLL_SECONDS = 0.25

#: The one journal loader and its error live in core (re-exported here for the page's code).
parse_space = SearchSpace.from_description


def config_key(config: Mapping[str, Any]) -> str:
    """A configuration as it reads back from a journal, as one string (for lookups)."""
    return json.dumps(to_json(dict(config)), sort_keys=True, separators=(",", ":"))


def _short(config: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return text if len(text) <= 80 else text[:77] + "..."


def _measurement(rec: Mapping[str, Any]) -> Measurement:
    info = dict(rec.get("info") or {})
    value = rec.get("value")
    if value is None or rec.get("status") != "ok":
        info["error"] = str(rec.get("error") or "failed in the journaled run")
        return Measurement(math.nan, info)
    return Measurement(float(value), info)


class JournalObjective:
    """An objective that answers with the values a journal recorded (nothing is evaluated).

    Configurations are looked up by value; a configuration that is missing while the journal
    holds another one under the same evaluation number is answered at once as not this run
    (calls are counted, so use one objective per replayed run, evaluated in order).

    Parameters
    ----------
    run : JournalRun
        From :func:`load_journal`.
    follow : bool
        Wait for configurations not journaled yet (a run still being written); False answers
        them at once as failed.
    patience : float or None
        Seconds to wait for one configuration before it is answered as failed (None: until
        :meth:`close`).

    ``fixed_run`` holds the journaled run's method, budget, seed, options and ``max_batch``.
    Attributes follow :class:`core.objectives.base.Objective` (``name``, ``title``, ``space``,
    ``metric``, ``kind = "journal"``, no known minimum), so the explorer shows it like any
    objective without a true landscape.
    """

    kind = "journal"
    f_opt = None
    x_opt = None

    def __init__(self, run: JournalRun, *, follow: bool = True,
                 patience: float | None = None) -> None:
        self.path = run.path
        self.space = run.space
        self.name = f"journal:{run.path.name}"
        self.title = run.title
        self.metric = "journaled value"
        self.follow = bool(follow)
        self.patience = patience
        #: The run to repeat: method, budget, seed, strategy options and batch bound, as
        #: journaled (the explorer builds the same strategy from them).
        self.fixed_run = {"method": run.method, "budget": run.n_evals, "seed": run.seed,
                          "options": dict(run.options), "max_batch": run.max_batch}
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._by_config: dict[str, list[dict]] = {}
        self._by_index: dict[int, dict] = {}
        self._calls = 0
        self._mismatch: str | None = None  # set once the replay is known to differ
        self._n_records = 0
        self._tail = JournalTail(run.path, run.space.dim)  # checks each record for a replay
        self._add(self._tail.poll())
        self.waiting_since: float | None = None
        #: Set while a call waits for a point the journal does not have yet.
        self.waiting = threading.Event()

    def _add(self, records: list[dict]) -> None:
        for rec in records:
            self._by_config.setdefault(config_key(rec["config"]), []).append(rec)
            self._by_index.setdefault(rec["index"], rec)
        self._n_records += len(records)

    def refresh(self) -> int:
        """Read lines added since the last look; returns how many evaluations are known."""
        with self._lock:
            try:
                new = self._tail.poll()
            except OSError as exc:
                raise JournalError(self.path, None, f"cannot be read ({exc})") from None
            self._add(new)
            return self._n_records

    @property
    def ended(self) -> dict | None:
        """The journal's end line (``{"end": reason, "nfev": n}``) once its run is over."""
        return getattr(self._tail, "end", None)

    @property
    def n_known(self) -> int:
        """Evaluations read from the journal so far."""
        return self._n_records

    def close(self) -> None:
        """Stop waiting: configurations still missing are answered as failed."""
        self._closed.set()

    def _take(self, key: str) -> dict | None:
        with self._lock:
            queue = self._by_config.get(key)
            return queue.pop(0) if queue else None

    def _elsewhere(self, k: int) -> dict | None:
        """The journal's evaluation ``k`` (asked in index order: one thread, one run)."""
        with self._lock:
            return self._by_index.get(k)

    def __call__(self, config: dict[str, Any]) -> Measurement:
        key = config_key(config)
        with self._lock:
            k = self._calls
            self._calls += 1
        rec = self._take(key)
        t0 = time.monotonic()
        while rec is None and self.follow and not self._closed.is_set():
            other = self._elsewhere(k)
            if other is None and self._mismatch is not None:
                return Measurement(math.nan, {"error": self._mismatch})
            if other is None and self.ended is not None:
                break  # the journaled run is over: nothing more will come
            if other is not None:
                self._mismatch = (f"not in {self.path.name}: the replay asks other points than "
                                  "the journaled run")
                return Measurement(math.nan, {"error": (
                    f"the replay asked {_short(config)} as evaluation {k}, but "
                    f"{self.path.name} has {_short(other['config'])} there: this is not "
                    "the journaled run (other method, options or seed)"
                )})
            if self.patience is not None and time.monotonic() - t0 > self.patience:
                break
            self.waiting_since = self.waiting_since or time.time()
            self.waiting.set()
            self._closed.wait(POLL_SECONDS)
            try:
                self.refresh()
            except JournalError as exc:
                return Measurement(math.nan, {"error": str(exc)})
            rec = self._take(key)
        self.waiting_since = None
        self.waiting.clear()
        if rec is None:
            return Measurement(math.nan, {"error": (
                f"{self.path.name} holds no evaluation of this configuration (a run of "
                "another version asks other points, or the run was stopped before it)"
            )})
        return _measurement(rec)
