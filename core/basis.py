"""Cardinal and modified B-spline basis functions on the unit interval, vectorized.

Every function here is pure and vectorized with numpy broadcasting. The B-splines are stored as
exact piecewise-polynomial tables (computed once per degree with rational arithmetic from the
Cox-de Boor recursion, in the local coordinate of each knot interval) and evaluated with Horner's
rule, so value, first and second derivative come from one code path.

Public API
----------
- :func:`cardinal_bspline` -- the cardinal B-spline ``b_p`` (knots 0, 1, ..., p+1) and its
  derivatives.
- :func:`modified_bspline` -- SG++'s ``BsplineModifiedBasis`` ``phi_{l,i}``.
- :class:`UnivariateFunctions` -- a set of ``q`` one-dimensional modified functions, evaluated
  at ``m`` points as a dense ``(q, m)`` array that only touches each function's support.
- :func:`tensor_factors` / :func:`basis_matrix` -- tensor-product basis values (and partial
  derivatives of any order per dimension) of a sparse grid at arbitrary points.

Notes
-----
Degree ``p`` is the polynomial degree (scipy calls it ``k``). Only odd degrees 1, 3, 5, 7 are
supported for the modified basis: SG++ silently lowers an even degree by one,
this module raises instead (`docs/decisions.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from core.grid.levels import MAX_LEVEL

__all__ = [
    "SUPPORTED_DEGREES",
    "CellPolynomials",
    "UnivariateFunctions",
    "basis_matrix",
    "cardinal_bspline",
    "check_degree",
    "check_grid",
    "check_nu",
    "modified_bspline",
    "tensor_factors",
]

#: Odd degrees of the modified B-spline basis that this module implements.
SUPPORTED_DEGREES: tuple[int, ...] = (1, 3, 5, 7)
_MAX_CARDINAL_DEGREE = 15


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
def check_degree(degree: Any) -> int:
    """Validate a modified B-spline degree: an odd int in :data:`SUPPORTED_DEGREES`.

    Raises
    ------
    TypeError
        If ``degree`` is not an integer.
    ValueError
        If ``degree`` is even or unsupported (never lowered silently, unlike SG++).
    """
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"`degree` must be an int, got degree={degree!r}")
    if int(degree) not in SUPPORTED_DEGREES:
        allowed = ", ".join(str(p) for p in SUPPORTED_DEGREES)
        raise ValueError(f"`degree` must be odd, one of {allowed}, got degree={degree!r}")
    return int(degree)


def check_nu(nu: Any) -> int:
    """Validate a derivative order ``nu`` in {0, 1, 2}."""
    if isinstance(nu, bool) or not isinstance(nu, (int, np.integer)) or int(nu) not in (0, 1, 2):
        raise ValueError(f"`nu` (derivative order) must be one of 0, 1, 2, got nu={nu!r}")
    return int(nu)


def _check_cardinal_degree(degree: Any) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        raise TypeError(f"`degree` must be an int, got degree={degree!r}")
    if not 0 <= int(degree) <= _MAX_CARDINAL_DEGREE:
        raise ValueError(
            f"`degree` must be in [0, {_MAX_CARDINAL_DEGREE}] for the cardinal B-spline, "
            f"got degree={degree!r}"
        )
    return int(degree)


def _check_level_index(level: np.ndarray, index: np.ndarray) -> None:
    """Raise unless ``1 <= level <= MAX_LEVEL`` and ``index`` is odd in [1, 2**level - 1]."""
    bad = (level < 1) | (level > MAX_LEVEL)
    if bad.any():
        raise ValueError(
            f"`level` must be an int in [1, {MAX_LEVEL}], got level={level[bad].flat[0]}"
        )
    bad = (index < 1) | (index >= np.left_shift(np.int64(1), level)) | (index % 2 == 0)
    if bad.any():
        pos = np.argwhere(bad)[0]
        lv, iv = level[tuple(pos)], index[tuple(pos)]
        raise ValueError(
            f"`index` must be odd and in [1, 2**level - 1], got index={iv} at level={lv}"
        )


def _as_int_array(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        if (
            arr.dtype.kind == "f"
            and arr.size
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        ):
            return arr.astype(np.int64)
        raise TypeError(f"`{name}` must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------
# exact piecewise-polynomial tables
# --------------------------------------------------------------------------------------------
def _padd(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    n = max(len(a), len(b))
    return [
        (a[k] if k < len(a) else Fraction(0)) + (b[k] if k < len(b) else Fraction(0))
        for k in range(n)
    ]


def _pmul(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        for j, bj in enumerate(b):
            out[i + j] += ai * bj
    return out


def _pder(a: list[Fraction]) -> list[Fraction]:
    return [k * a[k] for k in range(1, len(a))] or [Fraction(0)]


@cache
def _cardinal_pieces_exact(degree: int) -> tuple[tuple[Fraction, ...], ...]:
    """Pieces of ``b_p`` on [k, k+1), k = 0..p, as polynomials in the local ``t = X - k``.

    Cox-de Boor: ``b_p(X) = X/p b_{p-1}(X) + (p+1-X)/p b_{p-1}(X-1)``; on piece k, ``X = k + t``
    and ``b_{p-1}(X - 1)`` is piece ``k - 1`` of ``b_{p-1}`` in the same ``t``.
    """
    pieces: list[list[Fraction]] = [[Fraction(1)]]
    for q in range(1, degree + 1):
        new = []
        for k in range(q + 1):
            acc = [Fraction(0)]
            if k <= q - 1:
                acc = _padd(acc, _pmul([Fraction(k, q), Fraction(1, q)], pieces[k]))
            if k >= 1:
                acc = _padd(acc, _pmul([Fraction(q + 1 - k, q), Fraction(-1, q)], pieces[k - 1]))
            new.append(acc)
        pieces = new
    return tuple(tuple(p) for p in pieces)


@cache
def _boundary_pieces_exact(degree: int) -> tuple[tuple[Fraction, ...], ...]:
    """Pieces of the modified left-boundary function in ``X = 2**l x`` on [j, j+1), j = 0..c.

    ``phi_mod(X) = sum_{k=0}^{c} (k+1) b_p(X + c - 1 + k)`` with ``c = (p+1)/2``
    (= floor((p+2)/2) for odd p). It vanishes for ``X >= c + 1``.
    """
    card = _cardinal_pieces_exact(degree)
    c = (degree + 1) // 2
    out = []
    for j in range(c + 1):
        acc = [Fraction(0)]
        for k in range(c + 1):
            piece = j + c - 1 + k
            if 0 <= piece <= degree:
                acc = _padd(acc, _pmul([Fraction(k + 1)], list(card[piece])))
        out.append(tuple(acc))
    return tuple(out)


def _to_float_table(pieces: tuple[tuple[Fraction, ...], ...], nu: int, width: int) -> np.ndarray:
    rows = []
    for poly in pieces:
        p = list(poly)
        for _ in range(nu):
            p = _pder(p)
        rows.append([float(p[k]) if k < len(p) else 0.0 for k in range(width)])
    return np.array(rows, dtype=np.float64).reshape(len(pieces), width)


@dataclass(frozen=True)
class _Tables:
    """Coefficient tables of one degree, transposed ``(p+1, rows)`` per derivative order.

    Row layout (each block framed by zero rows so that out-of-support pieces evaluate to 0):
    ``[0, cardinal pieces 0..p, 0, boundary pieces 0..c, 0, constant 1, 0]``.
    """

    degree: int
    coef: tuple[np.ndarray, np.ndarray, np.ndarray]  # nu = 0, 1, 2; each (p+1, rows)
    cardinal_offset: int
    boundary_offset: int
    constant_offset: int


@cache
def _tables(degree: int) -> _Tables:
    width = degree + 1
    c = (degree + 1) // 2
    card = _cardinal_pieces_exact(degree)
    bnd = _boundary_pieces_exact(degree)
    const = ((Fraction(1),),)
    coef = []
    for nu in range(3):
        zero = np.zeros((1, width))
        blocks = [
            zero,
            _to_float_table(card, nu, width),
            zero,
            _to_float_table(bnd, nu, width),
            zero,
            _to_float_table(const, nu, width),
            zero,
        ]
        table = np.ascontiguousarray(np.concatenate(blocks, axis=0).T)
        table.setflags(write=False)
        coef.append(table)
    return _Tables(
        degree=degree,
        coef=(coef[0], coef[1], coef[2]),
        cardinal_offset=1,
        boundary_offset=degree + 3,
        constant_offset=degree + 3 + c + 2,
    )


def _horner(tableT: np.ndarray, piece: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate the polynomial rows ``piece`` of a transposed table at local coordinates ``t``."""
    p = tableT.shape[0] - 1
    r = tableT[p].take(piece)
    for j in range(p - 1, -1, -1):
        r *= t
        r += tableT[j].take(piece)
    return r


