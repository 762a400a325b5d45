"""Small view texts: the γ strip's note for your own objective, zoom stages and restarts named
in the refinement inspector."""

from __future__ import annotations

import html
import re

from explorer_testing import wait_until

from core.records import Origin
from core.space import Float, SearchSpace
from explorer.app import ExplorerApp
from explorer.model import Session
from explorer.views.inspector import kind_text, stage_names
from explorer.views.strip import NO_STRIP


def settle(app, timeout=120.0):
    s = app.session
    wait_until(lambda: s.run is not None and s.run.done, timeout,
               tick=lambda: app.runner.tick(0.05))
    app.runner.tick(0.0)


def test_strip_says_why_it_is_empty_for_your_own_objective(services):
    def bowl(config):
        return (config["a"] - 0.3) ** 2 + config["b"] ** 2

    bowl.space = SearchSpace({"a": Float(0, 1), "b": Float(-1, 1)})
    s = Session()
    s.add_objective(bowl)
    app = ExplorerApp(s, services, race=False)
    assert html.escape(NO_STRIP) in app.views.strip.note.text
    assert not any(fig.visible for fig in app.views.strip.figures)
    s.objective = "rosenbrock"  # a test function: the strip comes back
    assert NO_STRIP not in app.views.strip.note.text
    assert all(fig.visible for fig in app.views.strip.figures)
    app.stop()


def test_stage_names_number_zoom_stages_within_each_global_search():
    origins = [Origin("grid", stage=0), Origin("candidate", stage=0),
               Origin("grid", stage=1), Origin("grid", stage=2), Origin("local_step"),
               Origin("grid", stage=3, restart=1), Origin("grid", stage=4, restart=1)]
    assert stage_names(origins) == {0: "first grid", 1: "zoom stage 1", 2: "zoom stage 2",
                                    3: "global restart 1", 4: "zoom stage 1 of restart 1"}
    assert kind_text("local_step") == "a trust-region step of the local phase"


def test_inspector_names_the_stage_of_the_shown_step(services):
    s = Session(budget=150)
    app = ExplorerApp(s, services, race=False)
    s.param.update(variant="zoom", optimizer="nelder_mead")  # zoom stages, local phase
    settle(app)
    seen = []
    for k in range(s.run.n_frames):
        app.runner.seek(k)
        app.views.inspector.render()
        m = re.search(r"<div class='where'>(.*?)</div>", app.views.inspector.div.text)
        seen.append(m.group(1) if m else "")
    assert seen[0] == "First grid: its initial grid"
    assert any(t.startswith("Zoom stage 1: refinement") for t in seen)
    assert any(t.startswith("A trust-region step of the local phase") for t in seen)
    assert any(t.startswith("Global restart 1") for t in seen)
    app.stop()


def test_a_run_with_one_grid_names_no_stage(services):
    s = Session(budget=60)  # the slides' sparse grid: one grid, no stages to name
    app = ExplorerApp(s, services, race=False)
    settle(app)
    app.runner.seek(s.run.n_frames - 1)
    app.views.inspector.render()
    assert "class='where'" not in app.views.inspector.div.text
    app.stop()
