"""Hyperparameter importance: exact Sobol indices of the B-spline sparse-grid surrogate.

:func:`importance` takes a :func:`core.run.minimize` result (or a fitted
:class:`~core.surrogate.Surrogate` and its space) and returns, per hyperparameter, the first-order
and the total Sobol index of the surrogate. No sampling is involved: the surrogate is a sum of
tensor products of piecewise polynomials, so every variance in the decomposition is a finite sum
of products of exact one-dimensional integrals (``docs/algorithms.md``, "Importance: Sobol
indices of the surrogate"). The same surrogate gives the same indices on every call, to the bit.

Which surrogate
---------------
- **Interpolant** (``fit="interpolant"``): the modified B-spline interpolant
  (:func:`core.surrogate.fit_surrogate`) of the run's evaluations that lie on the dyadic sparse
  grid (every coordinate ``i 2**-l`` with odd ``i``): the Novak-Ritter grid(s) of a
  ``sparse_grid`` run, without its off-grid candidates, zoom-box and trust-region points. Its
  accuracy is reported on those off-grid evaluations, which the fit never saw (``check_r2``,
  one minus their mean squared error over the variance of all evaluations).
- **Least squares** (``fit="least_squares"``): for scattered points (random search, Bayesian
  optimization, an optuna or Ray study): the coefficients of a regular sparse grid of level
  ``L`` (all basis functions with ``|l|_1 <= L + d - 1``) are fitted to the evaluations by ridge
  regression, ``min ||B a - y||^2 + lam ||a||^2``. ``L`` and ``lam`` are chosen by 5-fold
  cross-validation (folds by history position, ``k mod 5``), and the cross-validated R^2 of the
  chosen pair is reported as ``check_r2``; the final coefficients are fitted to all points.
- ``fit="auto"`` (default): the interpolant when the run has at least ``2 d + 1`` grid
  evaluations, with at least 3 distinct grid coordinates in every dimension, whose
  interpolation system is solvable with a non-constant result, and, when the run has off-grid
  evaluations, whose error on them is no worse than the least-squares surrogate's
  cross-validated error (both as ``check_r2``, the same scale); else least squares. A grid
  interpolant of few points in many dimensions overshoots between them (the 9-D CNN run of
  ``benchmarks/importance_cnn9d.py``), and its indices would describe the overshoot.

Indices are with respect to the uniform distribution on the unit cube the strategies work in: a
log-scaled parameter is uniform in its logarithm, an integer or categorical parameter in its
equal-width bins (:mod:`core.space`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core._threads import single_blas_thread
from core.basis import UnivariateFunctions, tensor_factors
from core.grid.levels import MAX_LEVEL, regular_grid, regular_grid_size
from core.surrogate import Surrogate, fit_surrogate

__all__ = [
    "FITS",
    "Importance",
    "fit_least_squares",
    "importance",
    "sobol_variances",
    "univariate_moments",
]

#: Values of the ``fit`` argument of :func:`importance`.
FITS: tuple[str, ...] = ("auto", "interpolant", "least_squares")
#: Largest number of basis functions of a least-squares surrogate (its cost is O(n_basis^2 d)
#: in :func:`sobol_variances` and one SVD per fold and level in the fit).
MAX_LS_BASIS = 1000
#: Ridge penalties tried by :func:`fit_least_squares`, relative to the mean diagonal of B^T B.
RIDGE_GRID: tuple[float, ...] = tuple(10.0**k for k in range(-8, 2))
#: Folds of the cross-validation in :func:`fit_least_squares`.
N_FOLDS = 5
#: Entries of one (rows, n) block of the pair sums in :func:`sobol_variances`.
_BLOCK_ENTRIES = 1 << 18


# --------------------------------------------------------------------------------------------
# exact one-dimensional integrals
# --------------------------------------------------------------------------------------------
def univariate_moments(funcs: UnivariateFunctions) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact integrals of a set of 1-D modified B-splines and of their pairwise products.

    Parameters
    ----------
    funcs : UnivariateFunctions
        ``q`` functions :math:`\varphi_j` of one dimension.

    Returns
    -------
    m : ndarray, shape (q,)
        :math:`m_j = \int_0^1 \varphi_j(x)\,dx`.
    M : ndarray, shape (q, q)
        :math:`M_{ab} = \int_0^1 \varphi_a(x) \varphi_b(x)\,dx` (symmetric).

    Notes
    -----
    Between consecutive knots of all ``q`` functions (:meth:`UnivariateFunctions.cell_knots`)
    every function is one polynomial of degree ``p``, so a product has degree ``2 p``;
    Gauss-Legendre with ``p + 1`` nodes per cell integrates degree ``2 p + 1`` exactly. The result
    is exact up to floating-point rounding.
    """
    p = funcs.degree
    knots = funcs.cell_knots()
    level = int(funcs.levels.max())
    a = np.ldexp(knots[:-1].astype(np.float64), -level)
    b = np.ldexp(knots[1:].astype(np.float64), -level)
    xg, wg = np.polynomial.legendre.leggauss(p + 1)
    half = 0.5 * (b - a)
    nodes = (0.5 * (a + b))[:, None] + half[:, None] * xg[None, :]  # (cells, p + 1)
    weights = (half[:, None] * wg[None, :]).ravel()
    (V,) = funcs.values(nodes.ravel())  # (q, cells (p + 1))
    Vw = V * weights
    m = Vw.sum(axis=1)
    M = Vw @ V.T
    M = 0.5 * (M + M.T)
    return m, M


