"""BBOB: the project's methods and the peers a user would pick instead, on COCO's BBOB suite.

One command::

    .venv/bin/python benchmarks/bbob.py                  # the full table (hours on 2 cores)
    .venv/bin/python benchmarks/bbob.py --quick          # a small subset (about a minute)
    .venv/bin/python benchmarks/bbob.py --dims 2 --budget-factors 20   # one slice

The functions are COCO's BBOB problems (``cocoex``, from the ``coco-experiment`` package, which
computes everything locally), two per BBOB group: f1 sphere, f3 Rastrigin (separable), f6
attractive sector, f8 Rosenbrock, f10 ellipsoid, f12 bent cigar, f15 Rastrigin (rotated),
f17 Schaffer F7, f20 Schwefel, f21 Gallagher 101 peaks; the domain is COCO's ``[-5, 5]^d``,
mapped to the unit cube every method works in. Each cell (function, instance, dimension,
budget ``B = factor * d``) runs every method once with the seed equal to the instance, and
records the best value found and the log10 regret ``log10(f_best - f_opt)`` (``f_opt`` of the
instance, computed as COCO's legacy BBOB code does, see :func:`bbob_fopt`).

Methods (``--methods``): the registered strategies by name (``sparse_grid`` is the library's
default sparse grid, ``sparse_grid_thesis`` the thesis variant, ``bayesian``, ``random``, ...)
and outside peers: nevergrad's ``NGOpt`` (its budget-aware wizard), optuna's ``TPESampler``,
pycma's CMA-ES with restarts (the race's runner) and, opt-in because it is slow, optuna's
``GPSampler``. SMAC3 is not included: its dependencies (pyrfr, a SWIG build) are not offered
by this machine's registries.

Summaries (``benchmarks/results/bbob.md``): per dimension and budget, the average rank of each
method over the cells (1 = best; tied values, within 1e-8 of each other, share their average
rank); for the reference method (``--reference``, default ``sparse_grid``) the cells won, tied
and lost against every other method; and the median overhead per suggestion (process CPU time
inside the method, objective excluded). Rows are appended to ``bbob.csv`` as runs finish, so a
long run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from race import (  # noqa: E402  (the race's runners serve here unchanged)
    VARIANTS,
    RunOutcome,
    _run_cma,
    _run_optuna_gp,
    _run_optuna_tpe,
    _run_strategy,
)

from core.space import Float, SearchSpace  # noqa: E402
from core.strategies import STRATEGIES  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
#: Two functions of each BBOB group (separable, moderate, ill-conditioned, multimodal with
#: structure, multimodal weakly structured).
FUNCTIONS = (1, 3, 6, 8, 10, 12, 15, 17, 20, 21)
FIELDS = [
    "method", "function", "instance", "dim", "budget", "seed", "best", "f_opt", "log10_regret",
    "nfev", "overhead_ms", "seconds",
]
#: Values closer than this count as a tie (COCO's final target precision).
TIE = 1e-8


# ---------------------------------------------------------------------------------- f_opt
def _bbob_unif(n: int, seed: int) -> np.ndarray:
    """COCO's legacy uniform generator (``bbob2009_unif``): ``n`` numbers in (0, 1)."""
    seed = max(abs(int(seed)), 1)
    akt = seed
    table = [0] * 32
    for i in range(39, -1, -1):
        tmp = akt // 127773
        akt = 16807 * (akt - tmp * 127773) - 2836 * tmp
        if akt < 0:
            akt += 2147483647
        if i < 32:
            table[i] = akt
    aktrand = table[0]
    out = np.empty(n)
    for i in range(n):
        tmp = akt // 127773
        akt = 16807 * (akt - tmp * 127773) - 2836 * tmp
        if akt < 0:
            akt += 2147483647
        j = aktrand // 67108865
        aktrand = table[j]
        table[j] = akt
        out[i] = aktrand / 2.147483647e9 or 1e-99
    return out


def _bbob_gauss(seed: int) -> float:
    """COCO's legacy normal draw (``bbob2009_gauss`` with one number)."""
    u = _bbob_unif(2, seed)
    return math.sqrt(-2.0 * math.log(u[0])) * math.cos(2.0 * math.pi * u[1]) or 1e-99


def bbob_fopt(function: int, instance: int) -> float:
    """The optimal value of BBOB ``function`` on ``instance``, as COCO computes it.

    ``cocoex`` does not expose it; COCO's legacy code draws it from two normal numbers seeded
    by the function and the instance, rounds to two decimals and clips to ``[-1000, 1000]``.
    Checked in the tests against the minimum of the sphere function (f1), whose optimum a local
    optimizer finds exactly.
    """
    rseed = {4: 3, 18: 17}.get(function, function) + 10000 * instance
    g1, g2 = _bbob_gauss(rseed), _bbob_gauss(rseed + 1)
    return min(1000.0, max(-1000.0, round(100.0 * 100.0 * g1 / g2) / 100.0))


