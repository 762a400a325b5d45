"""Messages blame what is at fault: the objective when it returns something unusable, the space
when a choice can never be matched; equal inputs are treated alike."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core import minimize
from core.space import Categorical, Float, SearchSpace

SPACE = SearchSpace({"x": Float(0.0, 1.0)})


def huge_loss(config: dict) -> int:
    return 10**400


def test_an_int_too_large_for_a_float_is_the_objectives_fault():
    res = minimize(huge_loss, SPACE, "random", 3, seed=0)
    assert res.nfev == 3 and res.n_failed == 3  # recorded as failures, the run goes on
    error = res.history[0].error
    assert "objective 'huge_loss'" in error and "too large for a float64" in error
    assert "evaluation backend" not in error


@pytest.mark.parametrize(
    "value", [[0.3], (0.3,), np.array([0.3]), [np.float32(0.3)], [[0.3]], np.array([[0.3]])]
)
def test_a_sequence_of_one_number_counts_as_that_number(value):
    res = minimize(lambda c: value, SPACE, "random", 2, seed=0)
    assert res.n_failed == 0 and math.isclose(res.fun, 0.3, rel_tol=1e-6)


@pytest.mark.parametrize("value", [[0.3, 0.4], np.array([0.3, 0.4]), [], ["0.3"], [True],
                                   np.array([True])])
def test_other_sequences_are_refused_alike(value):
    res = minimize(lambda c: value, SPACE, "random", 2, seed=0)
    assert res.n_failed == 2
    assert all("objective must return a float" in e.error for e in res.history)


@pytest.mark.parametrize("nan", [float("nan"), np.nan, np.float32("nan")])
def test_nan_is_refused_as_a_categorical_choice(nan):
    with pytest.raises(ValueError, match=r"Categorical choices must not be NaN.*got choices="):
        Categorical([nan, 1.0])
    Categorical([None, 1.0])  # None is a choice like any other
