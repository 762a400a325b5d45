"""The CLI as users meet it: one value per option, and output that goes away or was never there.

Each test runs ``python -m core`` (in process or in a subprocess) the way a shell user would and
checks the exit code and the words of the message.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import EXIT_BROKEN_PIPE, main

ROOT = Path(__file__).resolve().parents[2]
RUN = ("run", "--objective", "rosenbrock", "--method", "sparse_grid", "--budget", "30",
       "--no-progress")


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


@pytest.mark.parametrize(
    ("extra", "first", "second"),
    [
        (["--option", "degree=3", "--option", "degree=5"], "--option degree=3",
         "--option degree=5"),
        (["--gamma", "0.5", "--option", "gamma=0.9"], "--gamma 0.5", "--option gamma=0.9"),
        (["--option", "gamma=0.9", "--gamma", "0.5"], "--gamma 0.5", "--option gamma=0.9"),
        (["--optimizer", "lbfgsb", "--option", "optimizer=newton"], "--optimizer lbfgsb",
         "--option optimizer=newton"),
        (["--gamma", "0.5", "--gamma", "0.6"], "--gamma 0.5", "--gamma 0.6"),
    ],
)
def test_an_option_given_twice_is_an_error_naming_both(tmp_path, extra, first, second):
    journal = tmp_path / "run.jsonl"
    code, out, err = _cli(*RUN, "--journal", str(journal), *extra)
    assert code == 2, err
    assert "given twice" in err and first in err and second in err, err
    assert out == "" and not journal.exists()  # refused before anything ran


def test_distinct_options_still_combine():
    code, out, err = _cli(*RUN, "--gamma", "0.5", "--option", "degree=5")
    assert code == 0, err
    assert "given twice" not in err


@pytest.mark.processes
def test_a_reader_that_goes_away_ends_the_cli_quietly():
    """`python -m core list | head -1`: the pipe's reader is gone before the CLI writes."""
    read, write = os.pipe()
    os.close(read)  # no reader at all: every write fails with EPIPE, deterministically
    try:
        proc = subprocess.run([sys.executable, "-m", "core", "list"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT,
                              env=_env())
    finally:
        os.close(write)
    assert proc.returncode == EXIT_BROKEN_PIPE == 141
    assert proc.stderr == "", proc.stderr  # no "the run failed: BrokenPipeError", no traceback


def test_a_pipe_that_breaks_during_the_output_is_quiet_in_process():
    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    code = main(["list"], out=Gone(), err=err)
    assert code == EXIT_BROKEN_PIPE and err.getvalue() == ""


@pytest.mark.processes
def test_closed_standard_output_is_said_in_words():
    proc = subprocess.run(f"{sys.executable} -m core list >&-", shell=True, text=True,
                          stderr=subprocess.PIPE, timeout=120, cwd=ROOT, env=_env())
    assert proc.returncode == 1
    assert "standard output is closed" in proc.stderr
    assert "AttributeError" not in proc.stderr and "Traceback" not in proc.stderr


def test_the_table_says_why_budget_is_left():
    code, out, err = _cli("run", "--objective", "rosenbrock", "--method", "grid", "--budget",
                          "10", "--no-progress")
    assert code == 0, err
    assert "9 of 10" in out
    assert "stop detail" in out and "3^2 = 9 points" in out and "4^2 = 16" in out
