"""A whole explorer session without a browser: set parameters, tick the runner, read sources.

The services compute inline (``Services(inline=True)``): a cheap run is whole when its session
starts, a live run evaluates inside ``play``/``step``. What the page shows at a step is what the
timeline's filters keep (rows whose ``step`` is at most the shown one); the browser tests check
that the page really plays them.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest

from core.objectives import OBJECTIVES
from core.result import Measurement
from core.space import Float, Int, SearchSpace
from core.strategies import STRATEGIES
from explorer.app import ExplorerApp
from explorer.controls import interval_ms
from explorer.engine import ColorScale, slice_points
from explorer.model import Session


def make(services, race: bool = False, **cfg) -> ExplorerApp:
    return ExplorerApp(Session(**cfg), services, race=race)


def settle(app: ExplorerApp) -> None:
    """One tick: the (inline, finished) run's frames are published."""
    s = app.session
    app.runner.tick(0.0)
    assert s.run is not None and s.run.done and s.n_steps == s.run.n_frames > 0, s.message


def status(app: ExplorerApp) -> str:
    """The status line the page shows at the session's step."""
    return app.views.status.text()


def evaluations(app: ExplorerApp) -> tuple[int, int]:
    m = re.search(r"evaluations: (\d+)/(\d+)", status(app))
    assert m, status(app)
    return int(m.group(1)), int(m.group(2))


def shown_rows(source, step: int) -> int:
    """Rows of a timeline source the page shows at ``step`` (its "upto" filter)."""
    return sum(1 for k in source.data["step"] if k <= step)


def test_defaults_and_status(services):
    app = make(services)
    settle(app)
    s = app.session
    assert s.objective == "rosenbrock" and s.method == "sparse_grid"
    assert evaluations(app) == (1, 150)
    assert "best f(x)" in status(app)
    assert app.views.landscape.shown_points() == 1
    assert app.views.landscape.truth_image.data["image"][0].shape == (128, 128)
    app.stop()


def test_menus_come_from_core():
    s = Session()
    assert set(s.param.method.objects) == set(STRATEGIES)
    assert {cls.title for cls in STRATEGIES.values()} == set(s.param.method.names)


def test_objective_menu_labels_are_plain_text_not_escaped_twice():
    """The menu puts labels in the page as text nodes: an escaped label would show "&lt;"."""
    from core.objectives import UserObjective
    from core.space import Float, SearchSpace

    obj = UserObjective(lambda c: c["x"] ** 2, SearchSpace({"x": Float(0, 1)}),
                        name="mine", title="Loss <b>A&B</b>")
    s = Session()
    s.add_objective(obj)
    assert "Loss <b>A&B</b>" in s.param.objective.names
    assert not any("&lt;" in label or "&amp;" in label for label in s.param.objective.names)


def test_a_known_run_is_sent_once_and_played_by_the_page(services):
    app = make(services, budget=60)
    s, lv, cv = app.session, app.views.landscape, app.views.convergence
    settle(app)
    run = s.run
    assert len(lv.points.data["x"]) == run.n  # every frame's points at once
    changes = []
    lv.points.on_change("data", lambda attr, old, new: changes.append(len(new["x"])))
    steps = lv.points.data["step"]
    for k, f in enumerate(run.frames):
        assert list(steps[f.start : f.end]) == [k] * (f.end - f.start)
        assert shown_rows(cv.run, k) == f.end
    frames = app.views.timeline.frames.data
    assert list(frames["end"]) == [f.end for f in run.frames]
    assert "finished" in frames["status"][-1] and "finished" not in frames["status"][0]
    s.speed = 10
    app.runner.play()  # the page's player runs: nothing more is sent per step
    player = app.controls.history
    assert s.animate and player.direction == 1
    assert app.views.timeline.clock.data["interval"] == [100]  # the page's clock
    assert player.end == run.n_frames - 1
    for _ in range(20):
        app.runner.tick(0.1)
    assert changes == [] and s.step == 0
    player.value = run.n_frames - 1  # the page's player reaches the end and stops
    player.direction = 0
    assert s.step == run.n_frames - 1 and not s.playing and not s.animate
    assert evaluations(app) == (run.n, 60)
    assert "finished" in status(app)
    app.stop()


