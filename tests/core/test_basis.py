"""Tests for core.basis: slow scalar oracles, golden values, derivatives, invariants, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.basis import (
    SUPPORTED_DEGREES,
    UnivariateFunctions,
    basis_matrix,
    cardinal_bspline,
    check_degree,
    modified_bspline,
    tensor_factors,
)


@pytest.fixture(autouse=True)
def _strict_floats():
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        yield


# --------------------------------------------------------------------------------------------
# slow scalar oracles (pure Python)
# --------------------------------------------------------------------------------------------
def naive_b(x: float, p: int) -> float:
    """Cardinal B-spline by the Cox-de Boor recursion."""
    if p == 0:
        return 1.0 if 0.0 <= x < 1.0 else 0.0
    return x / p * naive_b(x, p - 1) + (p + 1 - x) / p * naive_b(x - 1.0, p - 1)


def naive_b_deriv(x: float, p: int, nu: int) -> float:
    """nu-th derivative: b_p' = b_{p-1}(x) - b_{p-1}(x - 1), applied nu times."""
    if nu == 0:
        return naive_b(x, p)
    if p == 0:
        return 0.0
    return naive_b_deriv(x, p - 1, nu - 1) - naive_b_deriv(x - 1.0, p - 1, nu - 1)


def naive_hier(x: float, level: int, index: int, p: int, nu: int) -> float:
    """Plain hierarchical B-spline b_p(2^l x - i + (p+1)/2) and its x-derivatives."""
    c = (p + 1) // 2
    return 2.0 ** (level * nu) * naive_b_deriv(2.0**level * x - index + c, p, nu)


def naive_modified(x: float, level: int, index: int, p: int, nu: int = 0) -> float:
    """Modified B-spline via the sum formula sum_k (k+1) phi_{l,1-k} (more terms than needed)."""
    if level == 1:
        return 1.0 if nu == 0 else 0.0
    if index == 1:
        return sum((k + 1) * naive_hier(x, level, 1 - k, p, nu) for k in range(p + 4))
    if index == 2**level - 1:
        return (-1.0) ** nu * naive_modified(1.0 - x, level, 1, p, nu)
    return naive_hier(x, level, index, p, nu)


def random_level_index(rng: np.random.Generator, size: int, max_level: int = 7):
    levels = rng.integers(1, max_level + 1, size=size)
    indices = 2 * rng.integers(0, 2 ** (levels - 1)) + 1
    return levels, indices


# --------------------------------------------------------------------------------------------
# cardinal B-spline
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", range(0, 8))
@pytest.mark.parametrize("nu", [0, 1, 2])
def test_cardinal_matches_cox_de_boor(p, nu, rng):
    x = rng.uniform(-1.0, p + 2.0, size=300)
    fast = cardinal_bspline(x, p, nu=nu)
    slow = np.array([naive_b_deriv(float(v), p, nu) for v in x])
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", range(0, 8))
def test_cardinal_partition_of_unity_and_support(p, rng):
    x = rng.uniform(0.0, 1.0, size=200)
    total = sum(cardinal_bspline(x + j, p) for j in range(p + 1))
    np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-13)
    assert np.all(cardinal_bspline(rng.uniform(-5.0, 0.0, 50), p) == 0.0)
    assert np.all(cardinal_bspline(rng.uniform(p + 1.0, p + 9.0, 50), p) == 0.0)
    assert cardinal_bspline(p + 1.0, p) == 0.0


def test_cardinal_cubic_closed_form(rng):
    # the cardinal cubic B-spline pieces (global coordinate)
    x = rng.uniform(0.0, 4.0, 400)
    expect = np.select(
        [x < 1, x < 2, x < 3, x < 4],
        [
            x**3 / 6,
            -(x**3) / 2 + 2 * x**2 - 2 * x + 2 / 3,
            x**3 / 2 - 4 * x**2 + 10 * x - 22 / 3,
            -(x**3) / 6 + 2 * x**2 - 8 * x + 32 / 3,
        ],
    )
    np.testing.assert_allclose(cardinal_bspline(x, 3), expect, rtol=1e-12, atol=1e-13)


def test_cardinal_shapes_and_nan():
    assert cardinal_bspline(2.0, 3).shape == ()
    assert cardinal_bspline(np.zeros((2, 3)), 3).shape == (2, 3)
    out = cardinal_bspline(np.array([np.nan, 1.5, np.inf]), 3)
    assert np.isnan(out[0]) and np.isnan(out[2]) and out[1] > 0


