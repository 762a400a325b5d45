"""Provenance of asked points (core.records.Origin): what strategies say about each point, as
the driver records it and a journal keeps it."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from core.records import ORIGIN_KINDS, Evaluation, Origin, Selection
from core.run import iterate, minimize
from core.space import Float, SearchSpace
from core.strategies import make_strategy
from core.surrogate import fit_surrogate

SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})


def rosenbrock(c: dict) -> float:
    return (1.0 - c["x"]) ** 2 + 100.0 * (c["y"] - c["x"] ** 2) ** 2


def _history(method: str, n_evals: int, **options) -> tuple:
    strategy = make_strategy(method, SPACE.dim, n_evals, seed=3, **options)
    history = []
    for batch in iterate(rosenbrock, SPACE, strategy):
        history.extend(batch.evaluations)
    return history, strategy


def test_origin_json_and_pickle_round_trip():
    sel = Selection(2, 4, [0, 1, 4], [1, 0, 2], [2, 3, 3], [0, 1, 0], [1.5, math.inf, 0.5], 0.85)
    o = Origin("grid", parent=4, refinement=2, levels=[1, 2], indices=[1, 3],
               box=[[0.25, 0.0], [0.75, 0.5]], stage=3, restart=1, source="refinement 2",
               selection=sel)
    text = json.dumps(o.to_json(), allow_nan=False)  # strict JSON: no NaN or inf tokens
    back = Origin.from_json(json.loads(text))
    assert back.to_json() == o.to_json()
    assert back.selection.scores[1] == math.inf
    c = Origin("candidate", 0.25, "sparse_grid_surrogate", [[0.5, 0.5], [0.4, 0.6]])
    assert Origin.from_json(json.loads(json.dumps(c.to_json()))).to_json() == c.to_json()
    assert math.isnan(Origin.from_json({"kind": "sample"}).prediction)
    assert pickle.loads(pickle.dumps(o)).to_json() == o.to_json()
    with pytest.raises(ValueError, match="kind"):
        Origin("guess")
    with pytest.raises(ValueError, match="model"):
        Origin("candidate", 1.0, "oracle")
    with pytest.raises(ValueError, match="unknown origin field"):
        Origin.from_json({"kind": "sample", "colour": "red"})
    with pytest.raises(ValueError, match="shape"):
        Selection(1, 0, [0, 1], [0], [0, 0], [0, 0], [1.0, 2.0], 0.5)
    with pytest.raises(TypeError, match="origin"):
        Evaluation(0, {}, [0.5], 1.0, 0.0, "ok", origin="grid")


@pytest.mark.parametrize("options", [{"variant": "thesis"}, {}, {"local_search": True}])
def test_sparse_grid_origins_point_to_earlier_evaluations(options):
    history, strategy = _history("sparse_grid", 150, **options)
    assert all(ev.origin is not None for ev in history)
    kinds = {ev.origin.kind for ev in history}
    assert {"grid", "candidate"} <= kinds <= set(ORIGIN_KINDS)
    for ev in history:
        o = ev.origin
        if o.kind == "grid":
            assert o.levels.shape == o.indices.shape == (2,)
            if o.refinement == 0:
                assert o.parent is None
            else:  # a refinement's child: the refined point was evaluated before
                assert 0 <= o.parent < ev.index
                # (a zoom stage's centre may be a point told before the stage, of any kind)
        if o.selection is not None:
            sel = o.selection
            assert sel.refined == o.parent
            assert np.all(sel.candidates < ev.index)
            assert int(sel.candidates[np.argmin(sel.scores)]) == sel.refined
    if options.get("local_search"):
        assert "local_step" in kinds and max(ev.origin.restart for ev in history) >= 1


def test_grid_points_sit_at_their_levels_and_indices_in_their_box():
    history, _ = _history("sparse_grid", 150)
    n = 0
    for ev in history:
        o = ev.origin
        if o.kind != "grid":
            continue
        v = o.indices / 2.0 ** o.levels
        lo, hi = (np.zeros(2), np.ones(2)) if o.box is None else o.box
        np.testing.assert_allclose(ev.u, lo + v * (hi - lo), atol=1e-12)
        n += 1
    assert n > 50 and any(ev.origin.box is not None for ev in history)


def test_stage0_selection_equals_the_generators_record():
    history, strategy = _history("sparse_grid", 60, variant="thesis")
    records = {r.step: r for r in strategy.generator.history}
    selections = [ev.origin.selection for ev in history if ev.origin.selection is not None]
    assert len(selections) == len(records) > 5
    for sel in selections:
        rec = records[sel.step]
        assert sel.refined == rec.refined
        np.testing.assert_array_equal(sel.candidates, np.arange(rec.n_points))
        np.testing.assert_array_equal(sel.scores, rec.scores)
        np.testing.assert_array_equal(sel.ranks, rec.ranks)
        np.testing.assert_array_equal(sel.levels, rec.level_sums)
        np.testing.assert_array_equal(sel.n_refinements, rec.n_refinements)


def test_candidate_predictions_equal_the_surrogate_at_the_point():
    """Stage 0: the surrogate refitted from the grid points' origins (levels, indices, values)
    gives the candidate's prediction; every stage: the stage's own surrogate does, in the
    stage's box coordinates."""
    history, strategy = _history("sparse_grid", 150)
    grid0 = [ev for ev in history if ev.origin.kind == "grid" and ev.origin.stage == 0]
    cands = [ev for ev in history if ev.origin.kind == "candidate"]
    assert cands and any(ev.origin.stage > 0 for ev in cands)
    levels = np.array([ev.origin.levels for ev in grid0])
    indices = np.array([ev.origin.indices for ev in grid0])
    values = np.array([ev.value for ev in grid0])

    def stage0_surrogate(source: str):
        # a candidate of a coarser stage ("lbfgsb[m pts]") was found on the first m points
        m = int(source.split("[")[1].split()[0]) if "[" in source else len(grid0)
        return fit_surrogate(levels[:m], indices[:m], values[:m], degree=3)

    searches = {}

    def walk(search, number):  # the stage numbering of Origin.stage (nested stages too)
        stages = getattr(search, "stages", None)  # a wrapper: its stages, else one grid
        if stages is None:
            searches[number] = search
            return
        for base, (_, _, child) in zip(search._stage_base, stages, strict=True):
            walk(child, number + base)

    walk(strategy, 0)
    assert len(searches) == strategy.n_searches
    for ev in cands:
        o = ev.origin
        assert o.model == "sparse_grid_surrogate" and np.isfinite(o.prediction)
        np.testing.assert_array_equal(o.path[-1], ev.u)
        lo, hi = (np.zeros(2), np.ones(2)) if o.box is None else o.box
        v = (ev.u - lo) / (hi - lo)
        if o.stage == 0:
            sur = stage0_surrogate(o.source)
            assert float(sur(v[None, :])[0]) == pytest.approx(o.prediction, rel=1e-9, abs=1e-12)
        elif "[" not in o.source:
            stage_sur = searches[o.stage].surrogate
            assert float(stage_sur(v[None, :])[0]) == pytest.approx(
                o.prediction, rel=1e-9, abs=1e-9
            )


