"""Lesson mode and downloads in Debian's Chromium (pytest-playwright, marker ``ui``).

Walks every scene with the Next button and back with the keyboard, checks each caption is shown
(escaped in the page's model, readable on screen), that ``?scene=gamma&controls=minimal`` hides
the controls the scene does not need, and that a download arrives. Every wait is on a condition
read from the page.
"""

from __future__ import annotations

import re

import pytest
from test_explorer_browser import app_errors

from explorer.lesson import SCENES

pytestmark = pytest.mark.ui

#: A phrase of each scene's caption that holds whatever the run is.
PHRASES = {
    "grid_random": "random search tried",
    "sparse_grid": "refinements with",
    "gamma": "points within",
    "surrogate": "B-spline surrogate fitted to the",
    "race": "compares every method",
    "neural_network": "trains a small network live",
    "adaptive_random": "Adaptive random search starts with",
}

CAPTION_JS = """() => {
  if (!window.Bokeh || !Bokeh.documents.length) { return {title: '', caption: ''}; }
  const doc = Bokeh.documents[0];
  const t = doc.get_model_by_name('lesson-title');
  const c = doc.get_model_by_name('lesson-caption');
  return {title: t ? t.text : '', caption: c ? c.text : ''};
}"""


STATUS_JS = "() => Bokeh.documents[0].get_model_by_name('status').text"
PLAYING_JS = """() => { const p = Array.from(Bokeh.documents[0].all_models)
  .find(m => m.constructor.__name__ === 'Player'); return p && p.direction === 1; }"""


def wait_scene(page, scene) -> dict:
    """Wait until the page shows ``scene``'s title and caption; return the models' texts."""
    import html

    title, phrase = html.escape(scene.title), html.escape(PHRASES[scene.key])
    page.wait_for_function(
        f"""() => {{ const s = ({CAPTION_JS})();
            return s.title.includes({title!r}) && s.caption.includes({phrase!r}); }}""",
        timeout=30_000)
    return page.evaluate(CAPTION_JS)


def open_page(page, url, query=""):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + query, timeout=180_000)  # a page built on a loaded machine
    page.get_by_text("evaluations:").first.wait_for(timeout=60_000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0 && "
                           "Bokeh.documents[0].get_model_by_name('lesson-caption')")
    return errors


def test_walk_every_scene_with_next_and_back_with_keys(page, explorer_server):
    url, log = explorer_server
    errors = open_page(page, url)
    next_button = page.get_by_role("button", name=re.compile("^(Start|Next) ▶"))
    for scene in SCENES:
        next_button.click()
        texts = wait_scene(page, scene)
        assert "<" not in texts["caption"], texts["caption"]  # escaped text, no markup
        assert page.get_by_text(PHRASES[scene.key]).first.is_visible()
        assert f"scene={scene.key}" in page.url  # the scene is a link
        if scene.key == "sparse_grid":  # an apostrophe: escaped in the model, shown as is
            assert "candidate&#x27;s" in texts["caption"]
            assert page.get_by_text("candidate's score").first.is_visible()
    assert next_button.is_disabled()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for scene in reversed(SCENES[:-1]):
        page.keyboard.press("ArrowLeft")
        wait_scene(page, scene)
    page.keyboard.press("ArrowRight")
    wait_scene(page, SCENES[1])
    # s steps; space plays, space again pauses (read from the status line and the player)
    page.keyboard.press("s")
    page.wait_for_function(f"() => /step 1\\//.test(({STATUS_JS})())", timeout=30_000)
    page.keyboard.press(" ")
    page.wait_for_function(f"() => /step ([2-9]|\\d\\d)\\//.test(({STATUS_JS})())",
                           timeout=30_000)
    page.keyboard.press(" ")
    page.wait_for_function(f"() => !({PLAYING_JS})()", timeout=30_000)
    # keys typed into an input are typing, not commands
    seed = page.locator(".bk-input-group", has=page.get_by_text("Seed", exact=True))
    seed.locator("input").first.focus()
    page.keyboard.press("ArrowRight")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("ArrowLeft")
    wait_scene(page, SCENES[0])  # from scene 2, not 3
    assert not errors, errors
    assert not app_errors(log)  # tracebacks through the project's code (not a URL in a line)


def test_minimal_controls_link_and_a_download(page, explorer_server, tmp_path):
    url, _ = explorer_server
    open_page(page, url, "?scene=gamma&controls=minimal")
    wait_scene(page, SCENES[2])
    assert page.get_by_text("Adaptivity γ", exact=False).first.is_visible()
    assert page.get_by_text(re.compile("^Budget")).first.is_visible()
    for hidden in ("Surrogate optimizer", "B-spline degree", "Objective", "Seed",
                   "Colour points by"):
        assert page.get_by_text(hidden, exact=True).count() == 0 or not page.get_by_text(
            hidden, exact=True).first.is_visible(), hidden
    assert page.get_by_role("button", name="Play", exact=True).is_visible()
    # the run leaves the page as CSV
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Run (CSV)").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text()
    assert download.suggested_filename == "rosenbrock-sparse_grid-b50-s0.csv"
    assert text.startswith("index,step,x1,x2,value,status,origin")
    assert len(text.splitlines()) == 1 + 49  # γ = 0 stops at 49 (a refinement would not fit)