# --------------------------------------------------------------------------------------------
# modified B-spline
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", SUPPORTED_DEGREES)
@pytest.mark.parametrize("nu", [0, 1, 2])
def test_modified_matches_sum_formula_oracle(p, nu, rng):
    levels, indices = random_level_index(rng, 400)
    # force plenty of boundary functions
    levels[:100] = rng.integers(2, 8, 100)
    indices[:50] = 1
    indices[50:100] = 2 ** levels[50:100] - 1
    x = rng.uniform(0.0, 1.0, 400)
    fast = modified_bspline(x, levels, indices, p, nu=nu)
    slow = np.array(
        [
            naive_modified(float(a), int(b), int(c), p, nu)
            for a, b, c in zip(x, levels, indices, strict=True)
        ]
    )
    scale = 4.0 ** (levels * nu)  # derivative magnitudes grow like 2^(l nu)
    np.testing.assert_allclose(fast / scale, slow / scale, rtol=1e-11, atol=1e-12)


# (l, i, x, p=3 value, p=3 derivative, degree-1 value) -- golden values from pysgpp 3.3.1
GOLDEN = [
    (1, 1, 0.3, 1.0, 0.0, 1.0),
    (2, 1, 0.0, 2.0, -4.0, 2.0),
    (2, 1, 0.1, 1.6, -4.0, 1.6),
    (2, 1, 0.25, 1.0, -4.0, 1.0),
    (2, 1, 0.6, 0.036, -0.72, 0.0),
    (2, 3, 0.9, 1.6, 4.0, 1.6),
    (3, 3, 0.3, 0.4146666667, 5.28, 0.4),
    (3, 3, 0.4, 0.6306666667, -2.72, 0.8),
    (3, 5, 0.55, 0.4146666667, 5.28, 0.4),
    (4, 1, 0.01, 1.84, -16.0, 1.84),
]


@pytest.mark.parametrize("row", GOLDEN, ids=[f"l{r[0]}i{r[1]}x{r[2]}" for r in GOLDEN])
def test_golden_values(row):
    level, index, x, v3, d3, v1 = row
    assert modified_bspline(x, level, index, 3) == pytest.approx(v3, rel=1e-9, abs=1e-12)
    assert modified_bspline(x, level, index, 3, nu=1) == pytest.approx(d3, rel=1e-12, abs=1e-12)
    # SG++'s "degree 2" is degree 1; we ask for degree 1 explicitly
    assert modified_bspline(x, level, index, 1) == pytest.approx(v1, rel=1e-12, abs=1e-12)


def test_boundary_closed_forms(rng):
    level = 4
    X = rng.uniform(0.0, 2.0**level * 0.999, 500)
    x = X / 2.0**level
    expect3 = np.select(
        [X < 1, X < 2, X < 3],
        [
            2 - X,
            X**3 / 6 - X**2 / 2 - X / 2 + 11 / 6,
            -(X**3) / 6 + 3 * X**2 / 2 - 9 * X / 2 + 9 / 2,
        ],
        0.0,
    )
    np.testing.assert_allclose(modified_bspline(x, level, 1, 3), expect3, atol=1e-13)
    np.testing.assert_allclose(modified_bspline(x, level, 1, 1), np.maximum(2 - X, 0), atol=1e-13)
    # linear near the boundary with slope -2^l
    np.testing.assert_allclose(modified_bspline(x[X < 1], level, 1, 3, nu=1), -(2.0**level))
    # mirror image: value symmetric, first derivative antisymmetric, second symmetric
    i_r = 2**level - 1
    for nu, sign in [(0, 1), (1, -1), (2, 1)]:
        np.testing.assert_allclose(
            modified_bspline(1 - x, level, i_r, 3, nu=nu),
            sign * modified_bspline(x, level, 1, 3, nu=nu),
            rtol=1e-12,
            atol=1e-9,
        )


@pytest.mark.parametrize("p", SUPPORTED_DEGREES)
def test_interior_symmetry_and_support(p, rng):
    levels, indices = random_level_index(rng, 300, max_level=9)
    x = rng.uniform(0, 1, 300)
    np.testing.assert_allclose(
        modified_bspline(x, levels, indices, p),
        modified_bspline(1 - x, levels, 2**levels - indices, p),
        rtol=1e-12,
        atol=1e-12,
    )
    # interior functions vanish outside ((i - c) h, (i + c) h)
    c = (p + 1) // 2
    lv, ix = 6, 31
    outside = np.concatenate(
        [rng.uniform(0, (ix - c) / 64, 50), rng.uniform((ix + c) / 64, 1, 50)]
    )
    assert np.all(modified_bspline(outside, lv, ix, p) == 0.0)
    # the level-1 function is the constant 1 with zero derivatives
    assert np.all(modified_bspline(x, 1, 1, p) == 1.0)
    assert np.all(modified_bspline(x, 1, 1, p, nu=1) == 0.0)
    assert np.all(modified_bspline(x, 1, 1, p, nu=2) == 0.0)