def _piecewise(
    T: np.ndarray,
    offset: np.ndarray | int,
    n_pieces: np.ndarray | int,
    low_clip: np.ndarray | int,
) -> tuple[np.ndarray, np.ndarray]:
    """Table row and local coordinate for knot coordinates ``T`` (finite).

    ``floor(T)`` is clipped to ``[low_clip, n_pieces]`` (``-1`` and ``n_pieces`` are the zero
    pad rows; ``low_clip = 0`` continues the first piece to the left).
    """
    kf = np.floor(T)
    np.clip(kf, low_clip, n_pieces, out=kf)
    t = T - kf  # after clipping: a continued piece is evaluated at its own local coordinate
    piece = kf.astype(np.intp)
    piece += offset
    return piece, t


def _eval_affine(
    u: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    offset: np.ndarray,
    n_pieces: np.ndarray,
    low_clip: np.ndarray,
    tables: _Tables,
    nus: tuple[int, ...],
) -> list[np.ndarray]:
    """Core kernel: ``phi^(nu)(u) = scale**nu * P^(nu)(T)``, ``T = scale * u + shift``.

    All array arguments share one shape. ``u`` must be finite.
    """
    T = u * scale
    T += shift
    piece, t = _piecewise(T, offset, n_pieces, low_clip)
    out = []
    for nu in nus:
        r = _horner(tables.coef[nu], piece, t)
        if nu == 1:
            r *= scale
        elif nu == 2:
            r *= scale * scale
        out.append(r)
    return out


