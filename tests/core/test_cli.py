"""The command-line interface, run as users run it: ``python -m core ...`` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd or ROOT, env=env,
    )


def table_field(stdout: str, name: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(name):
            return line[len(name):].strip()
    raise AssertionError(f"no {name!r} row in:\n{stdout}")


@pytest.mark.processes
def test_list_shows_objectives_methods_optimizers():
    from core.objectives import OBJECTIVES
    from core.optimizers import OPTIMIZERS
    from core.strategies import STRATEGIES

    p = run_cli("list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for name, obj in OBJECTIVES.items():
        row = next(line for line in lines if line.split()[:1] == [name])
        assert f"  {obj.space.dim}  " in row and row.rstrip().endswith(obj.metric)
    for name in [*STRATEGIES, *OPTIMIZERS, "none"]:
        assert any(line.split()[:1] == [name] for line in lines), name
    assert "options: gamma=0.85" in p.stdout  # the sparse-grid defaults are listed


@pytest.mark.processes
def test_small_run_prints_the_results_table():
    p = run_cli(
        "run", "--objective", "himmelblau", "--method", "sparse_grid", "--budget", "25",
        "--seed", "0", "--gamma", "0.5", "--optimizer", "nelder_mead",
    )
    assert p.returncode == 0, p.stderr
    assert table_field(p.stdout, "failures") == "0"
    x1 = float(table_field(p.stdout, "best config").split("=")[1])
    assert -5.0 <= x1 <= 5.0
    # the table's best value is the minimum the same run reaches in Python
    from core.objectives import OBJECTIVES
    from core.run import minimize

    res = minimize(
        OBJECTIVES["himmelblau"], method="sparse_grid", n_evals=25, seed=0, gamma=0.5,
        optimizer="nelder_mead",
    )
    assert float(table_field(p.stdout, "best value (f(x))")) == pytest.approx(res.fun, rel=1e-5)
    assert table_field(p.stdout, "evaluations used") == f"{res.nfev} of 25"
    assert 20 <= res.nfev <= 25
    assert "eval" in p.stderr  # the tqdm progress bar went to stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--objective", "nope", "--method", "random"], "valid objectives: rosenbrock"),
        (["--objective", "rosenbrock", "--method", "nope"], "valid methods: sparse_grid"),
        (["--objective", "rosenbrock", "--method", "grid", "--gamma", "0.5"],
         "--gamma applies to the methods sparse_grid"),
        (["--objective", "rosenbrock", "--method", "sparse_grid", "--gamma", "2"],
         "gamma must be in [0, 1], got 2"),
        (["--objective", "rosenbrock", "--method", "sparse_grid", "--optimizer", "bfgs"],
         "valid optimizers: none, lbfgsb, nelder_mead"),
        (["--objective", "rosenbrock", "--method", "random", "--option", "degree=5"],
         "unknown option 'degree' for method 'random'"),
        (["--objective", "mlp_regression_2d", "--method", "random", "--dim", "3"],
         "--dim applies to test functions only"),
        (["--objective", "eggholder", "--method", "random", "--dim", "3"],
         "eggholder supports dim in [2]"),
        (["--objective", "rosenbrock", "--method", "random", "--resume"],
         "--resume needs --journal"),
    ],
)
def test_bad_arguments_say_what_is_valid(args, expected):
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", "--budget", "10", *args], out=out, err=err)
    assert code == 2
    assert expected in err.getvalue()
    assert out.getvalue() == ""


@pytest.mark.processes
def test_bad_name_in_a_subprocess_exits_2():
    p = run_cli("run", "--objective", "rosenbrok", "--method", "random", "--budget", "5")
    assert p.returncode == 2
    assert "unknown objective 'rosenbrok'" in p.stderr and "himmelblau" in p.stderr
    p = run_cli("run", "--objective", "rosenbrock", "--method", "random", "--budget", "-3")
    assert p.returncode == 2 and "--budget must be an integer >= 1, got -3" in p.stderr
    p = run_cli("frobnicate")
    assert p.returncode == 2 and "invalid choice" in p.stderr


def test_budget_too_small_for_the_method_is_a_usage_error():
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--objective", "rosenbrock", "--method", "sparse_grid", "--budget", "1"],
        out=out, err=err,
    )
    assert code == 2 and "n_evals" in err.getvalue() and "got n_evals=1" in err.getvalue()


@pytest.mark.processes
def test_journal_resume_and_png(tmp_path):
    journal = tmp_path / "run.jsonl"
    png = tmp_path / "conv.png"
    common = ["run", "--objective", "himmelblau", "--method", "adaptive_random", "--budget",
              "30", "--seed", "3", "--gamma", "0.5", "--journal", str(journal), "--no-progress"]
    first = run_cli(*common, "--png", str(png))
    assert first.returncode == 0, first.stderr
    lines = journal.read_text().splitlines()
    assert len(lines) == 32  # header + 30 evaluations + the end line
    assert json.loads(lines[-1]) == {**json.loads(lines[-1]), "end": "budget", "nfev": 30}
    assert json.loads(lines[0])["run"]["seed"] == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (640, 400)
        assert len(np.unique(np.asarray(im.convert("L")))) > 10  # something was drawn

    # an existing journal without --resume is refused and left untouched
    again = run_cli(*common)
    assert again.returncode == 2 and "add --resume" in again.stderr
    assert journal.read_text().splitlines() == lines

    # simulate a kill after 12 evaluations: resume completes to the same result
    journal.write_text("\n".join(lines[:13]) + "\n")
    resumed = run_cli(*common, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert table_field(resumed.stdout, "best value (f(x))") == table_field(
        first.stdout, "best value (f(x))"
    )
    new_lines = journal.read_text().splitlines()
    assert len(new_lines) == 32
    u_first = [json.loads(x)["u"] for x in lines[1:-1]]
    u_resumed = [json.loads(x)["u"] for x in new_lines[1:-1]]
    assert u_resumed == u_first

    # resuming with another seed is refused with the difference named
    other = run_cli(*[a if a != "3" else "4" for a in common], "--resume")
    assert other.returncode == 2 and "seed: journal has 3, this run has 4" in other.stderr


def test_png_directory_must_exist(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--objective", "rosenbrock", "--method", "random", "--budget", "5",
         "--png", str(tmp_path / "missing" / "x.png")],
        out=out, err=err,
    )
    assert code == 2 and "does not exist" in err.getvalue()


def test_in_process_run_matches_minimize_and_counts_failures():
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--objective", "rosenbrock", "--dim", "3", "--method", "random", "--budget",
         "40", "--seed", "7", "--no-progress"],
        out=out, err=err,
    )
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "rosenbrock_3d" in text and table_field(text, "evaluations used") == "40 of 40"
    config_rows = [ln for ln in text.splitlines() if "x1 =" in ln or " x2 =" in ln or "x3 =" in ln]
    assert len(config_rows) == 3


def test_serial_journal_names_the_objective_like_minimize(tmp_path):
    """The CLI passes the registered objective itself (progress via on_evaluation), so its
    journal header is the one minimize writes: the objective is named and a journal of another
    objective is refused, whatever the backend."""
    from core.objectives import get_objective
    from core.run import minimize

    journal = tmp_path / "cli.jsonl"
    out, err = io.StringIO(), io.StringIO()
    args = ["run", "--objective", "himmelblau", "--method", "random", "--budget", "6", "--seed",
            "1", "--journal", str(journal)]
    assert main(args, out=out, err=err) == 0, err.getvalue()
    header = json.loads(journal.read_text().splitlines()[0])
    assert header["run"]["objective"] == "himmelblau"
    assert "6/6" in err.getvalue()  # the progress bar counted every evaluation
    ref = tmp_path / "api.jsonl"
    objective = get_objective("himmelblau")
    minimize(objective, objective.space, "random", 6, seed=1, journal=ref)
    ref_header = json.loads(ref.read_text().splitlines()[0])
    assert {k: v for k, v in header.items() if k != "created"} == {
        k: v for k, v in ref_header.items() if k != "created"
    }


@pytest.mark.processes
@pytest.mark.slow
@pytest.mark.dask
def test_run_on_a_dask_scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        p = run_cli(
            "run", "--objective", "rosenbrock", "--method", "random", "--budget", "12",
            "--seed", "5", "--scheduler", cluster.scheduler_address, "--no-progress",
        )
    assert p.returncode == 0, p.stderr
    from core.objectives import OBJECTIVES
    from core.run import minimize

    res = minimize(OBJECTIVES["rosenbrock"], method="random", n_evals=12, seed=5)
    assert table_field(p.stdout, "evaluations used") == "12 of 12"
    assert float(table_field(p.stdout, "best value (f(x))")) == pytest.approx(res.fun, rel=1e-5)


def test_unreachable_scheduler_fails_cleanly(monkeypatch):
    import core.run as run_module

    def refuse(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:9 after 30 s")

    monkeypatch.setattr(run_module, "make_executor", refuse)
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--objective", "rosenbrock", "--method", "random", "--budget", "5",
         "--scheduler", "tcp://127.0.0.1:9", "--no-progress"],
        out=out, err=err,
    )
    assert code == 1
    assert "the run failed: OSError: Timed out" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


RANDOM_RUN = ("run", "--objective", "rosenbrock", "--method", "random", "--budget", "5",
              "--no-progress")


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_resume_on_a_file_that_is_not_a_journal_leaves_it_untouched(tmp_path, resume):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"best": 0.25}))  # json.dump: no trailing newline
    code, _, err = _cli(*RANDOM_RUN, "--journal", str(path), *resume)
    assert code == 2 and "results.json" in err and "is not a 'sparse-hpo' journal" in err
    assert path.read_text() == '{"best": 0.25}'


@pytest.mark.parametrize("where", ["directory", "missing dir", "unwritable dir"])
def test_png_path_is_checked_before_the_run(tmp_path, where):
    journal = tmp_path / "run.jsonl"
    if where == "directory":
        png, message = tmp_path, "is a directory"
    elif where == "missing dir":
        png, message = tmp_path / "missing" / "x.png", "does not exist"
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("the user can write to any directory")
        png, message = locked / "x.png", "is not writable"
    code, out, err = _cli(*RANDOM_RUN, "--journal", str(journal), "--png", str(png))
    assert code == 2 and "--png" in err and message in err
    assert not journal.exists() and out == ""  # refused before any evaluation


def test_grid_search_in_40_dimensions_runs_without_a_traceback():
    code, out, err = _cli("run", "--objective", "rosenbrock", "--dim", "40", "--method", "grid",
                          "--budget", "50", "--no-progress")
    assert code == 0 and "Traceback" not in err, err
    assert table_field(out, "evaluations used") == "1 of 50"


@pytest.mark.parametrize(
    ("option", "message"),
    [("max_level=51", "`max_level` must be in [1, 50], got max_level=51"),
     ('optimizer_options={"maxfev": "100"}', "`maxfev` must be an int, got maxfev='100'")],
)
def test_bad_method_options_are_refused_before_the_run(tmp_path, option, message):
    journal = tmp_path / "run.jsonl"
    code, out, err = _cli("run", "--objective", "rosenbrock", "--method", "sparse_grid",
                          "--budget", "40", "--optimizer", "nelder_mead", "--option", option,
                          "--journal", str(journal), "--no-progress")
    assert code == 2 and message in err, err
    assert not journal.exists() and out == ""


def test_png_never_replaces_a_file_that_is_not_a_png(tmp_path):
    results = tmp_path / "results.json"
    results.write_text('{"best": 1}')
    code, out, err = _cli(*RANDOM_RUN, "--png", str(results))
    assert code == 2 and "is not a PNG" in err and out == ""
    assert results.read_text() == '{"best": 1}'
    same = tmp_path / "run.out"
    code, _, err = _cli(*RANDOM_RUN, "--journal", str(same), "--png", str(same))
    assert code == 2 and "--png and --journal must be different files" in err
    assert not same.exists()
    png = tmp_path / "plot.png"
    for _ in range(2):  # an earlier plot is replaced
        code, out, err = _cli(*RANDOM_RUN, "--png", str(png))
        assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
