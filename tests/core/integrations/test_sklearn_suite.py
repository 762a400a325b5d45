"""scikit-learn's own search tests, run against SparseGridSearchCV.

The tests of ``sklearn/model_selection/tests/test_search.py`` that take the search class (or an
instance) as a parameter are called here with ``SparseGridSearchCV`` in place of
``RandomizedSearchCV`` (``param_space`` for ``param_distributions``, a small ``n_iter``).
They are skipped when the installed scikit-learn does not ship its tests.
"""

from __future__ import annotations

import functools
import warnings

import pytest

sk = pytest.importorskip("sklearn.model_selection.tests.test_search")

from scipy.stats import uniform  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from sklearn.utils._testing import MinimalClassifier, MinimalRegressor  # noqa: E402

from core.integrations.sklearn import SparseGridSearchCV  # noqa: E402

#: The class as the tests call it: ``Search(estimator, params, **kwargs)``.
Search = functools.partial(SparseGridSearchCV, n_iter=4, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def test_search_cv_with_fit_params():
    sk.test_SearchCV_with_fit_params(Search)


@pytest.mark.parametrize("out_bound_value", [-1, 2])
def test_refit_callable_out_bound(out_bound_value):
    sk.test_refit_callable_out_bound(out_bound_value, Search)


def test_search_default_iid():
    # the test reads candidate 0 as C=1; the centre of [10, 1] is the second choice, C=1
    sk.test_search_default_iid(SparseGridSearchCV, {"param_space": {"C": [10, 1]}, "n_iter": 3})


@pytest.mark.parametrize("return_train_score", [False, True])
def test_searchcv_raise_warning_with_non_finite_score(return_train_score):
    sk.test_searchcv_raise_warning_with_non_finite_score(
        SparseGridSearchCV, {"param_space": {"max_depth": [2, 3, 5, 8]}, "n_iter": 4},
        return_train_score,
    )


def test_search_cv_score_samples_error():
    sk.test_search_cv_score_samples_error(
        SparseGridSearchCV(DecisionTreeClassifier(), {"max_depth": [5, 10]}, 3)
    )


def test_search_cv_score_samples_method():
    sk.test_search_cv_score_samples_method(
        SparseGridSearchCV(
            LocalOutlierFactor(novelty=True), {"n_neighbors": [5, 10]}, 3, scoring="precision"
        )
    )


def test_scalar_fit_param():
    sk.test_scalar_fit_param(Search, {"a": uniform(1, 3)})


def test_scalar_fit_param_compat():
    sk.test_scalar_fit_param_compat(Search, {"alpha": uniform(0.01, 0.1)})


@pytest.mark.parametrize("predictor", [MinimalRegressor, MinimalClassifier])
def test_search_cv_using_minimal_compatible_estimator(predictor):
    sk.test_search_cv_using_minimal_compatible_estimator(Search, predictor)


def test_search_estimator_param():
    sk.test_search_estimator_param(Search, "param_space")


def test_multi_metric_search_forwards_metadata():
    sk.test_multi_metric_search_forwards_metadata(Search, "param_space")


def test_score_rejects_params_with_no_routing_enabled():
    sk.test_score_rejects_params_with_no_routing_enabled(Search, "param_space")
