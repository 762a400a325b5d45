"""The runner reacts to a control before every view does (no browser).

The runner and the views follow the session with ``@param.depends("session.x", watch=True)``
methods, which param calls in the order they were registered: a page creates its runner first,
so a view that hears of a new objective (or method, or scene) finds the new run in
``session.run`` already. These tests record what every view's reaction sees.
"""

from __future__ import annotations

from typing import Any

import param
import pytest

from explorer.app import ExplorerApp
from explorer.controls import Controls
from explorer.model import Session
from explorer.runner import Runner
from explorer.views import Views
from explorer.views.convergence import ConvergenceView
from explorer.views.importance import ImportanceView
from explorer.views.inspector import InspectorView, SlowView
from explorer.views.landscape import LandscapeView
from explorer.views.learning import LearningCurveView
from explorer.views.lesson import ExportView, LessonView
from explorer.views.parallel import ParallelCoordinatesView
from explorer.views.results import ResultsView
from explorer.views.status import StatusView
from explorer.views.strip import GammaStripView
from explorer.views.timeline import Timeline

#: Every method through which a page's controls and views follow the session.
REACTIONS: dict[type, tuple[str, ...]] = {
    Controls: ("_on_method",),
    Views: ("_on_present", "_on_intro"),
    Timeline: ("_on_step", "_on_pace"),
    LandscapeView: ("_on_run", "_on_frames", "_on_truth", "_on_surface"),
    ConvergenceView: ("_on_run", "_on_frames", "_on_race"),
    SlowView: ("_maybe",),
    InspectorView: ("_reset",),
    LearningCurveView: ("_on_run",),
    GammaStripView: ("_on_strip",),
    ResultsView: ("_update", "_on_steps"),
    StatusView: ("update", "_on_message", "_on_race"),
    ParallelCoordinatesView: ("_on_change",),
    ImportanceView: ("_on_change",),
    LessonView: ("_on_scene", "_refresh"),
    ExportView: ("_names",),
}


@pytest.fixture
def seen(monkeypatch) -> list[tuple[str, str, Any, bool]]:
    """``(reaction, session.objective, the run's objective or None, run is that of the
    controls)`` for every call of a reaction in :data:`REACTIONS`."""
    records: list[tuple[str, str, Any, bool]] = []
    for cls, names in REACTIONS.items():
        for name in names:
            original = getattr(cls, name)

            def spy(self, _original=original, _where=f"{cls.__name__}.{name}"):
                s = self.session
                run = s.run
                ok = run is None or run.key == s.run_key()
                records.append((_where, s.objective, run.key.objective if run else None, ok))
                return _original(self)

            monkeypatch.setattr(cls, name, spy)
    return records


def stale(records: list[tuple[str, str, Any, bool]]) -> list[tuple[str, str, Any, bool]]:
    return [r for r in records if not r[3] or (r[2] is not None and r[2] != r[1])]


def test_every_view_sees_the_new_objectives_run(services, seen):
    app = ExplorerApp(Session(objective="rosenbrock", budget=40), services, race=False)
    app.runner.tick(0.0)
    s, views, controls = app.session, app.views, app.controls
    assert not views.parallel.visible and not controls.dims_box.visible

    seen.clear()
    s.objective = "rosenbrock_3d"  # 2-D -> 3-D: the parallel view and the axis menus appear
    reactions = {r[0] for r in seen}
    assert {"ParallelCoordinatesView._on_change", "Controls._on_method",
            "LandscapeView._on_run", "StatusView.update"} <= reactions
    assert not stale(seen), stale(seen)
    assert s.run.key.objective == "rosenbrock_3d" and not s.message, s.message
    app.runner.tick(0.0)
    assert views.parallel.visible and views.parallel.view.space.dim == 3
    assert views.importance.visible
    assert controls.dims_box.visible
    assert list(controls.x_dim.options) == ["x1", "x2", "x3"] == list(controls.y_dim.options)
    assert (s.x_dim, s.y_dim) == ("x1", "x2")
    app.runner.seek(s.run.n_frames - 1)
    lines = views.parallel.view.kept.data["xs"]
    assert len(lines) == views.parallel.view.n_total == s.frame.end > 0
    assert all(len(xs) == 4 for xs in lines)  # three hyperparameters and the value

    seen.clear()
    s.method = "random"  # a new method on the 3-D objective
    assert seen and not stale(seen), stale(seen)
    assert s.run.key.method == "random" and not s.message, s.message

    seen.clear()
    s.scene = "surrogate"  # a scene sets the controls in one batch: back to 2-D (himmelblau)
    assert seen and not stale(seen), stale(seen)
    assert s.run.key.objective == "himmelblau" == s.objective
    assert not views.parallel.visible and not controls.dims_box.visible
    assert (s.x_dim, s.y_dim) == ("x1", "x2") and not s.message, s.message
    app.stop()


def test_a_batch_naming_a_display_option_first(services, seen):
    """Several parameters set together (a link, a scene): the runner still reacts first, also
    when the first one named is a display option a view follows."""
    app = ExplorerApp(Session(objective="rosenbrock", budget=40), services, race=False)
    s = app.session
    seen.clear()
    s.param.update(color_by="order", objective="rosenbrock_3d")
    assert "LandscapeView._on_run" in {r[0] for r in seen}
    assert not stale(seen), stale(seen)
    assert s.run.key.objective == "rosenbrock_3d" and not s.message, s.message
    assert app.views.parallel.visible and app.controls.dims_box.visible
    app.stop()


def test_the_order_is_that_of_registration(services):
    """What the page's order protects against: a reaction registered before the runner's
    hears of a new objective while the run is still the old objective's."""

    class Probe(param.Parameterized):
        session = param.ClassSelector(class_=Session)

        def __init__(self, **params: Any) -> None:
            super().__init__(**params)
            self.runs: list[tuple[str, Any]] = []

        @param.depends("session.objective", watch=True)
        def _heard(self) -> None:
            run = self.session.run
            self.runs.append((self.session.objective, run.key.objective if run else None))

    s = Session(objective="rosenbrock", budget=40)
    before = Probe(session=s)
    runner = Runner(s, services, race=False)
    after = Probe(session=s)
    s.objective = "rosenbrock_3d"
    assert before.runs == [("rosenbrock_3d", "rosenbrock")]  # the old run
    assert after.runs == [("rosenbrock_3d", "rosenbrock_3d")]
    runner.close()


def test_only_a_change_of_the_controls_restarts(services, monkeypatch):
    """The runner hears every session parameter; a played step or a display option costs it a
    comparison, and only new controls reach the restart (inside Panel's hold)."""
    calls: list[str] = []
    original = Runner._new_controls

    def spy(self):
        calls.append(self.session.method)
        return original(self)

    monkeypatch.setattr(Runner, "_new_controls", spy)
    app = ExplorerApp(Session(objective="rosenbrock", budget=40), services, race=False)
    s = app.session
    app.runner.tick(0.0)
    run = s.run
    s.step = 1
    s.step = 0
    s.color_by = "order"
    assert calls == [] and s.run is run
    s.param.update(method="random", budget=30)  # two controls in one batch: one restart
    assert calls == ["random"] and s.run is not run and s.run.key.method == "random"
    app.stop()
