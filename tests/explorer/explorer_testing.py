"""Helpers shared by the explorer tests (imported by name; this folder is on ``sys.path``)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import Future
from pathlib import Path

__all__ = ["free_port", "inline_submit", "serve_explorer", "wait_until"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_explorer(log_path: Path, *args: str):
    """``panel serve explorer`` (extra ``args`` appended) on a free loopback port, logging to
    ``log_path``; yields the page URL once it answers, and stops the server afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "panel", "serve", "explorer", "--address", "127.0.0.1",
           "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}",
           "--num-procs", "1", *args]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/explorer"
    deadline = time.time() + 300  # a loaded machine: the first page builds slowly
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"panel serve exited:\n{log_path.read_text()}")
            try:
                # one request, waited for: each request builds a page, and a loaded machine
                # may take longer than a short timeout (retries would only pile up more pages)
                with urllib.request.urlopen(url, timeout=240) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"panel serve did not answer:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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
