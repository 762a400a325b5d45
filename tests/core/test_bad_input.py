"""Every bad input named in issues 2 and 3, through the public API: the error type and a message
that states the rule and the value received."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.grid import NovakRitter
from core.optimizers import OPTIMIZERS, check_options
from core.optimizers import minimize as minimize_surrogate
from core.run import iterate, minimize
from core.space import Categorical, Float, Int, SearchSpace
from core.strategies import STRATEGIES, make_strategy
from core.surrogate import fit_surrogate

SPACE = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
MIXED = SearchSpace({"x": Float(0.0, 1.0), "c": Categorical(["a", "b"]), "n": Int(1, 5)})
ONE = np.ones((1, 2), dtype=int)


def fun(config: dict) -> float:
    return config["x"] ** 2 + config["y"]


def _tell(make, mutate_U=None, y=None):
    s = make()
    U = s.ask(2) if hasattr(s, "n_told") else s.ask()
    U = U if mutate_U is None else mutate_U(U)
    s.tell(U, np.ones(len(U)) if y is None else y(U))


def _tell_without_ask(make):
    make().tell(np.full((1, 2), 0.5), [1.0])


def _ask_twice(make):
    s = make()
    s.ask(1) if hasattr(s, "n_told") else s.ask()
    s.ask(1) if hasattr(s, "n_told") else s.ask()


def strategy():
    return make_strategy("random", 2, 5, seed=0)


def generator():
    return NovakRitter(2, 20)


# (id, call, exception type, regex every message must match: the rule and the value)
CASES = [
    # gamma outside [0, 1] (docs/decisions.md, 'Gamma weights the level term')
    ("gamma NovakRitter", lambda: NovakRitter(2, 50, gamma=-0.1), ValueError,
     r"`gamma` must be in \[0, 1\], got gamma=-0\.1"),
    ("gamma nan", lambda: NovakRitter(2, 50, gamma=float("nan")), ValueError,
     r"`gamma` must be in \[0, 1\], got gamma=nan"),
    ("gamma sparse_grid", lambda: make_strategy("sparse_grid", 2, 50, gamma=1.3), ValueError,
     r"`gamma` must be in \[0, 1\], got gamma=1\.3"),
    ("gamma adaptive_random", lambda: make_strategy("adaptive_random", 2, 50, gamma=1.5),
     ValueError, r"`gamma` must be in \[0, 1\], got gamma=1\.5"),
    ("gamma minimize", lambda: minimize(fun, SPACE, "sparse_grid", 50, gamma=2), ValueError,
     r"`gamma` must be in \[0, 1\], got gamma=2"),
    # even or unsupported degree (docs/decisions.md, 'Even B-spline degrees')
    ("degree 2", lambda: make_strategy("sparse_grid", 2, 50, degree=2), ValueError,
     r"`degree` must be odd, one of 1, 3, 5, 7, got degree=2"),
    ("degree 4 fit", lambda: fit_surrogate(ONE, ONE, [1.0], degree=4), ValueError,
     r"`degree` must be odd.*got degree=4"),
    ("degree 9 fit", lambda: fit_surrogate(ONE, ONE, [1.0], degree=9), ValueError,
     r"one of 1, 3, 5, 7, got degree=9"),
    ("degree float", lambda: make_strategy("sparse_grid", 2, 50, degree=3.0), TypeError,
     r"`degree` must be an int, got degree=3\.0"),
    # initial level outside 1..4 (docs/decisions.md, 'Initial level 1 by default')
    ("initial_level 0", lambda: NovakRitter(2, 50, initial_level=0), ValueError,
     r"`initial_level` must be in \[1, 4\], got initial_level=0"),
    ("initial_level 5", lambda: make_strategy("sparse_grid", 2, 5000, initial_level=5),
     ValueError, r"`initial_level` must be in \[1, 4\], got initial_level=5"),
    # budget too small
    ("budget < initial grid", lambda: NovakRitter(2, 10, initial_level=3), ValueError,
     r"`n_evals` must be at least the size of the initial grid \(17 points.*got n_evals=10"),
    ("budget < grid + reserved", lambda: make_strategy("sparse_grid", 2, 17, initial_level=3),
     ValueError, r"at least 18 .*17 initial grid points \+ 1 reserved.*got n_evals=17"),
    ("budget < grid + reserved thesis",
     lambda: make_strategy("sparse_grid", 2, 18, initial_level=3, variant="thesis"),
     ValueError, r"at least 19 .*17 initial grid points \+ 2 reserved.*got n_evals=18"),
    ("budget < grid + reserved minimize", lambda: minimize(fun, SPACE, "sparse_grid", 1),
     ValueError, r"at least 6 .*one refinement.*got n_evals=1"),
    ("budget 0", lambda: minimize(fun, SPACE, "random", 0), ValueError,
     r"`n_evals` must be in \[1, inf\], got n_evals=0"),
    ("budget float", lambda: minimize(fun, SPACE, "random", 5.0), TypeError,
     r"`n_evals` must be an int, got n_evals=5\.0"),
    # bounds
    ("Float low == high", lambda: Float(1, 1), ValueError, r"low < high, got low=1\.0, high=1\.0"),
    ("Float low > high", lambda: Float(2, 1), ValueError, r"low < high, got low=2\.0, high=1\.0"),
    ("Int low == high", lambda: Int(3, 3), ValueError, r"low < high, got low=3, high=3"),
    ("Float log low 0", lambda: Float(0, 1, log=True), ValueError,
     r"log=True needs low > 0, got low=0\.0"),
    ("Int log low < 0", lambda: Int(-1, 10, log=True), ValueError,
     r"log=True needs low > 0, got low=-1"),
    ("Float nan bound", lambda: Float(float("nan"), 1), ValueError, r"finite, got low=nan"),
    ("Float inf bound", lambda: Float(0, float("inf")), ValueError, r"finite, got .*high=inf"),
    ("Float width overflows", lambda: Float(-1e308, 1e308), ValueError,
     r"Float width high - low must be a finite float64.*got low=-1e\+308, high=1e\+308"),
    ("Float subnormal width", lambda: Float(0, 5e-324), ValueError,
     r"Float width high - low must be at least 2\.22507e-308.*got low=0\.0, high=5e-324"),
    ("Float log not bool", lambda: Float(1, 100, log="no"), TypeError,
     r"Float `log` must be True or False, got log='no'"),
    ("Float log 1", lambda: Float(1, 100, log=1), TypeError,
     r"Float `log` must be True or False, got log=1"),
    ("Int log not bool", lambda: Int(1, 100, log="yes"), TypeError,
     r"Int `log` must be True or False, got log='yes'"),
    ("Int beyond int64", lambda: Int(0, 10**30), ValueError,
     r"Int `high` must be in \[-2\*\*53, 2\*\*53\].*got high=10{30}"),
    ("Int below -2**53", lambda: Int(-(2**53) - 1, 0), ValueError,
     r"Int `low` must be in \[-2\*\*53, 2\*\*53\].*got low=-9007199254740993"),
    ("grid budget beyond int64", lambda: make_strategy("grid", 2, 2**63), ValueError,
     r"n_evals <= 2\*\*62.*got n_evals=9223372036854775808"),
    # tell with the wrong shape or a batch that was not asked; out of turn
    ("tell y shape", lambda: _tell(strategy, y=lambda U: np.ones(len(U) + 1)), ValueError,
     r"`y` must have shape \(2,\), got shape \(3,\)"),
    ("tell U shape", lambda: _tell(strategy, mutate_U=lambda U: U[:, :1]), ValueError,
     r"`U` must have shape \(n, 2\), got shape \(2, 1\)"),
    ("tell not asked", lambda: _tell(strategy, mutate_U=lambda U: U * 0.5), RuntimeError,
     r"exactly the last asked batch"),
    ("tell before ask", lambda: _tell_without_ask(strategy), RuntimeError, r"without a pending"),
    ("ask twice", lambda: _ask_twice(strategy), RuntimeError, r"before the previous batch"),
    ("NR tell y shape", lambda: _tell(generator, y=lambda U: np.ones(len(U) + 1)), ValueError,
     r"`y` must have shape \(1,\), got shape \(2,\)"),
    ("NR tell not asked", lambda: _tell(generator, mutate_U=lambda U: U * 0.5), RuntimeError,
     r"exactly the batch returned by the last ask"),
    ("NR tell before ask", lambda: _tell_without_ask(generator), RuntimeError,
     r"needs a pending batch"),
    ("NR ask twice", lambda: _ask_twice(generator), RuntimeError, r"called again before tell"),
    # unknown names list the valid ones
    ("unknown method", lambda: minimize(fun, SPACE, "sparsegrid", 20), ValueError,
     r"unknown method 'sparsegrid'; valid methods: sparse_grid, grid, random"),
    ("unknown strategy", lambda: make_strategy("foo", 2, 20), ValueError,
     r"unknown strategy 'foo'; valid names: sparse_grid"),
    ("unknown optimizer", lambda: make_strategy("sparse_grid", 2, 50, optimizer="bfgs"),
     ValueError, r"unknown optimizer 'bfgs'; valid names: none, .*nelder_mead"),
    ("unknown optimizer (surrogate)",
     lambda: minimize_surrogate(lambda x: 0.0, [0.5], method="bfgs"), ValueError,
     r"unknown optimizer 'bfgs'; valid names: nelder_mead, differential_evolution, cmaes"),
    ("unknown optimizer option",
     lambda: make_strategy("sparse_grid", 2, 50, optimizer="gradient_descent",
                           optimizer_options={"foo": 1}), TypeError,
     r"unknown option\(s\) 'foo' for optimizer 'gradient_descent'; valid options: maxfev"),
    ("unknown multistart option",
     lambda: check_options("multistart", {"local_method": "cmaes", "mutation": 0.5}), TypeError,
     r"'mutation' for optimizer 'multistart'; valid options: .*sigma0"),
    ("optimizer options with none",
     lambda: make_strategy("sparse_grid", 2, 50, optimizer="none",
                           optimizer_options={"maxfev": 5}),
     ValueError, r"`optimizer_options` must be empty with optimizer='none'"),
    ("unknown strategy option", lambda: make_strategy("random", 2, 5, gamma=0.5), TypeError,
     r"unknown option\(s\) 'gamma' for strategy 'random'; valid options: none"),
    ("unknown ranking", lambda: NovakRitter(2, 50, ranking="x"), ValueError,
     r"`ranking` must be one of .*got ranking='x'"),
    # configs outside the space
    ("float outside", lambda: SPACE.to_unit([{"x": 2.0, "y": 0.5}]), ValueError,
     r"`x` must be in \[0\.0, 1\.0\], got x=2\.0"),
    ("int outside", lambda: MIXED.to_unit([{"x": 0.5, "c": "a", "n": 6}]), ValueError,
     r"`n` must be in \[1, 5\], got n=6"),
    ("int not integer", lambda: MIXED.to_unit([{"x": 0.5, "c": "a", "n": 2.5}]), TypeError,
     r"`n` must be an integer, got n=2\.5"),
    ("categorical outside", lambda: MIXED.to_unit([{"x": 0.5, "c": "z", "n": 2}]), ValueError,
     r"`c` must be one of \['a', 'b'\], got c='z'"),
    ("missing key", lambda: SPACE.to_unit([{"x": 0.5}]), ValueError, r"missing \['y'\]"),
    ("unit point outside", lambda: SPACE.from_unit(np.array([[1.5, 0.5]])), ValueError,
     r"unit cube \[0, 1\]\^d, got row 0 = \[1\.5, 0\.5\]"),
    ("x0 outside", lambda: minimize_surrogate(lambda x: 0.0, [2.0, 0.5], method="nelder_mead"),
     ValueError, r"`x0` must lie in the unit cube.*\[2\.0, 0\.5\]"),
    # others
    ("surrogate all NaN", lambda: fit_surrogate(ONE, ONE, [np.nan]), ValueError,
     r"at least one finite value"),
    ("surrogate even index", lambda: fit_surrogate(ONE, np.array([[2, 1]]), [1.0]), ValueError,
     r"`index` must be odd.*got index=2"),
    ("dimension mismatch", lambda: list(iterate(fun, SPACE, make_strategy("random", 3, 5))),
     ValueError, r"got strategy\.dim=3 and space\.dim=2"),
    ("seed negative", lambda: minimize(fun, SPACE, "random", 5, seed=-1), ValueError,
     r"non-negative int, got seed=-1"),
    ("resume without journal", lambda: minimize(fun, SPACE, "random", 5, resume=True),
     ValueError, r"`resume=True` needs a `journal`"),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_rule_and_value(call, exc, pattern):
    with pytest.raises(exc) as info:
        call()
    assert re.search(pattern, str(info.value)), str(info.value)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"seed": 1}, r"another run; seed: journal has 0, this run has 1"),
        ({"space": SearchSpace({"x": Float(0.0, 2.0), "y": Float(0.0, 1.0)})},
         r"another run; space: journal has .*Float\(0, 1\).*this run has .*Float\(0, 2\)"),
        ({"method": "grid"}, r"another run; .*method: journal has 'random', this run has 'grid'"),
        ({"n_evals": 6}, r"another run; .*n_evals: journal has 5, this run has 6"),
    ],
    ids=["seed", "space", "method", "budget"],
)
def test_journal_of_another_run_is_refused_with_the_reason(tmp_path: Path, change, pattern):
    path = tmp_path / "run.jsonl"
    args = {"space": SPACE, "method": "random", "n_evals": 5, "seed": 0}
    minimize(fun, journal=path, **args)
    with pytest.raises(ValueError, match=pattern):
        minimize(fun, journal=path, resume=True, **{**args, **change})
    with pytest.raises(FileExistsError, match="already holds a run; pass resume=True"):
        minimize(fun, journal=path, **args)


def test_valid_optimizer_options_are_accepted():
    s = make_strategy("sparse_grid", 2, 30, seed=0, optimizer="multistart",
                      optimizer_options={"local_method": "cmaes", "sigma0": 0.2, "n_starts": 3})
    assert s.optimizer_options["sigma0"] == 0.2
    res = minimize(fun, SPACE, "sparse_grid", 20, seed=0, optimizer="nelder_mead",
                   optimizer_options={"maxfev": 50})
    assert res.nfev <= 20 and np.isfinite(res.fun)


# -- non-finite values never crash: bad input and objective failures ------------------------


def _mixed(U: np.ndarray) -> np.ndarray:
    """Finite values of a smooth bowl with NaN, +inf, -inf and 1e300 sprinkled in."""
    y = np.sum((U - 0.3) ** 2, axis=1)
    k = np.floor(U[:, 0] * 16).astype(int) % 5
    return np.select([k == 0, k == 1, k == 2, k == 3], [np.nan, np.inf, -np.inf, 1e300], y)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize(
    ("values", "degree"), [("all_nan", 1), ("all_nan", 3), ("all_nan", 5), ("mixed", 3)]
)
@pytest.mark.parametrize("optimizer", ["none", *sorted(OPTIMIZERS)])
def test_sparse_grid_survives_non_finite_values(values, optimizer, degree):
    s = make_strategy("sparse_grid", 2, 14, seed=0, optimizer=optimizer, degree=degree)
    while s.stop_reason is None:
        U = s.ask()
        if len(U) == 0:
            break
        s.tell(U, np.full(len(U), np.nan) if values == "all_nan" else _mixed(U))
    assert 0 < s.n_told <= 14
    res = s.result()
    if values == "all_nan":
        assert s.best is None and np.isnan(res.fun) and not res.success
    else:  # -inf is a failure too (ranked worst), never the best value
        assert np.isfinite(res.fun) and res.fun == np.min(_mixed(s.U_told)[np.isfinite(
            _mixed(s.U_told))])


@pytest.mark.parametrize("method", sorted(STRATEGIES))
def test_minimize_records_raising_and_non_finite_objectives(method):
    calls = []

    def objective(config: dict) -> float:
        calls.append(config)
        kind = len(calls) % 4
        if kind == 1:
            raise RuntimeError("diverged")
        return [np.nan, np.inf, -np.inf][kind - 1] if kind else fun(config)

    res = minimize(objective, SPACE, method, 12, seed=0)
    assert res.nfev == len(calls) <= 12
    assert res.n_failed == sum(1 for i in range(1, len(calls) + 1) if i % 4)
    finite = res.values[np.isfinite(res.values)]
    assert (np.isnan(res.fun) and finite.size == 0) or res.fun == finite.min()


def test_spaces_that_differ_past_six_digits_describe_differently(tmp_path: Path):
    """A journal identifies its space by ``describe()``; ``:g`` alone would make 0.1 and
    0.1000001 alike and accept a journal from another space."""
    a = SearchSpace({"lr": Float(1e-4, 0.1, log=True), "y": Float(1 / 3, 1.0)})
    b = SearchSpace({"lr": Float(1e-4, 0.1000001, log=True), "y": Float(1 / 3, 1.0)})
    assert a.describe()["lr"] == "Float(0.0001, 0.1, log)"  # short where exact (old journals)
    assert a.describe()["y"] == "Float(0.3333333333333333, 1)"
    assert a.describe() != b.describe()

    def objective(config: dict) -> float:
        return config["lr"] + config["y"]

    path = tmp_path / "run.jsonl"
    minimize(objective, a, "random", 3, seed=0, journal=path)
    with pytest.raises(ValueError, match=r"another run; space: .*0\.1000001"):
        minimize(objective, b, "random", 3, seed=0, journal=path, resume=True)


# -- hardening: spaces, dimensions, budgets, objectives --------------------------------------


def test_extreme_int_bounds_map_exactly_through_minimize():
    space = SearchSpace({"n": Int(-(2**53), 2**53), "m": Int(1, 2**53, log=True)})
    seen: list[dict] = []
    minimize(lambda c: seen.append(c) or 0.0, space, "grid", 9)
    assert len(seen) == 9
    assert all(isinstance(c["n"], int) and -(2**53) <= c["n"] <= 2**53 for c in seen)
    assert all(1 <= c["m"] <= 2**53 for c in seen)
    ends = space.from_unit([[0.0, 0.0], [1.0, 1.0]])
    assert ends == [{"n": -(2**53), "m": 1}, {"n": 2**53, "m": 2**53}]


@pytest.mark.parametrize("d", [33, 50])
def test_grid_search_beyond_32_dimensions(d):
    space = SearchSpace({f"x{t}": Float(0.0, 1.0) for t in range(d)})
    res = minimize(lambda c: sum(c.values()), space, "grid", 50)
    assert res.nfev == 1 and res.stop_reason == "exhausted"  # k = 1: the centre
    assert res.x == {name: 0.5 for name in space.names}
    # k = 2: 2**d points, generated as asked; stop after the first batch
    res = minimize(lambda c: sum(c.values()), space, "grid", 2**d, callback=lambda b: True)
    assert res.stop_reason == "stopped" and 0 < res.nfev <= 1024
    first, second = res.U[0], res.U[1]
    assert np.all(first == 0.25) and second[-1] == 0.75 and np.all(second[:-1] == 0.25)


def _peak_bytes(method: str, budget: int, n: int) -> int:
    """Peak Python-heap bytes of a run of ``method`` stopped after ``n`` evaluations."""
    import threading
    import tracemalloc

    stop = threading.Event()

    def objective(config: dict) -> float:
        return config["x"] + config["y"]

    def count(batch) -> None:
        if batch.nfev >= n:
            stop.set()

    tracemalloc.start()
    try:
        res = minimize(objective, SPACE, method, budget, seed=0, stop=stop, callback=count)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.stop_reason in ("stopped", "converged") and res.nfev < n + 1024
    assert res.stop_reason == "converged" or res.nfev >= n
    return peak


#: Evaluations before the stop, per method (cheap enough for CI; others get 200).
WORK = {"random": 3000, "grid": 3000, "bayesian": 20}


@pytest.mark.slow  # three runs per method under tracemalloc
@pytest.mark.parametrize("method", sorted(STRATEGIES))
def test_huge_budget_with_a_stop_event_runs_until_stopped(method):
    """Memory does not depend on the budget: 10**9 costs what 10**4 costs for the same work."""
    n = WORK.get(method, 200)
    _peak_bytes(method, 10**4, n)  # first use: imports and caches are not the method's memory
    small = _peak_bytes(method, 10**4, n)
    huge = _peak_bytes(method, 10**9, n)
    assert huge < 1.5 * small + 1e6, (small, huge)


class _HoldsALock:
    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()

    def __call__(self, config: dict) -> float:
        with self.lock:
            return config["x"]


@pytest.mark.parametrize("executor", [
    "process",  # the pool starts no worker before the check
    pytest.param("dask", marks=[pytest.mark.dask, pytest.mark.processes]),  # a LocalCluster
])
def test_unpicklable_objective_is_refused_before_any_work_with_an_accurate_reason(executor):
    if executor == "dask":
        pytest.importorskip("distributed")
    with pytest.raises(TypeError) as info:
        minimize(_HoldsALock(), SPACE, "random", 4, executor=executor, n_workers=1)
    text = str(info.value)
    assert "neither pickle nor cloudpickle can serialize it" in text
    assert "lock" in text and "install cloudpickle" not in text


def test_one_max_level_for_generator_basis_and_callers():
    """The deepest level is one constant; a run at that level completes, one above is refused
    when the run is created (before any evaluation)."""
    import core.basis
    from core.grid import MAX_LEVEL

    assert core.basis.MAX_LEVEL == MAX_LEVEL
    space = SearchSpace({"x": Float(0.0, 1.0)})
    calls: list[dict] = []

    def objective(config: dict) -> float:
        calls.append(config)
        return abs(config["x"] - 1 / 3)

    with pytest.raises(ValueError, match=rf"`max_level` must be in \[1, {MAX_LEVEL}\], got "
                                         rf"max_level={MAX_LEVEL + 1}"):
        minimize(objective, space, "sparse_grid", 140, gamma=0.0, max_level=MAX_LEVEL + 1)
    assert calls == []
    # greedy refinement towards 1/3 (never a grid point) goes one level deeper per step
    res = minimize(objective, space, "sparse_grid", 300, gamma=0.0, max_level=MAX_LEVEL, seed=0,
                   local_search=False)  # the grid alone, without the local phase
    assert res.nfev <= 300 and np.isfinite(res.fun)
    assert np.min(np.abs(res.U[:, 0] - 1 / 3)) < 2.0 ** -(MAX_LEVEL - 1)


class _Counted:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, config: dict) -> float:
        self.calls += 1
        return fun(config)


EARLY = [
    # (id, minimize keyword arguments, exception, message)
    ("callback not callable", {"callback": "print"}, TypeError,
     r"`callback` must be callable or None, got callback='print'"),
    ("on_evaluation not callable", {"on_evaluation": 3}, TypeError,
     r"`on_evaluation` must be callable or None, got on_evaluation=3"),
    ("catch not exception types", {"catch": (ValueError, "KeyError")}, TypeError,
     r"`catch` must be a tuple of exception types, got catch=\(<class 'ValueError'>, 'Key"),
    ("max_batch 0", {"max_batch": 0}, ValueError, r"`max_batch` must be in \[1, inf\], got "
     r"max_batch=0"),
    ("resume not bool", {"resume": "yes", "journal": "run.jsonl"}, TypeError,
     r"`resume` must be True or False, got resume='yes'"),
    ("journal not a path", {"journal": 42}, TypeError,
     r"`journal` must be a path \(str or os.PathLike\), got journal=42"),
    ("journal dir missing", {"journal": "missing/run.jsonl"}, FileNotFoundError,
     r"the journal's directory '.*missing' does not exist"),
    ("journal is a directory", {"journal": "."}, FileExistsError, r"is a directory"),
    ("dask n_workers 0", {"executor": "dask", "n_workers": 0}, ValueError,
     r"`n_workers` must be an int >= 1, got n_workers=0"),
    ("process n_workers -1", {"n_workers": -1}, ValueError,
     r"`n_workers` must be an int >= 1, got n_workers=-1"),
    ("optimizer option type", {"method": "sparse_grid", "optimizer": "nelder_mead",
                               "optimizer_options": {"maxfev": "100"}}, TypeError,
     r"`maxfev` must be an int, got maxfev='100'"),
]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), [c[1:] for c in EARLY],
                         ids=[c[0] for c in EARLY])
def test_mistakes_are_caught_before_the_first_evaluation(tmp_path, monkeypatch, kwargs, exc,
                                                        pattern):
    monkeypatch.chdir(tmp_path)
    objective = _Counted()
    args = {"method": "random", **kwargs}
    method = args.pop("method")
    with pytest.raises(exc) as info:
        minimize(objective, SPACE, method, 20, seed=0, **args)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert objective.calls == 0
    assert list(tmp_path.iterdir()) == []  # no journal, no file of any kind


def test_unpicklable_objective_with_a_journal_writes_nothing(tmp_path):
    path = tmp_path / "run.jsonl"
    with pytest.raises(TypeError, match="cannot be sent to worker processes"):
        minimize(_HoldsALock(), SPACE, "random", 4, n_workers=1, journal=path)
    assert not path.exists()
