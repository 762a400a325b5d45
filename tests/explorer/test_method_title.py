"""One name for the shown method: a replayed optuna study is named as its trials, not as the
method that replays them, in the controls, the results, the race legend and the export."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from test_study import make_study  # noqa: E402

from core.strategies import STRATEGIES  # noqa: E402
from explorer.explore import explore  # noqa: E402
from explorer.model import Session  # noqa: E402


def _names(app):
    s = app.session
    legend = app.views.convergence.run_item.label
    return {
        "session": s.method_title(),
        "menu": list(s.param.method.names),  # the fixed method control's label
        "results": app.views.results.div.text,
        "legend": getattr(legend, "value", legend),
    }


@pytest.mark.parametrize("given", ["storage", "object"])
def test_a_replayed_study_is_named_as_its_trials(tmp_path, services, given):
    study, url = make_study(tmp_path / "a.db", n=12)
    app = explore(study=url if given == "storage" else study, study_name="s",
                  services=services)
    try:
        app.runner.tick(0.0)
        assert app.session.run is not None and app.session.run.done
        title = ("optuna study trials" if given == "storage"  # a storage keeps no sampler
                 else "optuna study (its sampler: RandomSampler)")
        names = _names(app)
        assert names["session"] == title
        assert names["menu"] == [title]
        assert title in names["results"] and "Random search" not in names["results"]
        assert names["legend"].startswith(title)
        from explorer.export import _title

        assert _title(app.session.run).startswith(title)
        assert STRATEGIES["random"].title not in app.controls.method.name
    finally:
        app.stop()


def test_a_method_that_runs_itself_keeps_cores_title():
    s = Session()
    assert s.method_title() == STRATEGIES[s.method].title
    assert s.method_title("random") == STRATEGIES["random"].title
