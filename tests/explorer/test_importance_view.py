"""The importance view without a browser: which surrogate, the bars, caching, text, thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.importance import importance
from core.space import Float, SearchSpace
from explorer.app import ExplorerApp
from explorer.model import Session
from explorer.views.importance import ImportanceView, _Worker, importance_fit


def make(services, **cfg) -> ExplorerApp:
    app = ExplorerApp(Session(**cfg), services, race=False)
    app.runner.tick(0.0)
    assert app.session.run is not None and app.session.run.done, app.session.message
    return app


def bars(view: ImportanceView) -> dict[str, tuple[float, float]]:
    d = view.source.data
    return {n: (f, t) for n, f, t in zip(d["name"], d["first"], d["total"], strict=True)}


def test_a_sparse_grid_run_shows_the_indices_of_its_evaluations_up_to_the_step(services):
    app = make(services, objective="rosenbrock_3d", budget=80)
    s, run = app.session, app.session.run
    view = ImportanceView(s, background=False)
    assert view.visible and importance_fit(run) == "auto"
    app.runner.seek(run.n_frames - 1)
    end = s.frame.end
    expected = importance((run.U[:end], run.y[:end]), list(s.objective_obj.space.names),
                          fit="auto")
    got = bars(view)
    assert set(got) == {"x1", "x2", "x3"}
    for t, name in enumerate(expected.names):
        assert got[name] == pytest.approx((expected.first_order[t], expected.total[t]))
    # sorted by total index, the most important on top of the chart
    totals = view.source.data["total"]
    assert totals == sorted(totals, reverse=True)
    assert view.fig.y_range.factors == view.source.data["name"][::-1]
    assert "Sobol indices of" in view._caption.object
    # an earlier step: fewer evaluations, other indices; back again comes from the cache
    app.runner.seek(2)
    assert view.shown.n_points <= s.frame.end
    app.runner.seek(run.n_frames - 1)
    assert view.shown is not None
    app.stop()


def test_random_search_uses_the_least_squares_surrogate(services):
    app = make(services, objective="rosenbrock_3d", method="random", budget=60)
    s = app.session
    view = ImportanceView(s, background=False)
    assert importance_fit(s.run) == "least_squares"
    app.runner.seek(s.run.n_frames - 1)
    assert view.shown is not None and view.shown.fit == "least_squares"
    assert view.shown.n_points == int(np.isfinite(s.run.y[: s.frame.end]).sum())
    app.stop()


def test_hidden_below_three_dimensions(services):
    app = make(services, objective="rosenbrock", budget=40)
    view = ImportanceView(app.session, background=False)
    assert not view.visible and not view.source.data["name"]
    app.stop()


def test_too_few_values_is_a_sentence_not_an_error(services):
    app = make(services, objective="rosenbrock_3d", budget=80)
    view = ImportanceView(app.session, background=False)
    app.runner.seek(0)  # the centre point alone
    assert view.shown is None and "at least 3 finite values" in view._caption.object
    app.stop()


def test_names_from_the_space_are_escaped_in_the_caption_and_plain_on_the_axis():
    space = SearchSpace({"<b>a</b>": Float(0, 1), "b&c": Float(0, 1), "c": Float(0, 1)})
    s = Session()
    s.add_objective(lambda c: 3 * c["<b>a</b>"] + c["b&c"] ** 2, space)
    view = ImportanceView(s, background=False)
    rng = np.random.default_rng(0)
    U = rng.random((40, 3))
    y = 3 * U[:, 0] + U[:, 1] ** 2
    imp = importance((U, y), list(space.names))
    view._draw(imp, "names: " + ", ".join(space.names))
    assert "<b>a</b>" not in view._caption.object and "&lt;b&gt;a&lt;/b&gt;" in \
        view._caption.object
    assert view.source.data["name"][0] == "<b>a</b>"  # canvas text, not HTML


def test_the_worker_computes_only_the_newest_request_and_holds_no_view():
    worker = _Worker()
    gate, started, seen, done = threading.Event(), threading.Event(), [], threading.Event()

    def slow():
        started.set()
        gate.wait(5)
        return "first"

    worker.submit(slow, seen.append)
    assert started.wait(5)
    for k in range(5):  # all but the last are replaced while the first computes
        worker.submit(lambda k=k: k, lambda r: (seen.append(r), done.set()))
    gate.set()
    assert done.wait(5)
    assert seen == ["first", 4]
    worker.close()


def test_background_results_reach_the_view(services):
    app = make(services, objective="rosenbrock_3d", budget=80)
    s = app.session
    view = ImportanceView(s, background=True)
    app.runner.seek(s.run.n_frames - 1)
    key = (id(s.run), s.run.created, s.frame.end)
    for _ in range(500):
        if view.shown is not None and view._key == key:
            break
        threading.Event().wait(0.01)
    assert view._key == key and view.shown is not None
    view.close()
    app.stop()