def test_speed_and_loop_set_the_players_pace(services):
    app = make(services, budget=200)
    settle(app)
    s, player = app.session, app.controls.history
    s.speed = 20
    clock = app.views.timeline.clock  # the page's clock (the player's own timer is parked)
    assert clock.data["interval"] == [interval_ms(20)] == [50]
    s.loop = True
    assert clock.data["loop"] == [1]
    app.runner.play()
    s.step = s.n_steps - 1  # at the end the looping player goes on by itself
    app.runner.tick(0.05)
    assert s.playing and s.animate and player.direction == 1
    app.stop()


def test_page_reports_its_step_and_the_server_seeks(services):
    """While it plays the page reports its step now and then (the player's value_throttled);
    a report is not sent back; a step the server sets reaches the page even when the server's
    last known step was the same (the page may have played on since)."""
    import param

    app = make(services, budget=60)
    settle(app)
    s, r, player, shown = app.session, app.runner, app.controls.history, \
        app.views.timeline.shown
    r.play()
    seq = shown.data["seq"][0]
    with param.edit_constant(player):
        player.value_throttled = 5  # the page's report
    assert s.step == 5 and shown.data["seq"][0] == seq
    r.seek(5)  # the server goes to the step it knows: the page is told all the same
    assert shown.data["step"] == [5] and shown.data["seq"][0] == seq + 1
    r.pause()
    assert player.direction == 0
    app.stop()


def test_step_pause_reset_and_history(services):
    app = make(services, budget=60)
    settle(app)
    s, r = app.session, app.runner
    r.step()
    r.step()
    assert s.step == 2 and not s.playing
    app.controls.history.value = 7  # the history slider
    run = s.run
    assert s.step == 7 and app.views.landscape.shown_points() == run.frames[7].end
    s.step = 3  # rewind: the page shows the prefix only
    assert app.controls.history.value == 3
    assert app.views.landscape.shown_points() == run.frames[3].end
    assert shown_rows(app.views.convergence.run, 3) == run.frames[3].end
    r.reset()
    assert s.step == 0 and app.views.landscape.shown_points() == 1
    app.stop()


def test_markers_newest_best_refined(services):
    app = make(services, budget=40)
    settle(app)
    s, lv = app.session, app.views.landscape
    app.runner.seek(5)
    frame, run = run_frame(s, 5)
    nx, _ = lv.marker_points("newest")
    np.testing.assert_allclose(nx, run.U[frame.start : frame.end, 0])
    assert lv.marker_points("best")[0] == [run.U[frame.best, 0]]
    assert lv.marker_points("refined")[0] == [run.U[frame.refinement.refined, 0]]
    html = app.views.inspector.div.text
    assert "(r + 1)<sup>1−γ</sup>" in html and "◀ refined" in html
    assert f"<td>{frame.refinement.refined}</td>" in html
    app.stop()


def run_frame(s: Session, k: int):
    return s.run.frames[k], s.run


def test_levels_come_from_the_generator(services):
    app = make(services, budget=60)
    settle(app)
    run = app.session.run
    gen = run.strategy.generator
    n = gen.n_points
    assert run.levels_known == n
    np.testing.assert_array_equal(run.levels[:n], gen.levels)
    np.testing.assert_array_equal(run.level_sum[:n], gen.level_sums)
    assert len(run.batches) == run.n_frames  # the run as core recorded it
    app.stop()


def test_gamma_change_restarts_with_new_grid(services):
    app = make(services, budget=80, gamma=1.0)
    settle(app)
    U1 = app.session.run.U[: app.session.run.n].copy()
    app.session.gamma = 0.0
    settle(app)
    run = app.session.run
    assert run.key.option("gamma") == 0.0
    assert app.session.step == 0
    U0 = run.U[: run.n]
    assert U0.shape != U1.shape or not np.array_equal(U0, U1)
    app.stop()


def test_surrogate_view_and_error_toggle(services):
    app = make(services, budget=40)
    settle(app)
    s, lv = app.session, app.views.landscape
    last = s.run.n_frames - 1
    app.runner.seek(last)  # the inline worker computes the image asked for
    assert ((0, 1), last) in s.run.slices
    raw = s.run.slices[((0, 1), last)]
    assert s.surface is raw  # this step's surrogate, not an older one
    model = lv.model_image.data["image"][0]
    np.testing.assert_array_equal(model, s.scale(raw, below=s.best_observed()))
    s.show_error = True
    err = lv.error_image.data["image"][0]
    assert err.shape == (128, 128) and lv.error_renderer.visible
    assert not lv.model_renderer.visible
    assert "truth −" in lv.model.title.text
    assert lv.truth_renderer.glyph.color_mapper is lv.model_renderer.glyph.color_mapper
    t = OBJECTIVES["rosenbrock"].evaluate_unit(
        slice_points(2, (0, 1), np.full(2, 0.5), 128)).reshape(128, 128)
    sc = s.scale
    escale = ColorScale(0.0, sc.high - sc.low, sc.log, delta=sc.delta)
    expected = escale(np.abs(t - raw))
    expected[raw < s.best_observed()] = 0
    np.testing.assert_allclose(err, expected, atol=1)
    app.stop()


