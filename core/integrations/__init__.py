"""Sparse-grid search where people already tune: optuna and scikit-learn front ends.

- :class:`core.integrations.optuna.SparseGridSampler`: an ``optuna`` sampler that drives any
  registered strategy (``method="sparse_grid"``, ``"bayesian"``, ...) through optuna's
  ``sample_relative``; studies, storages, dashboards and pruners stay optuna's.
- :class:`core.integrations.sklearn.SparseGridSearchCV`: a scikit-learn ``BaseSearchCV`` like
  ``RandomizedSearchCV``, with the candidates proposed by a strategy.
- :class:`core.integrations.optuna.SparseGridImportanceEvaluator`: parameter importance for
  ``optuna.importance.get_param_importances`` from the Sobol indices of a sparse-grid surrogate.
- :class:`core.integrations.ray.SparseGridSearcher`: a Ray Tune ``Searcher`` that hands out a
  strategy's batches to Tune's trials.

Each submodule imports its host library (install the extras ``optuna``, ``sklearn`` or ``ray``);
this package imports none of them, so ``import core`` never pays for them.
"""

from __future__ import annotations

__all__: list[str] = []
