"""SparseGridSearcher: Ray Tune trials driven by our strategies.

The oracle is :func:`core.run.minimize`: with the same function, method, budget and seed the
strategy's history is fully determined (a batch is told only when all of it is in, so the order
in which concurrent trials finish does not matter), and Tune must run exactly its configurations,
in trial-creation order. The first tests drive the searcher by hand (no Ray runtime); the last
three start a local Ray (2 CPUs, no dashboard) once for the module.
"""

from __future__ import annotations

import math
import os
import signal

import numpy as np
import pytest

pytest.importorskip(
    "ray.tune", reason="Ray Tune is not installed (pip install -e '.[ray]'); Ray tests skipped"
)

import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter, Searcher  # noqa: E402

from core.integrations.ray import SparseGridSearcher, to_core_space  # noqa: E402
from core.run import minimize  # noqa: E402
from core.space import Categorical, Float, Int, SearchSpace  # noqa: E402

SPACE = SearchSpace(
    {"lr": Float(1e-4, 1e-1, log=True), "width": Int(1, 6), "opt": Categorical(["a", "b"])}
)
TUNE_SPACE = {
    "lr": tune.loguniform(1e-4, 1e-1),
    "width": tune.randint(1, 7),
    "opt": tune.choice(["a", "b"]),
}


def loss(config):
    return (math.log10(config["lr"]) + 2) ** 2 + 0.1 * config["width"] + (config["opt"] == "a")


def failing_loss(config):
    """Raises on one region and returns NaN on another: both are failed evaluations."""
    if config["width"] == 6:
        raise RuntimeError("out of memory")
    if config["lr"] > 0.05:
        return float("nan")
    return loss(config)


def drive(searcher, fun, limit=500):
    """Serial suggest / complete loop without Ray; returns the configurations in order."""
    out = []
    for k in range(limit):
        config = searcher.suggest(f"t{k}")
        if config == Searcher.FINISHED:
            return out
        assert config is not None  # serially a batch is never out when suggest is called
        out.append(config)
        try:
            result, error = {"loss": fun(config)}, False
        except RuntimeError:
            result, error = None, True
        searcher.on_trial_complete(f"t{k}", result, error=error)
    raise AssertionError("the searcher never finished")


# --------------------------------------------------------------------------------------------
# without a Ray runtime
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sparse_grid", "random", "bayesian", "adaptive_random"])
def test_serially_exactly_the_points_of_minimize(method):
    res = minimize(failing_loss, SPACE, method, 30, seed=3)
    searcher = SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=30, seed=3, method=method)
    assert drive(searcher, failing_loss) == [e.config for e in res.history]
    assert res.n_failed > 0


def test_our_space_and_max_mode():
    res = minimize(loss, SPACE, "sparse_grid", 25, seed=0)
    searcher = SparseGridSearcher(SPACE, "score", "max", n_trials=25, seed=0)

    def score(config):
        return -loss(config)

    configs = []
    for k in range(100):
        c = searcher.suggest(str(k))
        if c == Searcher.FINISHED:
            break
        configs.append(c)
        searcher.on_trial_complete(str(k), {"score": score(c)})
    assert configs == [e.config for e in res.history]


def test_space_metric_and_mode_from_the_tuner():
    """Without a space, Tune's param_space (constants and nested dicts included) is searched, and
    metric/mode may come from TuneConfig through set_search_properties."""
    nested = {
        "opt": {"lr": TUNE_SPACE["lr"], "name": TUNE_SPACE["opt"]},
        "width": TUNE_SPACE["width"],
    }
    searcher = SparseGridSearcher(n_trials=12, seed=0)
    assert searcher.set_search_properties("loss", "min", {**nested, "constant": 7}) is True
    assert searcher.space.names == ("opt/lr", "opt/name", "width")
    assert searcher.set_search_properties("other", "max", nested) is False  # already set
    assert (searcher.metric, searcher.mode) == ("loss", "min")
    config = searcher.suggest("t0")
    assert set(config) == {"opt", "width"} and set(config["opt"]) == {"lr", "name"}


def test_batch_out_returns_none_then_tells_in_any_order():
    searcher = SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=30, seed=1)
    sizes, k = [], 0
    for _ in range(3):  # the centre, then 2 d children, then a refinement
        batch = []
        while (c := searcher.suggest(f"t{k}")) is not None:
            batch.append((f"t{k}", c))
            k += 1
        assert searcher.suggest("extra") is None  # the batch is out: nothing more
        sizes.append(len(batch))
        for trial_id, config in reversed(batch):  # complete in reverse order
            searcher.on_trial_complete(trial_id, {"loss": loss(config)})
    assert sizes[0] == 1 and sizes[1] > 1  # (2 d children less repeated configurations)


def test_failed_results_are_told_nan():
    searcher = SparseGridSearcher(SPACE, "loss", "min", n_trials=20, seed=0, method="random")
    configs = [searcher.suggest(str(k)) for k in range(4)]
    assert all(isinstance(c, dict) for c in configs)
    results = [None, {"loss": float("inf")}, {"other": 1.0}, {"loss": "oops"}]
    for k, r in enumerate(results):
        searcher.on_trial_complete(str(k), r, error=r is None)
    for k in range(4, 20):
        searcher.suggest(str(k))
        searcher.on_trial_complete(str(k), {"loss": float(k)})
    told = searcher.get_state()["strategy"].y_told
    assert np.isnan(told[:4]).all() and np.isfinite(told[4:]).all()


