"""Grid search and random search specifics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from core.space import Float, Int, SearchSpace
from core.strategies import GridSearch, RandomSearch
from core.strategies.grid_search import integer_root


def drive(s, max_points=None):
    out = []
    while len(U := s.ask(max_points=max_points)):
        out.append(np.array(U))
        s.tell(U, np.sum(U, axis=1))
    return np.concatenate(out) if out else np.empty((0, s.dim))


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 7, 10])
def test_integer_root_matches_brute_force(d):
    for n in range(0, 3000, 7):
        k = integer_root(n, d)
        assert k**d <= n < (k + 1) ** d
    for k in range(1, 30):  # exact powers, where float roots truncate wrongly
        assert integer_root(k**d, d) == k
        assert integer_root(k**d - 1, d) == k - 1


def test_integer_root_float_trap():
    assert int(64 ** (1 / 3)) == 3  # the thesis' truncation
    assert integer_root(64, 3) == 4
    assert integer_root(10**18, 2) == 10**9


def test_integer_root_rejects_bad_input():
    with pytest.raises(ValueError, match="n >= 0 and d >= 1"):
        integer_root(-1, 2)


@pytest.mark.parametrize(("d", "budget", "k"), [(2, 50, 7), (3, 64, 4), (3, 63, 3), (5, 200, 2),
                                                 (1, 9, 9), (10, 25, 1)])
def test_grid_is_full_tensor_of_midpoints(d, budget, k):
    g = GridSearch(d, budget)
    assert g.points_per_dim == k
    U = drive(g, max_points=5)
    assert len(U) == k**d <= budget
    axis = (np.arange(k) + 0.5) / k
    expected = np.array(list(itertools.product(axis, repeat=d)))
    np.testing.assert_array_equal(U, expected)
    assert g.stop_reason == ("budget" if k**d == budget else "exhausted")


def test_grid_through_space_hits_log_and_int_midpoints():
    space = SearchSpace({"lr": Float(1e-4, 1e-0, log=True), "n": Int(1, 4)})
    U = drive(GridSearch(2, 16))
    configs = space.from_unit(U)
    lrs = sorted({c["lr"] for c in configs})
    np.testing.assert_allclose(lrs, [10 ** (-4 + 4 * (j + 0.5) / 4) for j in range(4)])
    assert sorted({c["n"] for c in configs}) == [1, 2, 3, 4]


def test_random_search_is_uniform_and_batch_independent():
    a = drive(RandomSearch(3, 2000, seed=4), max_points=7)
    b = drive(RandomSearch(3, 2000, seed=4))
    np.testing.assert_array_equal(a, b)
    for t in range(3):
        assert stats.kstest(a[:, t], "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(a.T)[0, 1]) < 0.1
