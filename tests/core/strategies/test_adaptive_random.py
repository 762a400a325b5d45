"""Iterative adaptive random search (ALGORITHMS section 6, decision 8)."""

from __future__ import annotations

import numpy as np
import pytest

from core.strategies import AdaptiveRandomSearch


def run(s, f, max_points=None):
    while len(U := s.ask(max_points=max_points)):
        s.tell(U, f(U))
    return s


def bowl(U):
    return np.sum((U - 0.2) ** 2, axis=1)


@pytest.mark.parametrize("variant", ["intervals", "balls", "normal"])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_variants_stay_in_cube_and_use_budget(variant, d):
    s = run(AdaptiveRandomSearch(d, 57, variant=variant, seed=3), bowl)
    U = s.U_told
    assert np.all((U >= 0) & (U <= 1))
    assert s.n_told == 57  # the last refinement takes what is left
    assert s.stop_reason == "budget"
    levels = s.levels
    assert np.all(levels[:10] == 0) and np.all(levels[10:] >= 1)
    # batches after the initial points: 2d points each (the last one possibly shorter)
    assert len(s.refinement_history) == int(np.ceil((57 - 10) / (2 * d)))


def test_criterion_matches_formula_and_is_used():
    s = AdaptiveRandomSearch(2, 30, gamma=0.3, init_points=6, seed=0)
    U = s.ask()
    s.tell(U, np.array([5.0, -3.0, np.nan, 2.0, -3.0, np.inf]))
    ranks = s.ranks
    np.testing.assert_array_equal(ranks, [3, 0, 5, 2, 1, 4])  # NaN last, ties by order
    expected = (ranks + 1.0) ** 0.7 * 1.0**0.3
    np.testing.assert_allclose(s.scores, expected)
    s.ask()  # refines the best point
    assert s.refinement_history == [1]
    assert s.n_refinements.tolist() == [0, 1, 0, 0, 0, 0]
    # negative values do not break the criterion (the thesis' value term did)
    assert np.all(np.isfinite(s.scores))


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


def test_balls_variant_radius():
    s = AdaptiveRandomSearch(3, 16, init_points=10, variant="balls", seed=2)
    U0 = s.ask()
    y = bowl(U0)
    s.tell(U0, y)
    c = U0[int(np.argmin(y))]
    dist = np.linalg.norm(U0 - c, axis=1)
    d_min = min(np.sqrt(3), np.where(dist == 0, dist.max(), dist).min())
    r = (dist.max() + d_min) / 4.0
    new = s.ask()
    assert np.all(np.linalg.norm(new - c, axis=1) <= r + 1e-12)


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


@pytest.mark.parametrize(("variant", "tol"), [("intervals", None), ("balls", 1e-3),
                                              ("normal", 1e-4)])
def test_refinement_improves_on_the_initial_points(variant, tol):
    s = run(AdaptiveRandomSearch(2, 200, gamma=0.0, variant=variant, seed=0), bowl)
    initial_best = s.y_told[:10].min()
    assert s.best[1] < initial_best
    if tol is not None:  # "intervals" narrows fast (projections of all points bound the box)
        assert s.best[1] < tol


def test_bad_options():
    with pytest.raises(ValueError, match="variant"):
        AdaptiveRandomSearch(2, 10, variant="cubes")
    with pytest.raises(ValueError, match="gamma"):
        AdaptiveRandomSearch(2, 10, gamma=1.5)
    with pytest.raises(ValueError, match="init_points"):
        AdaptiveRandomSearch(2, 10, init_points=0)
    with pytest.raises(TypeError, match="init_points"):
        AdaptiveRandomSearch(2, 10, init_points=2.5)
