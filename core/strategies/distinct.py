"""The space as a contract: a strategy's budget goes to distinct configurations.

Strategies work in the unit cube; an ``Int`` or ``Categorical`` parameter maps a whole interval
of it to one value, so two different points can be one configuration. :class:`DistinctSearch`
wraps a strategy for a :class:`~core.space.SearchSpace` and keeps two promises:

1. *A configuration is evaluated once.* A proposed point whose configuration was evaluated before
   (or appears earlier in the same batch) is told its known value without an evaluation and
   without spending budget; only the new configurations are asked.
2. *Budget left over goes to configurations not yet tried.* When the wrapped strategy stops with
   budget left (it has no further point, or its own count of points, the free ones included,
   reached the budget) and the space has integer or categorical parameters, the combinations of
   their values not yet evaluated are proposed, nearest to the incumbent first (unit-cube
   distance over those parameters; enumeration order on ties), with the incumbent's ``Float``
   values. On a space of integers and categoricals only, this is every configuration not yet
   evaluated, so the run ends with ``"exhausted"`` exactly when all of them have been evaluated,
   or with ``"budget"``. Combinations are enumerated only up to :data:`FILL_LIMIT`; beyond it the
   wrapped strategy's stop reason stands and :attr:`~core.strategies.base.Strategy.stop_detail`
   says how many configurations were evaluated.

:func:`check_budget` refuses, before anything runs, a budget below the method's
:meth:`~core.strategies.base.Strategy.min_budget` for the space (a budget that covers every
configuration of a finite space is always enough).

On a space of ``Float`` parameters only, points are configurations: the wrapper passes them
through and keeps no record (memory does not grow with the budget), and the wrapped strategy's
stop is the run's. Deterministic: the wrapper adds no randomness (the wrapped strategy and its
restarts keep their seeds).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from core.records import SAMPLE
from core.space import SearchSpace
from core.strategies.base import STOP_REASONS, Strategy

__all__ = ["DistinctSearch", "FILL_LIMIT", "MAX_RESTARTS", "check_budget", "restart_seed",
           "unwrap"]

#: Most value combinations of the integer and categorical parameters enumerated to fill the
#: budget (beyond it the wrapped strategy's stop stands).
FILL_LIMIT = 2**20
#: Most restarts of the wrapped strategy (each with twice the previous budget).
MAX_RESTARTS = 4


def restart_seed(seed: Any, k: int) -> Any:
    """The seed of the ``k``-th restart of a strategy built with ``seed``: ``(seed, k)`` for an
    int, the same Generator (it goes on drawing), None for None."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng([int(seed), int(k)])
    return seed

_FILL_ORIGIN = dataclasses.replace(
    SAMPLE, source="a configuration not evaluated yet, nearest to the incumbent"
)


def unwrap(strategy: Strategy) -> Strategy:
    """The strategy a :class:`DistinctSearch` wraps (``strategy`` itself otherwise)."""
    return strategy.strategy if isinstance(strategy, DistinctSearch) else strategy


def check_budget(cls: type[Strategy], space: SearchSpace, n_evals: int, what: str = "n_evals",
                 **options: Any) -> None:
    """Raise ``ValueError`` when ``n_evals`` is below what strategy class ``cls`` needs on
    ``space`` with ``options`` (:meth:`~core.strategies.base.Strategy.min_budget`, at most the
    number of configurations of a finite space); ``what`` names the budget in the message."""
    need = int(cls.min_budget(space.dim, space_size=space.n_configurations, **options))
    if n_evals < need:
        why = cls.budget_rule(space.dim, **options)
        raise ValueError(
            f"`{what}` must be at least {need} for {cls.title.lower()} with {space.dim} "
            f"parameters{': ' + why if why else ''}; got {what}={n_evals}"
        )


