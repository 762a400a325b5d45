"""Level/index arithmetic of dyadic sparse grids without boundary points.

A 1-D grid point is a pair ``(l, i)`` with level ``l >= 1`` and odd index ``1 <= i <= 2**l - 1``;
its coordinate is ``x = i * 2**-l``. A ``d``-dimensional point is a pair of rows
``(levels[k], indices[k])``; collections of points are ``(n, d)`` int arrays.

Everything here is pure: no state, no grid object. The functions are vectorized over arrays of
any (matching) shape unless stated otherwise.

References
----------
SG++ 3.3, ``HashGenerator.hpp::regular_iter`` (storage order of :func:`regular_grid`) and
``HashRefinementMultiple`` (chain children); docs/algorithms.md, "Regular initial grid" and
"Chain children".
"""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np

from core._validation import check_int

__all__ = [
    "MAX_INITIAL_LEVEL",
    "MAX_LEVEL",
    "children",
    "coordinates",
    "left_chain_child",
    "level_sum",
    "parent",
    "regular_grid",
    "regular_grid_size",
    "right_chain_child",
]

#: Deepest level of any grid point: the one limit of the generator (``max_level``), the B-spline
#: basis and the explorer. Coordinates ``i * 2**-l`` are exact in float64 up to level 52; the
#: basis keeps two levels of headroom for its scaled coordinates ``x 2**l - i``.
MAX_LEVEL = 50
#: Deepest initial regular grid of the Novak-Ritter generator (``initial_level``; the reason is
#: in docs/decisions.md, "Initial level 1 by default").
MAX_INITIAL_LEVEL = 4


