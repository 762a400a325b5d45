"""Journals replayed in the explorer (its worker drives ``core.run.replay``): written by the CLI
and by minimize, followed live, bad files refused."""

from __future__ import annotations

import json
import threading

import pytest

from core.cli import main as cli_main
from core.run import minimize
from core.space import Categorical, Float, Int, SearchSpace
from explorer.replay import JournalError, JournalObjective, load_journal, parse_space


def _cli_journal(tmp_path, *args):
    path = tmp_path / "run.jsonl"
    argv = ["run", "--objective", "rosenbrock", "--method", "sparse_grid", "--budget", "30",
            "--journal", str(path), "--no-progress", *args]
    import io

    assert cli_main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    return path


def _replay(run, follow=False, stop=None):
    """The explorer's replay of ``run``: its worker's batches into a ``RunRecord``; returns
    the record and its evaluations."""
    from explorer.engine import RunKey
    from explorer.engine.record import RunRecord
    from explorer.engine.worker import make_strategy_for, record_run

    obj = JournalObjective(run, follow=follow)
    key = RunKey(obj.name, run.method, run.n_evals, run.seed,
                 tuple(sorted(run.options.items())))
    record = RunRecord(key, obj, True)
    record_run(record, make_strategy_for(key, run.space.dim), stop or threading.Event())
    return record, [ev for b in record.batches for ev in b.evaluations]


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
    record, history = _replay(run)
    by_index = {r["index"]: r for r in run.records}
    assert [ev.index for ev in history] == sorted(by_index)
    for ev in history:
        rec = by_index[ev.index]
        assert ev.u.tolist() == rec["u"] and ev.value == rec["value"]
    assert record.n_frames > 3 and record.stop_reason is not None
    assert _unchanged(path) == before


def test_failed_evaluations_replay_as_failures_with_their_message(tmp_path):
    def sometimes(c):
        if c["x"] > 0.7:
            raise RuntimeError("diverged")
        return c["x"] ** 2 + c["y"]

    space = SearchSpace({"x": Float(0, 1), "y": Float(0, 1)})
    path = tmp_path / "f.jsonl"
    minimize(sometimes, space, "random", 20, seed=3, journal=path)
    _, history = _replay(load_journal(path))
    failed = [ev for ev in history if not ev.ok]
    assert failed and all("diverged" in ev.error for ev in failed)
    assert all(ev.config["x"] > 0.7 for ev in failed)


def test_a_journal_being_written_is_followed(tmp_path):
    """A followed journal: the replay waits at the file's end and goes on as lines arrive
    (the last one in two parts); the writer's end line ends it."""
    full = _cli_journal(tmp_path)
    lines = full.read_bytes().splitlines(keepends=True)
    live = tmp_path / "live.jsonl"
    live.write_bytes(b"".join(lines[:6]))  # header and 5 evaluations
    run = load_journal(live)
    assert len(run.records) == 5 and not run.complete and run.end is None
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("res", _replay(run, follow=True)))
    t.start()
    with open(live, "ab") as f:  # the writer goes on, the last line in two parts
        f.write(b"".join(lines[6:-1]))
        f.write(lines[-1][:10])
        f.flush()
        f.write(lines[-1][10:])
    t.join(120)
    assert not t.is_alive()
    record, history = out["res"]
    records = load_journal(full).records
    assert len(history) == len(records) and all(ev.ok for ev in history)
    assert record.error is None and record.stop_reason != "stopped"
    assert min(ev.value for ev in history) == min(r["value"] for r in records)


def test_a_stop_ends_the_wait_for_a_followed_journal(tmp_path):
    full = _cli_journal(tmp_path)
    live = tmp_path / "live.jsonl"
    live.write_bytes(b"".join(full.read_bytes().splitlines(keepends=True)[:3]))
    stop = threading.Event()
    out = {}
    t = threading.Thread(target=lambda: out.setdefault(
        "res", _replay(load_journal(live), follow=True, stop=stop)))
    t.start()
    stop.set()
    t.join(120)
    assert not t.is_alive()
    record, history = out["res"]
    assert len(history) <= 2 and record.stop_reason == "stopped"


@pytest.mark.parametrize("follow", [False, True])
def test_a_journal_of_another_run_is_refused_by_name(tmp_path, follow):
    path = _cli_journal(tmp_path)
    run = load_journal(path)
    run.seed, run.method = 1, "random"  # what a replay of another version would ask
    with pytest.raises(JournalError, match="is not this run's journal"):
        _replay(run, follow=follow)  # following: no wait, the journal has other points


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
