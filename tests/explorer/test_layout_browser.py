"""The page a class sees: plot sizes at projector and laptop windows, the sidebar collapsed in
presentation mode (pytest-playwright with Debian's Chromium; run with ``pytest -m ui``).

Every measurement waits for the layout to reach the asserted state (never for a time), then
asserts, so a failure says what was measured.
"""

from __future__ import annotations

import pytest
from test_explorer_browser import open_explorer, wait_status

pytestmark = pytest.mark.ui

#: The landscape figures' boxes: the canvas (the view's element) and the plot area (the
#: figure's ``inner_width``, a read-only property BokehJS sets after each layout), and the
#: page's layout facts.
LAYOUT_JS = """() => {
  const all = [];
  const visit = (v) => { all.push(v); for (const c of (v.child_views ?? [])) visit(c); };
  Object.values(Bokeh.index).forEach(visit);
  const figs = {};
  for (const v of all) {
    const name = v.model.name;
    if ((name === 'truth-figure' || name === 'model-figure') && v.el) {
      const r = v.el.getBoundingClientRect();
      figs[name] = {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                    width: r.width, frame: v.model.inner_width ?? 0,
                    frameHeight: v.model.inner_height ?? 0};
    }
  }
  const canvases = [];
  const walk = (root) => root.querySelectorAll('*').forEach(el => {
    if (el.tagName === 'CANVAS') { canvases.push(el); }
    if (el.shadowRoot) { walk(el.shadowRoot); }
  });
  walk(document);
  const plots = canvases.map(c => c.getBoundingClientRect())
    .filter(r => r.width > 0 && r.height > 0).map(r => ({left: r.left, right: r.right}));
  const sidebar = document.querySelector('#sidebar');
  return {figs, plots, scroll: document.documentElement.scrollWidth,
          sidebar: sidebar ? sidebar.classList.contains('hidden') : null,
          sidebarWidth: sidebar ? sidebar.getBoundingClientRect().width : -1};
}"""

#: (window, present) -> the least width (px) of each landscape plot's canvas and plot area
#: (inside the axes): with the sidebar open too, a laptop's plots keep room for the points.
CASES = {
    ((1024, 768), False): (300, 300),
    ((1024, 768), True): (300, 300),
    ((1280, 720), False): (360, 360),
    ((1280, 720), True): (360, 360),
}


def _fits(w: int, h: int, canvas: int, frame: int) -> str:
    return f"""() => {{ const m = ({LAYOUT_JS})(); const f = Object.values(m.figs);
        return f.length == 2 && m.scroll <= {w} && m.plots.length >= 3
            && m.plots.every(b => b.left >= 0 && b.right <= {w} + 1)
            && f.every(b => b.width >= {canvas}
            && b.frame >= {frame} && b.left >= 0 && b.right <= {w} && b.bottom <= {h})
            && Math.abs(f[0].frameHeight - f[1].frameHeight) <= 1; }}"""


@pytest.mark.parametrize(("size", "present"), list(CASES))
def test_landscape_plots_fill_the_first_screen(browser, explorer_server, size, present):
    """The landscapes side by side in the first screen, no plot cut off and nothing scrolling
    sideways, at projector sizes; presentation mode starts with the sidebar closed, and the
    template's header button opens it again."""
    url, _ = explorer_server
    w, h = size
    canvas, frame = CASES[(size, present)]
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    try:
        errors = open_explorer(page, url, "?present=true" if present else "")
        wait_status(page, "s => s.n >= 1")
        try:  # the layout settles (fonts, scroll bars): wait for the state asserted below
            page.wait_for_function(_fits(w, h, canvas, frame), timeout=30_000)
        except Exception:
            pass  # the assertions say what does not fit
        m = page.evaluate(LAYOUT_JS)
        print(size, "present" if present else "default", m)  # the widths, in -s output
        assert set(m["figs"]) == {"truth-figure", "model-figure"}
        for name, box in m["figs"].items():
            assert box["width"] >= canvas and box["frame"] >= frame, (name, box)
            assert box["left"] >= 0 and box["right"] <= w, (name, box)
            assert box["bottom"] <= h, (name, box)  # in the first screen, no scrolling
        truth, model = m["figs"]["truth-figure"], m["figs"]["model-figure"]
        assert abs(truth["bottom"] - model["bottom"]) <= 2  # side by side, equal heights
        assert abs(truth["frame"] - model["frame"]) <= 0.1 * truth["frame"]
        assert abs(truth["frameHeight"] - model["frameHeight"]) <= 1  # areas side by side
        assert truth["frameHeight"] > 0
        assert m["scroll"] <= w  # nothing scrolls sideways
        assert len(m["plots"]) >= 3
        for box in m["plots"]:  # no plot cut off at the window's edge
            assert box["left"] >= 0 and box["right"] <= w + 1, (box, size)
        assert m["sidebar"] is present  # presentation mode starts with the sidebar closed
        if present:
            assert m["sidebarWidth"] == 0 or m["sidebarWidth"] < 5
            page.locator("#sidebar-button").click()  # the header's button opens it
            page.wait_for_function("() => !document.querySelector('#sidebar')"
                                   ".classList.contains('hidden')")
            page.get_by_role("button", name="Play", exact=True).wait_for(state="visible")
        assert not errors, errors
    finally:
        context.close()


RACE_JS = """() => { const d = Bokeh.documents[0];
  const s = d.get_model_by_name('race-summary'), r = d.get_model_by_name('results');
  return {sentence: s && s.visible ? s.text : '', results: r ? r.text : ''}; }"""


def test_race_names_both_sparse_grids_and_compares_them_at_the_end(page, explorer_server):
    """Played to its end, the run's page says how both sparse grids did against Bayesian
    optimization; the results table names both and marks the played one."""
    url, _ = explorer_server
    errors = open_explorer(page, url, "?budget=40&speed=60&play=1")
    page.wait_for_function(f"() => ({RACE_JS})().sentence.includes('Bayesian optimization')",
                           timeout=120_000)
    race = page.evaluate(RACE_JS)
    assert "On Rosenbrock (2-D) with 40 evaluations" in race["sentence"]
    for title in ("Sparse grid (slides)", "Sparse grid + local model (default)"):
        assert title in race["sentence"] and title in race["results"]
    played = race["results"].split("class='cur'")[1].split("</tr>")[0]
    assert "Sparse grid (slides)" in played and "played" in played
    assert not errors, errors


RESULTS_JS = """() => { const all = [];
  const visit = (v) => { all.push(v); for (const c of (v.child_views ?? [])) visit(c); };
  Object.values(Bokeh.index).forEach(visit);
  const v = all.find(v => v.model.name === 'results');
  const t = v && v.el.shadowRoot ? v.el.shadowRoot.querySelector('table') : null;
  return {div: v ? v.el.getBoundingClientRect().width : 0, table: t ? t.scrollWidth : -1,
          text: v ? v.model.text : ''}; }"""


def test_results_table_fits_its_card_at_1024(browser, explorer_server):
    """The race scene's results table (every method computed) wraps inside its card: no
    column is cut off on the right of a 1024-px window with the sidebar open."""
    url, _ = explorer_server
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        errors = open_explorer(page, url, "?scene=race")
        page.wait_for_function(f"() => {{ const r = ({RESULTS_JS})();"
                               " return r.table > 0 && !r.text.includes('computing'); }",
                               timeout=120_000)
        r = page.evaluate(RESULTS_JS)
        print("results", {k: r[k] for k in ("div", "table")})
        assert 0 < r["table"] <= r["div"] + 1, r
        assert not errors, errors
    finally:
        context.close()
