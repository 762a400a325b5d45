"""The session's clock: a periodic callback that calls :meth:`Runner.tick` on its event loop.

In a server session the clock is Bokeh's own periodic callback (Panel's adds a busy counter
whose watchers cost several ms per tick, which 10 sessions at 20 Hz cannot afford), started once
the page is connected (changes made before the connection would never reach it) and stopped
when the session ends. Each tick runs inside Panel's ``hold``, so every change of a frame reaches
the page in one message. In a notebook, Panel's periodic callback is used.
"""

from __future__ import annotations

import time
from typing import Any

import panel as pn
from panel.io.state import set_curdoc

__all__ = ["Clock", "TICK_MS", "held", "watch"]

#: Period of the per-session clock (ms): 20 frames per second at most.
TICK_MS = 50


def held(fn: Any) -> Any:
    """``fn`` run inside Panel's ``hold`` of the current document.

    Widget changes reach the session's watchers in a callback that does not hold the
    document's lock; Bokeh models may only change there while the document is held (the
    changes then go out in one message).
    """

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            return fn(*args, **kwargs)
        with pn.io.hold(doc):
            return fn(*args, **kwargs)

    return wrapper


def watch(parameterized: Any, fn: Any, names: list[str]) -> Any:
    """``parameterized.param.watch(fn, names)`` with ``fn`` :func:`held`."""
    return parameterized.param.watch(held(fn), names)


class Clock:
    """Calls ``tick(dt)`` every :data:`TICK_MS` ms; ``on_stop()`` when the session ends."""

    def __init__(self, tick: Any, on_stop: Any = None) -> None:
        self._tick = tick
        self._on_stop = on_stop
        self._periodic: Any = None
        self._doc: Any = None
        self._last = time.perf_counter()

    def start(self) -> None:
        if self._periodic is not None:
            return
        self._last = time.perf_counter()
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            self._doc = doc
            self._periodic = "pending"
            pn.state.onload(self._start_server)
            pn.state.on_session_destroyed(lambda ctx: self.stop())
        else:
            self._periodic = pn.state.add_periodic_callback(self._tick_notebook, period=TICK_MS,
                                                            start=True)

    def hold(self) -> Any:
        """A context that batches model changes into one message for this session's page."""
        return pn.io.hold(self._doc) if self._doc is not None else pn.io.hold()

    def _start_server(self) -> None:
        if self._periodic != "pending" or self._doc is None:
            return
        self._last = time.perf_counter()
        self._periodic = self._doc.add_periodic_callback(self._tick_server, TICK_MS)

    def _dt(self) -> float:
        now = time.perf_counter()
        dt, self._last = min(now - self._last, 0.5), now
        return dt

    def _tick_notebook(self) -> None:
        dt = self._dt()
        with pn.io.hold():
            self._tick(dt)

    def _tick_server(self) -> None:
        dt = self._dt()
        with set_curdoc(self._doc), pn.io.hold(self._doc):
            self._tick(dt)

    def stop(self) -> None:
        periodic, self._periodic = self._periodic, None
        if periodic is not None and periodic != "pending":
            try:
                if self._doc is not None:
                    self._doc.remove_periodic_callback(periodic)
                else:
                    periodic.stop()
            except Exception:  # already removed with the session
                pass
        if self._on_stop is not None:
            self._on_stop()
