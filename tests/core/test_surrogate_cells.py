"""Invariant tests of the cell-polynomial batch path of core.surrogate against slow references.

The references evaluate every basis function separately with ``modified_bspline`` (a direct
sum over the basis), independent of the tables, tries and sparse products being tested.
"""

from __future__ import annotations

import numpy as np
import pytest

import core.surrogate as surrogate_module
from core.basis import UnivariateFunctions, modified_bspline
from core.surrogate import Surrogate


@pytest.fixture(autouse=True)
def _strict_floats():
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        yield


def random_functions(rng: np.random.Generator, q: int, max_level: int):
    """Up to ``q`` distinct (level, index) pairs with levels in [1, max_level]."""
    lv = rng.integers(1, max_level + 1, q)
    ix = 2 * rng.integers(0, np.left_shift(1, lv - 1)) + 1
    pairs = np.unique(np.stack([lv, ix], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def random_grid(rng: np.random.Generator, d: int, n: int, max_level: int):
    """``n`` distinct random grid points (levels in [1, max_level]) in ``d`` dimensions."""
    lv = rng.integers(1, max_level + 1, (4 * n, d))
    ix = 2 * rng.integers(0, np.left_shift(1, lv - 1)) + 1
    rows = np.unique(np.concatenate([lv, ix], axis=1), axis=0)
    rows = rows[rng.permutation(rows.shape[0])[:n]]
    return rows[:, :d], rows[:, d:]


def probe_points(rng: np.random.Generator, d: int, levels: np.ndarray, indices: np.ndarray):
    """Random points, grid points, knots of the finest level, corners of the cube."""
    L = int(levels.max())
    U = [rng.uniform(0, 1, (300, d))]
    U.append(np.ldexp(indices.astype(float), -levels))
    U.append(np.ldexp(rng.integers(0, 2**L + 1, (100, d)).astype(float), -L))
    U.append(rng.integers(0, 2, (20, d)).astype(float))
    return np.concatenate(U)


class DirectSum:
    """``sum_k alpha_k prod_t phi_{l_kt, i_kt}^(nu_t)(u_t)``, one basis function at a time.

    Each one-dimensional factor ``phi_{l_kt, i_kt}^(r)(u_t)`` is evaluated once per
    derivative order ``r`` and kept, so the value, the gradient and the Hessian of one set of
    points share them; the products and the sum over ``k`` are the plain loops.
    """

    def __init__(self, U, levels, indices, degree, alpha):
        self.U, self.levels, self.indices = U, levels, indices
        self.degree, self.alpha = degree, alpha
        self._factors: dict[tuple[int, int], np.ndarray] = {}

    def factor(self, t: int, order: int) -> np.ndarray:
        """``phi_{l_kt, i_kt}^(order)(u_t)`` of every function ``k``, shape ``(n, m)``."""
        key = (t, order)
        if key not in self._factors:
            self._factors[key] = np.stack([
                modified_bspline(self.U[:, t], self.levels[k, t], self.indices[k, t],
                                 self.degree, nu=order)
                for k in range(self.levels.shape[0])
            ])
        return self._factors[key]

    def __call__(self, nu) -> np.ndarray:
        terms = np.repeat(np.asarray(self.alpha, dtype=float)[:, None], self.U.shape[0], axis=1)
        for t in range(self.U.shape[1]):
            terms *= self.factor(t, int(nu[t]))
        out = np.zeros(self.U.shape[0])
        for term in terms:
            out += term
        return out


def direct_sum(U, levels, indices, degree, alpha, nu):
    """``sum_k alpha_k prod_t phi_{l_kt, i_kt}^(nu_t)(u_t)`` (see :class:`DirectSum`)."""
    return DirectSum(U, levels, indices, degree, alpha)(nu)


@pytest.mark.parametrize("degree", [1, 3, 5, 7])
@pytest.mark.parametrize("max_level", [1, 2, 6, 20])
def test_cell_polynomials_match_modified_bspline(degree, max_level, rng):
    lv, ix = random_functions(rng, 40, max_level)
    funcs = UnivariateFunctions.from_pairs(lv, ix, degree)
    cells = funcs.cell_polynomials()
    assert (cells.lookup is None) == (max_level > 16)
    assert cells.knots[0] == 0 and cells.knots[-1] == 2**cells.level
    u = probe_points(rng, 1, lv[:, None], ix[:, None])[:, 0]
    data, columns = cells.powers(u)
    p1 = degree + 1
    assert data.shape == columns.shape == (u.size * p1,)
    S = np.zeros((u.size, cells.tables[0].shape[0]))
    np.add.at(S, (np.repeat(np.arange(u.size), p1), columns), data)
    knot = np.isin(np.ldexp(u, cells.level), cells.knots)
    for nu in range(3):
        got = S @ cells.tables[nu]  # (m, q)
        want = modified_bspline(u[:, None], lv[None, :], ix[None, :], degree, nu)
        scale = max(1.0, np.abs(want).max())
        # derivatives that jump at knots (nu >= degree) are compared away from knots
        rows = ~knot if nu >= degree else slice(None)
        np.testing.assert_allclose(got[rows], want[rows], rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize("degree", [1, 3, 5, 7])
@pytest.mark.parametrize(
    ("d", "n", "max_level"),
    [(1, 12, 5), (2, 60, 5), (3, 50, 5), (4, 40, 5), (5, 60, 5), (2, 30, 20), (3, 30, 18)],
)
def test_batch_path_matches_direct_sum(degree, d, n, max_level, monkeypatch, rng):
    """Levels above 16 exercise the binary search for cells instead of the lookup table."""
    levels, indices = random_grid(rng, d, n, max_level=max_level)
    alpha = rng.normal(size=levels.shape[0])
    s = Surrogate(levels, indices, degree, alpha)
    U = probe_points(rng, d, levels, indices)
    monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", 0)  # always the batch path
    monkeypatch.setattr(surrogate_module, "_CHUNK_ENTRIES", 4096)  # several chunks
    monkeypatch.setattr(surrogate_module, "_FOLDED_CHUNK_ENTRIES", 256)
    value = s(U)
    assert s._engine._plan is not None  # the cell tables were used
    zero = (0,) * d
    scale = np.abs(alpha).sum()  # derivatives scale with 2**L per order
    L = int(levels.max())
    np.testing.assert_allclose(
        value, direct_sum(U, levels, indices, degree, alpha, zero), rtol=0, atol=1e-13 * scale
    )
    # derivatives: every point for smooth enough degrees; degree 1 (first derivative jumps
    # at knots, where the per-function pieces are used) at the random points
    V = U if degree > 1 else U[:300]
    grad, hess = s.gradient(V), s.hessian(V)
    eye = np.eye(d, dtype=int)
    want_sum = DirectSum(V, levels, indices, degree, alpha)
    for a in range(d):
        want = want_sum(eye[a])
        np.testing.assert_allclose(grad[:, a], want, rtol=0, atol=1e-13 * scale * 2.0**L)
        for b in range(d):
            want = want_sum(eye[a] + eye[b])
            np.testing.assert_allclose(hess[:, a, b], want, rtol=0, atol=1e-13 * scale * 4.0**L)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_batch_path_agrees_with_per_function_path(d, monkeypatch, rng):
    """Cell tables (n > 1) against the per-function pieces the small path uses, and the
    sparse products with and without scipy's private kernel."""
    levels, indices = random_grid(rng, d, 40, max_level=7)
    s = Surrogate(levels, indices, 3, rng.normal(size=levels.shape[0]))
    U = probe_points(rng, d, levels, indices)
    small = (s(U), s.gradient(U), s.hessian(U))  # m n <= 16384: the dense small path
    monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", 0)
    batch = (s(U), s.gradient(U), s.hessian(U))
    monkeypatch.setattr(surrogate_module, "_csr_matvecs", None)
    public = (s(U), s.gradient(U), s.hessian(U))
    for a, b, c in zip(small, batch, public, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-11)
        np.testing.assert_array_equal(c, b)


def test_too_large_cell_tables_fall_back_to_per_function_pieces(monkeypatch, rng):
    levels, indices = random_grid(rng, 2, 40, max_level=7)
    s = Surrogate(levels, indices, 3, rng.normal(size=levels.shape[0]))
    U = probe_points(rng, 2, levels, indices)
    monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", 0)
    monkeypatch.setattr(surrogate_module, "_CELL_TABLE_MAX_ENTRIES", 100)
    value = s(U)
    assert s._engine._plan is None
    want = direct_sum(U, levels, indices, 3, s.coefficients, (0, 0))
    np.testing.assert_allclose(value, want, rtol=0, atol=1e-13 * np.abs(s.coefficients).sum())


def test_degree_one_gradient_at_knots_uses_per_function_pieces(monkeypatch):
    """Degree-1 first derivatives jump at knots; the batch path keeps the pieces' convention."""
    levels = np.array([[1, 1], [2, 1], [2, 1], [1, 2], [3, 1]])
    indices = np.array([[1, 1], [1, 1], [3, 1], [1, 3], [5, 1]])
    s = Surrogate(levels, indices, 1, np.array([1.0, -2.0, 0.5, 3.0, 1.5]))
    knots = np.ldexp(np.arange(9, dtype=float), -3)
    U = np.stack(np.meshgrid(knots, knots), axis=-1).reshape(-1, 2)
    small = s.gradient(U)
    monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", 0)
    np.testing.assert_array_equal(s.gradient(U), small)
    np.testing.assert_allclose(
        s(U), direct_sum(U, levels, indices, 1, s.coefficients, (0, 0)), atol=1e-14
    )


def test_kept_workspace_is_per_thread_and_not_pickled(monkeypatch, rng):
    """The chunk buffers an engine keeps between calls give the same results, in any thread,
    and stay out of pickles."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    levels, indices = random_grid(rng, 4, 60, max_level=6)
    s = Surrogate(levels, indices, 3, rng.normal(size=levels.shape[0]))
    monkeypatch.setattr(surrogate_module, "_SMALL_BATCH_ENTRIES", 0)
    monkeypatch.setattr(surrogate_module, "_CHUNK_ENTRIES", 4096)
    batches = [rng.uniform(0, 1, (500 + 37 * k, 4)) for k in range(8)]
    first = [s(U) for U in batches]
    assert s._engine._local.workspace is not None
    again = [s(U) for U in batches]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(s, batches))
    copy = pickle.loads(pickle.dumps(s))
    assert not hasattr(copy._engine._local, "workspace")
    for a, b, c in zip(first, again, threaded, strict=True):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(c, a)
    np.testing.assert_array_equal(copy(batches[0]), first[0])
