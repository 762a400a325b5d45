"""The notebooks' long experiments: computed here, stored as CSV with their provenance.

Two experiments of ``03_reproduce_the_seed`` train hundreds of networks; a full run takes longer
than a reader wants to wait, so ``scripts/notebook_results.py`` computes them once and writes CSV
files into ``notebooks/results/``. Each CSV starts with ``#`` comment lines that record the
command, the configuration, the git commit and whether the files the results depend on
(:data:`DEPENDS_ON`) had uncommitted changes when the run started, the start and end times and
the package versions (:func:`provenance`, :func:`finish`, :func:`write_csv`; order:
:func:`header_keys`). The notebook reads the CSV by default (:func:`load_or_compute`) and says
where it came from. The rule (:func:`check_provenance`): a CSV made with uncommitted changes
in its dependencies, or at a commit that is not an ancestor of HEAD, is refused (an error
naming the command that regenerates it); one whose dependencies changed between its commit and
HEAD is stale and recomputed, as is one of another configuration or when asked; without git
(a source archive) the header is accepted with a note.

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
    "CONFIG_KEYS",
    "DEPENDS_ON",
    "PROVENANCE_KEYS",
    "REVIEWED",
    "ResultsRefused",
    "check_provenance",
    "cnn_rows",
    "finish",
    "header_keys",
    "load_or_compute",
    "provenance",
    "read_csv",
    "regression_rows",
    "reviewed_commits",
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
#: The files a results CSV depends on: when one of them changed between the CSV's commit and
#: HEAD the CSV is stale (recomputed); a CSV made while one of them had uncommitted changes is
#: refused. Other paths (explorer/, docs, the notebooks themselves) do not change the numbers.
DEPENDS_ON = ("core", "notebooks/_common.py", "notebooks/_experiments.py",
              "scripts/notebook_results.py")
#: Header lines every CSV has, in this order: ``command``, then the experiment's configuration
#: (:data:`CONFIG_KEYS`), then these.
PROVENANCE_KEYS = ("commit", "dirty", "depends_on", "started", "ended", "seconds", "versions",
                   "machine")
#: Configuration header lines per experiment (the keyword arguments of :func:`provenance`).
CONFIG_KEYS = {
    "regression": ("dataset", "dim", "seeds", "budgets", "methods", "sparse_grid"),
    "cnn": ("dataset", "seeds", "budgets", "methods", "sparse_grid"),
}
REPO = RESULTS_DIR.parents[1]


def _git(*args: str) -> subprocess.CompletedProcess | None:
    """``git args`` in the repository; None without git or outside a git checkout."""
    if not (REPO / ".git").exists():
        return None
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO,
                              timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_state() -> tuple[str, str]:
    """The commit of HEAD (40 hex digits) and whether :data:`DEPENDS_ON` differ from it.

    ``dirty`` is ``"no"``, ``"yes: <paths>"`` (modified or untracked files under
    :data:`DEPENDS_ON`) or ``"unknown"`` without git. Only the dependencies count: the checkout
    is shared, and edits elsewhere (explorer/, docs) do not change the numbers.
    """
    head = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=all", "--", *DEPENDS_ON)
    if head is None or head.returncode != 0 or status is None or status.returncode != 0:
        return "unknown", "unknown"
    paths = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    return head.stdout.strip(), ("yes: " + ", ".join(paths)) if paths else "no"


def provenance(command: str, **config: Any) -> dict[str, str]:
    """Header facts of a results CSV, taken when the run *starts*.

    ``command``, the configuration (JSON), the commit and whether the files the results depend
    on (:data:`DEPENDS_ON`) had uncommitted changes, the start time, package versions and the
    machine. :func:`finish` adds the end time and duration once the rows are computed.
    """
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "torch", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    commit, dirty = _git_state()
    return {
        "command": command,
        **{k: json.dumps(v) for k, v in config.items()},
        "commit": commit,
        "dirty": dirty,
        "depends_on": " ".join(DEPENDS_ON),
        "started": _now(),
        "ended": "",
        "seconds": "",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "machine": f"{platform.machine()}, {platform.system()}",
    }


def finish(header: Mapping[str, str], seconds: float) -> dict[str, str]:
    """``header`` of :func:`provenance` with the end time and the run's duration filled in."""
    out = dict(header)
    out["ended"] = _now()
    out["seconds"] = f"{seconds:.0f}"
    return out


def header_keys(experiment: str) -> tuple[str, ...]:
    """The header lines of an ``experiment`` ("regression" or "cnn") CSV, in order."""
    return ("command", *CONFIG_KEYS[experiment], *PROVENANCE_KEYS)


#: Commits that changed a file of :data:`DEPENDS_ON` and were reviewed as not changing what the
#: experiments compute (metadata a front end reads, docstrings, this check itself): one line
#: per commit, ``<full hash> <why>``. A CSV stays current across them.
REVIEWED = RESULTS_DIR / "reviewed_commits.txt"


