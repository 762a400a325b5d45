"""Both sparse grids in the race: entries, labels, the played run marked, the race sentence."""

from __future__ import annotations

import html

import pytest
from explorer_testing import wait_until

from explorer.app import ExplorerApp
from explorer.background import entry_key, entry_of, race_entries
from explorer.engine import RaceResult
from explorer.model import Session
from explorer.views.status import live_note, race_sentence
from explorer.views.tables import entry_description, entry_title


def settle(app, timeout=120.0):
    s = app.session
    wait_until(lambda: s.run is not None and s.run.done, timeout,
               tick=lambda: app.runner.tick(0.05))
    app.runner.tick(0.0)  # the first look submits the race (inline: computes), this one reads


def test_each_sparse_grid_variant_is_an_entry_with_its_own_label():
    entries = race_entries()
    assert entries["sparse_grid:thesis"] == ("sparse_grid", "thesis")
    assert entries["sparse_grid:zoom"] == ("sparse_grid", "zoom")
    assert "sparse_grid" not in entries and "bayesian" in entries
    assert entry_title("sparse_grid:thesis") == "Sparse grid (slides)"
    assert entry_title("sparse_grid:zoom") == "Sparse grid + local model (default)"
    assert entry_title("bayesian") == "Bayesian optimization"
    assert "trust-region" in entry_description("sparse_grid:zoom")  # core's own words


def test_the_default_entry_takes_cores_values_of_its_variants_options():
    from explorer.objectives import variant_defaults

    s = Session(budget=100)
    assert entry_of(s.method, s.variant) == "sparse_grid:thesis"
    assert entry_key(s, "sparse_grid:thesis") == s.run_key()
    zoom = entry_key(s, "sparse_grid:zoom").strategy_options
    assert zoom["variant"] == "zoom"  # with core's optimizer of the variant (L-BFGS-B)
    assert zoom["optimizer"] == variant_defaults("sparse_grid", "zoom")["optimizer"]
    assert zoom["gamma"] == s.gamma  # the lesson's controls still apply


def test_race_shows_both_sparse_grids_and_says_how_they_compare(services):
    app = ExplorerApp(Session(budget=60), services, race=True)
    settle(app)
    s = app.session
    assert isinstance(s.race["sparse_grid:zoom"], RaceResult)
    assert "sparse_grid:thesis" not in s.race  # the animated run is that entry
    src = app.views.convergence.race["sparse_grid:zoom"]
    assert len(src.data["x"]) == 60
    text = app.views.results.div.text
    assert "Sparse grid (slides)" in text and "Sparse grid + local model (default)" in text
    assert text.count("◀ played") == 1 and "class='cur'" in text
    assert not app.views.status.race_div.visible  # the class watches the run first
    app.runner.seek(s.run.n_frames - 1)
    sentence = race_sentence(s)
    assert sentence.startswith("On Rosenbrock (2-D) with 60 evaluations")
    assert "Bayesian optimization" in sentence and "beat" in sentence
    assert html.escape(sentence) in app.views.status.race_div.text
    assert app.views.status.race_div.visible
    assert not app.views.intro.visible  # it gives its lines to the sentence: plots stay put
    app.runner.seek(0)
    assert not app.views.status.race_div.visible and app.views.intro.visible
    s.variant = "zoom"  # the default animated: the slides' grid joins the race
    settle(app)
    assert isinstance(s.race["sparse_grid:thesis"], RaceResult)
    assert "sparse_grid:zoom" not in s.race
    app.stop()


@pytest.mark.parametrize(("kind", "expected"), [("journal", "following run.jsonl"),
                                                ("study", "following Optuna study x"),
                                                ("neural_network", "training…")])
def test_live_note_names_what_is_followed(tmp_path, kind, expected):
    class Obj:
        pass

    obj = Obj()
    obj.kind = kind
    obj.path = tmp_path / "run.jsonl"
    obj.title = "Optuna study x"
    assert live_note(obj) == expected


def test_a_default_variant_run_with_other_options_is_not_called_the_default():
    from explorer.views.tables import played_title

    s = Session(budget=100)
    assert played_title(s) == "Sparse grid (slides)"
    s.variant = "zoom"  # the variant's own optimizer follows: the project's default run
    assert played_title(s) == "Sparse grid + local model (default)"
    s.optimizer = "none"  # pure grid search: not the project's default run
    assert played_title(s) == "Sparse grid (zoom, your options)"
