"""Test functions: known minima, vectorization, shifts, registry and pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from core.objectives import OBJECTIVES, TEST_FUNCTIONS, get_objective

EXPECTED = {
    "rosenbrock", "rastrigin", "eggholder", "ackley", "himmelblau", "goldstein_price",
    "griewank", "sin8x_sin7y",
}


def test_registry_has_all_test_functions_as_2d_objectives():
    assert EXPECTED <= set(OBJECTIVES)
    for name in EXPECTED:
        obj = OBJECTIVES[name]
        assert obj.space.dim == 2 and obj.kind == "test_function"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_minimum_is_a_minimum(name, rng):
    f = TEST_FUNCTIONS[name]
    dims = f.dims or (2, 3, 5)
    for d in dims:
        obj = f.objective(d)
        x = obj.x_opt_native
        assert np.all((x >= f.low) & (x <= f.high))
        fx = obj.evaluate(x[None, :])[0]
        assert fx == pytest.approx(f.f_opt, abs=1e-6)
        # no random point in the domain is better; nor a nearby perturbation
        U = rng.random((20_000, d))
        assert obj.evaluate_unit(U).min() >= f.f_opt - 1e-9
        near = np.clip(x + rng.normal(scale=1e-3 * (f.high - f.low), size=(200, d)), f.low, f.high)
        assert obj.evaluate(near).min() >= fx - 1e-9


def test_reference_values():
    """Values from the literature / SG++ reference data."""
    ros = TEST_FUNCTIONS["rosenbrock"]
    assert ros([[0.0, 0.0]])[0] == 1.0
    assert ros([[-1.0, 1.0, 2.0]])[0] == pytest.approx(4.0 + 100.0)  # t=0: 0 + 2^2, t=1: 100*1 + 0
    gp = TEST_FUNCTIONS["goldstein_price"]
    assert gp([[0.0, -1.0]])[0] == pytest.approx(3.0)
    hb = TEST_FUNCTIONS["himmelblau"]
    for x in ([3, 2], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]):
        assert hb([x])[0] == pytest.approx(0.0, abs=1e-9)
    egg = TEST_FUNCTIONS["eggholder"]
    assert egg([[512.0, 404.2318058]])[0] == pytest.approx(-959.6406627, abs=1e-6)
    # SG++ reference: sin8x+sin7y at the grid centre
    assert TEST_FUNCTIONS["sin8x_sin7y"]([[0.5, 0.5]])[0] == pytest.approx(-1.107585722997548)


def test_vectorized_matches_scalar_call(rng):
    obj = OBJECTIVES["rastrigin"]
    U = rng.random((7, 2))
    X = np.array([[c[n] for n in obj.space.names] for c in obj.space.from_unit(U)])
    np.testing.assert_allclose(obj.evaluate(X), [obj(c) for c in obj.space.from_unit(U)])
    np.testing.assert_allclose(obj.evaluate_unit(U), obj.evaluate(X))


def test_shifted_variant_moves_minimizer():
    f = TEST_FUNCTIONS["rosenbrock"]
    obj = f.objective(5, shift=np.full(5, 0.37))
    assert obj.name == "rosenbrock_5d_shifted"
    assert obj(obj.x_opt) == pytest.approx(0.0)
    assert obj.evaluate(np.ones((1, 5)))[0] > 0
    with pytest.raises(ValueError, match="outside"):
        f.objective(2, shift=[20.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        f.objective(2, shift=[1.0])


def test_bad_dims_and_names():
    with pytest.raises(ValueError, match="supports dim in \\[2\\], got dim=3"):
        TEST_FUNCTIONS["eggholder"].objective(3)
    with pytest.raises(ValueError, match="d >= 2"):
        TEST_FUNCTIONS["rosenbrock"].objective(1)
    with pytest.raises(ValueError, match="valid names: .*rosenbrock"):
        get_objective("no_such_function")
    with pytest.raises(ValueError, match="x1"):
        OBJECTIVES["rosenbrock"]({"x2": 0.0})


def test_objectives_pickle():
    obj = TEST_FUNCTIONS["ackley"].objective(3, shift=[0.5, -0.25, 1.0])
    back = pickle.loads(pickle.dumps(obj))
    assert back.name == obj.name
    np.testing.assert_array_equal(back.shift, obj.shift)
    assert back(back.x_opt) == pytest.approx(0.0, abs=1e-12)
