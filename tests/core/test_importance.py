"""Tests for core.importance: exact Sobol indices of the sparse-grid surrogate.

References: brute-force tensor Gauss-Legendre quadrature of the surrogate's own values (a
different code path from the 1-D moment tables), a seeded Monte Carlo (Jansen) estimate, and
functions whose indices are known in closed form (additive, product, Ishigami).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.basis import UnivariateFunctions
from core.grid.levels import regular_grid
from core.importance import (
    Importance,
    fit_least_squares,
    importance,
    sobol_variances,
    univariate_moments,
)
from core.run import minimize
from core.space import Categorical, Float, Int, SearchSpace
from core.surrogate import Surrogate, fit_surrogate


def grid_surrogate(f, d: int, level: int, degree: int = 3) -> Surrogate:
    lv, ix = regular_grid(d, level)
    U = np.ldexp(ix.astype(np.float64), -lv)
    return fit_surrogate(lv, ix, f(U), degree=degree)


def random_surrogate(d: int, n: int, seed: int, max_level: int = 4) -> Surrogate:
    """Random coefficients on a random set of grid points (no fit: any function of the span)."""
    rng = np.random.default_rng(seed)
    rows = {tuple([1] * d) + tuple([1] * d)}
    while len(rows) < n:
        lv = rng.integers(1, max_level + 1, size=d)
        ix = 2 * np.array([rng.integers(0, 1 << (l - 1)) for l in lv]) + 1
        rows.add(tuple(lv) + tuple(ix))
    arr = np.array(sorted(rows), dtype=np.int64)
    return Surrogate(arr[:, :d], arr[:, d:], 3, rng.normal(size=len(arr)) + 5.0)


def brute_force(s: Surrogate) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Mean, variance, V_i, V_Ti by tensor Gauss-Legendre quadrature of s's values."""
    d = s.levels.shape[1]
    L = int(s.levels.max())
    cells = np.arange((1 << L) + 1) / (1 << L)  # every knot of every function is on this grid
    xg, wg = np.polynomial.legendre.leggauss(s.degree + 1)
    a, b = cells[:-1], cells[1:]
    nodes = ((a + b) / 2)[:, None] + ((b - a) / 2)[:, None] * xg
    weights = ((b - a) / 2)[:, None] * wg
    x, w = nodes.ravel(), weights.ravel()
    mesh = np.meshgrid(*[x] * d, indexing="ij")
    F = np.asarray(s(np.stack([m.ravel() for m in mesh], axis=1))).reshape((x.size,) * d)

    def contract(A, axes):  # integrate A over the given axes (descending, so positions hold)
        for t in sorted(axes, reverse=True):
            A = np.tensordot(A, w, axes=([t], [0]))
        return A

    def weighted_sq(A, c):  # integral of (A - c)^2 over all of A's axes
        return float(contract((A - c) ** 2, range(A.ndim))) if A.ndim else (float(A) - c) ** 2

    mean = float(contract(F, range(d)))
    var = weighted_sq(F, mean)
    first, total = np.empty(d), np.empty(d)
    for i in range(d):
        first[i] = weighted_sq(contract(F, [t for t in range(d) if t != i]), mean)
        total[i] = var - weighted_sq(contract(F, [i]), mean)
    return mean, var, first, total


