"""Stored true landscapes: grid construction, save/load round trip, staleness, shipped assets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.objectives import OBJECTIVES
from core.objectives.landscapes import (
    LANDSCAPE_VERSION,
    Landscape,
    compute_landscape,
    grid_axes,
    landscape_dir,
    load_landscape,
    save_landscape,
)
from core.space import Float, Int, SearchSpace


def test_grid_axes_are_cell_midpoints_mapped_by_the_space():
    space = SearchSpace({"epochs": Int(1, 40), "lr": Float(1e-5, 1.0, log=True)})
    u1, u2, x1, x2 = grid_axes(space, 25, 5)
    np.testing.assert_allclose(u1, (np.arange(25) + 0.5) / 25)
    np.testing.assert_allclose(x2, 10.0 ** (-5 + 5 * u2))  # log axis
    assert x1[0] == 1 and x1[-1] == 40 and len(set(x1)) == 25  # 25 distinct epochs
    assert np.all(np.diff(x1) > 0)
    _, _, small, _ = grid_axes(SearchSpace({"a": Int(1, 3), "b": Float(0, 1)}), 6)
    np.testing.assert_array_equal(small, [1, 1, 2, 2, 3, 3])  # fewer ints than cells repeat
    with pytest.raises(ValueError, match="2-D space"):
        grid_axes(OBJECTIVES["mlp_regression_3d"].space, 5)


def test_compute_save_load_round_trip(tmp_path):
    obj = OBJECTIVES["himmelblau"]
    calls = []
    land = compute_landscape(obj, 7, 5, callback=lambda done, total: calls.append((done, total)))
    assert land.values.shape == (5, 7) and calls[-1] == (35, 35) and len(calls) == 35
    for j, i in [(0, 0), (4, 6), (2, 3)]:
        expect = obj({"x1": land.x1[i], "x2": land.x2[j]})
        assert land.values[j, i] == expect
    path = save_landscape(land, tmp_path / "himmelblau.npz")
    back = load_landscape("himmelblau", path=path)
    assert isinstance(back, Landscape) and back.names == ("x1", "x2")
    for f in ("u1", "u2", "x1", "x2", "values"):
        np.testing.assert_array_equal(getattr(back, f), getattr(land, f))
    assert back.metadata == json.loads(json.dumps(land.metadata))
    assert back.metadata["version"] == LANDSCAPE_VERSION and back.metadata["grid"] == [7, 5]
    assert back.metadata["space"] == obj.space.describe() and back.metadata["n_failed"] == 0
    with np.load(path, allow_pickle=False) as npz:  # plain arrays + a JSON string, no pickle
        assert set(npz.files) == {"u1", "u2", "x1", "x2", "values", "metadata"}


def test_failures_are_nan_cells():
    class Half:
        name, title, metric = "half", "half", "f"
        space = SearchSpace({"a": Float(0, 1), "b": Float(0, 1)})

        def __call__(self, config):
            if config["a"] > 0.5:
                raise RuntimeError("boom")
            return float("nan") if config["b"] > 0.5 else config["a"]

    land = compute_landscape(Half(), 4)
    assert land.metadata["n_failed"] == 12
    assert land.argmin() == {"a": 0.125, "b": 0.125}


def test_missing_stale_and_old_versions_give_none(tmp_path):
    assert load_landscape("no_such_objective") is None
    land = compute_landscape(OBJECTIVES["himmelblau"], 3)
    old = Landscape(**{**land.__dict__, "metadata": {**land.metadata, "version": 0}})
    save_landscape(old, tmp_path / "old.npz")
    with pytest.warns(UserWarning, match="version 0"):
        assert load_landscape("himmelblau", path=tmp_path / "old.npz") is None
    save_landscape(land, tmp_path / "h.npz")  # stored under the wrong objective's name
    with pytest.warns(UserWarning, match="stale"):
        assert load_landscape("rosenbrock", path=tmp_path / "h.npz") is None
    assert load_landscape("rosenbrock", path=tmp_path / "h.npz", check_space=False) is not None


def test_shipped_landscape_of_mlp_regression_2d():
    land = load_landscape("mlp_regression_2d")
    assert land is not None, f"run scripts/make_landscapes.py (looked in {landscape_dir()})"
    meta = land.metadata
    assert meta["objective"] == "mlp_regression_2d" and meta["grid"] == [25, 25]
    assert meta["seed"] == OBJECTIVES["mlp_regression_2d"].seed and meta["n_failed"] == 0
    assert land.values.shape == (25, 25) and np.isfinite(land.values).all()
    best = land.argmin()
    assert land.values.min() < 0.1 and 1e-3 < best["learning_rate"] < 0.1


@pytest.mark.torch
def test_shipped_landscape_matches_a_fresh_evaluation():
    land = load_landscape("mlp_regression_2d")
    assert land is not None
    j, i = 15, 3  # learning rate about 1.3e-2, 6 epochs: cheap
    config = {"epochs": int(land.x1[i]), "learning_rate": float(land.x2[j])}
    value = OBJECTIVES["mlp_regression_2d"](config).value
    assert math.isclose(value, land.values[j, i], rel_tol=1e-3)  # bitwise on this machine
