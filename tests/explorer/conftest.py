"""Fixtures for the explorer tests: headless helpers and the browser-test recipe.

Browser tests (marker ``ui``) use pytest-playwright with Debian's Chromium at
``/usr/bin/chromium`` against ``panel serve explorer`` started here on a free port. Where
Chromium is missing they are skipped with a message saying how to install it. Tests write only
to temporary directories (README screenshots come from ``scripts/screenshots.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(
        reason=f"browser tests need Debian's Chromium at {CHROMIUM} "
        "(as root: apt-get update && apt-get install -y chromium)"
    )
    for item in items:
        if "ui" in item.keywords and "explorer" in str(item.fspath):
            item.add_marker(skip)


from explorer_testing import inline_submit, serve_explorer  # noqa: E402  (helpers shared with the tests)


@pytest.fixture
def services():
    """Fresh services computing inline (runs, races, serial trainings): no threads to wait for,
    and tests never share runs."""
    from core.executors import SerialExecutor
    from explorer.services import Services

    svc = Services(submit=inline_submit, training_executor=SerialExecutor(), inline=True)
    yield svc
    svc.close()


# -- browser tests ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright: launch Debian's Chromium (never `playwright install`)."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture(scope="session")
def explorer_server(tmp_path_factory):
    """``panel serve explorer`` on a free port: yields ``(url, log_path)``."""
    log_path = tmp_path_factory.mktemp("server") / "panel.log"
    with serve_explorer(log_path, "--check-unused-sessions", "1000",
                        "--unused-session-lifetime", "3000") as url:
        yield url, log_path


@pytest.fixture(scope="session")
def journal_server(tmp_path_factory):
    """``panel serve explorer --args --journal FILE``, as a user starts it to replay a journal:
    yields ``(url, path, log_path)``. Each page reads the file when it loads, so a test writes
    the journal it shows at ``path`` first (one server for every test that needs one; a
    journal written by the CLI is there when the server starts)."""
    import io

    from core.cli import main as cli_main

    root = tmp_path_factory.mktemp("journal")
    path, log_path = root / "run.jsonl", root / "panel.log"
    argv = ["run", "--objective", "rosenbrock", "--method", "sparse_grid", "--budget", "20",
            "--journal", str(path), "--no-progress", "--seed", "0", "--dim", "2"]
    assert cli_main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    with serve_explorer(log_path, "--check-unused-sessions", "1000",
                        "--unused-session-lifetime", "3000", "--args", "--journal",
                        str(path)) as url:
        yield url, path, log_path


@pytest.fixture
def served():
    """Serve ``factory`` in this process: ``served(factory) -> url`` (stopped afterwards).

    For pages built from objects of the test (your function, an optuna study); the explorer
    as users start it is served by ``explorer_testing.serve_explorer``."""
    import time
    import urllib.request

    import panel as pn
    from explorer_testing import free_port

    servers = []

    def serve(factory):
        port = free_port()
        server = pn.serve({"app": factory}, port=port, address="127.0.0.1", threaded=True,
                          show=False, websocket_origin=[f"127.0.0.1:{port}"])
        servers.append(server)
        url = f"http://127.0.0.1:{port}/app"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    if resp.status == 200:
                        return url
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the in-process server did not answer")

    yield serve
    for server in servers:
        server.stop()
