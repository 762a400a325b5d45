"""A Ray Tune search algorithm that runs our strategies: ``SparseGridSearcher(space, ...)``.

.. code-block:: python

    from ray import tune
    from core.integrations.ray import SparseGridSearcher

    searcher = SparseGridSearcher(
        {"lr": tune.loguniform(1e-4, 1e-1), "width": tune.randint(8, 257)},
        metric="loss", mode="min", n_trials=60, seed=0,
    )
    tune.Tuner(train, tune_config=tune.TuneConfig(search_alg=searcher, num_samples=60)).fit()

How trials map to the strategy
------------------------------
The strategy (:func:`core.strategies.make_strategy`, budget ``n_trials``, wrapped so that each
configuration is evaluated once, exactly as :func:`core.run.iterate` wraps it) proposes batches
of unit-cube points. ``suggest`` hands out the points of the current batch one per trial, in
order, then returns ``None`` while the batch is still out (Tune asks again later); when every
trial of the batch has completed, the batch is told and the next one asked. When the strategy has
nothing more to propose (budget spent or converged) ``suggest`` returns ``Searcher.FINISHED``.
Run one trial at a time, the trials get exactly the configurations of :func:`core.run.minimize`
with the same space, method, budget, options and ``seed``, in order.

Ray runs the trials (this is a host-owned loop: Tune, not :mod:`core.run`, calls the trainable).
Failures are told as the driver tells them: a trial that errored, reported no ``metric``, or
reported NaN, an infinity or a non-number is told NaN (it uses budget and ranks worst). With
``mode="max"`` the strategy minimizes the negated metric.

Concurrency: any number of concurrent trials work (a batch is handed out as far as it goes).
``ConcurrencyLimiter(searcher, max_concurrent=k)`` (``batch=True`` or not) caps the trials out at
once: the searcher takes the limit over (``set_max_concurrency``), since it holds results until
its batch is complete anyway, which is what ``batch=True`` asks of the limiter, and since Tune
does not checkpoint the limiter's own record of live trials (after a restore it would drop the
result of a trial that was running).

The search space
----------------
Tune's domains are converted: ``tune.uniform``/``tune.loguniform`` to ``Float`` (``log``),
``tune.randint(a, b)``/``tune.lograndint(a, b)`` to ``Int(a, b - 1)`` (Tune's upper bound is
exclusive), ``tune.quniform``/``tune.qrandint`` to the step grid ``low, low + q, ..., high``
(searched by index, as the optuna sampler searches stepped distributions), and ``tune.choice``
to ``Categorical``. Nested dicts are flattened to ``"a/b"`` names. A :class:`~core.space.
SearchSpace` (or a mapping of ``Float``/``Int``/``Categorical``) is accepted as is. Without
``space``, the Tuner's ``param_space`` is used (``set_search_properties``); constants in it are
passed through by Tune.

Checkpoints: ``save``/``restore`` (called by Tune at its experiment checkpoints and by
``Tuner.restore``) pickle the whole state (the strategy, the asked points, the told values, which
trial holds which point). Trials running at a checkpoint are resumed by Tune under the same trial
id and complete their point.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ray.tune.search import Searcher
from ray.tune.search.sample import (
    Categorical as TuneCategorical,
)
from ray.tune.search.sample import (
    Domain,
    LogUniform,
    Quantized,
    Uniform,
)
from ray.tune.search.sample import (
    Float as TuneFloat,
)
from ray.tune.search.sample import (
    Integer as TuneInteger,
)
from ray.tune.search.variant_generator import parse_spec_vars

from core._validation import check_int
from core.integrations._space import HostSpace, Stepped
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES, check_option_names, make_strategy

__all__ = ["SparseGridSearcher", "to_core_space"]

_STATE_VERSION = 1


def _domain_to_param(name: str, domain: Domain) -> Float | Int | Categorical | Stepped:
    sampler = domain.get_sampler()
    q = None
    if isinstance(sampler, Quantized):
        q, sampler = sampler.q, sampler.sampler
    if isinstance(domain, TuneFloat):
        if isinstance(sampler, LogUniform) and q is None:
            return Float(domain.lower, domain.upper, log=True)
        if isinstance(sampler, Uniform):
            if q is not None:
                return Stepped(float(domain.lower), float(domain.upper), float(q))
            return Float(domain.lower, domain.upper)
    elif isinstance(domain, TuneInteger):
        if isinstance(sampler, LogUniform) and q is None:
            return Int(domain.lower, domain.upper - 1, log=True)
        if isinstance(sampler, Uniform):
            if q is not None:  # Tune: the upper bound of a quantized integer is inclusive
                return Stepped(domain.lower, domain.upper, int(q), integer=True)
            return Int(domain.lower, domain.upper - 1)
    elif isinstance(domain, TuneCategorical) and isinstance(sampler, Uniform):
        return Categorical(tuple(domain.categories))
    raise ValueError(
        f"parameter `{name}`: SparseGridSearcher supports tune.uniform, loguniform, quniform, "
        f"randint, lograndint, qrandint and choice, got {type(domain).__name__} with sampler "
        f"{type(sampler).__name__}{' (quantized)' if q is not None else ''}"
    )


def to_core_space(space: Any) -> HostSpace:
    """The searched space of a Tune param space, a :class:`SearchSpace` or a mapping of params.

    Parameters
    ----------
    space : SearchSpace or Mapping
        A Tune ``param_space`` (domains, possibly nested; constants are ignored), or our
        ``Float``/``Int``/``Categorical`` parameters.

    Returns
    -------
    HostSpace
        Names in the order of the unit-cube axes (nested keys joined by ``"/"``).

    Raises
    ------
    ValueError
        ``tune.grid_search``, an unsupported domain, or no parameter to search.
    """
    if isinstance(space, SearchSpace):
        return HostSpace(space.params)
    if not isinstance(space, Mapping):
        raise TypeError(
            "`space` must be a core.space.SearchSpace or a mapping of Tune domains / core.space "
            f"parameters, got {type(space).__name__}"
        )
    params: dict[str, Any] = {}
    tune_spec: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, (Float, Int, Categorical, Stepped)):
            params[str(name)] = p
        else:
            tune_spec[name] = p
    if tune_spec:
        _, domain_vars, grid_vars = parse_spec_vars(tune_spec)
        if grid_vars:
            names = ["/".join(map(str, path)) for path, _ in grid_vars]
            raise ValueError(
                f"tune.grid_search cannot be searched by SparseGridSearcher (parameters {names}); "
                "use tune.choice, or a grid strategy: method='grid'"
            )
        for path, domain in domain_vars:
            name = "/".join(map(str, path))
            params[name] = _domain_to_param(name, domain)
    if not params:
        raise ValueError(
            "the search space has no parameter to search (give Tune domains such as "
            "tune.uniform(0, 1), or core.space parameters)"
        )
    return HostSpace(params)


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b": 1}`` -> ``{"a": {"b": 1}}`` (names without ``/`` unchanged)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split("/")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _told_value(result: Any, metric: str, error: bool, sign: float) -> float:
    """The value told to the strategy: NaN for an error, a missing or non-finite metric."""
    if error or not isinstance(result, Mapping) or metric not in result:
        return math.nan
    raw = result[metric]
    if isinstance(raw, (bool, np.bool_)):
        return math.nan
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return sign * value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class _Restart:
    """A fresh strategy of budget ``n`` for restart ``k`` (picklable, for checkpoints)."""

    method: str
    dim: int
    seed: int | None
    options: dict

    def __call__(self, n: int, k: int) -> Any:
        from core.strategies.distinct import restart_seed

        return make_strategy(
            self.method, self.dim, n, seed=restart_seed(self.seed, k), **self.options
        )


class SparseGridSearcher(Searcher):
    """Ray Tune ``Searcher`` proposing the points of a registered strategy (module docstring).

    Parameters
    ----------
    space : SearchSpace or Mapping, optional
        Tune domains (``tune.uniform`` ...) or our parameters; default: the Tuner's
        ``param_space``.
    metric : str, optional
        The reported metric to optimize (else ``TuneConfig(metric=...)``).
    mode : {"min", "max"}, optional
        Whether to minimize or maximize it (else ``TuneConfig(mode=...)``).
    n_trials : int
        The strategy's budget; ``suggest`` returns ``FINISHED`` once it is spent (or the
        strategy converged). Set ``num_samples`` to at least this.
    seed : int, optional
        Reproduces the strategy's points (as ``minimize(seed=...)``).
    method : str
        A key of ``core.strategies.STRATEGIES``.
    **options
        Strategy options (checked when the space is known, before any trial runs).
    """

    def __init__(
        self,
        space: Any = None,
        metric: str | None = None,
        mode: str | None = None,
        n_trials: int = 100,
        seed: int | None = None,
        method: str = "sparse_grid",
        **options: Any,
    ) -> None:
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', got mode={mode!r}")
        if metric is not None and not isinstance(metric, str):
            raise TypeError(f"`metric` must be a str (one metric), got metric={metric!r}")
        if not isinstance(method, str) or method not in STRATEGIES:
            raise ValueError(f"unknown method {method!r}; valid methods: {', '.join(STRATEGIES)}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
        ):
            raise TypeError(f"`seed` must be an int or None, got seed={seed!r}")
        check_option_names(method, options)
        super().__init__(metric=metric, mode=mode)
        self.n_trials = check_int(n_trials, "n_trials", low=1)
        self.seed = None if seed is None else int(seed)
        self.method = method
        self.options = dict(options)
        self._host: HostSpace | None = None
        self._strategy: Any = None
        self._U = np.empty((0, 0))  # every asked point, in history order
        self._y: list[float] = []  # values of the current batch, by position in it
        self._told: list[bool] = []  # which of them are in (non-empty: a batch is out)
        self._batch_start = 0  # history index of the current batch's first point
        self._next = 0  # next history index to hand out
        self._trial_index: dict[str, int] = {}  # live trial -> history index
        self._done = False
        self._max_concurrent: int | None = None  # set by ConcurrencyLimiter
        if space is not None:
            self._set_space(space)

    # -- set-up ----------------------------------------------------------------------------
    def _set_space(self, space: Any) -> None:
        from core.strategies.distinct import DistinctSearch, check_budget

        host = to_core_space(space)
        check_budget(
            STRATEGIES[self.method], host.space, self.n_trials, "n_trials", **self.options
        )
        fresh = _Restart(self.method, host.dim, self.seed, self.options)
        strategy = make_strategy(
            self.method, host.dim, self.n_trials, seed=self.seed, **self.options
        )
        self._host = host
        # as core.run.minimize runs it: each configuration once, restarts on repeated ones
        self._strategy = DistinctSearch(strategy, host.space, restart=fresh)
        self._U = np.empty((0, host.dim))

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Take ``metric``/``mode`` if not set, and the space from ``config`` if none was given.

        Returns False when the searcher already has a space (Tune then refuses a
        ``param_space`` with domains, as for its own searchers).
        """
        if self._metric is None and metric is not None:
            self._metric = metric
        if self._mode is None and mode is not None:
            if mode not in ("min", "max"):
                raise ValueError(f"`mode` must be 'min' or 'max', got mode={mode!r}")
            self._mode = mode
        if self._host is not None:
            return False
        self._set_space(config)
        return True

    @property
    def space(self) -> SearchSpace | None:
        """The searched :class:`SearchSpace` (None until known)."""
        return None if self._host is None else self._host.space

    @property
    def n_asked(self) -> int:
        """Points the strategy has asked so far."""
        return int(self._U.shape[0])

    # -- Searcher interface -----------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict | str | None:
        """The next configuration, ``None`` while the current batch is out, or ``FINISHED``."""
        if self._host is None or self._metric is None or self._mode is None:
            missing = [
                what
                for what, v in (
                    ("space", self._host),
                    ("metric", self._metric),
                    ("mode", self._mode),
                )
                if v is None
            ]
            raise RuntimeError(
                f"SparseGridSearcher needs {', '.join(missing)} before the first trial: pass "
                "them to SparseGridSearcher(...) or to tune.TuneConfig / the Tuner's param_space"
            )
        if self._done:
            return Searcher.FINISHED
        if self._max_concurrent is not None and len(self._trial_index) >= self._max_concurrent:
            return None
        if self._next == self.n_asked:
            if self._told:
                return None  # the batch is still out
            U = self._strategy.ask()
            if len(U) == 0:
                self._done = True
                return Searcher.FINISHED
            self._batch_start = self.n_asked
            self._U = np.concatenate([self._U, U])
            self._y = [math.nan] * len(U)
            self._told = [False] * len(U)
        index = self._next
        self._next += 1
        self._trial_index[trial_id] = index
        (config,) = self._host.from_unit(self._U[index : index + 1])
        return _nested(config)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        """Record the trial's value (NaN on failure) and tell a batch once all of it is in."""
        index = self._trial_index.pop(trial_id, None)
        if index is None or index < self._batch_start:
            return  # not one of ours (or already told)
        sign = -1.0 if self._mode == "max" else 1.0
        pos = index - self._batch_start
        self._y[pos] = _told_value(result, self._metric, error, sign)
        self._told[pos] = True
        if all(self._told):
            self._strategy.tell(self._U[self._batch_start :], np.array(self._y))
            self._y, self._told = [], []
            self._batch_start = self.n_asked

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        """Limit the trials out at once to ``max_concurrent`` here (returns True).

        ``ConcurrencyLimiter`` then passes every call straight through, and the live trials
        are part of this searcher's checkpoint: the limiter's own bookkeeping is not saved by
        Tune, so after ``Tuner.restore`` it would drop the result of a resumed trial.
        """
        self._max_concurrent = check_int(max_concurrent, "max_concurrent", low=1)
        return True

    # -- checkpoints -----------------------------------------------------------------------
    def get_state(self) -> dict:
        """Everything needed to continue: strategy, asked points, told values, live trials."""
        return {
            "version": _STATE_VERSION,
            "metric": self._metric,
            "mode": self._mode,
            "n_trials": self.n_trials,
            "seed": self.seed,
            "method": self.method,
            "options": self.options,
            "host": self._host,
            "strategy": self._strategy,
            "U": self._U,
            "y": list(self._y),
            "told": list(self._told),
            "batch_start": self._batch_start,
            "next": self._next,
            "trial_index": dict(self._trial_index),
            "done": self._done,
            "max_concurrent": self._max_concurrent,
        }

    def set_state(self, state: dict) -> None:
        """Continue from :meth:`get_state`'s dict."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise ValueError(
                "not a SparseGridSearcher state (version "
                f"{state.get('version') if isinstance(state, dict) else None!r}, expected "
                f"{_STATE_VERSION})"
            )
        self._metric, self._mode = state["metric"], state["mode"]
        self.n_trials, self.seed = state["n_trials"], state["seed"]
        self.method, self.options = state["method"], state["options"]
        self._host, self._strategy = state["host"], state["strategy"]
        self._U = state["U"]
        self._y, self._told = list(state["y"]), list(state["told"])
        self._batch_start, self._next = state["batch_start"], state["next"]
        self._trial_index = dict(state["trial_index"])
        self._done = state["done"]
        self._max_concurrent = state["max_concurrent"]

    def save(self, checkpoint_path: str) -> None:
        """Pickle the state to ``checkpoint_path``."""
        with open(checkpoint_path, "wb") as fh:
            pickle.dump(self.get_state(), fh)

    def restore(self, checkpoint_path: str) -> None:
        """Load a state written by :meth:`save`."""
        with open(checkpoint_path, "rb") as fh:
            self.set_state(pickle.load(fh))  # noqa: S301 - our own checkpoint file
