"""The run journal: round trip, resume without re-evaluation, refusals, and a real kill -9."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.journal import read_journal
from core.objectives import OBJECTIVES
from core.result import Measurement
from core.run import minimize
from core.space import Float, Int, SearchSpace

REPO = Path(__file__).resolve().parents[2]
SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})


def quadratic(config: dict) -> float:
    return (config["x"] - 0.5) ** 2 + 3.0 * (config["y"] - 1.0) ** 2


class Counting:
    """An objective that records its calls (and fails in one corner)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, config: dict) -> float | Measurement:
        self.calls.append(dict(config))
        if config["x"] >= 0.75:
            raise RuntimeError("diverged")
        value = quadratic(config)
        return Measurement(value, {"curve": np.array([value + 1.0, value]), "n": np.int64(2)})


def assert_same_run(a, b) -> None:
    assert a.nfev == b.nfev and a.nit == b.nit and a.stop_reason == b.stop_reason
    np.testing.assert_array_equal(a.U, b.U)
    np.testing.assert_array_equal(a.values, b.values)
    assert [e.status for e in a.history] == [e.status for e in b.history]
    assert [e.config for e in a.history] == [e.config for e in b.history]
    assert a.x == b.x and (a.fun == b.fun or (math.isnan(a.fun) and math.isnan(b.fun)))


def journal_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


RUN = {"method": "sparse_grid", "n_evals": 30, "seed": 4}


def run(fun, path=None, **kw):
    args = {**RUN, **kw}
    return minimize(fun, SPACE, args.pop("method"), args.pop("n_evals"), journal=path, **args)


