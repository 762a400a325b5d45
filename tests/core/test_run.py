"""The driver: failure recording, budget, stop, batches, records and reproducibility (serial)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from core.objectives import OBJECTIVES
from core.records import Batch, Evaluation, RunResult
from core.result import Measurement
from core.run import iterate, minimize
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES
from core.strategies.base import STOP_REASONS, Strategy

SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})


def quadratic(config: dict) -> float:
    return (config["x"] - 0.5) ** 2 + (config["y"] - 1.0) ** 2


class FixedPoints(Strategy):
    """Proposes preset unit-cube points in preset batch sizes (a test strategy)."""

    name = "fixed"

    def __init__(self, points, batches=None, *, seed=None) -> None:
        points = np.asarray(points, dtype=float)
        super().__init__(points.shape[1], len(points), seed=seed)
        self._points = points
        self._batches = list(batches) if batches is not None else [len(points)]
        self._next = 0

    def _ask(self, max_points: int) -> np.ndarray:
        size = self._batches.pop(0) if self._batches else max_points
        k = min(size, max_points, len(self._points) - self._next)
        out = self._points[self._next : self._next + k]
        self._next += k
        return out


def grid_points(n: int, d: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, d))


# -- failure recording ---------------------------------------------------------------------------
def test_failures_are_recorded_told_as_nan_and_the_run_goes_on() -> None:
    outcomes = [
        1.5,
        ValueError("diverged"),
        math.nan,
        math.inf,
        -math.inf,
        Measurement(math.nan, {"loss_curve": [3.0, math.nan]}),
        Measurement(0.25, {"accuracy": 0.9}),
        None,
        "0.3",
        np.float32(2.0),
        np.array([0.75]),
        np.array([1.0, 2.0]),
        True,
        Measurement(math.nan, {"error": "training diverged at epoch 3"}),
    ]
    calls = []

    def fun(config: dict) -> object:
        out = outcomes[len(calls)]
        calls.append(config)
        if isinstance(out, Exception):
            raise out
        return out

    strategy = FixedPoints(grid_points(len(outcomes)), batches=[4, 5, 5])
    records = list(iterate(fun, SPACE, strategy))
    history = [ev for rec in records for ev in rec.evaluations]
    assert len(history) == len(outcomes) == len(calls)
    status = [ev.status for ev in history]
    assert status == [
        "ok", "failed", "failed", "failed", "failed", "failed", "ok",
        "failed", "failed", "ok", "ok", "failed", "failed", "failed",
    ]
    for ev in history:
        assert (ev.error is None) == ev.ok
        assert math.isfinite(ev.value) == ev.ok
    assert history[1].error == "ValueError: diverged"
    assert "diverged" in history[1].info["traceback"]
    assert "non-finite value: nan" in history[2].error
    assert "non-finite value: inf" in history[3].error
    assert "non-finite value: -inf" in history[4].error
    assert "Measurement value" in history[5].error
    assert history[5].info["loss_curve"][0] == 3.0  # the info of a failure travels
    assert history[6].value == 0.25 and history[6].info == {"accuracy": 0.9}
    assert "got NoneType" in history[7].error and "got str" in history[8].error
    assert history[9].value == 2.0 and history[10].value == 0.75
    assert "bool" in history[12].error
    assert history[13].error == "training diverged at epoch 3"  # the objective's own reason
    # the strategy was told NaN for every failure (inf included) and the values of the others
    told = strategy.y_told
    np.testing.assert_array_equal(np.isnan(told), [not ev.ok for ev in history])
    np.testing.assert_array_equal(told[~np.isnan(told)], [1.5, 0.25, 2.0, 0.75])
    assert records[-1].stop_reason == "budget" and records[-1].best.value == 0.25


def test_catch_empty_makes_objective_errors_propagate() -> None:
    def fun(config: dict) -> float:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        minimize(fun, SPACE, "random", 5, seed=0, catch=())
    # a narrower catch records what it names and propagates the rest
    res = minimize(fun, SPACE, "random", 3, seed=0, catch=(KeyError,))
    assert res.n_failed == 3 and not res.success and res.x is None and math.isnan(res.fun)
    assert res.message.endswith("no evaluation succeeded")


def test_every_evaluation_failing_gives_an_unsuccessful_result() -> None:
    res = minimize(lambda c: math.nan, SPACE, "random", 4, seed=0)
    assert res.nfev == 4 and res.n_failed == 4 and not res.success
    assert np.isnan(res.u).all() and np.isnan(res.best_curve()).all()


# -- budget, records, result ---------------------------------------------------------------------
@pytest.mark.parametrize("method", sorted(STRATEGIES))
def test_every_method_respects_the_budget_and_reports_the_best(method: str) -> None:
    n_evals = 6 if method == "bayesian" else 13
    batches = []
    res = minimize(quadratic, SPACE, method, n_evals, seed=2, callback=batches.append)
    assert 1 <= res.nfev <= n_evals
    assert res.stop_reason in STOP_REASONS and res.success
    assert res.nit == sum(b.complete for b in batches) >= 1
    values = res.values
    assert len(values) == res.nfev == batches[-1].nfev
    i = int(np.nanargmin(values))
    assert res.fun == values[i] and res.x == res.history[i].config
    np.testing.assert_array_equal(res.u, res.history[i].u)
    assert SPACE.from_unit(res.u)[0] == res.x
    assert [ev.index for ev in res.history] == list(range(res.nfev))
    assert batches[-1].stop_reason == res.stop_reason
    assert all(b.stop_reason is None for b in batches[:-1])
    curve = res.best_curve()
    assert np.all(np.diff(curve) <= 0) and curve[-1] == res.fun
    for ev in res.history:
        assert ev.value == quadratic(ev.config) and ev.seconds >= 0
        assert SPACE.from_unit(ev.u)[0] == ev.config


@pytest.mark.parametrize("method", ["random", "sparse_grid", "adaptive_random", "bayesian"])
def test_an_int_seed_reproduces_the_run_bit_for_bit(method: str) -> None:
    n = 6 if method == "bayesian" else 20
    a = minimize(quadratic, SPACE, method, n, seed=7)
    b = minimize(quadratic, SPACE, method, n, seed=7)
    np.testing.assert_array_equal(a.U, b.U)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.x == b.x and a.nit == b.nit


def test_max_batch_bounds_every_ask_and_batches_are_cumulative() -> None:
    seen = []
    records = list(
        iterate(quadratic, SPACE, FixedPoints(grid_points(10), [4, 4, 4]), max_batch=3,
                on_evaluation=seen.append)
    )
    assert [len(r.evaluations) for r in records] == [3, 3, 3, 1]
    assert [r.nfev for r in records] == [3, 6, 9, 10]
    assert [r.step for r in records] == [0, 1, 2, 3]
    assert [ev.index for ev in seen] == list(range(10))
    assert [ev.step for ev in seen] == [0] * 3 + [1] * 3 + [2] * 3 + [3]
    best = min(seen, key=lambda ev: ev.value)
    assert records[-1].best is best and records[-1].done and records[-1].complete


def test_random_search_gives_the_same_points_for_any_max_batch() -> None:
    a = minimize(quadratic, SPACE, "random", 12, seed=3)
    b = minimize(quadratic, SPACE, "random", 12, seed=3, max_batch=5)
    assert a.nit == 1 and b.nit == 3
    np.testing.assert_array_equal(a.U, b.U)


def test_an_exhausted_strategy_ends_with_an_empty_last_record() -> None:
    records = list(iterate(quadratic, SPACE, FixedPoints(grid_points(3), [3, 0])))
    assert len(records) == 1 and records[0].stop_reason == "budget"
    # a strategy that runs dry before its budget
    strat = FixedPoints(grid_points(5), [2, 0])
    records = list(iterate(quadratic, SPACE, strat))
    assert [len(r.evaluations) for r in records] == [2, 0]
    assert records[-1].stop_reason == "exhausted" and not records[-1].complete


def test_integer_and_categorical_configs_reach_the_objective() -> None:
    space = SearchSpace({"n": Int(1, 4), "act": Categorical(("relu", "tanh")), "lr": Float(
        1e-3, 1.0, log=True)})
    seen = []

    def value(config: dict) -> float:
        return config["n"] * config["lr"] * (2.0 if config["act"] == "tanh" else 1.0)

    def fun(config: dict) -> float:
        seen.append(dict(config))
        assert isinstance(config["n"], int) and config["act"] in ("relu", "tanh")
        return value(config)

    res = minimize(fun, space, "random", 20, seed=0)
    assert res.n_failed == 0 and len(seen) == 20
    assert res.x == min(seen, key=value)


def test_space_defaults_to_the_objectives_space() -> None:
    obj = OBJECTIVES["rosenbrock"]
    res = minimize(obj, method="random", n_evals=5, seed=0)
    assert res.nfev == 5 and set(res.x) == set(obj.space.names)


# -- stop ----------------------------------------------------------------------------------------
def test_stop_set_before_the_run_evaluates_nothing() -> None:
    stop = threading.Event()
    stop.set()
    res = minimize(quadratic, SPACE, "random", 10, seed=0, stop=stop)
    assert res.nfev == 0 and res.stop_reason == "stopped" and not res.success
    assert res.message.startswith(STOP_REASONS["stopped"])


def test_stop_mid_batch_keeps_what_was_done_and_stops_the_strategy() -> None:
    stop = threading.Event()
    calls = []

    def fun(config: dict) -> float:
        calls.append(config)
        if len(calls) == 4:
            stop.set()
        return quadratic(config)

    strategy = FixedPoints(grid_points(10), [3, 7])
    records = list(iterate(fun, SPACE, strategy, stop=stop))
    assert len(calls) == 4  # serial: checked before each evaluation
    assert [len(r.evaluations) for r in records] == [3, 1]
    assert records[-1].stop_reason == "stopped" and not records[-1].complete
    assert records[-1].nfev == 4
    assert strategy.stop_reason == "stopped" and strategy.n_told == 3


def test_callback_returning_true_stops_after_that_batch() -> None:
    res = minimize(quadratic, SPACE, "sparse_grid", 40, seed=0, callback=lambda b: b.step == 1)
    assert res.stop_reason == "stopped" and res.nit == 2 and 0 < res.nfev < 40
    assert not res.success


def test_stop_from_another_thread() -> None:
    stop = threading.Event()
    reached = threading.Event()
    calls = []

    def counting(config: dict) -> float:
        calls.append(1)
        if len(calls) == 10:
            reached.set()
            assert stop.wait(60), "the other thread never set stop"
        return quadratic(config)

    setter = threading.Thread(target=lambda: reached.wait(60) and stop.set(), daemon=True)
    setter.start()
    res = minimize(counting, SPACE, "random", 1000, seed=0, stop=stop, max_batch=50)
    setter.join()
    # stopped within the batch under way (50 points), long before the 1000 it was given
    assert res.stop_reason == "stopped" and 10 <= res.nfev <= 50
    assert len(calls) == res.nfev


def test_consumer_may_break_out_of_iterate() -> None:
    it = iterate(quadratic, SPACE, FixedPoints(grid_points(6), [2, 2, 2]))
    first = next(it)
    it.close()
    assert isinstance(first, Batch) and len(first.evaluations) == 2


# -- bad input -----------------------------------------------------------------------------------
def test_unknown_method_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown method 'simplex'.*sparse_grid.*random"):
        minimize(quadratic, SPACE, "simplex", 10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_evals": 0}, ValueError, "n_evals"),
        ({"n_evals": 2.5}, TypeError, "n_evals"),
        ({"max_batch": 0}, ValueError, "max_batch"),
        ({"stop": object()}, TypeError, "is_set"),
        ({"catch": ValueError}, TypeError, "catch"),
        ({"resume": True}, ValueError, "journal"),
        ({"executor": "threads"}, ValueError, "unknown executor kind 'threads'"),
        ({"scheduler": "tcp://x:1", "executor": "process"}, ValueError, "address"),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_bad_arguments_raise_with_the_rule(kwargs: dict, error: type, match: str) -> None:
    kwargs = {"n_evals": 5, **kwargs}
    with pytest.raises(error, match=match):
        minimize(quadratic, SPACE, "random", seed=0, **kwargs)


def test_bad_fun_space_and_dimension() -> None:
    with pytest.raises(TypeError, match="callable"):
        minimize(42, SPACE, "random", 5)
    with pytest.raises(TypeError, match="SearchSpace"):
        minimize(quadratic, {"x": (0, 1)}, "random", 5)
    with pytest.raises(TypeError, match="space"):
        minimize(quadratic, None, "random", 5)
    with pytest.raises(ValueError, match="dimension"):
        iterate(quadratic, SPACE, FixedPoints(grid_points(3, d=3)))


def test_a_strategy_asking_beyond_its_budget_is_a_protocol_error() -> None:
    class Rogue:
        dim, n_evals = 2, 3

        def ask(self, max_points=None):
            return np.full((4, 2), 0.5)

        def stop(self, reason="stopped"):
            pass

    with pytest.raises(RuntimeError, match="asked 4 points with 3"):
        list(iterate(quadratic, SPACE, Rogue()))


def test_records_are_frozen_and_read_only() -> None:
    res = minimize(quadratic, SPACE, "random", 3, seed=0)
    ev = res.history[0]
    with pytest.raises(AttributeError):
        ev.value = 0.0
    with pytest.raises(ValueError):
        ev.u[0] = 0.0
    with pytest.raises(ValueError):
        res.u[0] = 0.0
    assert isinstance(res, RunResult) and "random" in repr(res) and "value=" in repr(ev)
    with pytest.raises(ValueError, match="status"):
        Evaluation(0, {}, [0.5], 1.0, 0.0, "maybe")
    with pytest.raises(ValueError, match="finite"):
        Evaluation(0, {}, [0.5], math.inf, 0.0, "ok")
