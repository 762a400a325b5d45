"""A whole explorer session without a browser: set parameters, tick the clock, read sources."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
import pytest
from explorer_testing import wait_until

from core.objectives import OBJECTIVES
from core.result import Measurement
from core.space import Float, Int, SearchSpace
from explorer import state as state_module
from explorer.controller import Explorer
from explorer.state import METHODS, ExperimentConfig, Playback, ViewOptions


def make(runs, races=None, **cfg) -> Explorer:
    config = ExperimentConfig(**cfg)
    return Explorer(config, ViewOptions(), Playback(), runs=runs, races=races,
                    race=races is not None)


def settle(ex: Explorer, timeout: float = 20.0) -> None:
    """Tick until the run is computed and its first frame shown."""
    assert wait_until(lambda: ex.data is not None and ex.data.done and ex._shown >= 0, timeout,
                      tick=lambda: ex.tick(0.0)), ex.playback.message


def evaluations(ex: Explorer) -> tuple[int, int]:
    m = re.search(r"evaluations: (\d+)/(\d+)", ex.status.text)
    assert m, ex.status.text
    return int(m.group(1)), int(m.group(2))


def test_defaults_and_status(runs):
    ex = make(runs)
    settle(ex)
    assert ex.config.objective == "rosenbrock" and ex.config.method == "sparse_grid"
    n, b = evaluations(ex)
    assert (n, b) == (1, 100)
    assert "best f(x)" in ex.status.text
    assert len(ex.landscape.points.data["x"]) == 1
    assert ex.landscape.truth_image.data["image"][0].shape == (128, 128)
    ex.close()


def test_play_streams_only_new_points(runs, monkeypatch):
    ex = make(runs, budget=60)
    settle(ex)
    streamed = []
    orig = type(ex.landscape.points).stream

    def spy(self, data, rollover=None):
        if self is ex.landscape.points:
            streamed.append(len(data["x"]))
        return orig(self, data, rollover)

    monkeypatch.setattr(type(ex.landscape.points), "stream", spy)
    ex.options.speed = 10
    ex.play()
    ex.tick(0.1)  # one step at 10 steps/s
    assert ex._shown == 1
    assert streamed == [4]  # the 2d children of one refinement, nothing else
    for _ in range(100):
        ex.tick(0.1)
    n_frames = ex.data.n_frames
    assert ex._shown == n_frames - 1
    assert not ex.playback.playing  # stops at the end
    assert sum(streamed) == ex.data.n - 1
    assert len(ex.landscape.points.data["x"]) == ex.data.n
    assert evaluations(ex) == (ex.data.n, 60)
    assert ex.playback.step == n_frames - 1
    ex.close()


def test_speed_sets_steps_per_second(runs):
    ex = make(runs, budget=200)
    settle(ex)
    ex.options.speed = 20
    ex.play()
    for _ in range(10):
        ex.tick(0.05)  # half a second at 20 steps/s
    assert ex._shown == 10
    ex.close()


def test_step_pause_reset_and_history(runs):
    ex = make(runs, budget=60)
    settle(ex)
    ex.step()
    ex.step()
    assert ex._shown == 2 and not ex.playback.playing
    best_before = ex.convergence.head.data["y"]
    ex.playback.step = 7  # the history slider
    assert ex._shown == 7
    assert len(ex.landscape.points.data["x"]) == ex.data.frames[7].end
    ex.playback.step = 3  # rewind: the sources hold the prefix only
    assert len(ex.landscape.points.data["x"]) == ex.data.frames[3].end
    assert len(ex.convergence.run.data["x"]) == ex.data.frames[3].end
    ex.reset()
    assert ex._shown == 0 and len(ex.landscape.points.data["x"]) == 1
    assert best_before  # the head existed before the reset
    ex.close()


def test_markers_newest_best_refined(runs):
    ex = make(runs, budget=40)
    settle(ex)
    ex.seek(5)
    frame = ex.data.frames[5]
    nx, _ = ex.landscape.marker_points("newest")
    np.testing.assert_allclose(nx, ex.data.U[frame.start : frame.end, 0])
    assert ex.landscape.marker_points("best")[0] == [ex.data.U[frame.best, 0]]
    assert ex.landscape.marker_points("refined")[0] == [ex.data.U[frame.refinement.refined, 0]]
    # the inspector lists the refined point first, with the formula
    html = ex.inspector.text
    assert "(r + 1)<sup>1−γ</sup>" in html and "◀ refined" in html
    assert f"<td>{frame.refinement.refined}</td>" in html
    ex.close()


def test_gamma_change_restarts_with_new_grid(runs):
    ex = make(runs, budget=80, gamma=1.0)
    settle(ex)
    U1 = ex.data.U[: ex.data.n].copy()
    ex.config.gamma = 0.0
    settle(ex)
    assert ex.data.key.gamma == 0.0
    assert ex._shown == 0
    U0 = ex.data.U[: ex.data.n]
    assert U0.shape != U1.shape or not np.array_equal(U0, U1)
    ex.close()


def test_surrogate_view_and_error_toggle(runs):
    ex = make(runs, budget=40)
    settle(ex)
    last = ex.data.n_frames - 1
    ex.seek(last)
    assert wait_until(lambda: ((0, 1), last) in ex.data.slices, 10, tick=lambda: ex.tick(0.0))
    ex.tick(0.0)
    assert "(step" not in ex.landscape.model.title.text  # this step's surrogate, not an older one
    model = ex.landscape.model_image.data["image"][0]
    truth = ex.landscape.truth_image.data["image"][0]
    assert np.isfinite(model).all()
    ex.options.show_error = True
    err = ex.landscape.error_image.data["image"][0]
    assert err.shape == (128, 128) and ex.landscape.error_renderer.visible
    assert not ex.landscape.model_renderer.visible
    assert "truth −" in ex.landscape.model.title.text
    # same colour scale: one mapper, and both images hold the same transform of f
    lv = ex.landscape
    assert lv.truth_renderer.glyph.color_mapper is lv.model_renderer.glyph.color_mapper
    raw = ex.data.slices[((0, 1), ex.data.n_frames - 1)]
    np.testing.assert_array_equal(model, ex._scale(raw))
    assert truth.shape == model.shape
    # the error image is |truth - surrogate| in the error scale
    f = OBJECTIVES["rosenbrock"]
    from explorer.engine import slice_points

    t = f.evaluate_unit(slice_points(2, (0, 1), np.full(2, 0.5), 128)).reshape(128, 128)
    np.testing.assert_allclose(err, ex._error_scale(np.abs(t - raw)), atol=1)
    ex.close()


def test_log_colour_toggle_changes_images(runs):
    ex = make(runs, budget=20)
    settle(ex)
    assert ex.options.log_color  # chosen for Rosenbrock: a few huge values
    logged = ex.landscape.truth_image.data["image"][0].copy()
    ex.options.log_color = False
    linear = ex.landscape.truth_image.data["image"][0]
    from explorer.engine import slice_points

    f = OBJECTIVES["rosenbrock"].evaluate_unit(slice_points(2, (0, 1), np.full(2, 0.5), 128))
    f = f.reshape(128, 128)
    expected = np.rint(255 * (f - f.min()) / (f.max() - f.min()))
    assert linear.dtype == np.uint8
    assert np.abs(linear.astype(int) - expected).max() <= 1
    # the log scale spreads the low values that cover most of the square
    assert np.median(logged) > np.median(linear) + 50
    ex.close()


def test_other_methods_show_no_model_and_order_colours(runs):
    ex = make(runs, method="random", budget=30)
    settle(ex)
    assert "no model of the landscape" in ex.landscape.message.text
    assert ex.landscape.color_by == "order"
    ex.config.method = "bayesian"
    settle(ex, 60)
    ex.seek(ex.data.n_frames - 1)
    assert wait_until(lambda: len(ex.landscape.model_image.data["image"]) == 1, 10,
                      tick=lambda: ex.tick(0.0))
    assert ex.landscape.model.title.text.startswith("GP posterior mean")
    ex.close()


def test_three_dimensions_select_axes(runs):
    ex = make(runs, objective="rosenbrock_3d", budget=60)
    settle(ex)
    assert ex.options.param.x_dim.objects == ["x1", "x2", "x3"]
    ex.seek(ex.data.n_frames - 1)
    ex.options.y_dim = "x3"
    assert ex._dims() == (0, 2)
    np.testing.assert_allclose(ex.landscape.points.data["y"], ex.data.U[: ex.data.n, 2])
    # the truth is the slice through the best point of the shown step
    fixed = ex.data.fixed_point(ex._shown)
    from explorer.engine import slice_points

    U = slice_points(3, (0, 2), fixed, 128)
    expected = ex._scale(OBJECTIVES["rosenbrock"].function.objective(3).evaluate_unit(U))
    np.testing.assert_allclose(ex.landscape.truth_image.data["image"][0].ravel(), expected,
                               rtol=1e-5)
    ex.options.x_dim = "x3"  # same as y: the other axis moves on, never a crash
    assert ex._dims()[0] != ex._dims()[1]
    ex.close()


def test_too_small_budget_is_a_message(runs):
    ex = make(runs, budget=10, initial_level=4)
    ex.tick(0.1)
    assert "Budget 10 is too small" in ex.playback.message
    assert "evaluations: 0/10" in ex.status.text
    ex.config.initial_level = 1
    settle(ex)
    assert ex.playback.message == ""
    ex.close()


def test_race_and_results_table(runs, races):
    ex = make(runs, races, budget=25)
    settle(ex)
    assert wait_until(lambda: len(ex._race_done) == 4, 60, tick=lambda: ex.tick(0.0))
    for method in ("random", "grid", "adaptive_random", "bayesian"):
        src = ex.convergence.race[method]
        assert len(src.data["x"]) == 25, method
        assert np.all(np.diff(src.data["y"]) <= 0)
    html = ex.results.text
    for title in METHODS:
        assert title in html
    assert "x1=" in html and "25/25" in html
    # the strip shows three grids of the same budget, growing with the shown step
    assert wait_until(lambda: ex.strip.ready, 20, tick=lambda: ex.tick(0.0))
    ex.seek(ex.data.n_frames - 1)
    for g, src in ex.strip.sources.items():
        assert 0 < len(src.data["x"]) <= 25, g
    ex.close()


_ALL_COMBOS = list(itertools.product(
    ["rosenbrock", "eggholder", "sin8x_sin7y"],
    list(METHODS.values()),
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


@pytest.mark.parametrize("objective,method,optimizer,degree,initial_level,budget,gamma", _COMBOS)
def test_no_combination_raises(
    runs, objective, method, optimizer, degree, initial_level, budget, gamma
):
    ex = make(runs, objective=objective, method=method, optimizer=optimizer, degree=degree,
              initial_level=initial_level, budget=budget, gamma=gamma)
    wait_until(lambda: ex.data is None or ex.data.done, 30, tick=lambda: ex.tick(0.05))
    ex.play()
    for _ in range(5):
        ex.tick(0.2)
    assert "Error" not in ex.playback.message, ex.playback.message
    assert ex.data is not None or "too small" in ex.playback.message
    if ex.data is not None:
        assert ex.data.error is None, ex.data.error
        n, b = evaluations(ex)
        assert 0 < n <= b == budget
    ex.close()


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


@pytest.fixture
def fake_training(monkeypatch):
    fake = _FakeTraining()
    objectives = {**state_module.explorer_objectives(), fake.name: fake}
    monkeypatch.setattr(state_module, "explorer_objectives", lambda: objectives)
    monkeypatch.setitem(ExperimentConfig.param.objective.names, "Fake", fake.name)
    ExperimentConfig.param.objective.objects.append(fake.name)
    yield fake
    ExperimentConfig.param.objective.objects.remove(fake.name)


def test_live_training_runs_only_while_playing(runs, fake_training):
    from core.executors import SerialExecutor

    config = ExperimentConfig(objective="fake_training", budget=21)
    ex = Explorer(config, ViewOptions(), Playback(), runs=runs, race=False,
                  executor=SerialExecutor())
    import time

    time.sleep(0.3)
    ex.tick(0.1)
    assert ex.data.n_frames == 0  # nothing trains before Play
    assert "press Play" in ex.status.text
    ex.step()  # one batch: the initial grid
    assert wait_until(lambda: ex.data.n_frames == 1, 5, tick=lambda: ex.tick(0.05))
    ex.play()
    assert wait_until(lambda: ex.data.done, 20, tick=lambda: ex.tick(0.05))
    ex.tick(0.05)
    assert evaluations(ex) == (21, 21)
    # one training per frame (a serial executor), the grid's batches arrive in parts: the
    # levels recovered from the coordinates are the generator's, refinements are recorded
    gen = ex.data.strategy.generator
    assert ex.data.n_frames == 21
    np.testing.assert_array_equal(ex.data.levels[: gen.n_points], gen.levels)
    np.testing.assert_array_equal(ex.data.indices[: gen.n_points], gen.indices)
    assert [f.refinement.refined for f in ex.data.frames if f.refinement] == [
        r.refined for r in gen.history
    ]
    assert len(ex.learning.train.data["y"]) > 0  # learning curve of the latest training
    assert "no true landscape" in ex.landscape.truth_message.text.lower()
    ex.reset()  # a live reset starts over, paused
    ex.tick(0.05)
    assert ex.data.n_frames == 0 and not ex.playback.playing
    ex.close()
    assert not ex.worker or ex.worker.stop_event.is_set()


def test_close_stops_the_work(runs):
    ex = make(runs, method="bayesian", budget=200)
    worker = ex.worker
    ex.close()
    assert worker.stop_event.is_set()
    worker.join(10)
    assert not worker.alive


def test_loop_starts_again(runs):
    ex = make(runs, budget=20)
    settle(ex)
    ex.options.loop = True
    ex.options.speed = 60
    ex.play()
    seen = set()
    for _ in range(40):
        ex.tick(0.05)
        seen.add(ex._shown)
    assert ex.playback.playing and 0 in seen and ex.data.n_frames - 1 in seen
    ex.close()


def test_flow_control_waits_for_the_page(runs):
    ex = make(runs, budget=200)
    settle(ex)
    ex.options.speed = 20
    ex.play()
    ex._on_ack("data", {}, {"frame": [ex.frames_sent]})  # the page has painted everything so far
    sent = ex.frames_sent
    for _ in range(10):
        ex.tick(0.05)
    # no acknowledgement arrives: at most MAX_FRAMES_IN_FLIGHT more frames are sent ...
    from explorer.controller import MAX_FRAMES_IN_FLIGHT

    assert ex.frames_sent == sent + MAX_FRAMES_IN_FLIGHT + 1
    shown = ex._shown
    ex._on_ack("data", {}, {"frame": [ex.frames_sent]})
    ex.tick(0.05)
    # ... and the steps kept accumulating: the next frame catches up in one jump
    assert ex._shown >= shown + 8
    # a page that stops answering for a second is not waited for
    ex._on_ack("data", {}, {"frame": [0]})
    ex._acked_at -= 2.0
    before = ex.frames_sent
    ex.tick(0.05)
    assert ex.frames_sent == before + 1
    ex.close()


def test_finished_trainings_join_the_race(runs, fake_training):
    from core.executors import SerialExecutor

    config = ExperimentConfig(objective="fake_training", budget=12, method="random")
    ex = Explorer(config, ViewOptions(), Playback(), runs=runs, race=False,
                  executor=SerialExecutor())
    ex.play()
    assert wait_until(lambda: ex.data.done, 20, tick=lambda: ex.tick(0.05))
    ex.tick(0.05)
    best_random = ex.data.frames[-1].best_value
    config.method = "sparse_grid"  # the random-search run is now part of the race
    src = ex.convergence.race["random"]
    assert len(src.data["x"]) == 12
    assert src.data["y"][-1] == pytest.approx(best_random)
    assert "Random search" in ex.results.text and "12/12" in ex.results.text
    ex.close()
