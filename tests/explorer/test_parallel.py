"""The parallel-coordinates view without a browser: positions, brushing, sources, text."""

from __future__ import annotations

import numpy as np
import pytest

from core.space import Categorical, Float, Int, SearchSpace
from explorer.views.parallel import ParallelView, axis_positions, brush_mask


@pytest.fixture
def space():
    return SearchSpace({
        "lr": Float(1e-4, 1e-1, log=True),
        "layers": Int(1, 4),
        "act": Categorical(["relu", "tanh", "gelu"]),
        "x": Float(-1.0, 1.0),
    })


def _run(space, n=60, seed=0):
    rng = np.random.default_rng(seed)
    U = rng.random((n, space.dim))
    y = np.exp(rng.normal(size=n))
    y[[3, 17]] = np.nan  # two failed evaluations
    return U, y


def test_axis_positions_snap_integers_and_choices_to_their_tick(space):
    U = np.array([[0.0, 0.0, 0.0, 0.25], [1.0, 0.99, 0.5, 1.0], [0.5, 0.3, 0.9, 0.0]])
    Y = axis_positions(space, U)
    # floats (log or not) stay where they are: their axis is the unit interval
    np.testing.assert_allclose(Y[:, [0, 3]], U[:, [0, 3]], atol=1e-12)
    # 4 integer values, 3 choices: bin centres
    np.testing.assert_allclose(Y[:, 1], [0.125, 0.875, 0.375])
    np.testing.assert_allclose(Y[:, 2], [1 / 6, 0.5, 5 / 6])


def test_brush_mask_matches_a_row_by_row_oracle():
    rng = np.random.default_rng(1)
    Y = rng.random((200, 5))
    Y[rng.random((200, 5)) < 0.05] = np.nan
    brushes = {0: (0.2, 0.7), 3: (0.1, 0.5)}
    expected = [
        all(not np.isnan(row[k]) and lo <= row[k] <= hi for k, (lo, hi) in brushes.items())
        for row in Y
    ]
    np.testing.assert_array_equal(brush_mask(Y, brushes), expected)
    assert brush_mask(Y, {}).all()


def test_lines_values_colours_and_best(space):
    U, y = _run(space)
    view = ParallelView(space, "loss")
    view.update(U, y)
    assert view.n_total == 60 and view.n_kept == 60
    kept = view.kept.data
    assert len(kept["xs"]) == 60 and not view.muted.data["xs"]
    by_index = dict(zip(kept["index"], zip(kept["xs"], kept["color"], strict=True), strict=True))
    for i in (3, 17):  # failed: no point on the value axis, grey
        xs, color = by_index[i]
        assert xs == [0, 1, 2, 3] and color == "#b8c0c8"
    assert by_index[0][0] == [0, 1, 2, 3, 4]
    best = int(np.nanargmin(y))
    assert view.best.data["ys"] == [kept["ys"][kept["index"].index(best)]]
    # the best value sits at the bottom of the value axis, the worst at the top
    ys_value = {i: ys[-1] for i, ys in zip(kept["index"], kept["ys"], strict=True)
                if len(ys) == 5}
    assert ys_value[best] == pytest.approx(0.0)
    assert ys_value[int(np.nanargmax(y))] == pytest.approx(1.0)


def test_brushing_keeps_exactly_the_lines_inside_every_brush(space):
    U, y = _run(space)
    view = ParallelView(space, "loss")
    view.update(U, y)
    view.set_brushes({"lr": (0.0, 0.5), "x": (0.25, 1.0)})
    inside = [i for i in range(60) if U[i, 0] <= 0.5 and 0.25 <= U[i, 3]]
    assert sorted(view.kept.data["index"]) == inside
    assert view.n_kept == len(inside)
    assert len(view.muted.data["xs"]) == 60 - len(inside)
    assert f"{len(inside)} of 60 evaluations" in view._caption.object
    # what the browser sends: the brush source's data replaced (one row per axis)
    view.brush.data = {"axis": [4], "lo": [0.0], "hi": [0.2], "left": [3.91], "right": [4.09]}
    Y4 = np.array([ys[-1] if len(ys) == 5 else np.nan for ys in view._line_columns(
        np.arange(60))["ys"]])
    assert sorted(view.kept.data["index"]) == [i for i in range(60) if Y4[i] <= 0.2]
    view.clear_brushes()
    assert view.n_kept == 60 and view.brushes == {}


def test_brushes_survive_new_evaluations(space):
    U, y = _run(space, n=80)
    view = ParallelView(space, "loss")
    view.update(U[:40], y[:40])
    view.set_brushes({0: (0.0, 0.5)})
    view.update(U, y)
    assert sorted(view.kept.data["index"]) == [i for i in range(80) if U[i, 0] <= 0.5]


def test_native_ticks_on_each_axis(space):
    view = ParallelView(space, "loss")
    view.update(*_run(space))
    ticks = view.ticks.data
    on = {k: [t for x, t in zip(ticks["x"], ticks["text"], strict=True) if x == k]
          for k in range(5)}
    assert on[0] == ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹"]  # log axis: decades
    assert on[1] == ["1", "2", "3", "4"]
    assert on[2] == ["relu", "tanh", "gelu"]
    assert on[4]  # value axis


def test_text_from_the_space_is_escaped():
    space = SearchSpace({"<b>x</b>": Float(0, 1), "y": Float(0, 1)})
    view = ParallelView(space, "<img src=x onerror=alert(1)>")
    view.update(np.array([[0.5, 0.5]]), np.array([1.0]))
    view.set_brushes({0: (0.0, 1.0)})
    assert "<b>" not in view._caption.object and "&lt;b&gt;" in view._caption.object
    assert "<img" not in view._caption.object


def test_bad_input_is_refused_with_the_rule(space):
    with pytest.raises(TypeError, match="SearchSpace"):
        ParallelView({"x": Float(0, 1)})
    view = ParallelView(space)
    with pytest.raises(ValueError, match="one entry per point"):
        view.update(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="brush axis"):
        view.set_brushes({7: (0, 1)})