# --------------------------------------------------------------------------------------------
# the exact computation against slow references
# --------------------------------------------------------------------------------------------
def test_univariate_moments_match_dense_quadrature():
    funcs = UnivariateFunctions.from_pairs([1, 2, 2, 3, 3, 4, 5], [1, 1, 3, 3, 5, 9, 17], 3)
    m, M = univariate_moments(funcs)
    x = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule, error O(h^2)
    (V,) = funcs.values(x)
    np.testing.assert_allclose(m, V.mean(axis=1), atol=1e-8)
    np.testing.assert_allclose(M, V @ V.T / x.size, atol=1e-7)
    assert m[0] == pytest.approx(1.0) and M[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("d, n, seed", [(1, 6, 0), (2, 25, 1), (3, 30, 2)])
def test_sobol_variances_match_brute_force_quadrature(d, n, seed):
    s = random_surrogate(d, n, seed)
    mean, var, first, total = sobol_variances(s)
    bm, bv, bf, bt = brute_force(s)
    assert mean == pytest.approx(bm, rel=1e-11)
    assert var == pytest.approx(bv, rel=1e-9)
    np.testing.assert_allclose(first, bf, rtol=1e-8, atol=1e-12 * bv)
    np.testing.assert_allclose(total, bt, rtol=1e-8, atol=1e-12 * bv)


def test_indices_match_seeded_monte_carlo():
    """Jansen estimators on 2**15 base points: the sampling error is about 0.005."""
    s = random_surrogate(3, 40, 7)
    imp = importance(s)
    rng = np.random.default_rng(12345)
    N, d = 1 << 15, 3
    A, B = rng.random((N, d)), rng.random((N, d))
    fA, fB = np.asarray(s(A)), np.asarray(s(B))
    var = np.var(np.concatenate([fA, fB]))
    for i in range(d):
        ABi = A.copy()
        ABi[:, i] = B[:, i]
        fABi = np.asarray(s(ABi))
        S_mc = 1.0 - np.mean((fB - fABi) ** 2) / (2 * var)
        ST_mc = np.mean((fA - fABi) ** 2) / (2 * var)
        assert abs(imp.first_order[i] - S_mc) < 0.03
        assert abs(imp.total[i] - ST_mc) < 0.03


# --------------------------------------------------------------------------------------------
# closed-form indices
# --------------------------------------------------------------------------------------------
def test_additive_function_first_order_equals_total():
    """On a regular sparse grid the interpolant of an additive function is additive."""

    def f(U):
        return np.sin(3 * U[:, 0]) + 2 * U[:, 1] ** 2 + 0.5 * np.exp(U[:, 2])

    s = grid_surrogate(f, 3, 6)
    imp = importance(s, ["a", "b", "c"])
    np.testing.assert_allclose(imp.first_order, imp.total, atol=1e-10)
    assert imp.first_order.sum() == pytest.approx(1.0, abs=1e-10)
    # closed form of the true function
    v0 = 0.5 - math.sin(6) / 12 - ((1 - math.cos(3)) / 3) ** 2
    v1 = 4 * (1 / 5 - 1 / 9)
    v2 = 0.25 * ((math.e**2 - 1) / 2 - (math.e - 1) ** 2)
    exact = np.array([v0, v1, v2]) / (v0 + v1 + v2)
    np.testing.assert_allclose(imp.first_order, exact, atol=1e-4)


def test_product_function_closed_form():
    """f = prod_i (1 + a_i sin(2 pi u_i)): V_i = a_i^2 / 2, V_Ti = V_i prod_{j != i}(1 + V_j)."""
    a = np.array([1.0, 0.6, 0.3])

    def f(U):
        return np.prod(1 + a * np.sin(2 * np.pi * U), axis=1)

    imp = importance(grid_surrogate(f, 3, 6))  # 1023 points: measured error 1.5e-3
    v = a**2 / 2
    var = np.prod(1 + v) - 1
    S = v / var
    ST = np.array([v[i] * np.prod(np.delete(1 + v, i)) for i in range(3)]) / var
    np.testing.assert_allclose(imp.first_order, S, atol=3e-3)
    np.testing.assert_allclose(imp.total, ST, atol=3e-3)
    assert np.all(imp.total > imp.first_order + 0.01)  # interactions seen


def test_ishigami_closed_form():
    """Ishigami (a = 7, b = 0.1) from the interpolant of a level-6 regular grid (1023 points):
    every index within 5e-3 of the analytic value (measured error about 3e-3)."""
    a, b = 7.0, 0.1

    def f(U):
        X = -np.pi + 2 * np.pi * U
        return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])

    imp = importance(grid_surrogate(f, 3, 6))
    V1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    V2 = a**2 / 8
    V13 = b**2 * np.pi**8 * 8 / 225
    V = V1 + V2 + V13
    np.testing.assert_allclose(imp.first_order, [V1 / V, V2 / V, 0.0], atol=5e-3)
    np.testing.assert_allclose(imp.total, [(V1 + V13) / V, V2 / V, V13 / V], atol=5e-3)
    assert imp.first_order[2] < 1e-12  # u_3 acts only through its interaction with u_1


# --------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_invariants_on_random_surrogates(seed):
    d = 2 + seed % 3
    imp = importance(random_surrogate(d, 12 + 5 * seed, seed))
    assert imp.first_order.sum() <= 1.0
    assert np.all(imp.first_order >= 0) and np.all(imp.total <= 1)
    assert np.all(imp.first_order <= imp.total)
    assert imp.total.sum() >= 1.0 - 1e-9  # total indices cover all the variance


