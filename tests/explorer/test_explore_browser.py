"""explore() and journals in Debian's Chromium: your function, a CLI journal, brushing.

Run with ``pytest -m ui``. The page of ``explore()`` is served in this process (the objective
is a function of this module); the journal is replayed by ``panel serve explorer --args
--journal FILE`` as a user would start it. Every wait is on a condition of the page.
"""

from __future__ import annotations

import io
import math

import pytest
from conftest import CHROMIUM_ARGS, ROOT  # noqa: F401  (the recipe's fixtures)
from test_explorer_browser import app_errors

from core.space import Categorical, Float, Int, SearchSpace
from explorer.views.timeline import interval_ms

pytestmark = pytest.mark.ui

IGNORED_CONSOLE = ("ERR_NAME_NOT_RESOLVED",)
SPACE = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "width": Int(8, 256, log=True),
                     "act": Categorical(["relu", "tanh"]), "dropout": Float(0.0, 0.5)})

STATUS_JS = """() => {
  const m = Bokeh.documents[0].get_model_by_name('status');
  const t = m ? m.text : '';
  const ev = /evaluations: (\\d+)\\/(\\d+)/.exec(t);
  const best = /best [^=]*= <b>([^<]+)<\\/b>/.exec(t);
  return {n: ev ? +ev[1] : -1, best: best ? +best[1] : NaN, text: t};
}"""
DATA_LEN_JS = """([name, column]) => {
  const m = Bokeh.documents[0].get_model_by_name(name);
  return m ? m.data[column].length : -1;
}"""
LEN_IS_JS = """([name, column, n]) => {
  const m = Bokeh.documents[0].get_model_by_name(name);
  return m != null && m.data[column].length === n;
}"""
HAS_TEXT_JS = """(t) => [...Bokeh.documents[0].all_models].some(m => m.text === t)"""
# canvas pixel of a data point of the parallel figure
POINT_JS = """([x, y]) => {
  const fig = Bokeh.documents[0].get_model_by_name('parallel');
  const view = Bokeh.index.find_one_by_id(fig.id);
  const r = view.canvas_view.el.getBoundingClientRect();
  return [r.left + view.frame.x_scale.compute(x), r.top + view.frame.y_scale.compute(y)];
}"""


def training_loss(config):
    """A stand-in for a training defined by the reader (lower is better)."""
    penalty = 0.2 if config["act"] == "tanh" else 0.0
    return (math.log10(config["lr"] / 3e-3) ** 2 + (math.log2(config["width"]) - 6) ** 2 / 10
            + (config["dropout"] - 0.2) ** 2 + penalty)


def open_served(page, url):
    """Open a page served by the ``served`` fixture: ``(errors, requests)`` it records."""
    errors = []
    requests = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not any(s in m.text for s in IGNORED_CONSOLE) else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, timeout=180_000)  # a page built on a loaded machine
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('status') != null",
                           timeout=90_000)
    return errors, requests


def _play_to_end(page):
    page.wait_for_function("() => /evaluations:/.test("
                           "Bokeh.documents[0].get_model_by_name('status').text)")
    page.get_by_role("button", name="Play").first.click()
    try:
        page.wait_for_function(
            "() => /finished/.test(Bokeh.documents[0].get_model_by_name('status').text)",
            timeout=120_000,
        )
    except Exception:
        print("status:", page.evaluate(STATUS_JS)["text"])
        raise
    return page.evaluate(STATUS_JS)


def _drag(page, axis, lo, hi):
    page.evaluate("""() => {
      const fig = Bokeh.documents[0].get_model_by_name('parallel');
      Bokeh.index.find_one_by_id(fig.id).canvas_view.el.scrollIntoView({block: 'center'});
    }""")
    a = page.evaluate(POINT_JS, [axis - 0.02, lo])
    b = page.evaluate(POINT_JS, [axis + 0.02, hi])
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=4)
    page.mouse.move(*b, steps=4)
    page.mouse.up()


