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
