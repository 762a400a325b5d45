"""explore() without a browser: your own objective, bad objectives, journals, arguments.

Pages compute inline (the ``services`` fixture): a live run evaluates inside ``play``; only the
tests of a hanging objective and of worker processes use threads, and wait for events.
"""

from __future__ import annotations

import io
import math
import threading

import numpy as np
import pytest

from core.cli import main as cli_main
from core.space import Categorical, Float, Int, SearchSpace
from explorer import explore
from explorer.objectives import UserObjective

SPACE = SearchSpace({"a": Float(0.0, 1.0), "lr": Float(1e-4, 1e-1, log=True),
                     "n": Int(1, 20)})


def bowl(config):
    return (config["a"] - 0.3) ** 2 + math.log10(config["lr"] / 1e-2) ** 2 + config["n"] / 100


def _played(app):
    """Play the page's run (inline: evaluated now) and publish it; whether it finished."""
    app.runner.play()
    app.runner.tick(0.1)
    s = app.session
    return s.run is not None and s.run.done and s.n_steps == s.run.n_frames


@pytest.fixture
def make_page(services):
    """``explore(...)`` with the inline services (unless an executor is given)."""
    made = []

    def make(*args, **kwargs):
        if "executor" not in kwargs:
            kwargs.setdefault("services", services)
        app = explore(*args, **kwargs)
        made.append(app)
        return app

    yield make
    for app in made:
        app.runner.close()


def test_a_function_of_your_own_runs_with_every_view(make_page):
    app = make_page(bowl, SPACE, budget=30, method="sparse_grid", x_dim="lr", y_dim="n")
    s = app.session
    assert s.objective_obj.kind == "user" and s.objective_obj.space == SPACE
    assert (s.x_dim, s.y_dim, s.budget) == ("lr", "n", 30)
    assert _played(app)
    run = s.run
    assert run.error is None and 0 < run.n <= 30
    y = run.y[: run.n]
    assert np.all(np.isfinite(y))
    # the values are the function's, evaluated at the recorded configurations
    for u, v in zip(run.U[: run.n], y, strict=True):
        assert v == bowl(SPACE.from_unit(u[None, :])[0])
    assert s.truth is None  # no true landscape is known: colours come from observed values
    assert s.scale is not None and s.scale.low == pytest.approx(float(y.min()))
    assert s.message == ""


def test_failures_are_recorded_and_the_page_goes_on(make_page):
    def flaky(config):
        if config["a"] > 0.6:
            raise RuntimeError("diverged <b>badly</b>")
        if config["n"] > 15:
            return float("nan")
        return bowl(config)

    app = make_page(flaky, SPACE, budget=30, method="random")
    assert _played(app)
    run = app.session.run
    failed = [i for i in range(run.n) if not np.isfinite(run.y[i])]
    assert failed and len(failed) < run.n
    evaluations = [ev for b in run.batches for ev in b.evaluations]
    messages = {ev.error for ev in evaluations if not ev.ok}
    assert any("diverged" in m for m in messages)
    assert any("non-finite" in m for m in messages)


def test_a_space_the_objective_does_not_expect_says_so(make_page):
    def wants_momentum(config):
        return config["momentum"] + config["a"]

    app = make_page(wants_momentum, SPACE, budget=12, method="random")
    assert _played(app)
    evaluations = [ev for b in app.session.run.batches for ev in b.evaluations]
    assert evaluations and not any(ev.ok for ev in evaluations)
    assert "'momentum', which the space does not have" in evaluations[0].error
    assert "a, lr, n" in evaluations[0].error


def test_a_registered_objective_with_another_space_is_reported(make_page):
    from core.objectives import OBJECTIVES

    obj = OBJECTIVES["rosenbrock"]
    app = make_page(obj, SearchSpace({"p": Float(0, 1), "q": Float(0, 1)}), race=False,
                  budget=10)
    assert "is not the objective's own" in app.session.message


