"""The run engine: records, slices, races and strips against direct computations (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from core.grid import NovakRitter
from core.objectives import OBJECTIVES
from core.space import Categorical, Float, Int, SearchSpace
from core.surrogate import fit_surrogate
from explorer.engine import (
    ROLE_CANDIDATE,
    ROLE_GRID,
    RaceService,
    RunKey,
    RunRecord,
    RunWorker,
    axis_spec,
    best_prefix,
    gamma_strip,
    native_coordinates,
    race_result,
    slice_points,
    truth_slice,
)


def key(objective="rosenbrock", method="sparse_grid", budget=60, seed=0, **kw):
    from core.strategies import strategy_options

    base = dict(gamma=0.85, optimizer="none", degree=3, initial_level=1) | kw
    valid = strategy_options(method)
    opts = tuple(sorted((k, v) for k, v in base.items() if k in valid))
    return RunKey(objective, method, budget, seed, opts)


def has_model(k):
    from core.strategies import STRATEGIES

    return STRATEGIES[k.method].has_model


def run_to_end(k, objective=None, *, slices=True):
    """The whole run, computed inline, with the model image of every step if ``slices``."""
    objective = objective or OBJECTIVES[k.objective]
    data = RunRecord(k, objective, has_model(k))
    worker = RunWorker(data, inline=True).start()
    assert data.done
    if slices:
        for step in range(data.n_frames):
            worker.want((0, 1), step)
        assert len(data.slices) + len(data.slice_errors) >= data.n_frames
    return data


def test_sparse_grid_run_matches_novak_ritter():
    k = key(budget=50, gamma=0.5)
    data = run_to_end(k, slices=False)
    gen = NovakRitter(2, 50, gamma=0.5, initial_level=1)
    f = OBJECTIVES["rosenbrock"]
    while len(U := gen.ask()):
        gen.tell(U, f.evaluate_unit(U))
    n = data.n
    assert n == gen.n_points == 49  # 1 + 4k <= 50: a refinement adds 2d points
    np.testing.assert_array_equal(data.U[:n], gen.points)
    np.testing.assert_allclose(data.y[:n], gen.values)
    np.testing.assert_array_equal(data.levels[:n], gen.levels)
    assert (data.role[:n] == ROLE_GRID).all()
    # one frame per refinement, contiguous, each with the generator's record
    assert [f.start for f in data.frames] == [0] + [1 + 4 * j for j in range(12)]
    assert all(a.end == b.start for a, b in zip(data.frames, data.frames[1:], strict=False))
    refined = [f.refinement.refined for f in data.frames[1:]]
    assert refined == [r.refined for r in gen.history]
    assert data.frames[0].label == "initial grid"


def test_best_so_far_and_frame_best_agree():
    data = run_to_end(key(method="random", budget=40), slices=False)
    y = data.y[: data.n]
    np.testing.assert_allclose(data.best_so_far[: data.n], np.minimum.accumulate(y))
    for f in data.frames:
        assert f.best_value == pytest.approx(y[: f.end].min())
        assert y[f.best] == f.best_value


def test_best_prefix_skips_nan():
    out = best_prefix(np.array([np.nan, 3.0, np.inf, 1.0, 2.0]))
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [3.0, 3.0, 1.0, 1.0])


def test_candidates_are_marked_and_not_in_the_fit():
    data = run_to_end(key(optimizer="nelder_mead", budget=30))
    roles = data.role[: data.n]
    assert (roles == ROLE_CANDIDATE).sum() >= 1
    assert (roles[: data.frames[-1].n_grid] == ROLE_GRID).all()
    # the surrogate of every step fits exactly that step's grid points
    f = data.frames[-1]
    s = fit_surrogate(data.levels[: f.n_grid], data.indices[: f.n_grid], data.y[: f.n_grid], 3)
    Z = data.slices[((0, 1), len(data.frames) - 1)]
    U = slice_points(2, (0, 1), data.fixed_point(len(data.frames) - 1), Z.shape[0])
    np.testing.assert_allclose(Z.ravel(), s(U), rtol=1e-4, atol=1e-3 * np.abs(s(U)).max())


def test_slices_interpolate_the_grid_values():
    data = run_to_end(key(budget=30, degree=1))
    for step, frame in enumerate(data.frames):
        Z = data.slices[((0, 1), step)]
        s = fit_surrogate(data.levels[: frame.n_grid], data.indices[: frame.n_grid],
                          data.y[: frame.n_grid], degree=1)
        # an independent check of the image layout: Z[j, i] = s(x_i, y_j)
        r = Z.shape[0]
        i, j = 5, r - 7
        u = np.array([[(i + 0.5) / r, (j + 0.5) / r]])
        assert Z[j, i] == pytest.approx(float(s(u)[0]), rel=1e-5, abs=1e-3)


def test_slice_points_image_order():
    U = slice_points(3, (2, 0), np.array([0.1, 0.2, 0.3]), 4)
    assert U.shape == (16, 3)
    img = U.reshape(4, 4, 3)
    np.testing.assert_allclose(img[1, 2], [(1 + 0.5) / 4, 0.2, (2 + 0.5) / 4])


def test_truth_slice_is_the_objective():
    f = OBJECTIVES["himmelblau"]
    Z = truth_slice(f, (0, 1), np.full(2, 0.5), 16)
    U = slice_points(2, (0, 1), np.full(2, 0.5), 16)
    np.testing.assert_allclose(Z.ravel(), f.evaluate_unit(U), rtol=1e-6)
    from core.objectives import TEST_FUNCTIONS

    f3 = TEST_FUNCTIONS["rosenbrock"].objective(3)
    fixed = np.array([0.3, 0.4, 0.9])
    Z = truth_slice(f3, (0, 2), fixed, 8)
    U = slice_points(3, (0, 2), fixed, 8)
    assert np.all(U[:, 1] == 0.4)
    np.testing.assert_allclose(Z.ravel(), f3.evaluate_unit(U), rtol=1e-6)


def test_axis_specs_and_native_coordinates():
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "epochs": Int(1, 20),
                         "act": Categorical(["relu", "tanh", "gelu"])})
    lr, ep, act = (axis_spec(space, n) for n in space.names)
    assert lr.log and lr.lo == 1e-4 and lr.hi == 1e-1
    assert (ep.lo, ep.hi, ep.log) == (0.5, 20.5, False)
    assert act.labels == ("relu", "tanh", "gelu")
    U = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]])
    X = native_coordinates(space, U)
    np.testing.assert_allclose(X[:, 0], [1e-4, 1e-1, 10 ** -2.5])
    np.testing.assert_allclose(X[:, 1], [1, 20, 11])
    np.testing.assert_allclose(X[:, 2], [0, 2, 1])
    # a value sits at the centre of its bin on the drawn axis
    assert ep.to_native(space.to_unit({"lr": 1e-3, "epochs": 7, "act": "relu"})[0, 1]) == (
        pytest.approx(7.0)
    )


def test_live_run_waits_for_permission():
    data = RunRecord(key(method="random", budget=10), OBJECTIVES["rosenbrock"])
    worker = RunWorker(data, live=True, inline=True).start()
    assert data.n_frames == 0  # paused until allowed
    worker.allow(0)
    assert data.n_frames == 0
    worker.allow(1)
    assert data.n_frames == 1
    worker.allow(None)
    assert data.done and data.n == 10


def test_a_threaded_live_run_waits_for_permission():
    evaluated = []

    class Counted:  # the objective counts its calls: no evaluation before the permission
        def __init__(self, objective):
            self.objective, self.space = objective, objective.space
            self.kind, self.name = "user", "counted"

        def __call__(self, config):
            evaluated.append(config)
            return self.objective(config)

    data = RunRecord(key(method="random", budget=10), Counted(OBJECTIVES["rosenbrock"]))
    worker = RunWorker(data, live=True).start()
    try:
        assert not evaluated and data.n_frames == 0
        worker.allow(None)
        worker.join(60)  # the thread ends with the run
        assert data.done and data.n == 10 == len(evaluated)
    finally:
        worker.stop()


def test_stop_ends_a_live_run():
    data = RunRecord(key(method="random", budget=10), OBJECTIVES["rosenbrock"])
    worker = RunWorker(data, live=True).start()
    worker.stop()
    worker.join(5)
    assert not worker.alive and data.done and data.n == 0


def test_race_result_and_service_cache():
    calls = []

    def submit(fn, *args):
        from explorer_testing import inline_submit

        calls.append(args[0])
        return inline_submit(fn, *args)

    svc = RaceService(submit)
    k = key(method="random", budget=25)
    first = svc.get(("race", k), race_result, k, OBJECTIVES["rosenbrock"])
    assert first is None  # submitted; the result is read on the next poll
    res = svc.get(("race", k), race_result, k, OBJECTIVES["rosenbrock"])
    assert res.nfev == 25 and len(res.best) == 25
    assert np.all(np.diff(res.best) <= 0)
    assert res.best_value == pytest.approx(res.best[-1])
    assert svc.get(("race", k), race_result, k, OBJECTIVES["rosenbrock"]) is res
    assert len(calls) == 1


def test_race_service_reports_failures():
    def boom(*args):
        raise ValueError("no")

    from explorer_testing import inline_submit

    svc = RaceService(inline_submit)
    assert svc.get("k", boom) is None
    err = svc.get("k", boom)
    assert isinstance(err, ValueError)


def test_gamma_strip_extremes():
    f = OBJECTIVES["rosenbrock"]
    strips = gamma_strip(f, 41, {"initial_level": 1}, (0.0, 1.0))
    for g in (0.0, 1.0):
        gen = NovakRitter(2, 41, gamma=g)
        while len(U := gen.ask()):
            gen.tell(U, f.evaluate_unit(U))
        U, y, lsum = strips[g]
        np.testing.assert_array_equal(U, gen.points)
        np.testing.assert_array_equal(lsum, gen.level_sums)
    # breadth-first (gamma = 1) keeps level sums low; greedy goes deep
    assert strips[1.0][2].max() < strips[0.0][2].max()


def test_race_budget_limit_is_read_from_core():
    """Which methods sit out the race at a budget is the strategies' own metadata
    (``max_interactive_budget``), not a table of the explorer."""
    from core.strategies import STRATEGIES
    from explorer.background import not_raced

    limited = {m: c.max_interactive_budget for m, c in STRATEGIES.items()
               if c.max_interactive_budget is not None}
    assert "bayesian" in limited
    for method, limit in limited.items():
        assert not_raced(method, limit) == ""
        assert str(limit) in not_raced(method, limit + 1)
    assert all(not_raced(m, 10**6) == "" for m in STRATEGIES if m not in limited)
