"""The run journal: one JSON line per evaluation, appended as it completes, for resuming.

Format (UTF-8, one JSON object per line):

- line 1, the header: ``{"journal": "sparse-hpo", "version": 1, "space": {...}, "strategy": ...,
  "dim": d, "n_evals": n, "max_batch": ..., "run": {...}, "created": "..."}``. ``run`` holds what
  the caller adds (:func:`core.run.minimize` stores ``method``, ``seed`` and ``options``). The
  line always begins with the bytes of :data:`HEADER_PREFIX`; that is how a journal is told
  apart from any other file, which is never written to.
- every further line, one evaluation: ``{"index", "step", "u", "config", "value", "status",
  "error", "seconds", "info", "time", "origin"}``; ``value`` is ``null`` for a failed evaluation;
  ``origin`` is :meth:`core.records.Origin.to_json` (what the point is; absent in journals
  written before it existed). Lines are in completion order, which may differ from ``index``
  order with parallel backends.
- when a run ends (its budget used, the method exhausted or converged, or stopped on request),
  an end line ``{"end": reason, "nfev": n, "time": ...}``. A resumed run appends evaluations
  after it and a new end line when it ends; the last end line after the last evaluation says
  the run is over. A killed run has none.

Each line is written with one ``write``, flushed and ``os.fsync``-ed, so a ``kill -9`` loses at
most the evaluations still in flight; a partially written last line is ignored by the readers
(and cut off when the journal is reopened to resume). Floats are written with ``repr``
precision, so unit-cube points round-trip bit for bit.

Reading (read-only, safe on a journal another process is still writing):
:func:`read_journal` reads the whole file; :class:`JournalTail` returns the records completed
since its last call, for following a live run. Both raise :class:`JournalError` naming the file,
the line and what was expected.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HEADER_PREFIX",
    "JOURNAL_FORMAT",
    "JOURNAL_VERSION",
    "JournalError",
    "JournalTail",
    "JournalWriter",
    "check_journal_path",
    "open_journal",
    "read_journal",
]

JOURNAL_FORMAT = "sparse-hpo"
JOURNAL_VERSION = 1
#: Every journal starts with these bytes (the header's first two keys, compact JSON).
HEADER_PREFIX = f'{{"journal":"{JOURNAL_FORMAT}",'.encode()
_UNCHECKED = ("created",)
_RECORD_KEYS = ("index", "u", "status")


class JournalError(ValueError):
    """A journal line that is not what the format expects.

    Attributes
    ----------
    path : str
        The journal file.
    line : int
        1-based line number of the offending line.
    """

    def __init__(self, path: str | os.PathLike, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{self.path}: line {line} {message}")


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
        **({} if ev.origin is None else {"origin": ev.origin.to_json()}),
    }


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
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
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


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


# -- reading -------------------------------------------------------------------------------------
def _shown(raw: bytes) -> str:
    return repr(raw[:80]) + (" ..." if len(raw) > 80 else "")


def _parse_header(path: Any, raw: bytes) -> dict[str, Any]:
    if not raw.startswith(HEADER_PREFIX):
        raise JournalError(
            path, 1, f"is not a journal header: expected a {JOURNAL_FORMAT!r} journal header "
            f"starting with {HEADER_PREFIX.decode()!r}, got {_shown(raw)}"
        )
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JournalError(
            path, 1, f"is a corrupt journal header: expected JSON ({exc})"
        ) from None
    if not isinstance(header, dict):
        raise JournalError(path, 1, f"is not a journal header object, got {_shown(raw)}")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(
            path, 1, f"has journal version {header.get('version')!r}; this program reads "
            f"version {JOURNAL_VERSION}"
        )
    return header


def _parse_record(path: Any, lineno: int, raw: bytes) -> dict[str, Any]:
    """An evaluation record, or an end record (a dict with the key ``"end"``)."""
    expected = "an evaluation record, a JSON object with 'index', 'u' and 'status'"
    try:
        rec = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise JournalError(
            path, lineno, f"is corrupt: expected UTF-8 text, got undecodable byte at column "
            f"{exc.start + 1}"
        ) from None
    except json.JSONDecodeError as exc:
        raise JournalError(path, lineno, f"is corrupt: expected {expected} ({exc})") from None
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
            path, lineno, f"is corrupt: 'u' must be a list of numbers, got {u!r:.80}"
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
    return rec


class JournalTail:
    """Follow a journal, possibly still being written: each :meth:`poll` returns new records.

    Only complete lines are read; a line still being written is picked up by a later poll.
    The file is opened and closed on every poll (never held, never written).

    Parameters
    ----------
    path : path-like
        The journal file (it may not exist yet: polls then return nothing).

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

    Examples
    --------
    >>> tail = JournalTail("run.jsonl")  # doctest: +SKIP
    >>> # records completed since the last poll, in file order
    >>> new = tail.poll()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.header: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.offset = 0
        self.lines = 0

    def poll(self) -> list[dict[str, Any]]:
        """Records of the lines completed since the last call (header excluded), in file order.

        Raises
        ------
        JournalError
            A complete line is not what the format expects, or the file shrank (it was
            replaced or truncated by someone else).
        """
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:
                    raise JournalError(
                        self.path, self.lines + 1, f"cannot be read: a journal only grows, "
                        f"but the file shrank from {self.offset} to {size} bytes"
                    )
                f.seek(self.offset)
                data = f.read(size - self.offset)
        except FileNotFoundError:
            if self.offset:
                raise
            return []
        end = data.rfind(b"\n") + 1
        if self.header is None and self.lines == 0 and not HEADER_PREFIX.startswith(
            data[: len(HEADER_PREFIX)]
        ):
            _parse_header(self.path, data[: end - 1] if end else data)  # raises: not a journal
        records = []
        for raw in data[:end].split(b"\n")[:-1]:
            self.lines += 1
            if self.lines == 1:
                self.header = _parse_header(self.path, raw)
            elif raw.strip():
                rec = _parse_record(self.path, self.lines, raw)
                if "index" in rec:
                    records.append(rec)
                    self.end = None
                else:
                    self.end = rec
        self.offset += end
        return records


def read_journal(path: str | os.PathLike) -> tuple[dict[str, Any] | None, list[dict], int]:
    """Read a journal (read-only; a partial last line, from a kill or a live writer, is skipped).

    Returns
    -------
    header : dict or None
        None when the file is empty or its header line is incomplete.
    records : list of dict
        The evaluation lines, in file order (end lines are left out; :class:`JournalTail`
        reports them).
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
        ``path`` is not ours (any other file, or a directory), or holds a run and ``resume``
        is False. The message names the file; nothing is written.
    FileNotFoundError
        The directory of ``path`` does not exist.
    PermissionError
        ``path`` or its directory is not writable.
    """
    path = Path(path)
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
