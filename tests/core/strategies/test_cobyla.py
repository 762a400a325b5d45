"""COBYLA as the sparse grid search's local phase (``local_model="cobyla"``): the ask/tell form
of scipy's COBYLA is faithful, deterministic, pickles by replay and ends its thread when
abandoned; the composed strategy spends its budget and resumes from a journal mid-COBYLA."""

from __future__ import annotations

import gc
import pickle
import threading

import numpy as np
import pytest
from scipy.optimize import minimize as scipy_minimize

from core.run import minimize
from core.space import Float, SearchSpace
from core.strategies import make_strategy
from core.strategies._cobyla import COBYLA_RADIUS, CobylaSteps

C = np.array([0.31, 0.67, 0.42])


def f(U: np.ndarray) -> np.ndarray:
    """A curved valley with its minimum 0 at ``C`` (shape ``(n, d)`` -> ``(n,)``)."""
    Z = np.atleast_2d(U) - C[: np.shape(U)[-1]]
    return np.sum(Z**2, axis=1) + 4.0 * (Z[:, 0] - Z[:, -1] ** 2) ** 2


def drive(steps: CobylaSteps, U: np.ndarray, y: np.ndarray, n: int):
    """``n`` proposals of ``steps``, each told its value; the points and values appended."""
    rng = np.random.default_rng(0)
    for _ in range(n):
        proposal = steps.propose(U, y, rng)
        if proposal is None:
            break
        x, predicted = proposal
        assert np.isnan(predicted) and x.shape == (U.shape[1],)
        v = float(f(x[None])[0])
        steps.update(v)
        U, y = np.vstack([U, x]), np.append(y, v)
    return U, y


def test_the_steps_are_scipys_cobyla_from_the_incumbent():
    """The ask/tell form asks exactly the points scipy's COBYLA evaluates when it calls the
    objective itself, from the best told point, with the same radius and bounds."""
    U0 = np.array([[0.5, 0.5, 0.5], [0.2, 0.8, 0.4], [0.9, 0.1, 0.3]])
    y0 = f(U0)
    U, _ = drive(CobylaSteps(3, min_radius=1e-6, maxfun=40), U0, y0, 40)
    direct = []
    scipy_minimize(lambda x: direct.append(np.array(x)) or float(f(np.array(x)[None])[0]),
                   U0[np.argmin(y0)], method="COBYLA", bounds=[(0.0, 1.0)] * 3,
                   options={"rhobeg": COBYLA_RADIUS, "maxiter": 41, "tol": 1e-6})
    asked = U[3:]
    # COBYLA's first point is its start, the incumbent: told already, so answered unasked and
    # not counted against maxfun
    assert np.array_equal(direct[0], U0[np.argmin(y0)])
    assert len(asked) == 40 == len(direct) - 1
    np.testing.assert_array_equal(asked, np.array(direct[1:]))
    assert f(asked).min() < 1e-3  # and it converges on the valley's minimum


def test_a_told_point_is_answered_unasked_and_a_finished_run_proposes_nothing():
    U0 = np.array([[0.5, 0.5]])
    steps = CobylaSteps(2, min_radius=1e-3, maxfun=500)
    U, y = drive(steps, U0, f(U0), 500)
    assert steps.converged and steps.n_steps == len(U) - 1  # the start was never asked again
    assert steps.propose(U, y, np.random.default_rng(0)) is None
    assert np.max(np.abs(U[np.argmin(y)] - C[:2])) < 1e-2
    assert CobylaSteps(2).propose(U0, np.array([np.nan]), np.random.default_rng(0)) is None


@pytest.mark.parametrize("pending", [False, True])
def test_pickling_replays_the_told_values_to_the_same_state(pending):
    U0 = np.array([[0.5, 0.5, 0.5], [0.3, 0.6, 0.2]])
    original = CobylaSteps(3, maxfun=100)
    U, y = drive(original, U0, f(U0), 12)
    if pending:
        x, _ = original.propose(U, y, np.random.default_rng(0))
    copy = pickle.loads(pickle.dumps(original))
    assert copy.n_steps == original.n_steps
    if pending:  # the pending point comes back until its value is told
        assert np.array_equal(copy.propose(U, y, np.random.default_rng(0))[0], x)
        for s in (original, copy):
            s.update(float(f(x[None])[0]))
        U, y = np.vstack([U, x]), np.append(y, f(x[None]))
    a, _ = drive(original, U, y, 15)
    b, _ = drive(copy, U, y, 15)
    np.testing.assert_array_equal(a, b)


def test_an_abandoned_run_ends_its_thread():
    """The worker thread holds no reference to its CobylaSteps: dropping the instance cancels
    the COBYLA run waiting for a value."""
    U0 = np.array([[0.5, 0.5]])
    before = set(threading.enumerate())
    steps = CobylaSteps(2, maxfun=100)
    steps.propose(U0, f(U0), np.random.default_rng(0))  # the worker now waits for a value
    (worker,) = [t for t in threading.enumerate() if t not in before and t.name == "cobyla-steps"]
    del steps
    gc.collect()
    worker.join(timeout=30)
    assert not worker.is_alive()


def test_points_stay_in_the_cube_and_none_is_asked_twice():
    """COBYLA treats the box as constraints and may step outside it: its points are clipped,
    and a clipped point equal to a told one is answered unasked. With the minimum outside the
    cube's corner, every proposal is inside and distinct."""
    corner = np.array([1.05, -0.04, 1.02])

    def g(U):
        return np.sum((np.atleast_2d(U) - corner) ** 2, axis=1)

    U = np.array([[0.9, 0.1, 0.9]])
    y = g(U)
    steps = CobylaSteps(3, maxfun=60)
    rng = np.random.default_rng(0)
    while (proposal := steps.propose(U, y, rng)) is not None:
        x = proposal[0]
        steps.update(float(g(x[None])[0]))
        U, y = np.vstack([U, x]), np.append(y, g(x[None]))
    assert len(U) > 10 and U.min() >= 0.0 and U.max() <= 1.0
    gaps = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
    assert gaps.min() > 0.0
    assert np.allclose(U[np.argmin(y)], [1.0, 0.0, 1.0], atol=1e-3)


