"""An optuna study and a 3-D run in Debian's Chromium: the importance bars beside the parallel
coordinates.

Run with ``pytest -m ui``. The pages are served in this process; every wait is on a condition
of the page.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import CHROMIUM_ARGS, ROOT  # noqa: F401  (the recipe's fixtures)
from test_explore_browser import open_served

pytestmark = pytest.mark.ui

LEN_IS_JS = """([name, column, n]) => {
  const m = Bokeh.documents[0].get_model_by_name(name);
  return m != null && m.data[column].length === n;
}"""
DATA_JS = """([name, column]) => {
  const m = Bokeh.documents[0].get_model_by_name(name);
  return m ? Array.from(m.data[column]) : null;
}"""
DRAWN_JS = """(name) => {
  const fig = Bokeh.documents[0].get_model_by_name(name);
  return fig != null && Bokeh.index.find_one_by_id(fig.id) != null;
}"""


def _local_only(requests):
    outside = [r for r in requests if not r.startswith(("http://127.0.0.1:", "ws://127.0.0.1:",
                                                         "data:", "blob:"))]
    assert not outside, outside


def test_an_optuna_study_shows_its_trials_and_their_importance(page, served, tmp_path):
    import optuna

    from explorer.explore import explore

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = tmp_path / "study.db"
    study = optuna.create_study(study_name="<demo>", storage=f"sqlite:///{db}",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        width = trial.suggest_int("width", 8, 256, log=True)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        drop = trial.suggest_float("dropout", 0.0, 0.5)
        if trial.number == 5:
            raise optuna.TrialPruned()
        return (lr - 0.01) ** 2 * 1e4 + 0.001 * width + (act == "tanh") * 0.1 + drop

    study.optimize(objective, n_trials=30)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    apps = []

    def factory():
        app = explore(study=f"sqlite:///{db}", study_name="<demo>")
        app.session.speed = 60  # the replay itself, not the teaching pace
        apps.append(app)
        return app

    errors, requests = open_served(page, served(factory))
    n = 29
    page.wait_for_function(DRAWN_JS, arg="importance", timeout=60_000)
    page.get_by_role("button", name="Play").first.click()
    page.wait_for_function(LEN_IS_JS, arg=["importance-bars", "name", 4], timeout=60_000)
    page.wait_for_function("() => /evaluations: 29\\//.test(Bokeh.documents[0]"
                           ".get_model_by_name('status').text)", timeout=60_000)
    names = page.evaluate(DATA_JS, ["importance-bars", "name"])
    assert sorted(names) == ["act", "dropout", "lr", "width"]
    totals = page.evaluate(DATA_JS, ["importance-bars", "total"])
    assert all(0 <= t <= 1 for t in totals) and totals == sorted(totals, reverse=True)
    page.wait_for_function(LEN_IS_JS, arg=["parallel-kept", "xs", n], timeout=60_000)
    message = page.evaluate("() => Bokeh.documents[0].get_model_by_name('message').text")
    assert "&lt;demo&gt;" in message and "1 pruned" in message  # the study's name escaped
    assert apps[-1].session.run.n == n
    page.screenshot(path=str(tmp_path / "study.png"), full_page=True)
    assert not errors, errors
    _local_only(requests)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_the_importance_chart_appears_for_a_three_dimensional_test_function(page, served):
    from explorer.explore import explore

    errors, requests = open_served(page, served(lambda: explore("rosenbrock_3d", budget=60)))
    page.wait_for_function(DRAWN_JS, arg="importance", timeout=60_000)
    page.get_by_role("button", name="Play").first.click()  # the first step is one point
    page.wait_for_function(LEN_IS_JS, arg=["importance-bars", "name", 3], timeout=60_000)
    assert sorted(page.evaluate(DATA_JS, ["importance-bars", "name"])) == ["x1", "x2", "x3"]
    assert not errors, errors
    _local_only(requests)
