"""SparseGridSearchCV: a scikit-learn search whose candidates come from our strategies.

Oracles: :func:`core.run.minimize` on the negated cross-validation score (same candidates, same
order), scikit-learn's own estimator checks (it must pass every check ``RandomizedSearchCV``
passes), and ``RandomizedSearchCV`` itself for the layout of ``cv_results_``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy import stats  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    KFold,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from core.integrations.sklearn import SparseGridSearchCV, to_core_param  # noqa: E402
from core.run import minimize  # noqa: E402
from core.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from core.strategies import STRATEGIES  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.choice(len(y), 240, replace=False)
    return X[keep], y[keep]


def svc_pipeline():
    return Pipeline([("scale", StandardScaler()), ("svc", SVC())])


PIPE_SPACE = {
    "svc__C": stats.loguniform(1e-2, 1e3),
    "svc__gamma": stats.loguniform(1e-4, 1e-1),
}
CV = KFold(3, shuffle=True, random_state=0)


@pytest.mark.parametrize("method", list(STRATEGIES))
def test_candidates_are_those_of_minimize_on_the_negated_score(digits, method):
    X, y = digits
    n = 8
    search = SparseGridSearchCV(
        svc_pipeline(), PIPE_SPACE, n, method=method, cv=CV, random_state=2
    ).fit(X, y)
    space = SearchSpace({k: to_core_param(k, v) for k, v in PIPE_SPACE.items()})

    def loss(config):
        est = clone(svc_pipeline()).set_params(**config)
        return -cross_val_score(est, X, y, cv=CV).mean()

    res = minimize(loss, space, method, n, seed=2)
    assert search.cv_results_["params"] == [ev.config for ev in res.history]
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], [-ev.value for ev in res.history], rtol=1e-12
    )
    np.testing.assert_array_equal(search.strategy_.y_told, -search.cv_results_["mean_test_score"])


@pytest.mark.processes
def test_pipeline_search_fills_the_attributes_like_randomized_search(digits):
    X, y = digits
    n = 10
    ours = SparseGridSearchCV(
        svc_pipeline(), PIPE_SPACE, n, cv=CV, n_jobs=2, random_state=0,
        return_train_score=True,
    ).fit(X, y)
    theirs = RandomizedSearchCV(
        svc_pipeline(), PIPE_SPACE, n_iter=n, cv=CV, random_state=0, return_train_score=True
    ).fit(X, y)
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    results = ours.cv_results_
    n_cand = len(results["params"])
    assert 3 <= n_cand <= n
    for key, value in results.items():
        assert len(value) == n_cand, key
    best = int(np.argmax(results["mean_test_score"]))
    assert ours.best_index_ == best
    assert ours.best_params_ == results["params"][best]
    assert ours.best_score_ == results["mean_test_score"][best]
    assert results["rank_test_score"][best] == 1
    assert ours.best_estimator_.get_params()["svc__C"] == ours.best_params_["svc__C"]
    assert ours.n_splits_ == 3
    assert ours.score(X, y) == ours.best_estimator_.score(X, y)
    np.testing.assert_array_equal(ours.predict(X[:5]), ours.best_estimator_.predict(X[:5]))
    for k in ("svc__C", "svc__gamma"):
        lo, hi = PIPE_SPACE[k].support()
        assert all(lo <= p[k] <= hi for p in results["params"])


def test_param_space_kinds_map_to_the_space():
    assert to_core_param("a", stats.uniform(1, 2)) == Float(1.0, 3.0)
    assert to_core_param("a", stats.loguniform(1e-3, 10)) == Float(1e-3, 10.0, log=True)
    assert to_core_param("a", stats.randint(2, 9)) == Int(2, 8)
    assert to_core_param("a", ["rbf", "poly"]) == Categorical(("rbf", "poly"))
    assert to_core_param("a", np.array([1, 3, 5])) == Categorical((1, 3, 5))
    assert to_core_param("a", Int(1, 4, log=True)) == Int(1, 4, log=True)


def test_categorical_and_integer_params_are_searched(digits):
    X, y = digits
    space = {"n_neighbors": stats.randint(1, 12), "weights": ["uniform", "distance"],
             "p": Int(1, 2)}
    search = SparseGridSearchCV(KNeighborsClassifier(), space, 12, cv=CV, random_state=0)
    search.fit(X, y)
    params = search.cv_results_["params"]
    for p in params:
        assert 1 <= p["n_neighbors"] <= 11 and type(p["n_neighbors"]) is int
        assert p["weights"] in ("uniform", "distance") and p["p"] in (1, 2)
    # unit-cube points that map to one configuration are fitted once and told its score
    assert len({tuple(sorted(p.items())) for p in params}) == len(params)
    told = search.strategy_.U_told
    assert len(told) >= len(params)
    configs = search.search_space_.from_unit(told)
    by_config = {tuple(sorted(p.items())): s
                 for p, s in zip(params, search.cv_results_["mean_test_score"], strict=True)}
    expected = [-by_config[tuple(sorted(c.items()))] for c in configs]
    np.testing.assert_array_equal(search.strategy_.y_told, expected)


class _CountingSVC(SVC):
    fits: list = []

    def fit(self, X, y, sample_weight=None):
        type(self).fits.append(self.C)
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(
    ("space", "n_iter", "error", "match"),
    [
        ({"C": stats.norm(1, 2)}, 5, ValueError, "bounded support"),
        ({"C": stats.expon()}, 5, ValueError, "bounded support"),
        ({"C": stats.beta(2, 3)}, 5, TypeError, "uniform, loguniform or randint"),
        ({"C": stats.loguniform(1, 10, loc=1)}, 5, ValueError, "log-uniform"),
        ({"C": []}, 5, ValueError, "must not be empty"),
        ({"C": "rbf"}, 5, TypeError, "must be a core.space"),
        ({}, 5, ValueError, "non-empty dict"),
        ({"C": stats.uniform(0.1, 10)}, -1, ValueError, "`n_iter` must be at least"),
    ],
)
def test_bad_input_raises_before_any_fit(digits, space, n_iter, error, match):
    if n_iter == -1:  # one below the method's minimum
        n_iter = STRATEGIES["sparse_grid"].min_budget(1) - 1
        match = f"{match} {n_iter + 1} "
    X, y = digits
    _CountingSVC.fits = []
    with pytest.raises(error, match=match):
        SparseGridSearchCV(_CountingSVC(), space, n_iter, cv=CV).fit(X, y)
    assert _CountingSVC.fits == []


def test_unknown_method_and_option_raise_before_any_fit(digits):
    X, y = digits
    _CountingSVC.fits = []
    space = {"C": stats.uniform(0.1, 10)}
    with pytest.raises(ValueError, match="unknown method"):
        SparseGridSearchCV(_CountingSVC(), space, 5, method="tpe").fit(X, y)
    with pytest.raises(TypeError, match="unknown option"):
        SparseGridSearchCV(_CountingSVC(), space, 5, gama=0.5).fit(X, y)
    assert _CountingSVC.fits == []


class _Fragile(ClassifierMixin, BaseEstimator):
    """A classifier that cannot be fitted for ``alpha > 0.5``."""

    def __init__(self, alpha=0.1):
        self.alpha = alpha

    def fit(self, X, y):
        if self.alpha > 0.5:
            raise ValueError("alpha too large")
        self.classes_ = np.unique(y)
        self.mean_ = X.mean(axis=0)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y)) - self.alpha


def test_failing_fits_follow_error_score(digits):
    X, y = digits
    space = {"alpha": stats.uniform(0.0, 1.0)}
    search = SparseGridSearchCV(_Fragile(), space, 8, cv=CV, random_state=0)
    with pytest.warns(FitFailedWarning), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    alphas = np.array([p["alpha"] for p in search.cv_results_["params"]])
    assert np.isnan(scores[alphas > 0.5]).all() and np.isfinite(scores[alphas <= 0.5]).all()
    assert np.isnan(search.strategy_.y_told[alphas > 0.5]).all()  # told NaN: ranked worst
    assert search.best_params_["alpha"] <= 0.5
    with pytest.raises(ValueError, match="alpha too large"):
        SparseGridSearchCV(_Fragile(), space, 8, cv=CV, random_state=0,
                           error_score="raise").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        numeric = SparseGridSearchCV(_Fragile(), space, 8, cv=CV, random_state=0,
                                     error_score=-5.0).fit(X, y)
    assert (numeric.cv_results_["mean_test_score"] >= -5.0).all()


def test_several_metrics_need_refit_to_name_one(digits):
    X, y = digits
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    search = SparseGridSearchCV(
        svc_pipeline(), PIPE_SPACE, 6, cv=CV, scoring=scoring, refit="bal", random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(
        search.strategy_.y_told, -search.cv_results_["mean_test_bal"]
    )
    assert search.best_score_ == search.cv_results_["mean_test_bal"].max()
    with pytest.raises(ValueError, match="refit"):
        SparseGridSearchCV(
            svc_pipeline(), PIPE_SPACE, 6, cv=CV, scoring=scoring, refit=False
        ).fit(X, y)


def test_strategy_options_are_parameters():
    search = SparseGridSearchCV(SVC(), {"C": stats.uniform(0.1, 10)}, 9, gamma=0.5)
    assert search.get_params()["gamma"] == 0.5
    assert clone(search).gamma == 0.5
    search.set_params(gamma=1.0, n_iter=12)
    assert search.get_params()["gamma"] == 1.0 and search.n_iter == 12
    plain = SparseGridSearchCV(SVC(), {"C": stats.uniform(0.1, 10)}, 9)
    plain.set_params(degree=5)  # a strategy option not given at construction
    assert plain.get_params()["degree"] == 5 and clone(plain).degree == 5
    with pytest.raises(ValueError, match="Invalid parameter"):
        plain.set_params(not_an_option=1)


def _failed_checks(estimator) -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    return {r["check_name"] for r in results if r["status"] == "failed"}


@pytest.mark.slow
def test_passes_the_estimator_checks_randomized_search_passes():
    space = {"alpha": stats.loguniform(1e-2, 1e2)}
    ours = _failed_checks(SparseGridSearchCV(Ridge(), space, 4, cv=2, random_state=0))
    theirs = _failed_checks(RandomizedSearchCV(Ridge(), space, n_iter=4, cv=2, random_state=0))
    assert ours <= theirs


@pytest.mark.slow
def test_passes_the_estimator_checks_as_a_classifier_search():
    space = {"n_neighbors": stats.randint(1, 5)}
    est = SparseGridSearchCV(KNeighborsClassifier(), space, 4, cv=2, random_state=0)
    assert _failed_checks(est) == set()