# ---------------------------------------------------------------------------------- problems
@dataclass
class BBOBFunction:
    """A BBOB problem as the race's runners expect it: a ``space``, ``__call__(config)`` and
    ``evaluate_unit(U)`` for unit-cube points ``U`` of shape (n, d)."""

    function: int
    instance: int
    dim: int

    def __post_init__(self) -> None:
        import cocoex

        cocoex.log_level("warning")
        suite = cocoex.Suite(
            "bbob", f"instances: {self.instance}",
            f"dimensions: {self.dim} function_indices: {self.function}",
        )
        self.problem = next(iter(suite))
        self.low = np.asarray(self.problem.lower_bounds, dtype=np.float64)
        self.high = np.asarray(self.problem.upper_bounds, dtype=np.float64)
        self.f_opt = bbob_fopt(self.function, self.instance)
        self.name = f"f{self.function}"

    @property
    def space(self) -> SearchSpace:
        return SearchSpace({f"x{t + 1}": Float(float(self.low[t]), float(self.high[t]))
                            for t in range(self.dim)})

    def __call__(self, config: dict) -> float:
        return float(self.problem(np.array([config[f"x{t + 1}"] for t in range(self.dim)])))

    def evaluate_unit(self, U: np.ndarray) -> np.ndarray:
        X = self.low + np.atleast_2d(np.asarray(U, dtype=np.float64)) * (self.high - self.low)
        return np.array([float(self.problem(x)) for x in X])


# ---------------------------------------------------------------------------------- peers
def _run_ngopt(fn: BBOBFunction, dim: int, budget: int, seed: int, options: dict) -> RunOutcome:
    import warnings

    import nevergrad as ng

    t_start = time.perf_counter()
    t0 = time.process_time()
    param = ng.p.Array(shape=(dim,), lower=0.0, upper=1.0)
    param.random_state = np.random.RandomState(seed)
    opt = ng.optimizers.NGOpt(parametrization=param, budget=budget, num_workers=1, **options)
    t_method = time.process_time() - t0
    best = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(budget):
            t0 = time.process_time()
            cand = opt.ask()
            t_method += time.process_time() - t0
            y = float(fn.evaluate_unit(np.clip(cand.value, 0.0, 1.0)[None, :])[0])
            best = min(best, y)
            t0 = time.process_time()
            opt.tell(cand, y)
            t_method += time.process_time() - t0
    return RunOutcome(best, budget, t_method, time.perf_counter() - t_start)


OUTSIDE = {
    "ngopt": _run_ngopt,
    "optuna_tpe": _run_optuna_tpe,
    "cma": _run_cma,
    "optuna_gp": _run_optuna_gp,  # opt-in: slow (a GP fit per suggestion, torch)
}
OURS = ("sparse_grid", *VARIANTS, *(m for m in STRATEGIES if m not in ("sparse_grid", "grid")))
METHODS = (*OURS, *OUTSIDE)
DEFAULT_METHODS = ["sparse_grid", "sparse_grid_thesis", "bayesian", "random", "ngopt",
                   "optuna_tpe", "cma"]


def run_one(method: str, function: int, instance: int, dim: int, budget: int) -> dict:
    """One run of ``method``; a CSV row (the keys :data:`FIELDS`)."""
    fn = BBOBFunction(function, instance, dim)
    seed = instance
    if method in OUTSIDE:
        out = OUTSIDE[method](fn, dim, budget, seed, {})
    elif method in VARIANTS:
        name, fixed = VARIANTS[method]
        out = _run_strategy(name, fn, dim, budget, seed, dict(fixed))
    else:
        out = _run_strategy(method, fn, dim, budget, seed, {})
    return outcome_row(method, fn, budget, seed, out)


def outcome_row(method: str, fn: BBOBFunction, budget: int, seed: int,
                out: RunOutcome) -> dict:
    """The CSV row (the keys :data:`FIELDS`) of one run of ``method`` on ``fn``; a run that
    used more than ``budget`` evaluations raises ``AssertionError``."""
    if out.nfev > budget:
        raise AssertionError(f"{method} used {out.nfev} > {budget} evaluations")
    regret = max(out.best - fn.f_opt, 0.0)
    return {
        "method": method, "function": fn.function, "instance": fn.instance, "dim": fn.dim,
        "budget": budget, "seed": seed, "best": repr(out.best), "f_opt": fn.f_opt,
        "log10_regret": math.log10(max(regret, 1e-12)), "nfev": out.nfev,
        "overhead_ms": 1e3 * out.method_seconds / max(out.nfev, 1), "seconds": out.seconds,
    }


