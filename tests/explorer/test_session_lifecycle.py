"""Server sessions end cleanly: a closed page's session is destroyed, its work stops, nothing
the server keeps refers to it, and its objects are freed.

The explorer is served in this process (Panel's threaded server) and opened by Bokeh's Python
client, which speaks the same websocket protocol as the browser; the test holds only weak
references to what each session built. Waits are bounded waits on conditions, never on time.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import weakref

import panel as pn
import pytest
from explorer_testing import free_port, wait_until

import explorer.app as app_module

SESSIONS = 2


class _Recorder:
    """Weak references to the apps, sessions, runners and documents the server builds."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref] = []
        self.apps: list[weakref.ref] = []
        self.docs: list[weakref.ref] = []
        self.loop_handlers: list[object] = []

    def alive(self) -> list[object]:
        gc.collect()
        return [o for o in (r() for r in self.refs) if o is not None]


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def served(services, monkeypatch):
    """The explorer served in a thread on a free port, sessions discarded as soon as unused:
    yields ``(url, recorder)``."""
    rec = _Recorder()

    class Recorded(app_module.ExplorerApp):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            rec.apps.append(weakref.ref(self))
            rec.refs += [weakref.ref(o) for o in (self, self.session, self.runner, self.views,
                                                   self.clock)]

    monkeypatch.setattr(app_module, "ExplorerApp", Recorded)

    def page():
        template = app_module.create_app(services=services)
        rec.loop_handlers.append(asyncio.get_running_loop().get_exception_handler())
        rec.docs.append(weakref.ref(pn.state.curdoc))
        rec.refs.append(weakref.ref(pn.state.curdoc))
        return template

    port = free_port()
    server = pn.serve({"explorer": page}, port=port, address="127.0.0.1",
                      websocket_origin=[f"127.0.0.1:{port}"], threaded=True, show=False,
                      # Bokeh's names (others are passed on to Tornado and ignored)
                      check_unused_sessions_milliseconds=20,
                      unused_session_lifetime_milliseconds=1)
    try:
        assert wait_until(lambda: _answers(port), 60, step=0.05)
        yield f"http://127.0.0.1:{port}/explorer", rec
    finally:
        server.stop()


@pytest.mark.slow  # a server in this process, sessions discarded by its own schedule
def test_closed_sessions_are_destroyed_and_freed(served, services, caplog):
    from bokeh.client import pull_session

    url, rec = served
    caplog.set_level(logging.WARNING)
    clients = [pull_session(url=url, arguments={"play": "1"}) for _ in range(SESSIONS)]
    try:
        assert len(rec.apps) == SESSIONS
        # the server's loop reports writes to closed tabs in one line (explorer.closed_tabs)
        from explorer.closed_tabs import ClosedTabHandler

        assert all(isinstance(h, ClosedTabHandler) for h in rec.loop_handlers)
        apps = [r() for r in rec.apps]
        # every session has its run, plays it and polls it with its periodic callback
        assert all(a.session.run is not None and a.session.playing for a in apps)
        # the clock starts on the page's document_ready event (Panel's onload), which a
        # browser sends and Bokeh's Python client may not: started, or waiting for the page
        assert all(a.clock.periodic is not None or a.clock.pending for a in apps)
        workers = {id(a.runner.worker): a.runner.worker for a in apps}
        apps.clear()  # the test keeps no strong reference
    finally:
        for client in clients:
            client.close()
    # closed: the server discards the sessions, the clocks stop, the work ends ...
    assert wait_until(lambda: not rec.alive(), 120), [type(o).__name__ for o in rec.alive()]
    assert wait_until(lambda: not any(w.alive for w in workers.values()), 60)
    # ... and the shared services keep no reference to a session
    assert not services.runs._refs
    assert not [t.name for t in threading.enumerate() if t.name == "explorer-run"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_store_keeps_finished_runs_without_their_images(services):
    from explorer.model import Session

    s = Session(budget=30)
    key = s.run_key()
    run, worker = services.runs.acquire(key, s.objective_obj, True)
    worker.want((0, 1), 3)  # inline: computed now
    assert run.done and run.slices
    services.runs.release(key)  # the last viewer left: the images go, the run stays
    assert not run.slices
    again, worker = services.runs.acquire(key, s.objective_obj, True)
    assert again is run
    worker.want((0, 1), 3)
    assert run.slices  # recomputed for the viewer who came back
    services.runs.release(key)


def test_a_lost_connection_stops_the_clock_unless_pages_reconnect(monkeypatch):
    """A page whose connection closed never comes back (Panel's default): its session's work
    stops then, not only when the server discards the session."""
    from explorer.clock import Clock

    stops = []
    clock = Clock(lambda dt: None, on_stop=lambda: stops.append(1))
    monkeypatch.setattr(pn.config, "reconnect", True)
    clock.connection_lost(None)
    assert not clock.stopped and not stops
    monkeypatch.setattr(pn.config, "reconnect", False)
    clock.connection_lost(None)
    assert clock.stopped and stops == [1]
