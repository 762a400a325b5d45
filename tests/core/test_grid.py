"""Tests for core.grid.levels, core.grid.ranking and novak_ritter_scores (pure functions)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.grid import (
    MAX_LEVEL,
    children,
    coordinates,
    left_chain_child,
    level_sum,
    novak_ritter_scores,
    parent,
    regular_grid,
    regular_grid_size,
    right_chain_child,
)
from core.grid.ranking import initial_ranks, insert_ranks, rank_keys

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpp_reference.json"


@pytest.fixture(autouse=True)
def _raise_on_fp_errors():
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        yield


# ---------------------------------------------------------------------------- regular grid
def _regular_grid_oracle(d: int, n: int) -> list[tuple[tuple[int, int], ...]]:
    """Literal transcription of SG++'s ``regular_iter`` loop (including the in-place overwrite).

    See docs/algorithms.md, 'Regular initial grid'.
    """
    pts: list[list[tuple[int, int]]] = []
    for l in range(1, n + 1):
        for i in range(1, 2**l, 2):
            p = [(1, 1)] * d
            p[0] = (l, i)
            pts.append(p)
    for t in range(1, d):
        size = len(pts)
        for g in range(size):
            L = sum(l for l, _ in pts[g]) - 1
            l = 1
            while l + L <= n + d - 1:
                for i in range(1, 2**l, 2):
                    if (l, i) == (1, 1):
                        pts[g][t] = (1, 1)
                    else:
                        q = list(pts[g])
                        q[t] = (l, i)
                        pts.append(q)
                l += 1
    return [tuple(p) for p in pts]


def _as_pairs(lv: np.ndarray, ix: np.ndarray) -> list[tuple[tuple[int, int], ...]]:
    return [tuple(zip(a, b, strict=True)) for a, b in zip(lv.tolist(), ix.tolist(), strict=True)]


def test_regular_grid_matches_algorithms_example_order():
    # the order pysgpp 3.3.1 produced for d=2, level 3, listed as (l1,i1; l2,i2)
    expected = [
        (1, 1, 1, 1), (2, 1, 1, 1), (2, 3, 1, 1), (3, 1, 1, 1), (3, 3, 1, 1), (3, 5, 1, 1),
        (3, 7, 1, 1), (1, 1, 2, 1), (1, 1, 2, 3), (1, 1, 3, 1), (1, 1, 3, 3), (1, 1, 3, 5),
        (1, 1, 3, 7), (2, 1, 2, 1), (2, 1, 2, 3), (2, 3, 2, 1), (2, 3, 2, 3),
    ]  # fmt: skip
    lv, ix = regular_grid(2, 3)
    got = [(a[0], b[0], a[1], b[1]) for a, b in zip(lv.tolist(), ix.tolist(), strict=True)]
    assert got == expected


@pytest.mark.parametrize(
    ("d", "n", "size"),
    [(1, 1, 1), (2, 1, 1), (7, 1, 1), (2, 3, 17), (3, 3, 31), (5, 3, 71), (9, 3, 199)],
)
def test_regular_grid_sizes(d, n, size):
    lv, ix = regular_grid(d, n)
    assert lv.shape == ix.shape == (size, d)
    assert regular_grid_size(d, n) == size


@pytest.mark.parametrize(("d", "n"), [(1, 1), (1, 5), (2, 2), (2, 4), (3, 3), (4, 4), (5, 2)])
def test_regular_grid_matches_literal_oracle_and_point_set(d, n):
    lv, ix = regular_grid(d, n)
    got = _as_pairs(lv, ix)
    assert got == _regular_grid_oracle(d, n)
    # the point set: all (l, i) with l_t >= 1, |l|_1 <= n + d - 1, odd i_t
    brute = set()
    for levels in itertools.product(range(1, n + 1), repeat=d):
        if sum(levels) <= n + d - 1:
            for idx in itertools.product(*[range(1, 2**l, 2) for l in levels]):
                brute.add(tuple(zip(levels, idx, strict=True)))
    assert set(got) == brute
    assert len(got) == len(brute) == regular_grid_size(d, n)
    assert lv.dtype == ix.dtype == np.int64


def test_regular_grid_equals_initial_points_of_reference_data():
    cases = json.loads(DATA.read_text())["cases"]
    seen = set()
    for case in cases:
        d, n = case["dim"], case["initial_level"]
        lv, ix = regular_grid(d, n)
        m = lv.shape[0]
        assert lv.tolist() == case["levels"][:m]
        assert ix.tolist() == case["indices"][:m]
        seen.add((d, n))
    assert {(2, 1), (2, 2), (2, 3), (5, 1), (5, 2), (5, 3)} <= seen


def test_regular_grid_validation():
    with pytest.raises(ValueError, match=r"`dim` must be in \[1, inf\], got dim=0"):
        regular_grid(0, 2)
    with pytest.raises(ValueError, match="`level` must be in"):
        regular_grid(2, 0)
    with pytest.raises(TypeError, match="`level` must be an int"):
        regular_grid(2, 2.0)


# ---------------------------------------------------------------------------- coordinates etc.
def test_coordinates_exact_and_in_open_unit_interval():
    lv, ix = regular_grid(3, 4)
    U = coordinates(lv, ix)
    assert U.shape == lv.shape and U.dtype == np.float64
    assert np.all((U > 0) & (U < 1))
    # exact dyadic values: i / 2**l with Python fractions semantics
    expected = np.array(
        [
            [i / 2**l for l, i in zip(a, b, strict=True)]
            for a, b in zip(lv.tolist(), ix.tolist(), strict=True)
        ]
    )
    assert np.array_equal(U, expected)
    assert coordinates([[1, 2]], [[1, 3]]).tolist() == [[0.5, 0.75]]
    deep = coordinates([[MAX_LEVEL]], [[2**MAX_LEVEL - 1]])
    assert deep[0, 0] < 1.0 and deep[0, 0] == 1.0 - 2.0**-MAX_LEVEL


@pytest.mark.parametrize(
    ("levels", "indices", "exc", "match"),
    [
        ([[1, 2]], [[1, 2]], ValueError, "must be odd"),
        ([[1, 2]], [[1, 5]], ValueError, "must be odd"),
        ([[0, 2]], [[1, 1]], ValueError, "`levels` must be in"),
        ([[1, 2]], [[1]], ValueError, "same shape"),
        ([[1.0]], [[1]], TypeError, "integer array"),
    ],
)
def test_coordinates_validation(levels, indices, exc, match):
    with pytest.raises(exc, match=match):
        coordinates(levels, indices)


def test_level_sum():
    lv, _ = regular_grid(3, 3)
    assert np.array_equal(level_sum(lv), lv.sum(axis=1))
    assert level_sum(lv).max() == 3 + 3 - 1
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        level_sum([1, 2])


def test_chain_children_formula_and_geometry():
    rng = np.random.default_rng(0)
    l = rng.integers(1, 10, size=200)
    i = 2 * rng.integers(0, 2 ** (l - 1)) + 1
    k = rng.integers(1, 8, size=200)
    x = coordinates(l, i)
    ll, li = left_chain_child(l, i, k)
    rl, ri = right_chain_child(l, i, k)
    assert np.array_equal(ll, l + k) and np.array_equal(rl, l + k)
    assert np.array_equal(li, 2**k * i - 1) and np.array_equal(ri, 2**k * i + 1)
    # x -/+ 2**-(l+k): the chain approaches x from the left / right
    assert np.array_equal(coordinates(ll, li), x - 2.0 ** -(l + k))
    assert np.array_equal(coordinates(rl, ri), x + 2.0 ** -(l + k))
    # derived from the point itself: the (k+1)-th left chain member is the right child of the
    # k-th one (never the left child)
    ll2, li2 = left_chain_child(l, i, k + 1)
    (_, _), (cl, ci) = children(ll, li)
    assert np.array_equal(ll2, cl) and np.array_equal(li2, ci)


def test_parent_inverts_children():
    lv, ix = regular_grid(1, 8)
    l, i = lv[:, 0], ix[:, 0]
    (a, b), (c, e) = children(l, i)
    for cl, ci in ((a, b), (c, e)):
        pl, pi = parent(cl, ci)
        assert np.array_equal(pl, l) and np.array_equal(pi, i)
    # every point of level >= 2 is a child of its parent
    deep = l >= 2
    pl, pi = parent(l[deep], i[deep])
    (a, b), (c, e) = children(pl, pi)
    assert np.all(((a == l[deep]) & (b == i[deep])) | ((c == l[deep]) & (e == i[deep])))
    with pytest.raises(ValueError, match="level 1 is the root"):
        parent(1, 1)
    with pytest.raises(ValueError, match="`k` must be >= 1"):
        left_chain_child(2, 1, 0)


# ---------------------------------------------------------------------------- scores
def test_scores_formula_uses_c_pow_exactly():
    rng = np.random.default_rng(1)
    ls = rng.integers(1, 40, 500)
    nr = rng.integers(0, 30, 500)
    rk = rng.integers(0, 3000, 500)
    for gamma in (0.0, 0.2, 0.25, 0.5, 0.85, 0.95, 1.0, 0.123456789):
        got = novak_ritter_scores(ls, nr, rk, gamma)
        want = [
            math.pow(a + b + 1.0, gamma) * math.pow(c + 1.0, 1.0 - gamma)
            for a, b, c in zip(ls.tolist(), nr.tolist(), rk.tolist(), strict=True)
        ]
        assert got.tolist() == want  # bit for bit, like std::pow in SG++
    assert np.array_equal(novak_ritter_scores(ls, nr, rk, 1.0), ls + nr + 1.0)
    assert np.array_equal(novak_ritter_scores(ls, nr, rk, 0.0), rk + 1.0)


def test_scores_validation():
    with pytest.raises(ValueError, match=r"`gamma` must be in \[0, 1\], got gamma=1.3"):
        novak_ritter_scores([1], [0], [0], 1.3)
    with pytest.raises(ValueError, match="same shape"):
        novak_ritter_scores([1, 2], [0, 0, 0], [0, 1], 0.5)
    with pytest.raises(ValueError, match="`ranks` must be >= 0"):
        novak_ritter_scores([1], [0], [-1], 0.5)
    with pytest.raises(TypeError, match="`level_sums` must be an integer array"):
        novak_ritter_scores([1.5], [0], [0], 0.5)


# ---------------------------------------------------------------------------- rankings
def _sgpp_backward_scan(y_init: list[float], batches: list[list[float]]) -> list[int]:
    """Literal SG++ 3.3 rank bookkeeping, NaN treated as +inf.

    See docs/algorithms.md, 'Rank bookkeeping'.
    """
    f = [math.inf if math.isnan(v) else v for v in y_init]
    order = sorted(range(len(f)), key=lambda k: f[k])  # stable, like std::sort on <= 16
    rank = [0] * len(f)
    for pos, k in enumerate(order):
        rank[k] = pos + 1
    fsorted = [f[k] for k in order]
    for batch in batches:
        for v in batch:
            v = math.inf if math.isnan(v) else v
            i = len(f)
            f.append(v)
            rank.append(0)
            for j in range(i - 1, -1, -1):
                if fsorted[j] < v:
                    order.insert(j + 1, i)
                    fsorted.insert(j + 1, v)
                    rank[i] = j + 1
                    break
                rank[order[j]] += 1
            else:
                order.insert(0, i)
                fsorted.insert(0, v)
                rank[i] = 0
    return rank


def _consistent_oracle(y: list[float]) -> list[int]:
    key = [v if math.isfinite(v) else math.inf for v in y]
    order = sorted(range(len(y)), key=lambda k: (key[k], k))
    rank = [0] * len(y)
    for pos, k in enumerate(order):
        rank[k] = pos
    return rank


_values = st.sampled_from([0.0, 1.0, -1.0, 2.5, math.nan, math.inf, -math.inf, 0.5, 3.0, -2.0])


@settings(max_examples=150, deadline=None)
@given(
    y0=st.lists(_values, min_size=1, max_size=20),
    batches=st.lists(st.lists(_values, min_size=1, max_size=6), max_size=8),
)
def test_incremental_ranks_match_literal_oracles(y0, batches):
    for ranking in ("consistent", "sgpp"):
        y = np.array(y0)
        ranks, sorted_keys = initial_ranks(rank_keys(y, ranking), ranking)
        for batch in batches:
            new = np.array(batch)
            inc, new_ranks, sorted_keys = insert_ranks(
                sorted_keys, rank_keys(y, ranking), rank_keys(new, ranking), ranking
            )
            ranks = np.concatenate([ranks + inc, new_ranks])
            y = np.concatenate([y, new])
            assert np.array_equal(sorted_keys, np.sort(rank_keys(y, ranking)))
            if ranking == "consistent":
                assert ranks.tolist() == _consistent_oracle(y.tolist())
        if ranking == "sgpp":
            assert ranks.tolist() == _sgpp_backward_scan(y0, batches)
        else:
            assert ranks.tolist() == _consistent_oracle(y.tolist())


def test_consistent_ranks_non_finite_worst_and_sgpp_quirk():
    y = np.array([np.nan, 1.0, -np.inf, np.inf, 0.0])
    r, _ = initial_ranks(rank_keys(y, "consistent"), "consistent")
    assert r.tolist() == [2, 1, 3, 4, 0]  # finite first, then non-finite by storage index
    r, _ = initial_ranks(rank_keys(y, "sgpp"), "sgpp")
    assert r.tolist() == [4, 3, 1, 5, 2]  # 1-based; -inf best, NaN as +inf after +inf (stable)
    # sgpp: a new value tied with an existing one is ranked before it and gets a 0-based rank
    y0 = np.array([1.0, 2.0])
    r, s = initial_ranks(y0, "sgpp")
    inc, new, _ = insert_ranks(s, y0, np.array([1.0]), "sgpp")
    assert (r + inc).tolist() == [2, 3] and new.tolist() == [0]
