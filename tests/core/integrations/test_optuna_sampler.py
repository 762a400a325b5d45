"""SparseGridSampler: optuna studies driven by our strategies.

The oracle is :func:`core.run.minimize`: with the same function, method, budget and seed, the
strategy's history is fully determined, so every way of running the study (serial, threads,
several processes on one storage, ask/tell) must evaluate exactly its points at the same history
indices.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState  # noqa: E402

from core.integrations._space import HostSpace, Stepped  # noqa: E402
from core.integrations.optuna import (  # noqa: E402
    INDEX_ATTR,
    SparseGridSampler,
    suggest_config,
    to_core_param,
)
from core.run import minimize  # noqa: E402
from core.space import Categorical, Float, Int, SearchSpace  # noqa: E402
from core.strategies import STRATEGIES  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
ROOT = Path(__file__).resolve().parents[3]

SPACE = SearchSpace({"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)})


def branin(config: dict) -> float:
    x, y = config["x"], config["y"]
    return float(
        (y - 5.1 / (4 * np.pi**2) * x**2 + 5 / np.pi * x - 6) ** 2
        + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x) + 10
    )


def objective(trial) -> float:
    return branin({"x": trial.suggest_float("x", -5.0, 10.0),
                   "y": trial.suggest_float("y", 0.0, 15.0)})


def canonical(study) -> dict[int, dict]:
    """History index -> params of the lowest-numbered trial that claimed it."""
    out: dict[int, dict] = {}
    for t in sorted(study.trials, key=lambda t: t.number):
        i = t.system_attrs.get(INDEX_ATTR, -1)
        if i >= 0 and i not in out:
            out[i] = t.params
    return out


def oracle(method: str, n: int, seed: int = 3, **options) -> list[dict]:
    res = minimize(branin, SPACE, method, n, seed=seed, **options)
    return [ev.config for ev in res.history]


@pytest.mark.parametrize("method", list(STRATEGIES))
def test_serial_study_matches_minimize_point_for_point(method):
    n = 12
    expected = oracle(method, n)
    sampler = SparseGridSampler(n, seed=3, method=method, search_space=SPACE.params)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=3 * n)  # the sampler stops the study at its budget
    assert [t.params for t in study.trials] == expected
    assert study.best_value == min(branin(c) for c in expected)


def test_maximize_tells_the_negated_value():
    n = 10
    expected = oracle("sparse_grid", n)
    study = optuna.create_study(
        direction="maximize", sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params)
    )
    study.optimize(lambda t: -objective(t), n_trials=n)
    assert [t.params for t in study.trials] == expected


@pytest.mark.filterwarnings("ignore:SparseGridSampler.*no point left")  # ends early
def test_threads_evaluate_the_serial_history():
    n = 16
    expected = oracle("sparse_grid", n)
    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params))
    study.optimize(objective, n_trials=n, n_jobs=3)
    got = canonical(study)
    assert got == dict(enumerate(expected))


def test_ask_tell_a_batch_told_in_any_order():
    n = 9
    expected = oracle("sparse_grid", n)
    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params))
    # batch 0 is the centre only; the next batch has 2 d = 4 points, told in reverse order
    t0 = study.ask()
    study.tell(t0, objective(t0))
    batch = [study.ask() for _ in range(4)]
    values = [objective(t) for t in batch]
    for t, v in reversed(list(zip(batch, values, strict=True))):
        study.tell(t, v)
    while len(study.trials) < len(expected):  # sparse grid may end below its budget
        t = study.ask()
        study.tell(t, objective(t))
    assert [t.params for t in study.trials] == expected


def test_asking_beyond_the_batch_in_one_thread_falls_back_with_one_warning():
    study = optuna.create_study(sampler=SparseGridSampler(9, seed=3, search_space=SPACE.params))
    t0 = study.ask()
    objective(t0)
    with pytest.warns(UserWarning, match="same thread") as record:
        t1 = study.ask()
        objective(t1)  # would need the value of t0: sampled independently instead
        t2 = study.ask()
        objective(t2)
    assert sum("same thread" in str(w.message) for w in record) == 1
    assert t1._cached_frozen_trial.system_attrs.get(INDEX_ATTR, -1) == -1
    assert study._storage.get_trial_system_attrs(t1._trial_id)[INDEX_ATTR] == -1
    for t in (t0, t1, t2):
        study.tell(t, branin(t.params))
    t3 = study.ask()  # index 1 again, now available
    objective(t3)
    assert study._storage.get_trial_system_attrs(t3._trial_id)[INDEX_ATTR] == 1
    assert t3.params == oracle("sparse_grid", 9)[1]


@pytest.mark.parametrize("bad", ["fail", "prune", "nan"])
def test_failed_and_pruned_trials_use_budget_and_rank_worst(bad):
    n = 10
    sick = {"x": 2.5, "y": 7.5}  # the centre, history point 0

    def fun(config):
        return math.nan if config == sick else branin(config)

    expected = [ev.config for ev in minimize(fun, SPACE, "sparse_grid", n, seed=3).history]

    def obj(trial):
        config = {"x": trial.suggest_float("x", -5.0, 10.0),
                  "y": trial.suggest_float("y", 0.0, 15.0)}
        if config == sick:
            if bad == "fail":
                raise RuntimeError("diverged")
            if bad == "prune":
                trial.report(-1e9, 0)  # a tempting intermediate value must not count
                raise optuna.TrialPruned()
            return math.nan
        return branin(config)

    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(obj, n_trials=n, catch=(RuntimeError,))
    assert len(study.trials) == len(expected)
    assert study.trials[0].state in (TrialState.FAIL, TrialState.PRUNED)
    assert [t.params for t in study.trials] == expected


def test_space_learned_from_the_first_trial():
    n = 10
    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3))
    study.optimize(objective, n_trials=2 * n)
    # one independent trial, then the strategy's history with the rest of the budget
    assert study.trials[0].system_attrs[INDEX_ATTR] == -1
    expected = oracle("sparse_grid", n - 1)
    assert [t.params for t in study.trials[1:]] == expected


def test_define_by_run_branch_falls_back_with_one_warning():
    space = {"kind": CategoricalDistribution(["a", "b"]), "x": FloatDistribution(0.0, 1.0)}

    def obj(trial):
        kind = trial.suggest_categorical("kind", ["a", "b"])
        x = trial.suggest_float("x", 0.0, 1.0)
        if kind == "b":  # a branch outside the search space
            x += trial.suggest_float("extra", 0.0, 1.0)
        return (x - 0.3) ** 2

    study = optuna.create_study(sampler=SparseGridSampler(12, seed=1, search_space=space))
    with pytest.warns(UserWarning, match="outside the relative search space") as record:
        study.optimize(obj, n_trials=12)
    assert sum("outside" in str(w.message) for w in record) == 1
    branches = [t for t in study.trials if "extra" in t.params]
    assert branches and all(0.0 <= t.params["extra"] <= 1.0 for t in branches)


def test_enqueued_trials_keep_their_params_and_do_not_count():
    n = 8
    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params))
    study.enqueue_trial({"x": 0.0, "y": 0.0})
    study.optimize(objective, n_trials=n + 1)
    assert study.trials[0].params == {"x": 0.0, "y": 0.0}
    assert INDEX_ATTR not in study.trials[0].system_attrs
    assert [t.params for t in study.trials[1:]] == oracle("sparse_grid", n)


def test_trials_beyond_the_budget_are_independent_with_one_warning():
    n = 6
    study = optuna.create_study(
        sampler=SparseGridSampler(n, seed=0, method="random", search_space=SPACE.params)
    )
    for _ in range(n):
        t = study.ask()
        study.tell(t, objective(t))
    with pytest.warns(UserWarning, match="no point left") as record:
        for _ in range(3):
            t = study.ask()
            study.tell(t, objective(t))
    assert sum("no point left" in str(w.message) for w in record) == 1
    assert [t.system_attrs[INDEX_ATTR] for t in study.trials] == [*range(n), -1, -1, -1]


def test_distributions_map_to_the_space():
    assert to_core_param(FloatDistribution(1e-4, 1e-1, log=True)) == Float(1e-4, 1e-1, log=True)
    assert to_core_param(IntDistribution(1, 64, log=True)) == Int(1, 64, log=True)
    assert to_core_param(IntDistribution(2, 10, step=4)) == Stepped(2, 10, 4, integer=True)
    assert to_core_param(CategoricalDistribution([None, "x", 3])) == Categorical((None, "x", 3))
    host = HostSpace({
        "f": to_core_param(FloatDistribution(0.0, 1.0, step=0.25)),
        "i": to_core_param(IntDistribution(2, 10, step=4)),
    })
    U = np.linspace(0, 1, 50)[:, None].repeat(2, axis=1)
    configs = host.from_unit(U)
    assert sorted({c["f"] for c in configs}) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert sorted({c["i"] for c in configs}) == [2, 6, 10]
    assert all(type(c["i"]) is int for c in configs)


def test_step_log_and_categorical_params_are_valid_in_a_study():
    space = {
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "units": IntDistribution(8, 128, log=True),
        "drop": FloatDistribution(0.0, 0.5, step=0.1),
        "layers": IntDistribution(1, 7, step=2),
        "act": CategoricalDistribution(["relu", "tanh"]),
    }

    def obj(trial):
        p = {k: trial._suggest(k, d) for k, d in space.items()}
        return math.log10(p["lr"]) ** 2 + p["drop"] + p["layers"] / p["units"]

    study = optuna.create_study(sampler=SparseGridSampler(30, seed=0, search_space=space))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every value must lie in its distribution
        study.optimize(obj, n_trials=30)
    assert len(study.trials) >= 12
    for t in study.trials:
        for k, d in space.items():
            assert d._contains(d.to_internal_repr(t.params[k])), (k, t.params[k])


def test_bad_input_is_rejected_before_any_trial():
    with pytest.raises(ValueError, match="unknown method"):
        SparseGridSampler(10, method="tpe")
    with pytest.raises(TypeError, match="unknown option"):
        SparseGridSampler(10, gama=0.5)
    minimum = STRATEGIES["sparse_grid"].min_budget(2)
    with pytest.raises(ValueError, match=f"`n_trials` must be at least {minimum} "):
        SparseGridSampler(minimum - 1, search_space=SPACE.params)
    with pytest.raises(ValueError, match="`n_trials` must be in"):
        SparseGridSampler(0)
    with pytest.raises(TypeError, match="FloatDistribution"):
        SparseGridSampler(10, search_space={"x": (0, 1)})
    with pytest.raises(ValueError, match="more than one value"):
        SparseGridSampler(10, search_space={"x": FloatDistribution(1.0, 1.0)})
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=SparseGridSampler(10, seed=0)
    )
    with pytest.raises(ValueError, match="single-objective"):
        study.ask()


_WORKER = """
import sys
import time
from pathlib import Path
import numpy as np
import optuna
sys.path.insert(0, {root!r})
from core.integrations.optuna import SparseGridSampler
from core.space import Float

