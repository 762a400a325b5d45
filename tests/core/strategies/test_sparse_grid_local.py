"""Sparse grid search's local phase: trust-region steps on quadratic models, global restarts."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from core.run import minimize
from core.space import Float, SearchSpace
from core.strategies import ComposedSparseGrid, ZoomSearch
from core.strategies._trust_region import QuadraticTrustRegion, model_size

C = np.array([0.3141, 0.6718, 0.4142])


def rosenbrock(U: np.ndarray) -> np.ndarray:
    """Rosenbrock on [-2, 2]^d (unit-cube points), minimum 0 off every dyadic point."""
    X = -2.0 + 4.0 * U - (C[: U.shape[1]] - 0.5)
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def bowl(U: np.ndarray) -> np.ndarray:
    return np.sum((U - C[: U.shape[1]]) ** 2 * np.arange(1, U.shape[1] + 1), axis=1)


def drive(s, f, max_points=None):
    batches = []
    while len(U := s.ask(max_points=max_points)):
        batches.append(np.array(U))
        s.tell(U, f(U))
    return batches


# -- the trust region alone -----------------------------------------------------------------------
def test_model_size_counts_the_coefficients_of_a_quadratic():
    assert [model_size(d) for d in (1, 2, 5, 10)] == [3, 6, 21, 66]


def test_a_quadratic_is_modelled_exactly_and_its_minimum_reached():
    rng = np.random.default_rng(0)
    U = rng.uniform(0.2, 0.6, (12, 3))
    y = bowl(U)
    tr = QuadraticTrustRegion(3)
    steps = 0
    while (proposal := tr.propose(U, y, rng)) is not None:
        x, predicted = proposal
        value = float(bowl(x[None])[0])
        if np.isfinite(predicted):  # the model of a quadratic is the quadratic itself
            assert predicted == pytest.approx(value, abs=1e-9)
        tr.update(value)
        U, y = np.vstack([U, x]), np.append(y, value)
        steps += 1
        assert steps < 200
    assert tr.converged
    assert np.min(y) < 1e-12
    assert np.max(np.abs(U[np.argmin(y)] - C)) < 1e-6


def test_no_step_with_fewer_finite_values_than_model_points():
    rng = np.random.default_rng(1)
    U = rng.uniform(size=(8, 2))
    y = bowl(U)
    y[:2] = np.nan  # 6 finite values < 7 model points
    tr = QuadraticTrustRegion(2)
    assert tr.propose(U, y, rng) is None
    assert tr.radius is None and not tr.converged


def test_radius_halves_after_a_failed_step_and_doubles_after_a_good_one_at_the_edge():
    rng = np.random.default_rng(2)
    U = 0.5 + rng.uniform(-0.01, 0.01, (7, 2))
    y = bowl(U)
    tr = QuadraticTrustRegion(2)
    x, predicted = tr.propose(U, y, rng)
    r0 = tr.radius
    tr.update(float(np.min(y)) + 1.0)  # far worse than predicted
    assert tr.radius == pytest.approx(r0 / 2)
    x, predicted = tr.propose(U, y, rng)  # the minimum lies far outside the small box
    assert np.isfinite(predicted)
    tr.update(predicted)  # exactly as predicted, on the box's edge
    assert tr.radius == pytest.approx(r0)


def test_a_nan_value_counts_as_a_failed_step():
    rng = np.random.default_rng(3)
    U = rng.uniform(size=(10, 2))
    tr = QuadraticTrustRegion(2)
    tr.propose(U, bowl(U), rng)
    r0 = tr.radius
    tr.update(float("nan"))
    assert tr.radius == pytest.approx(r0 / 2)


# -- inside sparse grid search --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dim", "n_evals", "variant", "expected"),
    [(2, 39, "zoom", True), (2, 38, "zoom", False), (5, 139, "zoom", True),
     (5, 138, "zoom", False), (2, 200, "thesis", False)],
)
def test_the_local_phase_runs_when_the_first_global_search_holds_two_models(
    dim, n_evals, variant, expected
):
    s = ComposedSparseGrid(dim, n_evals, variant=variant)
    assert s.local_search is expected
    assert (s.global_budget < n_evals) is expected


def test_rosenbrock_valley_is_followed_to_the_minimum():
    s = ComposedSparseGrid(2, 100, seed=0)
    drive(s, rosenbrock)
    assert s.local_steps and s.local_steps[0].source.startswith("trust region")
    assert s.best[1] < 1e-6
    global_best = np.min(s.y_told[: s.global_budget])
    assert s.best[1] < 1e-3 * global_best  # the local phase did the work
    assert len(s.model_step_points) >= len(s.local_steps)
    assert s.all_candidates[-len(s.local_steps):] == s.local_steps
    for step in s.local_steps:  # each was evaluated once, its path starts at an incumbent
        assert np.sum(np.max(np.abs(s.U_told - step.u), axis=1) <= 1e-12) == 1
        assert np.max(np.abs(s.U_told - step.path[0]), axis=1).min() <= 1e-12


def test_a_converged_local_search_restarts_the_global_search():
    s = ComposedSparseGrid(2, 150, seed=0)
    drive(s, bowl)
    assert s.n_restarts >= 1
    lo, hi, child = s.zoom_stages[-1]
    np.testing.assert_array_equal(lo, 0.0)
    np.testing.assert_array_equal(hi, 1.0)
    assert isinstance(child, ZoomSearch)  # a global search, without a local phase of its own
    assert s.best[1] < 1e-12


@pytest.mark.parametrize("max_points", [None, 1, 3])
def test_budget_exact_no_point_twice_and_deterministic(max_points):
    runs = []
    for _ in range(2):
        s = ComposedSparseGrid(2, 90, seed=5)
        batches = drive(s, rosenbrock, max_points=max_points)
        assert sum(map(len, batches)) == s.n_told <= 90
        U = s.U_told
        gaps = np.max(np.abs(U[:, None] - U[None]), axis=2) + np.eye(len(U))
        assert gaps.min() > 1e-9
        runs.append(U)
    np.testing.assert_array_equal(*runs)


def test_nan_values_in_the_local_phase_are_handled():
    def holes(U):
        y = rosenbrock(U)
        y[(U[:, 0] > 0.55) & (U[:, 1] < 0.6)] = np.nan  # a failing region near the minimum
        return y

    s = ComposedSparseGrid(2, 80, seed=0)
    drive(s, holes)
    assert s.n_told <= 80 and s.stop_reason in ("budget", "exhausted")
    assert np.isfinite(s.best[1])


@pytest.mark.parametrize(
    ("option", "value", "error", "match"),
    [
        ("local_fraction", 0.0, ValueError, "`local_fraction` must be in \\(0, 1\\), got"),
        ("local_fraction", 1.5, ValueError, "`local_fraction` must be in \\(0, 1\\), got"),
        ("local_fraction", "half", TypeError, "`local_fraction` must be a float"),
        ("local_search", "yes", TypeError, "`local_search` must be a bool, got"),
    ],
)
def test_bad_local_options_are_named_before_any_evaluation(option, value, error, match):
    with pytest.raises(error, match=match):
        ComposedSparseGrid(2, 100, **{option: value})


def test_local_search_needs_a_surrogate_optimizer():
    with pytest.raises(ValueError, match="`local_search` must be False with optimizer='none'"):
        ComposedSparseGrid(2, 100, optimizer="none", local_search=True)
    assert ComposedSparseGrid(2, 100, optimizer="none").local_search is False


def test_thesis_variant_is_unchanged_by_the_local_phase():
    a = ComposedSparseGrid(2, 100, variant="thesis", seed=1)
    b = ComposedSparseGrid(2, 100, variant="thesis", local_search=False, seed=1)
    drive(a, rosenbrock)
    drive(b, rosenbrock)
    np.testing.assert_array_equal(a.U_told, b.U_told)
    assert not a.local_steps and a.global_budget == 100


SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)})


def objective(config: dict) -> float:
    u = (np.array([[config["x"], config["y"]]]) + 2.0) / 4.0
    return float(rosenbrock(u)[0])


def test_a_stopped_run_in_the_local_phase_resumes_to_the_uninterrupted_result(tmp_path: Path):
    run = dict(method="sparse_grid", n_evals=70, seed=3)
    reference = minimize(objective, SPACE, run["method"], run["n_evals"], seed=run["seed"])
    path = tmp_path / "run.jsonl"
    stop_at = reference.nit - 5  # well inside the local phase (one point per step)
    stopped = minimize(objective, SPACE, run["method"], run["n_evals"], seed=run["seed"],
                       journal=path, callback=lambda batch: batch.step == stop_at)
    assert stopped.stop_reason == "stopped" and stopped.nfev < reference.nfev
    resumed = minimize(objective, SPACE, run["method"], run["n_evals"], seed=run["seed"],
                       journal=path, resume=True)
    assert resumed.nfev == reference.nfev
    np.testing.assert_array_equal(resumed.U, reference.U)
    np.testing.assert_array_equal(resumed.values, reference.values)
    assert resumed.fun == reference.fun or (math.isnan(resumed.fun) and math.isnan(reference.fun))


def test_local_restarts_double_the_global_budget_until_a_restart_adds_nothing():
    from core.strategies._trust_region import LocalRestarts

    sched = LocalRestarts(2, 12, 100)
    assert sched.restart(n_told=12) == 24 and sched.n_restarts == 1 and sched.trust is None
    assert sched.restart(n_told=12) is None  # the restart added no point
    assert sched.restart(n_told=30) == 48
    assert sched.restart(n_told=60) == 96
    assert sched.restart(n_told=80) == 100  # at most the whole budget ...
    assert sched.restart(n_told=90) is None  # ... and a restart with it is the last
    # a step is pending only when one was proposed; tell adapts that step's trust region
    rng = np.random.default_rng(0)
    U = rng.random((8, 2))
    fresh = LocalRestarts(2, 8, 50)
    x, predicted = fresh.step(U, bowl(U), rng)
    assert np.isfinite(predicted)  # a bowl: a model step, not a geometry step
    r0 = fresh.trust.radius
    fresh.tell(float("nan"))  # a failed step halves the radius ...
    radius = fresh.trust.radius
    assert radius == 0.5 * r0
    fresh.tell(float("nan"))  # ... once: no step is pending any more
    assert fresh.trust.radius == radius
    assert LocalRestarts(2, 8, 50).step(U[:3], bowl(U[:3]), rng) is None  # too few points


def test_the_local_phase_runs_through_local_restarts():
    """Sparse grid search's local phase is its LocalRestarts (the object the ablation's Sobol
    start uses too): the restarts it counts are the search's."""
    from core.strategies._trust_region import LocalRestarts

    s = ComposedSparseGrid(2, 60, seed=0)
    assert isinstance(s.local, LocalRestarts) and s.local_search
    drive(s, rosenbrock)
    assert s.local_steps  # the run had local steps
    assert s.n_restarts == s.local.n_restarts
    assert all(c.source.startswith("trust region") for c in s.local_steps)
