"""core.objectives.UserObjective: the one wrapper of a user's callable."""

from __future__ import annotations

import pickle

import pytest

from core.objectives import Objective, UserObjective
from core.result import Measurement
from core.run import minimize
from core.space import Float, SearchSpace

SPACE = SearchSpace({"a": Float(0.0, 1.0), "b": Float(-1.0, 1.0)})


def bowl(config: dict) -> float:
    return (config["a"] - 0.25) ** 2 + config["b"] ** 2


def test_it_is_an_objective_named_after_the_function():
    obj = UserObjective(bowl, SPACE)
    assert isinstance(obj, Objective)
    assert (obj.name, obj.title, obj.metric, obj.kind) == ("bowl", "bowl", "f(x)", "user")
    assert obj.f_opt is None and obj.x_opt is None and obj.space is SPACE
    lam = UserObjective(lambda c: 0.0, SPACE)
    assert (lam.name, lam.title) == ("objective", "Your objective")
    named = UserObjective(bowl, SPACE, name="n", title="T", metric="loss")
    assert (named.name, named.title, named.metric) == ("n", "T", "loss")
    assert obj({"a": 0.25, "b": 0.0}) == 0.0
    assert pickle.loads(pickle.dumps(obj))({"a": 0.25, "b": 0.5}) == 0.25


def test_a_space_the_objective_does_not_expect_is_named_in_the_error():
    obj = UserObjective(lambda c: c["lr"], SPACE)
    with pytest.raises(KeyError, match="reads 'lr', which the space does not have .*a, b"):
        obj({"a": 0.1, "b": 0.2})
    res = minimize(obj, method="random", n_evals=2, seed=0)  # space from the objective
    assert res.n_failed == 2 and "reads 'lr'" in res.history[0].error

    def inner(config):  # a KeyError about another mapping passes through unchanged
        return {"x": 1.0}["b"] if config["a"] > 2 else Measurement(config["a"], {"k": 1})

    assert UserObjective(inner, SPACE)({"a": 0.5, "b": 0.0}).value == 0.5
    with pytest.raises(KeyError, match="^'b'$"):
        UserObjective(lambda c: {"x": 1}["b"], SPACE)({"a": 0.5, "b": 0.0})


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="`fun` must be callable"):
        UserObjective(3, SPACE)
    with pytest.raises(TypeError, match="`space` must be a core.space.SearchSpace"):
        UserObjective(bowl, {"a": (0, 1)})
