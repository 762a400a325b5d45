"""Rank bookkeeping for Novak-Ritter: the two conventions of docs/decisions.md,
"Two rank conventions".

Pure functions on rank keys (float64 values in which failed evaluations are mapped to +inf, see
:func:`rank_keys`). Ranks are kept incrementally: :func:`initial_ranks` once, then
:func:`insert_ranks` per batch of new points, vectorized with ``np.searchsorted``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RANKINGS", "initial_ranks", "insert_ranks", "rank_keys"]

#: Accepted values of ``ranking`` (docs/decisions.md, "Two rank conventions").
RANKINGS = ("consistent", "sgpp")


def rank_keys(y: np.ndarray, ranking: str) -> np.ndarray:
    """Sort keys of values ``y`` (shape (n,)).

    ``"consistent"``: every non-finite value (NaN, +inf, -inf) becomes +inf (a failed
    evaluation, ranked worst). ``"sgpp"``: NaN becomes +inf, infinities are kept.
    """
    if ranking == "consistent":
        return np.where(np.isfinite(y), y, np.inf)
    return np.where(np.isnan(y), np.inf, y)


def initial_ranks(keys: np.ndarray, ranking: str) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of the initial points.

    Parameters
    ----------
    keys : ndarray, shape (n,)
        Rank keys in storage order.
    ranking : {"consistent", "sgpp"}

    Returns
    -------
    ranks : ndarray of int64, shape (n,)
        0-based position in a stable ascending sort (``"consistent"``), that plus one
        (``"sgpp"``: SG++ gives initial points 1-based ranks).
    sorted_keys : ndarray, shape (n,)
        The keys in ascending order.
    """
    n = keys.shape[0]
    order = np.argsort(keys, kind="stable")
    base = 1 if ranking == "sgpp" else 0
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(base, n + base)
    return ranks, keys[order]


def insert_ranks(
    sorted_keys: np.ndarray, old_keys: np.ndarray, new_keys: np.ndarray, ranking: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank changes when points with ``new_keys`` are appended (in storage order).

    Parameters
    ----------
    sorted_keys : ndarray, shape (n,)
        Keys of the existing points in ascending order.
    old_keys : ndarray, shape (n,)
        Keys of the existing points in storage order.
    new_keys : ndarray, shape (m,)
        Keys of the new points in storage order.
    ranking : {"consistent", "sgpp"}

    Returns
    -------
    increments : ndarray of int64, shape (n,)
        How much each existing rank grows.
    new_ranks : ndarray of int64, shape (m,)
        Ranks of the new points.
    sorted_keys : ndarray, shape (n + m,)
        All keys in ascending order.

    Notes
    -----
    ``"consistent"``: rank = number of points before the point in (key, storage index) order.
    An existing point moves back by one per new key strictly smaller (on a tie the existing
    point has the earlier index); new point ``a`` follows every existing key ``<=`` its own,
    every earlier new key ``<=`` and every later new key ``<``.

    ``"sgpp"``: SG++ inserts the new points one at a time, in storage order, by a backward scan
    over its sorted list: the new value goes in front of every value ``>=`` it, gets the
    0-based insertion position as rank, and every point it passes gets ``rank += 1``. Summed
    over the batch: an existing point gains one per new key ``<=`` its key; new point ``a``
    starts at #(existing ``<`` key_a) + #(earlier new ``<`` key_a) and gains one per later new
    key ``<=`` key_a.
    """
    m = new_keys.shape[0]
    new_sorted = np.sort(new_keys)
    idx = np.arange(m)
    earlier = idx[None, :] < idx[:, None]  # [a, b]: b was added before a
    later = idx[None, :] > idx[:, None]
    less = new_keys[None, :] < new_keys[:, None]  # [a, b]: key_b < key_a
    less_eq = new_keys[None, :] <= new_keys[:, None]
    if ranking == "consistent":
        increments = np.searchsorted(new_sorted, old_keys, side="left")
        new_ranks = np.searchsorted(sorted_keys, new_keys, side="right") + (
            (less_eq & earlier) | (less & later)
        ).sum(axis=1)
    else:
        increments = np.searchsorted(new_sorted, old_keys, side="right")
        new_ranks = np.searchsorted(sorted_keys, new_keys, side="left") + (
            (less & earlier) | (less_eq & later)
        ).sum(axis=1)
    merged = np.concatenate([sorted_keys, new_keys])
    merged.sort(kind="stable")
    return increments.astype(np.int64), new_ranks.astype(np.int64), merged
