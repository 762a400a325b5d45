"""What the default sparse grid search does with noisy objective values.

docs/decisions.md, "Noisy objectives", says it in prose; these tests pin each statement, so a
change to how the search treats noise is a deliberate change of a test. Every noise is drawn
from a seeded numpy Generator, in the order the values are asked.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.grid import NovakRitter
from core.grid.levels import coordinates, regular_grid
from core.records import Evaluation, RunResult
from core.run import iterate, minimize
from core.space import Float, Int, SearchSpace
from core.strategies import make_strategy
from core.strategies._trust_region import (
    FIT_FACTOR,
    QuadraticTrustRegion,
    local_quadratic,
    model_size,
    quadratic_model_step,
)
from core.strategies.distinct import DistinctSearch
from core.surrogate import fit_surrogate

#: Minimizer of the test functions (off every dyadic grid point).
C = np.array([0.3141, 0.6718, 0.4142, 0.5772, 0.2718])
#: A quadratic with its minimum 0 at X0 and a cross term.
X0 = np.array([0.37, 0.61])
H0 = np.array([[2.0, 0.6], [0.6, 1.0]])


def quadratic(U: np.ndarray) -> np.ndarray:
    Z = U - X0
    return 0.5 * np.einsum("ni,ij,nj->n", Z, H0, Z)


def sphere(U: np.ndarray) -> np.ndarray:
    """A shifted sphere on the unit cube, minimum 0 at ``C``."""
    return np.sum((U - C[: U.shape[1]]) ** 2, axis=1)


def unit_space(dim: int) -> SearchSpace:
    return SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(dim)})


class NoisySphere:
    """``sphere(u) + sigma * N(0, 1)``, one draw per call from a seeded Generator (the serial
    driver calls in asked order, so history index ``i`` got ``noise[i]``)."""

    def __init__(self, dim: int, sigma: float, seed: int, fail_every: int = 0) -> None:
        self.dim, self.sigma, self.fail_every = dim, sigma, fail_every
        self.rng = np.random.default_rng(seed)
        self.noise: list[float] = []

    def __call__(self, config: dict) -> float:
        u = np.array([config[f"x{t}"] for t in range(self.dim)])
        e = self.sigma * float(self.rng.standard_normal())
        self.noise.append(e)
        if self.fail_every and len(self.noise) % self.fail_every == 0:
            return float("nan")  # a failed evaluation among the noisy ones
        return float(sphere(u[None])[0]) + e


def drive(s, f):
    """Ask/tell ``s`` on the unit-cube function ``f(U) -> y`` until it stops."""
    while len(U := s.ask()):
        s.tell(U, f(U))
    return s


# -- stage 0: the surrogate interpolates, the refinement ranks -----------------------------------
def test_sparse_grid_surrogate_interpolates_the_noise():
    """The B-spline surrogate of stage 0 reproduces every noisy grid value exactly, so its error
    at the grid points is the noise itself; the least-squares quadratic of the same data is
    closer to the true function there than the data are."""
    levels, indices = regular_grid(2, 4)  # 49 points
    U = coordinates(levels, indices)
    rng = np.random.default_rng(0)
    sigma = 0.01
    y = quadratic(U) + sigma * rng.standard_normal(len(U))
    s = fit_surrogate(levels, indices, y)
    at_grid = np.array([s(u) for u in U])
    np.testing.assert_allclose(at_grid, y, rtol=0, atol=1e-12)  # interpolates the noise
    interpolant_error = np.sqrt(np.mean((at_grid - quadratic(U)) ** 2))
    c, fc, Z, (a, g, H) = local_quadratic(U, y, len(U))  # regresses on the same 49 points
    fitted = fc + a + Z @ g + 0.5 * np.einsum("ni,ij,nj->n", Z, H, Z)
    order = np.argsort(np.linalg.norm(U - c, axis=1), kind="stable")
    fit_error = np.sqrt(np.mean((fitted - quadratic(U[order])) ** 2))
    assert interpolant_error > 0.5 * sigma
    assert fit_error < 0.5 * interpolant_error


def test_refinement_reads_the_values_only_through_their_order():
    """Novak-Ritter ranks the values: noise that keeps their order changes no grid point (and a
    lucky value only moves its point up the ranking)."""
    def grid(transform):
        g = NovakRitter(2, 45)
        while len(U := g.ask()):
            g.tell(U, transform(sphere(U)))
        return g.points

    plain = grid(lambda y: y)
    np.testing.assert_array_equal(grid(lambda y: 3.0 * y - 1.0), plain)
    np.testing.assert_array_equal(grid(lambda y: np.sqrt(y) + 1e-3), plain)


# -- quadratic models regress --------------------------------------------------------------------
def test_least_squares_quadratic_recovers_the_minimizer_from_noisy_samples():
    """80 noisy samples of a quadratic (about 13 per coefficient): the fit's minimizer is near
    the true one while the best sample (the incumbent a zoom box would centre on) is not, and
    the fit's intercept estimates how lucky the incumbent's value was."""
    rng = np.random.default_rng(0)
    P = rng.uniform(0.1, 0.9, (80, 2))
    v = quadratic(P) + 0.01 * rng.standard_normal(80)
    c, fc, Z, fit = local_quadratic(P, v, len(P))
    a, g, H = fit
    np.testing.assert_array_equal(c, P[np.argmin(v)])  # the incumbent: the best noisy value
    x_fit = c + np.linalg.solve(H, -g)
    assert np.linalg.norm(x_fit - X0) < 0.02
    assert np.linalg.norm(c - X0) > 0.05
    luck = float(quadratic(c[None])[0]) - fc  # how far below the true value the best sample is
    assert luck > 0.01 and a > 0.01  # the fit does not pass through the lucky value ...
    assert a == pytest.approx(luck, abs=0.002)  # ... it sits near the true one


def test_model_and_trust_region_fits_have_more_points_than_coefficients():
    """The model steps fit 1.5 times as many points as a quadratic has coefficients, the trust
    region one more than it has: both regress, the trust region barely."""
    for d in (2, 5):
        p = model_size(d)
        assert QuadraticTrustRegion(d).n_points == p + 1
    rng = np.random.default_rng(1)
    P = rng.uniform(size=(40, 2))
    v = sphere(P) + 0.01 * rng.standard_normal(40)
    assert FIT_FACTOR == 1.5
    n_fit = int(FIT_FACTOR * model_size(2))
    c, fc, Z, (a, g, H) = local_quadratic(P, v, n_fit)
    assert len(Z) == n_fit == 9 > model_size(2)
    near = np.argsort(np.linalg.norm(P - c, axis=1), kind="stable")[:n_fit]
    fitted = a + Z @ g + 0.5 * np.einsum("ni,ij,nj->n", Z, H, Z)
    assert np.max(np.abs(fitted - (v[near] - fc))) > 1e-4  # not an interpolant
    # a model step is the minimum of exactly this fit: its prediction is the fit's value there
    x, predicted = quadratic_model_step(P, v)
    z = x - c
    assert predicted == pytest.approx(fc + a + g @ z + 0.5 * z @ H @ z, rel=1e-12, abs=1e-12)


def test_trust_region_shrinks_when_noise_makes_a_step_look_worse_than_predicted():
    """The ratio test reads one value per step: the same step that keeps the radius with its
    true value halves it when noise adds most of the predicted decrease."""
    rng = np.random.default_rng(2)
    U = 0.5 + rng.uniform(-0.05, 0.05, (7, 2))
    y = quadratic(U)

    def radius_after(noise: float) -> tuple[float, float]:
        tr = QuadraticTrustRegion(2)
        x, predicted = tr.propose(U, y, np.random.default_rng(0))
        r0 = tr.radius
        fc = float(np.min(y))
        true = float(quadratic(x[None])[0])
        assert predicted == pytest.approx(true, abs=1e-9)  # exact model of a quadratic
        tr.update(true + noise * (fc - predicted))  # noise as a share of the decrease
        return r0, tr.radius

    r0, r = radius_after(0.0)
    assert r >= r0  # kept (or doubled at the box's edge)
    r0, r = radius_after(0.95)
    assert r == pytest.approx(r0 / 2)


# -- non-finite values are left out of the fits -------------------------------------------------
def test_nan_values_among_noisy_values_are_left_out_of_the_quadratic_fits():
    rng = np.random.default_rng(3)
    U = rng.uniform(0.2, 0.8, (30, 2))
    y = sphere(U) + 0.01 * rng.standard_normal(30)
    y_nan = y.copy()
    y_nan[[3, 11, 17, 29]] = [np.nan, np.inf, np.nan, -np.inf]
    keep = np.isfinite(y_nan)
    step = quadratic_model_step(U, y_nan)
    assert step is not None
    clean = quadratic_model_step(U[keep], y[keep])
    np.testing.assert_array_equal(step[0], clean[0])
    assert step[1] == clean[1]
    a = QuadraticTrustRegion(2).propose(U, y_nan, np.random.default_rng(0))
    b = QuadraticTrustRegion(2).propose(U[keep], y[keep], np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_nan_values_among_noisy_values_do_not_break_the_surrogate():
    levels, indices = regular_grid(2, 3)
    U = coordinates(levels, indices)
    y = quadratic(U) + 0.01 * np.random.default_rng(4).standard_normal(len(U))
    y[[2, 9]] = np.nan
    s = fit_surrogate(levels, indices, y)
    assert s.fit_mask.tolist() == np.isfinite(y).tolist()
    ok = np.flatnonzero(np.isfinite(y))
    np.testing.assert_allclose([s(U[k]) for k in ok], y[ok], rtol=0, atol=1e-12)


# -- the whole run --------------------------------------------------------------------------------
@pytest.mark.parametrize(("dim", "budget"), [(2, 60), (5, 150)])
def test_default_search_on_a_noisy_sphere(dim, budget):
    """Exact budget, one run per seed, and the reported result is an observed value: the best
    one, at its point, so under noise it is optimistic (below the true value there)."""
    runs = []
    for _ in range(2):
        f = NoisySphere(dim, sigma=0.01, seed=11)
        res = minimize(f, unit_space(dim), "sparse_grid", budget, seed=5)
        runs.append((res, np.array(f.noise)))
    (res, noise), (again, _) = runs
    assert res.nfev == budget == len(noise)
    np.testing.assert_array_equal(again.U, res.U)  # same seed, same points, same values
    np.testing.assert_array_equal(again.values, res.values)
    np.testing.assert_array_equal(res.values, sphere(res.U) + noise)
    assert res.fun == np.min(res.values)
    hits = [e for e in res.history if np.array_equal(e.u, res.u)]
    assert len(hits) == 1 and hits[0].value == res.fun  # observed once, never a prediction
    assert res.fun < float(sphere(res.u[None])[0])  # winner's curse: the best value was lucky
    U = res.U  # no point is asked twice: nothing is re-evaluated
    gaps = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
    assert gaps.min() > 1e-9


def test_default_search_with_failed_evaluations_among_noisy_ones():
    f = NoisySphere(2, sigma=0.01, seed=12, fail_every=5)
    res = minimize(f, unit_space(2), "sparse_grid", 60, seed=6)
    assert res.nfev == 60 and res.n_failed == 12
    assert np.isfinite(res.fun) and res.fun == np.nanmin(res.values)
    assert float(sphere(res.u[None])[0]) < 0.01  # the fits went on without the failed values


def test_top_gives_the_best_finite_evaluations_to_evaluate_again():
    """``RunResult.top(k)``: the k lowest finite values, best first, failed ones left out; the
    remedy the docs give for a lucky best (evaluate these again, choose by the mean)."""
    f = NoisySphere(2, sigma=0.01, seed=12, fail_every=5)
    res = minimize(f, unit_space(2), "sparse_grid", 60, seed=6)
    top = res.top(5)
    values = [e.value for e in top]
    assert len(top) == 5 and values == sorted(values)
    assert top[0].value == res.fun and np.array_equal(top[0].u, res.u)
    finite = np.sort(res.values[np.isfinite(res.values)])
    np.testing.assert_array_equal(values, finite[:5])
    assert len(res.top(1000)) == res.nfev - res.n_failed == 48  # never a failed evaluation
    # re-evaluating the five with fresh noise: each one's mean is above its lucky first value
    fresh = NoisySphere(2, sigma=0.01, seed=99)
    means = [np.mean([fresh(e.config) for _ in range(20)]) for e in top]
    assert all(m > e.value for m, e in zip(means, top, strict=True))
    with pytest.raises(ValueError, match="`k` must be in"):
        res.top(0)
    with pytest.raises(TypeError, match="`k` must be an int"):
        res.top(2.0)


def _result(values: list[float]) -> RunResult:
    history = tuple(
        Evaluation(i, {"x": 0.1 * i}, np.array([0.1 * i]), v, 0.0,
                   "ok" if np.isfinite(v) else "failed")
        for i, v in enumerate(values))
    finite = [v for v in values if np.isfinite(v)]
    best = min(finite) if finite else float("nan")
    return RunResult(None, best, np.array([np.nan]), len(values), 1, history, "random",
                     "budget", bool(finite), "", 0.0)


def test_top_edge_cases():
    """Ties keep history order, k beyond the finite evaluations gives all of them, a run with no
    finite value gives none, and k is validated (numpy ints pass, bools and floats do not)."""
    res = _result([0.5, np.nan, 0.2, 0.5, 0.2, np.nan])
    assert [e.index for e in res.top(np.int64(3))] == [2, 4, 0]
    assert [e.index for e in res.top(10)] == [2, 4, 0, 3]
    assert _result([np.nan, np.nan]).top(2) == ()
    assert _result([]).top(1) == ()
    with pytest.raises(TypeError, match="`k` must be an int, got k=True"):
        res.top(True)


def test_a_configuration_is_evaluated_once_however_noisy():
    """On integer parameters the search proposes configurations again, but the driver tells
    them their first value: a lucky value is never checked by a second evaluation."""
    rng = np.random.default_rng(13)
    space = SearchSpace({"a": Int(0, 9), "b": Int(0, 9)})

    def noisy(config: dict) -> float:
        return (config["a"] - 3) ** 2 + (config["b"] - 6) ** 2 + rng.standard_normal()

    strategy = DistinctSearch(make_strategy("sparse_grid", 2, 40, seed=7), space)
    history = [e for batch in iterate(noisy, space, strategy) for e in batch.evaluations]
    assert strategy.n_free > 0  # configurations were proposed again ...
    configs = {(e.config["a"], e.config["b"]) for e in history}
    assert len(configs) == len(history) == 40  # ... and none was evaluated twice


# -- a single lucky value -------------------------------------------------------------------------
def test_a_single_lucky_value_centres_the_zoom_boxes_and_the_trust_region_and_wins():
    """One evaluation far below the others (at the first grid point, the centre) becomes the
    incumbent for good: every zoom box is centred on it (its value reused, not re-evaluated),
    every trust-region step starts from it, and it is the result."""
    lucky = np.array([0.5, 0.5])
    rng = np.random.default_rng(0)

    def f(U):
        y = sphere(U) + 0.001 * rng.standard_normal(len(U))
        y[np.all(U == lucky, axis=1)] = -1.0
        return y

    s = drive(make_strategy("sparse_grid", 2, 60, seed=3), f)
    assert s.n_told == 60
    np.testing.assert_array_equal(s.best[0], lucky)
    assert s.best[1] == -1.0
    assert np.sum(np.all(s.U_told == lucky, axis=1)) == 1  # evaluated once
    stages = s.first_search.zoom_stages
    assert stages
    for lo, hi, child in stages:
        np.testing.assert_allclose((lo + hi) / 2, lucky, rtol=0, atol=1e-15)
        assert child.y_told[0] == -1.0  # the box's centre: the lucky value, told for free
    assert s.local_steps
    for step in s.local_steps:
        np.testing.assert_array_equal(step.path[0], lucky)
    # the outlier holds the search near it: the best other point is far worse than in the
    # same run without the outlier
    rng = np.random.default_rng(0)
    clean = drive(make_strategy("sparse_grid", 2, 60, seed=3),
                  lambda U: sphere(U) + 0.001 * rng.standard_normal(len(U)))
    others = ~np.all(s.U_told == lucky, axis=1)
    assert np.min(sphere(s.U_told[others])) > 100 * np.min(sphere(clean.U_told))
