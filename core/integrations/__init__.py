"""Sparse-grid search where people already tune: optuna and scikit-learn front ends.

- :class:`core.integrations.optuna.SparseGridSampler`: an ``optuna`` sampler that drives any
  registered strategy (``method="sparse_grid"``, ``"bayesian"``, ...) through optuna's
  ``sample_relative``; studies, storages, dashboards and pruners stay optuna's.
- :class:`core.integrations.sklearn.SparseGridSearchCV`: a scikit-learn ``BaseSearchCV`` like
  ``RandomizedSearchCV``, with the candidates proposed by a strategy.

Each submodule imports its host library (install the extras ``optuna`` or ``sklearn``); this
package imports neither, so ``import core`` never pays for them.
"""

from __future__ import annotations

__all__: list[str] = []
