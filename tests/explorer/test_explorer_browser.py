"""The served explorer in Debian's Chromium (pytest-playwright; recipe in STACK.md).

Run with ``pytest -m ui`` (the Makefile's second invocation). Screenshots go to
``assets/screenshots/``.
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import SCREENSHOTS

pytestmark = pytest.mark.ui

LABELS = ["Objective", "Method", "Adaptivity γ", "Budget", "Surrogate optimizer",
          "B-spline degree", "Initial level", "Seed", "Speed"]
BUTTONS = ["Play", "Pause", "Step", "Reset"]
IGNORED_CONSOLE = ("ERR_NAME_NOT_RESOLVED",)

STATUS_JS = """() => {
  const m = Bokeh.documents[0].get_model_by_name('status');
  const t = m ? m.text : '';
  const ev = /evaluations: (\\d+)\\/(\\d+)/.exec(t);
  const st = /step (\\d+)\\//.exec(t);
  const fc = Bokeh.documents[0].get_model_by_name('frame-counter');
  return {n: ev ? +ev[1] : -1, budget: ev ? +ev[2] : -1, step: st ? +st[1] : -1,
          frame: fc ? fc.data.frame[0] : -1, text: t};
}"""

SOURCE_LEN_JS = """(name) => {
  const m = Bokeh.documents[0].get_model_by_name(name);
  return m ? m.data.x.length : -1;
}"""


def app_errors(log) -> list[str]:
    """Tracebacks in the server log that come from the project's code (a page closed while a
    message was being sent leaves a harmless tornado traceback, which is not counted)."""
    blocks = log.read_text().split("Traceback (most recent call last):")[1:]
    return [b for b in blocks if "/explorer/" in b or "/core/" in b]


def status(page):
    return page.evaluate(STATUS_JS)


def open_explorer(page, url, query=""):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not any(s in m.text for s in IGNORED_CONSOLE) else None)
    page.goto(url + query)
    page.get_by_text("evaluations:").first.wait_for(timeout=60_000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")
    return errors


def slider_handle(page, label):
    """The noUiSlider handle of the slider whose title starts with ``label``."""
    title = page.locator(".bk-slider-title", has_text=re.compile("^" + re.escape(label)))
    slider = page.locator(".bk-input-group", has=title).first
    return slider.locator(".noUi-handle").first


def wait_status(page, predicate_js, timeout=60_000):
    page.wait_for_function(
        f"() => {{ const s = ({STATUS_JS})(); return ({predicate_js})(s); }}", timeout=timeout
    )
    return status(page)


def test_loads_with_every_control(page, explorer_server):
    url, log = explorer_server
    errors = open_explorer(page, url)
    for label in LABELS:
        assert page.get_by_text(label, exact=False).first.is_visible(), label
    for name in BUTTONS:
        assert page.get_by_role("button", name=name).is_visible(), name
    s = wait_status(page, "s => s.n >= 1")
    assert s["budget"] == 100 and s["n"] == 1
    assert page.get_by_text("Refinement inspector").is_visible()
    assert page.get_by_text("γ strip").first.is_visible()
    titles = page.evaluate("""() => Array.from(Bokeh.documents[0].all_models)
        .filter(m => m.type === 'Title' || (m.constructor && m.constructor.name === 'Title'))
        .map(m => m.text)""")
    for title in ("True loss landscape", "Sparse-grid surrogate", "Convergence race",
                  "γ = 0 (greedy)", "γ = 0.5", "γ = 1 (breadth-first)"):
        assert title in titles, titles
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explorer_start.png"))
    assert not errors, errors
    assert not app_errors(log)


def test_play_counts_up_and_plots_change(page, explorer_server):
    url, _ = explorer_server
    errors = open_explorer(page, url, "?budget=200&speed=12")
    wait_status(page, "s => s.n >= 1 && s.budget == 200")
    truth = page.locator(".bk-Canvas").first
    before_points = page.evaluate(SOURCE_LEN_JS, "points")
    before_png = truth.screenshot()
    page.get_by_role("button", name="Play").click()
    s = wait_status(page, "s => s.n >= 60")
    assert s["budget"] == 200
    assert page.evaluate(SOURCE_LEN_JS, "points") > before_points
    assert page.evaluate(SOURCE_LEN_JS, "run-curve") > 1
    assert truth.screenshot() != before_png
    page.get_by_role("button", name="Pause").click()
    time.sleep(0.5)
    paused = status(page)["step"]
    time.sleep(0.8)
    assert status(page)["step"] == paused
    page.get_by_role("button", name="Step").click()
    wait_status(page, f"s => s.step == {paused + 1}")
    page.get_by_role("button", name="Reset").click()
    wait_status(page, "s => s.step == 0 && s.n == 1")
    assert not errors, errors


def test_change_gamma_budget_optimizer_then_play(page, explorer_server):
    url, log = explorer_server
    errors = open_explorer(page, url, "?speed=20")
    wait_status(page, "s => s.n >= 1")
    # gamma: keyboard on the slider handle, released -> a new run
    handle = slider_handle(page, "Adaptivity γ")
    handle.focus()
    for _ in range(7):
        page.keyboard.press("ArrowLeft")
    page.get_by_text(re.compile(r"Adaptivity γ: 0\.50")).wait_for()
    # budget
    handle = slider_handle(page, "Budget")
    handle.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    s = wait_status(page, "s => s.budget == 200")
    assert s["n"] == 1
    # surrogate optimizer
    select = page.locator("select", has=page.locator("option", has_text="Nelder-Mead")).first
    select.select_option(label="Nelder-Mead")
    page.get_by_role("button", name="Play").click()
    s = wait_status(page, "s => s.n >= 150", timeout=30_000)
    assert s["budget"] == 200
    wait_status(page, "s => s.text.includes('surrogate optimum') || s.n == 200", 30_000)
    # for the screenshot: the race finished, one step back (the last refinement, whose
    # candidates the inspector lists)
    page.wait_for_function(_race_done_js(), timeout=240_000)
    last = status(page)["step"]
    handle = slider_handle(page, "History")
    handle.focus()
    page.keyboard.press("ArrowLeft")
    wait_status(page, f"s => s.step == {last - 1}")
    time.sleep(1.0)
    page.screenshot(path=str(SCREENSHOTS / "explorer_run.png"))
    page.set_viewport_size({"width": 1280, "height": 1180})
    time.sleep(0.5)
    page.screenshot(path=str(SCREENSHOTS / "explorer_full.png"))
    assert not errors, errors
    assert not app_errors(log)


def test_history_slider_rewinds(page, explorer_server):
    url, _ = explorer_server
    open_explorer(page, url, "?budget=60&speed=30&play=1")
    s = wait_status(page, "s => s.n >= 57")
    handle = slider_handle(page, "History")
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    s = wait_status(page, f"s => s.step == {s['step'] - 5}")
    assert s["n"] < 57


def test_error_is_a_message_not_a_crash(page, explorer_server):
    url, log = explorer_server
    errors = open_explorer(page, url, "?budget=10&level=4")
    page.get_by_text("is too small").first.wait_for(timeout=20_000)
    assert status(page)["budget"] == 10
    assert not errors, errors
    assert not app_errors(log)


#: Frames every one of 10 sessions must show within the 4 s window. The issue's rate target
#: (5 fps each) is a benchmark figure (benchmarks/bench_explorer.py reports it), not a timed
#: unit test: here the ten pages share one headless Chromium and two cores with the server, so
#: this test guards against freezes and starvation only: every session keeps animating.
MIN_FRAMES_TEN_SESSIONS = 3


def test_ten_sessions_keep_animating(browser, explorer_server):
    """Load test: 10 sessions at once, each keeps animating (frame counters keep rising)."""
    url, log = explorer_server
    # one window (context) per session: background tabs of one window are throttled
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(10)]
    pages = [c.new_page() for c in contexts]
    try:
        for p in pages:  # playing at once, looping: every session animates while we measure
            open_explorer(p, url, "?budget=1000&speed=20&play=1&loop=true")
        for p in pages:
            wait_status(p, "s => s.frame >= 3", 30_000)
        first = [status(p)["frame"] for p in pages]
        t0 = time.perf_counter()
        time.sleep(4.0)
        last = [status(p)["frame"] for p in pages]
        dt = time.perf_counter() - t0
        frames = [b - a for a, b in zip(first, last, strict=True)]
        print(f"frames per second of 10 sessions: {[round(f / dt, 1) for f in frames]}")
        assert min(frames) >= MIN_FRAMES_TEN_SESSIONS, frames
    finally:
        for c in contexts:
            c.close()
    assert not app_errors(log)


def _race_done_js():
    return """() => { const m = Bokeh.documents[0].get_model_by_name('results');
        return m && !m.text.includes('computing') && !m.text.includes('running'); }"""


def test_screenshots_of_other_objectives(page, explorer_server):
    """Screenshots for the README: a 3-D test function with axis selectors, γ = 0."""
    url, _ = explorer_server
    open_explorer(page, url, "?objective=rosenbrock_3d&budget=150&speed=40&play=1")
    wait_status(page, "s => s.n >= 140", 30_000)
    assert page.get_by_text("Shown hyperparameters").is_visible()
    page.wait_for_function(_race_done_js(), timeout=60_000)
    time.sleep(1.0)
    page.screenshot(path=str(SCREENSHOTS / "explorer_3d.png"))
    open_explorer(page, url, "?objective=himmelblau&gamma=0&budget=100&speed=40&play=1")
    wait_status(page, "s => s.n >= 97", 30_000)
    page.wait_for_function(_race_done_js(), timeout=60_000)
    time.sleep(1.0)
    page.screenshot(path=str(SCREENSHOTS / "explorer_gamma0.png"))


@pytest.mark.slow
def test_training_screenshot(page, explorer_server):
    """A live training run: points appear as trainings finish, with the learning curve."""
    url, _ = explorer_server
    open_explorer(page, url, "?objective=mlp_regression_2d&budget=30&play=1")
    wait_status(page, "s => s.n >= 21", 120_000)
    assert page.get_by_text("Learning curve").first.is_visible()
    time.sleep(1.0)
    page.set_viewport_size({"width": 1280, "height": 1000})
    time.sleep(0.5)
    page.screenshot(path=str(SCREENSHOTS / "explorer_training.png"))


def test_animated_gif(page, explorer_server):
    """assets/explorer.gif: a sparse-grid run on Himmelblau, step by step, racing the others."""
    import io

    from PIL import Image

    url, _ = explorer_server
    open_explorer(page, url, "?objective=himmelblau&gamma=0.85&budget=120")
    wait_status(page, "s => s.n >= 1")
    page.wait_for_function(_race_done_js(), timeout=90_000)
    step = page.get_by_role("button", name="Step")
    # the status line and the top row of plots (truth, surrogate, race)
    canvases = [page.locator(".bk-Canvas").nth(i).bounding_box() for i in range(3)]
    x0 = min(b["x"] for b in canvases) - 8
    x1 = max(b["x"] + b["width"] for b in canvases) + 8
    status_box = page.locator("text=evaluations:").first.bounding_box()
    y0 = status_box["y"] - 6
    y1 = max(b["y"] + b["height"] for b in canvases) + 2
    clip = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
    frames = []
    n_steps = None
    k = 0
    while True:
        time.sleep(0.25)  # the surrogate of this step
        shot = page.screenshot(clip=clip)
        frames.append(Image.open(io.BytesIO(shot)).convert("RGB"))
        s = status(page)
        n_steps = n_steps or int(re.search(r"step \d+/(\d+)", s["text"]).group(1))
        if k >= n_steps:
            break
        step.click()
        k += 1
        wait_status(page, f"s => s.step == {k}")
    frames = [f.resize((f.width * 3 // 4, f.height * 3 // 4), Image.LANCZOS) for f in frames]
    # one palette for all frames, from the last (it has every colour: race, points, maps)
    palette = frames[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    pal = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    out = SCREENSHOTS.parent / "explorer.gif"
    durations = [180] * (len(pal) - 1) + [2500]
    pal[0].save(out, save_all=True, append_images=pal[1:], duration=durations, loop=0,
                optimize=True)
    assert out.stat().st_size > 10_000 and len(pal) == n_steps + 1
