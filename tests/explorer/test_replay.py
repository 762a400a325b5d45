"""Journals replayed: written by the CLI and by minimize, followed live, bad files refused."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from core.cli import main as cli_main
from core.run import minimize
from core.space import Categorical, Float, Int, SearchSpace
from explorer.replay import (
    JournalError,
    JournalObjective,
    config_key,
    load_journal,
    parse_space,
)


def _cli_journal(tmp_path, *args):
    path = tmp_path / "run.jsonl"
    argv = ["run", "--objective", "rosenbrock", "--method", "sparse_grid", "--budget", "30",
            "--journal", str(path), "--no-progress", *args]
    import io

    assert cli_main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    return path


def _replay(run, **kw):
    obj = JournalObjective(run, **kw)
    return minimize(obj, run.space, run.method, run.n_evals, seed=run.seed,
                    max_batch=run.max_batch, **run.options)


def _unchanged(path):
    st = path.stat()
    return path.read_bytes(), st.st_mtime_ns, st.st_size


@pytest.mark.parametrize("space", [
    SearchSpace({"x": Float(-5, 10), "y": Float(0.1, 0.1000001)}),
    SearchSpace({"lr": Float(1e-4, 0.1, log=True), "n": Int(1, 512, log=True),
                 "k": Int(-3, 3), "act": Categorical(["relu", 2, None, 1.5, True])}),
])
def test_parse_space_inverts_describe(space):
    assert parse_space(space.describe()) == space
    assert parse_space(json.loads(json.dumps(space.describe()))) == space


@pytest.mark.parametrize("bad", [{}, {"x": "Float(0)"}, {"x": "Uniform(0, 1)"}, {"x": 3},
                                 {"x": "Float(1, 0)"}, {"x": "Categorical([os.system])"}])
def test_parse_space_refuses_what_is_not_a_space(bad):
    with pytest.raises(ValueError):
        parse_space(bad)


def test_cli_journal_replays_bit_for_bit_and_is_only_read(tmp_path):
    path = _cli_journal(tmp_path, "--gamma", "0.5")
    before = _unchanged(path)
    run = load_journal(path)
    assert (run.method, run.seed, run.n_evals, run.objective) == ("sparse_grid", 0, 30,
                                                                  "rosenbrock")
    assert run.options == {"gamma": 0.5} and run.replayable == (True, "")
    res = _replay(run, follow=False)
    by_index = {r["index"]: r for r in run.records}
    assert [ev.index for ev in res.history] == sorted(by_index)
    for ev in res.history:
        rec = by_index[ev.index]
        assert ev.u.tolist() == rec["u"] and ev.value == rec["value"]
    assert _unchanged(path) == before


def test_failed_evaluations_replay_as_failures_with_their_message(tmp_path):
    def sometimes(c):
        if c["x"] > 0.7:
            raise RuntimeError("diverged")
        return c["x"] ** 2 + c["y"]

    space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
    path = tmp_path / "f.jsonl"
    minimize(sometimes, space, "random", 20, seed=3, journal=path)
    res = _replay(load_journal(path), follow=False)
    failed = [ev for ev in res.history if not ev.ok]
    assert failed and all("diverged" in ev.error for ev in failed)
    assert all(ev.config["x"] > 0.7 for ev in failed)


def test_a_journal_being_written_is_followed(tmp_path):
    full = _cli_journal(tmp_path)
    lines = full.read_bytes().splitlines(keepends=True)
    live = tmp_path / "live.jsonl"
    live.write_bytes(b"".join(lines[:6]))  # header and 5 evaluations
    run = load_journal(live)
    assert len(run.records) == 5 and not run.complete
    obj = JournalObjective(run)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("res", _replay_with(obj, run)))
    t.start()
    try:
        assert obj.waiting.wait(60)
        with open(live, "ab") as f:  # the writer goes on, the last line in two parts
            f.write(b"".join(lines[6:-1]))
            f.write(lines[-1][:10])
            f.flush()
            assert obj.refresh() == len(lines) - 2  # the cut line is not read yet
            f.write(lines[-1][10:])
    finally:
        t.join(60)
        obj.close()
    assert not t.is_alive()
    res = out["res"]
    n = len(load_journal(full).records)
    assert res.nfev == n and all(ev.ok for ev in res.history)
    assert res.fun == min(r["value"] for r in load_journal(full).records)


def _replay_with(obj, run):
    return minimize(obj, run.space, run.method, run.n_evals, seed=run.seed,
                    max_batch=run.max_batch, **run.options)


def test_closing_stops_the_wait_and_says_why(tmp_path):
    full = _cli_journal(tmp_path)
    live = tmp_path / "live.jsonl"
    live.write_bytes(b"".join(full.read_bytes().splitlines(keepends=True)[:3]))
    run = load_journal(live)
    obj = JournalObjective(run)
    t = threading.Thread(target=lambda: _replay_with(obj, run))
    t.start()
    assert obj.waiting.wait(60)
    obj.close()
    t.join(60)
    assert not t.is_alive()
    m = obj({"x1": 0.0, "x2": 0.0})
    assert math.isnan(m.value) and "holds no evaluation" in m.info["error"]


@pytest.mark.parametrize("follow", [False, True])
def test_a_journal_of_another_run_says_its_points_are_missing(tmp_path, follow):
    path = _cli_journal(tmp_path)
    run = load_journal(path)
    run.seed, run.method = 1, "random"  # what a replay of another version would ask
    res = _replay(run, follow=follow)  # following: no wait, the journal has other points
    assert not any(ev.ok for ev in res.history)
    expected = "is not the journaled run" if follow else "holds no evaluation"
    assert expected in res.history[0].error


def _header(**kw):
    h = {"journal": "sparse-hpo", "version": 1, "space": {"x": "Float(0, 1)"},
         "strategy": "RandomSearch", "dim": 1, "n_evals": 3, "max_batch": None,
         "run": {"method": "random", "seed": 0, "options": {}}}
    h.update(kw)
    return json.dumps(h, separators=(",", ":")) + "\n"


GOOD = '{"index":0,"step":0,"u":[0.5],"config":{"x":0.5},"value":1.0,"status":"ok"}\n'


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00garbage\n", "not UTF-8|not a journal"),
    (b'{"name": "something else"}\n', "journal header"),
    (b"just text\n", "not a journal header"),
    (_header(version=2).encode(), "journal version 2"),
    ((_header() + GOOD + "{not json\n" + GOOD).encode(), "line 3 is corrupt"),
    ((_header() + '{"index":0,"u":[0.5,0.5],"config":{},"value":1,"status":"ok"}\n').encode(),
     r"line 2 .*`u` must be 1 numbers"),
    ((_header() + '{"index":-1,"u":[0.5],"config":{},"status":"ok"}\n').encode(),
     "line 2 .*'index'"),
    ((_header() + '{"index":0,"u":[0.5],"config":{},"value":"x","status":"ok"}\n').encode(),
     "'value'|`value`"),
    (_header(space={"x": "Gaussian(0, 1)"}).encode(), "line 1 .*the header's space"),
    (_header(n_evals=0).encode(), "`n_evals`"),
    (_header(dim=4).encode(), "`dim` is 4"),
])
def test_bad_files_get_a_message_naming_the_file_and_stay_unchanged(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    before = _unchanged(path)
    with pytest.raises(JournalError, match=message) as err:
        load_journal(path)
    assert str(path) in str(err.value)
    assert _unchanged(path) == before


def test_a_truncated_last_line_is_ignored_not_cut(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_bytes((_header() + GOOD).encode() + GOOD.encode()[:25])
    before = _unchanged(path)
    run = load_journal(path)
    assert len(run.records) == 1
    assert _unchanged(path) == before


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(JournalError, match="no such file"):
        load_journal(tmp_path / "nope.jsonl")
    with pytest.raises(JournalError, match="not a regular file"):
        load_journal(tmp_path)


def test_config_key_matches_the_journal_form():
    cfg = {"b": np.float64(0.1), "a": np.int64(3), "c": ("x", 1)}
    assert config_key(cfg) == config_key({"a": 3, "c": ["x", 1], "b": 0.1})