def test_a_hanging_objective_never_holds_the_page():
    from explorer_testing import inline_submit

    from explorer.services import Services

    release, started = threading.Event(), threading.Event()

    def stuck(config):
        started.set()
        release.wait(120)
        return 1.0

    services = Services(submit=inline_submit)  # the live run in a worker thread
    app = explore(stuck, SPACE, budget=12, method="random", services=services)
    try:
        app.runner.play()
        assert started.wait(60)
        for _ in range(20):  # the clock keeps ticking while the evaluation hangs
            app.runner.tick(0.1)
        app.session.seed = 5  # and the page still takes a new run
        assert app.session.run is not None and app.session.message == ""
    finally:
        release.set()
        app.runner.close()
        services.close()


@pytest.mark.processes
def test_explore_in_processes():
    app = explore(bowl, SPACE, budget=12, method="random", executor="process")
    try:
        assert app.session.objective_obj.pooled
        app.runner.play()
        app.runner.worker.join(300)  # the run's thread ends with the run
        app.runner.tick(0.1)
        run = app.session.run
        assert run.done and run.n == 12 and np.all(np.isfinite(run.y[:12]))
    finally:
        app.runner.close()
        app.services.close()


def test_user_objective_passes_other_key_errors_and_pickles():
    import pickle

    def inner_key_error(config):
        return {}["missing"] if config["a"] > 2 else config["a"]

    checked = UserObjective(bowl, SPACE)
    assert pickle.loads(pickle.dumps(checked))({"a": 0.3, "lr": 1e-2, "n": 0}) == 0.0
    with pytest.raises(KeyError, match="the space does not have"):
        UserObjective(lambda c: c["zzz"], SPACE)({"a": 0.1, "lr": 1e-3, "n": 1})
    assert UserObjective(inner_key_error, SPACE)({"a": 0.1}) == 0.1


def test_arguments_that_cannot_describe_a_page():
    with pytest.raises(TypeError, match="needs `space`"):
        explore(bowl)
    with pytest.raises(TypeError, match="unknown control"):
        explore(bowl, SPACE, gamma_=0.3)
    with pytest.raises(TypeError, match="not both"):
        explore(bowl, SPACE, journal="run.jsonl")
    with pytest.raises(ValueError, match="must be a callable or one of"):
        explore("no_such_objective")
    with pytest.raises(TypeError, match="SearchSpace"):
        explore(bowl, {"a": Float(0, 1)})
    with pytest.raises(TypeError, match="not both"):
        explore(bowl, SPACE, executor="process", services=object())


def _cli_journal(tmp_path, name="run.jsonl", method="sparse_grid", budget=30):
    path = tmp_path / name
    argv = ["run", "--objective", "rosenbrock", "--method", method, "--budget", str(budget),
            "--journal", str(path), "--no-progress", "--seed", "4"]
    assert cli_main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    return path


def test_a_cli_journal_is_replayed_whole_and_only_read(tmp_path, make_page):
    from explorer.replay import load_journal

    path = _cli_journal(tmp_path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    app = make_page(journal=path)
    s = app.session
    assert (s.method, s.budget, s.seed) == ("sparse_grid", 30, 4)
    assert _played(app)
    run = s.run
    records = load_journal(path).records
    assert run.n == len(records) and run.error is None
    journal_values = sorted(r["value"] for r in records)
    assert sorted(run.y[: run.n].tolist()) == journal_values
    assert s.run.has_model and run.n_frames > 3  # refinement steps, each a frame
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("content", [b"", b"<script>alert(1)</script>\n", b"\x00\x01\x02\n"])
def test_a_bad_journal_gets_a_message_and_a_working_page(tmp_path, make_page, content):
    path = tmp_path / "<img src=x onerror=alert(1)>.jsonl"
    path.write_bytes(content)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    app = make_page(journal=path)
    s = app.session
    assert s.message.startswith("Cannot replay the journal")
    assert str(path) in s.message
    div = app.views.status.message
    assert "<img" not in div.text and "<script" not in div.text and "&lt;" in div.text
    s.objective = s.objective  # the default objective still runs
    assert _played(app)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_categorical_spaces_work_too(make_page):
    space = SearchSpace({"act": Categorical(["relu", "tanh"]), "x": Float(-1, 1),
                         "k": Int(1, 4)})
    app = make_page(lambda c: c["x"] ** 2 + (c["act"] == "tanh") + c["k"], space, budget=20,
                  method="random")
    assert _played(app)
    assert app.session.run.n == 20
