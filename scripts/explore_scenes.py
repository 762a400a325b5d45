"""Screenshot scenes of ``explore()``: a function of your own, parallel coordinates brushed, a
replayed journal, and adaptive random search's variants (used by ``scripts/screenshots.py``).

Each scene is ``scene(browser, url) -> list of Path``. The ``explore()`` pages are served in
this process (their objective is a function defined here), on a free port of 127.0.0.1; the
journal is written by the CLI into a temporary directory. Every wait is on a condition read from
the page.
"""

from __future__ import annotations

import io
import math
import socket
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "assets" / "screenshots"
SIZE = {"width": 1280, "height": 900}

FINISHED_JS = "() => /finished/.test(Bokeh.documents[0].get_model_by_name('status').text)"
POINT_JS = """([x, y]) => {
  const fig = Bokeh.documents[0].get_model_by_name('parallel');
  const view = Bokeh.index.find_one_by_id(fig.id);
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""


def training_loss(config: dict) -> float:
    """A stand-in for a reader's training: validation loss of four hyperparameters."""
    penalty = 0.2 if config["activation"] == "tanh" else 0.0
    return (0.05 + 0.3 * math.log10(config["learning_rate"] / 3e-3) ** 2
            + 0.02 * (math.log2(config["width"]) - 6) ** 2
            + (config["dropout"] - 0.25) ** 2 + penalty)


def _space() -> Any:
    from core.space import Categorical, Float, Int, SearchSpace

    return SearchSpace({"learning_rate": Float(1e-4, 1.0, log=True),
                        "width": Int(8, 256, log=True), "dropout": Float(0.0, 0.6),
                        "activation": Categorical(["relu", "tanh"])})


@contextmanager
def serving(factory: Callable[[], Any]):
    """``factory``'s page served in this process; yields its URL."""
    import panel as pn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = pn.serve({"app": factory}, port=port, address="127.0.0.1", threaded=True,
                      show=False, websocket_origin=[f"127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}/app"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10):
                    break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        server.stop()


def _open(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport=SIZE)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "/evaluations:/.test(Bokeh.documents[0].get_model_by_name('status')"
                           ".text)", timeout=120_000)
    return context, page


def _play_to_end(page: Any) -> None:
    page.get_by_role("button", name="Play").first.click()
    page.wait_for_function(FINISHED_JS, timeout=300_000)
    page.wait_for_timeout(800)  # the last images and the slow views


def _brush(page: Any, axis: int, lo: float, hi: float) -> None:
    page.evaluate("""() => { const fig = Bokeh.documents[0].get_model_by_name('parallel');
        Bokeh.index.find_one_by_id(fig.id).canvas_view.el.scrollIntoView({block: 'center'}); }""")
    a = page.evaluate(POINT_JS, [axis - 0.02, lo])
    b = page.evaluate(POINT_JS, [axis + 0.02, hi])
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=8)
    page.mouse.up()
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('parallel-brush')"
                           ".data.axis.length > 0")
    page.wait_for_timeout(500)


def explore_function(browser: Any, url: str) -> list[Path]:
    """``explore(training_loss, space)`` at the end of a run, then its parallel view brushed."""
    from explorer.explore import explore

    def factory() -> Any:
        return explore(training_loss, _space(), method="sparse_grid", budget=100, speed=30,
                       variant="thesis")

    out = [SHOTS / "explore_function.png", SHOTS / "explore_parallel_brushed.png"]
    with serving(factory) as page_url:
        context, page = _open(browser, page_url)
        try:
            _play_to_end(page)
            page.screenshot(path=str(out[0]))
            _brush(page, 0, 0.3, 0.7)
            page.screenshot(path=str(out[1]))
        finally:
            context.close()
    return out


def explore_journal(browser: Any, url: str) -> list[Path]:
    """A run of ``python -m core run --journal`` replayed by ``explore(journal=...)``."""
    from core.cli import main as cli_main
    from explorer.explore import explore

    out = [SHOTS / "explore_journal.png"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.jsonl"
        argv = ["run", "--objective", "rosenbrock", "--dim", "4", "--method", "sparse_grid",
                "--budget", "120", "--seed", "0", "--journal", str(path), "--no-progress"]
        if cli_main(argv, out=io.StringIO(), err=io.StringIO()) != 0:
            raise RuntimeError("the CLI run failed")
        with serving(lambda: explore(journal=path, speed=30)) as page_url:
            context, page = _open(browser, page_url)
            try:
                _play_to_end(page)
                page.screenshot(path=str(out[0]))
            finally:
                context.close()
    return out


def ars_variants(browser: Any, url: str) -> list[Path]:
    """Adaptive random search with each neighbourhood variant, at the end of a run."""
    out = []
    for variant in ("intervals", "balls", "normal"):
        context = browser.new_context(viewport=SIZE)
        page = context.new_page()
        try:
            page.goto(f"{url}?method=adaptive_random&variant={variant}&gamma=0.5&speed=60"
                      "&play=1")
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0",
                                   timeout=120_000)
            page.wait_for_function(FINISHED_JS, timeout=300_000)
            page.wait_for_timeout(800)
            path = SHOTS / f"explorer_ars_{variant}.png"
            page.screenshot(path=str(path))
            out.append(path)
        finally:
            context.close()
    return out


#: Scenes for ``scripts/screenshots.py``: (key, function). The pages served in this process
#: come last (a browser page opened after them on the script's server was seen to stall).
SCENES = [("ars", ars_variants), ("explore", explore_function), ("journal", explore_journal)]
