"""Lesson mode without a browser: scenes, their computed captions, the lesson bar."""

from __future__ import annotations

import html
import re
import threading

import numpy as np
import pytest

from explorer.app import ExplorerApp
from explorer.engine import RunRecord, make_strategy_for, record_run
from explorer.lesson import (
    HIDEABLE,
    NEAR_BEST,
    SCENES,
    caption,
    distinct_values,
    grid_points_per_axis,
    near_best_count,
    scene_keys,
    scene_settings,
)
from explorer.model import CONTROLS, Session


def computed_run(session: Session) -> RunRecord:
    """The run the session's controls describe, computed here to its end."""
    key = session.run_key()
    run = RunRecord(key, session.objective_obj, True)
    record_run(run, make_strategy_for(key, run.d), threading.Event())
    return run


def scene_run(key: str) -> RunRecord:
    s = Session()
    s.scene = key
    return computed_run(s)


def test_scenes_follow_the_story_and_set_valid_controls():
    assert scene_keys() == ["grid_random", "sparse_grid", "gamma", "surrogate", "race",
                            "neural_network", "adaptive_random"]
    defaults = {k: Session.param[k].default for k in CONTROLS}
    for scene in SCENES:
        s = Session()
        s.scene = scene.key
        settings = scene_settings(scene.key, defaults)
        for name, value in settings.items():
            assert getattr(s, name) == value, (scene.key, name)
        assert not s.budget_problem(), scene.key
        assert set(scene.needs) <= set(HIDEABLE), scene.key
        make_strategy_for(s.run_key(), s.objective_obj.space.dim)  # a valid run


def test_a_scene_resets_what_it_does_not_set():
    s = Session(gamma=0.3, seed=7, optimizer="newton")
    s.scene = "sparse_grid"
    assert (s.gamma, s.seed, s.optimizer) == (Session.param.gamma.default, 0, "none")


def test_near_best_count_counts_within_the_radius():
    U = np.array([[0.5, 0.5], [0.55, 0.5], [0.5, 0.62], [0.9, 0.9], [0.5, 0.45]])
    y = np.array([1.0, 2.0, 3.0, 0.0, np.nan])
    # the best point is (0.9, 0.9): only itself within 0.1
    assert near_best_count(U, y, 0.1) == (1, 5)
    y2 = np.array([0.0, 2.0, 3.0, 4.0, np.nan])
    assert near_best_count(U, y2, 0.1) == (3, 5)  # itself, (0.55, .5), (.5, .45)
    assert near_best_count(U, np.full(5, np.nan)) == (0, 5)


def test_grid_points_per_axis_and_distinct_values():
    assert grid_points_per_axis(49, 2) == 7
    assert grid_points_per_axis(50, 2) == 7
    assert grid_points_per_axis(64, 3) == 4
    assert distinct_values(np.array([[0.1, 0.2], [0.1, 0.3]])) == [1, 2]


def test_gamma_caption_cites_the_runs_count():
    run = scene_run("gamma")
    n = run.n
    best = int(np.nanargmin(run.y[:n]))
    d = np.linalg.norm(run.U[:n] - run.U[best], axis=1)
    k = int(np.sum(d <= NEAR_BEST))
    text = caption("gamma", run)
    assert f"γ = 0 spends {k} of {n} points within {NEAR_BEST:g}" in text
    strip = {0.0: (run.U[:n], run.y[:n], run.level_sum[:n]),
             1.0: (run.U[:3], run.y[:3], run.level_sum[:3])}
    k1, _ = near_best_count(run.U[:3], run.y[:3])
    assert f"γ = 1: {k1} of 3" in caption("gamma", run, strip=strip)


def test_grid_vs_random_caption_counts_distinct_values():
    run = scene_run("grid_random")
    text = caption("grid_random", run)
    counts = distinct_values(run.U[: run.n])
    assert f"random search tried {counts[0]} values of x1 and {counts[1]} values of x2" in text
    assert f"tries only {grid_points_per_axis(run.budget, 2)} values" in text


def test_sparse_grid_caption_counts_refinements():
    run = scene_run("sparse_grid")
    refinements = len({f.refinement.step for f in run.frames if f.refinement is not None})
    text = caption("sparse_grid", run)
    assert f"made {refinements} refinements with {run.n} points" in text
    assert f"|l|₁ = {int(run.level_sum[: run.n].max())}" in text


def test_surrogate_caption_reads_the_checked_candidates():
    from explorer.engine import ROLE_CANDIDATE

    run = scene_run("surrogate")
    rows = np.flatnonzero(run.role[: run.n] == ROLE_CANDIDATE)
    assert rows.size
    i = rows[np.argmin(run.y[rows])]
    text = caption("surrogate", run)
    assert f"is {run.y[i]:.4g} in truth" in text
    assert f"predicted {run.predicted[i]:.4g}" in text


