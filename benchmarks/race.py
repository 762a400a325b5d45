"""Race: every search strategy against outside references on shifted test functions.

One command::

    .venv/bin/python benchmarks/race.py            # full race (about an hour on 2 cores)
    .venv/bin/python benchmarks/race.py --quick    # small subset, under 2 minutes

Methods: the five registered strategies (``core.strategies.STRATEGIES``, default options), the
thesis variant of sparse grid search as its own column (``sparse_grid_thesis``), plus
optuna's TPE sampler and pycma's CMA-ES (with restarts) as outside references; optuna's GP
sampler is opt-in (``--methods optuna_gp --prefix race_optuna_gp``: slow, imports torch).
Functions, all on shifted domains so that no optimum sits on a dyadic grid point or a
grid-search midpoint:

- ``rosenbrock``: Rosenbrock on [-2, 2]^d, shifted by ``s ~ U(-0.5, 0.5)^d`` (the issue's
  reference setting), optimum 0 at ``1 + s``;
- ``ackley``: Ackley on [-5, 5]^d shifted by ``s ~ U(-2, 2)^d`` (multimodal), optimum 0 at ``s``;
- ``styblinski_tang``: Styblinski-Tang / d on [-5, 5]^d shifted by ``s ~ U(-1, 1)^d`` (smooth,
  several local minima), optimum -39.166... at ``-2.903534 + s``.

The shift depends on the seed only, so every method sees the same function for a given seed
(paired comparison). Each run gets the budget ``B`` and reports the regret ``min f - f_opt``, the
number of evaluations used (checked ``<= B``) and the overhead per suggestion: the time spent
inside the method (ask/tell, surrogate fits, optimizer runs), excluding the objective and the
driver, divided by the number of evaluations. It is measured as process CPU time (BLAS limited
to one thread), so a machine shared with other jobs does not inflate it.

Strategies are driven by :func:`core.run.iterate` when it exists (the driver is the one place
that evaluates), else by the equivalent local ask/evaluate/tell loop below.

Outputs in ``benchmarks/results/``: ``race.csv`` (one row per run, appended as runs finish, so a
long race writes partial results and resumes), ``race_summary.csv`` and ``race.md`` (median and
IQR per method x function x dimension x budget) and ``race.png``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "benchmarks")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from core.objectives import TEST_FUNCTIONS  # noqa: E402
from core.space import Float, SearchSpace  # noqa: E402
from core.strategies import COMPOSITIONS, STRATEGIES, make_strategy  # noqa: E402

try:
    from core.run import iterate as _iterate
except ImportError:  # pragma: no cover - before the driver existed
    _iterate = None

RESULTS = ROOT / "benchmarks" / "results"
FIELDS = [
    "method", "function", "dim", "budget", "seed", "regret", "best", "nfev", "overhead_ms",
    "seconds", "options",
]


# ---------------------------------------------------------------------------------- functions
def _styblinski_tang(X: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(X**4 - 16.0 * X**2 + 5.0 * X, axis=1) / X.shape[1]


@dataclass(frozen=True)
class RaceFunction:
    """A test function on ``[low, high]^d`` shifted by ``shift``: ``f(x - shift)``.

    An objective for :mod:`core.run` (``space`` and ``__call__(config)``) and, for the outside
    references, vectorized on unit-cube points (``evaluate_unit``).
    """

    name: str
    formula: Callable[[np.ndarray], np.ndarray]
    low: float
    high: float
    f_opt: float
    shift: np.ndarray

    @property
    def space(self) -> SearchSpace:
        dims = range(len(self.shift))
        return SearchSpace({f"x{t + 1}": Float(self.low, self.high) for t in dims})

    def __call__(self, config: dict) -> float:
        x = np.array([[config[f"x{t + 1}"] for t in range(len(self.shift))]])
        return float(self.formula(x - self.shift)[0])

    def evaluate_unit(self, U: np.ndarray) -> np.ndarray:
        """Values at unit-cube points ``U`` (n, d) -> (n,)."""
        X = self.low + np.asarray(U, dtype=np.float64) * (self.high - self.low)
        return self.formula(X - self.shift)


def make_function(name: str, dim: int, seed: int) -> RaceFunction:
    """The race function ``name`` in ``dim`` dimensions with the shift drawn from ``seed``."""
    rng = np.random.default_rng([seed, dim, 7919])
    if name == "rosenbrock":
        shift = rng.uniform(-0.5, 0.5, dim)
        return RaceFunction(name, TEST_FUNCTIONS["rosenbrock"].formula, -2.0, 2.0, 0.0, shift)
    if name == "ackley":
        shift = rng.uniform(-2.0, 2.0, dim)
        return RaceFunction(name, TEST_FUNCTIONS["ackley"].formula, -5.0, 5.0, 0.0, shift)
    if name == "styblinski_tang":
        shift = rng.uniform(-1.0, 1.0, dim)
        f_opt = float(_styblinski_tang(np.full((1, dim), -2.903534018185960))[0])
        return RaceFunction(name, _styblinski_tang, -5.0, 5.0, f_opt, shift)
    raise ValueError(f"unknown race function {name!r}")


FUNCTIONS = ("rosenbrock", "ackley", "styblinski_tang")


# ---------------------------------------------------------------------------------- runners
@dataclass
class RunOutcome:
    best: float
    nfev: int
    method_seconds: float
    seconds: float


class _Clock:
    """CPU seconds spent inside wrapped calls (process time: robust to a loaded machine)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, f: Callable) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                self.seconds += time.process_time() - t0

        return timed