@pytest.mark.parametrize("p", SUPPORTED_DEGREES)
@pytest.mark.parametrize("nu", [1, 2])
def test_modified_derivatives_vs_finite_differences(p, nu, rng):
    levels, indices = random_level_index(rng, 300, max_level=6)
    x = rng.uniform(0.01, 0.99, 300)
    h = 1e-6
    lower = modified_bspline(x - h, levels, indices, p, nu=nu - 1)
    upper = modified_bspline(x + h, levels, indices, p, nu=nu - 1)
    fd = (upper - lower) / (2 * h)
    exact = modified_bspline(x, levels, indices, p, nu=nu)
    if p == 1 and nu == 2:
        assert np.all(exact == 0.0)
        return
    # away from knots (where lower-order pieces of low degree have kinks) FD is accurate
    X = x * 2.0**levels
    smooth = np.abs(X - np.round(X)) > 2.0**levels * 2 * h
    scale = 2.0 ** (levels * nu)
    np.testing.assert_allclose(
        fd[smooth] / scale[smooth], exact[smooth] / scale[smooth], atol=1e-6
    )


def test_broadcasting_and_shapes(rng):
    x = rng.uniform(0, 1, (4, 1))
    out = modified_bspline(x, np.array([2, 3, 3]), np.array([1, 3, 5]), 3)
    assert out.shape == (4, 3)
    assert modified_bspline(0.3, 3, 3, 3).shape == ()
    nan_out = modified_bspline(np.array([np.nan, 0.5]), 2, 1, 3)
    assert np.isnan(nan_out[0]) and nan_out[1] == pytest.approx(1 / 6, rel=1e-14)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("degree", [0, 2, 4, 6, 8])
def test_even_degree_is_an_error(degree):
    with pytest.raises(
        ValueError, match=rf"`degree` must be odd, one of 1, 3, 5, 7, got degree={degree}"
    ):
        modified_bspline(0.3, 2, 1, degree)
    with pytest.raises(ValueError, match="must be odd"):
        check_degree(degree)


@pytest.mark.parametrize("degree", [9, -1, 11])
def test_unsupported_degree(degree):
    with pytest.raises(ValueError, match=f"got degree={degree}"):
        modified_bspline(0.3, 2, 1, degree)


def test_degree_type_errors():
    with pytest.raises(TypeError, match="`degree` must be an int"):
        modified_bspline(0.3, 2, 1, 3.0)
    with pytest.raises(TypeError, match="`degree` must be an int"):
        check_degree(True)


@pytest.mark.parametrize("nu", [-1, 3, 1.0])
def test_bad_nu(nu):
    with pytest.raises(ValueError, match=r"`nu` \(derivative order\) must be one of 0, 1, 2"):
        modified_bspline(0.3, 2, 1, 3, nu=nu)
    with pytest.raises(ValueError, match="`nu`"):
        cardinal_bspline(0.3, 3, nu=nu)


@pytest.mark.parametrize(
    ("level", "index", "match"),
    [
        (0, 1, r"`level` must be an int in \[1, 50\], got level=0"),
        (51, 1, "got level=51"),
        (3, 2, r"`index` must be odd and in \[1, 2\*\*level - 1\], got index=2 at level=3"),
        (3, 9, "got index=9 at level=3"),
        (2, -1, "got index=-1"),
    ],
)
def test_bad_level_index(level, index, match):
    with pytest.raises(ValueError, match=match):
        modified_bspline(0.3, level, index, 3)


def test_non_integer_level():
    with pytest.raises(TypeError, match="`level` must be an integer array"):
        modified_bspline(0.3, 2.5, 1, 3)


# --------------------------------------------------------------------------------------------
# univariate sets and tensor products
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 3, 5])
@pytest.mark.parametrize("m", [7, 2000])  # small: dense all pairs; large: support search
def test_univariate_values_match_pointwise(p, m, rng):
    levels, indices = random_level_index(rng, 150, max_level=8)
    key = np.unique(levels * 1024 + indices)
    levels, indices = key // 1024, key % 1024
    funcs = UnivariateFunctions.from_pairs(levels, indices, p)
    u = rng.uniform(0, 1, m)
    u[:3] = [0.0, 1.0, 0.5]
    V0, V1, V2 = funcs.values(u, (0, 1, 2))
    for nu, V in enumerate((V0, V1, V2)):
        assert V.shape == (funcs.size, m)
        expect = modified_bspline(u[None, :], levels[:, None], indices[:, None], p, nu=nu)
        np.testing.assert_array_equal(V, expect)
    dense = funcs.evaluate(np.broadcast_to(u[:, None], (m, funcs.size)), (0,))[0]
    np.testing.assert_array_equal(dense, V0.T)


