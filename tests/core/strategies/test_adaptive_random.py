"""Iterative adaptive random search: a slow reference implementation, the criterion records,
the stall of the thesis' default variant and its visible stop, options."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.strategies import AdaptiveRandomSearch, make_strategy
from core.strategies.adaptive_random import AdaptiveRandomStep

VARIANTS = ["intervals", "balls", "normal"]


def run(s, f, max_points=None, on_tell=None):
    while len(U := s.ask(max_points=max_points)):
        s.tell(U, f(U))
        if on_tell is not None:
            on_tell(s)
    return s


def bowl(U):
    return np.sum((U - 0.2) ** 2, axis=1)


def wavy(U):
    return np.sum((U - 0.3) ** 2, axis=1) + 0.3 * np.sin(9.0 * U).sum(axis=1)


# ---------------------------------------------------------------- slow reference implementation
def reference_run(f, d, budget, *, gamma, variant, seed, init_points=10):
    """The thesis' algorithm in plain loops (criterion without the value term, unit cube),
    drawing from the generator in the same order as the strategy. Returns all points."""
    rng = np.random.default_rng(seed)
    pts = [list(u) for u in rng.random((min(init_points, budget), d))]
    vals = [float(v) for v in f(np.array(pts))]
    level = [0] * len(pts)
    refined = [0] * len(pts)
    while len(pts) < budget:
        order = sorted(range(len(pts)), key=lambda i: (math.isnan(vals[i]), vals[i], i))
        rank = {i: r for r, i in enumerate(order)}
        score = [
            math.pow(level[i] + refined[i] + 1, gamma) * math.pow(rank[i] + 1, 1 - gamma)
            for i in range(len(pts))
        ]
        best = min(range(len(pts)), key=lambda i: (score[i], i))
        refined[best] += 1
        c, L = pts[best], level[best]
        n = min(2 * d, budget - len(pts))
        if variant == "intervals":
            low, high = [], []
            for k in range(d):
                below = [p[k] for p, lv in zip(pts, level, strict=True) if lv <= L and p[k] < c[k]]
                above = [p[k] for p, lv in zip(pts, level, strict=True) if lv <= L and p[k] > c[k]]
                low.append(max(below, default=0.0))
                high.append(min(above, default=1.0))
            new = np.array(low) + rng.random((n, d)) * (np.array(high) - np.array(low))
        elif variant == "balls":
            dist = [math.dist(p, c) for p in pts]
            d_max = max(dist)
            d_min = min([math.sqrt(d)] + [x if x > 0 else d_max
                                          for x, lv in zip(dist, level, strict=True) if lv <= L])
            r = (d_max + d_min) / ((L + 2) * 2)
            z = rng.standard_normal((n, d))
            z /= np.linalg.norm(z, axis=1, keepdims=True)
            new = np.array(c) + r * rng.random((n, 1)) ** (1 / d) * z
        else:
            from scipy.stats import truncnorm

            h = 0.5 ** (L + 1)
            lo = np.maximum(np.array(c) - h, 0.0)
            hi = np.minimum(np.array(c) + h, 1.0)
            u = rng.random((n, d))
            new = (lo + hi) / 2 + (hi - lo) / 2 * truncnorm.ppf(u, -1, 1)
        new = np.clip(new, 0.0, 1.0)
        pts += [list(u) for u in new]
        vals += [float(v) for v in f(new)]
        level += [L + 1] * n
        refined += [0] * n
    return np.array(pts)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("d", "gamma", "seed"), [(1, 0.5, 0), (2, 0.0, 1), (3, 1.0, 2),
                                                  (2, 0.3, 3)])
def test_matches_the_slow_reference(variant, d, gamma, seed):
    s = run(AdaptiveRandomSearch(d, 90, gamma=gamma, variant=variant, xtol=0.0, seed=seed), wavy,
            max_points=3 if seed % 2 else None)
    expected = reference_run(wavy, d, 90, gamma=gamma, variant=variant, seed=seed)
    np.testing.assert_allclose(s.U_told, expected, rtol=0, atol=1e-12)
    assert s.stop_reason == "budget"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("d", [1, 2, 5])
def test_variants_stay_in_cube_and_use_budget(variant, d):
    s = run(AdaptiveRandomSearch(d, 57, variant=variant, xtol=0.0, seed=3), bowl)
    U = s.U_told
    assert np.all((U >= 0) & (U <= 1))
    assert s.n_told == 57  # the last refinement takes what is left
    assert s.stop_reason == "budget"
    levels = s.levels
    assert np.all(levels[:10] == 0) and np.all(levels[10:] >= 1)
    # batches after the initial points: 2d points each (the last one possibly shorter)
    assert len(s.refinement_history) == int(np.ceil((57 - 10) / (2 * d)))


# ---------------------------------------------------------------- the criterion, step by step
def test_criterion_matches_formula_and_is_used():
    s = AdaptiveRandomSearch(2, 30, gamma=0.3, init_points=6, seed=0)
    assert s.last_step is None
    U = s.ask()
    s.tell(U, np.array([5.0, -3.0, np.nan, 2.0, -3.0, np.inf]))
    rec = s.last_step  # the selection is made as soon as the batch is told
    assert isinstance(rec, AdaptiveRandomStep) and rec.step == 1 and rec.n_points == 6
    np.testing.assert_array_equal(rec.ranks, [3, 0, 5, 2, 1, 4])  # NaN last, ties by order
    np.testing.assert_allclose(rec.rank_terms, (rec.ranks + 1.0) ** 0.7)
    np.testing.assert_array_equal(rec.level_terms, np.ones(6))
    np.testing.assert_array_equal(rec.scores, rec.rank_terms * rec.level_terms)
    assert rec.refined == 1 and rec.gamma == 0.3 and rec.variant == "intervals"
    assert s.refinement_history == [1]
    assert s.n_refinements.tolist() == [0, 1, 0, 0, 0, 0]
    assert rec.n_refinements.tolist() == [0] * 6  # counts before this step's increment
    np.testing.assert_array_equal(rec.children, [6, 7, 8, 9])
    assert np.all(np.isfinite(s.scores))  # negative values do not break the criterion
    new = s.ask()
    assert np.all((new >= rec.low) & (new <= rec.high))
    with pytest.raises(ValueError):
        rec.scores[0] = 0.0


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_records_rebuilt_later_equal_those_seen_live(variant):
    live: list[AdaptiveRandomStep] = []
    s = AdaptiveRandomSearch(3, 120, gamma=0.4, variant=variant, xtol=0.0, seed=4)
    run(s, wavy, max_points=5, on_tell=lambda s: (
        live.append(s.last_step) if s.last_step and (not live or live[-1].step < s.n_steps)
        else None))
    assert [r.step for r in live] == list(range(1, s.n_steps + 1))
    U, levels = s.U_told, s.levels
    for rec in live:
        later = s.step_record(rec.step)
        for field in ("ranks", "levels", "n_refinements", "rank_terms", "level_terms",
                      "scores", "children", "low", "high"):
            np.testing.assert_array_equal(getattr(later, field), getattr(rec, field))
        assert later.refined == rec.refined == int(np.argmin(rec.scores))
        assert all(s.step_of(int(i)) == rec.step for i in rec.children)
        # the children lie in the recorded neighbourhood, one level deeper
        kids = U[rec.children]
        assert np.all(levels[rec.children] == rec.levels[rec.refined] + 1)
        assert np.all((kids >= rec.low - 1e-15) & (kids <= rec.high + 1e-15))
        if variant == "balls":
            assert np.all(np.linalg.norm(kids - U[rec.refined], axis=1) <= rec.radius + 1e-12)
            assert rec.width == 2 * rec.radius
        else:
            assert math.isnan(rec.radius)
            assert rec.width == float(np.max(rec.high - rec.low))
    assert [s.step_of(i) for i in range(10)] == [0] * 10
    with pytest.raises(ValueError, match="step"):
        s.step_record(s.n_steps + 1)
    with pytest.raises(ValueError, match="index"):
        s.step_of(s.n_told)


@pytest.mark.parametrize("variant", VARIANTS)
def test_gamma_changes_the_search(variant):
    histories = {}
    for gamma in (0.0, 0.5, 1.0):
        s = run(AdaptiveRandomSearch(2, 80, gamma=gamma, variant=variant, seed=7), wavy)
        histories[gamma] = tuple(s.refinement_history)
    assert len(set(histories.values())) == 3
    # gamma = 1 is breadth first: every initial point is refined before any deeper one
    s = run(AdaptiveRandomSearch(2, 80, gamma=1.0, variant=variant, seed=7), wavy)
    assert s.refinement_history[:10] == list(range(10))


# ---------------------------------------------------------------- the stall and its stop
def test_intervals_variant_collapses_and_stops_as_converged():
    """The thesis' default variant narrows its neighbourhood geometrically and stops early."""
    widths, stops = [], []
    for seed in range(5):
        s = run(AdaptiveRandomSearch(2, 400, seed=seed), wavy)
        assert s.stop_reason == "converged"
        assert s.n_told < 200  # of 400
        rec = s.last_step
        assert rec.converged and rec.width < s.xtol and rec.children.size == 0
        widths.append([s.step_record(k).width for k in range(1, s.n_steps + 1)])
        stops.append(s.n_told)
        # without the stop, the same run continues from exactly these points
        full = run(AdaptiveRandomSearch(2, 400, xtol=0.0, seed=seed), wavy)
        assert full.n_told == 400
        np.testing.assert_array_equal(full.U_told[: s.n_told], s.U_told)
    # the neighbourhood shrinks by orders of magnitude within the first 15 selections
    assert all(min(w[:15]) < 1e-2 * w[0] for w in widths)
    result = s.result()
    assert result.success and "converged" in result.message
    assert s.stop_detail.startswith(f"the criterion chose point {rec.refined} (level ")
    assert "below xtol = 1e-06" in s.stop_detail
    assert full.stop_detail is None


