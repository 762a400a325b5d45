"""Optuna studies in the explorer: read-only loading, the space, the replayed run, following."""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from core.space import Categorical, Float, Int  # noqa: E402
from explorer.explore import explore  # noqa: E402
from explorer.study import (  # noqa: E402
    StudyObjective,
    load_study_readonly,
    study_objective,
    study_space,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 4)
    act = trial.suggest_categorical("act", ["relu", "tanh", "<gelu>"])
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    if trial.number in (4, 11):
        raise RuntimeError("diverged")  # FAIL
    if trial.number in (6, 9, 15):
        raise optuna.TrialPruned()
    return (math.log10(lr) + 2.5) ** 2 + 0.1 * layers + (act == "tanh") + dropout


def make_study(path, n=24, name="s"):
    url = f"sqlite:///{path}"
    study = optuna.create_study(study_name=name, storage=url,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=n, catch=(RuntimeError,))
    return study, url


def fingerprint(path):
    st = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def completed_in_order(study):
    trials = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    return sorted(trials, key=lambda t: (t.datetime_complete, t.number))


def test_space_from_the_trials_distributions(tmp_path):
    study, _ = make_study(tmp_path / "a.db")
    finished = [t for t in study.get_trials() if t.state.is_finished()]
    space, notes = study_space(finished)
    assert space.names == ("lr", "layers", "act", "dropout")  # the order of suggestion
    assert space["lr"] == Float(1e-4, 1e-1, log=True)
    assert space["layers"] == Int(1, 4)
    assert space["act"] == Categorical(["relu", "tanh", "<gelu>"])
    assert space["dropout"] == Float(0.0, 0.5)
    assert notes == []


def test_a_study_replays_its_completed_trials_with_their_values_read_only(tmp_path, services):
    db = tmp_path / "a.db"
    study, url = make_study(db)
    before = fingerprint(db)
    app = explore(study=url, study_name="s", services=services)
    s = app.session
    app.runner.tick(0.0)
    run = s.run
    assert run is not None and run.done and not run.error, s.message
    trials = completed_in_order(study)
    n = run.n
    assert n == len(trials) == 24 - 5
    space = s.objective_obj.space
    expected_U = space.to_unit([t.params for t in trials])
    np.testing.assert_allclose(run.U[:n], expected_U)
    np.testing.assert_allclose(run.y[:n], [t.value for t in trials])
    # the best trial is the run's best (drawn highlighted by the views)
    assert run.frames[-1].best_value == pytest.approx(study.best_value)
    # pruned and failed trials are counted in the page's message
    assert "3 pruned" in s.message and "2 fail" in s.message, s.message
    assert f"Best: trial {study.best_trial.number}" in s.message
    assert "sampler" not in s.message  # a storage does not record it
    # a model: the least-squares sparse-grid surrogate, on the landscape's model image
    assert run.has_model and run.model_kind == "sparse_grid_surrogate"
    app.runner.seek(run.n_frames - 1)
    assert s.surface is not None and np.isfinite(s.surface).all()
    # parallel coordinates and importance (4-D)
    assert app.views.parallel.visible and app.views.importance.visible
    assert app.views.parallel.view.n_total == n
    assert len(app.views.importance.source.data["name"]) == 4
    # the controls show the fixed run, disabled
    assert app.controls.method.disabled
    app.stop()
    assert fingerprint(db) == before
    assert not (tmp_path / "a.db-journal").exists() and not (tmp_path / "a.db-wal").exists()


def test_a_study_object_and_a_maximized_study(tmp_path, services):
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: -(t.suggest_float("a", 0, 1) - 0.3) ** 2
                   + t.suggest_int("b", 0, 3) + 0 * t.suggest_float("c", 1, 10, log=True),
                   n_trials=15)
    app = explore(study=study, services=services)
    app.runner.tick(0.0)
    run = app.session.run
    assert run.n == 15
    np.testing.assert_allclose(run.y[:15], [-t.value for t in completed_in_order(study)])
    assert run.frames[-1].best_value == pytest.approx(-study.best_value)
    assert "maximizes" in app.session.message and "(sampler RandomSampler)" in app.session.message
    app.stop()


def test_loading_never_creates_or_changes_a_file(tmp_path):
    missing = tmp_path / "none.db"
    with pytest.raises(FileNotFoundError):
        load_study_readonly(f"sqlite:///{missing}")
    assert not missing.exists()
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table t (x int)")
    con.commit()
    con.close()
    before = fingerprint(other)
    obj, notes = study_objective(f"sqlite:///{other}")
    assert obj is None and "Cannot show the study" in notes[0]
    assert fingerprint(other) == before
    # the page says so, and keeps working
    app = explore(study=f"sqlite:///{missing}")
    assert "Cannot show the study" in app.session.message
    assert not missing.exists()