def test_surrogate_below_best_seen_is_marked(services):
    """Honest colour: surrogate values below the lowest observed value get index 0."""
    app = make(services, budget=60, gamma=0.0)
    settle(app)
    s = app.session
    last = s.run.n_frames - 1
    app.runner.seek(last)
    Z = s.surface
    assert Z is not None
    img = app.views.landscape.model_image.data["image"][0]
    below = Z < s.best_observed()
    assert ((img == 0) == below).all()
    assert (app.views.landscape.truth_image.data["image"][0] > 0).all()  # truth never marked
    app.stop()


def test_log_colour_toggle_changes_images(services):
    app = make(services, budget=20)
    settle(app)
    s, lv = app.session, app.views.landscape
    assert s.log_color  # chosen for Rosenbrock: a few huge values
    logged = lv.truth_image.data["image"][0].copy()
    s.log_color = False
    linear = lv.truth_image.data["image"][0]
    f = OBJECTIVES["rosenbrock"].evaluate_unit(slice_points(2, (0, 1), np.full(2, 0.5), 128))
    f = f.reshape(128, 128)
    expected = 1 + np.rint(254 * (f - f.min()) / (f.max() - f.min()))
    assert linear.dtype == np.uint8
    assert np.abs(linear.astype(int) - expected).max() <= 1
    assert np.median(logged) > np.median(linear) + 50  # log spreads the low values
    app.stop()


def test_other_methods_show_no_model_and_order_colours(services):
    app = make(services, method="random", budget=30)
    settle(app)
    lv = app.views.landscape
    assert "no model of the landscape" in lv.message.text
    assert app.controls.gamma.disabled and "not used by Random search" in app.controls.gamma.name
    app.session.method = "bayesian"
    settle(app)
    app.runner.seek(app.session.run.n_frames - 1)
    assert len(lv.model_image.data["image"]) == 1  # the posterior of that step
    assert lv.model.title.text.startswith("GP posterior mean")
    app.stop()


def test_three_dimensions_select_axes(services):
    app = make(services, objective="rosenbrock_3d", budget=60)
    settle(app)
    s, lv = app.session, app.views.landscape
    assert s.param.x_dim.objects == ["x1", "x2", "x3"]
    app.runner.seek(s.run.n_frames - 1)
    s.y_dim = "x3"
    assert s.dims == (0, 2)
    np.testing.assert_allclose(lv.points.data["y"], s.run.U[: s.run.n, 2])
    assert lv.shown_points() == s.run.n
    fixed = s.run.fixed_point(s.step)
    U = slice_points(3, (0, 2), fixed, 128)
    expected = s.scale(OBJECTIVES["rosenbrock"].function.objective(3).evaluate_unit(U))
    np.testing.assert_allclose(lv.truth_image.data["image"][0].ravel(), expected, atol=1)
    s.x_dim = "x3"  # same as y: the other axis moves on, never a crash
    assert s.dims[0] != s.dims[1]
    app.stop()


def test_too_small_budget_is_a_message(services):
    app = make(services, budget=10, initial_level=4)
    app.runner.tick(0.1)
    assert "Budget 10 is too small" in app.session.message
    assert "evaluations: 0/10" in app.views.status.div.text  # no frames: the server's text
    assert "Budget 10 is too small" in app.views.status.message.text
    app.session.initial_level = 1
    settle(app)
    assert app.session.message == ""
    app.stop()