# -- round trip ----------------------------------------------------------------------------------
def test_every_evaluation_is_journaled_with_a_header(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    res = run(Counting(), path, gamma=0.5)
    header, *records, end = journal_lines(path)
    assert end["end"] == res.stop_reason and end["nfev"] == res.nfev  # followers: it is over
    assert header["journal"] == "sparse-hpo" and header["version"] == 1
    assert header["space"] == SPACE.describe() and header["n_evals"] == 30
    assert header["run"] == {"method": "sparse_grid", "seed": 4, "options": {"gamma": 0.5}}
    assert header["max_batch"] is None and header["dim"] == 2
    assert len(records) == res.nfev and res.nfev <= 30
    assert sorted(r["index"] for r in records) == list(range(res.nfev))
    for r in records:
        ev = res.history[r["index"]]
        np.testing.assert_array_equal(np.array(r["u"]), ev.u)  # bit for bit
        assert r["config"] == ev.config and r["status"] == ev.status and r["step"] == ev.step
        if ev.ok:
            assert r["value"] == ev.value and r["info"] == {"curve": [ev.value + 1, ev.value],
                                                              "n": 2}
        else:
            assert r["value"] is None and r["error"] == "RuntimeError: diverged"
    assert res.n_failed > 0


def test_resuming_a_finished_journal_evaluates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    first = run(Counting(), path)
    again = Counting()
    second = run(again, path, resume=True)
    assert again.calls == []
    assert_same_run(first, second)
    assert [e.error for e in first.history] == [e.error for e in second.history]
    assert second.history[0].info == to_plain(first.history[0].info)
    assert len(journal_lines(path)) == 1 + first.nfev + 1  # nothing appended after the end


def to_plain(info: dict) -> dict:
    return json.loads(json.dumps(info, default=lambda o: o.tolist()))


def test_resume_after_a_torn_last_line_evaluates_only_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    reference = run(Counting(), path)
    lines = path.read_text().splitlines(keepends=True)
    k = 12
    path.write_text("".join(lines[: 1 + k]) + lines[1 + k][:25])  # killed while writing
    fun = Counting()
    resumed = run(fun, path, resume=True)
    assert len(fun.calls) == reference.nfev - k
    assert_same_run(reference, resumed)
    header, records, n_valid = read_journal(path)
    assert n_valid == path.stat().st_size and len(records) == reference.nfev
    assert sorted(r["index"] for r in records) == list(range(reference.nfev))


def test_resume_fills_holes_left_by_parallel_workers(tmp_path: Path) -> None:
    # a process pool journals in completion order and loses the evaluations in flight
    path = tmp_path / "run.jsonl"
    reference = run(Counting(), path, method="adaptive_random", n_evals=24, max_batch=4)
    header, *lines, _end = path.read_text().splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    lost = {5, 6, 13}
    kept = [
        ln
        for ln, r in zip(lines, records, strict=True)
        if r["index"] < 16 and r["index"] not in lost
    ]
    rng = np.random.default_rng(0)
    rng.shuffle(kept)
    path.write_text(header + "".join(kept))
    fun = Counting()
    resumed = run(fun, path, method="adaptive_random", n_evals=24, max_batch=4, resume=True)
    expected = [reference.history[i].config for i in sorted(lost | set(range(16, 24)))]
    assert fun.calls == expected
    assert_same_run(reference, resumed)


def test_a_stopped_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    stopped = run(Counting(), path, callback=lambda batch: batch.step == 2)
    reference = run(Counting())
    assert stopped.stop_reason == "stopped" and stopped.nfev < reference.nfev
    fun = Counting()
    resumed = run(fun, path, resume=True)
    assert len(fun.calls) == reference.nfev - stopped.nfev
    assert_same_run(reference, resumed)


def test_a_journal_of_the_renamed_sparse_grid_class_resumes(tmp_path: Path) -> None:
    """Journals of ``method="sparse_grid"`` written before its phases became a composition name
    the class ``SparseGridSearch``; the runs are the same, so they resume."""
    path = tmp_path / "run.jsonl"
    run(Counting(), path, callback=lambda batch: batch.step == 2)
    text = path.read_text()
    assert '"strategy":"ComposedSparseGrid"' in text
    path.write_text(text.replace('"strategy":"ComposedSparseGrid"',
                                 '"strategy":"SparseGridSearch"', 1))
    reference = run(Counting())
    resumed = run(Counting(), path, resume=True)
    assert_same_run(reference, resumed)
    with pytest.raises(ValueError, match="strategy: journal has 'SparseGridSearch'"):
        minimize(Counting(), SPACE, "random", 30, seed=4, journal=path, resume=True)


def test_resume_with_a_missing_journal_starts_one(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    res = run(Counting(), path, resume=True)
    assert len(journal_lines(path)) == 1 + res.nfev + 1


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seed": 5}, "seed: journal has 4, this run has 5"),
        ({"method": "random"}, "method: journal has 'sparse_grid', this run has 'random'"),
        ({"n_evals": 7}, "n_evals: journal has 6, this run has 7"),
        ({"gamma": 0.3}, "options"),
        ({"max_batch": 2}, "max_batch: journal has None, this run has 2"),
        ({"space": SearchSpace({"x": Float(-2.0, 2.0), "y": Int(-1, 3)})}, "space"),
    ],
)
def test_resume_refuses_a_journal_from_another_run(tmp_path: Path, change, field) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, n_evals=6)
    args = {**RUN, "n_evals": 6, **change}
    space = args.pop("space", SPACE)
    fun = Counting()
    with pytest.raises(ValueError, match="belongs to another run") as info:
        minimize(fun, space, args.pop("method"), args.pop("n_evals"), journal=path,
                 resume=True, **args)
    assert field in str(info.value)
    assert fun.calls == []


def test_resume_refuses_a_journal_of_another_objective_with_the_same_space(
    tmp_path: Path,
) -> None:
    path = tmp_path / "run.jsonl"
    rosenbrock = OBJECTIVES["rosenbrock"]
    minimize(rosenbrock, None, "random", 4, seed=0, journal=path)
    # a different named objective over an identical space must be refused by its name
    impostor = _Renamed(rosenbrock, "himmelblau_impostor")
    with pytest.raises(ValueError, match="belongs to another run") as info:
        minimize(impostor, None, "random", 4, seed=0, journal=path, resume=True)
    assert "objective" in str(info.value)


