"""Giving the memory of closed sessions back to the operating system.

A closed session's objects (its Bokeh document, sources, session model, runner) are freed by
Python once the session is destroyed, but glibc's allocator keeps the freed pages in its heaps
and arenas: the server's resident memory (RSS) would stay at its peak although nothing is
alive any more. :func:`release_memory` collects garbage and then asks glibc to return free
pages (``malloc_trim(0)``). :class:`MemoryRelease` runs it once, a little after the last of a
group of sessions was destroyed (one call for thirty tabs closed together, not thirty), on the
server's event loop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

__all__ = ["RELEASE_DELAY", "MemoryRelease", "release_memory"]

#: Seconds after the last session was destroyed before memory is released (sessions closed
#: together are destroyed over a few checks of the server, see ``--check-unused-sessions``).
RELEASE_DELAY = 2.0


def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> bool:
    """Collect garbage and return free heap pages to the system.

    Returns
    -------
    bool
        Whether the C library could be asked to trim its heaps (False where it is not glibc).
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class MemoryRelease:
    """Calls ``release()`` once, ``delay`` seconds after the last :meth:`schedule`.

    Parameters
    ----------
    delay : float
        Seconds of quiet before releasing.
    release : callable, optional
        What to run (default :func:`release_memory`); tests pass a counter.
    """

    def __init__(self, delay: float = RELEASE_DELAY, release: Any = None) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        self.delay = float(delay)
        self._release = release or release_memory
        self._handle: Any = None
        self._loop: Any = None
        self.count = 0

    def schedule(self) -> None:
        """(Re)start the countdown on the current thread's event loop (a session ended)."""
        from tornado.ioloop import IOLoop

        loop = IOLoop.current()
        if self._handle is not None and self._loop is not None:
            self._loop.remove_timeout(self._handle)
        self._loop = loop
        self._handle = loop.call_later(self.delay, self._run)

    def _run(self) -> None:
        self._handle = self._loop = None
        self.count += 1
        self._release()

    def cancel(self) -> None:
        """Forget a pending release (server shutdown, tests; any thread)."""
        handle, loop = self._handle, self._loop
        self._handle = self._loop = None
        if handle is not None and loop is not None:
            try:
                loop.add_callback(loop.remove_timeout, handle)
            except RuntimeError:  # the loop is closed: nothing will run
                pass
