"""An optuna sampler that runs our strategies: ``SparseGridSampler(n_trials, seed=0)``.

One changed line switches an optuna study to sparse-grid search (or any registered strategy,
``method="bayesian"``, ``"random"``, ...); objective, storage, pruners and dashboards stay
optuna's.

How trials map to the strategy
------------------------------
The strategy (:func:`core.strategies.make_strategy`) is an ask/tell object with budget
``n_trials``. Its asked points, in order, form a history ``0, 1, 2, ...``; every trial the sampler
serves claims the smallest unclaimed history index when it starts (trial system attribute
``"sparse_hpo:index"``) and gets that point through ``sample_relative``. A batch is told to the
strategy once all of its trials have finished: a COMPLETE trial gives its value (negated for
``direction="maximize"``), a FAIL or PRUNED trial gives NaN (it counts against the budget and
ranks worst). The state lives in the storage, so threads (``n_jobs > 1``) and processes sharing
an RDB or journal storage each replay the same history; a trial whose point belongs to a batch
that is not yet asked waits until the previous batch is in. Run serially, the trials get exactly
the points of :func:`core.run.minimize` with the same method, budget and ``seed``, in order.

Trials outside the budget
-------------------------
- Enqueued trials (``study.enqueue_trial``) keep their fixed parameters and are not told.
- Parameters outside the relative search space (define-by-run branches, other bounds) and trials
  beyond the budget are sampled by ``independent_sampler`` (optuna's ``RandomSampler`` with the
  same seed), with a one-time warning, as optuna's own relative samplers do.
- With ``study.ask()`` / ``study.tell()`` from one thread, ask at most one batch before telling
  it: a trial whose point would have to wait for trials this thread has not told yet is sampled
  independently instead (a warning says so) rather than waiting forever.
- When the strategy has used its budget or stopped, ``study.optimize`` is stopped, as optuna's
  ``GridSampler`` does when its grid is done.

The search space
----------------
Pass ``search_space`` (a mapping name -> optuna distribution or :mod:`core.space` parameter) to
search from the first trial on. Without it the sampler learns the space from the first trial that
finishes, as optuna's ``CmaEsSampler`` does: trials started before that are sampled independently
and the strategy gets the rest of the budget. ``FloatDistribution`` and ``IntDistribution`` map to
``Float``/``Int`` (``log`` kept); with a ``step`` the grid index ``k`` is searched and decoded to
``low + k * step``; ``CategoricalDistribution`` maps to ``Categorical``.

A study with several processes needs an int ``seed`` in every process (or the same stored seed:
without one, the first process stores a random seed in the study for the others). If two processes
claim the same index at the same moment, both evaluate that point and the lower-numbered trial's
value is told; a trial left RUNNING forever (an abandoned ``study.ask()``) blocks the batch it
belongs to (optuna's heartbeat, ``heartbeat_interval`` of the RDB storage, fails stale trials).
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.storages import fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from core._validation import check_int
from core.integrations._space import HostSpace, Stepped
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES, check_option_names, make_strategy
from core.strategies.distinct import DistinctSearch, restart_seed

if TYPE_CHECKING:
    from optuna.study import Study

    from core.strategies.base import Strategy

__all__ = ["SparseGridSampler", "suggest_config", "to_core_param"]

INDEX_ATTR = "sparse_hpo:index"  # trial system attr: history index (-1: not the strategy's)
SETUP_ATTR = "sparse_hpo:setup"  # study system attr: space, budget, seed shared by processes
_POLL = (0.01, 0.5)  # first and largest poll interval (seconds) while waiting for a batch


def to_core_param(distribution: Any) -> Float | Int | Categorical | Stepped:
    """The :mod:`core.space` parameter searched for an optuna distribution.

    ``FloatDistribution`` / ``IntDistribution`` with a ``step`` (other than 1 for ints) become
    :class:`~core.integrations._space.Stepped` (the grid index is searched).
    """
    if isinstance(distribution, (Float, Int, Categorical)):
        return distribution
    if isinstance(distribution, FloatDistribution):
        if distribution.step is not None:
            return Stepped(distribution.low, distribution.high, distribution.step)
        return Float(distribution.low, distribution.high, log=distribution.log)
    if isinstance(distribution, IntDistribution):
        if distribution.step != 1:
            return Stepped(distribution.low, distribution.high, distribution.step, integer=True)
        return Int(distribution.low, distribution.high, log=distribution.log)
    if isinstance(distribution, CategoricalDistribution):
        return Categorical(distribution.choices)
    raise TypeError(
        "a search-space entry must be an optuna FloatDistribution, IntDistribution or "
        f"CategoricalDistribution, or a core.space Float, Int or Categorical, got {distribution!r}"
    )


def suggest_config(trial: optuna.trial.BaseTrial, space: Any) -> dict[str, Any]:
    """Suggest every parameter of a :class:`~core.space.SearchSpace` (or a mapping of them).

    ``Float``/``Int`` become ``suggest_float``/``suggest_int`` (``log`` kept) and
    ``Categorical`` ``suggest_categorical``, so an objective written for :func:`core.run.minimize`
    runs in an optuna study as ``lambda trial: fun(suggest_config(trial, space))``.
    """
    params = space.params if hasattr(space, "params") else dict(space)
    config: dict[str, Any] = {}
    for name, p in params.items():
        if isinstance(p, Float):
            config[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            config[name] = trial.suggest_int(name, p.low, p.high, log=p.log)
        elif isinstance(p, Categorical):
            config[name] = trial.suggest_categorical(name, p.choices)
        else:
            raise TypeError(f"`{name}` must be a core.space Float, Int or Categorical, got {p!r}")
    return config


def _to_distribution(param: Any) -> BaseDistribution:
    if isinstance(param, BaseDistribution):
        return param
    if isinstance(param, Float):
        return FloatDistribution(param.low, param.high, log=param.log)
    if isinstance(param, Int):
        return IntDistribution(param.low, param.high, log=param.log)
    if isinstance(param, Categorical):
        return CategoricalDistribution(param.choices)
    to_core_param(param)  # raises the TypeError
    raise AssertionError  # pragma: no cover


class _History:
    """One study's replay: the strategy, its asked batches and how many points were told."""

    def __init__(
        self, distributions: dict[str, BaseDistribution], strategy: Strategy,
        restart: Callable[[int, int], Strategy] | None = None,
    ) -> None:
        self.distributions = distributions
        self.host = HostSpace({k: to_core_param(v) for k, v in distributions.items()})
        # each configuration once; budget the strategy leaves goes to untried ones
        self.strategy = DistinctSearch(strategy, self.host.space, restart)
        self.U = np.empty((0, strategy.dim))  # all asked points, shape (n_asked, d)
        self.batch_start = 0  # history index of the pending (asked, untold) batch
        self.pending = False
        self.done = False  # the strategy has nothing more to propose

    @property
    def n_asked(self) -> int:
        return len(self.U)


