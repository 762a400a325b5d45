"""Exports of a run (explorer/export.py): CSV, journal, PNG and GIF, without a browser."""

from __future__ import annotations

import csv
import io
import math
import threading

import numpy as np
import pytest
from PIL import Image

from explorer.engine import RunRecord, make_strategy_for, record_run, truth_slice
from explorer.engine.worker import animation_batch
from explorer.export import (
    GIF_SIZE,
    PNG_SIZE,
    gif_steps,
    journal_max_batch,
    plots_png,
    run_csv,
    run_gif,
    run_journal,
    session_exports,
)
from explorer.model import Session


def computed(method: str = "sparse_grid", budget: int = 40, **cfg) -> RunRecord:
    """A finished run as the explorer computes it (its animation batches)."""
    s = Session(method=method, budget=budget, **cfg)
    key = s.run_key()
    run = RunRecord(key, s.objective_obj, method == "sparse_grid")
    record_run(run, make_strategy_for(key, run.d), threading.Event(),
               max_batch=animation_batch(method, budget, live=False))
    run.done = True
    return run


@pytest.fixture(scope="module")
def sg_run() -> RunRecord:
    return computed("sparse_grid", 40, objective="himmelblau", optimizer="nelder_mead")


def test_csv_has_native_names_values_steps_and_origins(sg_run):
    rows = list(csv.DictReader(io.StringIO(run_csv(sg_run).decode("utf-8"))))
    assert len(rows) == sg_run.n
    assert list(rows[0]) == ["index", "step", "x1", "x2", "value", "status", "origin"]
    X = sg_run.space.from_unit(sg_run.U[: sg_run.n])
    for k, row in enumerate(rows):
        assert int(row["index"]) == k
        assert float(row["x1"]) == pytest.approx(X[k]["x1"])
        assert float(row["value"]) == sg_run.y[k]
    assert [int(r["step"]) for r in rows][-1] == sg_run.n_frames - 1
    assert {r["origin"] for r in rows} == {"grid", "candidate"}
    frame = sg_run.frames[3]
    assert {int(r["step"]) for r in rows[frame.start:frame.end]} == {3}


def test_csv_of_a_failed_evaluation_has_no_value():
    from core.space import Float, SearchSpace

    s = Session()
    s.add_objective(lambda c: math.nan if c["a"] > 0.5 else c["a"],
                    SearchSpace({"a": Float(0.0, 1.0)}))
    key = s.run_key("random")
    run = RunRecord(key, s.objective_obj)
    record_run(run, make_strategy_for(key, 1), threading.Event())
    rows = list(csv.DictReader(io.StringIO(run_csv(run).decode())))
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed and all(r["value"] == "" for r in failed)


@pytest.mark.parametrize("method", ["sparse_grid", "random", "adaptive_random"])
def test_journal_round_trips_through_core(tmp_path, method):
    from core.journal import load_journal
    from core.run import replay

    run = computed(method, 30, objective="rosenbrock")
    path = tmp_path / "run.jsonl"
    path.write_bytes(run_journal(run))
    loaded = load_journal(path)
    assert loaded.n_records == run.n and loaded.method == method
    assert loaded.n_evals == 30 and loaded.objective == "rosenbrock"
    assert loaded.max_batch == journal_max_batch(run)
    assert loaded.end is not None and loaded.end["nfev"] == run.n
    assert loaded.options == run.key.strategy_options
    replayed = [ev for batch in replay(path) for ev in batch.evaluations]
    np.testing.assert_array_equal(np.array([ev.u for ev in replayed]), run.U[: run.n])
    np.testing.assert_array_equal(np.array([ev.value for ev in replayed]), run.y[: run.n])


def test_journal_replays_in_the_explorer(tmp_path, services):
    from explorer.explore import explore

    run = computed("sparse_grid", 30, objective="rosenbrock")
    path = tmp_path / "run.jsonl"
    path.write_bytes(run_journal(run))
    app = explore(journal=path, services=services, follow=False)
    app.runner.tick(0.0)
    replayed = app.session.run
    assert replayed is not None and replayed.error is None
    assert replayed.n == run.n
    np.testing.assert_array_equal(replayed.U[: run.n], run.U[: run.n])
    np.testing.assert_array_equal(replayed.y[: run.n], run.y[: run.n])
    app.stop()