def test_race_caption_ranks_the_race():
    from explorer.engine import RaceResult

    run = scene_run("race")
    race = {"random": RaceResult("random", np.arange(1.0, 3.0), np.array([5.0, 4.0]), None, 4.0,
                                 2, 0.1),
            "grid": "budget too small"}
    text = caption("race", run, race)
    assert "Random search 4" in text
    assert "Sparse grid (slides) (shown)" in text  # the shown run: the thesis' variant
    assert text.index("Sparse grid") < text.index("Random search")  # lowest first
    assert "still computing" in caption("race", run, {})


def test_adaptive_random_caption_counts_neighbourhood_draws():
    from explorer.engine.worker import animation_batch

    s = Session()
    s.scene = "adaptive_random"
    key = s.run_key()
    run = RunRecord(key, s.objective_obj)  # as the page replays it: one point per frame
    record_run(run, make_strategy_for(key, run.d), threading.Event(),
               max_batch=animation_batch(key.method, key.budget, live=False))
    kinds = [ev.origin.kind for b in run.batches for ev in b.evaluations]
    parents = {ev.origin.parent for b in run.batches for ev in b.evaluations
               if ev.origin.kind == "neighbourhood"}
    n_sel = len({ev.origin.refinement for b in run.batches for ev in b.evaluations
                 if ev.origin.kind == "neighbourhood"})
    assert run.n_frames == run.n and n_sel >= len(parents)
    text = caption("adaptive_random", run)
    assert f"drew {kinds.count('neighbourhood')} of its {run.n} points around {n_sel} " \
           "selected points" in text


def test_neural_network_caption_before_and_after_trainings():
    s = Session()
    s.scene = "neural_network"
    empty = RunRecord(s.run_key(), s.objective_obj, True)
    assert "No training has finished yet" in caption("neural_network", empty)


def test_every_scene_has_a_caption_without_a_run():
    for key in scene_keys():
        assert caption(key, None)


# -- the lesson bar, headless --------------------------------------------------------------------
def test_lesson_bar_next_back_and_keys(services):
    app = ExplorerApp(Session(), services, race=False)
    lesson, s = app.lesson, app.session
    assert "Lesson mode" in lesson.title.text and "Start" in lesson.caption.text
    seen = []
    for _ in SCENES:
        lesson.go_next()
        seen.append(s.scene)
        app.runner.tick(0.0)
        title = html.escape(next(sc.title for sc in SCENES if sc.key == s.scene))
        assert title in lesson.title.text
        assert lesson.caption.text == html.escape(lesson.caption_text())
    assert seen == scene_keys()
    lesson.go_next()
    assert s.scene == seen[-1] and lesson.next.disabled
    lesson.command("back")
    assert s.scene == seen[-2]
    lesson.keys.data = {"command": ["back"], "n": [1]}  # what the page's key listener writes
    assert s.scene == seen[-3]
    app.stop()


def test_caption_numbers_follow_the_shown_run(services):
    app = ExplorerApp(Session(), services, race=False)
    app.session.scene = "gamma"
    app.runner.tick(0.0)
    run = app.session.run
    k, n = near_best_count(run.U[: run.n], run.y[: run.n])
    assert re.search(rf"spends {k} of {n} points", app.lesson.caption.text)
    app.stop()


def test_minimal_controls_hide_what_the_scene_does_not_need(services):
    app = ExplorerApp(Session(), services, race=False)
    app.sidebar()
    s, c = app.session, app.controls
    s.param.update(scene="gamma", controls="minimal")
    needs = set(next(sc for sc in SCENES if sc.key == "gamma").needs)
    for name in HIDEABLE:
        widget = c.wrapped.get(name, getattr(c, name))
        assert widget.visible == (name in needs), name
    s.controls = "all"
    assert all(getattr(c, name).visible for name in HIDEABLE)
    app.stop()


def test_the_url_scene_comes_before_the_links_own_values():
    from explorer.app import URL_PARAMETERS

    assert URL_PARAMETERS["scene"] == "scene" and URL_PARAMETERS["controls"] == "controls"


@pytest.mark.parametrize("key", ["grid_random", "gamma", "surrogate", "race", "adaptive_random"])
def test_captions_escape_in_the_page(services, key):
    app = ExplorerApp(Session(), services, race=False)
    app.session.scene = key
    app.runner.tick(0.0)
    text = app.lesson.caption.text
    assert "<" not in text.replace("&lt;", "")
    app.stop()