class _Renamed:
    def __init__(self, objective, name):
        self._objective, self.name, self.space = objective, name, objective.space

    def __call__(self, config):
        return self._objective(config)


def test_on_evaluation_sees_every_evaluation_in_completion_order(tmp_path: Path) -> None:
    seen = []
    res = minimize(quadratic, SPACE, "random", 5, seed=0, on_evaluation=seen.append)
    assert [ev.index for ev in seen] == [ev.index for ev in res.history]
    resumed = []
    path = tmp_path / "run.jsonl"
    minimize(quadratic, SPACE, "random", 5, seed=0, journal=path)
    minimize(quadratic, SPACE, "random", 5, seed=0, journal=path, resume=True,
             on_evaluation=resumed.append)
    assert len(resumed) == 5  # replayed evaluations are reported too


def test_an_existing_journal_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, n_evals=6)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="resume=True"):
        run(quadratic, path, n_evals=6)
    assert path.read_bytes() == before


def test_corrupt_or_foreign_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, n_evals=6)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1] + "{not json}\n" + "".join(lines[2:]))
    with pytest.raises(ValueError, match="line 3 is corrupt"):
        run(quadratic, path, n_evals=6, resume=True)
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(FileExistsError, match="is not a 'sparse-hpo' journal"):
        run(quadratic, other, n_evals=6, resume=True)
    assert other.read_text() == "hello\n"
    with pytest.raises(FileNotFoundError, match="directory"):
        run(quadratic, tmp_path / "missing" / "run.jsonl", n_evals=6)


def test_resume_needs_a_reproducible_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seed"):
        run(quadratic, tmp_path / "a.jsonl", seed=np.random.default_rng(0), resume=True)
    path = tmp_path / "b.jsonl"
    run(quadratic, path, method="random", seed=None, n_evals=5)
    with pytest.raises(ValueError, match="not reproducible"):
        run(quadratic, path, method="random", seed=None, n_evals=5, resume=True)


# -- kill -9 -------------------------------------------------------------------------------------
CHILD = """
import sys, time
from core.objectives import OBJECTIVES
from core.run import minimize

objective = OBJECTIVES["rosenbrock"]

def slow(config):
    time.sleep(0.03)
    return objective(config)

method, n_workers = sys.argv[2], (int(sys.argv[3]) or None)
max_batch = 4 if n_workers else None
minimize(slow, objective.space, method, 60, seed=11, journal=sys.argv[1], n_workers=n_workers,
         max_batch=max_batch)
"""


def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (Linux /proc; empty elsewhere)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_for_records(path: Path, n: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        if path.exists() and path.read_bytes().count(b"\n") >= 1 + n:
            return
        time.sleep(0.01)
    raise AssertionError(f"the child wrote fewer than {n} records in {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize(("method", "n_workers"), [("sparse_grid", 0), ("adaptive_random", 2)])
def test_kill_9_mid_run_then_resume_matches_an_uninterrupted_run(
    tmp_path: Path, method: str, n_workers: int
) -> None:
    path = tmp_path / "killed.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), method, str(n_workers)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,  # its pool workers share the session: we can find them
    )
    try:
        wait_for_records(path, 20, proc)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only, as a crash would
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # its orphaned pool workers (and the forkserver) notice and exit
    deadline = time.monotonic() + 10.0
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = session_members(proc.pid)
    for pid in leftover:  # do not leak processes even when the check fails
        os.kill(pid, signal.SIGKILL)
    assert not leftover, f"processes of the killed run still alive: {leftover}"
    header, records, n_valid = read_journal(path)
    done = {r["index"] for r in records}
    assert 20 <= len(done) < 60

    objective = OBJECTIVES["rosenbrock"]
    calls = []

    def fast(config: dict) -> float:
        calls.append(config)
        return objective(config)

    max_batch = 4 if n_workers else None
    resumed = minimize(fast, objective.space, method, 60, seed=11, journal=path, resume=True,
                       max_batch=max_batch)
    reference = minimize(objective, objective.space, method, 60, seed=11, max_batch=max_batch)
    assert_same_run(reference, resumed)
    assert len(calls) == reference.nfev - len(done)  # nothing journaled was evaluated again
    # in flight at the kill: one evaluation serially, at most a window (2 x workers) in parallel
    lost = set(range(max(done) + 1)) - done
    assert len(lost) <= (1 if not n_workers else 2 * n_workers)


# -- nothing that is not ours is ever overwritten ------------------------------------------------
FOREIGN = {
    "json.dump without newline": b'{"results": [1, 2, 3]}',
    "json with newline": b'{"results": [1, 2, 3]}\n',
    "csv": b"x,y\n1,2\n",
    "one byte": b"x",
    "binary": bytes(range(256)),
    "other journal-like key order": b'{"version":1,"journal":"sparse-hpo"}\n',
}


@pytest.mark.parametrize("resume", [False, True])
@pytest.mark.parametrize("content", FOREIGN.values(), ids=FOREIGN.keys())
def test_an_existing_file_that_is_not_a_journal_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes, resume: bool
) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(content)
    fun = Counting()
    with pytest.raises(FileExistsError, match=r"results\.json.*is not a 'sparse-hpo' journal"):
        run(fun, path, n_evals=6, resume=resume)
    assert path.read_bytes() == content
    assert fun.calls == []


