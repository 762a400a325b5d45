"""Modified B-spline sparse-grid interpolants: fitting (hierarchisation) and fast evaluation.

:func:`fit_surrogate` solves the full interpolation system of a (Novak-Ritter) sparse grid and
returns a :class:`Surrogate`, a frozen callable with gradient, Hessian and a fast 2-D slice.

Evaluation exploits the tensor structure. Per dimension only the distinct 1-D functions are
evaluated, and only at the points inside their supports. For batches, the basis functions are
sorted lexicographically by their per-dimension factors (a trie over the dimensions, in a greedy
order that maximizes shared prefixes), so ``sum_k alpha_k prod_t phi_kt(u_t)`` is contracted
one dimension at a time: a sparse matrix product for the last dimension, then per dimension a
row gather, a multiply and a sparse 0/1 aggregation into the parent prefixes. Work per point is
about ``n + sum_j P_j`` (``P_j`` distinct prefixes) instead of ``n d``; derivative orders that
agree on the trailing dimensions share their partial sums. Batches are processed in chunks, so
temporaries stay near 4 MB. A few points (``m n <= 16384``) take a dense gather-and-multiply
path with less call overhead.

For large batches the 1-D functions come from cell tables (built on the first large batch):
between consecutive knots every function of a dimension is one polynomial in an exact local
coordinate, so all their values at a chunk of points are one sparse product of the points'
powers with a coefficient table. In one and two dimensions the coefficients and the last
dimension are folded into the tables too, and ``s(u)`` is two such products and a row-wise dot.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from core._threads import blas_threads
from core._validation import as_values, check_int
from core.basis import (
    CellPolynomials,
    UnivariateFunctions,
    check_degree,
    check_grid,
    tensor_factors,
)

__all__ = ["SOLVERS", "Surrogate", "fit_surrogate"]

#: Linear solvers accepted by :func:`fit_surrogate`.
SOLVERS: tuple[str, ...] = ("auto", "dense", "sparse")
#: Largest system solved densely by ``solver="auto"`` (the dense matrix takes 8 n^2 bytes).
DENSE_MAX_POINTS = 4000
#: Systems up to this size are solved with one BLAS thread (small solves are slower
#: with several OpenBLAS threads on a loaded machine; docs/architecture.md, 'Small dense linear
#: algebra').
SINGLE_THREAD_MAX_POINTS = 1000
#: Target number of float64 entries of the largest temporary per evaluation chunk.
_CHUNK_ENTRIES = 1 << 19
#: Entries of each (points, parents) product per chunk of the folded one-/two-dimensional path.
_FOLDED_CHUNK_ENTRIES = 1 << 15
#: Largest total size (float64 entries) of the cell-polynomial tables of one surrogate.
_CELL_TABLE_MAX_ENTRIES = 1 << 22
#: Largest chunk workspace (bytes) an engine keeps per thread between batch evaluations.
_WORKSPACE_MAX_BYTES = 1 << 24
#: Batches with ``m * n`` at most this use the dense small-batch path (less call overhead).
_SMALL_BATCH_ENTRIES = 1 << 14

try:  # the kernel behind ``csr_array @ ndarray``, called without the wrapper's per-call cost
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - scipy moved its private module
    _csr_matvecs = None


# --------------------------------------------------------------------------------------------
# evaluation engine
# --------------------------------------------------------------------------------------------
def _greedy_dimension_order(F: np.ndarray) -> list[int]:
    """Order the columns of ``F`` (n, d) so that prefixes repeat as much as possible.

    The contraction work is about ``n + sum_j P_j`` with ``P_j`` the number of distinct rows of
    ``F[:, order[:j + 1]]``; greedily pick the column that keeps ``P_j`` smallest.
    """
    n, d = F.shape
    order: list[int] = []
    prefix = np.zeros(n, dtype=np.int64)  # id of each row's current prefix
    remaining = list(range(d))
    while remaining:
        best = None
        for t in remaining:
            ids = np.unique(prefix * (int(F[:, t].max()) + 1) + F[:, t], return_inverse=True)[1]
            count = int(ids.max()) + 1
            if best is None or count < best[0]:
                best = (count, t, ids.ravel())
        assert best is not None
        _, t, prefix = best
        order.append(t)
        remaining.remove(t)
    return order


def _csr_times_dense(
    csr: tuple[np.ndarray, np.ndarray, np.ndarray], X: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``A @ X`` (rows, k) for ``A = (indptr, indices, data)`` in CSR form and ``X`` (n, k).

    ``out``, if given, is a C-contiguous (rows, k) array that receives the result (reusing it
    across chunks spares the kernel fresh pages).
    """
    indptr, indices, data = csr
    rows = indptr.shape[0] - 1
    if _csr_matvecs is None:  # pragma: no cover - see the import
        A = scipy.sparse.csr_array((data, indices, indptr), shape=(rows, X.shape[0]))
        if out is None:
            return np.asarray(A @ X)
        out[...] = A @ X
        return out
    if out is None:
        out = np.zeros((rows, X.shape[1]))
    else:
        out.fill(0.0)
    X = np.ascontiguousarray(X, dtype=np.float64)
    k = X.shape[1]
    _csr_matvecs(rows, X.shape[0], k, indptr, indices, data, X.reshape(-1), out.reshape(-1))
    return out


