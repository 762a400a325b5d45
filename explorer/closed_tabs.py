"""A tab that closes while the server writes to it: one log line, not a traceback.

Panel writes some messages straight to a session's WebSocket and does not await the write.
When the browser tab closes while such a write is in flight, Tornado fails the write's task
with :class:`tornado.websocket.WebSocketClosedError` and, since nobody retrieves that task's
exception, asyncio logs "Task exception was never retrieved" with a traceback. Nothing is lost
(the page that would have shown the message is gone) and nothing public tells an application
that a socket is about to close, so the server's event loop gets an exception handler
(:meth:`asyncio.loop.set_exception_handler`, public asyncio API) that reports exactly this case
as one INFO line and hands every other case to the handler that was there before.
See docs/decisions.md (closing tabs and the tracebacks they made).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

__all__ = ["ClosedTabHandler", "install_closed_tab_handler"]

log = logging.getLogger(__name__)

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


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