def test_balls_variant_does_not_collapse():
    s = run(AdaptiveRandomSearch(2, 200, variant="balls", seed=0), wavy)
    assert s.stop_reason == "budget" and s.n_told == 200
    assert min(s.step_record(k).width for k in range(1, s.n_steps + 1)) > 1e-3


def test_converged_run_is_deterministic_and_resumable_through_make_strategy():
    a = run(make_strategy("adaptive_random", 2, 300, seed=11, xtol=1e-4), wavy)
    b = run(make_strategy("adaptive_random", 2, 300, seed=11, xtol=1e-4), wavy, max_points=1)
    assert a.stop_reason == b.stop_reason == "converged"
    np.testing.assert_array_equal(a.U_told, b.U_told)
    assert len(a.ask()) == 0 and a.stop_reason == "converged"


# ---------------------------------------------------------------- variants, metadata, options
def test_intervals_variant_draws_inside_neighbour_intervals():
    s = AdaptiveRandomSearch(2, 14, init_points=10, variant="intervals", seed=1)
    U0 = s.ask()
    y = bowl(U0)
    s.tell(U0, y)
    c = U0[int(np.argmin(y))]
    new = s.ask()
    assert len(new) == 4
    for t in range(2):
        lower = max([u for u in U0[:, t] if u < c[t]], default=0.0)
        upper = min([u for u in U0[:, t] if u > c[t]], default=1.0)
        assert np.all((new[:, t] >= lower) & (new[:, t] <= upper))


