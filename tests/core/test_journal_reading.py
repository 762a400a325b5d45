"""One journal path in core: the space read back from its description, the loader, following a
growing file, the driver's read-only replay, links refused, streaming memory, deep lines."""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from core.journal import (
    JournalError,
    JournalTail,
    JournalWriter,
    follow,
    load_journal,
    read_journal,
)
from core.run import minimize, replay
from core.space import Categorical, Float, Int, SearchSpace

SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})


def rosenbrock(c: dict) -> float:
    return (1.0 - c["x"]) ** 2 + 100.0 * (c["y"] - c["x"] ** 2) ** 2


# -- the space, read back from its description ---------------------------------------------------
ODD_CHOICES = [None, True, False, 1, 1.0, -0.0, 1e300, 2**60, "a,b", 'q"uo\'te', "])", "x\ny",
               "Float(0, 1)", "log)", "日本", (1, "a"), b"raw", 1j, ""]

SPACES = {
    "float": SearchSpace({"x": Float(-2.5, 7.0)}),
    "float_odd_bounds": SearchSpace({"x": Float(0.1, 0.30000000000000004),
                                     "y": Float(-1e-300, 1e300)}),
    "log": SearchSpace({"lr": Float(1e-5, 0.1, log=True)}),
    "int": SearchSpace({"n": Int(-3, 2**53)}),
    "int_log": SearchSpace({"n": Int(1, 1000, log=True)}),
    "categorical": SearchSpace({"c": Categorical(ODD_CHOICES)}),
    "one_choice": SearchSpace({"c": Categorical(["only"])}),
    "mixed": SearchSpace({"a": Float(0, 1), "b": Int(0, 3), "c": Categorical(["x", None]),
                          "d": Float(1, 10, log=True), "e": Int(2, 64, log=True)}),
}


@pytest.mark.parametrize("space", SPACES.values(), ids=SPACES.keys())
def test_a_space_round_trips_through_its_description(space):
    description = space.describe()
    for d in (description, json.loads(json.dumps(description))):  # as a journal header holds it
        back = SearchSpace.from_description(d)
        assert back == space and back.describe() == description
        for name in space.names:
            p, q = space[name], back[name]
            assert type(p) is type(q)
            if isinstance(p, Categorical):  # same choices, same types (1, 1.0, True differ)
                assert [type(c) for c in q.choices] == [type(c) for c in p.choices]
                assert list(map(repr, q.choices)) == list(map(repr, p.choices))
            else:
                assert (q.low, q.high, q.log) == (p.low, p.high, p.log)
                assert type(q.low) is type(p.low)


@pytest.mark.parametrize("bad, message", [
    ({}, "non-empty mapping"),
    ([("x", "Float(0, 1)")], "non-empty mapping"),
    ({"x": 3}, "'x' must be described by a string"),
    ({"x": "Gaussian(0, 1)"}, r"'x' must be described as Float\(low, high"),
    ({"x": "Float(1, 0)"}, "'x'.*low < high"),
    ({"x": "Int(0.5, 3)"}, "'x'.*not a valid parameter"),
    ({"m": f"Categorical([{object()!r}])"}, "'m'.*Python literals"),
    ({"m": "Categorical([1, 1])"}, "'m'.*distinct"),
    ({"m": "Categorical(" + "[" * 100_000 + "])"}, "'m'.*not a valid parameter"),
])
def test_a_description_that_is_not_a_space_is_refused_naming_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace.from_description(bad)


# -- the loader ----------------------------------------------------------------------------------
def test_load_journal_returns_the_run_and_streams_its_records(tmp_path):
    path = tmp_path / "run.jsonl"
    res = minimize(rosenbrock, SPACE, "sparse_grid", 30, seed=4, journal=path, gamma=0.5)
    run = load_journal(path)
    assert run.space == SPACE and run.method == "sparse_grid" and run.seed == 4
    assert run.options == {"gamma": 0.5} and run.n_evals == 30 and run.max_batch is None
    assert run.n_records == res.nfev and run.complete and run.end["end"] == res.stop_reason
    assert run.n_bytes == path.stat().st_size and run.replayable == (True, "")
    assert list(run.iter_records()) == read_journal(path)[1] == run.records


