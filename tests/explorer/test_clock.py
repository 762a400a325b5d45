"""The clock's frame writes: whole messages, in the order they were made, the lock released."""

from __future__ import annotations

import asyncio
import logging

from tornado.locks import Lock
from tornado.websocket import WebSocketClosedError

from explorer.clock import _write_message


class Connection:
    """A websocket connection that records what is written and leaves each write pending."""

    def __init__(self) -> None:
        self.written: list[object] = []
        self.pending: list[asyncio.Future] = []
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def write_message(self, data: object, binary: bool = False) -> asyncio.Future:
        self.written.append(data)
        fut = asyncio.get_running_loop().create_future()
        self.pending.append(fut)
        return fut

    def finish(self, error: BaseException | None = None) -> None:
        """End every pending write (with ``error``, if given)."""
        for fut in self.pending:
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
        self.pending.clear()


class Socket:
    """What the clock uses of Bokeh's websocket handler: its write lock and connection."""

    def __init__(self) -> None:
        self.write_lock = Lock()
        self.ws_connection = Connection()

    async def send_message(self, msg: Message) -> None:
        """Bokeh's own way: take the lock, then write each part and wait for it."""
        async with self.write_lock:
            for part in (msg.header_json, msg.metadata_json, msg.content_json):
                await self.ws_connection.write_message(part)


class Buffer:
    ref = {"id": "b"}

    def to_bytes(self) -> bytes:
        return b"\x00\x01"


class Message:
    """The parts of a Bokeh protocol message."""

    def __init__(self, name: str, buffers: int = 0) -> None:
        self.header_json = f"{name}:header"
        self.metadata_json = f"{name}:metadata"
        self.content_json = f"{name}:content"
        self._buffers = [Buffer()] * buffers


async def _turns() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_message_that_waits_is_not_overtaken():
    async def scenario():
        sock = Socket()
        await sock.write_lock.acquire()  # another message is being written
        assert _write_message(sock, Message("a")) == 1
        assert sock.ws_connection.written == []  # a waits for its turn
        sock.write_lock.release()  # the other message ends, and the next frame is made at once
        assert _write_message(sock, Message("b", buffers=1)) == 1
        for _ in range(3):
            await _turns()
            sock.ws_connection.finish()
        await _turns()
        assert sock.ws_connection.written == [
            "a:header", "a:metadata", "a:content",
            "b:header", "b:metadata", "b:content", '{"id": "b"}', b"\x00\x01",
        ]
        assert sock.write_lock._block._value == 1  # released after the last write

    asyncio.run(scenario())


def test_nothing_is_written_in_the_middle_of_a_message():
    async def scenario():
        sock = Socket()
        assert _write_message(sock, Message("a")) == 1
        other = asyncio.ensure_future(sock.write_lock.acquire())  # e.g. Bokeh's reply
        await _turns()
        assert not other.done()  # a's writes have not ended
        sock.ws_connection.finish()
        await _turns()
        assert other.done()
        sock.write_lock.release()

    asyncio.run(scenario())


def test_a_closed_connection_ends_the_message_quietly(caplog):
    async def scenario():
        sock = Socket()
        assert _write_message(sock, Message("a")) == 1
        sock.ws_connection.finish(WebSocketClosedError())  # the tab closed mid-message
        await _turns()
        assert sock.write_lock._block._value == 1
        sock.ws_connection.closing = True
        assert _write_message(sock, Message("b")) == 0  # found closed: nothing written
        assert sock.write_lock._block._value == 1

    with caplog.at_level(logging.ERROR, logger="explorer.clock"):
        asyncio.run(scenario())
    assert not caplog.records


def test_a_failed_write_is_logged_and_releases_the_lock(caplog):
    async def scenario():
        sock = Socket()
        _write_message(sock, Message("a"))
        sock.ws_connection.finish(OSError("disk on fire"))
        await _turns()
        assert sock.write_lock._block._value == 1

    with caplog.at_level(logging.ERROR, logger="explorer.clock"):
        asyncio.run(scenario())
    assert any("writing a frame failed" in r.getMessage() for r in caplog.records)