# --------------------------------------------------------------------------------------------
# Sobol variances of a surrogate
# --------------------------------------------------------------------------------------------
def _centred(s: Surrogate, mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid and coefficients of ``s - mean`` (the constant function phi_{1,1} ≡ 1 carries it)."""
    lv, ix = s.levels, s.indices
    c = np.array(s.coefficients, dtype=np.float64)
    const = np.flatnonzero(np.all(lv == 1, axis=1))
    if const.size:
        c[const[0]] -= mean
        return lv, ix, c
    d = lv.shape[1]
    ones = np.ones((1, d), dtype=np.int64)
    return np.vstack([lv, ones]), np.vstack([ix, ones]), np.append(c, -mean)


def _factor_moments(
    lv: np.ndarray, ix: np.ndarray, degree: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per dimension ``(m_t, M_t, inv_t)``: moments of the distinct 1-D functions, and which one
    each basis function uses."""
    out = []
    for funcs, inv in tensor_factors(lv, ix, degree):
        m, M = univariate_moments(funcs)
        out.append((m, M, inv))
    return out


def _mean(c: np.ndarray, moments: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    w = c.copy()
    for m, _, inv in moments:
        w *= m[inv]
    return float(w.sum())


def sobol_variances(surrogate: Surrogate) -> tuple[float, float, np.ndarray, np.ndarray]:
    r"""Mean, variance and the Sobol partial variances of a surrogate, computed exactly.

    Parameters
    ----------
    surrogate : Surrogate
        :math:`s(u) = \sum_k c_k \prod_t \varphi_{k,t}(u_t)` on :math:`[0, 1]^d`
        (``n`` basis functions).

    Returns
    -------
    mean : float
        :math:`\mu = \int s`.
    variance : float
        :math:`V = \int (s - \mu)^2`.
    first : ndarray, shape (d,)
        :math:`V_i = \mathrm{Var}(E[s \mid u_i])`.
    total : ndarray, shape (d,)
        :math:`V_{T,i} = V - \mathrm{Var}(E[s \mid u_{\sim i}]) = E[\mathrm{Var}(s \mid
        u_{\sim i})]`.

    Notes
    -----
    With :math:`m_{k,t} = \int \varphi_{k,t}` and :math:`M_{kk',t} = \int \varphi_{k,t}
    \varphi_{k',t}` (:func:`univariate_moments`) and ``c`` the coefficients of
    :math:`s - \mu` (the constant basis function absorbs :math:`-\mu`, which keeps the large
    mean out of the differences below):

    - :math:`V = \sum_{k,k'} c_k c_{k'} \prod_t M_{kk',t}`;
    - :math:`V_i = z^\top M_i z` with :math:`z_j = \sum_{k: \varphi_{k,i} = \varphi_j} c_k
      \prod_{t \ne i} m_{k,t}` (``O(n + q_i^2)``);
    - :math:`V - V_{T,i} = \sum_{k,k'} c_k c_{k'} m_{k,i} m_{k',i} \prod_{t \ne i} M_{kk',t}`.

    **Cost.** The pair sums take ``O(d n^2)`` time for ``n`` basis functions, in blocks of rows
    of about 2 MB each; ``python benchmarks/bench_importance.py`` measures it (in 9-D, well
    under a second for 1519 basis functions, several seconds for 9439). Fixed block order and
    one BLAS thread make repeated calls bit-identical.
    """
    if not isinstance(surrogate, Surrogate):
        raise TypeError(f"`surrogate` must be a core.surrogate.Surrogate, got {surrogate!r:.80}")
    p = surrogate.degree
    with single_blas_thread():
        raw = _factor_moments(surrogate.levels, surrogate.indices, p)
        mu = _mean(np.asarray(surrogate.coefficients, dtype=np.float64), raw)
        lv, ix, c = _centred(surrogate, mu)
        moments = raw if lv.shape[0] == surrogate.levels.shape[0] else _factor_moments(lv, ix, p)
        mu_c = _mean(c, moments)  # ~0: rounding left after centring
        n, d = lv.shape
        ms = [m[inv] for m, _, inv in moments]  # (n,) per dimension
        # first order: aggregate the other dimensions' integrals into the q_i functions of i
        first = np.empty(d)
        for i, (_, M, inv) in enumerate(moments):
            w = c.copy()
            for t in range(d):
                if t != i:
                    w *= ms[t]
            z = np.bincount(inv, weights=w, minlength=M.shape[0])
            first[i] = float(z @ M @ z) - mu_c * mu_c
        # pair sums: E[s^2] and E[E[s | u_~i]^2] for every i, blocks of rows
        second = 0.0
        closed = np.zeros(d)  # E[E[s | u_~i]^2]
        cm = [c * ms[i] for i in range(d)]
        rows = max(1, _BLOCK_ENTRIES // n)
        for start in range(0, n, rows):
            R = slice(start, min(start + rows, n))
            G = [M.take(inv[R], axis=0).take(inv, axis=1) for _, M, inv in moments]
            suffix: list[np.ndarray | None] = [None] * (d + 1)  # prod_{s >= t} G_s
            for t in range(d - 1, -1, -1):
                nxt = suffix[t + 1]
                suffix[t] = G[t] if nxt is None else G[t] * nxt
            prefix: np.ndarray | None = None  # prod_{s < i} G_s
            for i in range(d):
                after = suffix[i + 1]
                if prefix is None:
                    others = after
                else:
                    others = prefix if after is None else prefix * after
                if others is None:  # d = 1: E[s | u_~i] is the constant mean
                    closed[i] += float(cm[i][R].sum() * cm[i].sum())
                else:
                    closed[i] += float(cm[i][R] @ (others @ cm[i]))
                prefix = G[i] if prefix is None else prefix * G[i]
            full = suffix[0]
            assert full is not None
            second += float(c[R] @ (full @ c))
        variance = second - mu_c * mu_c
        total = second - closed
    return mu, variance, first, total


# --------------------------------------------------------------------------------------------
# least-squares sparse-grid surrogate for scattered points
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeastSquaresFit:
    """A regular sparse-grid surrogate fitted to scattered points (:func:`fit_least_squares`).

    Attributes
    ----------
    surrogate : Surrogate
    level : int
        Level ``L`` of the regular sparse grid chosen.
    ridge : float
        Ridge penalty chosen, relative to the mean diagonal of ``B^T B``.
    cv_r2 : float
        Cross-validated R^2 of the chosen ``(L, ridge)`` (out-of-fold predictions).
    """

    surrogate: Surrogate
    level: int
    ridge: float
    cv_r2: float


def _ridge_solutions(B: np.ndarray, y: np.ndarray, ridges: Sequence[float]) -> list[np.ndarray]:
    """Ridge coefficients for each relative penalty via one SVD of ``B`` (rows, nb)."""
    U, sv, Vt = np.linalg.svd(B, full_matrices=False)
    scale = float(np.sum(B * B)) / B.shape[1]  # mean diagonal of B^T B
    Uy = U.T @ y
    return [Vt.T @ (sv / (sv * sv + lam * scale) * Uy) for lam in ridges]


def fit_least_squares(
    U: Any, y: Any, *, degree: int = 3, max_basis: int = MAX_LS_BASIS
) -> LeastSquaresFit:
    r"""Fit a regular sparse-grid B-spline surrogate to scattered evaluations by ridge regression.

    Parameters
    ----------
    U : array_like, shape (n, d)
        Points in the unit cube.
    y : array_like, shape (n,)
        Finite values.
    degree : {1, 3, 5, 7}
        Modified B-spline degree.
    max_basis : int
        Largest regular grid tried (number of basis functions).

    Returns
    -------
    LeastSquaresFit

    Notes
    -----
    Levels ``L = 2, 3, ...`` while the regular grid has at most ``min(max_basis, 2 n)`` points
    (at least level 2), and the penalties :data:`RIDGE_GRID` (times the mean diagonal of
    ``B^T B``), are scored by :data:`N_FOLDS`-fold cross-validation on the standardised values;
    fold ``f`` holds the points at positions ``k`` with ``k mod 5 = f``. The first best pair in
    that order wins and is refitted on all points. Deterministic: no random numbers.
    """
    from core.basis import basis_matrix, check_degree

    p = check_degree(degree)
    U = np.asarray(U, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64).ravel()
    if U.ndim != 2 or U.shape[0] != yv.shape[0]:
        raise ValueError(
            f"`U` must have shape (n, d) matching `y` (n,), got {U.shape} and {yv.shape}"
        )
    n, d = U.shape
    if n < 3:
        raise ValueError(f"a least-squares surrogate needs at least 3 finite values, got {n}")
    if not np.all(np.isfinite(U)) or not np.all(np.isfinite(yv)):
        raise ValueError("`U` and `y` must be finite (drop failed evaluations first)")
    if np.any(U < 0) or np.any(U > 1):
        raise ValueError("`U` must lie in the unit cube [0, 1]^d")
    ybar = float(yv.mean())
    ysd = float(yv.std())
    if not ysd > 0:
        raise ValueError(
            f"all {n} values are equal ({ybar!r}): the importance of every parameter is undefined"
        )
    z = (yv - ybar) / ysd
    cap = min(int(max_basis), max(2 * n, regular_grid_size(d, 2)))
    levels = [2]
    while levels[-1] < MAX_LEVEL and regular_grid_size(d, levels[-1] + 1) <= cap:
        levels.append(levels[-1] + 1)
    folds = np.arange(n) % min(N_FOLDS, n)
    n_folds = int(folds.max()) + 1
    sst = float(np.sum(z * z))  # z has mean 0
    best: tuple[float, int, float] | None = None
    with single_blas_thread():
        for L in levels:
            lv, ix = regular_grid(d, L)
            B = basis_matrix(U, lv, ix, p)
            sse = np.zeros(len(RIDGE_GRID))
            for f in range(n_folds):
                train, test = folds != f, folds == f
                for r, a in enumerate(_ridge_solutions(B[train], z[train], RIDGE_GRID)):
                    e = B[test] @ a - z[test]
                    sse[r] += float(e @ e)
            for r, lam in enumerate(RIDGE_GRID):
                r2 = 1.0 - sse[r] / sst
                if best is None or r2 > best[0]:
                    best = (r2, L, lam)
        assert best is not None
        r2, L, lam = best
        lv, ix = regular_grid(d, L)
        B = basis_matrix(U, lv, ix, p)
        (a,) = _ridge_solutions(B, z, [lam])
        fitted = B @ a
    coef = a * ysd
    const = np.flatnonzero(np.all(lv == 1, axis=1))[0]
    coef[const] += ybar
    res = float(np.linalg.norm(fitted - z) / np.linalg.norm(z))
    s = Surrogate(lv, ix, p, coef, residual=res)
    return LeastSquaresFit(s, L, lam, float(r2))


# --------------------------------------------------------------------------------------------
# the entry point
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Importance:
    """Sobol indices of a sparse-grid surrogate, per hyperparameter.

    Attributes
    ----------
    names : tuple of str
        Hyperparameter names, in the order of the unit-cube axes.
    first_order : ndarray, shape (d,)
        :math:`S_i = \\mathrm{Var}(E[s \\mid u_i]) / \\mathrm{Var}(s)`; ``sum <= 1``.
    total : ndarray, shape (d,)
        :math:`S_{T,i} = 1 - \\mathrm{Var}(E[s \\mid u_{\\sim i}]) / \\mathrm{Var}(s)`;
        ``first_order <= total <= 1``.
    mean, variance : float
        Mean and variance of the surrogate over the unit cube.
    surrogate : Surrogate
        The surrogate the indices describe.
    fit : str
        ``"interpolant"``, ``"least_squares"`` or ``"given"`` (a surrogate passed in).
    n_points : int
        Evaluations the surrogate was fitted to (0 for a given surrogate).
    check_r2 : float
        Accuracy on data the fit did not use, ``1 - mean((s - y)^2) / Var(y)`` with ``Var(y)``
        the variance of all finite evaluations: for the interpolant, the error is taken on the
        run's off-grid evaluations (which cluster near the optimum, so a plain R^2 over them
        alone would measure a tiny spread); for least squares, on the out-of-fold predictions
        of the cross-validation (the usual cross-validated R^2). NaN when nothing was held out.
    n_check : int
        Number of evaluations behind ``check_r2``.
    level : int or None
        Regular-grid level of a least-squares surrogate.
    ridge : float or None
        Relative ridge penalty of a least-squares surrogate.
    """

    names: tuple[str, ...]
    first_order: np.ndarray
    total: np.ndarray
    mean: float
    variance: float
    surrogate: Surrogate
    fit: str
    n_points: int = 0
    check_r2: float = float("nan")
    n_check: int = 0
    level: int | None = None
    ridge: float | None = None

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{name: {"first_order": S_i, "total": S_Ti}}`` in axis order."""
        return {
            name: {"first_order": float(s), "total": float(t)}
            for name, s, t in zip(self.names, self.first_order, self.total, strict=True)
        }

    def __repr__(self) -> str:
        width = max(len(n) for n in self.names)
        lines = [
            f"Importance(fit={self.fit!r}, n_points={self.n_points}, "
            f"check_r2={self.check_r2:.3g} on {self.n_check})",
            f"  {'':{width}}  first   total",
        ]
        for name, s, t in zip(self.names, self.first_order, self.total, strict=True):
            lines.append(f"  {name:{width}}  {s:.4f}  {t:.4f}")
        return "\n".join(lines)


def _indices(mean: float, variance: float, first: np.ndarray, total: np.ndarray, d: int):
    if not (math.isfinite(variance) and variance > 0):
        raise ValueError(
            f"the surrogate is constant over the unit cube (variance {variance!r}): the "
            "importance of every parameter is undefined"
        )
    S = np.clip(first / variance, 0.0, 1.0)
    ST = np.clip(total / variance, 0.0, 1.0)
    # rounding only (both are exact sums): sum S <= 1 and S <= ST hold for the exact values
    if S.sum() > 1.0:
        S = S / S.sum()
    ST = np.maximum(ST, S)
    for a in (S, ST):
        a.setflags(write=False)
    return S, ST


def _grid_level_index(U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``U`` (n, d) on the dyadic sparse grid, with their levels and indices."""
    n, d = U.shape
    lv = np.zeros((n, d), dtype=np.int64)
    for level in range(MAX_LEVEL, 0, -1):  # the smallest level wins: scan from the top
        scaled = np.ldexp(U, level)
        exact = (scaled == np.floor(scaled)) & (U > 0) & (U < 1)
        lv[exact] = level
    on_grid = np.all(lv > 0, axis=1)
    lv = lv[on_grid]
    ix = np.ldexp(U[on_grid], lv).astype(np.int64)
    return on_grid, lv, ix


def _r2(pred: np.ndarray, y: np.ndarray, spread: float) -> float:
    """``1 - mean((pred - y)^2) / spread`` (``spread``: the variance of all evaluations)."""
    if y.size < 1 or not spread > 0:
        return float("nan")
    return 1.0 - float(np.mean((pred - y) ** 2)) / spread


def _try_interpolant(
    U: np.ndarray, y: np.ndarray, degree: int
) -> tuple[Surrogate, float, int] | None:
    on_grid, lv, ix = _grid_level_index(U)
    d = U.shape[1]
    if lv.shape[0] < 2 * d + 1:
        return None
    X = U[on_grid]
    if any(np.unique(X[:, t]).size < 3 for t in range(d)):
        return None  # a dimension the grid never varied: its index would be 0 by construction
    keys = np.concatenate([lv, ix], axis=1)
    _, first = np.unique(keys, axis=0, return_index=True)
    first = np.sort(first)  # the first evaluation of each grid point, in history order
    try:
        s = fit_surrogate(lv[first], ix[first], y[on_grid][first], degree=degree)
    except (np.linalg.LinAlgError, ValueError):
        return None
    off = ~on_grid
    check = _r2(np.asarray(s(U[off])), y[off], float(np.var(y))) if off.any() else float("nan")
    return s, check, int(off.sum())


def _names(space: Any, d: int, default: Sequence[str] | None) -> tuple[str, ...]:
    if space is None:
        names = tuple(default) if default is not None else tuple(f"x{t}" for t in range(d))
    elif hasattr(space, "names"):
        names = tuple(space.names)
    elif isinstance(space, Sequence) and not isinstance(space, str):
        names = tuple(str(s) for s in space)
    else:
        raise TypeError(
            f"`space` must be a SearchSpace or a sequence of names, got space={space!r:.80}"
        )
    if len(names) != d:
        raise ValueError(f"`space` must name {d} dimensions, got {len(names)}: {names!r}")
    return names


def importance(
    source: Any,
    space: Any = None,
    *,
    fit: str = "auto",
    degree: int = 3,
) -> Importance:
    r"""First-order and total Sobol indices of each hyperparameter, from the sparse-grid surrogate.

    Parameters
    ----------
    source : RunResult, Surrogate, or (U, y)
        A :func:`core.run.minimize` result (any method; failed evaluations are left out), a
        fitted :class:`~core.surrogate.Surrogate`, or a pair of arrays ``U`` (n, d) in the unit
        cube and values ``y`` (n,) (NaN marks a failed evaluation).
    space : SearchSpace or sequence of str, optional
        Names of the dimensions (default: the result's configuration keys, else ``x0, x1, ...``).
    fit : {"auto", "interpolant", "least_squares"}
        Which surrogate to build from evaluations (module docstring); ignored for a surrogate.
    degree : {1, 3, 5, 7}
        B-spline degree of a surrogate built here.

    Returns
    -------
    Importance
        ``first_order`` and ``total``, each shape (d,), in the order of ``names``.

    Raises
    ------
    ValueError
        Fewer than 3 finite evaluations, a constant surrogate (zero variance), ``fit=
        "interpolant"`` without a solvable grid, or a bad ``fit``/``space``.

    Notes
    -----
    :math:`S_i = \mathrm{Var}(E[s \mid u_i]) / \mathrm{Var}(s)` and
    :math:`S_{T,i} = 1 - \mathrm{Var}(E[s \mid u_{\sim i}]) / \mathrm{Var}(s)` with ``u``
    uniform on the unit cube, computed by :func:`sobol_variances` without sampling: the same
    input gives bit-identical indices. The cost grows as ``d n^2`` with ``n`` the surrogate's
    basis functions: fine up to a few thousand (``benchmarks/bench_importance.py``).

    Examples
    --------
    >>> from core.run import minimize
    >>> from core.space import Float, SearchSpace
    >>> space = SearchSpace({"a": Float(0, 1), "b": Float(0, 1)})
    >>> res = minimize(lambda c: 4 * c["a"] + c["b"], space, "sparse_grid", 30, seed=0)
    >>> imp = importance(res)
    >>> imp.names, bool(imp.first_order[0] > imp.first_order[1])
    (('a', 'b'), True)
    """
    if fit not in FITS:
        raise ValueError(f"`fit` must be one of {FITS}, got fit={fit!r}")
    if isinstance(source, Surrogate):
        mean, var, first, total = sobol_variances(source)
        d = source.levels.shape[1]
        S, ST = _indices(mean, var, first, total, d)
        return Importance(_names(space, d, None), S, ST, mean, var, source, "given")
    default_names = None
    if hasattr(source, "history") and hasattr(source, "U"):
        hist = source.history
        if not hist:
            raise ValueError("the result has no evaluations: importance is undefined")
        U = np.asarray(source.U, dtype=np.float64)
        y = np.asarray(source.values, dtype=np.float64)
        default_names = list(hist[0].config)
    elif isinstance(source, tuple) and len(source) == 2:
        U = np.asarray(source[0], dtype=np.float64)
        y = np.asarray(source[1], dtype=np.float64).ravel()
        if U.ndim != 2 or U.shape[0] != y.shape[0]:
            raise ValueError(
                f"(U, y) must have shapes (n, d) and (n,), got {U.shape} and {y.shape}"
            )
    else:
        raise TypeError(
            "`source` must be a core.run.minimize result, a core.surrogate.Surrogate or a pair "
            f"(U, y), got {type(source).__name__}"
        )
    ok = np.isfinite(y) & np.all(np.isfinite(U), axis=1)
    U, y = U[ok], y[ok]
    d = U.shape[1]
    names = _names(space, d, default_names)
    if U.shape[0] < 3:
        raise ValueError(f"importance needs at least 3 finite evaluations, got {U.shape[0]}")
    ls = None
    if fit in ("auto", "interpolant"):
        got = _try_interpolant(U, y, degree)
        if got is not None:
            s, check, n_check = got
            if fit == "auto" and n_check > 0:
                # the surrogate that predicts evaluations it did not see better wins
                ls = fit_least_squares(U, y, degree=degree)
                use = not check < ls.cv_r2
            else:
                use = True
            if use:
                mean, var, first, total = sobol_variances(s)
                if math.isfinite(var) and var > 0:
                    S, ST = _indices(mean, var, first, total, d)
                    n_fit = int(s.levels.shape[0])
                    return Importance(
                        names, S, ST, mean, var, s, "interpolant", n_fit, check, n_check
                    )
        if fit == "interpolant":
            raise ValueError(
                f"fit='interpolant' needs at least {2 * d + 1} evaluations on the dyadic sparse "
                "grid with a solvable, non-constant interpolant (a sparse_grid run); use "
                "fit='least_squares' or 'auto' for scattered points"
            )
    if ls is None:
        ls = fit_least_squares(U, y, degree=degree)
    mean, var, first, total = sobol_variances(ls.surrogate)
    S, ST = _indices(mean, var, first, total, d)
    return Importance(
        names,
        S,
        ST,
        mean,
        var,
        ls.surrogate,
        "least_squares",
        int(U.shape[0]),
        ls.cv_r2,
        int(U.shape[0]),
        ls.level,
        ls.ridge,
    )


def _as_mapping(imp: Importance, which: str) -> Mapping[str, float]:
    """``{name: index}`` for ``which`` in ``{"first_order", "total"}`` (shared by integrations)."""
    if which not in ("first_order", "total"):
        raise ValueError(f"`index` must be 'first_order' or 'total', got index={which!r}")
    values = imp.first_order if which == "first_order" else imp.total
    return {name: float(v) for name, v in zip(imp.names, values, strict=True)}
