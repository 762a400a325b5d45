"""SparseGridImportanceEvaluator: optuna's get_param_importances with our Sobol indices."""

from __future__ import annotations

import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.importance import get_param_importances  # noqa: E402

from core.importance import importance  # noqa: E402
from core.integrations.optuna import (  # noqa: E402
    SparseGridImportanceEvaluator,
    SparseGridSampler,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    a = trial.suggest_float("a", 0.0, 1.0)
    b = trial.suggest_float("b", 1e-3, 1.0, log=True)
    c = trial.suggest_float("c", 0.0, 1.0)
    return 3 * a + (math.log10(b) / 3) ** 2 + 0.0 * c


def study_with(sampler, n=80):
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


# in the unit cube u_b = (log10 b + 3) / 3, so the value is 3 u_a + (u_b - 1)^2
V_A, V_B = 9 / 12, 1 / 5 - 1 / 9
EXPECTED = {"a": V_A / (V_A + V_B), "b": V_B / (V_A + V_B), "c": 0.0}


@pytest.mark.parametrize(
    "sampler",
    [optuna.samplers.TPESampler(seed=0), optuna.samplers.RandomSampler(seed=0)],
    ids=["tpe", "random"],
)
def test_any_sampler_deterministic_and_right(sampler):
    study = study_with(sampler)
    evaluator = SparseGridImportanceEvaluator()
    first = get_param_importances(study, evaluator=evaluator)
    second = get_param_importances(study, evaluator=SparseGridImportanceEvaluator())
    assert first == second  # bit-identical, in the same order
    assert list(first) == ["a", "b", "c"]  # sorted by decreasing importance
    assert evaluator.last is not None and evaluator.last.check_r2 > 0.9
    for name, expected in EXPECTED.items():
        assert first[name] == pytest.approx(expected, abs=0.05)


def test_matches_core_importance_on_the_same_points():
    study = study_with(optuna.samplers.RandomSampler(seed=1), 60)
    raw = SparseGridImportanceEvaluator(index="total").evaluate(study)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    U = np.array(
        [[t.params["a"], (math.log10(t.params["b"]) + 3) / 3, t.params["c"]] for t in trials]
    )
    ref = importance((U, np.array([t.value for t in trials])), ["a", "b", "c"])
    for k, name in enumerate(["a", "b", "c"]):
        assert raw[name] == pytest.approx(ref.total[k], rel=1e-9, abs=1e-12)


def test_params_target_and_special_cases():
    study = study_with(optuna.samplers.RandomSampler(seed=2), 40)
    sub = SparseGridImportanceEvaluator().evaluate(study, params=["b", "c"])
    assert set(sub) == {"b", "c"} and sub["b"] > sub["c"]
    by_duration = SparseGridImportanceEvaluator().evaluate(
        study, target=lambda t: -t.value
    )  # the sign of the target does not change a variance decomposition
    plain = SparseGridImportanceEvaluator().evaluate(study)
    assert by_duration == pytest.approx(plain, abs=1e-9)
    with pytest.raises(ValueError, match="no completed trial holds"):
        SparseGridImportanceEvaluator().evaluate(study, params=["nope"])


def test_single_value_distribution_and_few_trials_give_zero():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("fixed", 3, 3), n_trials=2
    )
    assert SparseGridImportanceEvaluator().evaluate(study) == {"fixed": 0.0, "x": 0.0}
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("fixed", 3, 3), n_trials=20
    )
    res = SparseGridImportanceEvaluator().evaluate(study)
    assert res["fixed"] == 0.0 and res["x"] == pytest.approx(1.0)


def test_sparse_grid_sampler_study_and_failed_trials():
    sampler = SparseGridSampler(40, seed=0)
    study = optuna.create_study(sampler=sampler)

    def obj(trial):
        a = trial.suggest_float("a", 0.0, 1.0)
        kind = trial.suggest_categorical("kind", ["x", "y", "z"])
        if a > 0.97:
            raise RuntimeError("diverged")
        return a + {"x": 0.0, "y": 2.0, "z": 4.0}[kind]

    study.optimize(obj, n_trials=40, catch=(RuntimeError,))
    res = get_param_importances(study, evaluator=SparseGridImportanceEvaluator())
    assert res == get_param_importances(study, evaluator=SparseGridImportanceEvaluator())
    assert res["kind"] > res["a"]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="index"):
        SparseGridImportanceEvaluator(index="fanova")
    with pytest.raises(ValueError, match="fit"):
        SparseGridImportanceEvaluator(fit="forest")
    multi = optuna.create_study(directions=["minimize", "minimize"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=3)
    with pytest.raises(ValueError, match="target"):
        SparseGridImportanceEvaluator().evaluate(multi)
    empty = optuna.create_study()
    with pytest.raises(ValueError, match="no completed trial"):
        SparseGridImportanceEvaluator().evaluate(empty)
