"""The run journal: one JSON line per evaluation, appended as it completes, for resuming.

Format (UTF-8, one JSON object per line):

- line 1, the header: ``{"journal": "sparse-hpo", "version": 1, "space": {...}, "strategy": ...,
  "dim": d, "n_evals": n, "max_batch": ..., "run": {...}, "created": "..."}``. ``run`` holds what
  the caller adds (:func:`core.run.minimize` stores ``method``, ``seed`` and ``options``).
- every further line, one evaluation: ``{"index", "step", "u", "config", "value", "status",
  "error", "seconds", "info", "time"}``; ``value`` is ``null`` for a failed evaluation. Lines are
  in completion order, which may differ from ``index`` order with parallel backends.

Each line is written with one ``write``, flushed and ``os.fsync``-ed, so a ``kill -9`` loses at
most the evaluations still in flight; a partially written last line is ignored (and cut off)
when the journal is reopened. Floats are written with ``repr`` precision, so unit-cube points
round-trip bit for bit.
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

__all__ = ["JOURNAL_FORMAT", "JOURNAL_VERSION", "JournalWriter", "open_journal", "read_journal"]

JOURNAL_FORMAT = "sparse-hpo"
JOURNAL_VERSION = 1
_UNCHECKED = ("created",)


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
    }


class JournalWriter:
    """Append evaluations to an open journal file (one fsync-ed line each)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def _write_line(self, obj: Any) -> None:
        self._file.write(_dumps(obj) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, evaluation: Any) -> None:
        """Write one :class:`~core.records.Evaluation` as a line."""
        self._write_line(_evaluation_record(evaluation))

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_journal(path: str | os.PathLike) -> tuple[dict[str, Any] | None, list[dict], int]:
    """Read a journal.

    Returns
    -------
    header : dict or None
        None when the file is empty or its header line is incomplete.
    records : list of dict
        The evaluation lines, in file order.
    n_valid : int
        Number of bytes up to the end of the last complete line (a partial last line, from a
        kill mid-write, is not counted).

    Raises
    ------
    ValueError
        If a complete line is not valid JSON or the header is not a journal header.
    """
    data = Path(path).read_bytes()
    n_valid = data.rfind(b"\n") + 1
    lines = data[:n_valid].decode("utf-8").splitlines()
    if not lines:
        return None, [], 0
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line 1 is not a journal header ({exc})") from None
    if not isinstance(header, dict) or header.get("journal") != JOURNAL_FORMAT:
        raise ValueError(
            f"{path}: line 1 must be a {JOURNAL_FORMAT!r} journal header, got {lines[0][:120]!r}"
        )
    if header.get("version") != JOURNAL_VERSION:
        raise ValueError(
            f"{path}: journal version must be {JOURNAL_VERSION}, got {header.get('version')!r}"
        )
    records = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {lineno} is corrupt ({exc})") from None
    return header, records, n_valid


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
        False: the file must not exist (or be empty); a new journal is started.
        True: an existing journal must have an equal header (``created`` aside), its records are
        returned for replay and a partial last line is cut off; a missing or empty file starts
        a new journal.

    Raises
    ------
    FileExistsError
        ``resume=False`` and the journal already holds a run.
    ValueError
        ``resume=True`` and the journal belongs to another run (the message lists every
        difference), or it is corrupt.
    """
    path = Path(path)
    records: list[dict] = []
    existing = None
    n_valid = 0
    if path.exists():
        existing, records, n_valid = read_journal(path)
    if existing is not None and not resume:
        raise FileExistsError(
            f"the journal {str(path)!r} already holds a run; pass resume=True to continue it, "
            "or choose another path"
        )
    if existing is not None:
        diffs = _header_differences(existing, header)
        if diffs:
            raise ValueError(
                f"cannot resume from {str(path)!r}: the journal belongs to another run; "
                + "; ".join(diffs)
            )
    if path.exists() and path.stat().st_size != n_valid:
        with open(path, "r+b") as f:  # drop a partially written last line
            f.truncate(n_valid)
            f.flush()
            os.fsync(f.fileno())
    new = existing is None
    if new and path.parent and not path.parent.exists():
        raise FileNotFoundError(f"the journal's directory {str(path.parent)!r} does not exist")
    writer = JournalWriter(path)
    if new:
        writer._write_line(header)
        _fsync_dir(path.parent)
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