def test_explore_your_own_function_and_brush_the_parallel_view(page, served, tmp_path):
    from explorer.explore import explore

    apps = []

    def factory():
        app = explore(training_loss, SPACE, budget=40, method="random", seed=1)
        apps.append(app)
        return app

    shots = tmp_path
    errors, requests = open_served(page, served(factory))
    page.wait_for_function(HAS_TEXT_JS, arg="Observed values (no true landscape)",
                           timeout=30_000)  # a figure title: drawn on the canvas
    status = _play_to_end(page)
    app = apps[-1]
    n = app.session.run.n
    assert status["n"] == n == 40
    page.wait_for_function(LEN_IS_JS, arg=["parallel-kept", "xs", n])
    # brush the learning-rate axis (axis 0) over its lower half: the others are filtered
    page.wait_for_function("() => Bokeh.index.find_one_by_id("
                           "Bokeh.documents[0].get_model_by_name('parallel').id) != null")
    _drag(page, 0, 0.0, 0.5)
    page.wait_for_function(LEN_IS_JS, arg=["parallel-brush", "axis", 1])
    view = app.views.parallel.view
    from explorer_testing import wait_until

    assert wait_until(lambda: 0 in view.brushes, 60)  # the page's brush reached the server
    page.wait_for_function(LEN_IS_JS, arg=["parallel-kept", "xs", len(view.kept_indices())])
    lo, hi = view.brushes[0]
    assert lo == pytest.approx(0.0, abs=0.02) and hi == pytest.approx(0.5, abs=0.02)
    U = app.session.run.U[:n]
    expected = [i for i in range(n) if lo <= U[i, 0] <= hi]
    assert sorted(view.kept.data["index"]) == expected and 0 < len(expected) < n
    assert page.evaluate(DATA_LEN_JS, ["parallel-muted", "xs"]) == n - len(expected)
    page.get_by_text(f"{len(expected)} of {n} evaluations inside the brushes").wait_for()
    page.screenshot(path=str(shots / "explore_function.png"), full_page=True)
    assert not errors, errors
    outside = [r for r in requests if not r.startswith(("http://127.0.0.1:", "ws://127.0.0.1:",
                                                         "data:", "blob:"))]
    assert not outside, outside


def _cli_journal(path, method="sparse_grid", budget=40):
    from core.cli import main as cli_main

    argv = ["run", "--objective", "rosenbrock", "--method",
            method, "--budget", str(budget), "--journal", str(path), "--no-progress",
            "--seed", "2", "--dim", "3"]
    assert cli_main(argv, out=io.StringIO(), err=io.StringIO()) == 0


def test_a_cli_journal_replayed_by_panel_serve(page, journal_server):
    """``panel serve explorer --args --journal FILE`` (conftest) replays a journal the CLI
    wrote (here, before the page loads) and leaves the file as it was."""
    from explorer.replay import load_journal

    url, path, log_path = journal_server
    start = log_path.stat().st_size
    path.unlink()  # (the CLI resumes a journal it finds)
    _cli_journal(path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    errors, _ = open_served(page, url + "?speed=60")  # the replay itself, not the teaching pace
    run = load_journal(path)
    status = _play_to_end(page)
    assert status["n"] == len(run.records)
    best = min(r["value"] for r in run.records)
    assert status["best"] == pytest.approx(best, rel=1e-4)
    # the history slider goes back to the first refinement step
    page.wait_for_function(LEN_IS_JS, arg=["parallel-kept", "xs", len(run.records)])
    assert not errors, errors
    # tracebacks from the project's code only: Panel's dispatch logs a WebSocketClosedError
    # when a page closes while a message to it is written (docs/decisions.md)
    assert not app_errors(log_path, start)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


POINTS_JS = """() => {
  const m = Bokeh.documents[0].get_model_by_name('points');
  return Array.from(m.data.x).map((x, i) => [x, m.data.y[i]]);
}"""
INSPECTOR_JS = "() => Bokeh.documents[0].get_model_by_name('inspector').text"


def test_adaptive_random_search_variant_switch(page, explorer_server):
    """Adaptive random search at γ = 0.5: its criterion in the inspector; switching the
    neighbourhood variant starts another run, with other points, and goes into the link."""
    url, log_path = explorer_server
    errors, _ = open_served(page, url + "?method=adaptive_random&variant=intervals&gamma=0.5"
                                  "&budget=60&speed=60")
    # the page plays at the link's pace (Panel applies this link's speed after the page's HTML
    # was made: the page clock is sent again once the page has loaded)
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('page-clock')"
                           f".data.interval[0] == {interval_ms(60)}")
    _play_to_end(page)
    inspector = page.evaluate(INSPECTOR_JS)
    assert "level of the point" in inspector and "◀ refined" in inspector
    before = page.evaluate(POINTS_JS)
    variant = page.locator("select", has=page.locator("option", has_text="balls"))
    variant.select_option("balls")
    page.wait_for_function("() => /variant=balls/.test(window.location.search)")
    page.wait_for_function(  # the new run starts at its first step
        "() => !/finished/.test(Bokeh.documents[0].get_model_by_name('status').text)")
    _play_to_end(page)
    after = page.evaluate(POINTS_JS)
    assert len(after) == len(before) and after != before
    assert "level of the point" in page.evaluate(INSPECTOR_JS)
    assert not errors, errors
    # tracebacks from the project's code only: Panel's dispatch logs a WebSocketClosedError
    # when a page closes while a message to it is written (docs/decisions.md)
    assert not app_errors(log_path)