# --------------------------------------------------------------------------------------------
# public scalar-function API
# --------------------------------------------------------------------------------------------
def cardinal_bspline(x: Any, degree: int, nu: int = 0) -> np.ndarray:
    r"""Cardinal B-spline :math:`b_p` of degree ``p`` (knots 0, 1, ..., p+1) or a derivative.

    Parameters
    ----------
    x : array_like
        Evaluation points (any shape).
    degree : int
        Polynomial degree ``p`` in [0, 15] (even degrees are fine for the cardinal spline).
    nu : {0, 1, 2}
        Derivative order.

    Returns
    -------
    ndarray, same shape as ``x``
        :math:`b_p^{(\nu)}(x)`; zero outside the support ``[0, p+1)``. At knots the right-hand
        piece is used. NaN in ``x`` gives NaN.

    Notes
    -----
    :math:`b_0 = 1_{[0,1)}`, :math:`b_p(x) = \frac{x}{p} b_{p-1}(x) + \frac{p+1-x}{p}
    b_{p-1}(x-1)` (Cox-de Boor), :math:`b_p' = b_{p-1}(x) - b_{p-1}(x-1)`.

    Examples
    --------
    >>> float(cardinal_bspline(2.0, 3))
    0.6666666666666666
    """
    p = _check_cardinal_degree(degree)
    nu = check_nu(nu)
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    xs = np.where(finite, x, -1.0).ravel()
    width = max(p + 1, 1)
    card = _cardinal_pieces_exact(p)
    table = np.concatenate(
        [np.zeros((1, width)), _to_float_table(card, nu, width), np.zeros((1, width))]
    ).T
    table = np.ascontiguousarray(table)
    piece, t = _piecewise(xs, 1, p + 1, -1)
    r = _horner(table, piece, t).reshape(x.shape)
    if not finite.all():
        r = np.where(finite, r, np.nan)
    return r