def test_race_and_results_table(services):
    app = make(services, race=True, budget=25)
    settle(app)
    s = app.session
    others = [m for m in STRATEGIES if m != "sparse_grid"]
    app.runner.tick(0.0)  # the first look submits (inline: computes), the next one reads
    assert set(s.race) >= set(others)
    for method in others:
        src = app.views.convergence.race[method]
        assert len(src.data["x"]) == 25, method
        assert np.all(np.diff(src.data["y"]) <= 0)
    html = app.views.results.div.text
    for cls in STRATEGIES.values():
        assert cls.title in html
    assert "x1=" in html and "25/25" in html
    assert app.views.strip.ready
    app.runner.seek(s.run.n_frames - 1)
    for g, n in app.views.strip.shown(s.frame.end).items():
        assert 0 < n <= 25, g
    app.stop()


_ALL_COMBOS = list(itertools.product(
    ["rosenbrock", "eggholder", "sin8x_sin7y"],
    list(STRATEGIES),
    ["none", "nelder_mead", "newton"],
    [1, 5],
    [1, 3],
    [10, 27],
    [0.0, 1.0],
))
# Every option value appears (a deterministic stride through the product), plus every sparse-grid
# option with the smallest budgets, where a combination is most likely to be invalid.
_COMBOS = sorted(set(_ALL_COMBOS[::37]) | {
    ("rosenbrock", "sparse_grid", opt, deg, lvl, 10, 1.0)
    for opt in ("none", "nelder_mead") for deg in (1, 5) for lvl in (1, 3)
})


@pytest.mark.slow  # dozens of whole runs; `make test` runs it, `make test-fast` does not
@pytest.mark.parametrize("objective,method,optimizer,degree,initial_level,budget,gamma", _COMBOS)
def test_no_combination_raises(
    services, objective, method, optimizer, degree, initial_level, budget, gamma
):
    app = make(services, objective=objective, method=method, optimizer=optimizer,
               degree=degree, initial_level=initial_level, budget=budget, gamma=gamma)
    s = app.session
    app.runner.tick(0.05)
    app.runner.play()
    for _ in range(5):
        app.runner.tick(0.2)
    assert "Error" not in s.message, s.message
    assert s.run is not None or "too small" in s.message
    if s.run is not None:
        assert s.run.error is None, s.run.error
        n, b = evaluations(app)
        assert 0 < n <= b == budget
    app.stop()


class _FakeTraining:
    """A picklable stand-in for a neural-network objective (instant, with curves)."""

    name = "fake_training"
    title = "Fake training"
    kind = "neural_network"
    metric = "validation MSE"
    f_opt = None
    x_opt = None

    def __init__(self) -> None:
        self.space = SearchSpace({"epochs": Int(1, 20), "lr": Float(1e-4, 1.0, log=True)})

    def __call__(self, config: dict[str, Any]) -> Measurement:
        v = (np.log10(config["lr"]) + 2) ** 2 + 1.0 / config["epochs"]
        curve = [v * (1 + 1 / (k + 1)) for k in range(config["epochs"])]
        return Measurement(v, {"loss_curve": curve, "val_curve": curve, "accuracy": 0.5})


def fake_session(**cfg) -> Session:
    s = Session()
    s.add_objective(_FakeTraining())
    s.param.update(**cfg)
    return s


def test_live_training_runs_only_while_playing(services):
    app = ExplorerApp(fake_session(budget=21), services, race=False)
    s, r = app.session, app.runner
    assert s.objective == "fake_training"
    r.tick(0.1)
    assert s.run.n_frames == 0  # nothing trains before Play
    assert "press Play" in app.views.status.div.text
    r.step()  # one batch: the first part of the initial grid
    r.tick(0.05)
    assert s.run.n_frames == 1 and s.step == 0
    assert "paused: press Play" in status(app)
    r.play()  # inline: every batch is evaluated here
    assert s.run.done and not s.animate  # a live run is followed by the server, not played
    r.tick(0.05)
    assert s.step == s.run.n_frames - 1 and not s.playing
    assert evaluations(app) == (21, 21)
    # one training per frame (a serial executor): levels are the generator's, refinements too
    run = s.run
    gen = run.strategy.generator
    assert run.n_frames == 21
    np.testing.assert_array_equal(run.levels[: gen.n_points], gen.levels)
    np.testing.assert_array_equal(run.indices[: gen.n_points], gen.indices)
    selections = []  # one per refinement, shared by the frames of its batch
    for f in run.frames:
        if f.refinement is not None and (not selections or f.refinement is not selections[-1]):
            selections.append(f.refinement)
    assert [sel.refined for sel in selections] == [
        h.refined for h in gen.history
    ]
    assert len(app.views.learning.train.data["y"]) > 0
    assert app.views.landscape.truth.title.text.startswith("Observed values")
    r.reset()  # a live reset starts over, paused
    r.tick(0.05)
    assert s.run.n_frames == 0 and not s.playing
    app.stop()
    assert not r.worker or r.worker.stop_event.is_set()


