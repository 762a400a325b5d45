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

import ast
import json
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.journal import JournalTail, to_json
from core.result import Measurement
from core.space import Categorical, Float, Int, SearchSpace

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

_NUMERIC = re.compile(r"^(Float|Int)\((?P<low>[^,]+), (?P<high>[^,)]+)(?P<log>, log)?\)$")
_CATEGORICAL = re.compile(r"^Categorical\((?P<choices>\[.*\])\)$", re.DOTALL)


class JournalError(ValueError):
    """A file that cannot be replayed; the message names the file (and line) and the rule."""


def parse_space(description: Mapping[str, Any]) -> SearchSpace:
    """The :class:`~core.space.SearchSpace` whose ``describe()`` is ``description``.

    Raises
    ------
    ValueError
        A description that is not a space's, naming the parameter and the text received.
    """
    if not isinstance(description, Mapping) or not description:
        raise ValueError(f"the space must be a non-empty mapping name -> parameter, got "
                         f"{description!r:.120}")
    params: dict[str, Any] = {}
    for name, text in description.items():
        if not isinstance(text, str):
            raise ValueError(f"parameter {name!r} must be described by a string, got {text!r:.80}")
        m = _NUMERIC.match(text)
        try:
            if m is not None:
                kind = Float if text.startswith("Float") else Int
                cast = float if kind is Float else int
                params[name] = kind(cast(m["low"]), cast(m["high"]), log=m["log"] is not None)
                continue
            m = _CATEGORICAL.match(text)
            if m is not None:
                params[name] = Categorical(tuple(ast.literal_eval(m["choices"])))
                continue
        except (TypeError, ValueError, SyntaxError) as exc:
            raise ValueError(f"parameter {name!r}: {text!r:.120} is not a valid parameter "
                             f"({exc})") from None
        raise ValueError(
            f"parameter {name!r} must be described as Float(low, high[, log]), Int(low, high"
            f"[, log]) or Categorical([...]), got {text!r:.120}"
        )
    return SearchSpace(params)


def config_key(config: Mapping[str, Any]) -> str:
    """A configuration as it reads back from a journal, as one string (for lookups)."""
    return json.dumps(to_json(dict(config)), sort_keys=True, separators=(",", ":"))


@dataclass
class JournalRun:
    """What a journal says about its run, and its evaluations so far.

    Attributes
    ----------
    path : Path
    space : SearchSpace
    method : str or None
        Registered strategy name (``header["run"]["method"]``; None for a foreign writer).
    options : dict
        Strategy options as journaled.
    seed : int or None or str
        The seed (a string such as ``"<Generator>"`` when the run cannot be reproduced).
    n_evals : int
        The run's budget.
    max_batch : int or None
        Points per ask at most (part of the run's identity).
    objective : str or None
        Registered objective name, when the run used one.
    records : list of dict
        Evaluation lines in file order.
    n_bytes : int
        Bytes up to the end of the last complete line.
    """

    path: Path
    space: SearchSpace
    method: str | None
    options: dict[str, Any]
    seed: Any
    n_evals: int
    max_batch: int | None
    objective: str | None
    header: dict[str, Any] = field(repr=False)
    records: list[dict] = field(repr=False)
    n_bytes: int = 0

    @property
    def complete(self) -> bool:
        """Whether the journal holds its whole budget."""
        return len(self.records) >= self.n_evals

    @property
    def replayable(self) -> tuple[bool, str]:
        """Whether the strategy can be run again to ask the same points, and if not why."""
        from core.strategies import STRATEGIES

        if self.method not in STRATEGIES:
            return False, f"its method {self.method!r} is not one of {', '.join(STRATEGIES)}"
        if isinstance(self.seed, str):
            return False, f"it was seeded with {self.seed}, not an int, so it cannot be repeated"
        return True, ""

    @property
    def title(self) -> str:
        """``"sparse_grid on rosenbrock (run.jsonl)"``-like text (not escaped)."""
        what = self.objective or "an objective of its own"
        return f"{self.method or 'a run'} on {what} ({self.path.name})"


