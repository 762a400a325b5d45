"""Helpers shared by the explorer tests (imported by name; this folder is on ``sys.path``)."""

from __future__ import annotations

import time
from concurrent.futures import Future

__all__ = ["inline_submit", "wait_until"]


def inline_submit(fn, *args):
    """Run ``fn(*args)`` now and return a finished Future (a pool without processes)."""
    fut: Future = Future()
    fut.set_running_or_notify_cancel()
    try:
        fut.set_result(fn(*args))
    except Exception as err:  # stored like a pool would
        fut.set_exception(err)
    return fut


def wait_until(predicate, timeout: float = 10.0, step: float = 0.01, tick=None) -> bool:
    """Poll ``predicate`` (calling ``tick()`` between polls) until true or ``timeout``."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if tick is not None:
            tick()
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
