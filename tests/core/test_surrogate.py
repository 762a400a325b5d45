"""Tests for core.surrogate: interpolation, SG++ reference, derivatives, domain, NaN, errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import check_grad

import core.surrogate as surrogate_module
from core.basis import basis_matrix, modified_bspline
from core.surrogate import (
    Surrogate,
    _dense_matrix,
    _solve_dense,
    _solve_sparse,
    _sparse_matrix,
    fit_surrogate,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "sgpp_reference.json"


@pytest.fixture(autouse=True)
def _strict_floats():
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        yield


# --------------------------------------------------------------------------------------------
# helpers: grids built here (independent of core.grid)
# --------------------------------------------------------------------------------------------
def random_adaptive_grid(d: int, n: int, seed: int, max_level: int = 10):
    """Adaptive-looking grid: the centre, then random children of random existing points."""
    rng = np.random.default_rng(seed)
    levels = [tuple([1] * d)]
    indices = [tuple([1] * d)]
    seen = {(levels[0], indices[0])}
    while len(levels) < n:
        k = int(rng.integers(len(levels)))
        t = int(rng.integers(d))
        lv, ix = list(levels[k]), list(indices[k])
        if lv[t] >= max_level:
            continue
        ix[t] = 2 * ix[t] + (-1 if rng.random() < 0.5 else 1)
        lv[t] += 1
        key = (tuple(lv), tuple(ix))
        if key not in seen:
            seen.add(key)
            levels.append(key[0])
            indices.append(key[1])
    return np.array(levels), np.array(indices)


def regular_sparse_grid(d: int, n: int):
    """All (l, i) with |l|_1 <= n + d - 1, odd i (the regular sparse grid point set)."""
    import itertools

    levels, indices = [], []
    for lv in itertools.product(range(1, n + 1), repeat=d):
        if sum(lv) > n + d - 1:
            continue
        for ix in itertools.product(*[range(1, 2**lt, 2) for lt in lv]):
            levels.append(lv)
            indices.append(ix)
    return np.array(levels), np.array(indices)


def points_of(levels, indices):
    return np.ldexp(indices.astype(float), -levels)


def smooth_f(U):
    return np.sin(3 * U[:, 0]) + np.cos(2 * U.sum(axis=1)) + U[:, -1] ** 2


# --------------------------------------------------------------------------------------------
# interpolation and the slow oracle
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("degree", [1, 3, 5, 7])
@pytest.mark.parametrize(("d", "n"), [(1, 20), (2, 150), (3, 120), (5, 200)])
def test_interpolates_grid_values(degree, d, n):
    levels, indices = random_adaptive_grid(d, n, seed=d * 100 + degree)
    X = points_of(levels, indices)
    y = smooth_f(X)
    s = fit_surrogate(levels, indices, y, degree)
    np.testing.assert_allclose(s(X), y, rtol=0, atol=1e-10 * max(1.0, np.abs(y).max()))
    assert s.residual <= 1e-12
    assert s.fit_mask.all() and s.n_points == n and s.dim == d
    np.testing.assert_array_equal(s.points, X)


@pytest.mark.parametrize(
    ("degree", "d", "n"), [(1, 3, 90), (3, 3, 90), (5, 3, 90), (3, 1, 30), (3, 2, 1), (3, 4, 120)]
)
def test_batch_paths_agree_with_dense_oracle(degree, d, n, monkeypatch, rng):
    levels, indices = random_adaptive_grid(d, n, seed=7)
    y = smooth_f(points_of(levels, indices))
    s = fit_surrogate(levels, indices, y, degree)
    U = rng.uniform(0, 1, (700, d))
    alpha = s.coefficients
    oracle = basis_matrix(U, levels, indices, degree) @ alpha
    eye = np.eye(d, dtype=int)
    grad_oracle = np.stack(
        [basis_matrix(U, levels, indices, degree, nu=eye[t]) @ alpha for t in range(d)], axis=1
    )
    hess_oracle = np.empty((700, d, d))
    for a in range(d):
        for b in range(d):
            nu = eye[a] + eye[b]
            hess_oracle[:, a, b] = basis_matrix(U, levels, indices, degree, nu=nu) @ alpha
    results = {}
    for name, small in [("small", 1 << 30), ("trie", 0)]:
        monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", small)
        results[name] = (s(U), s.gradient(U), s.hessian(U))
    # several chunks in the trie path
    monkeypatch.setattr(surrogate_module, "_CHUNK_ENTRIES", 5000)
    results["chunked"] = (s(U), s.gradient(U), s.hessian(U))
    for val, grad, hess in results.values():
        np.testing.assert_allclose(val, oracle, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grad, grad_oracle, rtol=1e-11, atol=1e-10)
        np.testing.assert_allclose(hess, hess_oracle, rtol=1e-11, atol=1e-8)


def test_direct_construction_and_pickle(rng):
    levels, indices = random_adaptive_grid(2, 60, seed=3)
    y = smooth_f(points_of(levels, indices))
    s = fit_surrogate(levels, indices, y, 3)
    t = Surrogate(levels, indices, 3, s.coefficients)
    U = rng.uniform(0, 1, (50, 2))
    np.testing.assert_array_equal(t(U), s(U))
    assert np.isnan(t.residual) and t.fit_mask is None
    u = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(u(U), s(U))
    with pytest.raises(ValueError, match=r"`coefficients` must have shape \(60,\)"):
        Surrogate(levels, indices, 3, s.coefficients[:-1])


def test_read_only():
    levels, indices = random_adaptive_grid(2, 20, seed=1)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    for arr in (s.levels, s.indices, s.coefficients, s.fit_mask, s.points):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0
    with pytest.raises(AttributeError):
        s.degree = 5


def test_converges_on_smooth_function(rng):
    f = lambda U: np.exp(-U[:, 0]) * np.sin(2 * U[:, 1] + 0.5)  # noqa: E731
    U = rng.uniform(0, 1, (2000, 2))
    inner = rng.uniform(0.25, 0.75, (2000, 2))
    for degree in (1, 3):
        errs, inner_errs = [], []
        for n in (3, 5, 7):
            levels, indices = regular_sparse_grid(2, n)
            s = fit_surrogate(levels, indices, f(points_of(levels, indices)), degree)
            errs.append(np.abs(s(U) - f(U)).max())
            inner_errs.append(np.abs(s(inner) - f(inner)).max())
        assert errs[0] > errs[1] > errs[2]
        assert inner_errs[0] > inner_errs[1] > inner_errs[2]
        # the modified boundary functions are linear near the boundary, so the cubic order
        # shows in the interior: about 3e-9 (cubic) vs 3e-5 (linear) at level 7
        if degree == 1:
            assert inner_errs[-1] > 1e-5
        else:
            assert inner_errs[-1] < 1e-7


# --------------------------------------------------------------------------------------------
# SG++ reference (pysgpp 3.3.1): values and gradients at probes, degrees 1, 3, 5
# --------------------------------------------------------------------------------------------
def _reference_cases():
    data = json.loads(REFERENCE.read_text())
    out = []
    for k, case in enumerate(data["cases"]):
        for degree in ("1", "3", "5"):
            name = case["function"].split()[0]
            label = f"{k}-{name}-d{case['dim']}-n{len(case['levels'])}-p{degree}"
            out.append(pytest.param(case, int(degree), id=label))
    return out


@pytest.mark.parametrize(("case", "degree"), _reference_cases())
def test_matches_sgpp_reference(case, degree):
    ref = case["interpolants"][str(degree)]
    s = fit_surrogate(case["levels"], case["indices"], case["values"], degree)
    probes = np.array(ref["probes"])
    # relative 1e-8 (|err| <= 1e-8 * |ref| + 1e-8 for components near zero)
    np.testing.assert_allclose(s(probes), ref["values"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(s.gradient(probes), ref["gradients"], rtol=1e-8, atol=1e-8)
    # and once more through the large-batch code path
    many = np.repeat(probes, 400, axis=0)
    np.testing.assert_allclose(s(many)[::400], ref["values"], rtol=1e-8, atol=1e-8)


def test_reference_covers_all_cases():
    data = json.loads(REFERENCE.read_text())
    assert len(data["cases"]) >= 19
    assert all(set(c["interpolants"]) == {"1", "3", "5"} for c in data["cases"])


# --------------------------------------------------------------------------------------------
# derivatives vs finite differences
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("degree", [3, 5])
@pytest.mark.parametrize("d", [1, 2, 4])
def test_gradient_and_hessian_vs_finite_differences(degree, d, rng):
    levels, indices = random_adaptive_grid(d, 25 * d, seed=11 + d)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)), degree)
    U = rng.uniform(0.02, 0.98, (30, d))
    h = 1e-6
    eye = np.eye(d)
    fd_grad = np.stack([(s(U + h * eye[t]) - s(U - h * eye[t])) / (2 * h) for t in range(d)], 1)
    fd_hess = np.stack(
        [(s.gradient(U + h * eye[t]) - s.gradient(U - h * eye[t])) / (2 * h) for t in range(d)], 1
    )
    grad, hess = s.gradient(U), s.hessian(U)
    gscale = max(1.0, np.abs(grad).max())
    hscale = max(1.0, np.abs(hess).max())
    np.testing.assert_allclose(grad, fd_grad, rtol=0, atol=1e-6 * gscale)
    np.testing.assert_allclose(hess, fd_hess, rtol=0, atol=1e-5 * hscale)
    np.testing.assert_array_equal(hess, np.swapaxes(hess, 1, 2))
    for u in U[:5]:
        assert check_grad(s, s.gradient, u, epsilon=1e-7) < 1e-5 * gscale


def test_value_and_gradient_single_point(rng):
    levels, indices = random_adaptive_grid(3, 50, seed=5)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    u = rng.uniform(0, 1, 3)
    value, grad = s.value_and_gradient(u)
    assert isinstance(value, float) and grad.shape == (3,)
    assert value == s(u[None, :])[0]
    np.testing.assert_allclose(grad, s.gradient(u[None, :])[0], rtol=1e-14, atol=1e-14)
    with pytest.raises(ValueError, match=r"`u` must have shape \(3,\)"):
        s.value_and_gradient(np.zeros((1, 3)))


# --------------------------------------------------------------------------------------------
# shapes and the domain guard
# --------------------------------------------------------------------------------------------
def test_shape_conventions(rng):
    levels, indices = random_adaptive_grid(2, 30, seed=2)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    u = rng.uniform(0, 1, 2)
    assert isinstance(s(u), float)
    assert s.gradient(u).shape == (2,) and s.hessian(u).shape == (2, 2)
    U = rng.uniform(0, 1, (7, 2))
    assert s(U).shape == (7,) and s.gradient(U).shape == (7, 2) and s.hessian(U).shape == (7, 2, 2)
    assert s(np.zeros((0, 2))).shape == (0,)
    with pytest.raises(ValueError, match=r"`U` must have shape \(m, 2\) or \(2,\)"):
        s(np.zeros(3))
    with pytest.raises(ValueError, match=r"`U` must have shape \(m, 2\) or \(2,\)"):
        s(np.zeros((4, 3)))
    # d = 1: a (d,) vector is one point, batches are (m, 1)
    s1 = fit_surrogate([[1], [2], [2]], [[1], [1], [3]], [1.0, 0.5, 2.0])
    assert isinstance(s1([0.3]), float) and s1(np.array([[0.3], [0.6]])).shape == (2,)


def test_outside_cube_is_inf_with_nan_derivatives(rng):
    levels, indices = random_adaptive_grid(2, 40, seed=4)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    U = np.array([[0.5, 0.5], [-1e-12, 0.5], [0.3, 1.0 + 1e-12], [0.0, 1.0], [np.nan, 0.2]])
    vals = s(U)
    assert np.isfinite(vals[0]) and np.isfinite(vals[3])
    assert np.all(vals[[1, 2, 4]] == np.inf)
    grad, hess = s.gradient(U), s.hessian(U)
    assert np.all(np.isfinite(grad[[0, 3]])) and np.all(np.isnan(grad[[1, 2, 4]]))
    assert np.all(np.isfinite(hess[[0, 3]])) and np.all(np.isnan(hess[[1, 2, 4]]))
    value, g = s.value_and_gradient(np.array([1.5, 0.5]))
    assert value == np.inf and np.all(np.isnan(g))
    assert s(np.array([2.0, 0.5])) == np.inf
    # many outside points in a large batch
    big = rng.uniform(-0.5, 1.5, (5000, 2))
    inside = np.all((big >= 0) & (big <= 1), axis=1)
    out = s(big)
    assert np.all(out[~inside] == np.inf) and np.all(np.isfinite(out[inside]))
    np.testing.assert_allclose(out[inside], s(big[inside]), rtol=1e-15)


def test_boundary_points_are_inside(rng):
    levels, indices = regular_sparse_grid(2, 4)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)), 3)
    corners = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    assert np.all(np.isfinite(s(corners)))
    # boundary values continue the interior smoothly
    eps = 1e-9
    np.testing.assert_allclose(s(corners), s(np.clip(corners, eps, 1 - eps)), atol=1e-6)


# --------------------------------------------------------------------------------------------
# non-finite values
# --------------------------------------------------------------------------------------------
def test_non_finite_values_are_left_out(rng):
    levels, indices = random_adaptive_grid(2, 60, seed=9)
    X = points_of(levels, indices)
    y = smooth_f(X)
    bad = np.zeros(60, dtype=bool)
    bad[[3, 10, 41]] = True
    y_bad = y.copy()
    y_bad[3], y_bad[10], y_bad[41] = np.nan, np.inf, -np.inf
    s = fit_surrogate(levels, indices, y_bad)
    np.testing.assert_array_equal(s.fit_mask, ~bad)
    assert s.n_points == 57
    np.testing.assert_array_equal(s.levels, levels[~bad])
    np.testing.assert_allclose(s(X[~bad]), y[~bad], atol=1e-10)
    # identical to fitting the finite subset directly
    t = fit_surrogate(levels[~bad], indices[~bad], y[~bad])
    U = rng.uniform(0, 1, (100, 2))
    np.testing.assert_allclose(s(U), t(U), rtol=1e-13, atol=1e-13)


def test_huge_values_fit_without_overflow(rng):
    """Values near 1e300 (a diverging loss) must not overflow the residual check."""
    levels, indices = random_adaptive_grid(2, 40, seed=3)
    X = points_of(levels, indices)
    y = 1e300 * (1.0 + smooth_f(X) / 10.0)
    s = fit_surrogate(levels, indices, y)
    assert s.residual < 1e-10
    np.testing.assert_allclose(s(X), y, rtol=1e-9)
    # at the float maximum the coefficients themselves overflow: a solver error, not a crash
    with pytest.raises(np.linalg.LinAlgError, match="overflow"):
        fit_surrogate(levels, indices, np.where(np.arange(40) == 7, 1.79e308, y))


def test_all_non_finite_raises():
    with pytest.raises(ValueError, match="at least one finite value, got 2 non-finite"):
        fit_surrogate([[1], [2]], [[1], [1]], [np.nan, np.inf])


def test_single_finite_value(rng):
    s = fit_surrogate([[1, 1], [2, 1]], [[1, 1], [1, 1]], [np.nan, 4.0])
    assert s.n_points == 1
    # only the basis function of the finite point (0.25, 0.5) remains: 4 phi_{2,1}(u_0)
    assert s([0.25, 0.3]) == pytest.approx(4.0)
    U = rng.uniform(0, 1, (20000, 2))
    np.testing.assert_allclose(s(U), 4.0 * modified_bspline(U[:, 0], 2, 1, 3), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# solvers and failures
# --------------------------------------------------------------------------------------------
def test_interpolation_matrices_match_basis_matrix():
    levels, indices = random_adaptive_grid(3, 150, seed=24)
    X = points_of(levels, indices)
    expect = basis_matrix(X, levels, indices, 5)
    dense = _dense_matrix(X, levels, indices, 5)
    assert dense.flags.f_contiguous and dense.shape == (150, 150)
    np.testing.assert_array_equal(dense, expect)
    np.testing.assert_array_equal(_sparse_matrix(X, levels, indices, 5).toarray(), expect)
    # the diagonal is the basis function at its own grid point: never zero
    assert np.all(np.diag(dense) != 0)


def test_sparse_solver_agrees_with_dense(rng):
    levels, indices = random_adaptive_grid(3, 300, seed=21)
    y = smooth_f(points_of(levels, indices))
    dense = fit_surrogate(levels, indices, y, 3, solver="dense")
    sparse = fit_surrogate(levels, indices, y, 3, solver="sparse")
    np.testing.assert_allclose(sparse.coefficients, dense.coefficients, rtol=1e-8, atol=1e-9)
    assert sparse.residual <= 1e-12
    U = rng.uniform(0, 1, (200, 3))
    np.testing.assert_allclose(sparse(U), dense(U), rtol=1e-10, atol=1e-10)


def test_auto_uses_sparse_above_threshold(monkeypatch):
    levels, indices = random_adaptive_grid(2, 80, seed=22)
    y = smooth_f(points_of(levels, indices))
    monkeypatch.setattr(surrogate_module, "DENSE_MAX_POINTS", 50)
    called = []
    original = surrogate_module._solve_sparse
    monkeypatch.setattr(
        surrogate_module, "_solve_sparse", lambda A, b: called.append(1) or original(A, b)
    )
    s = fit_surrogate(levels, indices, y)
    assert called and s.residual <= 1e-12


def test_unconverged_solve_raises():
    levels, indices = random_adaptive_grid(2, 40, seed=23)
    y = smooth_f(points_of(levels, indices))
    with pytest.raises(np.linalg.LinAlgError, match=r"relative residual .* > rtol=1e-300"):
        fit_surrogate(levels, indices, y, rtol=1e-300)


def test_singular_matrices_are_detected():
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        _solve_dense(np.asfortranarray(A), np.ones(2))
    import scipy.sparse

    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        _solve_sparse(scipy.sparse.csc_matrix(A), np.ones(2))


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("levels", "indices", "y", "kwargs", "exc", "match"),
    [
        ([[1], [2]], [[1], [1]], [1.0, 2.0], {"degree": 2}, ValueError, "must be odd.*degree=2"),
        ([[1], [2]], [[1], [1]], [1.0, 2.0], {"degree": 4}, ValueError, "degree=4"),
        ([[1], [2]], [[1], [1]], [1.0], {}, ValueError, r"`y` must have shape \(2,\)"),
        ([[1], [2]], [[1]], [1.0, 2.0], {}, ValueError, "`indices` must have the shape"),
        ([1, 2], [1, 1], [1.0, 2.0], {}, ValueError, r"`levels` must have shape \(n, d\)"),
        ([[0], [2]], [[1], [1]], [1.0, 2.0], {}, ValueError, "got level=0"),
        ([[1], [2]], [[1], [2]], [1.0, 2.0], {}, ValueError, "got index=2 at level=2"),
        ([[1], [2]], [[1], [5]], [1.0, 2.0], {}, ValueError, "got index=5 at level=2"),
        ([[2], [2]], [[1], [1]], [1.0, 2.0], {}, ValueError, r"duplicate .* \(\[2\], \[1\]\)"),
        ([[1], [2]], [[1], [1]], [1.0, 2.0], {"solver": "lu"}, ValueError, "`solver` must be"),
        ([[1], [2]], [[1], [1]], [1.0, 2.0], {"rtol": 0.0}, ValueError, "`rtol` must be > 0"),
        ([[1.5], [2]], [[1], [1]], [1.0, 2.0], {}, TypeError, "`levels` must be an integer"),
    ],
)
def test_fit_validation(levels, indices, y, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit_surrogate(levels, indices, y, **kwargs)


# --------------------------------------------------------------------------------------------
# slices
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("d", "dims"), [(2, (0, 1)), (2, (1, 0)), (4, (2, 0)), (4, (1, 3))])
def test_slice_matches_pointwise(d, dims, rng):
    levels, indices = random_adaptive_grid(d, 80, seed=31 + d)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)), 3)
    fixed = rng.uniform(0, 1, d)
    xs, ys, Z = s.evaluate_slice(dims=dims, fixed=fixed, resolution=17)
    assert xs.shape == (17,) and ys.shape == (17,) and Z.shape == (17, 17)
    np.testing.assert_allclose(xs, (np.arange(17) + 0.5) / 17)
    X, Y = np.meshgrid(xs, ys)  # X[j, i] = xs[i], Y[j, i] = ys[j]
    U = np.tile(fixed, (17 * 17, 1))
    U[:, dims[0]] = X.ravel()
    U[:, dims[1]] = Y.ravel()
    np.testing.assert_allclose(Z, s(U).reshape(17, 17), rtol=1e-12, atol=1e-12)


def test_slice_default_fixed_is_centre():
    levels, indices = random_adaptive_grid(3, 60, seed=41)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    xs, ys, Z = s.evaluate_slice(dims=(0, 2), resolution=5)
    assert Z[1, 3] == pytest.approx(s([xs[3], 0.5, ys[1]]), rel=1e-12, abs=1e-12)


def test_slice_errors():
    levels, indices = random_adaptive_grid(3, 30, seed=42)
    s = fit_surrogate(levels, indices, smooth_f(points_of(levels, indices)))
    with pytest.raises(ValueError, match="two distinct ints"):
        s.evaluate_slice(dims=(1, 1))
    with pytest.raises(ValueError, match="two distinct ints"):
        s.evaluate_slice(dims=(0, 3))
    with pytest.raises(ValueError, match=r"`fixed` must have shape \(3,\)"):
        s.evaluate_slice(fixed=[0.5, 0.5])
    with pytest.raises(ValueError, match="`fixed` must lie in"):
        s.evaluate_slice(dims=(0, 1), fixed=[0.5, 0.5, 1.5])
    with pytest.raises(ValueError, match="`resolution` must be in"):
        s.evaluate_slice(resolution=0)
    s1 = fit_surrogate([[1], [2]], [[1], [1]], [1.0, 2.0])
    with pytest.raises(ValueError, match="d >= 2"):
        s1.evaluate_slice()
