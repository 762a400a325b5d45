"""The notebooks' long experiments: computed here, stored as CSV with their provenance.

Two experiments of ``03_reproduce_the_seed`` train hundreds of networks; a full run takes longer
than a reader wants to wait, so ``scripts/notebook_results.py`` computes them once and writes CSV
files into ``notebooks/results/``. Each CSV starts with ``#`` comment lines that record the
command, the seeds, the date, the git commit and the package versions (:func:`write_csv`). The
notebook reads the CSV by default (:func:`load_or_compute`), says where it came from, and
recomputes when asked or when its configuration is not the CSV's.

Experiments (one row per run and budget):

- :func:`regression_rows`: the 2-, 3- and 5-D MLP on scikit-learn's bundled diabetes data, grid
  search, sparse grid search (the thesis variant), random search and Bayesian optimization;
  repetition ``seed`` sets both the method's seed and the network's training seed, so every
  method, grid search included, shows a spread. Random search and Bayesian optimization do not
  look at the budget, so one run of the largest budget gives every smaller budget as its prefix
  (one row per evaluation count); grid and sparse grid search run once per budget.
- :func:`cnn_rows`: the 9-D CNN on the bundled 8 x 8 digits (or local MNIST files), one training
  seed, method seeds ``seeds`` for the randomized methods and one run of grid search.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import platform
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CNN_BUDGETS",
    "REGRESSION_BUDGETS",
    "RESULTS_DIR",
    "SPARSE_GRID_THESIS",
    "cnn_rows",
    "load_or_compute",
    "provenance",
    "read_csv",
    "regression_rows",
    "write_csv",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Budgets of the regression comparison (cost axis of the slides' plots).
REGRESSION_BUDGETS = (5, 10, 20, 40, 80)
#: Budgets of the 9-D table, as in the slides' table (sparse grid search reported cost 93).
CNN_BUDGETS = {"grid": 80, "random": 80, "bayesian": 80, "sparse_grid": 93}
#: The thesis' sparse grid search (plain Novak-Ritter grid, then surrogate candidates).
SPARSE_GRID_THESIS: dict[str, Any] = {"variant": "thesis"}
METHODS = ("grid", "sparse_grid", "random", "bayesian")
PREFIX_METHODS = ("random", "bayesian")  # a run of budget B is the prefix of a longer run


def _options(method: str) -> dict[str, Any]:
    return dict(SPARSE_GRID_THESIS) if method == "sparse_grid" else {}


def _best(res: Any, n: int) -> tuple[float, dict | None]:
    """Best value and configuration among the first ``n`` evaluations of a run."""
    best_v, best_c = np.nan, None
    for ev in res.history[:n]:
        if ev.ok and not (best_v <= ev.value):  # first minimum wins ties; NaN start
            best_v, best_c = float(ev.value), dict(ev.config)
    return best_v, best_c


def _jsonable(config: Mapping[str, Any] | None) -> str:
    if config is None:
        return ""
    return json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()})


def regression_rows(
    dims: Iterable[int] = (2, 3, 5),
    seeds: Iterable[int] = range(5),
    budgets: Sequence[int] = REGRESSION_BUDGETS,
    methods: Iterable[str] = METHODS,
    *,
    dataset: str = "diabetes",
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Best value against cost for the MLP regression objectives; one dict per CSV row.

    Columns: ``dim, method, seed, budget, cost, best, config`` (``cost`` = evaluations used,
    ``best`` = best validation MSE among them, ``config`` = JSON of the best configuration).
    """
    from _common import Memo, run_all

    from core.objectives.torch_models import MLPRegressionObjective

    budgets = sorted(int(b) for b in budgets)
    rows: list[dict[str, Any]] = []
    for d in dims:
        for s in seeds:
            memo = Memo(MLPRegressionObjective(dim=int(d), dataset=dataset, seed=int(s)))
            jobs, keys = [], []
            for m in methods:
                if m in PREFIX_METHODS:
                    jobs.append(dict(method=m, n_evals=max(budgets), seed=int(s)))
                    keys.append((m, None))
                else:
                    for b in budgets:
                        if m == "sparse_grid" and b < 3:
                            continue
                        jobs.append(dict(method=m, n_evals=b, seed=int(s), **_options(m)))
                        keys.append((m, b))
            runs = run_all(memo, jobs, desc=f"{d}-D, seed {s}") if progress else [
                _minimize(memo, j) for j in jobs]
            for (m, b), res in zip(keys, runs, strict=True):
                ns = range(1, res.nfev + 1) if b is None else [res.nfev]
                for n in ns:
                    best, config = _best(res, n)
                    rows.append(dict(dim=int(d), method=m, seed=int(s),
                                     budget=n if b is None else b, cost=n, best=best,
                                     config=_jsonable(config)))
    return rows


