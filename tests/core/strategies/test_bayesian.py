"""Bayesian optimization: GP internals against finite differences, and behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime, check_grad
from scipy.stats import norm

from core.strategies import BayesianOptimization, _gp


def run(s, f, max_points=None):
    while len(U := s.ask(max_points=max_points)):
        s.tell(U, f(U))
    return s


@pytest.fixture
def data(rng):
    X = rng.random((25, 3))
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2]
    return X, (y - y.mean()) / y.std()


def test_marginal_likelihood_gradient(data, rng):
    X, y = data
    D2 = _gp.squared_differences(X)
    for _ in range(3):
        theta = rng.normal(size=5) * 0.7
        f = lambda t: _gp._neg_log_posterior(t, D2, y)[0]  # noqa: E731
        g = lambda t: _gp._neg_log_posterior(t, D2, y)[1]  # noqa: E731
        err = check_grad(f, g, theta, epsilon=1e-6)
        assert err < 1e-4 * max(1.0, np.linalg.norm(g(theta)))


def test_marginal_likelihood_against_naive_formula(data):
    X, y = data
    theta = np.array([0.3, -0.2, 0.5, 0.1, np.log(1e-3)])
    lam, s, noise = np.exp(theta[:3]), np.exp(theta[3]), np.exp(theta[4]) + _gp.MIN_NOISE
    r = np.sqrt(5 * ((X[:, None, :] - X[None]) ** 2 @ lam))
    C = s * (1 + r + r**2 / 3) * np.exp(-r) + noise * np.eye(len(X))
    mll = -0.5 * y @ np.linalg.solve(C, y) - 0.5 * np.linalg.slogdet(C)[1]
    prior = -np.sum(0.1 / lam + 0.1 * lam) + np.log(s) - s + 0.1 * np.log(noise) - 30 * noise
    np.testing.assert_allclose(_gp._neg_log_posterior(theta, _gp.squared_differences(X), y)[0],
                               -(mll + prior), rtol=1e-10)


def test_posterior_and_log_ei_gradients(data, rng):
    X, y = data
    gp = _gp.fit_gp(X, y, [_gp.default_theta(3)])
    for _ in range(5):
        u = rng.random(3)
        mean, var, dmean, dvar = gp.predict_with_gradient(u)
        m2, v2 = gp.predict(u[None])
        np.testing.assert_allclose([mean, var], [m2[0], v2[0]], rtol=1e-9, atol=1e-12)
        fd_mean = approx_fprime(u, lambda x: gp.predict(x[None])[0][0], 1e-7)
        fd_var = approx_fprime(u, lambda x: gp.predict(x[None])[1][0], 1e-7)
        np.testing.assert_allclose(dmean, fd_mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dvar, fd_var, rtol=1e-4, atol=1e-6)
        f_best = y.min()
        val, grad = _gp.log_expected_improvement_with_gradient(gp, u, f_best)
        np.testing.assert_allclose(val, _gp.log_expected_improvement(m2, v2, f_best)[0])
        fd = approx_fprime(u, lambda x, fb=f_best: _gp.log_expected_improvement_with_gradient(
            gp, x, fb)[0], 1e-7)
        np.testing.assert_allclose(grad, fd, rtol=1e-3, atol=1e-5)


def test_log_h_is_accurate_and_monotone():
    z = np.linspace(-30, 5, 2001)
    naive = np.log(z * norm.cdf(z) + norm.pdf(z))
    ok = np.isfinite(naive) & (z > -25)
    np.testing.assert_allclose(_gp.log_h(z)[ok], naive[ok], rtol=1e-7)
    far = _gp.log_h(np.array([-1e3, -1e2, -40.0]))
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) > 0)
    assert np.all(np.diff(_gp.log_h(z)) > 0)


def test_gp_interpolates_and_is_uncertain_far_away(data):
    X, y = data
    gp = _gp.fit_gp(X, y, [_gp.default_theta(3)])
    mean, var = gp.predict(X)
    np.testing.assert_allclose(mean, y, atol=0.05)
    assert np.all(np.sqrt(var) < 0.1)
    _, far_var = gp.predict(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert np.all(far_var > var.max())


def test_finds_quadratic_minimum_fast():
    target = np.array([0.31, 0.72])
    f = lambda U: np.sum((U - target) ** 2, axis=1)  # noqa: E731
    s = run(BayesianOptimization(2, 20, seed=0), f)
    assert s.best[1] < 1e-4
    assert s.n_told == 20


def test_posterior_in_objective_units():
    f = lambda U: 1000.0 + 50.0 * np.sum((U - 0.4) ** 2, axis=1)  # noqa: E731
    s = BayesianOptimization(2, 12, seed=1)
    assert np.all(np.isnan(s.posterior(np.full((3, 2), 0.5))[0]))
    run(s, f)
    mean, std = s.posterior(s.U_told)
    np.testing.assert_allclose(mean, s.y_told, rtol=1e-3)
    assert std.shape == (12,) and np.all(std >= 0)
    grid = np.random.default_rng(0).random((50, 2))
    np.testing.assert_allclose(s.posterior(grid)[0], f(grid), rtol=0.02)


def test_failed_values_get_the_worst_finite_value():
    s = BayesianOptimization(1, 8, n_initial=3, seed=0)
    U = s.ask()
    s.tell(U, np.array([1.0, np.nan, 3.0]))
    U_train, y_train = s._training_data()
    np.testing.assert_array_equal(y_train, [1.0, 3.0, 3.0])
    mean, _ = s.posterior(U)
    assert np.all(np.isfinite(mean))


def test_no_duplicate_proposals_on_flat_function():
    s = run(BayesianOptimization(2, 25, seed=0), lambda U: np.zeros(len(U)))
    U = s.U_told
    dist = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
    assert dist.min() > 1e-9


def test_initial_design_is_latin_hypercube():
    s = BayesianOptimization(3, 50, n_initial=8, seed=0)
    U = s.ask()
    assert U.shape == (8, 3)
    for t in range(3):  # one point per stratum in every dimension
        assert sorted(np.floor(U[:, t] * 8).astype(int)) == list(range(8))
    assert BayesianOptimization(5, 50).n_initial == 5
    assert BayesianOptimization(1, 50).n_initial == 2
    assert BayesianOptimization(2, 2).n_initial == 2


def test_bad_options():
    with pytest.raises(ValueError, match="n_initial"):
        BayesianOptimization(2, 10, n_initial=0)
    with pytest.raises(TypeError, match="n_starts"):
        BayesianOptimization(2, 10, n_starts=1.5)