def test_user_callable_objective(services):
    """Any callable with a SearchSpace: no truth, observed values, runs live."""
    space = SearchSpace({"a": Float(-2.0, 2.0), "b": Float(-2.0, 2.0)})
    s = Session(budget=20)
    name = s.add_objective(lambda c: (c["a"] - 0.5) ** 2 + c["b"] ** 2, space)
    app = ExplorerApp(s, services, race=False)
    app.runner.play()
    assert s.run.done
    app.runner.tick(0.05)
    assert s.objective == name and s.truth is None and s.scale is not None
    assert s.run.n == s.run.frames[-1].end > 0
    assert "Observed values" in app.views.landscape.truth.title.text
    app.stop()


def test_close_stops_the_work():
    from explorer_testing import inline_submit

    from explorer.services import Services

    services = Services(submit=inline_submit)  # a worker thread, as in a server
    try:
        app = make(services, method="bayesian", budget=200)
        worker = app.runner.worker
        app.stop()
        assert worker.stop_event.is_set()
        worker.join(60)
        assert not worker.alive
    finally:
        services.close()


def test_the_players_end_pauses_a_finished_run_and_waits_for_a_growing_one(services,
                                                                            monkeypatch):
    """The page's player stops at the last frame it has. A finished run then pauses; a run
    still computing keeps playing, and the page's player starts again once more frames are
    published."""
    from explorer.engine.record import RunRecord

    app = make(services, budget=60)
    s, r, player = app.session, app.runner, app.controls.history
    full = s.run.n_frames
    known = {"frames": 3}
    monkeypatch.setattr(RunRecord, "n_frames", property(lambda rec: known["frames"]))
    monkeypatch.setattr(RunRecord, "done", property(lambda rec: known["frames"] == full,
                                                    lambda rec, v: None), raising=False)
    r.tick(0.0)
    assert s.n_steps == 3
    r.play()
    assert s.animate and player.direction == 1
    player.value, player.direction = 2, 0  # the page's player at its end
    assert s.playing and not s.animate
    r.tick(0.0)  # nothing new: still waiting
    assert s.playing and not s.animate
    known["frames"] = full
    r.tick(0.0)  # the rest of the run: the page plays on
    assert s.n_steps == full and s.animate and player.direction == 1 and player.end == full - 1
    player.value, player.direction = full - 1, 0
    assert not s.playing and not s.animate
    assert s.message == "", r.last_traceback
    app.stop()


def test_finished_trainings_join_the_race(services):
    app = ExplorerApp(fake_session(budget=12, method="random"), services, race=False)
    s, r = app.session, app.runner
    r.play()
    assert s.run.done
    r.tick(0.05)
    best_random = s.run.frames[-1].best_value
    s.method = "sparse_grid"  # the random-search run is now part of the race
    src = app.views.convergence.race["random"]
    assert len(src.data["x"]) == 12
    assert src.data["y"][-1] == pytest.approx(best_random)
    assert "Random search" in app.views.results.div.text
    assert "12/12" in app.views.results.div.text
    app.stop()


def _point_set(U: np.ndarray) -> set:
    return {tuple(r) for r in np.round(U, 12)}


def test_default_gamma_strip_shows_three_different_grids():
    """The γ story: at the default objective, budget and initial level, γ = 0, 0.5 and 1 give
    three grids that differ in at least a tenth of their points, pairwise."""
    from explorer.background import STRIP_GAMMAS
    from explorer.engine import gamma_strip

    s = Session()
    grids = gamma_strip(s.objective_obj, s.budget, s.strategy_options("sparse_grid"),
                        STRIP_GAMMAS)
    assert STRIP_GAMMAS == (0.0, 0.5, 1.0)
    sets = [_point_set(grids[g][0]) for g in STRIP_GAMMAS]
    for a, b in itertools.combinations(range(3), 2):
        n = max(len(sets[a]), len(sets[b]))
        assert len(sets[a] ^ sets[b]) >= 0.1 * n, (STRIP_GAMMAS[a], STRIP_GAMMAS[b])


