"""Search space: mapping rules, round trips (hypothesis) and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.space import Categorical, Float, Int, SearchSpace


def _space() -> SearchSpace:
    return SearchSpace(
        {
            "lr": Float(1e-5, 1.0, log=True),
            "dropout": Float(0.0, 0.9),
            "epochs": Int(1, 20),
            "neurons": Int(2, 512, log=True),
            "act": Categorical(["relu", "tanh", "gelu"]),
        }
    )


def test_names_dim_bounds():
    s = _space()
    assert s.names == ("lr", "dropout", "epochs", "neurons", "act")
    assert s.dim == 5
    np.testing.assert_array_equal(s.bounds[2], [1, 20])
    np.testing.assert_array_equal(s.bounds[4], [0, 2])


def test_endpoints_reachable_including_upper_bound():
    s = _space()
    lo, hi = s.from_unit(np.array([[0.0] * 5, [1.0] * 5]))
    assert lo == {"lr": 1e-5, "dropout": 0.0, "epochs": 1, "neurons": 2, "act": "relu"}
    assert hi == {"lr": 1.0, "dropout": 0.9, "epochs": 20, "neurons": 512, "act": "gelu"}


def test_int_equal_width_bins_hit_every_value_equally():
    p = SearchSpace({"k": Int(1, 20)})
    u = (np.arange(20_000) + 0.5) / 20_000
    values = [c["k"] for c in p.from_unit(u[:, None])]
    counts = np.bincount(values)[1:]
    assert len(counts) == 20 and np.all(counts == 1000)


def test_categorical_equal_width_bins():
    p = SearchSpace({"c": Categorical(["a", "b", "c", "d"])})
    got = [c["c"] for c in p.from_unit([[0.0], [0.249], [0.25], [0.74], [0.76], [1.0]])]
    assert got == ["a", "a", "b", "c", "d", "d"]


def test_log_float_is_uniform_in_log_space():
    s = SearchSpace({"lr": Float(1e-4, 1e-0, log=True)})
    got = [c["lr"] for c in s.from_unit([[0.25], [0.5], [0.75]])]
    np.testing.assert_allclose(got, [1e-3, 1e-2, 1e-1], rtol=1e-12)
    np.testing.assert_allclose(s.to_unit([{"lr": 1e-2}]), [[0.5]], atol=1e-15)


def test_log_int_reaches_all_values_and_bins_grow():
    s = SearchSpace({"n": Int(1, 100, log=True)})
    u = np.linspace(0, 1, 200_001)[:, None]
    values = np.array([c["n"] for c in s.from_unit(u)])
    assert set(values) == set(range(1, 101))
    widths = np.bincount(values)[1:]
    assert widths[0] > widths[49] > widths[98]  # small values get wider bins in log space


def test_to_unit_of_int_is_bin_centre_and_maps_back():
    s = SearchSpace({"k": Int(0, 3)})
    U = s.to_unit([{"k": v} for v in range(4)])
    np.testing.assert_allclose(U[:, 0], [1 / 8, 3 / 8, 5 / 8, 7 / 8])


@st.composite
def configs(draw):
    return {
        "lr": draw(st.floats(1e-5, 1.0)),
        "dropout": draw(st.floats(0.0, 0.9)),
        "epochs": draw(st.integers(1, 20)),
        "neurons": draw(st.integers(2, 512)),
        "act": draw(st.sampled_from(["relu", "tanh", "gelu"])),
    }


@given(st.lists(configs(), min_size=1, max_size=5))
def test_round_trip_configs(cs):
    s = _space()
    U = s.to_unit(cs)
    assert U.shape == (len(cs), 5)
    assert np.all((U >= 0) & (U <= 1))
    back = s.from_unit(U)
    for a, b in zip(back, cs, strict=True):
        assert a["epochs"] == b["epochs"] and a["neurons"] == b["neurons"] and a["act"] == b["act"]
        assert isinstance(a["epochs"], int) and isinstance(a["neurons"], int)
        assert math.isclose(a["lr"], b["lr"], rel_tol=1e-12)
        assert math.isclose(a["dropout"], b["dropout"], rel_tol=1e-12, abs_tol=1e-15)


@given(st.lists(st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5), min_size=1, max_size=8))
def test_from_unit_then_to_unit_is_stable(rows):
    """Mapping a unit point to a config and back lands in the same bin (ints, categoricals)."""
    s = _space()
    cs = s.from_unit(np.array(rows))
    back = s.from_unit(s.to_unit(cs))
    for a, b in zip(back, cs, strict=True):
        assert (a["epochs"], a["neurons"], a["act"]) == (b["epochs"], b["neurons"], b["act"])
        assert math.isclose(a["lr"], b["lr"], rel_tol=1e-12)
        assert math.isclose(a["dropout"], b["dropout"], rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: Float(1.0, 1.0), "low < high"),
        (lambda: Float(2.0, 1.0), "low < high"),
        (lambda: Float(0.0, 1.0, log=True), "low > 0"),
        (lambda: Float(-1.0, 1.0, log=True), "low > 0"),
        (lambda: Float(0.0, math.inf), "finite"),
        (lambda: Int(5, 5), "low < high"),
        (lambda: Int(0, 10, log=True), "low > 0"),
        (lambda: Categorical([]), "at least one"),
        (lambda: Categorical(["a", "a"]), "distinct"),
    ],
)
def test_bad_bounds(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_types_and_configs():
    with pytest.raises(TypeError):
        Int(1.5, 3)
    with pytest.raises(TypeError):
        Float("0", 1)
    with pytest.raises(TypeError):
        Categorical("abc")
    s = _space()
    good = {"lr": 0.1, "dropout": 0.2, "epochs": 3, "neurons": 8, "act": "relu"}
    with pytest.raises(ValueError, match="missing \\['act'\\]"):
        s.to_unit({k: v for k, v in good.items() if k != "act"})
    with pytest.raises(ValueError, match="`epochs` must be in \\[1, 20\\], got epochs=30"):
        s.to_unit({**good, "epochs": 30})
    with pytest.raises(ValueError, match="`act` must be one of"):
        s.validate({**good, "act": "sigmoid"})
    with pytest.raises(ValueError, match="unit cube"):
        s.from_unit([[0.1, 0.2, 1.5, 0.3, 0.4]])
    with pytest.raises(ValueError, match="shape"):
        s.from_unit([[0.1, 0.2]])
    with pytest.raises(ValueError, match="unit cube"):
        s.from_unit([[np.nan, 0.2, 0.5, 0.3, 0.4]])


def test_sample_is_seeded():
    s = _space()
    assert s.sample(5, seed=3) == s.sample(5, seed=3)
    assert s.sample(5, seed=3) != s.sample(5, seed=4)