def test_the_explorer_uses_cores_loader_and_error():
    import explorer.replay as page

    assert page.JournalError is JournalError and page.load_journal is load_journal
    assert page.parse_space == SearchSpace.from_description


def test_an_old_journal_without_origins_still_loads_and_replays(tmp_path):
    path = tmp_path / "old.jsonl"
    res = minimize(rosenbrock, SPACE, "random", 12, seed=1, journal=path, max_batch=4)
    lines = path.read_text().splitlines()
    old = [lines[0]] + [json.dumps({k: v for k, v in json.loads(s).items() if k != "origin"})
                        for s in lines[1:]]
    path.write_text("\n".join(old) + "\n")
    assert all("origin" not in r for r in load_journal(path).iter_records())
    history = [ev for b in replay(path) for ev in b.evaluations]
    assert [e.value for e in history] == [e.value for e in res.history]
    assert all(e.origin is not None and e.origin.kind == "sample" for e in history)


# -- following a growing file --------------------------------------------------------------------
class Writer:
    """A stand-in for another process appending to a journal: each ``wait`` (the follower's
    pause between looks) appends the next piece; ``is_set`` once everything is written and
    ``done`` is asked for. Deterministic: no threads, no clock."""

    def __init__(self, path: Path, pieces: list[bytes], stop_when_done: bool = True) -> None:
        self.path, self.pieces, self.stop_when_done = path, list(pieces), stop_when_done
        self.waits = 0

    def is_set(self) -> bool:
        return self.stop_when_done and not self.pieces

    def wait(self, seconds: float) -> bool:
        self.waits += 1
        if self.pieces:
            with open(self.path, "ab") as f:
                f.write(self.pieces.pop(0))
        return self.is_set()


def _journal_bytes(tmp_path, method="random", n_evals=12, **kw) -> tuple[bytes, object]:
    path = tmp_path / "source.jsonl"
    res = minimize(rosenbrock, SPACE, method, n_evals, seed=3, journal=path, **kw)
    return path.read_bytes(), res