def test_help_texts_are_one_sentence():
    s = Session()
    for name in ("gamma", "budget", "initial_level"):
        doc = s.param[name].doc.strip()
        assert doc.endswith(".") and doc.count(". ") == 0, doc


def test_adaptive_random_search_takes_gamma(services):
    app = make(services, method="adaptive_random", budget=40, gamma=0.2)
    settle(app)
    assert app.session.run.key.option("gamma") == 0.2
    assert app.session.run.strategy.gamma == 0.2
    assert not app.controls.gamma.disabled
    assert app.controls.degree.disabled and "not used by" in app.controls.degree.name
    app.stop()


def test_axis_selectors_never_show_the_same_dimension(services):
    app = make(services, objective="rosenbrock_3d", budget=30)
    settle(app)
    s = app.session
    s.x_dim = "x2"  # y was x2: it takes x's old value
    assert (s.x_dim, s.y_dim) == ("x2", "x1") and s.dims == (1, 0)
    app.stop()


def test_finished_says_why_it_stopped_short(services):
    app = make(services, budget=100)
    settle(app)
    app.runner.seek(app.session.run.n_frames - 1)
    text = status(app)
    assert "finished" in text and "3 of 100 evaluations unused" in text
    app.stop()


def test_surrogate_prediction_beside_the_true_value(services):
    app = make(services, budget=40, optimizer="nelder_mead")
    settle(app)
    run = app.session.run
    app.runner.seek(run.n_frames - 1)
    rows = np.flatnonzero(run.role[: run.n] == 2)
    assert len(rows) and np.isfinite(run.predicted[rows]).all()
    text = status(app)
    assert "surrogate predicted" in text and "true f(x) =" in text
    app.stop()


def test_presentation_mode_enlarges_the_texts(services):
    app = make(services)
    settle(app)
    normal = app.views.timeline.frames.data["status"][0]
    app.session.present = True
    from explorer.views import FONTS

    assert app.views.landscape.truth.title.text_font_size == FONTS[True][0]
    assert "18px" in app.views.timeline.frames.data["status"][0] != normal
    app.stop()


def test_optimizer_path_is_drawn_when_recorded(services):
    """A checked candidate whose origin carries its optimizer's path (unit cube) is drawn as a
    line on both landscapes at the step that checks it."""
    app = make(services, budget=30, optimizer="nelder_mead", seed=3)
    settle(app)
    run = app.session.run
    k = next(i for i, f in enumerate(run.frames) if f.role == 2)
    f = run.frames[k]
    origins = [ev.origin for ev in run.batches[k].evaluations]
    assert all(o.path is not None and len(o.path) for o in origins)
    src = app.views.landscape.paths.data  # the page shows the paths of the shown step
    rows = [i for i, st in enumerate(src["step"]) if st == k]
    assert len(rows) == f.end - f.start
    np.testing.assert_allclose(src["xs"][rows[0]], origins[0].path[:, 0])
    np.testing.assert_allclose(origins[0].path[-1], run.U[f.start])
    assert all(st >= k for st in src["step"])  # no path before the first check
    app.stop()


def test_zoom_variant_shows_its_trust_region_steps(services):
    app = make(services, budget=150)
    s = app.session
    s.variant, s.optimizer = "zoom", "nelder_mead"
    settle(app)
    run = s.run
    assert run.stop_reason == "budget" and run.n == 150
    labels = [f.label for f in run.frames]
    local = [k for k, text in enumerate(labels) if text.startswith("trust-region model predicted")]
    assert local, labels[-5:]
    app.runner.seek(local[0])
    assert "trust-region model predicted" in status(app)
    app.stop()


def test_a_new_objective_with_other_names_keeps_two_valid_axes(services):
    """A new objective's names replace the axis menus and the axes, in the session and in the
    widgets (the browser's half of this, menus falling back to their first name, is
    ``test_objective_menu_to_other_parameter_names``)."""
    app = make(services, objective="rosenbrock")
    s = app.session
    settle(app)
    s.add_objective(lambda c: (c["lr"] - 0.3) ** 2 + c["width"] ** 2,
                    SearchSpace({"lr": Float(0.0, 1.0), "width": Float(-1.0, 1.0)}))
    app.runner.tick(0.0)
    assert (s.x_dim, s.y_dim) == ("lr", "width")
    assert app.controls.x_dim.value == "lr" and app.controls.y_dim.value == "width"
    assert "accept" not in s.message and "rror" not in s.message, s.message
    app.stop()