def test_a_directory_is_refused_as_journal(tmp_path: Path) -> None:
    with pytest.raises(FileExistsError, match="is a directory"):
        run(quadratic, tmp_path, n_evals=4)


def test_a_journal_killed_while_writing_its_header_is_restarted(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    reference = run(quadratic, path, n_evals=6)
    header_line = path.read_bytes().split(b"\n")[0]
    path.write_bytes(header_line[:40])  # a torn header: ours, holds no run
    resumed = run(quadratic, path, n_evals=6)
    assert_same_run(reference, resumed)
    assert read_journal(path)[0]["journal"] == "sparse-hpo"


# -- errors that name the file, the line and what was expected -----------------------------------
TAMPERED = {
    "binary": (b"\xff\xfe\x00garbage", r"line 3 is corrupt: expected UTF-8 text"),
    "not json": (b"{not json}", r"line 3 is corrupt: expected an evaluation record"),
    "a list": (b"[1, 2]", r"line 3 is corrupt: expected an evaluation record.*got b'\[1, 2\]'"),
    "index text": (
        b'{"index": "3", "u": [0.5, 0.5], "status": "ok"}',
        r"line 3 is corrupt: 'index' must be an int >= 0, got '3'",
    ),
    "u text": (
        b'{"index": 3, "u": "0.5", "status": "ok"}',
        r"line 3 is corrupt: 'u' must be a list of numbers",
    ),
    "value text": (
        b'{"index": 3, "u": [0.5], "status": "ok", "value": "0.1"}',
        r"line 3 is corrupt: 'value' of an 'ok' evaluation must be a finite number, got '0\.1'",
    ),
    "value missing": (
        b'{"index": 3, "u": [0.5], "status": "ok"}',
        r"line 3 is corrupt: 'value' of an 'ok' evaluation must be a finite number, got None",
    ),
    "status": (
        b'{"index": 3, "u": [0.5], "status": "great"}',
        r"line 3 is corrupt: 'status' must be 'ok' or 'failed', got 'great'",
    ),
}


@pytest.mark.parametrize(("line", "message"), TAMPERED.values(), ids=TAMPERED.keys())
def test_a_tampered_line_names_file_line_and_expectation(
    tmp_path: Path, line: bytes, message: str
) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, n_evals=6)
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([*lines[:2], line, *lines[2:]]))
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"run\.jsonl: " + message):
        run(quadratic, path, n_evals=6, resume=True)
    with pytest.raises(ValueError, match=message):
        read_journal(path)
    assert path.read_bytes() == before


def test_a_journal_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, n_evals=6)
    text = path.read_text().replace('"version":1', '"version":7', 1)
    path.write_text(text)
    with pytest.raises(ValueError, match=r"run\.jsonl: line 1 has journal version 7"):
        run(quadratic, path, n_evals=6, resume=True)
    assert path.read_text() == text