def _fail(path: Path, what: str) -> JournalError:
    return JournalError(f"{path}: {what}")


def _check_record(path: Path, lineno: int, rec: Any, dim: int) -> None:
    # core.journal checked the record's keys and types; what a replay needs on top:
    u = rec["u"]
    if len(u) != dim or not all(0.0 <= x <= 1.0 for x in u):
        raise _fail(path, f"line {lineno}: `u` must be {dim} numbers in [0, 1], got {u!r:.80}")
    value = rec.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise _fail(path, f"line {lineno}: `value` must be a number or null, got {value!r:.40}")
    if not isinstance(rec.get("config"), dict):
        raise _fail(path, f"line {lineno}: `config` must be an object, got "
                          f"{rec.get('config')!r:.60}")


def _header_fields(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    try:
        space = parse_space(header.get("space"))
    except (TypeError, ValueError) as exc:
        raise _fail(path, f"line 1: the header's space is not readable ({exc})") from None
    n_evals = header.get("n_evals")
    if isinstance(n_evals, bool) or not isinstance(n_evals, int) or n_evals < 1:
        raise _fail(path, f"line 1: `n_evals` must be an int >= 1, got {n_evals!r:.40}")
    max_batch = header.get("max_batch")
    if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int)
                                  or max_batch < 1):
        raise _fail(path, f"line 1: `max_batch` must be null or an int >= 1, got "
                          f"{max_batch!r:.40}")
    if header.get("dim") not in (None, space.dim):
        raise _fail(path, f"line 1: `dim` is {header.get('dim')!r:.20} but the space has "
                          f"{space.dim} parameters")
    run = header.get("run") if isinstance(header.get("run"), dict) else {}
    options = run.get("options") if isinstance(run.get("options"), dict) else {}
    method = run.get("method") if isinstance(run.get("method"), str) else None
    objective = run.get("objective") if isinstance(run.get("objective"), str) else None
    return {"space": space, "method": method, "options": dict(options), "seed": run.get("seed"),
            "n_evals": n_evals, "max_batch": max_batch, "objective": objective}


def load_journal(path: str | Path) -> JournalRun:
    """Read a journal (read-only) and check every complete line.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    JournalRun

    Raises
    ------
    JournalError
        Missing, unreadable, empty, foreign, other-version or corrupt file; the message names
        the file and, for a bad line, its number.
    """
    p = Path(path)
    if not p.is_file():
        raise _fail(p, "no such file" if not p.exists() else "not a regular file")
    tail = JournalTail(p)
    try:
        records = tail.poll()
    except ValueError as exc:  # core.journal.JournalError names the file and the line
        text = str(exc)
        raise JournalError(text if text.startswith(str(p)) else f"{p}: {text}") from None
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc})") from None
    if tail.header is None:
        raise _fail(p, "empty: no complete header line (a run that has not started yet, or "
                       "not a journal)")
    fields = _header_fields(p, tail.header)
    dim = fields["space"].dim
    for lineno, rec in enumerate(records, start=2):
        _check_record(p, lineno, rec, dim)
    return JournalRun(path=p, header=tail.header, records=list(records), n_bytes=tail.offset,
                      **fields)


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
        self._add(run.records)
        self._tail = JournalTail(run.path)
        self._tail.poll()  # skip what ``run`` holds (re-checked by core's reader)
        self.waiting_since: float | None = None

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
            except (OSError, ValueError) as exc:
                raise JournalError(str(exc)) from None
            for lineno, rec in enumerate(new, start=self._tail.lines - len(new) + 1):
                _check_record(self.path, lineno, rec, self.space.dim)
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
            self._closed.wait(POLL_SECONDS)
            try:
                self.refresh()
            except JournalError as exc:
                return Measurement(math.nan, {"error": str(exc)})
            rec = self._take(key)
        self.waiting_since = None
        if rec is None:
            return Measurement(math.nan, {"error": (
                f"{self.path.name} holds no evaluation of this configuration (a run of "
                "another version asks other points, or the run was stopped before it)"
            )})
        return _measurement(rec)