def test_png_has_projector_size(sg_run):
    Z = truth_slice(sg_run.objective, (0, 1), np.full(2, 0.5), 64, None)
    data = plots_png(sg_run, step=5, truth=Z, surface=Z)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.size == PNG_SIZE
    # no truth, no model, no race: still a picture
    assert Image.open(io.BytesIO(plots_png(sg_run))).size == PNG_SIZE


def test_gif_has_one_frame_per_step_up_to_the_shown_one(sg_run):
    Z = truth_slice(sg_run.objective, (0, 1), np.full(2, 0.5), 64, None)
    img = Image.open(io.BytesIO(run_gif(sg_run, step=6, truth=Z)))
    assert img.format == "GIF" and img.size == GIF_SIZE and img.n_frames == 7
    img = Image.open(io.BytesIO(run_gif(sg_run, max_frames=5, size=(320, 240))))
    assert img.size == (320, 240) and img.n_frames == 5


def test_gif_steps_keep_first_and_last():
    assert gif_steps(0, 10) == []
    assert gif_steps(4, 10) == [0, 1, 2, 3]
    steps = gif_steps(100, 10)
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 99


def test_session_exports_name_the_run(services):
    from explorer.app import ExplorerApp

    app = ExplorerApp(Session(budget=20), services, race=False)
    app.runner.tick(0.0)
    exports = session_exports(app.session)
    assert set(exports) == {"png", "csv", "journal", "gif"}
    assert exports["csv"][0] == "rosenbrock-sparse_grid-b20-s0.csv"
    assert exports["csv"][1]().startswith(b"index,step,x1,x2")
    assert app.export.buttons["journal"].filename.endswith(".jsonl")
    s = app.session
    assert s.truth is not None and s.scale is not None  # what the PNG draws
    png = Image.open(io.BytesIO(exports["png"][1]()))
    assert png.size == PNG_SIZE
    gif = Image.open(io.BytesIO(exports["gif"][1]()))
    assert gif.n_frames == min(s.step + 1, 40)
    app.stop()


def test_download_buttons_render_off_the_event_loop(services, monkeypatch):
    """The buttons' callbacks are coroutines (``FileDownload`` awaits them) that render in a
    worker thread and give the same bytes as the export functions."""
    import asyncio
    import inspect

    import explorer.export as export_module
    from explorer.app import ExplorerApp

    app = ExplorerApp(Session(budget=20), services, race=False)
    app.runner.tick(0.0)
    for kind, button in app.export.buttons.items():
        assert inspect.iscoroutinefunction(button.callback), kind
    render = session_exports(app.session)["csv"][1]
    assert asyncio.run(app.export.buttons["csv"].callback()).getvalue() == render()

    threads = []

    def spy():
        threads.append(threading.get_ident())
        return render()

    original = export_module.session_exports
    monkeypatch.setattr(export_module, "session_exports",
                        lambda session: {**original(session), "csv": ("x.csv", spy)})
    assert asyncio.run(app.export.download("csv")).getvalue() == render()
    assert threads and threads[0] != threading.get_ident()
    app.stop()


def test_a_failed_download_is_logged_not_raised(services, caplog, monkeypatch):
    import asyncio

    import explorer.export as export_module
    from explorer.app import ExplorerApp

    app = ExplorerApp(Session(budget=20), services, race=False)
    app.runner.tick(0.0)

    def broken(session):
        return {"png": ("x.png", lambda: 1 / 0)}

    monkeypatch.setattr(export_module, "session_exports", broken)
    with caplog.at_level("ERROR"):
        assert asyncio.run(app.export.download("png")) is None
        assert asyncio.run(app.export.download("gif")) is None
    assert "explorer export failed" in caplog.text
    app.stop()