def _pieces(data: bytes, n: int) -> list[bytes]:
    cuts = sorted({0, len(data)} | {len(data) * k // n + 3 for k in range(1, n)})
    return [data[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def test_follow_yields_records_as_lines_are_appended_until_told_to_stop(tmp_path):
    data, res = _journal_bytes(tmp_path)
    path = tmp_path / "live.jsonl"
    writer = Writer(path, _pieces(data, 7))
    seen = [rec["index"] for rec in follow(path, stop=writer, poll_seconds=0.0)]
    assert seen == list(range(res.nfev)) and writer.waits == 7
    assert path.read_bytes() == data  # read only


def test_follow_until_end_stops_at_the_end_line(tmp_path):
    data, res = _journal_bytes(tmp_path)
    path = tmp_path / "live.jsonl"
    path.write_bytes(data)
    never = threading.Event()
    seen = list(follow(path, stop=never, until_end=True))
    assert len(seen) == res.nfev


def test_follow_stops_on_an_event_set_meanwhile(tmp_path):
    data, _ = _journal_bytes(tmp_path)
    path = tmp_path / "live.jsonl"
    path.write_bytes(data[: len(data) // 2])
    stop = threading.Event()
    it = follow(path, stop=stop, poll_seconds=0.0)
    first = next(it)
    stop.set()
    rest = list(it)
    assert first["index"] == 0 and len(rest) >= 0
    assert all(r["index"] > 0 for r in rest)


# -- the driver's read-only replay ---------------------------------------------------------------
@pytest.mark.parametrize("method, kw", [("sparse_grid", {}), ("random", {"max_batch": 5}),
                                        ("adaptive_random", {"max_batch": 3})])
def test_replay_gives_the_journaled_run_with_its_origins(tmp_path, method, kw):
    data, res = _journal_bytes(tmp_path, method, 40, **kw)
    path = tmp_path / "run.jsonl"
    path.write_bytes(data)
    batches = list(replay(path))
    history = [ev for b in batches for ev in b.evaluations]
    assert batches[-1].stop_reason == res.stop_reason
    assert [e.value for e in history] == [e.value for e in res.history]
    assert [e.config for e in history] == [e.config for e in res.history]
    np.testing.assert_array_equal([e.u for e in history], res.U)
    assert [e.origin.to_json() for e in history] == [e.origin.to_json() for e in res.history]
    assert [e.seconds for e in history] == [e.seconds for e in res.history]  # journaled times
    assert batches[-1].best.seconds == res.history[batches[-1].best.index].seconds
    seen = []
    list(replay(path, on_evaluation=seen.append))
    assert sorted(e.seconds for e in seen) == sorted(e.seconds for e in res.history)
    assert path.read_bytes() == data


def test_replay_of_a_partial_journal_ends_where_the_file_ends(tmp_path):
    data, res = _journal_bytes(tmp_path, "random", 20, max_batch=4)
    path = tmp_path / "part.jsonl"
    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:11]))  # header + 10 evaluations: 2 whole batches and a half
    batches = list(replay(path))
    assert batches[-1].stop_reason == "stopped" and batches[-1].nfev == 8
    assert [e.value for b in batches for e in b.evaluations] == [e.value for e in res.history[:8]]


def test_replay_follows_a_growing_journal_to_its_end(tmp_path):
    data, res = _journal_bytes(tmp_path, "sparse_grid", 30)
    path = tmp_path / "live.jsonl"
    pieces = _pieces(data, 6)
    path.write_bytes(pieces.pop(0) + pieces.pop(0))  # the header and a few records are there
    writer = Writer(path, pieces, stop_when_done=False)
    batches = list(replay(path, follow=True, stop=writer, poll_seconds=0.0))
    assert batches[-1].stop_reason == res.stop_reason and writer.waits >= 4
    assert [e.value for b in batches for e in b.evaluations] == [e.value for e in res.history]


def test_replay_refuses_a_journal_of_another_run(tmp_path):
    data, _ = _journal_bytes(tmp_path, "random", 6)
    header, *rest = data.decode().splitlines(keepends=True)
    h = json.loads(header)
    h["run"]["seed"] = 99  # the same file claims another seed: other points are asked
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps(h, separators=(",", ":")) + "\n" + "".join(rest))
    with pytest.raises(JournalError, match=r"other\.jsonl: is not this run's journal"):
        list(replay(path))
    h["run"]["seed"] = "<Generator>"
    path.write_text(json.dumps(h, separators=(",", ":")) + "\n" + "".join(rest))
    with pytest.raises(JournalError, match="cannot be replayed: it was seeded with"):
        replay(path)


# -- journals never write through links ----------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_link_to_an_existing_file_is_refused_naming_the_link(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_bytes(b"")
    link = tmp_path / "run.jsonl"
    link.symlink_to(target)
    for resume in (False, True):
        with pytest.raises(FileExistsError, match=r"run\.jsonl' is a symbolic link.*precious"):
            minimize(rosenbrock, SPACE, "random", 3, seed=0, journal=link, resume=resume)
    with pytest.raises(FileExistsError, match="symbolic link"):
        JournalWriter(link)  # the open itself refuses (O_NOFOLLOW), not only the check before
    assert target.read_bytes() == b"" and link.is_symlink()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_dangling_link_is_refused_and_creates_nothing(tmp_path):
    target = tmp_path / "elsewhere" / "created.jsonl"
    target.parent.mkdir()
    link = tmp_path / "run.jsonl"
    link.symlink_to(target)
    with pytest.raises(FileExistsError, match=r"run\.jsonl' is a symbolic link"):
        minimize(rosenbrock, SPACE, "random", 3, seed=0, journal=link)
    with pytest.raises(FileExistsError, match="symbolic link"):
        JournalWriter(link)
    assert not target.exists() and link.is_symlink()


# -- every malformed line, however deep ----------------------------------------------------------
DEEP = {
    "nested_brackets": b"[" * 100_000,
    "nested_closed": b"[" * 100_000 + b"]" * 100_000,
    "nested_objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "nested_u": b'{"index":0,"u":' + b"[" * 100_000 + b"]" * 100_000 + b',"status":"ok"}',
    "huge_int": b'{"index":' + b"9" * 100_000 + b',"u":[0.5],"status":"ok"}',
}


@pytest.mark.parametrize("line", DEEP.values(), ids=DEEP.keys())
def test_a_malformed_line_of_any_depth_is_a_journal_error_naming_file_and_line(tmp_path, line):
    data, _ = _journal_bytes(tmp_path, "random", 4)
    lines = data.splitlines(keepends=True)
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"".join([*lines[:3], line + b"\n", *lines[3:]]))
    before = path.read_bytes()
    readers = [
        lambda: load_journal(path), lambda: read_journal(path), lambda: JournalTail(path).poll(),
        lambda: list(follow(path, until_end=True)), lambda: list(replay(path)),
        lambda: minimize(rosenbrock, SPACE, "random", 4, seed=3, journal=path, resume=True),
    ]
    for read in readers:
        with pytest.raises(JournalError, match=r"deep\.jsonl: line 4 is corrupt"):
            read()
    assert path.read_bytes() == before


def test_an_origin_of_no_known_kind_is_a_journal_error(tmp_path):
    data, _ = _journal_bytes(tmp_path, "random", 4)
    header, first, *rest = data.splitlines(keepends=True)
    rec = json.loads(first)
    rec["origin"] = {"kind": "guess"}
    path = tmp_path / "odd.jsonl"
    path.write_bytes(header + json.dumps(rec).encode() + b"\n" + b"".join(rest))
    with pytest.raises(JournalError, match=r"odd\.jsonl: line 2 is corrupt: `origin` must be"):
        load_journal(path)
    assert read_journal(path)[1][0]["origin"] == {"kind": "guess"}  # the format alone allows it


def test_a_deeply_nested_header_is_a_journal_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"journal":"sparse-hpo","version":1,"space":' + b"[" * 100_000 + b"\n")
    with pytest.raises(JournalError, match=r"deep\.jsonl: line 1 is corrupt"):
        load_journal(path)


# -- reading as a stream -------------------------------------------------------------------------
def write_large_journal(path: Path, n_records: int) -> None:
    """The benchmark's synthetic journal (``benchmarks/bench_journal_read.py``)."""
    import importlib.util

    where = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_journal_read.py"
    spec = importlib.util.spec_from_file_location("bench_journal_read", where)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.write_journal(path, n_records)


def _peak_reading(path: Path) -> tuple[int, int]:
    """Peak traced memory of loading the journal and streaming all its records once."""
    tracemalloc.start()
    try:
        run = load_journal(path)
        n = sum(1 for _ in run.iter_records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return n, peak


@pytest.mark.slow  # 44,000 records read under tracemalloc
def test_reading_memory_does_not_grow_with_the_journal(tmp_path):
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    write_large_journal(small, 4_000)
    write_large_journal(large, 40_000)
    assert large.stat().st_size > 9 * small.stat().st_size
    n_small, peak_small = _peak_reading(small)
    n_large, peak_large = _peak_reading(large)
    assert (n_small, n_large) == (4_000, 40_000)
    # bounded by one read chunk and a few lines, not by the file (about 9 MB here)
    from core.journal import READ_CHUNK

    assert peak_large < 4 * READ_CHUNK + 1_000_000
    assert peak_large < 1.5 * peak_small + 500_000


def test_a_followed_journal_deleted_meanwhile_is_a_journal_error(tmp_path):
    data, res = _journal_bytes(tmp_path, "random", 12, max_batch=4)
    path = tmp_path / "gone.jsonl"
    lines = data.splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:6]))

    class Deleter:  # the other process deletes the file during the follower's pause
        def is_set(self):
            return False

        def wait(self, seconds):
            path.unlink(missing_ok=True)
            return False

    with pytest.raises(JournalError, match=r"gone\.jsonl: cannot be read any more: .*deleted"):
        list(follow(path, stop=Deleter(), poll_seconds=0.0))
    path.write_bytes(b"".join(lines[:6]))
    with pytest.raises(JournalError, match="deleted or moved"):
        list(replay(path, follow=True, stop=Deleter(), poll_seconds=0.0))