def _affine_params(
    level: np.ndarray, index: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-function affine map ``T = scale * x + shift`` and table block of modified functions.

    Returns ``scale, shift, offset, n_pieces, low_clip`` (float, float, intp, intp, intp).
    """
    tab = _tables(degree)
    c = (degree + 1) // 2
    h_inv = np.ldexp(1.0, level)  # 2**l
    right_i = np.left_shift(np.int64(1), level) - 1
    const = level == 1
    left = (~const) & (index == 1)
    right = (~const) & (~left) & (index == right_i)
    interior = ~(const | left | right)
    scale = np.where(const, 0.0, np.where(right, -h_inv, h_inv))
    shift = np.where(
        const, 0.5, np.where(right, h_inv, np.where(left, 0.0, (c - index).astype(np.float64)))
    )
    offset = np.where(
        interior,
        tab.cardinal_offset,
        np.where(const, tab.constant_offset, tab.boundary_offset),
    ).astype(np.intp)
    n_pieces = np.where(interior, degree + 1, np.where(const, 1, c + 1)).astype(np.intp)
    low_clip = np.where(interior, -1, 0).astype(np.intp)
    return scale, shift, offset, n_pieces, low_clip


def modified_bspline(x: Any, level: Any, index: Any, degree: int, nu: int = 0) -> np.ndarray:
    r"""Modified hierarchical B-spline :math:`\varphi_{l,i}` (SG++ ``BsplineModifiedBasis``).

    Parameters
    ----------
    x : array_like of float
        Points in [0, 1]; broadcast together with ``level`` and ``index``.
    level : array_like of int
        Levels ``l >= 1``.
    index : array_like of int
        Odd indices in ``[1, 2**l - 1]``.
    degree : {1, 3, 5, 7}
        Odd B-spline degree ``p``. Even degrees raise ``ValueError`` (SG++ lowers them).
    nu : {0, 1, 2}
        Derivative order with respect to ``x``.

    Returns
    -------
    ndarray, broadcast shape of ``x``, ``level``, ``index``
        Values of :math:`\varphi^{(\nu)}_{l,i}(x)`.

    Notes
    -----
    With :math:`X = 2^l x`, :math:`c = (p+1)/2` and the cardinal spline :math:`b_p`:

    - ``l = 1``: :math:`\varphi \equiv 1`;
    - ``i = 1`` (``l >= 2``): :math:`\varphi(x) = \sum_{k=0}^{c} (k+1)\, b_p(X + c - 1 + k)`,
      which equals :math:`\sum_{k \ge 0} (k+1) \varphi_{l,1-k}(x)` on [0, 1] and is linear
      (slope :math:`-2^l`) near ``x = 0`` for ``p <= 3``;
    - ``i = 2^l - 1`` (``l >= 2``): the mirror image :math:`\varphi_{l,1}(1 - x)`; its first
      derivative changes sign, the second does not;
    - otherwise :math:`b_p(X - i + c)`; derivatives carry the chain-rule factors
      :math:`2^l` and :math:`4^l`.

    The basis lives on [0, 1]. Outside it the boundary functions continue their outermost
    polynomial piece (for ``p <= 3`` SG++'s linear continuation); interior functions are 0
    outside their support. Knots use the right-hand piece. NaN in ``x`` gives NaN.

    Examples
    --------
    >>> float(modified_bspline(0.1, 2, 1, 3))
    1.6
    >>> float(modified_bspline(0.9, 2, 3, 3, nu=1))
    4.0
    """
    p = check_degree(degree)
    nu = check_nu(nu)
    x = np.asarray(x, dtype=np.float64)
    lv = _as_int_array(level, "level")
    ix = _as_int_array(index, "index")
    x, lv, ix = np.broadcast_arrays(x, lv, ix)
    _check_level_index(lv, ix)
    finite = np.isfinite(x)
    xs = np.where(finite, x, 0.5).ravel()
    scale, shift, offset, n_pieces, low_clip = _affine_params(lv.ravel(), ix.ravel(), p)
    (r,) = _eval_affine(xs, scale, shift, offset, n_pieces, low_clip, _tables(p), (nu,))
    r = r.reshape(x.shape)
    if not finite.all():
        r = np.where(finite, r, np.nan)
    return r


# --------------------------------------------------------------------------------------------
# sets of univariate functions and tensor products
# --------------------------------------------------------------------------------------------
#: Largest level for which :class:`CellPolynomials` finds cells by a lookup table (2**L entries).
_LOOKUP_MAX_LEVEL = 16


@dataclass(frozen=True, eq=False)
class CellPolynomials:
    """A set of ``q`` modified functions as one polynomial per knot cell.

    The knots of all functions cut [0, 1] into ``nc`` cells ``[a_c, a_{c+1})``. On a cell
    every function (and each derivative) is a single polynomial in the exact local
    coordinate ``s = 2**L u - A_c`` (``L`` the largest level, ``A_c = 2**L a_c`` an integer):

    ``phi_j^(nu)(u) = sum_k tables[nu][c (p+1) + k, j] * s**k``.

    So the values of all functions at ``m`` points are one sparse-times-dense product,
    ``S @ tables[nu]``, where row ``i`` of ``S`` (m, nc (p+1)) holds the ``p + 1`` powers of
    ``s_i`` in the columns of its cell (see :meth:`powers`).

    Attributes
    ----------
    degree : int
        Odd B-spline degree ``p``.
    level : int
        Largest level ``L`` of the functions.
    knots : ndarray of int64, shape (nc + 1,)
        Cell bounds in units of ``2**-L``, from 0 to ``2**L``.
    left : ndarray, shape (nc,)
        ``A_c`` as floats.
    lookup : ndarray of int32, shape (2**L,), or None
        Cell of each interval ``[k, k+1) 2**-L`` (None above ``_LOOKUP_MAX_LEVEL``: binary
        search).
    tables : tuple of 3 ndarray, each shape (nc (p+1), q)
        Coefficients of the values, first and second derivatives.

    Notes
    -----
    The coefficients are the Taylor expansions of :meth:`UnivariateFunctions.values`'s pieces
    at the cell's left end, so the two agree to rounding wherever the derivative is
    continuous (``nu < p``). At a knot the cell to the right (in ``u``) is used; ``values``
    uses the right-hand piece in each function's own coordinate, which for the mirrored
    right-boundary functions is the left-hand side, so the two differ at knots for ``nu >= p``
    (the degree-1 first derivative). ``u = 1`` belongs to the last cell.
    """

    degree: int
    level: int
    knots: np.ndarray
    left: np.ndarray
    lookup: np.ndarray | None
    tables: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def n_cells(self) -> int:
        """Number of cells ``nc``."""
        return int(self.knots.shape[0] - 1)

    def powers(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nonzeros of the power matrix ``S`` for points ``u``.

        Parameters
        ----------
        u : ndarray, shape (m,)
            Points in [0, 1] (not checked).

        Returns
        -------
        data : ndarray, shape (m * (p+1),)
            ``s_i**k`` at position ``i (p+1) + k``.
        columns : ndarray of int32, shape (m * (p+1),)
            The table row ``c_i (p+1) + k`` each power multiplies.
        """
        p1 = self.degree + 1
        x = u * float(1 << self.level)  # exact
        if self.lookup is not None:
            fine = x.astype(np.intp)
            np.minimum(fine, self.lookup.shape[0] - 1, out=fine)
            cell = self.lookup.take(fine)
        else:
            cell = np.searchsorted(self.left[1:], x, side="right").astype(np.int32)
        s = x - self.left.take(cell)  # exact
        data = np.empty((u.shape[0], p1))
        data[:, 0] = 1.0
        data[:, 1] = s
        for k in range(2, p1):
            np.multiply(data[:, k - 1], s, out=data[:, k])
        cols = cell * np.int32(p1)
        columns = cols[:, None] + np.arange(p1, dtype=np.int32)
        return data.reshape(-1), columns.reshape(-1)


@dataclass(frozen=True, eq=False)
class UnivariateFunctions:
    """A fixed set of ``q`` one-dimensional modified B-spline functions ``phi_{l_j, i_j}``.

    Precomputes each function's affine map to the knot coordinate and its support, so that
    :meth:`values` evaluates all ``q`` functions at ``m`` points while touching only the
    (function, point) pairs inside each support.

    Attributes
    ----------
    levels, indices : ndarray of int, shape (q,)
        The functions (validated: level >= 1, odd index in [1, 2**level - 1]).
    degree : int
        Odd B-spline degree.
    lower, upper : ndarray, shape (q,)
        Closed support bounds in x (infinite where the function does not vanish outside).
    """

    levels: np.ndarray
    indices: np.ndarray
    degree: int
    scale: np.ndarray
    shift: np.ndarray
    offset: np.ndarray
    n_pieces: np.ndarray
    low_clip: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @classmethod
    def from_pairs(cls, levels: Any, indices: Any, degree: int) -> UnivariateFunctions:
        """Build from level and index arrays of shape ``(q,)``."""
        p = check_degree(degree)
        lv = np.atleast_1d(_as_int_array(levels, "levels")).ravel()
        ix = np.atleast_1d(_as_int_array(indices, "indices")).ravel()
        if lv.shape != ix.shape:
            raise ValueError(
                f"`levels` and `indices` must have the same shape, got {lv.shape} and {ix.shape}"
            )
        _check_level_index(lv, ix)
        scale, shift, offset, n_pieces, low_clip = _affine_params(lv, ix, p)
        c = (p + 1) // 2
        h = np.ldexp(1.0, -lv)
        interior = offset == _tables(p).cardinal_offset
        const = lv == 1
        left = (~const) & (~interior) & (scale > 0)
        right = (~const) & (~interior) & (scale < 0)
        lower = np.where(interior, (ix - c) * h, -np.inf)
        lower = np.where(right, 1.0 - (c + 1) * h, lower)
        upper = np.where(interior, (ix + c) * h, np.inf)
        upper = np.where(left, (c + 1) * h, upper)
        arrays = (lv, ix, scale, shift, offset, n_pieces, low_clip, lower, upper)
        for a in arrays:
            a.setflags(write=False)
        return cls(lv, ix, p, scale, shift, offset, n_pieces, low_clip, lower, upper)

    @classmethod
    def concatenate(cls, parts: list[UnivariateFunctions]) -> UnivariateFunctions:
        """Stack several sets of the same degree into one (functions in order)."""
        if not parts:
            raise ValueError("`parts` must contain at least one UnivariateFunctions")
        degrees = {f.degree for f in parts}
        if len(degrees) != 1:
            raise ValueError(f"all parts must have the same degree, got degrees {sorted(degrees)}")
        names = ("levels", "indices", "scale", "shift", "offset", "n_pieces", "low_clip")
        arrays = {k: np.concatenate([getattr(f, k) for f in parts]) for k in names}
        arrays["lower"] = np.concatenate([f.lower for f in parts])
        arrays["upper"] = np.concatenate([f.upper for f in parts])
        for a in arrays.values():
            a.setflags(write=False)
        return cls(degree=parts[0].degree, **arrays)

    def evaluate(self, u: Any, nus: tuple[int, ...] = (0,)) -> list[np.ndarray]:
        """Evaluate function ``j`` at ``u[..., j]`` (dense, no support search).

        Parameters
        ----------
        u : array_like, shape (..., q)
            Finite points; the last axis runs over the functions (broadcasting allowed).
        nus : tuple of {0, 1, 2}
            Derivative orders wanted.

        Returns
        -------
        list of ndarray, each of the broadcast shape of ``u`` and ``(q,)``
        """
        u = np.asarray(u, dtype=np.float64)
        for nu in nus:
            check_nu(nu)
        shape = np.broadcast_shapes(u.shape, (self.size,))
        u = np.broadcast_to(u, shape)
        return _eval_affine(
            u,
            self.scale,
            self.shift,
            self.offset,
            self.n_pieces,
            self.low_clip,
            _tables(self.degree),
            tuple(nus),
        )

    @property
    def size(self) -> int:
        """Number of functions ``q``."""
        return int(self.levels.shape[0])

    def values(self, u: Any, nus: tuple[int, ...] = (0,)) -> list[np.ndarray]:
        """Values (and derivatives) of all functions at the points ``u``.

        Parameters
        ----------
        u : array_like, shape (m,)
            Finite points (normally in [0, 1]).
        nus : tuple of {0, 1, 2}
            Derivative orders wanted.

        Returns
        -------
        list of ndarray, each shape (q, m)
            ``out[k][j, i] = phi_j^(nus[k])(u_i)``; dense, zero outside the supports.

        Notes
        -----
        For large ``q * m`` the points are sorted once and each function is evaluated only at
        the points inside its closed support (found by binary search), then scattered into
        the dense result; the cost is proportional to the number of nonzero entries.
        """
        u = np.asarray(u, dtype=np.float64).ravel()
        nus = tuple(check_nu(nu) for nu in nus)
        q, m = self.size, u.shape[0]
        if q * m <= 4096 or m == 0:
            vals = self.evaluate(np.broadcast_to(u[:, None], (m, q)), nus)
            return [np.ascontiguousarray(v.T) for v in vals]
        tables = _tables(self.degree)
        order = np.argsort(u, kind="stable")
        us = u[order]
        a = np.searchsorted(us, self.lower, side="left")
        b = np.searchsorted(us, self.upper, side="right")
        counts = b - a
        const = self.levels == 1  # phi = 1 everywhere: filled directly, not evaluated
        counts[const] = 0
        total = int(counts.sum())
        # pairs (function j, sorted position pos) for pos in [a_j, b_j), grouped by function
        pos = np.arange(total, dtype=np.intp)
        pos += np.repeat(a - (np.cumsum(counts) - counts), counts)
        T = us[pos]
        T *= np.repeat(self.scale, counts)
        T += np.repeat(self.shift, counts)
        if us[0] >= 0.0 and us[-1] <= 1.0:
            # inside the unit interval every pair lies in [0, n_pieces] of its block (the
            # affine maps are exact up to monotone rounding), so no clipping is needed
            kf = np.floor(T)
            T -= kf
            piece = kf.astype(np.intp)
            piece += np.repeat(self.offset, counts)
        else:
            piece, T = _piecewise(
                T,
                np.repeat(self.offset, counts),
                np.repeat(self.n_pieces, counts),
                np.repeat(self.low_clip, counts),
            )
        flat = np.repeat(np.arange(0, q * m, m, dtype=np.intp), counts)
        flat += order[pos]
        out = []
        for nu in nus:
            v = _horner(tables.coef[nu], piece, T)
            if nu:
                factor = self.scale if nu == 1 else self.scale * self.scale
                v *= np.repeat(factor, counts)
            dense = np.zeros(q * m)
            dense[flat] = v
            dense = dense.reshape(q, m)
            if nu == 0:
                dense[const] = 1.0
            out.append(dense)
        return out

    def cell_knots(self) -> np.ndarray:
        """Bounds of the cells of :meth:`cell_polynomials`, in units of ``2**-L``.

        Returns
        -------
        ndarray of int64, shape (nc + 1,)
            Sorted, from 0 to ``2**L`` (``L`` the largest level).
        """
        c = (self.degree + 1) // 2
        L = int(self.levels.max())
        full = np.int64(1) << L
        inner = self.levels > 1
        # every breakpoint of phi_{l,i} (interior, boundary or mirrored boundary) is among
        # (i + k) 2**-l, k = -c..c; extra cuts only split a polynomial piece
        ks = np.arange(-c, c + 1, dtype=np.int64)
        cuts = (self.indices[inner, None] + ks) << (L - self.levels[inner, None])
        knots = np.unique(np.concatenate([np.array([0, full]), cuts.ravel()]))
        return knots[(knots >= 0) & (knots <= full)]

    def cell_polynomials(self) -> CellPolynomials:
        """The functions as one polynomial per knot cell, for fast batch evaluation.

        Returns
        -------
        CellPolynomials
            Tables of all ``q`` functions and their first two derivatives, see there.
        """
        p = self.degree
        c = (p + 1) // 2
        L = int(self.levels.max())
        full = np.int64(1) << L
        shift_l = L - self.levels  # the 2**-l grid in units of 2**-L
        const = self.levels == 1
        knots = self.cell_knots()
        nc = knots.size - 1
        # (function, cell) pairs: the cells inside each function's support (clipped to [0, 1])
        lo = np.clip((self.indices - c) << shift_l, 0, full)
        hi = np.clip((self.indices + c) << shift_l, 0, full)
        lo[const], hi[const] = 0, full
        first = np.searchsorted(knots, lo)
        counts = np.searchsorted(knots, hi) - first
        fid = np.repeat(np.arange(self.size), counts)
        cell = np.arange(int(counts.sum()), dtype=np.int64)
        cell += np.repeat(first - (np.cumsum(counts) - counts), counts)
        # knot coordinate T = scale u + shift at the cell's left end and middle (exact), the
        # polynomial piece on the cell, and T = ta + r s with s = 2**L u - knots[cell]
        scale, shift = self.scale[fid], self.shift[fid]
        left = knots[cell].astype(np.float64)
        mid = left + 0.5 * (knots[cell + 1] - knots[cell])
        Ta = np.ldexp(left, -L) * scale + shift
        piece = np.floor(np.ldexp(mid, -L) * scale + shift)
        ta = Ta - piece
        r = np.ldexp(scale, -L)
        rows = piece.astype(np.intp) + self.offset[fid]
        Q = _tables(p).coef[0].take(rows, axis=1).T.copy()  # (pairs, p+1), ascending powers
        for i in range(p):  # Taylor shift to ta (synthetic division)
            for j in range(p - 1, i - 1, -1):
                Q[:, j] += ta * Q[:, j + 1]
        Q *= r[:, None] ** np.arange(p + 1)
        tables = []
        for _ in range(3):  # nu = 0, 1, 2
            T = np.zeros((nc, p + 1, self.size))
            T[cell, :, fid] = Q
            T = T.reshape(nc * (p + 1), self.size)
            T.setflags(write=False)
            tables.append(T)
            # next derivative in u: d/du = 2**L d/ds
            Q = np.concatenate([Q[:, 1:] * np.arange(1, p + 1), np.zeros((Q.shape[0], 1))], axis=1)
            Q *= np.ldexp(1.0, L)
        if L <= _LOOKUP_MAX_LEVEL:
            lookup: np.ndarray | None = np.repeat(np.arange(nc, dtype=np.int32), np.diff(knots))
        else:
            lookup = None
        left_f = knots[:-1].astype(np.float64)
        for a in (knots, left_f) + (() if lookup is None else (lookup,)):
            a.setflags(write=False)
        return CellPolynomials(p, L, knots, left_f, lookup, (tables[0], tables[1], tables[2]))


def check_grid(levels: Any, indices: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate grid arrays: int ``(n, d)``, ``1 <= level <= MAX_LEVEL``, odd index in range.

    Returns ``(levels, indices)`` as int64 arrays of shape ``(n, d)``.
    """
    lv = _as_int_array(levels, "levels")
    ix = _as_int_array(indices, "indices")
    if lv.ndim != 2 or lv.shape[0] < 1 or lv.shape[1] < 1:
        raise ValueError(f"`levels` must have shape (n, d) with n, d >= 1, got shape {lv.shape}")
    if ix.shape != lv.shape:
        raise ValueError(
            f"`indices` must have the shape of `levels` {lv.shape}, got shape {ix.shape}"
        )
    _check_level_index(lv, ix)
    return lv, ix


def tensor_factors(
    levels: Any, indices: Any, degree: int
) -> list[tuple[UnivariateFunctions, np.ndarray]]:
    """Split a grid's tensor-product basis into per-dimension unique 1-D functions.

    Parameters
    ----------
    levels, indices : array_like of int, shape (n, d)
        Grid points (one basis function each).
    degree : {1, 3, 5, 7}

    Returns
    -------
    list of (UnivariateFunctions, ndarray of intp shape (n,))
        For dimension ``t``: the ``q_t`` distinct functions ``phi_{l,i}`` used in that dimension
        and, per basis function ``k``, the position of its factor among them, so that
        ``Phi_k(u) = prod_t V_t[inv_t[k], u_t]``.
    """
    p = check_degree(degree)
    lv, ix = check_grid(levels, indices)
    out = []
    for t in range(lv.shape[1]):
        key = (lv[:, t] << 52) | ix[:, t]  # level < 2**11, index < 2**50 fit in int64
        uniq, inv = np.unique(key, return_inverse=True)
        funcs = UnivariateFunctions.from_pairs(uniq >> 52, uniq & ((1 << 52) - 1), p)
        out.append((funcs, inv.astype(np.intp).ravel()))
    return out


def basis_matrix(U: Any, levels: Any, indices: Any, degree: int, nu: Any = None) -> np.ndarray:
    r"""Tensor-product basis values (or mixed partial derivatives) at points.

    Parameters
    ----------
    U : array_like, shape (m, d)
        Points in [0, 1]^d (a single ``(d,)`` point is read as ``(1, d)``).
    levels, indices : array_like of int, shape (n, d)
        Grid points defining the basis functions :math:`\Phi_k`.
    degree : {1, 3, 5, 7}
        Odd modified B-spline degree.
    nu : array_like of int, shape (d,), optional
        Derivative order per dimension (each 0, 1 or 2); default all zeros.

    Returns
    -------
    ndarray, shape (m, n)
        :math:`\partial^{\nu} \Phi_k(u_j)` with
        :math:`\Phi_k(u) = \prod_t \varphi_{l_{kt}, i_{kt}}(u_t)`. The result is an
        F-contiguous array; it is dense (``8 m n`` bytes), so chunk ``U`` for large problems.
        The gradient is ``nu = e_t``; Hessian diagonals ``2 e_t``, off-diagonals ``e_s + e_t``.
    """
    factors = tensor_factors(levels, indices, degree)
    d = len(factors)
    U = np.asarray(U, dtype=np.float64)
    if U.ndim == 1 and U.shape[0] == d:
        U = U[None, :]
    if U.ndim != 2 or U.shape[1] != d:
        raise ValueError(f"`U` must have shape (m, {d}), got shape {np.shape(U)}")
    if not np.all(np.isfinite(U)):
        raise ValueError("`U` must be finite")
    nus = np.zeros(d, dtype=np.int64) if nu is None else np.asarray(nu).ravel()
    if nus.shape != (d,):
        raise ValueError(f"`nu` must have shape ({d},), got shape {np.shape(nu)}")
    nus_t = tuple(check_nu(int(v) if isinstance(v, np.integer) else v) for v in nus.tolist())
    B: np.ndarray | None = None
    for t, (funcs, inv) in enumerate(factors):
        (V,) = funcs.values(U[:, t], (nus_t[t],))
        G = V[inv]  # (n, m)
        if B is None:
            B = G
        else:
            B *= G
    assert B is not None
    return B.T
