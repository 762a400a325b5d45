"""The run journal: one JSON line per evaluation, appended as it completes, for resuming.

Format (UTF-8, one JSON object per line):

- line 1, the header: ``{"journal": "sparse-hpo", "version": 1, "space": {...}, "strategy": ...,
  "dim": d, "n_evals": n, "max_batch": ..., "run": {...}, "created": "..."}``. ``run`` holds what
  the caller adds (:func:`core.run.minimize` stores ``method``, ``seed`` and ``options``). The
  line always begins with the bytes of :data:`HEADER_PREFIX`; that is how a journal is told
  apart from any other file, which is never written to.
- every further line, one evaluation: ``{"index", "step", "u", "config", "value", "status",
  "error", "seconds", "info", "time", "origin"}``; ``value`` is ``null`` for a failed evaluation;
  ``origin`` is :meth:`core.records.Origin.to_json` without a selection's criterion arrays
  (what the point is; absent in journals written before it existed). Lines are in completion
  order, which may differ from ``index`` order with parallel backends.
- when a run ends (its budget used, the method exhausted or converged, or stopped on request),
  an end line ``{"end": reason, "nfev": n, "time": ...}``. A resumed run appends evaluations
  after it and a new end line when it ends; the last end line after the last evaluation says
  the run is over. A killed run has none.

Each line is written with one ``write``, flushed and ``os.fsync``-ed, so a ``kill -9`` loses at
most the evaluations still in flight; a partially written last line is ignored by the readers
(and cut off when the journal is reopened to resume). Floats are written with ``repr``
precision, so unit-cube points round-trip bit for bit.

Reading (read-only, safe on a journal another process is still writing, and a stream: a
reader holds one chunk of :data:`READ_CHUNK` bytes and the line it parses, so its memory does
not grow with the file): :func:`load_journal` checks a whole journal and returns its run
(:class:`JournalRun`, whose :meth:`~JournalRun.iter_records` reads the records again);
:func:`follow` yields records as lines are appended, until told to stop; :class:`JournalTail`
returns the records completed since its last call; :func:`read_journal` returns them all as a
list. Every failure, however the line is malformed, is one :class:`JournalError` naming the
file, the line and what was expected. :func:`core.run.replay` drives the journaled run again
from these records.

Writing never goes through a symbolic link: a journal path that is one (to an existing file or
dangling) is refused, and the file is opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.records import ORIGIN_KINDS

__all__ = [
    "HEADER_PREFIX",
    "JOURNAL_FORMAT",
    "JOURNAL_VERSION",
    "JournalError",
    "JournalRun",
    "JournalTail",
    "JournalWriter",
    "check_journal_path",
    "follow",
    "load_journal",
    "open_journal",
    "origin_from_record",
    "read_journal",
]

JOURNAL_FORMAT = "sparse-hpo"
JOURNAL_VERSION = 1
#: Every journal starts with these bytes (the header's first two keys, compact JSON).
HEADER_PREFIX = f'{{"journal":"{JOURNAL_FORMAT}",'.encode()
_UNCHECKED = ("created",)
#: Strategy classes renamed since journals were written: a header's old class name -> the class
#: that now runs the same method (``method="sparse_grid"`` is ``ComposedSparseGrid`` since its
#: phases became a composition, with the same runs), so such a journal still resumes; the replay
#: still checks every point bit for bit.
RENAMED_STRATEGIES: dict[str, str] = {"SparseGridSearch": "ComposedSparseGrid"}
_KINDS = tuple(ORIGIN_KINDS)
_RECORD_KEYS = ("index", "u", "status")


class JournalError(ValueError):
    """A journal that cannot be read: a line that is not what the format expects, or a file
    that is not a journal. The one error class of journal reading (the explorer's replay uses
    it too).

    Attributes
    ----------
    path : str
        The journal file.
    line : int or None
        1-based line number of the offending line (None when the file as a whole is at fault).
    """

    def __init__(self, path: str | os.PathLike, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = "" if line is None else f" line {line}"
        super().__init__(f"{self.path}:{where} {message}")


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def _dumps(obj: Any) -> str:
    # NaN/inf inside ``info`` are written as Python's NaN/Infinity tokens (read back by json).
    return json.dumps(obj, default=_default, separators=(",", ":"))


def to_json(obj: Any) -> Any:
    """``obj`` as it reads back from the journal (arrays -> lists, unknown objects -> repr)."""
    return json.loads(_dumps(obj))


def _evaluation_record(ev: Any) -> dict[str, Any]:
    value = ev.value if math.isfinite(ev.value) else None
    return {
        "index": ev.index,
        "step": ev.step,
        "u": ev.u.tolist(),
        "config": ev.config,
        "value": value,
        "status": ev.status,
        "error": ev.error,
        "seconds": ev.seconds,
        "info": ev.info,
        "time": time.time(),
        **({} if ev.origin is None else {"origin": _journaled_origin(ev.origin)}),
    }


def _journaled_origin(origin: Any) -> dict[str, Any]:
    """An origin as the journal keeps it: everything but a selection's criterion arrays.

    Those hold one entry per candidate of every refinement, so a run's would grow with the
    square of its length and soon outweigh everything else in the journal; ``parent`` and
    ``refinement`` still say which point each refinement refined, and :func:`core.run.replay`
    rebuilds the arrays.
    """
    out = origin.to_json()
    out.pop("selection", None)
    return out


class JournalWriter:
    """Append evaluations to an open journal file (one fsync-ed line each).

    The writer holds an exclusive advisory lock (``flock``) on the file until :meth:`close`, so
    two runs never append to one journal at once; readers do not need the lock.

    Raises
    ------
    BlockingIOError
        Another writer (another run, in this or another process) holds the journal.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = _open_for_append(self.path)
        self._last_end: tuple[str, int] | None = None
        try:
            _lock(self._file.fileno())
        except BlockingIOError:
            self._file.close()
            raise BlockingIOError(
                f"the journal {str(self.path)!r} is in use by another run (it holds the file's "
                "lock); wait for that run to end, or choose another journal path"
            ) from None

    def truncate(self, size: int) -> None:
        """Cut the file to ``size`` bytes (a torn last line), durably."""
        self._file.flush()
        os.ftruncate(self._file.fileno(), size)
        os.fsync(self._file.fileno())

    def _write_line(self, obj: Any) -> None:
        self._file.write(_dumps(obj) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, evaluation: Any) -> None:
        """Write one :class:`~core.records.Evaluation` as a line."""
        self._write_line(_evaluation_record(evaluation))
        self._last_end = None

    def end(self, reason: str, nfev: int) -> None:
        """Write the end line: the run ended with stop reason ``reason`` after ``nfev``.

        Nothing is written when the journal already ends with the same end line (a finished
        run resumed: nothing was evaluated).
        """
        if self._last_end != (reason, nfev):
            self._write_line({"end": reason, "nfev": nfev, "time": time.time()})
            self._last_end = (reason, nfev)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _link_refusal(path: Path) -> FileExistsError:
    try:
        target = os.readlink(path)
    except OSError:  # pragma: no cover - replaced meanwhile
        target = "?"
    return FileExistsError(
        f"the journal path {str(path)!r} is a symbolic link (to {target!r}); a journal is "
        "never written through a link, which could append to any file it points to. Give "
        "the real file's path."
    )