# ---------------------------------------------------------------------------------- summary
def cell_ranks(values: dict[str, float]) -> dict[str, float]:
    """Rank of each method in one cell (1 = lowest value); values within :data:`TIE` of each
    other share the average of their ranks."""
    order = sorted(values, key=values.get)
    ranks: dict[str, float] = {}
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] - values[order[i]] <= TIE:
            j += 1
        for m in order[i:j + 1]:
            ranks[m] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def summarize(rows: list[dict], methods: list[str], reference: str) -> dict:
    """Average ranks, won-tied-lost of ``reference`` and overheads per (dim, budget factor)."""
    cells: dict[tuple, dict[str, float]] = {}
    overhead: dict[tuple, list[float]] = {}
    for r in rows:
        if r["method"] not in methods:
            continue
        dim, budget = int(r["dim"]), int(r["budget"])
        key = (dim, budget // dim, int(r["function"]), int(r["instance"]))
        cells.setdefault(key, {})[r["method"]] = float(r["best"])
        overhead.setdefault((dim, budget // dim, r["method"]), []).append(float(r["overhead_ms"]))
    complete = {k: v for k, v in cells.items() if all(m in v for m in methods)}
    out: dict = {"rank": {}, "wtl": {}, "n_cells": {}, "overhead": {}}
    for (dim, factor, _f, _i), vals in complete.items():
        slot = (dim, factor)
        out["n_cells"][slot] = out["n_cells"].get(slot, 0) + 1
        for m, rk in cell_ranks(vals).items():
            out["rank"].setdefault(slot, {}).setdefault(m, []).append(rk)
        if reference in vals:
            for m in methods:
                if m == reference:
                    continue
                diff = vals[reference] - vals[m]
                w, t, lo = out["wtl"].setdefault(slot, {}).get(m, (0, 0, 0))
                if abs(diff) <= TIE:
                    t += 1
                elif diff < 0:
                    w += 1
                else:
                    lo += 1
                out["wtl"][slot][m] = (w, t, lo)
    for (dim, factor, m), v in overhead.items():
        out["overhead"].setdefault((dim, factor), {})[m] = float(np.median(v))
    return out


def _versions() -> str:
    import importlib.metadata as md

    parts = [f"python {platform.python_version()}"]
    for pkg in ("coco-experiment", "nevergrad", "optuna", "cma", "numpy", "scipy", "scikit-learn",
                "torch"):
        try:
            parts.append(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            pass
    return ", ".join(parts)


def _machine() -> str:
    """The CPU and the BLAS libraries loaded, with the kernel each chose.

    OpenBLAS picks its kernels for the CPU it runs on (or as ``OPENBLAS_CORETYPE`` says); the
    least-squares fits and L-BFGS-B runs inside the methods then differ in their last bits,
    and a seeded run can end elsewhere. A stored table names both so it is compared with runs
    of the same kernel.
    """
    import scipy.linalg  # noqa: F401  (scipy's own BLAS is loaded with it)
    from threadpoolctl import threadpool_info

    cpu = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh
                        if line.startswith("model name")), None)
    except OSError:
        pass
    cpu = cpu or platform.processor() or platform.machine() or "unknown"
    cores = os.cpu_count()
    blas = sorted({f"{lib.get('internal_api', '?')} {lib.get('version') or '?'} "
                   f"({lib.get('architecture') or 'unknown'} kernel)"
                   for lib in threadpool_info() if lib.get("user_api") == "blas"})
    text = (f"CPU {cpu} ({cores or '?'} logical cores); BLAS " + ", ".join(blas or ["none"]))
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        text += f", OPENBLAS_CORETYPE={coretype}"
    torch = sys.modules.get("torch")  # its own CPU kernels, when a run trained models
    if torch is not None:
        text += f"; torch CPU capability {torch.backends.cpu.get_cpu_capability()}"
    return text


def machine_line() -> str:
    """The results header's line on the machine (:func:`_machine`) of the command that wrote
    the table; rows it found already in the CSV were not run again, possibly elsewhere."""
    return (f"Machine of this command (rows found already in the CSV are not run again): "
            f"{_machine()}.")


def _commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "core"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (core/ had uncommitted changes)" if dirty else "")


def write_markdown(summary: dict, methods: list[str], reference: str, command: str,
                   path: Path | None) -> str:
    lines = [
        "# BBOB results",
        "",
        f"Written by `{command}` at commit {_commit()}; {_versions()}.",
        machine_line(),
        "Functions f1, f3, f6, f8, f10, f12, f15, f17, f20, f21 on [-5, 5]^d; one run per "
        "instance (seed = instance); budget B = factor x d. A cell is one function, instance, "
        "dimension and budget; only cells where every method ran are counted.",
        "",
        "## Average rank (1 = best)",
        "",
        "| d | B | cells | " + " | ".join(methods) + " |",
        "|" + "---|" * (len(methods) + 3),
    ]
    for slot in sorted(summary["rank"]):
        ranks = summary["rank"][slot]
        means = {m: float(np.mean(ranks[m])) for m in methods if m in ranks}
        best = min(means.values())
        cells = [(f"**{means[m]:.2f}**" if means[m] == best else f"{means[m]:.2f}")
                 if m in means else "" for m in methods]
        lines.append(f"| {slot[0]} | {slot[1]}·d | {summary['n_cells'][slot]} | "
                     + " | ".join(cells) + " |")
    others = [m for m in methods if m != reference]
    lines += ["", f"## {reference} against each method: cells won-tied-lost", "",
              "| d | B | " + " | ".join(others) + " |", "|" + "---|" * (len(others) + 2)]
    for slot in sorted(summary["wtl"]):
        wtl = summary["wtl"][slot]
        lines.append(f"| {slot[0]} | {slot[1]}·d | " + " | ".join(
            "{}-{}-{}".format(*wtl[m]) if m in wtl else "" for m in others) + " |")
    lines += ["", "## Overhead per suggestion (median ms of CPU time inside the method)", "",
              "| d | B | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 2)]
    for slot in sorted(summary["overhead"]):
        ov = summary["overhead"][slot]
        lines.append(f"| {slot[0]} | {slot[1]}·d | " + " | ".join(
            f"{ov[m]:.3g}" if m in ov else "" for m in methods) + " |")
    text = "\n".join(lines) + "\n"
    if path is not None:
        path.write_text(text)
    return text


def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="f1 and f8, instance 1, 2-D, B = 20·d")
    p.add_argument("--methods", nargs="+", default=None, choices=METHODS)
    p.add_argument("--functions", nargs="+", type=int, default=None)
    p.add_argument("--instances", nargs="+", type=int, default=None)
    p.add_argument("--dims", nargs="+", type=int, default=None)
    p.add_argument("--budget-factors", nargs="+", type=int, default=None)
    p.add_argument("--reference", default="sparse_grid", choices=METHODS)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--prefix", default=None, help="file name prefix (default bbob / bbob_quick)")
    p.add_argument("--fresh", action="store_true", help="ignore rows already in the CSV")
    args = p.parse_args(argv)
    for f in args.functions or ():
        if not 1 <= f <= 24:
            p.error(f"BBOB functions are 1..24, got {f}")

    methods = args.methods or DEFAULT_METHODS
    if args.quick:
        functions, instances = args.functions or [1, 8], args.instances or [1]
        dims, factors = args.dims or [2], args.budget_factors or [20]
        prefix = args.prefix or "bbob_quick"
    else:
        functions, instances = args.functions or list(FUNCTIONS), args.instances or [1, 2, 3]
        dims, factors = args.dims or [2, 5, 10], args.budget_factors or [20, 50]
        prefix = args.prefix or "bbob"
    if args.reference not in methods:
        methods = [args.reference, *methods]
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / f"{prefix}.csv"
    rows = [] if args.fresh else _read_rows(csv_path)
    if args.fresh or not csv_path.exists():
        with csv_path.open("w", newline="") as fh:
            csv.DictWriter(fh, FIELDS).writeheader()
    done = {(r["method"], r["function"], r["instance"], r["dim"], r["budget"]) for r in rows}
    todo = [(m, f, i, d, k * d) for d in dims for k in factors for f in functions
            for i in instances for m in methods
            if (m, str(f), str(i), str(d), str(k * d)) not in done]
    print(f"{len(todo)} runs to do ({len(done)} already in {csv_path})", flush=True)
    t_all = time.perf_counter()
    for n, (m, f, i, d, b) in enumerate(todo, 1):
        row = run_one(m, f, i, d, b)
        with csv_path.open("a", newline="") as fh:
            csv.DictWriter(fh, FIELDS).writerow(row)
        rows.append({k: str(v) for k, v in row.items()})
        if n % 20 == 0 or n == len(todo):
            print(f"[{n}/{len(todo)}] {m} f{f} i{i} {d}-D B={b}: log10 regret "
                  f"{row['log10_regret']:.2f} ({time.perf_counter() - t_all:.0f} s)", flush=True)
    wanted = {(str(f), str(i), str(d), str(k * d)) for f in functions for i in instances
              for d in dims for k in factors}
    rows = [r for r in rows if (r["function"], r["instance"], r["dim"], r["budget"]) in wanted]
    summary = summarize(rows, methods, args.reference)
    command = "python benchmarks/bbob.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(write_markdown(summary, methods, args.reference, command.strip(),
                         args.out / f"{prefix}.md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