optuna.logging.set_verbosity(optuna.logging.WARNING)

def objective(trial):
    x = trial.suggest_float("x", -5.0, 10.0)
    y = trial.suggest_float("y", 0.0, 15.0)
    time.sleep(0.02)  # long enough for the other process to start trials meanwhile
    return float((y - 5.1 / (4 * np.pi**2) * x**2 + 5 / np.pi * x - 6) ** 2
                 + 10 * (1 - 1 / (8 * np.pi)) * np.cos(x) + 10)

# start together (a barrier on files), so that both processes create trials
Path({tmp!r}, sys.argv[1]).touch()
for _ in range(6000):
    if len(list(Path({tmp!r}).glob("ready-*"))) == 2:
        break
    time.sleep(0.01)

storage = {storage}
space = {{"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)}}
study = optuna.load_study(study_name="multi", storage=storage,
                          sampler=SparseGridSampler({n}, seed=3, search_space=space))
study.optimize(objective, n_trials={n})
"""


@pytest.mark.processes
@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_several_processes_share_one_history(tmp_path, kind):
    n = 14
    if kind == "journal":
        storage = (
            "optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend("
            f"{str(tmp_path / 'journal.log')!r}))"
        )
    else:
        url = f"sqlite:///{tmp_path / 'study.db'}"  # a generous lock timeout for loaded CI
        storage = (
            f"optuna.storages.RDBStorage({url!r}, "
            "engine_kwargs={'connect_args': {'timeout': 120}})"
        )
    study = optuna.create_study(study_name="multi", storage=eval(storage))  # noqa: S307
    script = tmp_path / "worker.py"
    code = _WORKER.format(root=str(ROOT), storage=storage, n=n, tmp=str(tmp_path))
    script.write_text(textwrap.dedent(code))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), f"ready-{i}"], stderr=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="multi", storage=eval(storage))  # noqa: S307
    assert canonical(study) == dict(enumerate(oracle("sparse_grid", n)))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def test_suggest_config_runs_a_core_objective_in_a_study():
    space = SearchSpace({"lr": Float(1e-3, 1.0, log=True), "n": Int(1, 9, log=True),
                         "act": Categorical(("relu", "tanh"))})
    expected = [ev.config for ev in minimize(
        lambda c: math.log(c["lr"]) ** 2 + c["n"] + (c["act"] == "tanh"), space, "random", 6,
        seed=0,
    ).history]
    study = optuna.create_study(
        sampler=SparseGridSampler(6, seed=0, method="random", search_space=space.params)
    )
    study.optimize(
        lambda t: (lambda c: math.log(c["lr"]) ** 2 + c["n"] + (c["act"] == "tanh"))(
            suggest_config(t, space)
        ),
        n_trials=6,
    )
    assert [t.params for t in study.trials] == expected


@pytest.mark.filterwarnings("ignore:SparseGridSampler.*no point left")  # ends early
def test_threads_with_a_learned_space_agree_on_one_setup():
    n = 12
    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3))
    study.optimize(objective, n_trials=n, n_jobs=3)
    warm = [t for t in study.trials if t.system_attrs.get(INDEX_ATTR, -1) < 0]
    assert len(warm) >= 1  # at least the first trial, sampled before the space was known
    got = canonical(study)
    assert got == dict(enumerate(oracle("sparse_grid", n - len(warm))[: len(got)]))


def test_a_trial_that_fails_before_suggesting_counts_against_the_budget():
    n = 8
    calls = []

    def fun(config):  # the second evaluation fails, as trial 1 does below
        calls.append(config)
        if len(calls) == 2:
            raise RuntimeError("data loader broke")
        return branin(config)

    res = minimize(fun, SPACE, "sparse_grid", n, seed=3)

    def obj(trial):
        if trial.number == 1:
            raise RuntimeError("data loader broke")
        return objective(trial)

    study = optuna.create_study(sampler=SparseGridSampler(n, seed=3, search_space=SPACE.params))
    study.optimize(obj, n_trials=3 * n, catch=(RuntimeError,))
    assert study.trials[1].state == TrialState.FAIL and study.trials[1].params == {}
    assert study.trials[1].system_attrs[INDEX_ATTR] == 1
    assert len(study.trials) == len(res.history)
    for t, ev in zip(study.trials, res.history, strict=True):
        assert t.number == 1 or t.params == ev.config


_DIES = """
import os
import sys
import optuna
sys.path.insert(0, {root!r})
from core.integrations.optuna import SparseGridSampler
from core.space import Float

storage = optuna.storages.RDBStorage({url!r}, heartbeat_interval=1, grace_period=2)
space = {{"x": Float(-5.0, 10.0), "y": Float(0.0, 15.0)}}
study = optuna.load_study(study_name="dies", storage=storage,
                          sampler=SparseGridSampler(8, seed=3, search_space=space))

def objective(trial):
    trial.suggest_float("x", -5.0, 10.0)
    trial.suggest_float("y", 0.0, 15.0)
    os._exit(0)  # the process dies mid-trial: its trial stays RUNNING

study.optimize(objective, n_trials=1)
"""


@pytest.mark.processes
def test_a_trial_of_a_dead_process_is_failed_by_the_heartbeat_and_the_study_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path / 'dies.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(url, heartbeat_interval=1, grace_period=2)
    optuna.create_study(study_name="dies", storage=storage)
    script = tmp_path / "dies.py"
    script.write_text(textwrap.dedent(_DIES.format(root=str(ROOT), url=url)))
    subprocess.run([sys.executable, str(script)], check=True, timeout=600)
    study = optuna.load_study(
        study_name="dies", storage=storage,
        sampler=SparseGridSampler(8, seed=3, search_space=SPACE.params),
    )
    assert study.trials[0].state == TrialState.RUNNING
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna's heartbeat is an experimental feature
        study.optimize(objective, n_trials=8)  # trial 1 waits for batch 0, held by trial 0
    assert study.trials[0].state == TrialState.FAIL
    fun = lambda c: math.nan if c == {"x": 2.5, "y": 7.5} else branin(c)  # noqa: E731
    expected = [ev.config for ev in minimize(fun, SPACE, "sparse_grid", 8, seed=3).history]
    assert [t.params for t in study.trials] == expected
