"""Sparse grid search: grid phase, candidate phase, budget accounting, exposure for display."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from core.grid import NovakRitter
from core.optimizers import OPTIMIZERS
from core.strategies import ComposedSparseGrid, SparseGridSearch, ZoomSearch

#: The tests below pin the thesis variant (the tests of the zoom variant are at the end): the
#: grid and its surrogate alone, and composed with zoom stages as the registry builds it.
Thesis = functools.partial(SparseGridSearch, variant="thesis")
ThesisZoom = functools.partial(ComposedSparseGrid, variant="thesis")

C = np.array([0.3141, 0.6711, 0.4321])


def smooth(U):
    """Smooth, minimum 0 at C (off every dyadic point), not symmetric."""
    D = U - C[: U.shape[1]]
    return np.sum(D**2, axis=1) + 0.3 * np.sum(D**3, axis=1)


def run(s, f=smooth, max_points=None):
    batches = []
    while len(U := s.ask(max_points=max_points)):
        batches.append(np.array(U))
        s.tell(U, f(U))
    return batches


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_gets_close_to_the_minimum(optimizer):
    s = Thesis(2, 40, optimizer=optimizer, seed=0)
    run(s)
    grid_best = np.min(s.generator.values)
    assert s.n_told <= 40
    assert s.stop_reason in ("exhausted", "budget")
    assert s.candidates, "the surrogate optimum differs from every grid point"
    assert s.best[1] < 1e-5 < grid_best  # the candidates beat the grid by orders of magnitude
    assert s.candidates[0].source == optimizer


def test_none_is_pure_novak_ritter():
    s = Thesis(2, 50, optimizer="none", gamma=0.7)
    run(s, max_points=3)
    gen = NovakRitter(2, 50, gamma=0.7)
    while len(U := gen.ask()):
        gen.tell(U, smooth(U))
    np.testing.assert_array_equal(s.U_told, gen.points)
    assert s.candidates == [] and s.n_candidates == 0
    assert s.stop_reason == "exhausted" and s.n_told == 49


@pytest.mark.parametrize("max_points", [1, 2, 3, 7])
def test_partial_asks_give_the_same_run(max_points):
    a = Thesis(3, 60, seed=4)
    run(a)
    b = Thesis(3, 60, seed=4)
    batches = run(b, max_points=max_points)
    assert all(len(U) <= max_points for U in batches)
    np.testing.assert_array_equal(a.U_told, b.U_told)
    np.testing.assert_array_equal(a.generator.points, b.generator.points)


def test_budget_reservation_and_accounting():
    s = Thesis(2, 50, seed=0)
    assert s.n_candidates == 2 and s.generator.n_evals == 48
    run(s)
    g = s.generator
    assert g.n_points == 45  # 1 + 4k <= 48
    # 2 reserved + 3 the grid could not use: up to 5 candidates, all distinct
    assert 2 <= len(s.candidates) <= 5
    assert s.n_told == g.n_points + len(s.candidates) <= 50
    np.testing.assert_array_equal(s.candidate_values, s.y_told[g.n_points:])
    np.testing.assert_array_equal(s.U_told[: g.n_points], g.points)
    U = np.array([c.u for c in s.candidates])
    gaps = np.max(np.abs(U[:, None] - np.vstack([g.points, U])[None]), axis=2)
    gaps[:, g.n_points:][np.diag_indices(len(U))] = np.inf
    assert gaps.min() > 1e-9


def test_candidate_on_a_grid_point_costs_nothing():
    # a flat surrogate: every optimizer stays at its start, a grid point, so nothing is spent
    s = Thesis(2, 24, seed=0)
    run(s, lambda U: np.ones(len(U)))
    assert s.candidates == []
    assert s.n_told == s.generator.n_points == 21 < 24
    assert s.stop_reason == "exhausted"
    np.testing.assert_array_equal(s.best[0], [0.5, 0.5])


def test_n_candidates_and_multistart_options():
    s = Thesis(2, 30, multistart=False)
    assert s.n_candidates == 1 and s.generator.n_evals == 29
    s = Thesis(2, 30, n_candidates=5)
    assert s.generator.n_evals == 25
    s = Thesis(2, 30, optimizer="multistart")
    assert s.n_candidates == 1  # the multi-start candidate is the optimizer's own


def test_bad_input_is_rejected_with_the_rule():
    with pytest.raises(ValueError, match="at least 3 .*1 initial grid points \\+ 2 reserved"):
        Thesis(2, 2)
    with pytest.raises(ValueError, match="at least 19 .*17 initial grid points"):
        Thesis(2, 18, initial_level=3)
    Thesis(2, 17, initial_level=3, optimizer="none")
    with pytest.raises(ValueError, match="odd"):
        Thesis(2, 30, degree=2)
    with pytest.raises(ValueError, match="unknown optimizer 'bfgs'.*gradient_descent"):
        Thesis(2, 30, optimizer="bfgs")
    with pytest.raises(ValueError, match="gamma"):
        Thesis(2, 30, gamma=1.3)
    with pytest.raises(ValueError, match="initial_level"):
        Thesis(2, 300, initial_level=5)
    with pytest.raises(ValueError, match="n_candidates"):
        Thesis(2, 30, optimizer="none", n_candidates=2)
    with pytest.raises(TypeError, match="multistart"):
        Thesis(2, 30, multistart="yes")


def test_surrogate_exposure_and_intermediate_fit():
    s = Thesis(2, 40, seed=0)
    assert s.fit_surrogate_now() is None and s.surrogate is None
    for _ in range(3):
        U = s.ask()
        s.tell(U, smooth(U))
    sur = s.fit_surrogate_now()
    g = s.generator
    np.testing.assert_allclose(sur(np.asarray(g.points)), g.values, atol=1e-10)
    assert len(s.refinement_history) == len(g.history) == 2
    np.testing.assert_array_equal(s.scores(), g.scores)
    run(s)
    assert s.phase == "done"
    assert s.surrogate is not None and s.surrogate.n_points == g.n_points
    for c in s.candidates:
        assert c.u.shape == (2,)
        if "pts]" not in c.source:  # coarse-stage candidates carry their own surrogate's value
            assert np.isclose(c.value, s.surrogate(c.u))


def test_nan_grid_values_are_left_out_of_the_surrogate():
    def failing(U):
        y = smooth(U)
        y[U[:, 0] > 0.8] = np.nan
        return y

    s = Thesis(2, 40, seed=0, gamma=1.0)
    run(s, failing)
    mask = s.surrogate.fit_mask
    assert not mask.all() and np.all(np.isfinite(s.generator.values[mask]))
    assert s.best[1] < 1e-3


def test_local_box_is_bounded_by_axis_neighbours():
    s = Thesis(2, 30, optimizer="none")
    run(s)
    P = np.asarray(s.generator.points)
    for k in range(len(P)):
        lo, hi = s.local_box(k)
        assert np.all(lo <= P[k]) and np.all(P[k] <= hi)
        # no grid point on an axis line through P[k] lies strictly inside the box
        for t in range(2):
            others = P[(P[:, 1 - t] == P[k, 1 - t]) & (P[:, t] != P[k, t]), t]
            assert not np.any((others > lo[t]) & (others < hi[t]))


def test_trust_region_candidate_stays_in_its_box():
    s = Thesis(2, 30, candidate_box=True, seed=0)
    run(s)
    first = s.candidates[0]
    assert first.source.endswith("(local)")
    k = int(np.argmin(s.generator.values))
    lo, hi = s.local_box(k)
    assert np.all((first.u >= lo) & (first.u <= hi))


def test_pickle_in_the_candidate_phase():
    import pickle

    s = Thesis(2, 30, seed=0)
    while s.phase == "grid" or not s.candidates:
        U = s.ask(max_points=1)
        s.tell(U, smooth(U))
    clone = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(clone.surrogate(clone.U_told), s.surrogate(s.U_told))
    run(s)
    run(clone)
    np.testing.assert_array_equal(s.U_told, clone.U_told)
    assert [c.source for c in s.candidates] == [c.source for c in clone.candidates]


def test_coarse_stage_candidates():
    s = Thesis(3, 70, seed=0)
    run(s)
    g = s.generator
    K = (g.n_points - 1) // 6
    assert s.stage_sizes() == [1 + 6 * k for k in (K // 2, K // 4, K // 8) if k >= 1]
    sources = [c.source for c in s.candidates]
    assert any("pts]" in src for src in sources)
    off = Thesis(3, 70, seed=0, coarse_candidates=False)
    run(off)
    assert not any("pts]" in c.source for c in off.candidates)
    np.testing.assert_array_equal(off.generator.points, g.points)


# -- zoom stages ------------------------------------------------------------------------------
def test_zoom_budget_split_and_exact_accounting():
    s = ThesisZoom(2, 100, zoom=2, zoom_fraction=0.4, seed=0)
    assert s.zoom_budgets == [20, 20] and s.stage0_budget == 60
    assert s.generator.n_evals == 58  # stage 0 reserves its 2 candidates
    run(s, max_points=3)
    assert 100 - 3 <= s.n_told <= 100 and s.phase == "done"  # a last step of 4 may not fit
    assert len(s.zoom_stages) == 2
    # a stage before the last gets what its grid can use plus its 2 candidates; the rest moves on
    first = s.zoom_stages[0][2]
    assert first.n_evals == first.generator.n_evals + 2 == first.generator.n_points + 2
    assert first.n_evals - 1 <= 20  # its centre was free
    # stage 0's told points are exactly its grid and candidates
    n0 = s.generator.n_points + len(s.candidates)
    assert n0 <= 60
    np.testing.assert_array_equal(s.U_told[: s.generator.n_points], s.generator.points)
    # every zoom stage's points (mapped back) were told, the free centre included
    for lo, hi, child in s.zoom_stages:
        X = lo + child.U_told * (hi - lo)
        gaps = np.max(np.abs(X[:, None] - s.U_told[None]), axis=2).min(axis=1)
        assert gaps.max() <= 1e-12
        np.testing.assert_allclose(child.y_told, smooth(X), rtol=0, atol=1e-15)
    # no point was evaluated twice: the centre at the incumbent came for free
    U = s.U_told
    d = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
    assert d.min() > 1e-9


def test_zoom_boxes_shrink_around_the_incumbent_and_help():
    s = ThesisZoom(2, 60, zoom=2, zoom_shrink=0.25, seed=0)
    run(s)
    best_before = []
    for s_idx, (lo, hi, child) in enumerate(s.zoom_stages, start=1):
        np.testing.assert_allclose(hi - lo, 0.25**s_idx)  # half-width 0.5 * shrink**s
        assert np.all(lo >= 0) and np.all(hi <= 1)
        best_before.append(child.y_told[0])  # its centre: the incumbent when the stage began
        X = lo + child.U_told * (hi - lo)
        assert np.all((X >= lo - 1e-15) & (X <= hi + 1e-15))
    assert best_before[0] >= best_before[1]
    np.testing.assert_array_equal(best_before[0], s.zoom_stages[0][2].y_told[0])
    assert np.max(np.abs(s.best[0] - C[:2])) < 1e-3


def test_zoom_auto_box_spans_the_best_points():
    s = ThesisZoom(2, 60, zoom=1, zoom_shrink="auto", seed=0)
    run(s)
    lo, hi, child = s.zoom_stages[0]
    assert np.all(hi - lo <= 0.5 + 1e-15) and np.all(hi - lo >= 0.5**4 - 1e-15)
    n0 = s.n_told - child.n_told + 1  # told before the stage (its centre was free)
    U, y = s.U_told[:n0], s.y_told[:n0]
    top = U[np.argsort(y, kind="stable")[:5]]  # the 2 d + 1 best points, incumbent first
    spread = np.max(np.abs(top - top[0]), axis=0)
    np.testing.assert_allclose(hi - lo, 2 * np.clip(spread, 0.5**5, 0.25), rtol=1e-12)


def test_zoom_stage_is_skipped_when_the_budget_is_too_small():
    s = ThesisZoom(2, 12, zoom=3)  # 5 for zooms < 4 + 1 + 2 per stage
    assert s.zoom_budgets == [] and s.stage0_budget == 12
    s = ThesisZoom(2, 40, zoom=3)  # 16 for zooms: two stages of 8
    assert s.zoom_budgets == [8, 8]
    run(s)
    assert s.n_told <= 40 and len(s.zoom_stages) <= 2


def test_zoom_is_deterministic_and_pickles_mid_stage():
    import pickle

    a = ThesisZoom(3, 90, zoom=2, seed=5, optimizer="nelder_mead")
    while a.phase != "zoom" or not a.zoom_stages:
        U = a.ask(max_points=2)
        a.tell(U, smooth(U))
    clone = pickle.loads(pickle.dumps(a))
    run(a)
    run(clone)
    b = ThesisZoom(3, 90, zoom=2, seed=5, optimizer="nelder_mead")
    run(b)
    np.testing.assert_array_equal(a.U_told, clone.U_told)
    np.testing.assert_array_equal(a.U_told, b.U_told)


def test_zoom_bad_input():
    with pytest.raises(ValueError, match="zoom"):
        ThesisZoom(2, 30, zoom=-1)
    with pytest.raises(ValueError, match="zoom_fraction.*1.5"):
        ThesisZoom(2, 30, zoom=1, zoom_fraction=1.5)
    with pytest.raises(ValueError, match="zoom_shrink.*0"):
        ThesisZoom(2, 30, zoom=1, zoom_shrink=0)
    with pytest.raises(TypeError, match="zoom_shrink"):
        ThesisZoom(2, 30, zoom=1, zoom_shrink="half")
    with pytest.raises(ValueError, match="zoom.*optimizer='none'"):
        ThesisZoom(2, 30, zoom=1, optimizer="none")


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"zoom": -1}, ValueError, "`zoom` must be in [0, inf], got zoom=-1"),
        ({"zoom": 1.5}, TypeError, "`zoom` must be an int, got zoom=1.5"),
        ({"zoom_fraction": 1.5}, ValueError, "`zoom_fraction` must be in (0, 1), got "
         "zoom_fraction=1.5"),
        ({"zoom_shrink": 0}, ValueError, "`zoom_shrink` must be in (0, 1) or 'auto', got "
         "zoom_shrink=0"),
        ({"zoom_shrink": "half"}, TypeError, "`zoom_shrink` must be a float in (0, 1) or "
         "'auto', got zoom_shrink='half'"),
        ({"model_steps": -2}, ValueError, "`model_steps` must be in [0, inf], got "
         "model_steps=-2"),
    ],
)
def test_zoom_options_have_one_check_and_one_message(options, error, message):
    """ZoomSearch and the composed run check the zoom options with one function: the same
    error, stating the rule and the value received, from either."""
    with pytest.raises(error) as direct:
        ZoomSearch(2, 30, grid_options={}, **options)
    with pytest.raises(error) as composed:
        ComposedSparseGrid(2, 30, **options)
    assert str(direct.value) == str(composed.value) == message


# -- the zoom variant (the default) -------------------------------------------------------------
def test_default_variant_is_zoom_and_thesis_is_selectable():
    s = ComposedSparseGrid(2, 60, seed=0)
    assert s.variant == "zoom" and s.optimizer == "lbfgsb" and s.zoom > 0
    t = ComposedSparseGrid(2, 60, seed=0, variant="thesis")
    assert t.variant == "thesis" and t.optimizer == "gradient_descent" and t.zoom == 0
    assert SparseGridSearch.has_model


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("n_evals", [3, 11, 25, 64, 150])
def test_zoom_budget_never_exceeded(dim, n_evals):
    if n_evals < SparseGridSearch.min_budget(dim, space_size=1):  # what the constructor takes
        with pytest.raises(ValueError, match="n_evals"):
            ComposedSparseGrid(dim, n_evals)
        return
    s = ComposedSparseGrid(dim, n_evals, seed=1)
    batches = run(s, max_points=4)
    assert sum(map(len, batches)) == s.n_told <= n_evals
    assert s.stop_reason in ("budget", "exhausted")
    U = s.U_told  # no point is evaluated twice
    gaps = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
    assert gaps.min() > 1e-9


def test_zoom_finds_the_minimum_far_below_the_grid():
    s = ComposedSparseGrid(2, 60, seed=0)
    run(s)
    assert s.candidates and s.candidates[0].source == "lbfgsb"
    assert s.best[1] < 1e-6 < np.min(s.generator.values)
    assert np.max(np.abs(s.best[0] - C[:2])) < 1e-3


def test_zoom_candidates_are_minima_of_the_surrogate():
    from scipy.optimize import minimize as scipy_minimize

    s = ComposedSparseGrid(3, 80, seed=0, zoom=0, local_search=False)
    run(s)
    sur = s.surrogate
    for c in s.candidates:
        assert sur(c.u) == pytest.approx(c.value, abs=1e-12)
        res = scipy_minimize(sur.value_and_gradient, c.u, jac=True, method="L-BFGS-B",
                             bounds=[(0, 1)] * 3)
        assert res.fun >= c.value - 1e-6  # no descent left from a candidate


@pytest.mark.parametrize("max_points", [1, 3, 5])
def test_zoom_partial_asks_and_pickling_give_the_same_run(max_points):
    import pickle

    a = ComposedSparseGrid(3, 90, seed=5)
    run(a)
    b = ComposedSparseGrid(3, 90, seed=5)
    while b.phase != "zoom" or not b.zoom_stages:
        U = b.ask(max_points=max_points)
        b.tell(U, smooth(U))
    b = pickle.loads(pickle.dumps(b))
    run(b, max_points=max_points)
    np.testing.assert_array_equal(a.U_told, b.U_told)


def test_zoom_run_resumes_from_its_journal_to_the_same_result(tmp_path):
    from core.run import minimize
    from core.space import Float, SearchSpace

    space = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})

    def fun(config):
        return (config["x"] - 0.4) ** 2 + 3.0 * (config["y"] - 1.3) ** 2 + config["x"] ** 4

    path = tmp_path / "run.jsonl"
    ref = minimize(fun, space, "sparse_grid", 70, seed=3)
    stopped = minimize(fun, space, "sparse_grid", 70, seed=3, journal=path,
                       callback=lambda batch: batch.nfev >= 45)
    assert stopped.nfev < ref.nfev
    calls = []
    resumed = minimize(lambda c: calls.append(c) or fun(c), space, "sparse_grid", 70, seed=3,
                       journal=path, resume=True)
    assert len(calls) == ref.nfev - stopped.nfev
    np.testing.assert_array_equal(resumed.U, ref.U)
    np.testing.assert_array_equal(resumed.values, ref.values)


def test_a_run_stopped_inside_a_zoom_stage_or_the_local_phase_resumes_to_the_same_result(
    tmp_path,
):
    """Stopped mid-phase (inside the first search's zoom stage, inside a restart's zoom stage,
    between two trust-region steps), the composed run resumes from its journal to the
    uninterrupted run, evaluating only what is missing."""
    from core.run import minimize
    from core.space import Float, SearchSpace

    space = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})

    def fun(config):
        return (config["x"] - 0.4) ** 2 + 3.0 * (config["y"] - 1.3) ** 2 + config["x"] ** 4

    ref = minimize(fun, space, "sparse_grid", 70, seed=3)
    source = {}  # step -> the source of its points
    for ev in ref.history:
        source.setdefault(ev.step, ev.origin.source)

    def inside(step, within):  # the step and the next belong to the same stage or phase
        return (step + 1 in source and within(source[step]) and within(source[step + 1])
                and source[step].split(" (", 1)[-1] == source[step + 1].split(" (", 1)[-1])

    stops = {
        "zoom stage": next(s for s in source if inside(
            s, lambda t: "(zoom 1)" in t and "restart" not in t)),
        "restart's zoom stage": next(s for s in source if inside(
            s, lambda t: "(zoom" in t and "(restart" in t)),
        "local phase": next(s for s in source if inside(
            s, lambda t: t.startswith("trust region"))),
    }
    for where, stop_at in stops.items():
        path = tmp_path / f"{where}.jsonl"
        stopped = minimize(fun, space, "sparse_grid", 70, seed=3, journal=path,
                           callback=lambda batch, k=stop_at: batch.step == k)
        assert stopped.stop_reason == "stopped" and stopped.nfev < ref.nfev, where
        calls = []
        resumed = minimize(lambda c, calls=calls: calls.append(c) or fun(c), space,
                           "sparse_grid", 70, seed=3, journal=path, resume=True)
        assert len(calls) == ref.nfev - stopped.nfev, where
        np.testing.assert_array_equal(resumed.U, ref.U, err_msg=where)
        np.testing.assert_array_equal(resumed.values, ref.values, err_msg=where)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"variant": "fast"}, ValueError, "`variant` must be one of 'zoom', 'thesis'.*'fast'"),
        ({"variant": None}, ValueError, "`variant`.*None"),
        ({"optimizer": "bfgs"}, ValueError, "unknown optimizer 'bfgs'"),
        ({"optimizer_options": {"maxfev": 10}}, ValueError, "optimizer_options.*lbfgsb"),
        ({"optimizer": "nelder_mead", "optimizer_options": {"bogus": 1}}, TypeError, "bogus"),
        ({"max_level": 51}, ValueError, "max_level.*51"),
        ({"max_level": 0}, ValueError, "max_level.*0"),
        ({"ranking": "sorted"}, ValueError, "ranking.*sorted"),
        ({"candidate_box": "no"}, TypeError, "`candidate_box` must be a bool.*'no'"),
        ({"coarse_candidates": 1}, TypeError, "`coarse_candidates` must be a bool.*1"),
        ({"zoom": 1.5}, TypeError, "zoom.*1.5"),
        ({"zoom_fraction": 0}, ValueError, "zoom_fraction.*0"),
        ({"zoom_shrink": "wide"}, TypeError, "zoom_shrink.*wide"),
        ({"model_steps": -1}, ValueError, "model_steps.*-1"),
        ({"model_steps": 2.5}, TypeError, "model_steps.*2.5"),
        ({"gamma": -0.1}, ValueError, "gamma.*-0.1"),
        ({"degree": 4}, ValueError, "degree"),
        ({"n_candidates": 0}, ValueError, "n_candidates.*0"),
        ({"initial_level": 5}, ValueError, "initial_level.*5"),
    ],
)
def test_every_option_is_checked_before_the_first_evaluation(options, error, pattern):
    with pytest.raises(error, match=pattern):
        ComposedSparseGrid(2, 60, **options)


def test_min_budget_matches_the_constructor():
    """The constructor takes the initial grid plus the reserved candidates (the budget a tiny
    finite space needs); on a continuous space ``min_budget`` adds one refinement."""
    for dim in (1, 2, 5):
        for options in ({}, {"variant": "thesis"}, {"initial_level": 2}, {"optimizer": "none"},
                        {"n_candidates": 4}, {"variant": "thesis", "multistart": False}):
            n = SparseGridSearch.min_budget(dim, space_size=1, **options)
            ComposedSparseGrid(dim, n, **options)
            with pytest.raises(ValueError, match="n_evals"):
                ComposedSparseGrid(dim, n - 1, **options)
            useful = n if options.get("variant") == "thesis" else n + 2 * dim
            assert SparseGridSearch.min_budget(dim, **options) == useful


# -- optimizer paths of the candidates ---------------------------------------------------------
def _check_path(c, sur=None):
    P = c.path
    assert P.ndim == 2 and P.shape[1] == c.u.size and len(P) >= 1
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_array_equal(P[-1], c.u)
    if sur is not None and len(P) > 1:  # best-so-far: the surrogate never rises along it
        vals = np.array([sur(p) for p in P])
        assert np.all(np.diff(vals) <= 1e-12)


@pytest.mark.parametrize("optimizer", ["lbfgsb", "nelder_mead", "differential_evolution",
                                       "cmaes", "gradient_descent", "newton"])
def test_every_candidate_carries_its_optimizer_path(optimizer):
    s = ComposedSparseGrid(2, 40, optimizer=optimizer, zoom=0, seed=1)
    run(s)
    assert s.candidates
    for c in s.candidates:
        _check_path(c, None if "pts]" in c.source else s.surrogate)
    assert len(s.candidates[0].path) > 1  # the optimizer moved from the best grid point


def test_thesis_candidates_carry_paths_local_ones_inside_the_trust_box():
    s = Thesis(2, 30, candidate_box=True, seed=0)
    run(s)
    for c in s.candidates:
        _check_path(c)
    first = s.candidates[0]
    lo, hi = s.local_box(int(np.argmin(s.generator.values)))
    assert np.all((first.path >= lo - 1e-15) & (first.path <= hi + 1e-15))


def test_zoom_stage_candidates_are_mapped_to_the_whole_cube():
    s = ComposedSparseGrid(2, 100, seed=0, local_search=False)
    run(s)
    assert s.zoom_stages
    allc = s.all_candidates
    assert allc[: len(s.candidates)] == s.candidates[: len(s.candidates)]
    k = len(s.candidates)
    for stage, (lo, hi, child) in enumerate(s.zoom_stages, start=1):
        for c in child.all_candidates:
            m = allc[k]
            k += 1
            assert m.source == f"{c.source} (zoom {stage})"
            _check_path(m)
            np.testing.assert_allclose(m.u, lo + c.u * (hi - lo), rtol=0, atol=1e-15)
            np.testing.assert_allclose(m.path, lo + c.path * (hi - lo), rtol=0, atol=1e-15)
            assert np.all((m.path >= lo - 1e-15) & (m.path <= hi + 1e-15))
            # the mapped candidate is a point the run evaluated
            assert np.max(np.abs(s.U_told - m.u), axis=1).min() <= 1e-12
    assert allc[k:] == s.local_steps  # then the steps that spend what the stages left


def test_candidate_with_path_pickles():
    import pickle

    from core.strategies.sparse_grid import Candidate

    c = Candidate([0.5, 0.25], 1.0, "lbfgsb", [[0.0, 0.0], [0.5, 0.25]])
    d = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(d.path, c.path)
    assert d.source == c.source and d.value == c.value
    np.testing.assert_array_equal(Candidate([0.5, 0.5], 0.0, "x").path, [[0.5, 0.5]])


# -- quadratic model steps between zoom stages --------------------------------------------------
def test_quadratic_step_finds_the_minimum_of_a_quadratic():
    from core.strategies._trust_region import quadratic_model_step

    def quadratic_step(U, y):
        step = quadratic_model_step(U, y)
        return None if step is None else step[0]

    rng = np.random.default_rng(0)
    A = np.array([[3.0, 1.2, 0.0], [1.2, 2.0, -0.4], [0.0, -0.4, 1.0]])
    x_star = np.array([0.41, 0.57, 0.48])
    U = np.clip(x_star + rng.uniform(-0.2, 0.2, (30, 3)), 0, 1)
    y = np.einsum("ni,ij,nj->n", U - x_star, A, U - x_star) + 7.0
    x = quadratic_step(U, y)
    np.testing.assert_allclose(x, x_star, atol=1e-5)  # L-BFGS-B tolerance
    # the step stays inside its trust box: twice the fitted points' spread around the incumbent
    far = np.array([0.9, 0.1, 0.9])
    y2 = np.einsum("ni,ij,nj->n", U - far, A, U - far)
    x2 = quadratic_step(U, y2)
    c = U[np.argmin(y2)]
    assert np.all(np.abs(x2 - c) <= 2 * np.max(np.abs(U - c), axis=0) + 1e-12)
    assert np.all((x2 >= 0) & (x2 <= 1))
    y[np.argmin(y)] = np.nan  # non-finite values are left out; too few points: no step
    assert quadratic_step(U[:10], y[:10]) is None


def test_model_steps_are_told_and_charged_to_the_zoom_budget():
    s = ComposedSparseGrid(2, 100, seed=0, local_search=False)
    assert s.model_steps == 6 and ThesisZoom(2, 100).model_steps == 0
    run(s)
    assert s.n_told <= 100 and len(s.model_step_points)
    for x in s.model_step_points:  # every step point was evaluated once
        assert np.sum(np.max(np.abs(s.U_told - x), axis=1) <= 1e-12) == 1
    off = ComposedSparseGrid(2, 100, seed=0, model_steps=0, local_search=False)
    run(off)
    # no quadratic model step: only the steps that spend what the stages left (at the end)
    rest = len(off.local_steps)
    assert off.n_told == 100 and len(off.model_step_points) == rest
    np.testing.assert_array_equal(off.model_step_points, off.U_told[100 - rest :])
    # stage 0 is the same run; the steps come after it
    n0 = off.generator.n_points + len(off.candidates)
    np.testing.assert_array_equal(s.U_told[:n0], off.U_told[:n0])
    assert np.max(np.abs(s.U_told[n0] - s.model_step_points[0])) == 0


# -- names ------------------------------------------------------------------------------------
def test_the_old_candidate_box_name_is_an_error_naming_the_new_one():
    from core.strategies import make_strategy

    with pytest.raises(TypeError, match="'trust_region'.*renamed 'candidate_box'"):
        make_strategy("sparse_grid", 2, 30, variant="thesis", trust_region=True)
    s = make_strategy("sparse_grid", 2, 30, variant="thesis", candidate_box=True)
    assert s.candidate_box


def test_every_registered_strategy_says_what_runs():
    from core.strategies import STRATEGIES

    for name, cls in STRATEGIES.items():
        assert cls.summary and "\n" not in cls.summary, name
    assert "trust region" in STRATEGIES["sparse_grid"].summary  # the local phase is named


def test_the_composition_takes_every_grid_option_with_the_grids_default():
    """ComposedSparseGrid restates SparseGridSearch's options in its signature (the registry
    reads options from it): the same names and defaults, all passed on to every grid."""
    import inspect

    from core.strategies import strategy_options

    grid = {
        k: p.default for k, p in inspect.signature(SparseGridSearch.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "seed"
    }
    composed = strategy_options("sparse_grid")
    assert {k: composed.get(k, "missing") for k in grid} == grid
    assert set(ComposedSparseGrid(2, 60, seed=0).grid_options) == set(grid)


@pytest.mark.parametrize("options", [
    {}, {"variant": "thesis"}, {"optimizer": "none"}, {"n_candidates": 3},
    {"multistart": True}, {"optimizer": "multistart"}, {"initial_level": 2},
])
@pytest.mark.parametrize("dim", [1, 3])
def test_one_budget_rule_for_the_constructor_and_min_budget(dim, options):
    from core.strategies import make_strategy

    accepted = SparseGridSearch._accepted_budget(dim, **options)
    make_strategy("sparse_grid", dim, accepted, seed=0, **options)
    with pytest.raises(ValueError, match=f"must be (at least {accepted}|in \\[1, inf\\])"):
        make_strategy("sparse_grid", dim, accepted - 1, seed=0, **options)
    assert SparseGridSearch.min_budget(dim, **options) >= accepted