def test_univariate_concatenate_and_errors():
    a = UnivariateFunctions.from_pairs([1, 2], [1, 3], 3)
    b = UnivariateFunctions.from_pairs([3], [5], 3)
    ab = UnivariateFunctions.concatenate([a, b])
    assert ab.size == 3 and ab.levels.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="same degree"):
        UnivariateFunctions.concatenate([a, UnivariateFunctions.from_pairs([1], [1], 5)])
    with pytest.raises(ValueError, match="same shape"):
        UnivariateFunctions.from_pairs([1, 2], [1], 3)
    with pytest.raises(ValueError, match="got index=4"):
        UnivariateFunctions.from_pairs([3], [4], 3)


def naive_basis_matrix(U, levels, indices, p, nu):
    m, n = U.shape[0], levels.shape[0]
    out = np.empty((m, n))
    for j in range(m):
        for k in range(n):
            out[j, k] = math.prod(
                naive_modified(U[j, t], int(levels[k, t]), int(indices[k, t]), p, int(nu[t]))
                for t in range(U.shape[1])
            )
    return out


@pytest.mark.parametrize("nu", [(0, 0, 0), (1, 0, 0), (0, 2, 0), (1, 0, 1), (0, 1, 2)])
def test_basis_matrix_matches_naive_product(nu, rng):
    d, n = 3, 40
    levels, indices = random_level_index(rng, n * d, max_level=5)
    levels, indices = levels.reshape(n, d), indices.reshape(n, d)
    U = rng.uniform(0, 1, (25, d))
    fast = basis_matrix(U, levels, indices, 3, nu=nu)
    slow = naive_basis_matrix(U, levels, indices, 3, nu)
    assert fast.shape == (25, n)
    np.testing.assert_allclose(fast, slow, rtol=1e-11, atol=1e-9)


def test_basis_matrix_single_point_and_errors(rng):
    levels = np.array([[1, 1], [2, 1], [2, 3]])
    indices = np.array([[1, 1], [1, 1], [3, 1]])
    row = basis_matrix([0.25, 0.5], levels, indices, 3)
    assert row.shape == (1, 3)
    np.testing.assert_allclose(row[0], [1.0, 1.0, modified_bspline(0.25, 2, 3, 3)])
    with pytest.raises(ValueError, match=r"`U` must have shape \(m, 2\)"):
        basis_matrix(np.zeros((3, 3)), levels, indices, 3)
    with pytest.raises(ValueError, match=r"`nu` must have shape \(2,\)"):
        basis_matrix(np.zeros((3, 2)), levels, indices, 3, nu=[1])
    with pytest.raises(ValueError, match="`indices` must have the shape of `levels`"):
        basis_matrix(np.zeros((3, 2)), levels, indices[:2], 3)
    with pytest.raises(ValueError, match="must be finite"):
        basis_matrix(np.full((1, 2), np.nan), levels, indices, 3)


def test_tensor_factors_reconstruct_grid(rng):
    levels, indices = random_level_index(rng, 60 * 4, max_level=6)
    levels, indices = levels.reshape(60, 4), indices.reshape(60, 4)
    factors = tensor_factors(levels, indices, 5)
    for t, (funcs, inv) in enumerate(factors):
        assert np.array_equal(funcs.levels[inv], levels[:, t])
        assert np.array_equal(funcs.indices[inv], indices[:, t])
        assert funcs.size == len(
            {(a, b) for a, b in zip(levels[:, t], indices[:, t], strict=True)}
        )


@pytest.mark.parametrize("p", [1, 3, 5])
def test_univariate_values_outside_unit_interval(p, rng):
    # the support search with clipping (points outside [0, 1]) agrees with the scalar API
    levels, indices = random_level_index(rng, 120, max_level=7)
    key = np.unique(levels * 1024 + indices)
    funcs = UnivariateFunctions.from_pairs(key // 1024, key % 1024, p)
    u = rng.uniform(-0.3, 1.3, 3000)
    (V,) = funcs.values(u)
    expect = modified_bspline(u[None, :], funcs.levels[:, None], funcs.indices[:, None], p)
    np.testing.assert_array_equal(V, expect)


def test_boundary_functions_continue_outside():
    # p <= 3: SG++'s linear continuation 2 - X beyond x = 0 (left) and x = 1 (right)
    for p in (1, 3):
        assert modified_bspline(-0.1, 2, 1, p) == pytest.approx(2.4, rel=1e-14)
        assert modified_bspline(1.1, 2, 3, p) == pytest.approx(2.4, rel=1e-14)
        assert modified_bspline(-0.1, 2, 1, p, nu=1) == pytest.approx(-4.0, rel=1e-14)
    # interior functions vanish outside [0, 1]; the constant stays 1
    assert modified_bspline(-0.1, 3, 3, 3) == 0.0
    assert modified_bspline(1.7, 1, 1, 5) == 1.0
