"""A tab that closes while the server writes to it: one log line, not a traceback.

Panel writes some messages straight to a session's WebSocket and does not await the write.
When the browser tab closes while such a write is in flight, Tornado fails the write's task
with :class:`tornado.websocket.WebSocketClosedError` and, since nobody retrieves that task's
exception, asyncio logs "Task exception was never retrieved" with a traceback. Nothing is lost
(the page that would have shown the message is gone) and nothing public tells an application
that a socket is about to close, so the server's event loop gets an exception handler
(:meth:`asyncio.loop.set_exception_handler`, public asyncio API) that reports exactly this case
as one INFO line and hands every other case to the handler that was there before.

Bokeh has a second path. Its keep-alive job detaches the session of a connection it could not
ping; frames the closed tab sent just before it closed are read afterwards, and handling each
fails on the assertion of ``ServerConnection.session`` (``bokeh/server/connection.py``) that
the connection still has a session, which Bokeh's protocol handler (or Tornado, for the
connection's ``on_close``) logs as an error with a traceback. :class:`DetachedConnectionFilter`,
a :class:`logging.Filter` (public logging API) on those two loggers, reports exactly that case,
an ``AssertionError`` raised by that property, as one INFO line and lets every other record
through unchanged. See docs/decisions.md (closing tabs and the tracebacks they made).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

__all__ = [
    "DETACHED_LOGGERS",
    "ClosedTabHandler",
    "DetachedConnectionFilter",
    "from_detached_connection",
    "install_closed_tab_handler",
    "install_detached_connection_filter",
]

log = logging.getLogger(__name__)

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


#: Loggers that report a message handled on a detached Bokeh connection: Bokeh's protocol
#: handler ("error handling message") and Tornado's (a failing ``on_close``).
DETACHED_LOGGERS = ("bokeh.server.protocol_handler", "tornado.application")


def from_detached_connection(exc: BaseException | None) -> bool:
    """Whether ``exc`` is the ``AssertionError`` of a Bokeh connection whose session was
    already detached: raised by the ``session`` property in ``bokeh/server/connection.py``."""
    if not isinstance(exc, AssertionError) or exc.__traceback__ is None:
        return False
    last = traceback.extract_tb(exc.__traceback__)[-1]
    return last.name == "session" and PurePath(last.filename).parts[-3:] == (
        "bokeh", "server", "connection.py")


class DetachedConnectionFilter(logging.Filter):
    """Turns the error record of a message handled on a detached Bokeh connection (module
    docstring) into one INFO line; every other record passes unchanged."""

    def __init__(self) -> None:
        super().__init__()
        #: How many such records were reported (for tests and benchmarks).
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not from_detached_connection(exc):
            return True
        self.count += 1
        log.info("a browser tab closed before the server had read its last messages; "
                 "they were dropped")
        return False


def install_detached_connection_filter() -> DetachedConnectionFilter:
    """Add one :class:`DetachedConnectionFilter` to each of :data:`DETACHED_LOGGERS` (once:
    calling it again returns the installed filter)."""
    for name in DETACHED_LOGGERS:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, DetachedConnectionFilter):
                return existing
    flt = DetachedConnectionFilter()
    for name in DETACHED_LOGGERS:
        logging.getLogger(name).addFilter(flt)
    return flt


class ClosedTabHandler:
    """Event-loop exception handler: closed-socket writes are logged in one line.

    Parameters
    ----------
    previous : callable or None
        The loop's handler before this one (``None``: asyncio's default handler).
    """

    def __init__(self, previous: Handler | None) -> None:
        self.previous = previous
        #: How many closed-tab writes were reported (for tests and benchmarks).
        self.count = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), (WebSocketClosedError, StreamClosedError)):
            self.count += 1
            log.info("a browser tab closed while a message was being written to it; "
                     "the message was dropped")
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)


def install_closed_tab_handler(loop: asyncio.AbstractEventLoop | None = None,
                               ) -> ClosedTabHandler | None:
    """Install :class:`ClosedTabHandler` on ``loop`` once (default: the running loop).

    Returns the installed handler, or ``None`` when there is no running loop (a script or a
    test outside a server). Calling it again on the same loop returns the same handler.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
    current = loop.get_exception_handler()
    if isinstance(current, ClosedTabHandler):
        return current
    handler = ClosedTabHandler(current)
    loop.set_exception_handler(handler)
    return handler