def _run_strategy(
    method: Any, fn: RaceFunction, dim: int, budget: int, seed: int, options: dict
) -> RunOutcome:
    """Run a registered strategy (``method`` its name) or a Strategy class (``method``)."""
    t_start = time.perf_counter()
    clock = _Clock()
    if isinstance(method, str):
        strategy = clock.wrap(make_strategy)(method, dim, budget, seed=seed, **options)
    else:
        strategy = clock.wrap(method)(dim, budget, seed=seed, **options)
    strategy.ask = clock.wrap(strategy.ask)
    strategy.tell = clock.wrap(strategy.tell)
    if _iterate is not None:  # the driver: the one place that evaluates
        best, nfev = np.inf, 0
        for batch in _iterate(fn, fn.space, strategy):
            nfev = batch.nfev
            if batch.best is not None:
                best = batch.best.value
        return RunOutcome(best, nfev, clock.seconds, time.perf_counter() - t_start)
    best, nfev = np.inf, 0
    while len(U := strategy.ask()):
        y = fn.evaluate_unit(U)
        nfev += len(U)
        best = min(best, float(np.min(y)))
        strategy.tell(U, y)
    return RunOutcome(best, nfev, clock.seconds, time.perf_counter() - t_start)


def _run_optuna_tpe(
    fn: RaceFunction, dim: int, budget: int, seed: int, options: dict, kind: str = "tpe"
) -> RunOutcome:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t_start = time.perf_counter()
    t0 = time.process_time()
    if kind == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, **options)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed, **options)
    study = optuna.create_study(sampler=sampler)
    t_method = time.process_time() - t0
    best = np.inf
    for _ in range(budget):
        t0 = time.process_time()
        trial = study.ask()
        u = np.array([trial.suggest_float(f"x{t}", 0.0, 1.0) for t in range(dim)])
        t_method += time.process_time() - t0
        y = float(fn.evaluate_unit(u[None, :])[0])
        best = min(best, y)
        t0 = time.process_time()
        study.tell(trial, y)
        t_method += time.process_time() - t0
    return RunOutcome(best, budget, t_method, time.perf_counter() - t_start)


