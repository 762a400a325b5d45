"""The contract every registered strategy must satisfy (docs/architecture.md, 'Ask/tell contract').

Adding a strategy to ``core.strategies.STRATEGIES`` adds it to every test here. The strategies
are driven with synthetic values: no objective, no driver.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.strategies import COMPOSITIONS, STOP_REASONS, STRATEGIES, Strategy, make_strategy

NAMES = list(STRATEGIES)
# Small but non-trivial settings per strategy, so the whole suite stays fast.
FAST: dict[str, dict] = {
    "bayesian": {"n_samples": 200, "n_starts": 2},
}


#: Further cases: every registered composition (``core.strategies.COMPOSITIONS``: options of a
#: registered strategy that select other layers, e.g. sparse grid search's local phase forced
#: on at every budget), so registering one adds it here.
OPTION_CASES: dict[str, tuple[str, dict]] = {
    name: (registered, options) for name, (registered, options, _) in COMPOSITIONS.items()
}
CASES = NAMES + list(OPTION_CASES)


def make(name: str, dim: int = 2, n_evals: int = 30, seed: int | None = 0, **kw) -> Strategy:
    name, options = OPTION_CASES.get(name, (name, {}))
    return make_strategy(name, dim, n_evals, seed=seed, **{**FAST.get(name, {}), **options, **kw})


def bowl(U: np.ndarray) -> np.ndarray:
    """A smooth synthetic objective with its minimum off every dyadic point."""
    return np.sum((U - 0.3141) ** 2, axis=1) + 0.1 * np.sin(7.0 * U[:, 0])


def drive(s: Strategy, f=bowl, max_points=None, limit: int = 10_000) -> list[np.ndarray]:
    batches = []
    for _ in range(limit):
        U = s.ask(max_points=max_points)
        if len(U) == 0:
            break
        batches.append(np.array(U))
        s.tell(U, f(U))
    return batches


def test_registry_names_and_titles():
    assert NAMES == ["sparse_grid", "grid", "random", "bayesian", "adaptive_random"]
    titles = {
        "sparse_grid": "Sparse grid",
        "grid": "Grid search",
        "random": "Random search",
        "bayesian": "Bayesian optimization",
        "adaptive_random": "Adaptive random search",
    }
    for name, cls in STRATEGIES.items():
        assert cls.name == name
        assert cls.title == titles[name]
        assert issubclass(cls, Strategy)


def test_every_composition_is_a_registered_strategy_with_valid_options_and_says_what_runs():
    from core.strategies import check_option_names

    assert COMPOSITIONS
    for name, (registered, options, what) in COMPOSITIONS.items():
        assert registered in STRATEGIES and name not in STRATEGIES
        check_option_names(registered, options)
        assert what and "\n" not in what, name


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown strategy 'tpe'.*sparse_grid.*adaptive_random"):
        make_strategy("tpe", 2, 10)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_option_is_named(name):
    with pytest.raises(TypeError, match="'bogus_option'"):
        make_strategy(name, 2, 30, bogus_option=1)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_ask_shape_and_unit_cube(name, dim):
    s = make(name, dim=dim, n_evals=25)
    seen = 0
    for U in drive(s):
        assert U.ndim == 2 and U.shape[1] == dim and U.shape[0] >= 1
        assert U.dtype == np.float64
        assert np.all((U >= 0.0) & (U <= 1.0))
        seen += len(U)
    assert seen == s.n_told <= 25


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("max_points", [1, 2, 3])
def test_max_points_respected(name, max_points):
    s = make(name, dim=2, n_evals=30)
    batches = drive(s, max_points=max_points)
    assert batches, "a strategy must propose something"
    assert all(1 <= len(U) <= max_points for U in batches)
    assert sum(map(len, batches)) == s.n_told <= 30


@pytest.mark.parametrize("name", CASES)
def test_protocol_misuse_raises(name):
    s = make(name)
    with pytest.raises(RuntimeError, match="without a pending ask"):
        s.tell(np.full((1, 2), 0.5), [1.0])
    U = s.ask(max_points=2)
    with pytest.raises(RuntimeError, match="before the previous batch"):
        s.ask()
    wrong = np.array(U)
    wrong[0, 0] = 1.0 - wrong[0, 0] if wrong[0, 0] != 0.5 else 0.25
    with pytest.raises(RuntimeError, match="exactly the last asked batch"):
        s.tell(wrong, bowl(wrong))
    with pytest.raises(RuntimeError, match="exactly the last asked batch"):
        s.tell(np.vstack([U, U]), np.zeros(2 * len(U)))
    with pytest.raises(ValueError, match="shape"):
        s.tell(U, np.zeros(len(U) + 1))
    s.tell(U, bowl(U))  # the right batch is still accepted after the rejections
    assert s.n_told == len(U)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("n_evals", [3, 7, 16, 41])
def test_stops_with_valid_reason_within_budget(name, n_evals):
    s = make(name, n_evals=n_evals)
    drive(s)
    assert s.stop_reason in STOP_REASONS
    assert 1 <= s.n_told <= n_evals
    assert s.ask().shape == (0, 2)
    assert s.ask(max_points=1).shape == (0, 2)
    res = s.result()
    y = s.y_told
    assert res.nfev == s.n_told
    assert res.fun == np.min(y)
    np.testing.assert_array_equal(res.x, s.U_told[int(np.argmin(y))])
    assert res.success


@pytest.mark.parametrize("name", CASES)
def test_best_is_first_minimum(name):
    s = make(name, n_evals=20)
    drive(s, f=lambda U: np.round(bowl(U), 1))  # many ties
    u, v = s.best
    y = s.y_told
    assert v == y.min()
    np.testing.assert_array_equal(u, s.U_told[int(np.argmin(y))])


@pytest.mark.parametrize("name", CASES)
def test_nan_and_inf_values_are_handled(name):
    def failing(U):
        y = bowl(U)
        y[(np.floor(U[:, 0] * 10) % 3) == 0] = np.nan
        y[(np.floor(U[:, 1] * 10) % 4) == 1] = np.inf
        return y

    s = make(name, n_evals=30)
    with np.errstate(invalid="raise", divide="raise", over="raise"):
        drive(s, f=failing)
    assert s.stop_reason in STOP_REASONS
    y = s.y_told
    if np.isfinite(y).any():
        assert s.best[1] == np.min(y[np.isfinite(y)])
    else:
        assert s.best is None


@pytest.mark.parametrize("name", CASES)
def test_all_nan_values(name):
    s = make(name, n_evals=20)
    drive(s, f=lambda U: np.full(len(U), np.nan))
    assert s.stop_reason in STOP_REASONS
    assert s.best is None
    res = s.result()
    assert not res.success and np.isnan(res.fun)


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_asks(name):
    a = drive(make(name, n_evals=30, seed=123), max_points=3)
    b = drive(make(name, n_evals=30, seed=123), max_points=3)
    assert len(a) == len(b)
    for Ua, Ub in zip(a, b, strict=True):
        np.testing.assert_array_equal(Ua, Ub)


@pytest.mark.parametrize("name", CASES)
def test_seed_accepts_generator(name):
    a = drive(make(name, n_evals=15, seed=np.random.default_rng(5)))
    b = drive(make(name, n_evals=15, seed=np.random.default_rng(5)))
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copy_mid_run_continues_identically(name, how):
    s = make(name, n_evals=30, seed=7)
    for _ in range(3):
        U = s.ask(max_points=4)
        s.tell(U, bowl(U))
    pending = s.ask(max_points=2)  # also copy with a batch in flight
    clone = copy.deepcopy(s) if how == "deepcopy" else pickle.loads(pickle.dumps(s))
    assert clone.n_told == s.n_told
    s.tell(pending, bowl(pending))
    clone.tell(pending, bowl(pending))
    rest_a, rest_b = drive(s, max_points=3), drive(clone, max_points=3)
    assert len(rest_a) == len(rest_b)
    for Ua, Ub in zip(rest_a, rest_b, strict=True):
        np.testing.assert_array_equal(Ua, Ub)
    np.testing.assert_array_equal(s.y_told, clone.y_told)
    assert s.stop_reason == clone.stop_reason


@pytest.mark.parametrize("name", CASES)
def test_stop_request(name):
    s = make(name)
    U = s.ask(max_points=1)
    s.tell(U, bowl(U))
    s.stop()
    assert s.stop_reason == "stopped"
    assert s.ask().shape == (0, 2)
    with pytest.raises(ValueError, match="reason"):
        s.stop("because")


@pytest.mark.parametrize("name", CASES)
def test_asked_points_are_read_only_copies(name):
    s = make(name)
    U = s.ask(max_points=2)
    with pytest.raises(ValueError):
        U[0, 0] = 0.0
    s.tell(U, bowl(U))


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e300, -1e300]),
)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_fuzz_tell_values(name, data):
    s = make(name, dim=2, n_evals=18, seed=1)
    sizes = st.integers(min_value=1, max_value=5)
    while True:
        U = s.ask(max_points=data.draw(sizes))
        if len(U) == 0:
            break
        y = np.array([data.draw(values) for _ in range(len(U))], dtype=np.float64)
        s.tell(U, y)
    assert s.stop_reason in STOP_REASONS
    assert s.n_told <= 18
    y = s.y_told
    best = s.best
    if np.isfinite(y).any():
        assert best is not None and best[1] == y[np.isfinite(y)].min()
        assert np.all((best[0] >= 0) & (best[0] <= 1))
    else:
        assert best is None


@pytest.mark.parametrize("max_points", [None, 1, 3])
@pytest.mark.parametrize("name", CASES)
def test_origins_describe_every_asked_point(name, max_points):
    """Every ask states one core.records.Origin per point, of a documented kind and model."""
    from core.records import ORIGIN_KINDS, ORIGIN_MODELS, Origin

    s = make(name, n_evals=40)
    assert s.origins == ()
    n = 0
    for _ in range(10_000):
        U = s.ask(max_points=max_points)
        assert len(s.origins) == len(U)
        if len(U) == 0:
            break
        for o in s.origins:
            assert isinstance(o, Origin) and o.kind in ORIGIN_KINDS
            assert o.model is None or o.model in ORIGIN_MODELS
            assert np.isnan(o.prediction) or o.model is not None
            assert o.parent is None or 0 <= o.parent < n
            assert o.path is None or o.path.shape[1] == s.dim
            pickle.loads(pickle.dumps(o))
        n += len(U)
        s.tell(U, bowl(U))
    assert s.origins == ()


@pytest.mark.parametrize("name", NAMES)
def test_option_choices_are_the_values_the_strategy_accepts(name):
    """Front ends offer ``option_choices``: each value builds the strategy, the default is one
    of them, and a value outside them is refused."""
    from core.strategies import strategy_options

    cls = STRATEGIES[name]
    defaults = strategy_options(name)
    for option, choices in cls.option_choices.items():
        assert option in defaults and choices
        assert defaults[option] is None or defaults[option] in choices
        for value in choices:
            kw = {option: value}
            make_strategy(name, 2, max(50, cls.min_budget(2, **kw)), seed=0, **kw)
        with pytest.raises((TypeError, ValueError)):
            make_strategy(name, 2, 50, seed=0, **{option: "no such value"})