def test_adaptive_random_selections_equal_step_records():
    history, strategy = _history("adaptive_random", 60)
    sels = [ev.origin.selection for ev in history if ev.origin.selection is not None]
    assert len(sels) == sum(1 for k in range(1, strategy.n_steps + 1)
                            if not strategy.step_record(k).converged)
    for sel in sels:
        rec = strategy.step_record(sel.step)
        assert sel.refined == rec.refined and sel.level_kind == "point_level"
        np.testing.assert_array_equal(sel.scores, rec.scores)
    for ev in history:
        if ev.origin.kind == "neighbourhood":
            assert 0 <= ev.origin.parent < ev.index


def test_bayesian_acquisitions_carry_the_posterior_mean():
    history, strategy = _history("bayesian", 12, n_samples=200, n_starts=2)
    acq = [ev for ev in history if ev.origin.kind == "acquisition"]
    assert acq and all(ev.origin.model == "gp_posterior" for ev in acq)
    assert all(np.isfinite(ev.origin.prediction) for ev in acq)


@pytest.mark.parametrize("method", ["sparse_grid", "adaptive_random", "bayesian"])
def test_origins_round_trip_through_a_journal_and_resume(tmp_path, method):
    from core.journal import read_journal

    options = {"n_samples": 200, "n_starts": 2} if method == "bayesian" else {}
    path = tmp_path / "run.jsonl"
    res = minimize(rosenbrock, SPACE, method, 40, seed=5, journal=path, **options)
    _, records, _ = read_journal(path)
    by_index = {r["index"]: r for r in records}
    for ev in res.history:  # all but a selection's arrays (they grow with the run's square)
        journaled = ev.origin.to_json()
        journaled.pop("selection", None)
        assert Origin.from_json(by_index[ev.index]["origin"]).to_json() == journaled
    # a resumed run (from the first half of the journal) restores the same origins
    lines = path.read_text().splitlines(keepends=True)
    half = tmp_path / "half.jsonl"
    half.write_text("".join(lines[: 1 + len(lines) // 2]))
    again = minimize(rosenbrock, SPACE, method, 40, seed=5, journal=half, resume=True, **options)
    assert [e.origin.to_json() for e in again.history] == [
        e.origin.to_json() for e in res.history
    ]


def test_indices_stay_history_indices_when_repeated_configurations_are_skipped():
    """On an integer space many proposals repeat a configuration; they are told without an
    evaluation, so the strategy's told order and the history differ: origins still refer to
    history indices (checked against the configurations they name)."""
    from core.space import Int

    space = SearchSpace({"a": Int(0, 6), "b": Int(0, 6)})
    res = minimize(lambda c: (c["a"] - 2) ** 2 + (c["b"] - 4) ** 2 + 0.1 * c["a"], space,
                   "sparse_grid", 40, seed=0, variant="thesis")
    history = res.history
    selections = 0
    for ev in history:
        o = ev.origin
        if o.parent is not None:
            assert 0 <= o.parent < ev.index
        if o.selection is not None:
            selections += 1
            sel = o.selection
            assert sel.refined == o.parent and np.all(sel.candidates < ev.index)
            # the refined point is the best-ranked candidate of the criterion's inputs
            assert int(sel.candidates[np.argmin(sel.scores)]) == sel.refined
            ranked = sel.candidates[np.argsort(sel.ranks, kind="stable")]
            values = [history[i].value for i in ranked]
            assert values == sorted(values)  # ranks follow the candidates' own values
    assert selections > 3