class SparseGridSampler(BaseSampler):
    """Optuna sampler driving the strategy ``method`` through ``sample_relative``.

    Parameters
    ----------
    n_trials : int
        Budget of the strategy: the number of trials it proposes (failed and pruned included).
    seed : int or None
        Seed of the strategy and of the independent sampler. Several processes on one storage
        need the same int (without one, the first process stores a random seed in the study).
    method : str
        A registered strategy (:data:`core.strategies.STRATEGIES`): ``"sparse_grid"``,
        ``"bayesian"``, ``"random"``, ``"grid"``, ``"adaptive_random"``.
    search_space : Mapping[str, distribution or Float | Int | Categorical], optional
        The relative search space, in the order of the unit-cube axes. Default: learned from the
        first finished trial (names sorted).
    independent_sampler : optuna sampler, optional
        For trials and parameters outside the strategy; default ``RandomSampler(seed=seed)``.
    **options
        Options of the strategy (see its class); unknown ones raise ``TypeError``.

    Notes
    -----
    See the module docstring for how trials map to the strategy's points. Multi-objective
    studies are not supported (``ValueError``).

    Examples
    --------
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> sampler = SparseGridSampler(7, seed=0, search_space={"x": Float(-2.0, 2.0)})
    >>> study = optuna.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_float("x", -2.0, 2.0) - 1.0) ** 2, n_trials=7)
    >>> len(study.trials) <= 7, sorted(study.best_params)
    (True, ['x'])
    """

    def __init__(
        self,
        n_trials: int,
        seed: int | None = None,
        method: str = "sparse_grid",
        *,
        search_space: Mapping[str, Any] | None = None,
        independent_sampler: BaseSampler | None = None,
        **options: Any,
    ) -> None:
        self.n_trials = check_int(n_trials, "n_trials", low=1)
        if seed is not None:
            seed = check_int(seed, "seed", low=0)
        self.seed = seed
        if not isinstance(method, str) or method not in STRATEGIES:
            raise ValueError(f"unknown method {method!r}; valid names: {', '.join(STRATEGIES)}")
        self.method = method
        check_option_names(method, options)
        self.options = dict(options)
        self._search_space: dict[str, BaseDistribution] | None = None
        if search_space is not None:
            if not isinstance(search_space, Mapping) or not search_space:
                raise ValueError(
                    f"`search_space` must be a non-empty mapping, got {search_space!r}"
                )
            self._search_space = {str(k): _to_distribution(v) for k, v in search_space.items()}
            singles = [k for k, v in self._search_space.items() if v.single()]
            if singles:
                raise ValueError(
                    f"`search_space` entries must have more than one value, got {singles}"
                )
            host = HostSpace({k: to_core_param(v) for k, v in self._search_space.items()})
            self._check_budget(host.space, self.n_trials)
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._lock = threading.RLock()
        self._histories: dict[tuple[int, int], _History] = {}
        self._owner: dict[int, int] = {}  # trial id -> thread that started it (this process)
        self._index: dict[int, int] = {}  # trial id -> claimed history index (this process)
        self._warned: set[str] = set()

    # -- pickling (optuna may copy samplers; locks do not pickle) ------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_histories"], state["_owner"], state["_index"] = {}, {}, {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def reseed_rng(self) -> None:
        # The strategy's seed is part of the shared history; only the independent sampler reseeds.
        self._independent.reseed_rng()

    # -- optuna hooks ----------------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)
        if len(study.directions) > 1:
            raise ValueError(
                "SparseGridSampler supports single-objective studies only, got "
                f"{len(study.directions)} directions"
            )
        if "fixed_params" in trial.system_attrs or INDEX_ATTR in trial.system_attrs:
            return
        me = threading.get_ident()
        with self._lock:
            self._owner[trial._trial_id] = me
        history = self._wait_for_setup(study, trial)
        with self._lock:
            if history is None:
                index = -1  # before the space is known: sampled independently
            else:
                trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
                claimed = set(_claims(trials).values())
                index = next(i for i in range(len(claimed) + 1) if i not in claimed)
            self._set_index(study, trial, index)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._trial_index(study, trial) < 0:
            return {}
        history = self._history(study)
        return {} if history is None else dict(history.distributions)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space or self._trial_index(study, trial) < 0:
            return {}
        history = self._history(study)
        assert history is not None  # an index >= 0 is claimed only once the setup is known
        u = self._point(study, trial, history)
        if u is None:
            return {}
        config = history.host.from_unit(u[None, :])[0]
        return {name: config[name] for name in search_space if name in config}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if self._trial_index(study, trial) >= 0:
            self._warn_once(
                "branch",
                f"SparseGridSampler: parameter {param_name!r} of trial {trial.number} is outside "
                "the relative search space; it is sampled by "
                f"{type(self._independent).__name__} (further cases are not reported)",
            )
        return self._independent.sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent.after_trial(study, trial, state, values)
        history = self._history(study)
        if history is None:
            return
        with self._lock:
            # this trial's state reaches the storage only after this hook returns
            finished = {trial._trial_id: (state, values)}
            trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
            self._advance(study, history, trials, finished)
            done = history.done
            self._owner.pop(trial._trial_id, None)
            self._index.pop(trial._trial_id, None)
        if done:
            strategy = history.strategy
            if strategy.remaining > 0:  # ending before n_trials: say why, once
                self._warn_once(
                    "ended",
                    f"SparseGridSampler: the {self.method!r} strategy stopped after "
                    f"{strategy.n_told} of its {strategy.n_evals} trials "
                    f"({strategy.stop_reason}): {strategy.stop_detail}; the study is stopped",
                )
            try:
                study.stop()
            except RuntimeError:  # outside study.optimize (ask/tell): nothing to stop
                pass

    def stop_reason(self, study: Study) -> str | None:
        """Why the strategy stopped proposing in ``study`` (a key of
        ``core.strategies.STOP_REASONS``), or None while it goes on or the space is unknown."""
        history = self._history(study)
        return None if history is None else history.strategy.stop_reason

    def stop_detail(self, study: Study) -> str:
        """:meth:`stop_reason` in a sentence with figures (e.g. every configuration of a finite
        space was tried before ``n_trials``); ``""`` while the strategy goes on."""
        history = self._history(study)
        return "" if history is None else history.strategy.stop_detail

    # -- the strategy's state, shared through the storage ------------------------------------
    def _check_budget(self, space: SearchSpace, n_evals: int) -> None:
        dim = space.dim
        minimum = int(STRATEGIES[self.method].min_budget(
            dim, space_size=space.n_configurations, **self.options
        ))
        if n_evals < minimum:
            raise ValueError(
                f"`n_trials` must be at least {minimum} for method={self.method!r} with {dim} "
                f"parameters, got n_trials={n_evals}"
                + (
                    f" ({self.n_trials} minus {self.n_trials - n_evals} trials sampled before "
                    "the search space was known; pass `search_space` to use them all)"
                    if n_evals != self.n_trials else ""
                )
            )

    def _history(self, study: Study) -> _History | None:
        """The study's replay, built from the stored setup (None while the space is unknown)."""
        key = (id(study._storage), study._study_id)
        with self._lock:
            history = self._histories.get(key)
            if history is not None:
                return history
            stored = study._storage.get_study_system_attrs(study._study_id).get(SETUP_ATTR)
            if stored is None:
                if self._search_space is None:
                    return None
                stored = self._store_setup(study, self._search_space, self.n_trials)
            setup = json.loads(stored)
            if setup["method"] != self.method:
                raise ValueError(
                    f"the study was set up for method={setup['method']!r}, this sampler has "
                    f"method={self.method!r}"
                )
            distributions = {
                k: json_to_distribution(v) for k, v in setup["distributions"]
            }
            strategy = make_strategy(
                self.method, len(distributions), setup["n_evals"], seed=setup["seed"],
                **self.options,
            )
            history = self._histories[key] = _History(
                distributions, strategy, lambda n, k: make_strategy(
                    self.method, len(distributions), n, seed=restart_seed(setup["seed"], k),
                    **self.options,
                ),
            )
            return history

    def _store_setup(
        self, study: Study, distributions: dict[str, BaseDistribution], n_evals: int
    ) -> str:
        host = HostSpace({k: to_core_param(v) for k, v in distributions.items()})
        self._check_budget(host.space, n_evals)
        seed = self.seed
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        setup = json.dumps({
            "method": self.method,
            "n_evals": n_evals,
            "seed": seed,
            "distributions": [[k, distribution_to_json(v)] for k, v in distributions.items()],
        })
        storage = study._storage
        if SETUP_ATTR not in storage.get_study_system_attrs(study._study_id):
            storage.set_study_system_attr(study._study_id, SETUP_ATTR, setup)
        return storage.get_study_system_attrs(study._study_id)[SETUP_ATTR]

    def _wait_for_setup(self, study: Study, trial: FrozenTrial) -> _History | None:
        """The replay once the space is known; None if this trial must be sampled independently.

        Without ``search_space`` the space is that of the first finished trial with parameters;
        while trials of other threads or processes are running, wait for one to finish.
        """
        delay = _POLL[0]
        me = threading.get_ident()
        while True:
            history = self._history(study)
            if history is not None:
                return history
            with self._lock:
                trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
                done = [t for t in trials if t.state.is_finished() and t.distributions]
                if done:
                    first = min(done, key=lambda t: t.number)
                    distributions = {
                        k: first.distributions[k] for k in sorted(first.distributions)
                        if not first.distributions[k].single()
                    }
                    if distributions:
                        n_early = sum(t.system_attrs.get(INDEX_ATTR) == -1 for t in trials)
                        self._store_setup(study, distributions, self.n_trials - n_early)
                        continue
                others = [
                    t for t in trials
                    if t.state == TrialState.RUNNING and t._trial_id != trial._trial_id
                    and self._owner.get(t._trial_id) != me
                ]
            if not others:
                return None
            time.sleep(delay)
            delay = min(2 * delay, _POLL[1])
            _fail_stale_trials(study)

    def _point(self, study: Study, trial: FrozenTrial, history: _History) -> np.ndarray | None:
        """The unit-cube point of the trial's history index, waiting for its batch if needed.

        Returns None (and marks the trial as not the strategy's) when the strategy cannot give
        it a point: the budget is used up, or waiting would block on this thread's own trials.
        """
        delay = _POLL[0]
        me = threading.get_ident()
        while True:
            with self._lock:
                trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
                self._advance(study, history, trials, {})
                index = self._trial_index(study, trial)
                claims = _claims(trials, exclude=trial._trial_id)
                taken = set(claims.values())
                free = [i for i in range(history.n_asked) if i not in taken]
                if free and free[0] < index:  # a released point that is ready: take it
                    index = free[0]
                    self._set_index(study, trial, index)
                if index < history.n_asked:
                    return history.U[index].copy()
                if history.done or index >= history.strategy.n_evals:
                    self._set_index(study, trial, -1)
                    self._warn_once(
                        "budget",
                        f"SparseGridSampler: the {self.method!r} strategy has no point left for "
                        f"trial {trial.number} (budget used up or method stopped); it is sampled "
                        f"by {type(self._independent).__name__} (further cases are not reported)",
                    )
                    return None
                mine = [
                    t.number for t in trials
                    if t.state == TrialState.RUNNING and self._owner.get(t._trial_id) == me
                    and t._trial_id != trial._trial_id
                    and history.batch_start <= claims.get(t._trial_id, -1) < history.n_asked
                ]
                if mine:
                    self._set_index(study, trial, -1)
                    self._warn_once(
                        "own",
                        f"SparseGridSampler: trial {trial.number} would wait for trials {mine} "
                        "of the same thread, which are not told yet; it is sampled by "
                        f"{type(self._independent).__name__}. With study.ask()/tell(), ask at "
                        "most one batch before telling it (further cases are not reported)",
                    )
                    return None
            time.sleep(delay)
            delay = min(2 * delay, _POLL[1])
            _fail_stale_trials(study)

    def _advance(
        self,
        study: Study,
        history: _History,
        trials: list[FrozenTrial],
        finished: dict[int, tuple[TrialState, Sequence[float] | None]],
    ) -> None:
        """Tell every batch whose trials have all finished, and ask the next batches."""
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        by_index: dict[int, FrozenTrial] = {}
        for t in sorted(trials, key=lambda t: t.number):
            i = t.system_attrs.get(INDEX_ATTR, self._index.get(t._trial_id, -1))
            if i is not None and i >= 0 and i not in by_index:
                by_index[i] = t
        strategy = history.strategy
        while not history.done:
            if history.pending:
                y = []
                for i in range(history.batch_start, history.n_asked):
                    t = by_index.get(i)
                    if t is None:
                        return
                    state, values = finished.get(t._trial_id, (t.state, t.values))
                    if not state.is_finished():
                        return
                    ok = state == TrialState.COMPLETE and values is not None
                    y.append(sign * float(values[0]) if ok else np.nan)
                strategy.tell(history.U[history.batch_start:], np.array(y))
                history.pending = False
            if strategy.stop_reason is not None:
                history.done = True
                return
            U = strategy.ask()
            if len(U) == 0:
                history.done = True
                return
            history.batch_start = history.n_asked
            history.U = np.concatenate([history.U, U])
            history.pending = True

    # -- small helpers -------------------------------------------------------------------------
    def _trial_index(self, study: Study, trial: FrozenTrial) -> int:
        index = self._index.get(trial._trial_id)
        if index is None:
            index = trial.system_attrs.get(INDEX_ATTR)
        if index is None:
            index = study._storage.get_trial_system_attrs(trial._trial_id).get(INDEX_ATTR, -1)
        return int(index)

    def _set_index(self, study: Study, trial: FrozenTrial, index: int) -> None:
        self._index[trial._trial_id] = index
        study._storage.set_trial_system_attr(trial._trial_id, INDEX_ATTR, index)

    def _warn_once(self, key: str, message: str) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def _fail_stale_trials(study: Study) -> None:
    """Fail trials whose heartbeat stopped (only with a heartbeat-enabled RDB storage)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    if is_heartbeat_enabled(study._storage):
        fail_stale_trials(study)


def _claims(trials: list[FrozenTrial], exclude: int | None = None) -> dict[int, int]:
    """Trial id -> claimed history index, for the trials that hold one (index >= 0)."""
    out: dict[int, int] = {}
    for t in trials:
        i = t.system_attrs.get(INDEX_ATTR)
        if i is not None and i >= 0 and t._trial_id != exclude:
            out[t._trial_id] = int(i)
    return out


# importance evaluator (its own module; re-exported here as the public name)
from core.integrations._optuna_importance import SparseGridImportanceEvaluator  # noqa: E402

__all__ += ["SparseGridImportanceEvaluator"]