def test_maxfun_caps_the_proposals_and_a_finished_instance_pickles():
    def sphere(U):
        return np.sum((np.atleast_2d(U) - 0.3) ** 2, axis=1)

    U = np.full((1, 10), 0.5)
    y = sphere(U)
    steps = CobylaSteps(10, maxfun=3)  # below the d + 2 scipy needs: the cap is ours
    rng = np.random.default_rng(0)
    while (proposal := steps.propose(U, y, rng)) is not None:
        steps.update(float(sphere(proposal[0])[0]))
        U, y = np.vstack([U, proposal[0]]), np.append(y, sphere(proposal[0]))
    assert steps.n_steps == 3 == len(U) - 1 and steps.converged
    copy = pickle.loads(pickle.dumps(steps))
    assert copy.converged and copy.n_steps == 3 and copy.propose(U, y, rng) is None


def test_an_error_inside_scipy_surfaces_in_the_caller_and_ends_the_run(monkeypatch):
    import scipy.optimize

    def broken(*args, **kwargs):
        raise ArithmeticError("inside scipy")

    monkeypatch.setattr(scipy.optimize, "minimize", broken)
    steps = CobylaSteps(2, maxfun=10)
    U0 = np.array([[0.5, 0.5]])
    with pytest.raises(ArithmeticError, match="inside scipy"):
        steps.propose(U0, f(U0), np.random.default_rng(0))
    assert steps.converged and steps.propose(U0, f(U0), np.random.default_rng(0)) is None


def test_a_cobyla_run_leaves_the_warning_filters_alone():
    import warnings

    before = list(warnings.filters)
    minimize(fun, space(3), "sparse_grid", 40, seed=1, local_model="cobyla")
    assert warnings.filters == before


def space(dim: int) -> SearchSpace:
    return SearchSpace({f"x{i}": Float(0.0, 1.0) for i in range(dim)})


def fun(config: dict) -> float:
    u = np.array(list(config.values()))
    return float(f(u[None])[0])


@pytest.mark.parametrize(("dim", "budget"), [(2, 40), (3, 30), (3, 200)])
def test_the_sparse_grid_with_a_cobyla_phase_spends_its_budget_deterministically(dim, budget):
    runs = [minimize(fun, space(dim), "sparse_grid", budget, seed=4, local_model="cobyla")
            for _ in range(2)]
    res = runs[0]
    assert res.nfev == budget and res.stop_reason == "budget"
    np.testing.assert_array_equal(res.U, runs[1].U)
    sources = [e.origin.source for e in res.history]
    assert "cobyla" in sources  # on at any budget, unlike the quadratic phase
    # after a first global search planned for half the budget (its last zoom stage's grid may
    # end a few points short of the plan)
    assert make_strategy("sparse_grid", dim, budget, local_model="cobyla").global_budget == (
        round(0.5 * budget))
    assert 0.4 * budget <= sources.index("cobyla") <= 0.5 * budget
    default = minimize(fun, space(dim), "sparse_grid", budget, seed=4)
    assert "cobyla" not in [e.origin.source for e in default.history]


def test_a_run_stopped_inside_cobyla_resumes_to_the_same_result(tmp_path):
    ref = minimize(fun, space(3), "sparse_grid", 60, seed=2, local_model="cobyla")
    steps = [e.step for e in ref.history if e.origin.source == "cobyla"]
    stop_at = steps[len(steps) // 2]
    path = tmp_path / "run.jsonl"
    stopped = minimize(fun, space(3), "sparse_grid", 60, seed=2, local_model="cobyla",
                       journal=path, callback=lambda batch: batch.step == stop_at)
    assert stopped.stop_reason == "stopped" and stopped.nfev < ref.nfev
    calls = []
    resumed = minimize(lambda c: calls.append(c) or fun(c), space(3), "sparse_grid", 60, seed=2,
                       local_model="cobyla", journal=path, resume=True)
    assert len(calls) == ref.nfev - stopped.nfev
    np.testing.assert_array_equal(resumed.U, ref.U)
    np.testing.assert_array_equal(resumed.values, ref.values)


def test_a_strategy_pickled_inside_cobyla_continues_identically():
    """Ray Tune checkpoints pickle the whole strategy."""
    s = make_strategy("sparse_grid", 3, 60, seed=5, local_model="cobyla")
    while not any(o.source == "cobyla" for o in s.origins) or s.n_told < 40:
        U = s.ask()
        s.tell(U, f(U))
    copy = pickle.loads(pickle.dumps(s))
    a, b = [], []
    for strategy, out in ((s, a), (copy, b)):
        while len(U := strategy.ask()):
            strategy.tell(U, f(U))
            out.append(U)
    np.testing.assert_array_equal(np.vstack(a), np.vstack(b))


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"local_model": "linear"}, "`local_model` must be one of \\['cobyla', 'quadratic'\\], "
                                    "got local_model='linear'"),
        ({"local_model": "cobyla", "variant": "thesis"},
         "`local_model` must be 'quadratic' with variant='thesis', got local_model='cobyla'"),
        ({"local_model": "cobyla", "optimizer": "none"},
         "`local_model` must be 'quadratic' with optimizer='none', got local_model='cobyla'"),
    ],
)
def test_local_model_is_checked_before_the_first_evaluation(options, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_strategy("sparse_grid", 2, 40, seed=0, **options)