def test_save_and_restore_mid_batch(tmp_path):
    ref = drive(SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=30, seed=2), loss)
    a = SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=30, seed=2)
    got = []
    for k in range(7):  # stop part-way through a batch, trial 6 still running
        got.append(a.suggest(f"t{k}"))
        if k < 6:
            a.on_trial_complete(f"t{k}", {"loss": loss(got[-1])})
    path = tmp_path / "searcher.pkl"
    a.save(str(path))
    b = SparseGridSearcher(n_trials=1)  # settings come from the checkpoint
    b.restore(str(path))
    b.on_trial_complete("t6", {"loss": loss(got[-1])})
    k = 7
    while (c := b.suggest(f"t{k}")) != Searcher.FINISHED:
        got.append(c)
        b.on_trial_complete(f"t{k}", {"loss": loss(c)})
        k += 1
    assert got == ref


def test_space_conversion():
    host = to_core_space(
        {
            "a": tune.uniform(0, 2),
            "b": tune.loguniform(1e-3, 1),
            "c": tune.randint(0, 10),
            "d": tune.lograndint(1, 100),
            "e": tune.quniform(0, 1, 0.25),
            "f": tune.qrandint(0, 20, 5),
            "g": tune.choice(["x", "y"]),
            "nested": {"h": tune.uniform(-1, 1)},
            "constant": 3,
        }
    )
    p = host.space.params
    assert host.names == ("a", "b", "c", "d", "e", "f", "g", "nested/h")
    assert p["a"] == Float(0, 2) and p["b"] == Float(1e-3, 1, log=True)
    assert p["c"] == Int(0, 9) and p["d"] == Int(1, 99, log=True)
    assert p["e"] == Int(0, 4) and p["f"] == Int(0, 4)  # grid indices of 0, .25, ..., 1 / 0..20
    assert host.from_unit(np.ones((1, 8)))[0]["f"] == 20
    with pytest.raises(ValueError, match="grid_search"):
        to_core_space({"a": tune.grid_search([1, 2])})
    with pytest.raises(ValueError, match="sampler _Normal"):
        to_core_space({"a": tune.randn(0, 1)})
    with pytest.raises(ValueError, match="no parameter"):
        to_core_space({"a": 1})


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode"):
        SparseGridSearcher(SPACE, "loss", "minimize")
    with pytest.raises(ValueError, match="unknown method"):
        SparseGridSearcher(SPACE, "loss", "min", method="tpe")
    with pytest.raises(TypeError, match="unknown option"):
        SparseGridSearcher(SPACE, "loss", "min", gama=0.5)
    with pytest.raises(ValueError, match="n_trials"):
        SparseGridSearcher(SPACE, "loss", "min", n_trials=0)
    with pytest.raises(RuntimeError, match="metric, mode"):
        SparseGridSearcher(SPACE).suggest("t0")


# --------------------------------------------------------------------------------------------
# with a local Ray
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_ray():
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage report from a test run
    here = os.path.dirname(os.path.abspath(__file__))  # workers import the trainable from here
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    try:
        yield
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
        else:
            os.environ["RAY_USAGE_STATS_ENABLED"] = saved


def trainable(config):
    tune.report({"loss": failing_loss(config)})


def all_configs(results):
    """Configurations of every trial (errored ones included), sorted: a trial's creation order
    is not public in a ResultGrid, so the Tune tests compare the multiset of configurations
    (the order itself is checked by the serial tests above)."""
    return sorted((tuple(r.config[k] for k in ("lr", "width", "opt")) for r in results), key=repr)


def expected(res):
    return sorted(
        (tuple(e.config[k] for k in ("lr", "width", "opt")) for e in res.history), key=repr
    )


def tuner(searcher, tmp_path, num_samples, name, callbacks=()):
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher, num_samples=num_samples, reuse_actors=True
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name=name, callbacks=list(callbacks), verbose=0
        ),
    )


@pytest.mark.slow
def test_tuner_concurrent_batches_equal_minimize(local_ray, tmp_path):
    """Four concurrent trials per limiter batch, errors and NaN among them; num_samples above the
    budget: the searcher ends the experiment with FINISHED."""
    res = minimize(failing_loss, SPACE, "sparse_grid", 10, seed=0)
    searcher = SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=10, seed=0)
    limited = ConcurrencyLimiter(searcher, max_concurrent=4, batch=True)
    results = tuner(limited, tmp_path, 100, "batches").fit()
    assert len(results) == res.nfev
    assert all_configs(results) == expected(res)
    assert sum(r.error is not None for r in results) == sum(
        e.error is not None and "out of memory" in e.error for e in res.history
    )


class _Interrupt(tune.Callback):
    """Interrupts the experiment (as Ctrl+C would) once ``after`` trials have completed, once:
    the restored Tuner gets this callback back and must run to the end."""

    def __init__(self, after, marker):
        self.after = after
        self.marker = marker
        self.seen = 0

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.seen += 1
        if self.seen == self.after and not self.marker.exists():
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.slow
def test_tuner_restore_mid_run(local_ray, tmp_path):
    res = minimize(failing_loss, SPACE, "sparse_grid", 9, seed=5)
    searcher = SparseGridSearcher(TUNE_SPACE, "loss", "min", n_trials=9, seed=5)
    first = tuner(
        ConcurrencyLimiter(searcher, 2),
        tmp_path,
        9,
        "restore",
        [_Interrupt(3, tmp_path / "interrupted")],
    )
    partial = first.fit()
    assert 3 <= len(partial) < res.nfev  # stopped part-way
    restored = tune.Tuner.restore(str(tmp_path / "restore"), trainable, resume_errored=False)
    results = restored.fit()
    assert len(results) == res.nfev
    assert all_configs(results) == expected(res)
