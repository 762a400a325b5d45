"""The session's clock: a periodic callback that calls :meth:`Runner.tick` on its event loop.

In a server session the clock is Bokeh's own periodic callback (Panel's adds a busy counter
whose watchers cost several ms per tick, which 10 sessions at 20 Hz cannot afford), started once
the page is connected (changes made before the connection would never reach it) and stopped
when the session is destroyed. Each tick runs inside a hold of the document, and everything it
changed goes to the page as one PATCH-DOC message (:func:`send_held`), which takes its turn in
the connection's write lock when it is made (frames never overtake each other) and whose
writes are all watched to their end: a connection that closes mid-write (a tab closed while a
frame was going out) ends the message quietly, never with an exception left in a task nobody
awaits. In a notebook, Panel's periodic callback is used.

A closed tab's session lives on until the server discards it (``--unused-session-lifetime``):
in between, the clock skips its ticks, since no page would receive the frames; when the
session is destroyed the clock stops, its ``on_stop`` ends the session's work (runs, race
requests) and ``on_destroyed`` tells the server-wide services.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import panel as pn
from bokeh.document.events import DocumentPatchedEvent
from panel.io.model import monkeypatch_events
from panel.io.state import set_curdoc

__all__ = ["Clock", "TICK_MS", "held", "send_held", "watch"]

log = logging.getLogger(__name__)

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


def send_held(doc: Any) -> int:
    """End the hold of ``doc``: its model changes go to every connected page as one PATCH-DOC
    message, other held events (callbacks added or removed) to Bokeh as usual.

    Like Panel's own dispatch, the message is serialized now and all its parts are handed to
    the socket at once, without waiting for each to be flushed (waiting costs an event-loop
    turn per part, which 30 busy sessions cannot afford). Unlike it, the message takes its
    turn in the connection's write lock when it is made, so a message that has to wait for
    another never lets a later frame overtake it (the page would end on a stale frame), and
    every part's write is watched to its end: a connection found reset in the middle of a
    message (the tab closed while a frame was going out) ends the message quietly, where
    Panel's dispatch loses the writes already started and their errors surface as "Task
    exception was never retrieved".
    Returns the number of messages written.
    """
    callbacks = doc.callbacks
    events = list(callbacks._held_events)
    patch = [e for e in events if isinstance(e, DocumentPatchedEvent)]
    callbacks._held_events = [e for e in events if not isinstance(e, DocumentPatchedEvent)]
    doc.unhold()
    session = getattr(doc.session_context, "session", None)
    if not patch or session is None or session.destroyed:
        return 0
    monkeypatch_events(patch)  # Panel's fixes of events Bokeh serializes badly
    sent = 0
    for conn in list(session._subscribed_connections):
        socket = getattr(conn, "_socket", None)
        ws = getattr(socket, "ws_connection", None)
        if socket is None or ws is None or ws.is_closing():
            continue  # closing: the page is gone
        sent += _write_message(socket, conn.protocol.create("PATCH-DOC", patch))
    return sent


def _write_message(socket: Any, msg: Any) -> int:
    """Hand ``msg``'s parts to the websocket in its turn; 1 if they went (or will go) out, 0 if
    the connection turned out closed.

    The turn is the connection's write lock (Bokeh's own messages take it too), joined now:
    the lock serves its waiters in order, so messages leave in the order they were made even
    when one has to wait behind another being written. The lock is held until every part of
    this message is written (or failed), so nothing is written in the middle of it.
    """
    parts: list[tuple[Any, bool]] = [(msg.header_json, False), (msg.metadata_json, False),
                                     (msg.content_json, False)]
    for buffer in msg._buffers:
        parts += [(json.dumps(buffer.ref), False), (buffer.to_bytes(), True)]
    lock = socket.write_lock
    turn = lock.acquire()  # done now when the lock is free, else queued in order
    if turn.done():
        return _write_parts(socket, parts, lock)
    turn.add_done_callback(lambda _: _write_parts(socket, parts, lock))
    return 1


def _write_parts(socket: Any, parts: list[tuple[Any, bool]], lock: Any) -> int:
    """Write ``parts`` without waiting between them (waiting costs an event-loop turn per part,
    which 30 busy sessions cannot afford), then release ``lock`` once all writes ended."""
    from tornado.websocket import WebSocketClosedError, WebSocketHandler

    futures = []
    try:
        for data, binary in parts:
            futures.append(WebSocketHandler.write_message(socket, data, binary=binary))
    except WebSocketClosedError:
        pass  # reset mid-message: the parts already started end with the same error, below
    except Exception:
        log.exception("explorer: writing a frame failed")
    finally:
        if not futures:
            lock.release()
    pending = len(futures)

    def ended(fut: Any) -> None:
        nonlocal pending
        _write_done(fut)
        pending -= 1
        if pending == 0:
            lock.release()

    for fut in futures:
        fut.add_done_callback(ended)
    return 1 if len(futures) == len(parts) else 0


def _write_done(fut: Any) -> None:
    """A part's write ended: a closed connection is expected (the page left), anything else
    is logged with its traceback."""
    from tornado.websocket import WebSocketClosedError

    if fut.cancelled():
        return
    err = fut.exception()
    if err is not None and not isinstance(err, WebSocketClosedError):
        log.error("explorer: writing a frame failed", exc_info=err)


class Clock:
    """Calls ``tick(dt)`` every :data:`TICK_MS` ms while a page is connected (module
    docstring); ``on_stop()`` when stopped, and ``on_destroyed()`` after that when the server
    destroyed the session."""

    def __init__(self, tick: Any, on_stop: Any = None, on_destroyed: Any = None) -> None:
        self._tick = tick
        self._on_stop = on_stop
        self._on_destroyed = on_destroyed
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
            pn.state.on_session_destroyed(self._session_destroyed)
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
        if not self.connected():
            return  # the tab is closed: nobody would receive the frame
        doc = self._doc
        with set_curdoc(doc):
            doc.hold("combine")
            try:
                self._tick(dt)
            finally:
                send_held(doc)

    def connected(self) -> bool:
        """Whether the session's page has an open connection (always True outside a server)."""
        if self._doc is None:
            return True
        context = self._doc.session_context
        session = getattr(context, "session", None)
        return session is not None and not session.destroyed and session.connection_count > 0

    def _session_destroyed(self, session_context: Any) -> None:
        self.stop()
        self._doc = None  # the destroyed document is not kept alive by this clock
        if self._on_destroyed is not None:
            self._on_destroyed()

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