def _as_int_array(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        if arr.size == 0:
            return arr.astype(np.int64)
        raise TypeError(f"`{name}` must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _check_level_index(levels: np.ndarray, indices: np.ndarray) -> None:
    if levels.shape != indices.shape:
        raise ValueError(
            f"`levels` and `indices` must have the same shape, got {levels.shape} and "
            f"{indices.shape}"
        )
    if levels.size == 0:
        return
    if levels.min() < 1 or levels.max() > MAX_LEVEL:
        raise ValueError(
            f"`levels` must be in [1, {MAX_LEVEL}], got values in "
            f"[{levels.min()}, {levels.max()}]"
        )
    bad = (indices % 2 == 0) | (indices < 1) | (indices >= (np.int64(1) << levels))
    if bad.any():
        k = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ValueError(
            "`indices` must be odd with 1 <= i <= 2**l - 1, got "
            f"(l, i) = ({levels[k]}, {indices[k]}) at position {k}"
        )


def coordinates(levels: Any, indices: Any) -> np.ndarray:
    """Coordinates ``x = i * 2**-l`` of grid points.

    Parameters
    ----------
    levels, indices : array_like of int, shape (n, d) (any matching shape works)
        Levels ``l >= 1`` and odd indices ``1 <= i <= 2**l - 1``.

    Returns
    -------
    ndarray of float64, same shape
        The coordinates, exact (dyadic numbers), in the open interval (0, 1).

    Examples
    --------
    >>> coordinates([[1, 2]], [[1, 3]])
    array([[0.5 , 0.75]])
    """
    lv = _as_int_array(levels, "levels")
    ix = _as_int_array(indices, "indices")
    _check_level_index(lv, ix)
    return np.ldexp(ix.astype(np.float64), -lv)


def level_sum(levels: Any) -> np.ndarray:
    """``|l|_1`` of each point.

    Parameters
    ----------
    levels : array_like of int, shape (n, d)

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    lv = _as_int_array(levels, "levels")
    if lv.ndim != 2:
        raise ValueError(f"`levels` must have shape (n, d), got shape {lv.shape}")
    return lv.sum(axis=1)


def regular_grid_size(dim: int, level: int) -> int:
    """Number of points of the regular sparse grid without boundary.

    ``sum_{k=0}^{level-1} 2**k * C(k + dim - 1, dim - 1)``: 1 for level 1; for level 3 it is
    17 (dim 2), 31 (dim 3), 71 (dim 5), 199 (dim 9).
    """
    d = check_int(dim, "dim", low=1)
    n = check_int(level, "level", low=1)
    return sum((1 << k) * comb(k + d - 1, d - 1) for k in range(n))


def regular_grid(dim: int, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Regular sparse grid ``{(l, i): l_t >= 1, |l|_1 <= level + dim - 1}`` in SG++ storage order.

    Parameters
    ----------
    dim : int
        Dimension ``d >= 1``.
    level : int
        Level ``n >= 1`` of the regular grid (SG++ ``regular(n)``); level 1 is the centre only.

    Returns
    -------
    levels, indices : ndarray of int64, shape (regular_grid_size(dim, level), dim)
        In the order SG++ 3.3 (``HashGenerator::regular_iter``, no boundary) stores them.

    Notes
    -----
    Storage order (as in SG++):

    1. Dimension 0 first, other dimensions at ``(1, 1)``: for ``l = 1..n``, for odd ``i``, append.
    2. For each further dimension ``t``, loop over the points ``g`` stored so far (count frozen
       before the loop); with ``L = |l(g)|_1 - 1``, for ``l = 1, 2, ...`` while
       ``l + L <= n + d - 1`` and each odd ``i``: ``(1, 1)`` keeps ``g`` in place (it is already
       ``(1, 1)`` in dimension ``t``), every other ``(l, i)`` appends a copy of ``g`` with
       dimension ``t`` set to ``(l, i)``.

    Examples
    --------
    >>> lv, ix = regular_grid(2, 2)
    >>> lv.tolist(), ix.tolist()
    ([[1, 1], [2, 1], [2, 1], [1, 2], [1, 2]], [[1, 1], [1, 1], [3, 1], [1, 1], [1, 3]])
    """
    d = check_int(dim, "dim", low=1)
    n = check_int(level, "level", low=1, high=MAX_LEVEL)
    size = regular_grid_size(d, n)
    lv = np.ones((size, d), dtype=np.int64)
    ix = np.ones((size, d), dtype=np.int64)
    m = 0
    for l in range(1, n + 1):
        cnt = 1 << (l - 1)
        lv[m : m + cnt, 0] = l
        ix[m : m + cnt, 0] = np.arange(1, 1 << l, 2)
        m += cnt
    top = n + d - 1
    lsum = lv[:m].sum(axis=1)  # running level sums (dimensions >= t still at level 1)
    lsum_all = np.empty(size, dtype=np.int64)
    lsum_all[:m] = lsum
    for t in range(1, d):
        frozen = m
        for g in range(frozen):
            budget = top - (int(lsum_all[g]) - 1)  # largest level allowed in dimension t
            for l in range(2, budget + 1):
                cnt = 1 << (l - 1)
                sl = slice(m, m + cnt)
                lv[sl] = lv[g]
                ix[sl] = ix[g]
                lv[sl, t] = l
                ix[sl, t] = np.arange(1, 1 << l, 2)
                lsum_all[sl] = lsum_all[g] + (l - 1)
                m += cnt
    assert m == size
    return lv, ix


def left_chain_child(level: Any, index: Any, k: Any = 1) -> tuple[np.ndarray, np.ndarray]:
    """k-th member of the left descent chain of the 1-D point ``(l, i)``: ``(l+k, 2**k i - 1)``.

    The chain ``x - 2**-(l+1), x - 2**-(l+2), ...`` approaches ``x = i 2**-l`` from the left;
    ``k = 1`` is the direct left child. Vectorized over ``level``, ``index`` and ``k``.
    """
    return _chain_child(level, index, k, -1)


def right_chain_child(level: Any, index: Any, k: Any = 1) -> tuple[np.ndarray, np.ndarray]:
    """k-th member of the right descent chain of ``(l, i)``: ``(l+k, 2**k i + 1)``."""
    return _chain_child(level, index, k, +1)


def _chain_child(level: Any, index: Any, k: Any, sign: int) -> tuple[np.ndarray, np.ndarray]:
    lv = _as_int_array(level, "level")
    ix = _as_int_array(index, "index")
    kk = _as_int_array(k, "k")
    lv, ix, kk = np.broadcast_arrays(lv, ix, kk)
    _check_level_index(lv, ix)
    if kk.size and kk.min() < 1:
        raise ValueError(f"`k` must be >= 1, got k={kk.min()}")
    if lv.size and (lv + kk).max() > MAX_LEVEL:
        raise ValueError(
            f"chain child level l + k must be <= {MAX_LEVEL}, got {(lv + kk).max()}"
        )
    return lv + kk, (ix << kk) + sign


def children(level: Any, index: Any) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Direct hierarchical children ``(l+1, 2i-1)`` and ``(l+1, 2i+1)`` of the 1-D point(s).

    Returns
    -------
    ((left_level, left_index), (right_level, right_index))
    """
    return left_chain_child(level, index, 1), right_chain_child(level, index, 1)


def parent(level: Any, index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical parent of the 1-D point(s) ``(l, i)``, ``l >= 2``: ``(l-1, odd of (i±1)/2)``.

    ``parent`` inverts :func:`children`: the parent of either child of ``(l, i)`` is ``(l, i)``.
    """
    lv = _as_int_array(level, "level")
    ix = _as_int_array(index, "index")
    lv, ix = np.broadcast_arrays(lv, ix)
    _check_level_index(lv, ix)
    if lv.size and lv.min() < 2:
        raise ValueError("`level` must be >= 2 to have a parent (level 1 is the root), got 1")
    up = (ix + 1) >> 1
    return lv - 1, np.where(up % 2 == 1, up, up - 1)
