"""A scikit-learn search estimator that runs our strategies: ``SparseGridSearchCV``.

It is a :class:`~sklearn.model_selection._search.BaseSearchCV` like ``RandomizedSearchCV``: the
same cross-validation, scoring, ``n_jobs`` (joblib), ``refit``, ``error_score`` and result
attributes (``cv_results_``, ``best_params_``, ``best_score_``, ``best_estimator_``); only the
candidates come from a strategy (sparse grid search by default), in batches, each batch chosen
from the cross-validated scores of the earlier ones.

scikit-learn maximizes scores; the strategies minimize. The strategy is told the negated mean
test score of each candidate (a failed fit scored ``error_score=np.nan`` is told NaN and ranks
worst).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from core.integrations._space import HostSpace
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES, check_option_names, make_strategy, strategy_options
from core.strategies.distinct import DistinctSearch, check_budget, restart_seed

__all__ = ["SparseGridSearchCV", "to_core_param"]

_LOG_UNIFORM = ("loguniform", "reciprocal")
_NON_FINITE = "scores are non-finite"  # scikit-learn's warning about NaN scores


def to_core_param(name: str, value: Any) -> Float | Int | Categorical:
    """The :mod:`core.space` parameter for one entry of ``param_space``.

    Parameters
    ----------
    name : str
        The parameter name (for error messages).
    value : Float, Int, Categorical, list, tuple, ndarray or frozen scipy.stats distribution
        A list, tuple or 1-D array is categorical (its order defines the unit-interval bins).
        Distributions: ``uniform`` -> ``Float``, ``loguniform`` -> ``Float(log=True)``,
        ``randint`` -> ``Int`` (both ends inclusive); their support must be finite.
    """
    if isinstance(value, (Float, Int, Categorical)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(np.asarray(value, dtype=object).ravel()) if isinstance(
            value, np.ndarray
        ) else list(value)
        if not values:
            raise ValueError(f"`param_space[{name!r}]` must not be empty, got {value!r}")
        return Categorical(tuple(values))
    dist = getattr(value, "dist", None)
    if dist is not None and callable(getattr(value, "support", None)):
        kind = getattr(dist, "name", type(dist).__name__)
        lo, hi = (float(v) for v in value.support())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(
                f"`param_space[{name!r}]` must have a bounded support, got the {kind} "
                f"distribution on [{lo}, {hi}]"
            )
        if kind == "uniform":
            return Float(lo, hi)
        if kind in _LOG_UNIFORM:
            if not abs(float(value.cdf(math.sqrt(lo * hi))) - 0.5) < 1e-9:
                raise ValueError(
                    f"`param_space[{name!r}]` must be log-uniform on its support (loc=0), got "
                    f"{kind} with support [{lo}, {hi}]"
                )
            return Float(lo, hi, log=True)
        if kind == "randint":
            return Int(int(lo), int(hi))
        raise TypeError(
            f"`param_space[{name!r}]` must be a uniform, loguniform or randint distribution, "
            f"got the {kind} distribution (its density cannot be honoured; use a core.space "
            "Float/Int or a list)"
        )
    raise TypeError(
        f"`param_space[{name!r}]` must be a core.space Float, Int or Categorical, a list of "
        f"choices, or a scipy.stats uniform, loguniform or randint distribution, got {value!r}"
    )


class SparseGridSearchCV(BaseSearchCV):
    """Cross-validated search over ``param_space`` with the candidates of a strategy.

    Parameters
    ----------
    estimator : estimator object
        As in ``RandomizedSearchCV`` (a ``Pipeline`` takes ``"step__param"`` names).
    param_space : dict
        Parameter name -> :mod:`core.space` ``Float`` / ``Int`` / ``Categorical``, a list of
        choices, or a frozen ``scipy.stats`` ``uniform``, ``loguniform`` or ``randint``; the
        dict order is the order of the unit-cube axes. Unbounded or other distributions raise
        before any fit.
    n_iter : int
        Budget: the number of candidates (each fitted once per CV split). Below the method's
        minimum (:meth:`Strategy.min_budget` for the space) is an error before any fit. A
        configuration proposed again (integer and categorical parameters map several unit-cube
        points to one value) is told its earlier score without a new fit, and budget the
        strategy leaves goes to configurations not fitted yet
        (:mod:`core.strategies.distinct`); the search ends below ``n_iter`` only when it says
        why (``stop_reason_``, ``stop_detail_``), e.g. every configuration was fitted.
    method : str
        A registered strategy (:data:`core.strategies.STRATEGIES`).
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As in ``RandomizedSearchCV``. With several metrics, ``refit`` must name the metric the
        search maximizes.
    random_state : int, RandomState, numpy Generator or None
        Seed of the strategy.
    **options
        Options of the strategy (e.g. ``gamma=0.5`` for sparse grid search); they are
        parameters of this estimator (``get_params``, ``clone``).

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_,
    refit_time_, multimetric_
        As in ``RandomizedSearchCV``; ``cv_results_`` rows are in the order evaluated.
    strategy_ : Strategy
        The strategy after the search; it was told ``-mean_test_score`` (scores are maximized
        by minimizing their negation), NaN for candidates whose fits failed.
    stop_reason_, stop_detail_ : str
        Why the search ended (a key of ``core.strategies.STOP_REASONS``) and, in a sentence with
        figures, why (e.g. every configuration of a finite space was fitted before ``n_iter``).
    search_space_ : core.space.SearchSpace
        The unit-cube mapping searched.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> search = SparseGridSearchCV(SVC(), {"C": loguniform(1e-2, 1e2)}, 5, random_state=0)
    >>> search = search.fit(X, y)
    >>> sorted(search.best_params_), len(search.cv_results_["params"]) <= 5
    (['C'], True)
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_space": [dict],
        "n_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "method": [str],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        estimator: Any,
        param_space: Mapping[str, Any],
        n_iter: int,
        *,
        method: str = "sparse_grid",
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        **options: Any,
    ) -> None:
        self.param_space = param_space
        self.n_iter = n_iter
        self.method = method
        self.random_state = random_state
        for key, value in options.items():
            setattr(self, key, value)
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )

    # -- strategy options are estimator parameters -------------------------------------------
    def _strategy_options(self) -> dict[str, Any]:
        names = set(self._get_param_names())
        return {
            k: v for k, v in vars(self).items()
            if k not in names and not k.startswith("_") and not k.endswith("_")
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=deep)
        params.update(self._strategy_options())
        return params

    def set_params(self, **params: Any) -> SparseGridSearchCV:
        """Set parameters; an option of the strategy may be set even if it was not given."""
        method = params.get("method", self.method)
        valid = (
            strategy_options(method) if isinstance(method, str) and method in STRATEGIES else {}
        )
        current = self.get_params(deep=False)
        for key in [k for k in params if k in valid and k not in current]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    # -- the search ----------------------------------------------------------------------------
    def _host_space(self) -> HostSpace:
        if not isinstance(self.param_space, Mapping) or not self.param_space:
            raise ValueError(
                f"`param_space` must be a non-empty dict, got param_space={self.param_space!r}"
            )
        params = {}
        for name, value in self.param_space.items():
            if not isinstance(name, str):
                raise TypeError(f"`param_space` keys must be strings, got {name!r}")
            params[name] = to_core_param(name, value)
        return HostSpace(params)

    def _make_strategy(self, space: SearchSpace) -> DistinctSearch:
        if not isinstance(self.method, str) or self.method not in STRATEGIES:
            raise ValueError(
                f"unknown method {self.method!r}; valid names: {', '.join(STRATEGIES)}"
            )
        options = self._strategy_options()
        check_option_names(self.method, options)
        check_budget(STRATEGIES[self.method], space, self.n_iter, "n_iter", **options)
        seed = self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        strategy = make_strategy(self.method, space.dim, self.n_iter, seed=seed, **options)
        return DistinctSearch(strategy, space, restart=lambda n, k: make_strategy(
            self.method, space.dim, n, seed=restart_seed(seed, k), **options
        ))

    def _score_key(self, results: Mapping[str, Any]) -> str:
        if "mean_test_score" in results:
            return "mean_test_score"
        if isinstance(self.refit, str) and f"mean_test_{self.refit}" in results:
            return f"mean_test_{self.refit}"
        raise ValueError(
            "with several metrics, `refit` must name the metric SparseGridSearchCV maximizes, "
            f"got refit={self.refit!r}"
        )

    def _evaluate(
        self, evaluate_candidates: Any, candidates: list[dict], search_ctx: Any
    ) -> tuple[dict, list[warnings.WarningMessage]]:
        """Cross-validate one batch; hold back scikit-learn's non-finite-score warning.

        That warning describes all results so far, so only the last batch's is shown.
        """
        kwargs: dict[str, Any] = {}
        if search_ctx is not None:
            kwargs["callback_ctx"] = search_ctx.subcontext(
                task_name="search-batch",
                max_subtasks=len(candidates) * self.n_splits_,
                sequential_subtasks=False,
            ).call_on_fit_task_begin(estimator=self)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = evaluate_candidates(candidates, **kwargs)
        held = []
        for w in caught:
            if _NON_FINITE in str(w.message):
                held.append(w)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if search_ctx is not None:
            kwargs["callback_ctx"].call_on_fit_task_end(estimator=self)
        return results, held

    def _run_search(self, evaluate_candidates: Any, *, callback_ctx: Any = None) -> None:
        """Ask the strategy for a batch, cross-validate it, tell ``-mean_test_score``; repeat.

        The strategy runs inside :class:`~core.strategies.distinct.DistinctSearch`: a
        candidate equal to one evaluated before (integer and categorical parameters map
        several unit-cube points to one configuration) is not fitted again (the strategy is
        told its known score), ``cv_results_`` lists each configuration once, and budget the
        strategy leaves goes to configurations not fitted yet.
        """
        host = self._host_space()
        strategy = self._make_strategy(host.space)
        if isinstance(self.scoring, (list, tuple, dict)) and not isinstance(self.refit, str):
            raise ValueError(
                "with several metrics, `refit` must name the metric SparseGridSearchCV "
                f"maximizes, got refit={self.refit!r}"
            )
        search_ctx = None
        if callback_ctx is not None:
            search_ctx = callback_ctx.subcontext(
                task_name="search", max_subtasks=None
            ).call_on_fit_task_begin(estimator=self)
        non_finite: list[warnings.WarningMessage] = []
        while True:
            U = strategy.ask()
            if len(U) == 0:
                break
            results, non_finite = self._evaluate(
                evaluate_candidates, host.from_unit(U), search_ctx
            )
            batch = np.asarray(results[self._score_key(results)][-len(U):], dtype=np.float64)
            strategy.tell(U, -batch)
        for w in non_finite:  # once, with every candidate's score (as a single batch would)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if search_ctx is not None:
            search_ctx.call_on_fit_task_end(estimator=self)
        self.strategy_ = strategy.strategy
        self.stop_reason_, self.stop_detail_ = strategy.stop_reason, strategy.stop_detail
        self.search_space_ = host.space