def test_normal_variant_box_halves_with_level():
    s = AdaptiveRandomSearch(2, 40, init_points=1, gamma=0.0, variant="normal", seed=5)
    run(s, bowl)
    U, lv = s.U_told, s.levels
    # every level-(L+1) point lies within 2^-(L+1) of the centre it was drawn around
    assert lv.max() >= 3
    for level in range(1, lv.max() + 1):
        pts = U[lv == level]
        parents = U[lv == level - 1]
        gaps = np.min(np.max(np.abs(pts[:, None] - parents[None]), axis=2), axis=1)
        assert np.all(gaps <= 0.5**level + 1e-12)


@pytest.mark.parametrize(("variant", "tol"), [("balls", 1e-3), ("normal", 1e-4)])
def test_refinement_improves_on_the_initial_points(variant, tol):
    s = run(AdaptiveRandomSearch(2, 200, gamma=0.0, variant=variant, seed=0), bowl)
    assert s.best[1] < s.y_told[:10].min()
    assert s.best[1] < tol


def test_metadata_and_small_budgets():
    assert AdaptiveRandomSearch.has_model is False
    assert AdaptiveRandomSearch.min_budget(3, variant="balls") == 1
    s = run(AdaptiveRandomSearch(3, 4, seed=0), bowl)
    assert s.n_told == 4 and s.stop_reason == "budget" and s.n_steps == 0


def test_bad_options():
    with pytest.raises(ValueError, match=r"`variant` must be one of .*got variant='cubes'"):
        AdaptiveRandomSearch(2, 10, variant="cubes")
    with pytest.raises(ValueError, match="gamma"):
        AdaptiveRandomSearch(2, 10, gamma=1.5)
    with pytest.raises(ValueError, match="init_points"):
        AdaptiveRandomSearch(2, 10, init_points=0)
    with pytest.raises(TypeError, match="init_points"):
        AdaptiveRandomSearch(2, 10, init_points=2.5)
    with pytest.raises(ValueError, match=r"`xtol` must be a number in \[0, inf\), got xtol=-1"):
        AdaptiveRandomSearch(2, 10, xtol=-1)
    with pytest.raises(ValueError, match="xtol=nan"):
        AdaptiveRandomSearch(2, 10, xtol=float("nan"))
    with pytest.raises(TypeError, match="xtol='small'"):
        AdaptiveRandomSearch(2, 10, xtol="small")