# -- following a journal that is still being written ---------------------------------------------
def test_journal_tail_returns_each_complete_record_once(tmp_path: Path) -> None:
    from core.journal import JournalTail

    path = tmp_path / "run.jsonl"
    tail = JournalTail(path)
    assert tail.poll() == [] and tail.header is None  # not created yet
    reference = run(quadratic, path, n_evals=9)
    data = path.read_bytes()
    path.write_bytes(b"")
    seen: list[dict] = []
    # replay the file as a writer would produce it, cut at arbitrary byte positions
    cuts = sorted({0, 7, 40, len(data) // 3, len(data) // 3 + 1, len(data) - 5, len(data)})
    for a, b in zip(cuts, cuts[1:], strict=False):
        with open(path, "ab") as f:
            f.write(data[a:b])
        seen += tail.poll()
    assert tail.header is not None and tail.header["n_evals"] == 9
    assert [r["index"] for r in seen] == list(range(reference.nfev))
    assert tail.offset == len(data) and tail.poll() == []
    assert seen == read_journal(path)[1]


def test_journal_tail_refuses_a_foreign_or_shrinking_file(tmp_path: Path) -> None:
    from core.journal import JournalError, JournalTail

    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello")  # no newline yet: still recognisably not a journal
    with pytest.raises(JournalError, match=r"notes\.txt: line 1 is not a journal header"):
        JournalTail(path).poll()
    path = tmp_path / "run.jsonl"
    run(quadratic, path, method="random", n_evals=4)
    tail = JournalTail(path)
    assert len(tail.poll()) == 4
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(JournalError, match="shrank"):
        tail.poll()


def test_two_runs_never_append_to_one_journal_at_once(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    refused: list[BaseException] = []

    def second_run(batch) -> None:
        if not refused:  # while the first run holds the journal
            with pytest.raises(BlockingIOError, match="is in use by another run") as info:
                run(quadratic, path, method="random", n_evals=8, resume=True)
            refused.append(info.value)

    first = run(quadratic, path, method="random", n_evals=8, callback=second_run)
    assert refused and first.nfev == 8
    header, records, _ = read_journal(path)
    assert sorted(r["index"] for r in records) == list(range(8))
    again = run(quadratic, path, method="random", n_evals=8, resume=True)  # lock released
    assert_same_run(first, again)


def test_a_record_moved_to_another_point_is_refused_naming_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(quadratic, path, method="random", n_evals=5)
    header, *lines = path.read_text().splitlines()
    rec = json.loads(lines[2])
    rec["u"] = [0.5, 0.5]
    path.write_text("\n".join([header, *lines[:2], json.dumps(rec), *lines[3:]]) + "\n")
    with pytest.raises(ValueError, match=rf"cannot resume from '.*run\.jsonl': evaluation "
                                         rf"{rec['index']} in the journal is at u=\[0\.5, 0\.5\]"):
        run(quadratic, path, method="random", n_evals=5, resume=True)


def test_followers_learn_when_a_run_ends_and_when_it_goes_on(tmp_path: Path) -> None:
    from core.journal import JournalTail

    path = tmp_path / "run.jsonl"
    tail = JournalTail(path)
    stopped = run(quadratic, path, method="random", n_evals=9, max_batch=3,
                  callback=lambda batch: batch.nfev >= 3)
    assert stopped.stop_reason == "stopped"
    assert len(tail.poll()) == stopped.nfev and tail.end["end"] == "stopped"
    finished = run(quadratic, path, method="random", n_evals=9, max_batch=3, resume=True)
    assert len(tail.poll()) == 9 - stopped.nfev and finished.nfev == 9
    assert tail.end["end"] == "budget" and tail.end["nfev"] == 9
    with open(path, "ab") as f:  # a line of a run that goes on: no longer over
        f.write(path.read_bytes().splitlines(keepends=True)[1])
    assert len(tail.poll()) == 1 and tail.end is None
