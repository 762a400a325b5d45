"""The server's loop reports a write to a closed tab in one line and nothing else changes."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from tornado.websocket import WebSocketClosedError

from explorer.closed_tabs import ClosedTabHandler, install_closed_tab_handler


async def _write_to_closed_tab() -> None:
    raise WebSocketClosedError()


async def _fail_otherwise() -> None:
    raise ValueError("a real error")


def _unretrieved(loop: asyncio.AbstractEventLoop, coro) -> None:
    """Run ``coro`` as a task nobody awaits, as Tornado's unawaited writes are, and drop it
    so asyncio reports its exception to the loop's handler."""

    async def main() -> None:
        task = asyncio.ensure_future(coro)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert task.done()
        del task
        gc.collect()

    loop.run_until_complete(main())


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_a_closed_tab_write_is_one_info_line(loop, caplog):
    caplog.set_level(logging.INFO)
    handler = install_closed_tab_handler(loop)
    assert isinstance(handler, ClosedTabHandler)
    _unretrieved(loop, _write_to_closed_tab())
    assert handler.count == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("tab closed" in r.getMessage() for r in caplog.records)


def test_other_errors_reach_the_previous_handler(loop, caplog):
    seen: list[dict] = []
    loop.set_exception_handler(lambda lp, context: seen.append(context))
    handler = install_closed_tab_handler(loop)
    _unretrieved(loop, _fail_otherwise())
    assert handler.count == 0
    assert len(seen) == 1 and isinstance(seen[0]["exception"], ValueError)


def test_other_errors_keep_asyncios_default_report(loop, caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")
    install_closed_tab_handler(loop)
    _unretrieved(loop, _fail_otherwise())
    assert any("never retrieved" in r.getMessage() for r in caplog.records)


def test_installed_once_per_loop(loop):
    first = install_closed_tab_handler(loop)
    assert install_closed_tab_handler(loop) is first
    assert first.previous is None


def test_no_loop_no_handler():
    assert install_closed_tab_handler() is None


# -- a closed tab's last messages, handled on a connection Bokeh already detached ---------------
class _Session:
    """What ``ServerConnection`` asks of a session: (un)subscribing."""

    def subscribe(self, connection) -> None:
        pass

    def unsubscribe(self, connection) -> None:
        pass


def _detached_error() -> AssertionError:
    """The error Bokeh raises when a message is handled after the keep-alive job detached
    the connection's session (the real ``ServerConnection``, detached through its API)."""
    from bokeh.server.connection import ServerConnection

    connection = ServerConnection(None, None, None, _Session())
    connection.detach_session()
    try:
        connection.session  # noqa: B018 - the access is what raises
    except AssertionError as exc:
        return exc
    raise AssertionError("Bokeh no longer raises on a detached connection")


@pytest.fixture
def detached_filter():
    from explorer.closed_tabs import DETACHED_LOGGERS, install_detached_connection_filter

    flt = install_detached_connection_filter()
    flt.count = 0
    yield flt
    for name in DETACHED_LOGGERS:
        logging.getLogger(name).removeFilter(flt)


@pytest.mark.parametrize("logger", ["bokeh.server.protocol_handler", "tornado.application"])
def test_a_detached_connections_message_is_one_info_line(detached_filter, caplog, logger):
    from explorer.closed_tabs import from_detached_connection

    exc = _detached_error()
    assert from_detached_connection(exc)
    caplog.set_level(logging.INFO)
    logging.getLogger(logger).error("error handling message", exc_info=exc)
    assert detached_filter.count == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("before the server had read its last messages" in r.getMessage()
               for r in caplog.records)


def test_other_errors_on_those_loggers_pass_unchanged(detached_filter, caplog):
    caplog.set_level(logging.INFO)
    other = AssertionError("an assertion of the project")
    try:
        raise other
    except AssertionError:
        logging.getLogger("bokeh.server.protocol_handler").exception("error handling message")
    logging.getLogger("tornado.application").error("no exception at all")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2 and errors[0].exc_info[1] is other
    assert detached_filter.count == 0


def test_detached_filter_installed_once(detached_filter):
    from explorer.closed_tabs import DETACHED_LOGGERS, install_detached_connection_filter

    assert install_detached_connection_filter() is detached_filter
    for name in DETACHED_LOGGERS:
        assert logging.getLogger(name).filters.count(detached_filter) == 1