def _as_csr(A: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of a CSR matrix without duplicate entries (one index dtype)."""
    dtype = np.result_type(A.indptr.dtype, A.indices.dtype)
    return A.indptr.astype(dtype), A.indices.astype(dtype), A.data.astype(np.float64)


def _cell_products(
    powers: tuple[np.ndarray, np.ndarray],
    tables: list[np.ndarray],
    buffers: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """``S @ T`` (m, cols) for each table ``T``; ``powers`` = (data, columns), each (m, p+1),
    the nonzeros of the power matrix ``S`` (see :meth:`core.basis.CellPolynomials.powers`).
    ``buffers``: optional arrays of at least m rows to write the products into."""
    data, columns = powers
    m, p1 = data.shape
    S = (np.arange(0, m * p1 + 1, p1, dtype=np.int32), columns.reshape(-1), data.reshape(-1))
    if buffers is None:
        return [_csr_times_dense(S, T) for T in tables]
    return [_csr_times_dense(S, T, out=buf[:m]) for T, buf in zip(tables, buffers, strict=True)]


class _Workspace:
    """Arrays reused by every chunk of one evaluation.

    Fresh multi-megabyte temporaries come from the operating system page by page on every
    chunk; reusing them keeps that cost to the first chunk. ``get(key, shape)`` returns a
    C-contiguous array of ``shape`` backed by the buffer stored under ``key``.
    """

    def __init__(self) -> None:
        self._flat: dict[Any, np.ndarray] = {}

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return sum(buf.nbytes for buf in self._flat.values())

    def get(self, key: Any, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        size = int(np.prod(shape))
        buf = self._flat.get(key)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = np.empty(size, dtype=dtype)
            self._flat[key] = buf
        return buf[:size].reshape(shape)


class _CellPlan:
    """Tables of the cell-polynomial batch path (built on the first large batch).

    Per trie position ``j`` the functions of dimension ``dims[j]`` as polynomials per knot
    cell (:class:`core.basis.CellPolynomials`), so one sparse product gives all their values
    at a chunk of points, point-major. For ``d <= 2`` the contraction is folded into the
    tables as well: the leaf table holds ``sum_k alpha_k phi_k`` per parent node (the
    coefficient matrix times the last dimension's tables) and the first position's table is
    restricted to the parent nodes, so ``s(u)`` is two sparse products and a row-wise dot.
    """

    def __init__(self, engine: _Engine) -> None:
        self.cells: list[CellPolynomials] = [
            engine.funcs[t].cell_polynomials() for t in engine.dims
        ]
        self.first: tuple[np.ndarray, ...] = ()
        self.last: tuple[np.ndarray, ...] = ()
        if engine.d <= 2:
            # (nc (p+1), N): per parent node, the sum of its children's coefficient * phi
            self.last = tuple(
                np.ascontiguousarray((engine.leaf @ T.T).T) for T in self.cells[-1].tables
            )
        if engine.d == 2:
            factor = engine.steps[0][0]
            self.first = tuple(np.ascontiguousarray(T[:, factor]) for T in self.cells[0].tables)
        # every position's cell lookup in one table, so that one pass serves all dimensions
        self.dims = list(engine.dims)
        self.p1 = engine.degree + 1
        lookups = [c.lookup for c in self.cells]
        self.combined = all(lk is not None for lk in lookups)
        if self.combined:
            sizes = np.array([lk.shape[0] for lk in lookups if lk is not None])
            self.fine_offset = (np.cumsum(sizes) - sizes)[:, None]
            self.fine_last = (sizes - 1)[:, None]
            self.scale = np.array([float(1 << c.level) for c in self.cells])[:, None]
            # per fine interval: the table row of its cell's constant term, the cell's left end
            self.fine_row = np.concatenate(
                [lk * np.int32(self.p1) for lk in lookups if lk is not None]
            )
            self.fine_left = np.concatenate(
                [
                    c.left.take(lk)
                    for c, lk in zip(self.cells, lookups, strict=True)
                    if lk is not None
                ]
            )

    def powers(
        self, U: np.ndarray, ws: _Workspace | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per trie position, ``(data, columns)`` (m, p+1) of the power matrix at ``U`` (m, d).

        The same numbers as :meth:`core.basis.CellPolynomials.powers`, for all positions in
        one pass when every dimension has a lookup table (arrays from ``ws`` if given).
        """
        if not self.combined:
            return [
                (d.reshape(-1, self.p1), c.reshape(-1, self.p1))
                for d, c in (
                    cells.powers(np.ascontiguousarray(U[:, t]))
                    for cells, t in zip(self.cells, self.dims, strict=True)
                )
            ]
        ws = _Workspace() if ws is None else ws
        shape = (len(self.dims), U.shape[0])
        X = ws.get("x", shape)
        np.multiply(U[:, self.dims].T, self.scale, out=X)  # exact
        fine = ws.get("fine", shape, np.intp)
        np.copyto(fine, X, casting="unsafe")  # floor (X >= 0)
        np.minimum(fine, self.fine_last, out=fine)
        fine += self.fine_offset
        s = ws.get("s", shape)
        np.take(self.fine_left, fine, out=s, mode="clip")
        np.subtract(X, s, out=s)  # exact
        data = ws.get("data", shape + (self.p1,))
        data[..., 0] = 1.0
        data[..., 1] = s
        for k in range(2, self.p1):
            np.multiply(data[..., k - 1], s, out=data[..., k])
        row = ws.get("row", shape, np.int32)
        np.take(self.fine_row, fine, out=row, mode="clip")
        columns = ws.get("columns", shape + (self.p1,), np.int32)
        np.add(row[..., None], np.arange(self.p1, dtype=np.int32), out=columns)
        return list(zip(data, columns, strict=True))


class _Engine:
    """Precomputed contraction plan for ``s(u) = sum_k alpha_k prod_t phi_kt(u_t)``."""

    def __init__(
        self, levels: np.ndarray, indices: np.ndarray, degree: int, coefficients: np.ndarray
    ) -> None:
        factors = tensor_factors(levels, indices, degree)
        self.funcs: list[UnivariateFunctions] = [f for f, _ in factors]
        self.inverse: list[np.ndarray] = [inv for _, inv in factors]
        n, d = levels.shape
        self.n, self.d = n, d
        # trie over the dimensions in the order `self.dims` (position j holds dimension
        # dims[j]); greedy: each next dimension adds the fewest distinct prefixes
        F_all = np.stack(self.inverse, axis=1)  # (n, d) factor ids
        self.dims = _greedy_dimension_order(F_all)
        F = F_all[:, self.dims]
        order = np.lexsort(F.T[::-1])
        F = F[order]
        alpha = coefficients[order]
        is_start = np.ones((n, d), dtype=bool)
        if n > 1:
            is_start[1:] = np.logical_or.accumulate(F[1:] != F[:-1], axis=1)
        if not is_start[:, d - 1].all():
            raise ValueError("grid points must be unique (found duplicate (level, index) rows)")
        node_id = np.cumsum(is_start, axis=0) - 1  # (n, d): node of each leaf's prefix at depth j
        # leaf step: W[parent at depth d-2] = sum alpha_k V_{d-1}[F[k, d-1]]
        parent = node_id[:, d - 2] if d >= 2 else np.zeros(n, dtype=np.intp)
        n_parent = int(parent[-1]) + 1
        self.leaf = scipy.sparse.csr_matrix(
            (alpha, (parent, F[:, d - 1])), shape=(n_parent, self.funcs[self.dims[-1]].size)
        )
        # inner steps, depth j = d-2 .. 0: W_parent = S_j @ (V_j[factor] * W_node), where the
        # 0/1 matrix S_j sums children into parents (a sparse product streams contiguous rows;
        # np.add.reduceat along axis 0 does not)
        self.steps: dict[int, tuple[np.ndarray, Any]] = {}
        for j in range(d - 2, -1, -1):
            starts = np.flatnonzero(is_start[:, j])
            factor = F[starts, j]
            par = node_id[starts, j - 1] if j >= 1 else np.zeros(starts.size, dtype=np.intp)
            agg = scipy.sparse.csr_matrix(
                (np.ones(starts.size), (par, np.arange(starts.size))),
                shape=(int(par[-1]) + 1, starts.size),
            )
            self.steps[j] = (factor, agg)
        self.width = max([n] + [f.size for f in self.funcs])
        # small batches: all dimensions' functions stacked, dense gather of the factors
        self.stacked = UnivariateFunctions.concatenate(self.funcs)
        col0 = np.cumsum([0] + [f.size for f in self.funcs[:-1]])
        self.stack_dim = np.repeat(np.arange(d), [f.size for f in self.funcs])
        self.stack_cols = [col0[t] + self.inverse[t] for t in range(d)]
        self.cols = np.stack(self.stack_cols)  # (d, n): column of each factor in the stack
        self.alpha = np.asarray(coefficients, dtype=np.float64)
        self.degree = degree
        self.leaf_csr = _as_csr(self.leaf)
        self.agg_csr = {j: _as_csr(agg) for j, (_, agg) in self.steps.items()}
        self._plan: _CellPlan | None = None  # built on the first large batch
        self._plan_fits: bool | None = None  # tables within _CELL_TABLE_MAX_ENTRIES
        # per thread, the chunk buffers of the last large batch (fresh pages on every call
        # cost more than the work), kept up to _WORKSPACE_MAX_BYTES
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def plan(self) -> _CellPlan | None:
        """The cell-polynomial tables (built once, on first use), or None if too large.

        The tables are dense, ``nc (p+1)`` rows by ``q`` functions per dimension; with
        thousands of functions in one dimension that is too much memory, and the
        per-function path is used instead.
        """
        plan = self._plan
        if plan is None and self._plan_fits is None:
            p1 = self.degree + 1
            rows = [(self.funcs[t].cell_knots().size - 1) * p1 for t in self.dims]
            entries = sum(r * self.funcs[t].size for r, t in zip(rows, self.dims, strict=True))
            if self.d == 2:  # the folded tables, (rows, parents) for both positions
                entries += (rows[0] + rows[1]) * self.steps[0][0].size
            self._plan_fits = 3 * entries <= _CELL_TABLE_MAX_ENTRIES  # values and 2 derivatives
        if plan is None and self._plan_fits:
            plan = _CellPlan(self)
            self._plan = plan
        return plan

    def chunk_size(self, n_orders: int) -> int:
        """Points per chunk so that the temporaries stay near ``_CHUNK_ENTRIES`` entries."""
        per_point = self.width
        return int(np.clip(_CHUNK_ENTRIES // per_point, 16, 1 << 16))

    def contract(
        self,
        V: list[dict[int, np.ndarray]],
        orders: list[tuple[int, ...]],
        ws: _Workspace | None = None,
    ) -> dict[tuple[int, ...], np.ndarray]:
        """Sum over the basis for several derivative orders, sharing common work.

        ``V[j][nu]`` is the (q, m) table of the ``nu``-th derivatives of the functions of
        dimension ``dims[j]`` (trie position ``j``). Positions are contracted from the last to
        the first; orders that agree on positions ``j..d-1`` share the partial sums (a
        depth-first walk, so at most one partial sum per position is alive). Orders are given
        in the original dimension order. Returns ``{order: (m,) array}``. With a workspace
        ``ws`` the partial sums live in its buffers (one per position and kind).
        """
        out: dict[tuple[int, ...], np.ndarray] = {}
        dims = self.dims

        def walk(j: int, state: np.ndarray | None, group: list[tuple[int, ...]]) -> None:
            by_nu: dict[int, list[tuple[int, ...]]] = {}
            for o in group:
                by_nu.setdefault(o[dims[j]], []).append(o)
            for nu, sub in by_nu.items():
                m = V[j][nu].shape[1]
                if state is None:
                    csr = self.leaf_csr
                    G = V[j][nu]
                else:
                    factor, _ = self.steps[j]
                    csr = self.agg_csr[j]
                    if ws is None:
                        G = V[j][nu].take(factor, axis=0)
                    else:
                        G = ws.get(("G", j), (factor.size, m))
                        np.take(V[j][nu], factor, axis=0, out=G, mode="clip")
                    G *= state
                rows = csr[0].shape[0] - 1
                W = _csr_times_dense(csr, G, None if ws is None else ws.get(("W", j), (rows, m)))
                if j == 0:
                    for o in sub:
                        out[o] = W.reshape(-1) if ws is None else W.reshape(-1).copy()
                else:
                    walk(j - 1, W, sub)

        walk(self.d - 1, None, orders)
        return out

    def _evaluate_small(self, U: np.ndarray, orders: list[tuple[int, ...]]) -> np.ndarray:
        """Dense path for a few points: gather the (m, n) factors per dimension, multiply."""
        needed = tuple(sorted({v for o in orders for v in o}))
        vals = self.stacked.evaluate(U[:, self.stack_dim], needed)  # each (m, Q)
        G = {
            nu: [v.take(cols, axis=1) for cols in self.stack_cols]
            for nu, v in zip(needed, vals, strict=True)
        }
        out = np.empty((len(orders), U.shape[0]))
        for k, o in enumerate(orders):
            P = G[o[0]][0].copy()
            for t in range(1, self.d):
                P *= G[o[t]][t]
            out[k] = P @ self.alpha
        return out

    def value_and_gradient(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient at one finite point ``u`` (d,): a few array operations.

        The factor tables ``V0``, ``V1`` (d, n) hold each basis function's value and
        derivative per dimension; the gradient's product over the other dimensions is the
        product of the prefix and suffix products (no division, exact at zero factors).
        """
        v0, v1 = self.stacked.evaluate(u[self.stack_dim], (0, 1))
        V0, V1 = v0.take(self.cols), v1.take(self.cols)
        d = self.d
        if d == 1:
            return float(V0[0] @ self.alpha), V1[0] @ self.alpha[:, None]
        prefix = np.ones_like(V0)
        np.cumprod(V0[:-1], axis=0, out=prefix[1:])
        suffix = np.ones_like(V0)
        np.cumprod(V0[:0:-1], axis=0, out=suffix[-2::-1])
        others = prefix * suffix  # (d, n): product of the factors of the other dimensions
        value = float((others[0] * V0[0]) @ self.alpha)
        return value, (others * V1) @ self.alpha

    def _evaluate_folded(
        self, U: np.ndarray, orders: list[tuple[int, ...]], plan: _CellPlan
    ) -> np.ndarray:
        """``d <= 2``: per order two sparse products and a row-wise dot (see _CellPlan)."""
        m = U.shape[0]
        out = np.empty((len(orders), m))
        t0, t1 = self.dims[0], self.dims[-1]
        nus0 = sorted({o[t0] for o in orders})
        nus1 = sorted({o[t1] for o in orders})
        n_parents = plan.last[0].shape[1]
        step = int(np.clip(_FOLDED_CHUNK_ENTRIES // n_parents, 256, 1 << 16))
        step = min(step, m)
        # products go to buffers reused by every chunk
        buf1 = [np.empty((step, n_parents)) for _ in nus1]
        buf0 = [np.empty((step, n_parents)) for _ in nus0] if self.d == 2 else []
        for a in range(0, m, step):
            b = min(a + step, m)
            powers = plan.powers(U[a:b])
            tabs = [plan.last[nu] for nu in nus1]
            W = dict(zip(nus1, _cell_products(powers[-1], tabs, buf1), strict=True))
            if self.d == 1:
                for k, o in enumerate(orders):
                    out[k, a:b] = W[o[t1]][:, 0]
                continue
            tabs = [plan.first[nu] for nu in nus0]
            X = dict(zip(nus0, _cell_products(powers[0], tabs, buf0), strict=True))
            for k, o in enumerate(orders):
                np.einsum("ij,ij->i", X[o[t0]], W[o[t1]], out=out[k, a:b])
        return out

    def evaluate(self, U: np.ndarray, orders: list[tuple[int, ...]]) -> np.ndarray:
        """Mixed partial derivatives ``d^nu s`` at finite points ``U`` (m, d) -> (k, m)."""
        m = U.shape[0]
        if m * self.n <= _SMALL_BATCH_ENTRIES:
            return self._evaluate_small(U, orders)
        # Cell tables (sums of powers of a cell coordinate) agree with the per-function pieces
        # to rounding, except (a) at knots for derivatives that jump there (order >= degree:
        # degree-1 gradients; the tables take the right-hand side in u) and (b) bit for bit:
        # a single basis function (n = 1) keeps the per-function arithmetic, so its values
        # are exactly `modified_bspline`'s products.
        cells = self.n > 1 and max(max(o) for o in orders) < self.degree
        plan = self.plan() if cells else None
        if plan is not None and self.d <= 2:
            return self._evaluate_folded(U, orders, plan)
        out = np.empty((len(orders), m))
        needed = [tuple(sorted({o[t] for o in orders})) for t in self.dims]
        step = self.chunk_size(len(orders))
        ws = None
        if plan is not None:
            ws = getattr(self._local, "workspace", None) or _Workspace()
            self._local.workspace = None  # not shared with a nested call in this thread
        for a in range(0, m, step):
            b = min(a + step, m)
            V = []
            powers = None if plan is None else plan.powers(U[a:b], ws)
            for j, t in enumerate(self.dims):
                if plan is None or powers is None or ws is None:
                    vals = self.funcs[t].values(U[a:b, t], needed[j])
                else:
                    q = self.funcs[t].size
                    tabs = [plan.cells[j].tables[nu] for nu in needed[j]]
                    bufs = [ws.get(("P", j, nu), (b - a, q)) for nu in needed[j]]
                    vals = []
                    for nu, P in zip(
                        needed[j], _cell_products(powers[j], tabs, bufs), strict=True
                    ):
                        Vt = ws.get(("V", j, nu), (q, b - a))
                        np.copyto(Vt, P.T)  # (q, chunk)
                        vals.append(Vt)
                V.append(dict(zip(needed[j], vals, strict=True)))
            res = self.contract(V, orders, ws)
            for k, o in enumerate(orders):
                out[k, a:b] = res[o]
        if ws is not None and ws.nbytes <= _WORKSPACE_MAX_BYTES:
            self._local.workspace = ws
        return out


# --------------------------------------------------------------------------------------------
# the surrogate
# --------------------------------------------------------------------------------------------
def _read_only(a: Any, dtype: Any) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Surrogate:
    r"""A modified B-spline sparse-grid interpolant on the unit cube (read-only).

    .. math:: s(u) = \sum_{k=1}^{n} \alpha_k \prod_{t=1}^{d} \varphi_{l_{kt}, i_{kt}}(u_t)

    Usually built by :func:`fit_surrogate`; constructing it directly from known coefficients
    is allowed.

    Attributes
    ----------
    levels, indices : ndarray of int, shape (n_fit, d)
        Grid points whose basis functions form the interpolant (the points with finite values).
    degree : int
        Odd modified B-spline degree (1, 3, 5 or 7).
    coefficients : ndarray, shape (n_fit,)
        Hierarchical surpluses :math:`\alpha`.
    fit_mask : ndarray of bool, shape (n,) or None
        Which input grid points were used by the fit (``False`` where ``y`` was not finite).
    residual : float
        Relative residual :math:`\|A\alpha - y\|_2 / \|y\|_2` of the fit (NaN if not fitted).

    Notes
    -----
    Calling conventions (``__call__``, :meth:`gradient`, :meth:`hessian`):

    - ``U`` of shape ``(m, d)`` is a batch; results have shapes ``(m,)``, ``(m, d)``,
      ``(m, d, d)``.
    - ``U`` of shape ``(d,)`` is one point; the batch axis is dropped (a float, ``(d,)``,
      ``(d, d)``), so the bound methods plug directly into ``scipy.optimize.minimize`` as
      ``fun``, ``jac``, ``hess``. For ``d = 1`` pass batches as ``(m, 1)``.
    - Domain guard (as SG++'s ``InterpolantScalarFunction``): a point with any coordinate
      outside [0, 1] (or NaN) has value ``+inf``; its gradient and Hessian are undefined and
      returned as NaN. Points on the boundary are inside.
    """

    levels: np.ndarray
    indices: np.ndarray
    degree: int
    coefficients: np.ndarray
    fit_mask: np.ndarray | None = None
    residual: float = float("nan")
    _engine: _Engine = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        p = check_degree(self.degree)
        lv, ix = check_grid(self.levels, self.indices)
        n = lv.shape[0]
        alpha = np.asarray(self.coefficients, dtype=np.float64)
        if alpha.shape != (n,):
            raise ValueError(f"`coefficients` must have shape ({n},), got shape {alpha.shape}")
        if not np.all(np.isfinite(alpha)):
            raise ValueError("`coefficients` must be finite")
        object.__setattr__(self, "degree", p)
        object.__setattr__(self, "levels", _read_only(lv, np.int64))
        object.__setattr__(self, "indices", _read_only(ix, np.int64))
        object.__setattr__(self, "coefficients", _read_only(alpha, np.float64))
        if self.fit_mask is not None:
            object.__setattr__(self, "fit_mask", _read_only(self.fit_mask, bool))
        object.__setattr__(self, "residual", float(self.residual))
        object.__setattr__(self, "_engine", _Engine(lv, ix, p, self.coefficients))

    # ---- descriptive properties ---------------------------------------------------------
    @property
    def dim(self) -> int:
        """Dimension ``d``."""
        return int(self.levels.shape[1])

    @property
    def n_points(self) -> int:
        """Number of basis functions ``n_fit``."""
        return int(self.levels.shape[0])

    @property
    def points(self) -> np.ndarray:
        """Grid point coordinates ``indices * 2**-levels``, shape (n_fit, d)."""
        pts = np.ldexp(self.indices.astype(np.float64), -self.levels)
        pts.setflags(write=False)
        return pts

    # ---- evaluation -----------------------------------------------------------------------
    def _prepare(self, U: Any) -> tuple[np.ndarray, bool, np.ndarray]:
        d = self.dim
        arr = np.asarray(U, dtype=np.float64)
        single = arr.ndim == 1
        if single:
            if arr.shape[0] != d:
                raise ValueError(f"`U` must have shape (m, {d}) or ({d},), got shape {arr.shape}")
            arr = arr[None, :]
        elif arr.ndim != 2 or arr.shape[1] != d:
            raise ValueError(f"`U` must have shape (m, {d}) or ({d},), got shape {arr.shape}")
        inside = np.all((arr >= 0.0) & (arr <= 1.0), axis=1)
        return arr, single, inside

    def _evaluate(
        self, arr: np.ndarray, inside: np.ndarray, orders: list[tuple[int, ...]], fill: float
    ) -> np.ndarray:
        m = arr.shape[0]
        if inside.all():
            return self._engine.evaluate(arr, orders)
        out = np.full((len(orders), m), fill)
        if inside.any():
            out[:, inside] = self._engine.evaluate(arr[inside], orders)
        return out

    def __call__(self, U: Any) -> np.ndarray | float:
        """Interpolant values.

        Parameters
        ----------
        U : array_like, shape (m, d) or (d,)
            Points in the unit cube.

        Returns
        -------
        ndarray, shape (m,), or float for a single ``(d,)`` point
            ``s(U)``; ``+inf`` for points outside [0, 1]^d.
        """
        arr, single, inside = self._prepare(U)
        val = self._evaluate(arr, inside, [(0,) * self.dim], np.inf)[0]
        return float(val[0]) if single else val

    def _gradient_orders(self) -> list[tuple[int, ...]]:
        d = self.dim
        return [tuple(int(s == t) for s in range(d)) for t in range(d)]

    def gradient(self, U: Any) -> np.ndarray:
        """Gradient of the interpolant.

        Parameters
        ----------
        U : array_like, shape (m, d) or (d,)

        Returns
        -------
        ndarray, shape (m, d), or (d,) for a single point
            ``ds/du_t``; NaN rows for points outside [0, 1]^d.
        """
        arr, single, inside = self._prepare(U)
        g = self._evaluate(arr, inside, self._gradient_orders(), np.nan).T
        return g[0] if single else g

    def hessian(self, U: Any) -> np.ndarray:
        """Hessian of the interpolant.

        Parameters
        ----------
        U : array_like, shape (m, d) or (d,)

        Returns
        -------
        ndarray, shape (m, d, d), or (d, d) for a single point
            Symmetric second derivatives; NaN for points outside [0, 1]^d.
        """
        arr, single, inside = self._prepare(U)
        d = self.dim
        pairs = [(t, s) for t in range(d) for s in range(t, d)]
        orders = []
        for t, s in pairs:
            o = [0] * d
            o[t] += 1
            o[s] += 1
            orders.append(tuple(o))
        vals = self._evaluate(arr, inside, orders, np.nan)
        H = np.empty((arr.shape[0], d, d))
        for k, (t, s) in enumerate(pairs):
            H[:, t, s] = vals[k]
            H[:, s, t] = vals[k]
        return H[0] if single else H

    def value_and_gradient(self, u: Any) -> tuple[float, np.ndarray]:
        """Value and gradient at one point, for optimizers (``jac=True`` style).

        Parameters
        ----------
        u : array_like, shape (d,)

        Returns
        -------
        value : float
            ``s(u)``, ``+inf`` outside [0, 1]^d.
        gradient : ndarray, shape (d,)
            NaN outside [0, 1]^d.
        """
        arr = np.asarray(u, dtype=np.float64)
        if arr.shape != (self.dim,):
            raise ValueError(f"`u` must have shape ({self.dim},), got shape {arr.shape}")
        if not np.all((arr >= 0.0) & (arr <= 1.0)):
            return float("inf"), np.full(self.dim, np.nan)
        value, grad = self._engine.value_and_gradient(arr)
        return value, np.asarray(grad, dtype=np.float64).reshape(self.dim)

    def evaluate_slice(
        self,
        dims: tuple[int, int] = (0, 1),
        fixed: Any = None,
        resolution: int = 128,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Interpolant on a 2-D axis-parallel slice of the unit cube, on a regular grid.

        Parameters
        ----------
        dims : (int, int)
            The two distinct dimensions that vary: ``dims[0]`` along ``xs``, ``dims[1]``
            along ``ys``.
        fixed : array_like, shape (d,), optional
            Values of the other coordinates (entries at ``dims`` are ignored); default 0.5.
        resolution : int
            Number of cells ``r`` per axis (>= 1).

        Returns
        -------
        xs, ys : ndarray, shape (r,)
            Cell centres ``(j + 0.5) / r`` -- the centres of an ``r x r`` image covering
            [0, 1]^2 (e.g. a HoloViews ``Image`` with bounds (0, 0, 1, 1)).
        Z : ndarray, shape (r, r)
            ``Z[j, i] = s(u)`` with ``u[dims[0]] = xs[i]``, ``u[dims[1]] = ys[j]``, other
            coordinates from ``fixed``.

        Notes
        -----
        Cost ``O(n + r (q_a + q_b) + r q_a q_b + r^2 q_b)`` via
        ``Z = V_b^T C V_a`` with ``C`` the coefficients weighted by the fixed factors.
        """
        d = self.dim
        if d < 2:
            raise ValueError(f"`evaluate_slice` needs a surrogate with d >= 2, got d={d}")
        try:
            da, db = (int(v) for v in dims)
        except (TypeError, ValueError):
            raise ValueError(f"`dims` must be two ints, got dims={dims!r}") from None
        if not (0 <= da < d and 0 <= db < d) or da == db:
            raise ValueError(
                f"`dims` must be two distinct ints in [0, {d - 1}], got dims={dims!r}"
            )
        r = check_int(resolution, "resolution", low=1)
        if fixed is None:
            fx = np.full(d, 0.5)
        else:
            fx = np.asarray(fixed, dtype=np.float64)
            if fx.shape != (d,):
                raise ValueError(f"`fixed` must have shape ({d},), got shape {fx.shape}")
            others = [t for t in range(d) if t not in (da, db)]
            vals = fx[others]
            if not np.all((vals >= 0.0) & (vals <= 1.0)):
                raise ValueError(
                    f"`fixed` must lie in [0, 1] outside `dims`, got fixed={fx.tolist()}"
                )
        eng = self._engine
        w = np.array(self.coefficients, dtype=np.float64)
        for t in range(d):
            if t in (da, db):
                continue
            (v,) = eng.funcs[t].values(fx[t : t + 1])
            w *= v[eng.inverse[t], 0]
        grid = (np.arange(r) + 0.5) / r
        (Va,) = eng.funcs[da].values(grid)
        (Vb,) = eng.funcs[db].values(grid)
        qa, qb = eng.funcs[da].size, eng.funcs[db].size
        C = np.bincount(
            eng.inverse[db] * qa + eng.inverse[da], weights=w, minlength=qa * qb
        ).reshape(qb, qa)
        with blas_threads(1):  # tiny GEMMs: threads only hurt
            Z = Vb.T @ (C @ Va)
        return grid, grid.copy(), Z


# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------
def _relative_residual(A: Any, alpha: np.ndarray, y: np.ndarray) -> float:
    r = np.linalg.norm(A @ alpha - y)
    ny = np.linalg.norm(y)
    return float(r / ny) if ny > 0 else float(r)


def _solve_dense(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            lu = scipy.linalg.lu_factor(A, check_finite=False)
        except scipy.linalg.LinAlgWarning as exc:
            raise np.linalg.LinAlgError(
                f"the interpolation matrix ({A.shape[0]} x {A.shape[0]}) is singular: {exc}"
            ) from None
    alpha = scipy.linalg.lu_solve(lu, y, check_finite=False)
    # one step of iterative refinement is cheap (O(n^2)) and tightens ill-conditioned cases
    alpha += scipy.linalg.lu_solve(lu, y - A @ alpha, check_finite=False)
    return alpha


def _dense_matrix(X: np.ndarray, lv: np.ndarray, ix: np.ndarray, p: int) -> np.ndarray:
    """Interpolation matrix ``A[j, k] = Phi_k(x_j)``, (n, n) Fortran order, filled in blocks.

    Peak memory is ``8 n^2`` bytes plus one block (``basis_matrix`` would need several
    ``n x n`` temporaries).
    """
    factors = tensor_factors(lv, ix, p)
    n = X.shape[0]
    tables = [funcs.values(X[:, t])[0] for t, (funcs, _) in enumerate(factors)]  # (q_t, n)
    A = np.empty((n, n), order="F")
    B = A.T  # (basis, points), C-contiguous view
    step = max(1, (1 << 20) // n)
    for a in range(0, n, step):
        b = min(a + step, n)
        block = B[a:b]
        np.take(tables[0], factors[0][1][a:b], axis=0, out=block)
        for t in range(1, len(factors)):
            block *= tables[t].take(factors[t][1][a:b], axis=0)
    return A


def _sparse_matrix(X: np.ndarray, lv: np.ndarray, ix: np.ndarray, p: int) -> Any:
    """Interpolation matrix as CSC, built in blocks of rows (only nonzeros are kept)."""
    factors = tensor_factors(lv, ix, p)
    n = X.shape[0]
    step = max(1, (1 << 20) // n)
    blocks = []
    for a in range(0, n, step):
        b = min(a + step, n)
        B: np.ndarray | None = None
        for t, (funcs, inv) in enumerate(factors):
            (V,) = funcs.values(X[a:b, t])
            G = V.take(inv, axis=0)
            if B is None:
                B = G
            else:
                B *= G
        assert B is not None
        blocks.append(scipy.sparse.csr_matrix(B.T))
    return scipy.sparse.vstack(blocks, format="csc")


def _solve_sparse(A: Any, y: np.ndarray) -> np.ndarray:
    try:
        lu = scipy.sparse.linalg.splu(A)
    except RuntimeError as exc:  # "Factor is exactly singular"
        raise np.linalg.LinAlgError(
            f"the interpolation matrix ({A.shape[0]} x {A.shape[0]}) is singular: {exc}"
        ) from None
    alpha = lu.solve(y)
    alpha += lu.solve(y - A @ alpha)
    return alpha


def fit_surrogate(
    levels: Any,
    indices: Any,
    y: Any,
    degree: int = 3,
    *,
    solver: str = "auto",
    rtol: float = 1e-8,
) -> Surrogate:
    r"""Interpolate grid values with modified B-splines (solve the full interpolation system).

    Parameters
    ----------
    levels, indices : array_like of int, shape (n, d)
        Grid points in any order (e.g. a Novak-Ritter grid in storage order): ``levels >= 1``,
        ``indices`` odd in ``[1, 2**levels - 1]``, no duplicate rows.
    y : array_like, shape (n,)
        Function values at the grid points ``x_j = indices_j * 2**-levels_j``. Non-finite
        values (NaN/inf from failed evaluations) are allowed, see Notes.
    degree : {1, 3, 5, 7}
        Odd modified B-spline degree (default 3, cubic). Even degrees raise ``ValueError``
        (SG++ silently lowers them).
    solver : {"auto", "dense", "sparse"}
        ``"dense"``: LU with partial pivoting (``scipy.linalg.lu_factor``). ``"sparse"``:
        SuperLU (``scipy.sparse.linalg.splu``) on the sparse matrix, built in chunks.
        ``"auto"``: dense for ``n_fit <= 4000`` (128 MB), sparse above.
    rtol : float
        Largest accepted relative residual :math:`\|A\alpha - y\|_2 / \|y\|_2`.

    Returns
    -------
    Surrogate
        The interpolant, with ``fit_mask`` and the achieved ``residual``.

    Raises
    ------
    ValueError
        Invalid grid, shapes, degree or solver; duplicate grid points; no finite value in ``y``.
    numpy.linalg.LinAlgError
        The system is singular or the residual exceeds ``rtol`` (never reported as success).

    Notes
    -----
    The system is :math:`A\alpha = y` with :math:`A_{jk} = \Phi_k(x_j)` (row: grid point,
    column: basis function), as SG++'s ``HierarchisationSLE``; Novak-Ritter grids lack
    hierarchical ancestors, so no fast hierarchisation applies (see `docs/algorithms.md`).
    Dense LU is followed by one step of iterative refinement. Small systems
    (``n <= 1000``) run with a single BLAS thread.

    **Non-finite values.** Grid points whose value is NaN or +-inf are left out of the fit:
    their rows *and* their basis functions are dropped and the remaining points are
    interpolated exactly. ``Surrogate.levels``/``indices``/``coefficients`` then describe
    only the ``n_fit`` retained points and ``Surrogate.fit_mask`` marks them in the input
    order. At least one finite value is required.

    Examples
    --------
    >>> s = fit_surrogate([[1], [2], [2]], [[1], [1], [3]], [1.0, 0.5, 2.0], degree=3)
    >>> round(s([0.75]), 12)
    2.0
    """
    p = check_degree(degree)
    lv, ix = check_grid(levels, indices)
    n, d = lv.shape
    yv = as_values(y, n)
    if solver not in SOLVERS:
        raise ValueError(f"`solver` must be one of {SOLVERS}, got solver={solver!r}")
    rtol = float(rtol)
    if not rtol > 0:
        raise ValueError(f"`rtol` must be > 0, got rtol={rtol!r}")
    rows = np.concatenate([lv, ix], axis=1)
    uniq, first, counts = np.unique(rows, axis=0, return_index=True, return_counts=True)
    if uniq.shape[0] < n:
        dup = rows[first[np.argmax(counts > 1)]]
        raise ValueError(
            "grid points must be unique, got a duplicate (levels, indices) = "
            f"({dup[:d].tolist()}, {dup[d:].tolist()})"
        )
    mask = np.isfinite(yv)
    if not mask.any():
        raise ValueError(f"`y` must contain at least one finite value, got {n} non-finite values")
    lv_f, ix_f, y_f = lv[mask], ix[mask], yv[mask]
    n_fit = lv_f.shape[0]
    X = np.ldexp(ix_f.astype(np.float64), -lv_f)
    use_dense = solver == "dense" or (solver == "auto" and n_fit <= DENSE_MAX_POINTS)
    threads = 1 if n_fit <= SINGLE_THREAD_MAX_POINTS else None
    # solve for y / max|y| so that huge values (1e300) cannot overflow the residual norms
    scale = float(np.max(np.abs(y_f)))
    scale = scale if scale > 0 else 1.0
    y_s = y_f / scale
    with blas_threads(threads):
        if use_dense:
            A: Any = _dense_matrix(X, lv_f, ix_f, p)  # (n_fit, n_fit), F-contiguous
            alpha = _solve_dense(A, y_s)
        else:
            A = _sparse_matrix(X, lv_f, ix_f, p)
            alpha = _solve_sparse(A, y_s)
        residual = _relative_residual(A, alpha, y_s) if np.all(np.isfinite(alpha)) else np.inf
    with np.errstate(over="ignore"):
        alpha = alpha * scale
    if not np.all(np.isfinite(alpha)):  # values near the float maximum: coefficients overflow
        raise np.linalg.LinAlgError(
            f"interpolation coefficients overflow float64 (max |y| = {scale:.3g}); "
            "rescale the values"
        )
    if not residual <= rtol:
        raise np.linalg.LinAlgError(
            f"interpolation solve failed: relative residual {residual:.3g} > rtol={rtol:g} "
            f"(n={n_fit}, d={d}, degree={p}, solver={'dense' if use_dense else 'sparse'}); "
            "the interpolation matrix is singular or too ill-conditioned"
        )
    return Surrogate(lv_f, ix_f, p, alpha, fit_mask=mask, residual=residual)