def _open_for_append(path: Path) -> Any:
    """Open ``path`` for appending without following a symbolic link at its last component
    (``O_NOFOLLOW``; where the platform lacks it, an ``lstat`` check just before)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not nofollow and os.path.islink(path):  # pragma: no cover - no O_NOFOLLOW (Windows)
        raise _link_refusal(path)
    try:
        fd = os.open(path, flags | nofollow, 0o666)
    except OSError as exc:
        if os.path.islink(path):  # ELOOP (or EMLINK on some BSDs): the path is a link
            raise _link_refusal(path) from None
        raise exc
    return os.fdopen(fd, "a", encoding="utf-8")


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


# -- reading -------------------------------------------------------------------------------------
#: Bytes read from the file at a time: a reader holds one chunk and the line being parsed, so its
#: memory does not grow with the journal.
READ_CHUNK = 1 << 20


def _shown(raw: bytes) -> str:
    return repr(raw[:80]) + (" ..." if len(raw) > 80 else "")


def _loads(path: Any, lineno: int, raw: bytes, expected: str) -> Any:
    """``json.loads`` of one line; every way it can fail is a :class:`JournalError`."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise JournalError(
            path, lineno, f"is corrupt: expected UTF-8 text, got undecodable byte at column "
            f"{exc.start + 1}"
        ) from None
    except json.JSONDecodeError as exc:
        raise JournalError(path, lineno, f"is corrupt: expected {expected} ({exc})") from None
    except RecursionError:
        raise JournalError(
            path, lineno, f"is corrupt: expected {expected}, got JSON nested deeper than the "
            f"reader allows: {_shown(raw)}"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise JournalError(path, lineno, f"is corrupt: expected {expected} ({exc})") from None


def _parse_header(path: Any, raw: bytes) -> dict[str, Any]:
    if not raw.startswith(HEADER_PREFIX):
        raise JournalError(
            path, 1, f"is not a journal header: expected a {JOURNAL_FORMAT!r} journal header "
            f"starting with {HEADER_PREFIX.decode()!r}, got {_shown(raw)}"
        )
    header = _loads(path, 1, raw, "a journal header, a JSON object")
    if not isinstance(header, dict):
        raise JournalError(path, 1, f"is not a journal header object, got {_shown(raw)}")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(
            path, 1, f"has journal version {header.get('version')!r}; this program reads "
            f"version {JOURNAL_VERSION}"
        )
    return header


def _parse_record(path: Any, lineno: int, raw: bytes, dim: int | None = None) -> dict[str, Any]:
    """An evaluation record, or an end record (a dict with the key ``"end"``).

    With ``dim``, an evaluation's ``u`` must also be ``dim`` numbers in [0, 1], its ``config`` an
    object and its ``origin`` (if any) an object of a known kind (:func:`origin_from_record`
    reads it).
    """
    expected = "an evaluation record, a JSON object with 'index', 'u' and 'status'"
    rec = _loads(path, lineno, raw, expected)
    if isinstance(rec, dict) and "end" in rec and "index" not in rec:
        nfev = rec.get("nfev")
        if not isinstance(rec["end"], str) or isinstance(nfev, bool) or not isinstance(
            nfev, int
        ):
            raise JournalError(
                path, lineno, "is corrupt: an end line needs a reason string 'end' and an int "
                f"'nfev', got {_shown(raw)}"
            )
        return rec
    if not isinstance(rec, dict) or any(k not in rec for k in _RECORD_KEYS):
        raise JournalError(path, lineno, f"is corrupt: expected {expected}, got {_shown(raw)}")
    index, u, status = rec["index"], rec["u"], rec["status"]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise JournalError(path, lineno, f"is corrupt: 'index' must be an int >= 0, got {index!r}")
    if not isinstance(u, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in u
    ):
        raise JournalError(
            path, lineno, f"is corrupt: 'u' must be a list of numbers, got {_shown(raw)}"
        )
    value = rec.get("value")
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if status == "ok" and not (numeric and math.isfinite(value)):
        raise JournalError(
            path, lineno, f"is corrupt: 'value' of an 'ok' evaluation must be a finite number, "
            f"got {value!r:.40}"
        )
    if status != "ok" and not (value is None or numeric):
        raise JournalError(
            path, lineno, f"is corrupt: 'value' must be a number or null, got {value!r:.40}"
        )
    if status not in ("ok", "failed"):
        raise JournalError(
            path, lineno, f"is corrupt: 'status' must be 'ok' or 'failed', got {status!r:.40}"
        )
    if dim is not None:
        _check_for_replay(path, lineno, rec, dim)
    return rec


def _check_for_replay(path: Any, lineno: int, rec: dict[str, Any], dim: int) -> None:
    """What reading a run back needs beyond the format: a point of the space, a configuration
    object and an origin of a known kind."""
    u = rec["u"]
    if len(u) != dim or not all(0.0 <= x <= 1.0 for x in u):
        raise JournalError(
            path, lineno, f"is corrupt: `u` must be {dim} numbers in [0, 1], got {u!r:.80}"
        )
    if not isinstance(rec.get("config"), dict):
        raise JournalError(
            path, lineno, f"is corrupt: `config` must be an object, got {rec.get('config')!r:.60}"
        )
    origin = rec.get("origin")
    if origin is not None and not (isinstance(origin, dict) and origin.get("kind") in _KINDS):
        raise JournalError(
            path, lineno, f"is corrupt: `origin` must be an object with a 'kind' of "
            f"{', '.join(_KINDS)}, got {origin!r:.80}"
        )


def origin_from_record(rec: Mapping[str, Any]) -> Any:
    """The :class:`~core.records.Origin` of a journal record (None in older journals).

    Raises
    ------
    ValueError, TypeError
        The record's ``origin`` is not one :meth:`~core.records.Origin.to_json` wrote.
    """
    from core.records import Origin

    data = rec.get("origin")
    return None if data is None else Origin.from_json(data)


class JournalTail:
    """Follow a journal, possibly still being written: each :meth:`poll` returns new records.

    Only complete lines are read; a line still being written is picked up by a later poll.
    The file is opened and closed on every poll (never held, never written) and read in chunks
    of :data:`READ_CHUNK` bytes: :meth:`records` yields one record at a time, so a reader that
    does not keep them needs memory independent of the journal's size.

    Parameters
    ----------
    path : path-like
        The journal file (it may not exist yet: polls then return nothing).
    dim : int, optional
        Also check that each evaluation is a point of a ``dim``-dimensional space with a
        configuration object (what a replay needs).

    Attributes
    ----------
    header : dict or None
        The header, once its line is complete.
    end : dict or None
        ``{"end": reason, "nfev": n, ...}`` when the last complete line is an end line: the run
        is over (until it is resumed). None while the run goes on or after a kill.
    offset : int
        Bytes consumed so far (the end of the last complete line read).
    lines : int
        Complete lines consumed so far (the header included).
    n_records : int
        Evaluation records consumed so far.

    Examples
    --------
    >>> tail = JournalTail("run.jsonl")  # doctest: +SKIP
    >>> # records completed since the last poll, in file order
    >>> new = tail.poll()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, dim: int | None = None) -> None:
        self.path = Path(path)
        self.dim = dim
        self.header: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.offset = 0
        self.lines = 0
        self.n_records = 0

    def poll(self) -> list[dict[str, Any]]:
        """Records of the lines completed since the last call (header excluded), in file order.

        Raises
        ------
        JournalError
            A complete line is not what the format expects, or the file shrank or disappeared
            (it was replaced, truncated, deleted or moved by someone else).
        """
        return list(self.records())

    def records(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Yield the records of the lines completed since the last read, one at a time.

        The file's size is taken once, when reading starts; lines appended later are left to
        the next call. ``offset``, ``lines``, ``end`` and ``header`` advance with each line
        consumed, so a consumer that stops early resumes where it stopped.

        Parameters
        ----------
        limit : int, optional
            Stop reading at this byte offset (None: at the size the file has now).

        Raises
        ------
        JournalError
            As :meth:`poll`.
        """
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            if self.offset:
                raise JournalError(
                    self.path, None, f"cannot be read any more: the journal was deleted or "
                    f"moved after {self.lines} line(s) had been read"
                ) from None
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            if size < self.offset:
                raise JournalError(
                    self.path, self.lines + 1, f"cannot be read: a journal only grows, "
                    f"but the file shrank from {self.offset} to {size} bytes"
                )
            stop = size if limit is None else min(size, limit)
            f.seek(self.offset)
            pending = b""
            position = self.offset
            while position < stop:
                chunk = f.read(min(READ_CHUNK, stop - position))
                if not chunk:
                    break
                position += len(chunk)
                if self.lines == 0 and not pending and not HEADER_PREFIX.startswith(
                    chunk[: len(HEADER_PREFIX)]
                ):
                    first = chunk.split(b"\n", 1)[0]
                    _parse_header(self.path, first)  # raises: not a journal
                pending += chunk
                start = 0
                while True:
                    nl = pending.find(b"\n", start)
                    if nl < 0:
                        break
                    raw = pending[start:nl]
                    start = nl + 1
                    rec = self._consume(raw)
                    self.offset += len(raw) + 1
                    if rec is not None:
                        yield rec
                pending = pending[start:]

    def _consume(self, raw: bytes) -> dict[str, Any] | None:
        """Parse one complete line; an evaluation record is returned, anything else noted."""
        self.lines += 1
        if self.lines == 1:
            self.header = _parse_header(self.path, raw)
            return None
        if not raw.strip():
            return None
        rec = _parse_record(self.path, self.lines, raw, self.dim)
        if "index" in rec:
            self.end = None
            self.n_records += 1
            return rec
        self.end = rec
        return None


def follow(
    path: str | os.PathLike,
    *,
    stop: Any = None,
    poll_seconds: float = 0.25,
    until_end: bool = False,
    dim: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield a journal's evaluation records as lines are appended, until told to stop.

    Read-only (never written, locked or truncated): the records already in the file first, then
    each new complete line as another process appends it.

    Parameters
    ----------
    path : path-like
        The journal (it may not exist yet).
    stop : object with ``is_set()``, optional
        Ends the iteration when set (checked whenever the file holds nothing new); a
        :class:`threading.Event` is waited on, so setting it ends a wait at once.
    poll_seconds : float
        Seconds between two looks at a file that holds nothing new.
    until_end : bool
        Also end once the journal's last line is an end line (its run is over).
    dim : int, optional
        Check each record's point and configuration (see :class:`JournalTail`).

    Raises
    ------
    JournalError
        A complete line is not what the format expects, or the file shrank.
    """
    tail = JournalTail(path, dim)
    wait = getattr(stop, "wait", None)
    while True:
        yield from tail.records()
        if stop is not None and stop.is_set():
            return
        if until_end and tail.end is not None:
            return
        if callable(wait):
            wait(poll_seconds)
        else:
            time.sleep(poll_seconds)


def read_journal(path: str | os.PathLike) -> tuple[dict[str, Any] | None, list[dict], int]:
    """Read a journal (read-only; a partial last line, from a kill or a live writer, is skipped).

    Returns
    -------
    header : dict or None
        None when the file is empty or its header line is incomplete.
    records : list of dict
        The evaluation lines, in file order (end lines are left out; :class:`JournalTail`
        reports them). For a journal too large to hold, iterate :meth:`JournalTail.records`
        or :meth:`JournalRun.iter_records` instead.
    n_valid : int
        Number of bytes up to the end of the last complete line.

    Raises
    ------
    JournalError
        (a ``ValueError``) If the file is not a journal or a complete line is not what the
        format expects; the message names the file and the line.
    """
    tail = JournalTail(path)
    if not tail.path.is_file():
        raise FileNotFoundError(f"the journal {str(path)!r} does not exist or is not a file")
    records = tail.poll()
    return tail.header, records, tail.offset


@dataclass
class JournalRun:
    """What a journal says about its run (:func:`load_journal`); the records stay in the file.

    Attributes
    ----------
    path : Path
    header : dict
    space : SearchSpace
        Read back from the header's description (``SearchSpace.from_description``).
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
    n_records : int
        Evaluation lines in the file when it was loaded.
    n_bytes : int
        Bytes up to the end of the last complete line then.
    end : dict or None
        The end line, when the file's last complete line was one (the run was over).
    """

    path: Path
    header: dict[str, Any] = field(repr=False)
    space: Any
    method: str | None
    options: dict[str, Any]
    seed: Any
    n_evals: int
    max_batch: int | None
    objective: str | None
    n_records: int = 0
    n_bytes: int = 0
    end: dict[str, Any] | None = None

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """The evaluation records loaded, read again from the file one at a time (checked as
        :func:`load_journal` checked them; memory independent of the journal's size)."""
        yield from JournalTail(self.path, self.space.dim).records(limit=self.n_bytes)

    @property
    def records(self) -> list[dict[str, Any]]:
        """:meth:`iter_records` as a list (holds every record: for small journals)."""
        return list(self.iter_records())

    @property
    def complete(self) -> bool:
        """Whether the journal held its whole budget when loaded."""
        return self.n_records >= self.n_evals

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


def _header_fields(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    from core.space import SearchSpace

    try:
        space = SearchSpace.from_description(header.get("space"))
    except (TypeError, ValueError) as exc:
        raise JournalError(path, 1, f"is not a run's header: the header's space is not "
                                    f"readable ({exc})") from None
    n_evals = header.get("n_evals")
    if isinstance(n_evals, bool) or not isinstance(n_evals, int) or n_evals < 1:
        raise JournalError(path, 1, f"is not a run's header: `n_evals` must be an int >= 1, "
                                    f"got {n_evals!r:.40}")
    max_batch = header.get("max_batch")
    if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int)
                                  or max_batch < 1):
        raise JournalError(path, 1, f"is not a run's header: `max_batch` must be null or an "
                                    f"int >= 1, got {max_batch!r:.40}")
    if header.get("dim") not in (None, space.dim):
        raise JournalError(path, 1, f"is not a run's header: `dim` is {header.get('dim')!r:.20}"
                                    f" but the space has {space.dim} parameters")
    run = header.get("run") if isinstance(header.get("run"), dict) else {}
    options = run.get("options") if isinstance(run.get("options"), dict) else {}
    method = run.get("method") if isinstance(run.get("method"), str) else None
    objective = run.get("objective") if isinstance(run.get("objective"), str) else None
    return {"space": space, "method": method, "options": dict(options), "seed": run.get("seed"),
            "n_evals": n_evals, "max_batch": max_batch, "objective": objective}


def load_journal(path: str | os.PathLike) -> JournalRun:
    """Read a journal (read-only, as a stream) and check every complete line.

    The header must describe a run (a readable space, budget, batch bound and dimension) and
    every evaluation must be a point of that space with a configuration and, when present, an
    origin of a known kind. Records are not kept: :meth:`JournalRun.iter_records` reads them again.

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
        raise JournalError(p, None, "no such file" if not p.exists() else "not a regular file")
    tail = JournalTail(p)
    try:
        for _ in tail.records(limit=_header_end(p)):
            pass
        if tail.header is None:
            raise JournalError(p, None, "empty: no complete header line (a run that has not "
                                        "started yet, or not a journal)")
        fields = _header_fields(p, tail.header)
        tail.dim = fields["space"].dim
        for _ in tail.records():
            pass
    except OSError as exc:
        raise JournalError(p, None, f"cannot be read ({exc.strerror or exc})") from None
    return JournalRun(path=p, header=tail.header, n_records=tail.n_records, n_bytes=tail.offset,
                      end=tail.end, **fields)


def _header_end(path: Path) -> int:
    """Byte offset just past the first line (or 0 when it is not complete yet)."""
    with open(path, "rb") as f:
        first = f.readline()
    return len(first) if first.endswith(b"\n") else 0


# -- opening for a run ---------------------------------------------------------------------------
def make_header(
    *,
    space: Mapping[str, Any],
    strategy: str,
    dim: int,
    n_evals: int,
    max_batch: int | None,
    run: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The header line for a new journal (JSON-normalized)."""
    return to_json(
        {
            "journal": JOURNAL_FORMAT,
            "version": JOURNAL_VERSION,
            "space": dict(space),
            "strategy": strategy,
            "dim": dim,
            "n_evals": n_evals,
            "max_batch": max_batch,
            "run": dict(run or {}),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )


def _header_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    diffs = []
    for key in new:
        if key in _UNCHECKED:
            continue
        a, b = old.get(key), new.get(key)
        if key == "strategy" and isinstance(a, str) and RENAMED_STRATEGIES.get(a) == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping) and key == "run":
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    diffs.append(f"{k}: journal has {a.get(k)!r}, this run has {b.get(k)!r}")
        elif a != b:
            diffs.append(f"{key}: journal has {a!r}, this run has {b!r}")
    return diffs


def check_journal_path(path: str | os.PathLike, *, resume: bool) -> Path:
    """Check, without writing anything, that a run may use ``path`` as its journal.

    The file may be missing or empty (a new journal), or be a journal of this format: with
    ``resume=False`` only while it holds no complete header (the leftover of a run killed
    while writing its first line). Anything else is refused.

    Raises
    ------
    FileExistsError
        ``path`` is not ours (any other file, a directory or a symbolic link, even one to a
        journal), or holds a run and ``resume`` is False. The message names the file;
        nothing is written.
    FileNotFoundError
        The directory of ``path`` does not exist.
    PermissionError
        ``path`` or its directory is not writable.
    """
    path = Path(path)
    if path.is_symlink():  # to an existing file or dangling: never written through
        raise _link_refusal(path)
    if path.is_dir():
        raise FileExistsError(f"the journal path {str(path)!r} is a directory; give a file path")
    if path.exists():
        if not path.is_file():
            raise FileExistsError(f"the journal path {str(path)!r} is not a regular file")
        with open(path, "rb") as f:
            first = f.readline()
        start = first[: len(HEADER_PREFIX)]
        complete = start == HEADER_PREFIX and first.endswith(b"\n")
        if start and not (start == HEADER_PREFIX or HEADER_PREFIX.startswith(start)):
            raise FileExistsError(
                f"{str(path)!r} exists and is not a {JOURNAL_FORMAT!r} journal (it does not "
                f"begin with {HEADER_PREFIX.decode()!r}); nothing was written to it. Choose "
                "another journal path."
            )
        if complete and not resume:
            raise FileExistsError(
                f"the journal {str(path)!r} already holds a run; pass resume=True to continue "
                "it, or choose another path"
            )
        if not os.access(path, os.W_OK):
            raise PermissionError(f"the journal {str(path)!r} is not writable")
    else:
        parent = path.parent
        if not parent.is_dir():
            raise FileNotFoundError(f"the journal's directory {str(parent)!r} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise PermissionError(
                f"cannot create the journal {str(path)!r}: its directory is not writable"
            )
    return path


def open_journal(
    path: str | os.PathLike, header: dict[str, Any], *, resume: bool
) -> tuple[JournalWriter, list[dict]]:
    """Open ``path`` for appending and return the writer and the records to replay.

    Parameters
    ----------
    path : path-like
    header : dict
        From :func:`make_header`.
    resume : bool
        False: the file must not hold a run; a new journal is started.
        True: an existing journal must have an equal header (``created`` aside), its records are
        returned for replay and a partial last line is cut off; a missing or empty file starts
        a new journal.

    Raises
    ------
    FileExistsError, FileNotFoundError, PermissionError
        See :func:`check_journal_path` (nothing is written).
    BlockingIOError
        Another run is appending to the journal right now.
    ValueError
        ``resume=True`` and the journal belongs to another run (the message lists every
        difference), or a line is corrupt (:class:`JournalError`, naming the file and line).
    """
    path = check_journal_path(path, resume=resume)
    writer = JournalWriter(path)  # locks the file first: nobody appends while it is read
    try:
        tail = JournalTail(path)
        records = tail.poll()
        existing, n_valid = tail.header, tail.offset
        if tail.end is not None:
            writer._last_end = (tail.end["end"], tail.end["nfev"])
        if existing is not None and not resume:  # written since the check: another run's
            raise FileExistsError(
                f"the journal {str(path)!r} already holds a run; pass resume=True to continue "
                "it, or choose another path"
            )
        if existing is not None:
            diffs = _header_differences(existing, header)
            if diffs:
                raise ValueError(
                    f"cannot resume from {str(path)!r}: the journal belongs to another run; "
                    + "; ".join(diffs)
                )
        if path.stat().st_size != n_valid:
            writer.truncate(n_valid)  # a partially written last line (ours: checked above)
        if existing is None:
            writer._write_line(header)
            _fsync_dir(path.parent)
    except BaseException:
        writer.close()
        raise
    return writer, records


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
