"""The space and the budget are contracts; the seed does something (from the user's side).

- *The space*: integer, categorical and mixed spaces are searched over distinct configurations
  until the budget or the space is exhausted, and ``"exhausted"`` is said only when every
  configuration was evaluated; a budget too small for the method in a high dimension is refused
  before anything runs, naming the smallest budget that works.
- *The budget*: every method spends ``n_evals`` or says why not (``stop_reason`` and
  ``stop_detail``), through ``minimize``, scikit-learn's search and optuna's sampler.
- *The seed*: the default sparse grid search gives different runs for different seeds and the
  same run for the same seed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core import minimize
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES

METHODS = list(STRATEGIES)
TABLE = {("x", "p"): 2.0, ("x", "q"): 3.0, ("y", "p"): 4.0, ("y", "q"): 1.0}
TWO_BY_TWO = SearchSpace({"a": Categorical(["x", "y"]), "b": Categorical(["p", "q"])})


def _table(config: dict) -> float:
    return TABLE[(config["a"], config["b"])]


def _configs(res) -> list[tuple]:
    return [tuple(e.config.values()) for e in res.history]


# -- the space is a contract ---------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_a_two_by_two_categorical_space_is_evaluated_completely(method):
    res = minimize(_table, TWO_BY_TWO, method, 5, seed=0)
    assert sorted(_configs(res)) == sorted(TABLE)  # all four, each once
    assert res.fun == 1.0 and res.x == {"a": "y", "b": "q"}
    assert res.stop_reason == "exhausted"
    assert "all 4 distinct configurations" in res.stop_detail
    assert "1 of the budget of 5" in res.stop_detail


@pytest.mark.parametrize("method", METHODS)
def test_a_three_by_two_space_with_budget_six_evaluates_six(method):
    space = SearchSpace({"k": Categorical(["a", "b", "c"]), "n": Int(1, 2)})
    res = minimize(lambda c: ord(c["k"]) * c["n"], space, method, 6, seed=1)
    assert res.nfev == 6 and len(set(_configs(res))) == 6
    assert res.stop_reason == "budget" and res.fun == ord("a")


@pytest.mark.parametrize("method", METHODS)
def test_no_configuration_of_a_discrete_space_is_evaluated_twice(method):
    space = SearchSpace({"n": Int(1, 3), "c": Categorical([None, "balanced"]),
                         "m": Int(1, 64, log=True)})
    total = 3 * 2 * 64
    res = minimize(lambda c: c["n"] + (c["c"] is None) + abs(c["m"] - 7), space, method, 40,
                   seed=2)
    assert res.nfev == 40 and len(set(_configs(res))) == 40  # budget spent on distinct ones
    assert res.stop_reason == "budget" and total > 40


def test_a_mixed_space_tries_every_categorical_value():
    space = SearchSpace({"x": Float(-1.0, 1.0), "kind": Categorical(["a", "b", "c"])})
    offset = {"a": 1.0, "b": 0.5, "c": 0.0}
    res = minimize(lambda c: (c["x"] - 0.3) ** 2 + offset[c["kind"]], space, "sparse_grid", 40,
                   seed=0)
    assert {c["kind"] for c in (e.config for e in res.history)} == {"a", "b", "c"}
    assert res.nfev == 40 and len(set(_configs(res))) == 40
    assert res.x["kind"] == "c" and abs(res.x["x"] - 0.3) < 0.05


def test_a_tiny_budget_in_64_dimensions_is_refused_with_the_budget_that_works():
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(64)})
    calls: list[dict] = []
    with pytest.raises(ValueError, match=r"`n_evals` must be at least 130 .*got n_evals=20"):
        minimize(lambda c: calls.append(c) or 0.0, space, "sparse_grid", 20)
    assert calls == []
    res = minimize(lambda c: sum(c.values()), space, "sparse_grid", 130, seed=0)
    assert res.nfev == 130


def test_grid_search_says_why_it_leaves_budget_unspent():
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(64)})
    res = minimize(lambda c: sum(c.values()), space, "grid", 20)
    assert res.nfev == 1 and res.stop_reason == "exhausted"
    assert "1^64 = 1 points" in res.stop_detail and "2^64 = 18446744073709551616" in \
        res.stop_detail and "19 of the budget of 20 evaluations left unspent" in res.stop_detail


def test_a_finite_space_covered_by_the_budget_is_enough_for_every_method():
    space = SearchSpace({f"b{t}": Categorical([0, 1]) for t in range(3)})  # 8 configurations
    for method in METHODS:
        res = minimize(lambda c: sum(c.values()), space, method, 8, seed=0)
        assert res.nfev == 8 and res.fun == 0, method
    with pytest.raises(ValueError, match="at least 8"):
        minimize(lambda c: 0.0, space, "sparse_grid", 7)


# -- the budget is a contract --------------------------------------------------------------------
def _shifted_sphere_cos(config: dict) -> float:
    u = np.array(list(config.values()))
    return float(np.sum((u - 0.31) ** 2) + 0.1 * np.sum(np.cos(7.0 * u)))


@pytest.mark.parametrize(("dim", "budget"), [(2, 9), (2, 7), (5, 100), (10, 200), (5, 60)])
def test_the_default_sparse_grid_spends_its_budget(dim, budget):
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(dim)})
    res = minimize(_shifted_sphere_cos, space, "sparse_grid", budget, seed=0)
    assert res.nfev == budget and res.stop_reason == "budget"
    assert res.stop_detail == f"all {budget} evaluations of the budget were made"


def test_the_thesis_variant_says_why_it_ends_early():
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(5)})
    res = minimize(_shifted_sphere_cos, space, "sparse_grid", 100, seed=0, variant="thesis")
    assert res.nfev < 100 and res.stop_reason == "exhausted"
    assert "Novak-Ritter grid holds" in res.stop_detail and "left unspent" in res.stop_detail


def test_scikit_learn_search_fits_every_combination_of_a_small_grid():
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    from core.integrations.sklearn import SparseGridSearchCV

    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    search = SparseGridSearchCV(SVC(), {"class_weight": [None, "balanced"], "C": [1, 2]}, 5,
                                cv=2).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 4 and len({tuple(sorted(p.items(), key=str)) for p in params}) == 4
    assert search.stop_reason_ == "exhausted" and "all 4 distinct" in search.stop_detail_
    search = SparseGridSearchCV(SVC(), {"kernel": ["rbf", "linear", "poly"], "C": [1, 2]}, 6,
                                cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 6 and search.stop_reason_ == "budget"


def _optuna_objective(trial):
    x = trial.suggest_float("x", -2.0, 2.0)
    y = trial.suggest_float("y", -2.0, 2.0)
    return (x - 1.0) ** 2 + y**2


@pytest.mark.parametrize("enqueue", [False, True])
def test_the_optuna_sampler_proposes_until_n_trials(enqueue):
    import optuna

    from core.integrations.optuna import SparseGridSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=SparseGridSampler(10, seed=0))
    if enqueue:
        study.enqueue_trial({"x": 0.0, "y": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no trial falls back to the independent sampler
        study.optimize(_optuna_objective, n_trials=10)
    assert len(study.trials) == 10


def test_the_optuna_sampler_counts_pruned_and_failed_trials_and_goes_on():
    import optuna

    from core.integrations.optuna import SparseGridSampler

    optuna.logging.set_verbosity(optuna.logging.CRITICAL)

    def objective(trial):
        value = _optuna_objective(trial)
        if trial.number == 3:
            raise optuna.TrialPruned()
        if trial.number == 5:
            raise ArithmeticError("a failed trial")
        return value

    study = optuna.create_study(sampler=SparseGridSampler(12, seed=0))
    study.optimize(objective, n_trials=12, catch=(ArithmeticError,))
    assert len(study.trials) == 12


def test_the_optuna_sampler_says_why_it_stops_early():
    import optuna

    from core.integrations.optuna import SparseGridSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = SparseGridSampler(
        6, seed=0, search_space={"a": Categorical(["x", "y"]), "b": Categorical(["p", "q"])}
    )
    study = optuna.create_study(sampler=sampler)

    def objective(trial):
        return _table({"a": trial.suggest_categorical("a", ["x", "y"]),
                       "b": trial.suggest_categorical("b", ["p", "q"])})

    with pytest.warns(UserWarning, match=r"stopped after 4 of its 6 trials \(exhausted\)"):
        study.optimize(objective, n_trials=6)
    assert len(study.trials) == 4 and study.best_value == 1.0
    assert sampler.stop_reason(study) == "exhausted"
    assert "all 4 distinct configurations" in sampler.stop_detail(study)


# -- the seed does something -------------------------------------------------------------------
@pytest.mark.parametrize(("dim", "budget"), [(2, 50), (5, 100)])
def test_seeds_give_different_runs_and_a_seed_gives_the_same_run(dim, budget):
    space = SearchSpace({f"x{t}": Float(-2.0, 2.0) for t in range(dim)})

    def rosenbrock(config: dict) -> float:
        u = np.array(list(config.values()))
        return float(np.sum(100.0 * (u[1:] - u[:-1] ** 2) ** 2 + (1.0 - u[:-1]) ** 2))

    runs = [minimize(rosenbrock, space, "sparse_grid", budget, seed=s).U for s in (0, 1, 2, 0)]
    assert np.array_equal(runs[0], runs[3])
    assert not np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    assert not np.array_equal(runs[1], runs[2])


def test_the_thesis_variant_uses_the_seed_only_in_its_multistart_candidates():
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(3)})
    runs = [minimize(_shifted_sphere_cos, space, "sparse_grid", 60, seed=s, variant="thesis")
            for s in (0, 1, 0)]
    assert np.array_equal(runs[0].U, runs[2].U)
    sources = [e.origin.source for e in runs[0].history]
    grid = [j for j, e in enumerate(runs[0].history) if e.origin.kind == "grid"]
    assert np.array_equal(runs[0].U[grid], runs[1].U[grid])  # the grid ignores the seed
    differ = np.flatnonzero(np.any(runs[0].U != runs[1].U, axis=1))
    assert all(sources[j] == "multistart" for j in differ), [sources[j] for j in differ]


# -- resume and determinism hold on discrete spaces ---------------------------------------------
@pytest.mark.parametrize("method", ["sparse_grid", "bayesian", "grid"])
def test_a_resumed_run_on_a_discrete_space_equals_an_uninterrupted_one(tmp_path, method):
    space = SearchSpace({"n": Int(1, 3), "k": Categorical(["a", "b"]), "x": Float(0.0, 1.0)})

    def objective(config: dict) -> float:
        return (config["x"] - 0.4) ** 2 + config["n"] + (config["k"] == "a")

    whole = minimize(objective, space, method, 30, seed=3, max_batch=4)
    path = tmp_path / "run.jsonl"
    calls = []
    first = minimize(objective, space, method, 30, seed=3, journal=path, max_batch=4,
                     callback=lambda batch: calls.append(1) or len(calls) >= 3)
    assert first.stop_reason == "stopped" and first.nfev < whole.nfev
    resumed = minimize(objective, space, method, 30, seed=3, journal=path, max_batch=4,
                       resume=True)
    assert resumed.nfev == whole.nfev
    np.testing.assert_array_equal(resumed.U, whole.U)
    assert resumed.stop_reason == whole.stop_reason
    assert resumed.stop_detail == whole.stop_detail