def _run_cma(fn: RaceFunction, dim: int, budget: int, seed: int, options: dict) -> RunOutcome:
    import warnings

    import cma

    t_start = time.perf_counter()
    t0 = time.process_time()
    opts = {"bounds": [0.0, 1.0], "seed": seed + 1, "verbose": -9, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es = cma.CMAEvolutionStrategy(np.full(dim, 0.5), 0.3, opts)
    t_method = time.process_time() - t0
    best = np.inf
    nfev = 0
    while nfev < budget:
        t0 = time.process_time()
        X = np.clip(np.array(es.ask()), 0.0, 1.0)
        t_method += time.process_time() - t0
        take = min(len(X), budget - nfev)
        y = fn.evaluate_unit(X[:take])
        nfev += take
        best = min(best, float(np.min(y)))
        if take < len(X):  # the budget ends inside a generation: nothing more to learn
            break
        t0 = time.process_time()
        es.tell(list(X), y.tolist())
        if es.stop():  # restart with a fresh, larger-sigma search (IPOP-style, no pop growth)
            es = cma.CMAEvolutionStrategy(
                np.random.default_rng([seed, nfev]).random(dim), 0.3,
                {**opts, "seed": seed + 1 + nfev},
            )
        t_method += time.process_time() - t0
    return RunOutcome(best, nfev, t_method, time.perf_counter() - t_start)


def _run_optuna_gp(
    fn: RaceFunction, dim: int, budget: int, seed: int, options: dict
) -> RunOutcome:
    return _run_optuna_tpe(fn, dim, budget, seed, options, kind="gp")


#: Race columns that run a registered strategy with fixed options: name -> (strategy, options).
from ablation import ABLATION_VARIANTS  # noqa: E402

#: Extra columns: name -> (registered strategy name, or a Strategy class, and fixed options).
#: The ablation columns (``benchmarks/ablation.py``) are opt-in (``--methods``).
VARIANTS: dict[str, tuple[Any, dict]] = {
    "sparse_grid_thesis": COMPOSITIONS["sparse_grid_thesis"][:2],
    **ABLATION_VARIANTS,
}

OUTSIDE: dict[str, Callable[..., RunOutcome]] = {
    "optuna_tpe": _run_optuna_tpe,
    "cma": _run_cma,
    "optuna_gp": _run_optuna_gp,  # opt-in (--methods optuna_gp): slow, imports torch
}
METHODS = ("sparse_grid", *VARIANTS, *(m for m in STRATEGIES if m != "sparse_grid"), *OUTSIDE)
DEFAULT_METHODS = [m for m in METHODS if m != "optuna_gp" and m not in ABLATION_VARIANTS]


def run_one(
    method: str, function: str, dim: int, budget: int, seed: int, options: dict | None = None
) -> dict:
    """Run one method once; return a CSV row (dict with the keys :data:`FIELDS`)."""
    options = dict(options or {})
    fn = make_function(function, dim, seed)
    if method in OUTSIDE:
        out = OUTSIDE[method](fn, dim, budget, seed, options)
    elif method in VARIANTS:
        name, fixed = VARIANTS[method]
        options = {**fixed, **options}
        out = _run_strategy(name, fn, dim, budget, seed, options)
    else:
        out = _run_strategy(method, fn, dim, budget, seed, options)
    if out.nfev > budget:
        raise AssertionError(f"{method} used {out.nfev} > {budget} evaluations")
    return {
        "method": method,
        "function": function,
        "dim": dim,
        "budget": budget,
        "seed": seed,
        "regret": out.best - fn.f_opt,
        "best": out.best,
        "nfev": out.nfev,
        "overhead_ms": 1e3 * out.method_seconds / max(out.nfev, 1),
        "seconds": out.seconds,
        "options": ";".join(f"{k}={v}" for k, v in sorted(options.items())),
    }


# ---------------------------------------------------------------------------------- summary
#: Median regrets the issue measured in the same setting (Rosenbrock on [-2, 2]^d, shifted; 10
#: seeds, optuna GP 2 seeds), by (dim, budget) -> reference -> regret.
ISSUE_REFERENCES: dict[tuple[int, int], dict[str, float]] = {
    (2, 50): {"random": 1.99, "optuna_tpe": 0.62, "cma": 0.88, "scipy DE": 0.38,
              "Tasmanian": 0.074, "optuna_gp": 0.028},
    (2, 100): {"random": 1.37, "optuna_tpe": 0.26, "cma": 0.37, "scipy DE": 0.18,
               "Tasmanian": 0.012, "optuna_gp": 0.0005},
    (2, 200): {"random": 0.19, "optuna_tpe": 0.023, "cma": 0.059, "scipy DE": 0.038,
               "Tasmanian": 0.0001},
    (5, 50): {"random": 153, "optuna_tpe": 29, "cma": 139, "Tasmanian": 54, "optuna_gp": 15.9},
    (5, 100): {"random": 83, "optuna_tpe": 5.9, "cma": 78, "Tasmanian": 52, "optuna_gp": 4.5},
    (5, 200): {"random": 52, "optuna_tpe": 4.4, "cma": 6.3, "Tasmanian": 28},
}


def reference_table(summary: list[dict], methods: list[str]) -> str:
    """Markdown: this race's Rosenbrock medians beside the issue's reference figures."""
    med = {(s["dim"], s["budget"], s["method"]): s["median_regret"] for s in summary
           if s["function"] == "rosenbrock"}
    lines = [
        "## Rosenbrock reference setting: this race beside the issue's figures",
        "",
        "Median regret. `issue:` columns are the figures quoted in the issue (other shifts, "
        "other machines); the rest are from this race.",
        "",
        "| d | B | " + " | ".join(methods) + " | " + " | ".join(
            f"issue: {r}" for r in ("random", "optuna_tpe", "cma", "Tasmanian", "optuna_gp")
        ) + " |",
        "|" + "---|" * (len(methods) + 7),
    ]
    for (dim, budget), refs in ISSUE_REFERENCES.items():
        ours = [_fmt(med[(dim, budget, m)]) if (dim, budget, m) in med else "" for m in methods]
        theirs = [_fmt(refs[r]) if r in refs else "" for r in
                  ("random", "optuna_tpe", "cma", "Tasmanian", "optuna_gp")]
        if any(ours):
            lines.append(f"| {dim} | {budget} | " + " | ".join(ours + theirs) + " |")
    lines.append("")
    return "\n".join(lines)

def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as fh:
        return list(csv.DictReader(fh))


def summarize(rows: list[dict]) -> list[dict]:
    """Median / IQR of regret, max evaluations and median overhead per configuration."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["function"], int(r["dim"]), int(r["budget"]), r["method"])
        groups.setdefault(key, []).append(r)
    out = []
    for (function, dim, budget, method), rs in sorted(groups.items()):
        reg = np.array([float(r["regret"]) for r in rs])
        q25, med, q75 = np.percentile(reg, [25, 50, 75])
        out.append({
            "function": function, "dim": dim, "budget": budget, "method": method,
            "n_seeds": len(rs), "median_regret": med, "q25_regret": q25, "q75_regret": q75,
            "max_nfev": max(int(r["nfev"]) for r in rs),
            "median_overhead_ms": float(np.median([float(r["overhead_ms"]) for r in rs])),
        })
    return out


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


def write_markdown(summary: list[dict], path: Path, methods: list[str]) -> str:
    lines = [
        "# Race results",
        "",
        "Median regret [IQR] over seeds; evaluations used = max over seeds (never above the "
        "budget B); overhead = median time inside the method per evaluation (ms).",
        "Written by `benchmarks/race.py`; regenerate with the same command.",
        "",
    ]
    by_key: dict[tuple, dict[str, dict]] = {}
    for s in summary:
        by_key.setdefault((s["function"], s["dim"], s["budget"]), {})[s["method"]] = s
    for function in sorted({k[0] for k in by_key}):
        for dim in sorted({k[1] for k in by_key if k[0] == function}):
            lines += [f"## {function}, {dim}-D", ""]
            header = "| B | " + " | ".join(methods) + " |"
            lines += [header, "|" + "---|" * (len(methods) + 1)]
            budgets = sorted({k[2] for k in by_key if k[:2] == (function, dim)})
            for b in budgets:
                cells = []
                row = by_key[(function, dim, b)]
                meds = {m: row[m]["median_regret"] for m in methods if m in row}
                best_m = min(meds, key=meds.get) if meds else None
                for m in methods:
                    if m not in row:
                        cells.append("")
                        continue
                    s = row[m]
                    txt = (
                        f"{_fmt(s['median_regret'])} [{_fmt(s['q25_regret'])}, "
                        f"{_fmt(s['q75_regret'])}] ({s['max_nfev']}, "
                        f"{s['median_overhead_ms']:.2g} ms)"
                    )
                    cells.append(f"**{txt}**" if m == best_m else txt)
                lines.append(f"| {b} | " + " | ".join(cells) + " |")
            lines.append("")
    text = "\n".join(lines) + "\n" + reference_table(summary, methods)
    path.write_text(text)
    return text


def plot(summary: list[dict], path: Path, methods: list[str]) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    functions = sorted({s["function"] for s in summary})
    dims = sorted({s["dim"] for s in summary})
    fig, axes = plt.subplots(
        len(functions), len(dims), figsize=(4.2 * len(dims), 3.4 * len(functions)),
        squeeze=False,
    )
    colors = plt.get_cmap("tab10")
    for i, function in enumerate(functions):
        for j, dim in enumerate(dims):
            ax = axes[i][j]
            for k, m in enumerate(methods):
                rows = sorted(
                    (s for s in summary
                     if s["function"] == function and s["dim"] == dim and s["method"] == m),
                    key=lambda s: s["budget"],
                )
                if not rows:
                    continue
                b = [s["budget"] for s in rows]
                floor = 1e-12
                med = [max(s["median_regret"], floor) for s in rows]
                lo = [max(s["q25_regret"], floor) for s in rows]
                hi = [max(s["q75_regret"], floor) for s in rows]
                style = "-" if m in STRATEGIES or m in VARIANTS else "--"
                ax.plot(b, med, style, marker="o", ms=3, color=colors(k), label=m)
                ax.fill_between(b, lo, hi, color=colors(k), alpha=0.12)
            ax.set_xscale("log")
            ax.set_yscale("log")
            budgets = sorted({s["budget"] for s in summary})
            ax.set_xticks(budgets, [str(b) for b in budgets])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_title(f"{function}, {dim}-D", fontsize=10)
            ax.set_xlabel("budget B")
            if j == 0:
                ax.set_ylabel("regret (median, IQR)")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small subset (< 2 minutes)")
    p.add_argument("--methods", nargs="+", default=None, choices=METHODS)
    p.add_argument("--functions", nargs="+", default=None, choices=FUNCTIONS)
    p.add_argument("--dims", nargs="+", type=int, default=None)
    p.add_argument("--budgets", nargs="+", type=int, default=None)
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (0..n-1)")
    p.add_argument("--out", type=Path, default=RESULTS, help="output directory")
    p.add_argument("--prefix", default=None, help="file name prefix (default race / race_quick)")
    p.add_argument("--fresh", action="store_true", help="ignore rows already in race.csv")
    p.add_argument(
        "--rerun", nargs="+", default=[], choices=METHODS,
        help="drop these methods' rows from the CSV first and run them again",
    )
    args = p.parse_args(argv)

    if args.quick:
        methods = args.methods or DEFAULT_METHODS
        functions = args.functions or ["rosenbrock"]
        dims = args.dims or [2, 5]
        budgets = args.budgets or [50]
        n_seeds = args.seeds or 3
        prefix = "race_quick"
    else:
        methods = args.methods or DEFAULT_METHODS
        functions = args.functions or list(FUNCTIONS)
        dims = args.dims or [2, 5, 10]
        budgets = args.budgets or [25, 50, 100, 200]
        n_seeds = args.seeds or 10
        prefix = "race"
    prefix = args.prefix or prefix
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{prefix}.csv"
    rows = [] if args.fresh else _read_rows(csv_path)
    if args.rerun and rows:
        rows = [r for r in rows if r["method"] not in args.rerun]
        with csv_path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, FIELDS)
            w.writeheader()
            w.writerows(rows)
    done = {(r["method"], r["function"], r["dim"], r["budget"], r["seed"]) for r in rows}
    if args.fresh or not csv_path.exists():
        with csv_path.open("w", newline="") as fh:
            csv.DictWriter(fh, FIELDS).writeheader()

    t_all = time.perf_counter()
    todo = [
        (m, f, d, b, s)
        for f in functions for d in dims for b in budgets for m in methods
        for s in range(n_seeds)
        if (m, f, str(d), str(b), str(s)) not in done
    ]
    print(f"{len(todo)} runs to do ({len(done)} already in {csv_path.name})", flush=True)
    for i, (m, f, d, b, s) in enumerate(todo, 1):
        row = run_one(m, f, d, b, s)
        with csv_path.open("a", newline="") as fh:
            csv.DictWriter(fh, FIELDS).writerow(row)
        rows.append({k: str(v) for k, v in row.items()})
        if i % 25 == 0 or i == len(todo):
            print(
                f"[{i}/{len(todo)}] {m} {f} {d}-D B={b} seed={s}: regret {row['regret']:.3g} "
                f"({time.perf_counter() - t_all:.0f} s)",
                flush=True,
            )

    wanted = {(m, f, str(d), str(b)) for m in methods for f in functions for d in dims
              for b in budgets}
    rows = [r for r in rows if (r["method"], r["function"], r["dim"], r["budget"]) in wanted]
    summary = summarize(rows)
    with (out / f"{prefix}_summary.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, list(summary[0]))
        w.writeheader()
        w.writerows(summary)
    text = write_markdown(summary, out / f"{prefix}.md", methods)
    plot(summary, out / f"{prefix}.png", methods)
    print(text)
    print(f"total {time.perf_counter() - t_all:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