def reviewed_commits(path: Path = REVIEWED) -> dict[str, str]:
    """The reviewed commits of ``path``: full hash -> why it does not change the results."""
    if not Path(path).exists():
        return {}
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            sha, _, why = line.strip().partition(" ")
            out[sha] = why.strip()
    return out


def check_provenance(header: Mapping[str, str],
                     reviewed: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Whether a CSV's rows are what the current code computes: ``(status, reason)``.

    ``status`` is

    - ``"current"``: made from a clean tree at an ancestor of HEAD, and every commit since then
      that changed a file of :data:`DEPENDS_ON` is one of the ``reviewed`` commits (default:
      :func:`reviewed_commits`), reviewed as not changing the results;
    - ``"stale"``: as above, but an unreviewed commit changed a dependency since (the rows may
      differ now), or the header has no provenance lines (written before this rule);
    - ``"refused"``: the run started with uncommitted changes in :data:`DEPENDS_ON` (its code
      is in no commit), or its commit is not an ancestor of HEAD (code from another branch or a
      rewritten history);
    - ``"unchecked"``: git is not available here (e.g. a source archive); the header is taken
      at its word.
    """
    missing = [k for k in PROVENANCE_KEYS if not header.get(k)]
    if missing:  # an older header: nothing says it is wrong, nothing says it holds
        return "stale", f"its header has no {', '.join(missing)} (written before this rule)"
    commit = header["commit"]
    if header["dirty"] != "no":
        return "refused", (f"it was computed with uncommitted changes ({header['dirty']}), so no "
                           "commit holds the code that made it")
    if _git("rev-parse", "HEAD") is None:
        return "unchecked", f"git is not available here; commit {commit[:10]} is not checked"
    anc = _git("merge-base", "--is-ancestor", commit, "HEAD")
    if anc is None or anc.returncode not in (0, 1):
        return "refused", f"its commit {commit[:10]} is not in this repository's history"
    if anc.returncode == 1:
        return "refused", f"its commit {commit[:10]} is not an ancestor of HEAD"
    log = _git("log", "--format=%H %s", f"{commit}..HEAD", "--", *DEPENDS_ON)
    if log is None or log.returncode != 0:
        return "refused", f"git log {commit[:10]}..HEAD failed"
    since = [line.partition(" ") for line in log.stdout.splitlines() if line.strip()]
    reviewed = reviewed_commits() if reviewed is None else reviewed
    unreviewed = [(sha, subject) for sha, _, subject in since if sha not in reviewed]
    if unreviewed:
        more = f" and {len(unreviewed) - 2} more" if len(unreviewed) > 2 else ""
        return "stale", ("its dependencies changed since its commit " + commit[:10] + ": "
                         + "; ".join(f"{sha[:10]} {subject!r}" for sha, subject in
                                     unreviewed[:2]) + more)
    if since:
        return "current", (f"the {len(since)} commit(s) that changed its dependencies since its "
                           f"commit {commit[:10]} are reviewed as not changing the results "
                           f"(notebooks/results/{REVIEWED.name})")
    return "current", f"no file it depends on changed since its commit {commit[:10]}"


class ResultsRefused(RuntimeError):
    """A stored results CSV whose provenance does not hold (see :func:`check_provenance`)."""


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
    """The rows of ``results_dir/name.csv`` if they hold for this code, else ``compute()``.

    The stored rows are used when the CSV was made with ``config`` and
    :func:`check_provenance` finds it ``"current"`` (or cannot check: no git, said in the
    returned sentence). A ``"stale"`` CSV (a dependency changed since its commit), another
    configuration, a missing file or ``recompute=True`` recompute the rows in this session.
    A ``"refused"`` CSV (made from uncommitted code, or at a commit that is not an ancestor of
    HEAD) raises :class:`ResultsRefused` naming the command that regenerates it.

    Returns the rows and one sentence on where they came from (for the notebook's prose).
    """
    path = Path(results_dir) / f"{name}.csv"
    if path.exists() and not recompute:
        rows, header = read_csv(path)
        same = all(header.get(k) == json.dumps(v) for k, v in config.items())
        if same:
            status, reason = check_provenance(header)
            if status == "refused":
                command = header.get("command", "python scripts/notebook_results.py")
                raise ResultsRefused(
                    f"notebooks/results/{path.name} is refused: {reason}. Regenerate it from a "
                    f"clean, committed tree with `{command}` or pass recompute=True.")
            if status in ("current", "unchecked"):
                note = "" if status == "current" else f"; not checked: {reason}"
                return rows, (
                    f"read from `notebooks/results/{path.name}`, written by "
                    f"`{header['command']}` from {header['started']} to {header['ended']} at "
                    f"commit {header['commit'][:10]} ({header['versions']}){note}"
                )
            why = f"the stored {path.name} is stale: {reason}"
        else:
            why = "its configuration differs from this notebook's"
    else:
        why = "recomputation was asked for" if recompute else f"{path.name} does not exist"
    rows = compute()
    return rows, f"computed in this session ({why})"


def main_command(argv: Sequence[str] | None = None) -> str:
    """The command line that produced a CSV, for its header."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python scripts/notebook_results.py", *args])
