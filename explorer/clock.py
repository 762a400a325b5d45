"""The session's periodic callback: Panel's own, for work the page cannot do by itself.

A run whose frames are all known plays in the browser (:mod:`explorer.views.timeline`): the
server is not involved in its pace. What needs the server is what grows or is computed after
the page has its data: frames of a run still being computed or evaluated live, model images,
the race and the γ strip. :class:`Clock` polls them with ``pn.state.add_periodic_callback``
every :data:`TICK_MS` ms, each tick inside ``pn.io.hold`` (its changes reach the page as one
message), and stops when the page's connection is lost (Bokeh's ``ConnectionLost`` event: a
page that cannot reconnect never comes back) or the server destroys the session
(``pn.state.on_session_destroyed``). In a server session the callback starts once the page
has loaded (``pn.state.onload``): the page receives the document as it was when its HTML was
made, and a change made between then and the page's connection would never reach it;
``on_load()`` then sends the views' data once more (replacing data is idempotent), so a page
that loaded while a run was arriving shows it whole.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import panel as pn
from bokeh.events import ConnectionLost

__all__ = ["Clock", "TICK_MS", "held"]

#: Period of the per-session poll (ms).
TICK_MS = 100


def held(fn: Any) -> Any:
    """``fn`` run inside Panel's ``hold`` of the current document (its model changes go out
    as one message); outside a server session, ``fn`` itself. The views and the runner wrap
    the methods that follow the session with it, under their ``param.depends``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            return fn(*args, **kwargs)
        with pn.io.hold(doc):
            return fn(*args, **kwargs)

    return wrapper


class Clock:
    """Calls ``tick(dt)`` every ``period`` ms (module docstring); ``on_stop()`` when stopped,
    which happens when the server destroys the session."""

    def __init__(self, tick: Any, on_stop: Any = None, period: int = TICK_MS,
                 on_load: Any = None) -> None:
        self.tick = tick
        self.on_stop = on_stop
        self.on_load = on_load
        self.period = int(period)
        self.periodic: Any = None
        self.pending = False  # waiting for the page to load
        self.stopped = False
        self.last = time.perf_counter()

    def start(self) -> None:
        if self.periodic is not None or self.pending:
            return
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            self.pending = True
            pn.state.onload(self.begin)
            pn.state.on_session_destroyed(self.session_destroyed)
            doc.on_event(ConnectionLost, self.connection_lost)
        else:
            self.begin()

    def begin(self) -> None:
        """Start the periodic callback (the page is there)."""
        if not self.pending and self.periodic is not None:
            return
        self.pending = False
        if self.stopped:
            return
        self.last = time.perf_counter()
        if self.on_load is not None:
            with pn.io.hold():
                self.on_load()
        self.periodic = pn.state.add_periodic_callback(self.run, period=self.period,
                                                       start=True)

    def run(self) -> None:
        now = time.perf_counter()
        dt, self.last = min(now - self.last, 0.5), now
        with pn.io.hold():
            self.tick(dt)

    def session_destroyed(self, session_context: Any) -> None:
        self.stop()

    def connection_lost(self, event: Any) -> None:
        """The page's connection closed: a page that cannot reconnect (Panel's default,
        ``pn.config.reconnect``) never comes back, so the work stops now, not when the server
        discards the session later (``--unused-session-lifetime``)."""
        if not pn.config.reconnect:
            self.stop()

    def stop(self) -> None:
        self.stopped = True
        periodic, self.periodic = self.periodic, None
        if periodic is not None:
            periodic.stop()
        if self.on_stop is not None:
            self.on_stop()
