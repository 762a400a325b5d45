"""``SparseGridImportanceEvaluator``: optuna parameter importance from a sparse-grid surrogate.

Re-exported by :mod:`core.integrations.optuna`; see :class:`SparseGridImportanceEvaluator`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.importance import BaseImportanceEvaluator
from optuna.search_space import intersection_search_space
from optuna.trial import FrozenTrial, TrialState

from core.basis import check_degree
from core.importance import FITS, Importance, importance
from core.integrations._space import Stepped
from core.space import Param, SearchSpace

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["SparseGridImportanceEvaluator"]

#: Values of ``index`` accepted by :class:`SparseGridImportanceEvaluator`.
INDICES: tuple[str, ...] = ("first_order", "total")


def _completed_distributions(
    trials: list[FrozenTrial], params: list[str] | None
) -> dict[str, BaseDistribution]:
    """Parameters assessed, sorted by name, as optuna's own evaluators choose them.

    ``params=None``: the intersection search space of the completed trials. Given names: the
    distributions of the completed trials that hold them all, which must agree.
    """
    if params is None:
        return dict(sorted(intersection_search_space(trials).items()))
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, str) for p in params):
        raise TypeError(f"`params` must be a list of parameter names, got params={params!r}")
    found: dict[str, BaseDistribution] | None = None
    for trial in trials:
        if not all(name in trial.distributions for name in params):
            continue
        dists = {name: trial.distributions[name] for name in params}
        if found is None:
            found = dists
        elif dists != found:
            raise ValueError(
                "parameter importance needs one distribution per parameter across the trials; "
                f"the trials disagree for some of params={params!r} (a dynamic search space)"
            )
    if found is None:
        raise ValueError(f"no completed trial holds all of params={params!r}: nothing to assess")
    return dict(sorted(found.items()))


def _unit_coordinate(param: Param | Stepped, value: Any) -> float:
    """Unit-cube coordinate of a native value, as the strategies' spaces map it."""
    if isinstance(param, Stepped):
        k = int(round((float(value) - param.low) / param.step))
        core = param.param
        return float(SearchSpace({"k": core}).to_unit({"k": min(max(k, 0), core.high)})[0, 0])
    return float(SearchSpace({"v": param}).to_unit({"v": value})[0, 0])


class SparseGridImportanceEvaluator(BaseImportanceEvaluator):
    """Sobol indices of a sparse-grid surrogate fitted to a study's trials, for any sampler.

    Usage: ``optuna.importance.get_param_importances(study,
    evaluator=SparseGridImportanceEvaluator())``. The same study gives the same importances on
    every call (no random forest, no sampling; :mod:`core.importance`).

    Parameters
    ----------
    index : {"first_order", "total"}
        Which Sobol index to report: ``"first_order"`` (the share of the variance explained by
        the parameter alone, what fANOVA's individual importance estimates) or ``"total"``
        (alone and in all interactions).
    fit : {"least_squares", "auto", "interpolant"}
        How the surrogate is built from the trials (:func:`core.importance.importance`). The
        default fits a regular sparse grid by cross-validated ridge regression: a trial keeps
        only native values, and mapped back to the cube an integer or categorical value becomes
        its bin centre, not the grid point a :class:`SparseGridSampler` asked, so the grid of
        a sparse-grid study is not recoverable in general.
    degree : {1, 3, 5, 7}
        B-spline degree.

    Attributes
    ----------
    last : core.importance.Importance or None
        The full result of the latest :meth:`evaluate` (both indices, the surrogate, its
        cross-validated ``check_r2``), None before the first call or when nothing was fitted.

    Notes
    -----
    Trials, parameters and target follow optuna's own evaluators: COMPLETE trials holding every
    assessed parameter and a finite target (``target(trial)``, default ``trial.value``;
    multi-objective studies need ``target``); parameters default to the intersection search
    space, sorted by name; a parameter whose distribution has a single value gets 0. Each
    distribution maps to the unit cube as :class:`~core.integrations.optuna.SparseGridSampler`
    searches it (log floats and ints in log space, a stepped parameter by its grid index,
    categoricals by equal-width bins in the order of their choices), and the indices refer to
    the uniform distribution on that cube. The result is sorted by decreasing importance. With
    fewer than 3 usable trials, or a constant target, every parameter gets 0 (optuna then
    normalizes to equal shares), as optuna's evaluators do with at most one trial.
    """

    def __init__(
        self, *, index: str = "first_order", fit: str = "least_squares", degree: int = 3
    ) -> None:
        if index not in INDICES:
            raise ValueError(f"`index` must be one of {INDICES}, got index={index!r}")
        if fit not in FITS:
            raise ValueError(f"`fit` must be one of {FITS}, got fit={fit!r}")
        self.index = index
        self.fit = fit
        self.degree = check_degree(degree)
        self.last: Importance | None = None

    def evaluate(
        self,
        study: Study,
        params: list[str] | None = None,
        *,
        target: Callable[[FrozenTrial], float] | None = None,
    ) -> dict[str, float]:
        """Importance of each parameter, ``{name: index}`` sorted by decreasing value."""
        from core.integrations.optuna import to_core_param

        if target is None and len(study.directions) > 1:
            raise ValueError(
                "a multi-objective study needs `target`, e.g. target=lambda t: t.values[0] "
                "for the first objective"
            )
        if target is not None and not callable(target):
            raise TypeError(f"`target` must be callable or None, got target={target!r:.80}")
        self.last = None
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not completed:
            raise ValueError("the study has no completed trial: nothing to assess")
        dists = _completed_distributions(completed, params)
        names = list(dists)
        varying = [n for n in names if not dists[n].single()]
        zeros = dict.fromkeys(names, 0.0)
        if not varying:
            return zeros
        rows, values = [], []
        for trial in completed:
            if not all(n in trial.params for n in names):
                continue
            v = float(target(trial)) if target is not None else trial.value
            if v is None or not math.isfinite(float(v)):
                continue
            rows.append(trial)
            values.append(float(v))
        y = np.array(values)
        if len(rows) < 3 or not np.ptp(y) > 0:
            return zeros
        core_params = {n: to_core_param(dists[n]) for n in varying}
        U = np.array(
            [[_unit_coordinate(core_params[n], t.params[n]) for n in varying] for t in rows]
        )
        imp = importance((U, y), varying, fit=self.fit, degree=self.degree)
        self.last = imp
        values_by_name = imp.first_order if self.index == "first_order" else imp.total
        out = {n: float(v) for n, v in zip(varying, values_by_name, strict=True)}
        out.update({n: 0.0 for n in names if n not in out})
        return dict(sorted(out.items(), key=lambda kv: kv[1], reverse=True))