class DistinctSearch(Strategy):
    """``strategy`` with its budget spent on distinct configurations of ``space``.

    Parameters
    ----------
    strategy : Strategy
        A fresh strategy of dimension ``space.dim``; its ``n_evals`` is the budget.
    space : SearchSpace
        Defines which points are the same configuration.
    restart : callable or None
        ``restart(n_evals, k) -> Strategy``: a fresh strategy of the same method with budget
        ``n_evals`` for the ``k``-th restart. When repeated configurations (told without an
        evaluation) used up the wrapped strategy's budget before ours, a restart with twice its
        budget goes on (the configurations it proposes again cost nothing), at most
        :data:`MAX_RESTARTS` times and while restarts evaluate something; then the leftover
        goes to untried value combinations as above. None: no restart.

    Attributes
    ----------
    strategy : Strategy
        The wrapped strategy; it is told every point it proposed (free ones with their known
        values), so its ``n_told`` may exceed this wrapper's.
    n_free : int
        Proposals told a known value without an evaluation.
    n_filled : int
        Configurations proposed by the wrapper after the wrapped strategy stopped.
    """

    def __init__(
        self, strategy: Strategy, space: SearchSpace,
        restart: Callable[[int, int], Strategy] | None = None,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise TypeError(f"`strategy` must be a core Strategy, got {strategy!r}")
        if not isinstance(space, SearchSpace) or space.dim != strategy.dim:
            raise ValueError(
                f"`space` must be a SearchSpace of the strategy's dimension {strategy.dim}, "
                f"got {space!r}"
            )
        if strategy.n_told or strategy.pending is not None:
            raise ValueError("DistinctSearch needs a fresh strategy (nothing asked yet)")
        super().__init__(strategy.dim, strategy.n_evals)
        self.strategy = strategy
        self.space = space
        self.name = strategy.name
        self.title = strategy.title
        self.n_free = 0
        self.n_filled = 0
        self._values: dict[tuple, float] = {}  # configuration key -> told value
        self._index: dict[tuple, int] = {}  # configuration key -> history index
        self._inner_index: list[int] = []  # the wrapped strategy's told points -> our index
        self._pending_inner: tuple[np.ndarray, np.ndarray, list[int], dict[int, int]] | None = None
        self._discrete = space.discrete_dims
        self._tried: set[tuple] = set()  # value combinations of the discrete dimensions
        self._n_combinations = math.prod(
            space[space.names[t]].n_values for t in self._discrete
        ) if self._discrete else 0
        self._filling = False
        self._restart = restart
        self.n_restarts = 0
        self._restart_told = 0  # n_told when the latest restart began
        self._stage_offset = 0  # searches of the wrapped strategies before the current one

    # -- the protocol ----------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        inner = self.strategy
        if not self._discrete:  # only Floats: points are configurations, nothing to keep
            V = inner.ask(max_points)
            if len(V) == 0:
                self._end()
            elif len(inner.origins) == len(V):
                self._set_origins(inner.origins)
            return V
        while not self._filling and (inner.stop_reason is None or self._restarted()):
            inner = self.strategy
            V = inner.ask(max_points)
            if len(V) == 0:
                break
            origins = inner.origins
            keys = self.space.configuration_keys(V)
            y = np.full(len(V), np.nan)
            new: list[int] = []
            same: dict[int, int] = {}  # position -> earlier position of the same batch
            first: dict[tuple, int] = {}
            for j, key in enumerate(keys):
                if key in self._values:
                    y[j] = self._values[key]
                elif key in first:
                    same[j] = first[key]
                else:
                    first[key] = j
                    new.append(j)
            if not new:  # every proposal is known: tell at once, no evaluation
                self.n_free += len(V)
                self._inner_index += [self._index[key] for key in keys]
                inner.tell(V, y)
                continue
            self._pending_inner = (V, y, new, same)
            if len(origins) == len(V):
                self._set_origins([self._mapped(origins[j]) for j in new])
            return V[new]
        self._filling = True
        U = self._fill(max_points)
        if len(U) == 0:
            self._end()
        return U

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if not self._discrete:
            self.strategy.tell(U, y)
            return
        start = self.n_told - len(U)
        keys = self.space.configuration_keys(U)
        for i, (key, value) in enumerate(zip(keys, y, strict=True)):
            self._values[key] = float(value)
            self._index[key] = start + i
            self._tried.add(tuple(key[t] for t in self._discrete))
        if self._pending_inner is None:
            return
        (V, full, new, same), self._pending_inner = self._pending_inner, None
        full = full.copy()
        full[new] = y
        position = dict(zip(new, range(start, start + len(new)), strict=True))
        for j, k in same.items():
            full[j] = full[k]
        self.n_free += len(V) - len(new)
        inner_keys = self.space.configuration_keys(V)
        self._inner_index += [
            position.get(j, self._index[key]) for j, key in enumerate(inner_keys)
        ]
        self.strategy.tell(V, full)

    def _restarted(self) -> bool:
        """Start a fresh wrapped strategy with twice the budget when repeated configurations
        used up the wrapped one's budget before ours (see ``restart``); False when there is no
        ``restart``, it stopped for another reason, or the latest restart evaluated nothing."""
        inner = self.strategy
        if (self._restart is None or inner.stop_reason != "budget" or self.remaining <= 0
                or self.n_restarts >= MAX_RESTARTS
                or (self.n_restarts and self.n_told == self._restart_told)):
            return False
        self.n_restarts += 1
        self._restart_told = self.n_told
        self._stage_offset += getattr(inner, "n_searches", 1)
        self.strategy = self._restart(2 * inner.n_evals, self.n_restarts)
        self._inner_index = []
        return True

    def _stop(self) -> str | None:
        """Only Floats: the wrapped strategy's stop, at once (it proposes every point)."""
        if self._discrete:
            return None  # what is left to try is decided when asked
        reason = self.strategy.stop_reason
        if reason is not None:
            self._say_why(self.strategy._detail or STOP_REASONS.get(reason, reason))
        return reason

    def stop(self, reason: str = "stopped") -> None:
        super().stop(reason)
        if self.strategy.stop_reason is None:
            self.strategy.stop(reason)

    # -- filling the budget ------------------------------------------------------------------
    def _fill(self, max_points: int) -> np.ndarray:
        """Up to ``max_points`` value combinations of the discrete dimensions not tried yet."""
        if not self._discrete or self._n_combinations > FILL_LIMIT:
            return np.empty((0, self.dim))
        if len(self._tried) >= self._n_combinations:
            return np.empty((0, self.dim))
        centres = [self.space.bin_centres(t) for t in self._discrete]
        best = self.best
        anchor = best[0] if best is not None else np.full(self.dim, 0.5)
        dims = list(self._discrete)
        grids = np.meshgrid(*(np.arange(len(c)) for c in centres), indexing="ij")
        combos = np.stack([g.ravel() for g in grids], axis=1)  # itertools.product order
        U = np.stack([centres[i][combos[:, i]] for i in range(len(dims))], axis=1)
        order = np.argsort(np.sum((U - anchor[dims]) ** 2, axis=1), kind="stable")
        out = []
        for r in order:
            x = anchor.copy()
            x[dims] = U[r]
            key = self.space.configuration_keys(x[None, :])[0]
            if tuple(key[t] for t in dims) in self._tried:
                continue
            out.append(x)
            self._tried.add(tuple(key[t] for t in dims))  # asked: not proposed again
            if len(out) >= max_points:
                break
        self.n_filled += len(out)
        self._set_origins([_FILL_ORIGIN] * len(out))
        return np.array(out).reshape(-1, self.dim)

    def _end(self) -> None:
        """Set the stop reason and its sentence once nothing is left to propose."""
        inner = self.strategy
        n = len(self._values)
        total = self.space.n_configurations
        if total is not None and n >= total:
            self._stopped = "exhausted"
            self._say_why(f"all {total} distinct configurations of the space were evaluated")
            return
        self._stopped = inner.stop_reason or "exhausted"
        why = inner._detail or STOP_REASONS.get(self._stopped, self._stopped)
        if inner.stop_reason == "budget":  # its proposals were used up by repeated ones
            self._stopped = "exhausted"
            why = (f"the method proposed no new configuration: {self.n_free} of its proposals "
                   "repeated configurations evaluated before (told their values without an "
                   f"evaluation), after {self.n_restarts} restart(s) with a doubled budget")
        extra = ""
        if self._discrete and self._n_combinations > FILL_LIMIT:
            extra = (f"; the {self._n_combinations} value combinations of the integer and "
                     "categorical parameters are too many to enumerate")
        elif self._discrete:
            extra = (f"; every one of the {self._n_combinations} value combinations of the "
                     "integer and categorical parameters was evaluated")
        self._say_why(why + extra)

    # -- helpers -------------------------------------------------------------------------------
    def _mapped(self, origin: Any) -> Any:
        """``origin`` with its history indices (``parent``, the selection's ``refined`` and
        ``candidates``: the wrapped strategy's told order) mapped to ours; after a restart, its
        ``stage`` counts on from the earlier wrapped strategies' searches and its ``restart``
        counts this wrapper's restarts too."""
        mapped = origin.remapped(self._inner_index)
        if not self.n_restarts:
            return mapped
        return mapped.replace(stage=origin.stage + self._stage_offset,
                              restart=origin.restart + self.n_restarts)