def test_several_studies_need_a_name(tmp_path):
    db = tmp_path / "two.db"
    make_study(db, n=6, name="first")
    make_study(db, n=6, name="second")
    before = fingerprint(db)
    with pytest.raises(ValueError, match="2 studies"):
        load_study_readonly(f"sqlite:///{db}")
    with pytest.raises(ValueError, match="has no study 'third'"):
        load_study_readonly(f"sqlite:///{db}", "third")
    assert load_study_readonly(f"sqlite:///{db}", "second").study_name == "second"
    assert fingerprint(db) == before


def test_arguments_are_checked():
    with pytest.raises(TypeError, match="alone"):
        explore(lambda c: 0.0, study="sqlite:///x.db")
    with pytest.raises(TypeError, match="needs `study`"):
        explore(study_name="s")
    with pytest.raises(TypeError, match="fixed"):
        explore(study="sqlite:///x.db", budget=10)


def test_a_growing_study_is_followed(tmp_path):
    db = tmp_path / "grow.db"
    study, url = make_study(db, n=8)
    running = study.ask()  # a trial still RUNNING: the study is being optimized
    running.suggest_float("lr", 1e-4, 1e-1, log=True)
    running.suggest_int("layers", 1, 4)
    running.suggest_categorical("act", ["relu", "tanh", "<gelu>"])
    running.suggest_float("dropout", 0.0, 0.5)
    ro = load_study_readonly(url, "s")
    obj = StudyObjective(ro)
    assert obj.ended is None  # followed
    replay, batch = obj.replay_strategy()
    assert batch == 1

    def step():
        U = replay.ask(batch)
        if len(U):
            replay.tell(U, np.array([obj({}).value for _ in U]))
        return len(U)

    first = obj.n_known
    assert first == len(completed_in_order(study)) and [step() for _ in range(first)] == \
        [1] * first
    # the study grows elsewhere; the replay waits for it, then goes on
    study.optimize(objective, n_trials=3, catch=(RuntimeError,))
    assert step() == 1 and obj.n_known == len(completed_in_order(study)) > first
    study.tell(running, 1.0)  # the last running trial ends: so does the replay
    while step():
        pass
    assert replay.stop_reason == "exhausted" and obj.ended is not None
    np.testing.assert_allclose(obj.values, [t.value for t in completed_in_order(study)])
    assert obj.numbers[-1] == running.number


def test_a_running_study_in_the_page_is_live_and_reads_new_trials(tmp_path, services):
    db = tmp_path / "live.db"
    study, url = make_study(db, n=8)
    running = study.ask()
    app = explore(study=url, study_name="s", services=services)
    assert app.runner.live  # a study still running is followed
    study.optimize(objective, n_trials=4, catch=(RuntimeError,))
    study.tell(running, state=optuna.trial.TrialState.FAIL)
    app.runner.play()  # inline: evaluates every batch now; the replay reads the new trials
    app.runner.tick(0.0)
    run = app.session.run
    assert run.done and run.n == len(completed_in_order(study))
    np.testing.assert_allclose(run.y[: run.n], [t.value for t in completed_in_order(study)])
    app.stop()


def test_stepped_single_valued_and_multi_objective(services):
    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=2))

    def two(trial):
        a = trial.suggest_float("a", 0.0, 1.0, step=0.25)
        b = trial.suggest_int("b", 2, 10, step=2)
        trial.suggest_float("fixed", 3.0, 3.0)
        c = trial.suggest_float("c", 1e-3, 1.0, log=True)
        return a + b + c, -a

    study.optimize(two, n_trials=12)
    finished = study.get_trials()
    space, notes = study_space(finished)
    assert space.names == ("a", "b", "c")
    assert space["a"] == Float(0.0, 1.0) and space["b"] == Int(2, 10)
    assert any("a (step 0.25)" in n and "b (step 2)" in n for n in notes)
    assert any("one value" in n and "fixed" in n for n in notes)
    app = explore(study=study, services=services)
    app.runner.tick(0.0)
    run = app.session.run
    assert run.n == 12
    np.testing.assert_allclose(run.y[:12], [t.values[0] for t in completed_in_order(study)])
    assert "first objective" in app.session.message and "step 0.25" in app.session.message
    app.stop()


def test_an_older_schema_is_not_migrated(tmp_path):
    db = tmp_path / "old.db"
    make_study(db, n=3)
    con = sqlite3.connect(db)
    con.execute("update alembic_version set version_num = 'v3.0.0.a'")  # an old schema
    con.commit()
    con.close()
    before = fingerprint(db)
    obj, notes = study_objective(f"sqlite:///{db}", "s")
    assert obj is None and "migration" in notes[0], notes
    assert fingerprint(db) == before
