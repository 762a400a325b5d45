"""``panel serve explorer --args ...``: a journal or an optuna study chosen on the command line."""

from __future__ import annotations

import pytest
from explorer_testing import serve_explorer

from explorer.explore import serve_arguments


def test_nothing_asked_is_an_empty_page():
    assert serve_arguments([]) == {}
    assert serve_arguments(["--unrelated", "1"]) == {}


def test_journal_and_study_arguments():
    assert serve_arguments(["--journal", "run.jsonl"]) == {"journal": "run.jsonl"}
    assert serve_arguments(["--study", "sqlite:///s.db"]) == {"study": "sqlite:///s.db"}
    assert serve_arguments(["--study", "sqlite:///s.db", "--study-name", "a"]) == {
        "study": "sqlite:///s.db", "study_name": "a"}


@pytest.mark.parametrize("argv, rule", [
    (["--journal", " "], "--journal needs a value"),
    (["--study", ""], "--study needs a value"),
    (["--study-name", "a"], "--study-name needs --study"),
    (["--journal", "r.jsonl", "--study", "sqlite:///s.db"], "not both"),
])
def test_bad_arguments_are_refused_with_the_rule(argv, rule):
    with pytest.raises(SystemExit, match=rule):
        serve_arguments(argv)


@pytest.mark.slow  # a panel serve process
def test_panel_serve_shows_a_study_from_its_storage_url(tmp_path):
    import optuna
    import panel.models.location  # noqa: F401  (the client must know the page's models)
    from bokeh.client import pull_session

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = tmp_path / "study.db"
    study = optuna.create_study(study_name="<cli demo>", storage=f"sqlite:///{db}",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2
                   + t.suggest_float("y", -1, 1) ** 2, n_trials=12)
    log = tmp_path / "serve.log"
    with serve_explorer(log, "--args", "--study", f"sqlite:///{db}",
                        "--study-name", "<cli demo>") as url:
        client = pull_session(url=url)
        try:
            message = client.document.get_model_by_name("message").text
        finally:
            client.close()
    assert "&lt;cli demo&gt;" in message  # the study, its name escaped
    assert "Traceback" not in log.read_text()