def _minimize(fun: Any, job: Mapping[str, Any]) -> Any:
    from core.run import minimize

    return minimize(fun, **job)


def cnn_rows(
    seeds: Iterable[int] = range(3),
    methods: Iterable[str] = METHODS,
    *,
    objective: Any = None,
    budgets: Mapping[str, int] = CNN_BUDGETS,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """The 9-D CNN table: one row per run.

    Columns: ``method, seed, budget, cost, best, accuracy, config, values`` (``values`` = JSON
    list of every evaluation's value in order, NaN for failures). Grid search is deterministic
    and run once (seed 0).
    """
    from _common import Memo, run_all

    from core.objectives import OBJECTIVES

    obj = Memo(objective if objective is not None else OBJECTIVES["cnn_digits_9d"])
    jobs = []
    for m in methods:
        for s in ([0] if m == "grid" else seeds):
            jobs.append(dict(method=m, n_evals=int(budgets[m]), seed=int(s), **_options(m)))
    runs = run_all(obj, jobs, desc="9-D CNN") if progress else [_minimize(obj, j) for j in jobs]
    rows = []
    for job, res in zip(jobs, runs, strict=True):
        ev = min((e for e in res.history if e.ok), key=lambda e: e.value, default=None)
        rows.append(dict(
            method=job["method"], seed=job["seed"], budget=job["n_evals"], cost=res.nfev,
            best=float(res.fun), accuracy=float(ev.info.get("accuracy", np.nan)) if ev else np.nan,
            config=_jsonable(res.x), values=json.dumps([float(v) for v in res.values]),
        ))
    return rows


# -- CSV with provenance ---------------------------------------------------------------------
def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=RESULTS_DIR.parent, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "core"],
                               capture_output=True, text=True, cwd=RESULTS_DIR.parent,
                               timeout=10)
        return out.stdout.strip() + (" (core modified)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(command: str, **config: Any) -> dict[str, str]:
    """Header facts of a results CSV: command, configuration, date, commit, versions."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "torch", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    return {
        "command": command,
        **{k: json.dumps(v) for k, v in config.items()},
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "machine": f"{platform.machine()}, {platform.system()}",
    }


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], header: Mapping[str, str]) -> None:
    """Write ``rows`` with ``# key: value`` header lines; floats with 17 significant digits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        for k, v in header.items():
            fh.write(f"# {k}: {v}\n")
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (repr(float(v)) if isinstance(v, (float, np.floating)) else v)
                             for k, v in row.items()})


def read_csv(path: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows (numbers parsed) and header of a CSV written by :func:`write_csv`."""
    header: dict[str, str] = {}
    lines = []
    with Path(path).open() as fh:
        for line in fh:
            if line.startswith("# "):
                k, _, v = line[2:].rstrip("\n").partition(": ")
                header[k] = v
            else:
                lines.append(line)
    rows = []
    for row in csv.DictReader(lines):
        parsed: dict[str, Any] = {}
        for k, v in row.items():
            if k in ("dim", "seed", "budget", "cost"):
                parsed[k] = int(v)
            elif k in ("best", "accuracy"):
                parsed[k] = float(v)
            else:
                parsed[k] = v
        rows.append(parsed)
    return rows, header


def load_or_compute(
    name: str,
    compute: Callable[[], list[dict[str, Any]]],
    config: Mapping[str, Any],
    *,
    recompute: bool = False,
    results_dir: Path = RESULTS_DIR,
) -> tuple[list[dict[str, Any]], str]:
    """The rows of ``results_dir/name.csv`` if it was made with ``config``, else ``compute()``.

    Returns the rows and one sentence on where they came from (for the notebook's prose).
    """
    path = Path(results_dir) / f"{name}.csv"
    if path.exists() and not recompute:
        rows, header = read_csv(path)
        same = all(header.get(k) == json.dumps(v) for k, v in config.items())
        if same:
            return rows, (
                f"read from `notebooks/results/{path.name}`, written by `{header['command']}` "
                f"on {header['date']} at commit {header['commit']} ({header['versions']})"
            )
        why = "its configuration differs from this notebook's"
    else:
        why = "recomputation was asked for" if recompute else f"{path.name} does not exist"
    rows = compute()
    return rows, f"computed in this session ({why})"


def main_command(argv: Sequence[str] | None = None) -> str:
    """The command line that produced a CSV, for its header."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python scripts/notebook_results.py", *args])