def test_identical_on_repeated_calls():
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "w": Int(1, 8), "x": Float(0, 1)})

    def fun(c):
        return (math.log10(c["lr"]) + 2) ** 2 + 0.1 * c["w"] + 0.01 * c["x"]

    res = minimize(fun, space, "sparse_grid", 60, seed=0)
    first, second = importance(res), importance(res)
    assert first.names == ("lr", "w", "x")
    assert first.first_order.tobytes() == second.first_order.tobytes()
    assert first.total.tobytes() == second.total.tobytes()
    assert np.argmax(first.first_order) == 0


def test_sparse_grid_run_uses_its_grid_and_checks_off_grid_points():
    space = SearchSpace({"a": Float(-2, 2), "b": Float(-2, 2)})
    res = minimize(
        lambda c: (c["a"] - 0.3) ** 2 + 0.2 * c["b"] ** 2, space, "sparse_grid", 50, seed=1
    )
    imp = importance(res)
    assert imp.fit == "interpolant"
    assert imp.n_points + imp.n_check == res.nfev
    assert imp.n_check >= 2 and imp.check_r2 > 0.9
    assert imp.first_order[0] > imp.first_order[1] > 0


@pytest.mark.parametrize("method", ["random", "bayesian"])
def test_scattered_runs_get_a_least_squares_surrogate(method):
    space = SearchSpace({"a": Float(0, 1), "b": Float(0, 1), "c": Float(0, 1)})
    res = minimize(
        lambda c: 3 * c["a"] + c["b"] ** 2,
        space,
        method,
        60 if method == "bayesian" else 200,
        seed=0,
    )
    imp = importance(res)
    assert imp.fit == "least_squares" and imp.level >= 2 and imp.check_r2 > 0.95
    v0, v1 = 9 / 12, 1 / 5 - 1 / 9
    np.testing.assert_allclose(imp.first_order, [v0 / (v0 + v1), v1 / (v0 + v1), 0], atol=0.03)


def test_failed_evaluations_are_left_out_and_categoricals_work():
    space = SearchSpace({"opt": Categorical(["sgd", "adam", "rms"]), "x": Float(0, 1)})

    def fun(c):
        if c["x"] > 0.95:
            raise RuntimeError("diverged")
        return {"sgd": 1.0, "adam": 0.0, "rms": 0.5}[c["opt"]] + 0.1 * c["x"]

    res = minimize(fun, space, "random", 80, seed=3)
    assert res.n_failed > 0
    imp = importance(res, fit="least_squares")
    assert imp.n_points == res.nfev - res.n_failed
    assert imp.first_order[0] > 0.9


def test_least_squares_is_deterministic_and_reports_cv():
    rng = np.random.default_rng(0)
    U = rng.random((150, 2))
    y = np.sin(4 * U[:, 0]) + U[:, 1]
    a, b = fit_least_squares(U, y), fit_least_squares(U, y)
    assert a.surrogate.coefficients.tobytes() == b.surrogate.coefficients.tobytes()
    assert a.cv_r2 > 0.99 and a.level >= 3


def test_as_dict_and_repr():
    imp = importance(random_surrogate(2, 10, 0), ["lr", "depth"])
    assert set(imp.as_dict()) == {"lr", "depth"}
    assert isinstance(imp, Importance) and "first" in repr(imp)


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_bad_input_is_named():
    s = random_surrogate(2, 10, 0)
    with pytest.raises(ValueError, match="fit"):
        importance(s, fit="fanova")
    with pytest.raises(ValueError, match="must name 2 dimensions"):
        importance(s, ["only_one"])
    with pytest.raises(TypeError, match="source"):
        importance([1, 2, 3])
    with pytest.raises(ValueError, match="constant"):
        importance(Surrogate([[1, 1]], [[1, 1]], 3, [2.0]))
    with pytest.raises(ValueError, match="at least 3 finite"):
        importance((np.zeros((2, 2)), np.array([1.0, np.nan])))
    with pytest.raises(ValueError, match="all 5 values are equal"):
        importance((np.random.default_rng(0).random((5, 2)), np.ones(5)))
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="interpolant"):
        importance((rng.random((20, 2)), rng.random(20)), fit="interpolant")
