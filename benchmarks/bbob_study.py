"""A focused BBOB study: option sets of the default sparse grid search against NGOpt.

The default ``method="sparse_grid"`` loses to nevergrad's NGOpt at ``B = 20 d`` in 5-D and 10-D
(``benchmarks/results/bbob.md``). This script runs a few option sets of
``make_strategy("sparse_grid", ...)`` (:data:`CANDIDATES`, each an existing option of the
strategy; the library's defaults are unchanged), two hybrids of the default grid search and
scipy's COBYLA (:data:`HYBRIDS`) and NGOpt on the same BBOB cells as
``benchmarks/bbob.py`` (same functions, domain, seed = instance, log10 regret) and reports,
per candidate, dimension and budget, the cells won-tied-lost against NGOpt and against the
default, and the median log10 regret per function::

    nice -n 10 .venv/bin/python benchmarks/bbob_study.py --dims 2 5 10 --budget-factors 20 50
    .venv/bin/python benchmarks/bbob_study.py --report --dims 2 5 10 --budget-factors 20 50

Rows are appended to ``benchmarks/results/bbob_study.csv`` (``--csv``) as runs finish,
with ``bbob.py``'s columns and the options of each run; a run already in the CSV is not
repeated. The report (``--report``, or after the runs) counts only the cells of the
``--dims``, ``--budget-factors``, ``--functions`` and ``--instances`` given, so the tuning
instances and held-out ones are summarized apart.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import bbob  # noqa: E402  (first: it sets the BLAS thread variables before numpy loads)
import numpy as np  # noqa: E402
from race import RunOutcome, _run_strategy  # noqa: E402

#: Option sets of ``make_strategy("sparse_grid", ...)``: name -> keyword options. ``{}`` is the
#: library default.
CANDIDATES: dict[str, dict] = {
    "sparse_grid": {},
    # the trust region below its budget threshold (5-D B < 139, 10-D B < 439)
    "sg_local": {"local_search": True},
    # the same with a first global search of 0.4 B: in 10-D at 20 d it then holds the
    # (d + 1)(d + 2) / 2 + 1 = 67 points a model needs (0.3 B = 60 does not)
    "sg_local_lf04": {"local_search": True, "local_fraction": 0.4},
    # greedier Novak-Ritter refinement (the default 0.85 is nearly breadth-first)
    "sg_gamma05": {"gamma": 0.5},
    # more of the budget to the zoom stages around the incumbent (default 0.4)
    "sg_zoom06": {"zoom_fraction": 0.6},
    # the local phase on COBYLA's linear models (after a first global search of 0.5 B)
    "sg_cobyla": {"local_model": "cobyla"},
}
#: Two-phase runs, not options of the strategy: the default sparse grid search for
#: ``grid_fraction`` of the budget, then scipy's COBYLA (the linear-model trust region that
#: NGOpt picks for bounded problems below 200 d evaluations) from the grid's incumbent with
#: initial radius ``rhobeg`` (unit cube), restarted from a seeded random point if it stops early.
HYBRIDS: dict[str, dict] = {
    "sg03_cobyla": {"grid_fraction": 0.3, "rhobeg": 0.1},
    "sg05_cobyla": {"grid_fraction": 0.5, "rhobeg": 0.1},
}
PEER = "ngopt"
FIELDS = [*bbob.FIELDS, "options"]
CSV = bbob.RESULTS / "bbob_study.csv"


def options_text(options: dict) -> str:
    """``options`` as ``key=value;key=value`` (sorted), the CSV's ``options`` column."""
    return ";".join(f"{k}={v}" for k, v in sorted(options.items()))


def current(row: dict) -> bool:
    """Whether a CSV row was run with the options its method has now in :data:`CANDIDATES`
    (rows of an option set since changed are neither counted nor taken as done)."""
    m = row["method"]
    expected = "" if m == PEER else options_text(HYBRIDS.get(m, CANDIDATES.get(m, {})))
    return m in (*CANDIDATES, *HYBRIDS, PEER) and row.get("options", "") == expected


def grid_then_cobyla(fn: bbob.BBOBFunction, dim: int, budget: int, seed: int,
                     grid_fraction: float, rhobeg: float) -> RunOutcome:
    """One :data:`HYBRIDS` run: best value, evaluations, CPU seconds outside the objective and
    wall seconds.

    The default ``make_strategy("sparse_grid", dim, round(grid_fraction * budget))`` first,
    then ``scipy.optimize.minimize(method="COBYLA")`` on ``[0, 1]^dim`` from the best point
    found, until exactly ``budget`` evaluations; a COBYLA run that converges early is followed
    by another from a point drawn by ``numpy.random.default_rng([seed, evaluations])``."""
    import time
    import warnings

    from scipy.optimize import minimize

    from core.strategies import make_strategy

    class _Spent(Exception):
        pass

    values: list[float] = []
    points: list[np.ndarray] = []
    in_fn = 0.0
    t_start, t0 = time.perf_counter(), time.process_time()

    def evaluate(U: np.ndarray) -> np.ndarray:
        nonlocal in_fn
        t = time.process_time()
        y = fn.evaluate_unit(U)
        in_fn += time.process_time() - t
        points.extend(np.atleast_2d(U))
        values.extend(float(v) for v in y)
        return y

    strategy = make_strategy("sparse_grid", dim, max(1, round(grid_fraction * budget)),
                             seed=seed)
    while len(U := strategy.ask()):
        strategy.tell(U, evaluate(U))

    def objective(x: np.ndarray) -> float:
        if len(values) >= budget:
            raise _Spent
        return float(evaluate(np.clip(x, 0.0, 1.0)[None, :])[0])

    x0 = points[int(np.argmin(values))]
    while len(values) < budget:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                minimize(objective, x0, method="COBYLA", bounds=[(0.0, 1.0)] * dim,
                         options={"rhobeg": rhobeg, "maxiter": budget - len(values),
                                  "tol": 1e-12})
        except _Spent:
            break
        x0 = np.random.default_rng([seed, len(values)]).random(dim)
    return RunOutcome(min(values[:budget]), min(len(values), budget),
                      time.process_time() - t0 - in_fn, time.perf_counter() - t_start)


def run_one(method: str, function: int, instance: int, dim: int, budget: int) -> dict:
    """One run of a candidate (``make_strategy("sparse_grid", **CANDIDATES[method])``), a
    hybrid (:func:`grid_then_cobyla`) or ``ngopt``, as a CSV row of :data:`FIELDS`; seed =
    instance, as in ``bbob.py``."""
    if method == PEER:
        return {**bbob.run_one(PEER, function, instance, dim, budget), "options": ""}
    fn = bbob.BBOBFunction(function, instance, dim)
    if method in HYBRIDS:
        options = HYBRIDS[method]
        out = grid_then_cobyla(fn, dim, budget, instance, **options)
    else:
        options = CANDIDATES[method]
        out = _run_strategy("sparse_grid", fn, dim, budget, instance, dict(options))
    return {**bbob.outcome_row(method, fn, budget, instance, out),
            "options": options_text(options)}


# ---------------------------------------------------------------------------------- report
def won_tied_lost(rows: list[dict], method: str, other: str) -> dict[tuple, tuple[int, int, int]]:
    """Per ``(dim, budget factor)``: the cells (function, instance) ``method`` won, tied and
    lost against ``other`` (best values within ``bbob.TIE`` tie), over the cells both ran."""
    best: dict[tuple, dict[str, float]] = {}
    for r in rows:
        if r["method"] in (method, other):
            d, b = int(r["dim"]), int(r["budget"])
            key = (d, b // d, int(r["function"]), int(r["instance"]))
            best.setdefault(key, {})[r["method"]] = float(r["best"])
    out: dict[tuple, tuple[int, int, int]] = {}
    for (d, k, _f, _i), vals in sorted(best.items()):
        if method not in vals or other not in vals:
            continue
        diff = vals[method] - vals[other]
        w, t, lo = out.get((d, k), (0, 0, 0))
        out[(d, k)] = (w + (diff < -bbob.TIE), t + (abs(diff) <= bbob.TIE),
                       lo + (diff > bbob.TIE))
    return out


def median_regret(rows: list[dict]) -> dict[tuple, dict[str, float]]:
    """Per ``(dim, budget factor, function)``: each method's median log10 regret over the
    instances it ran."""
    vals: dict[tuple, dict[str, list[float]]] = {}
    for r in rows:
        d, b = int(r["dim"]), int(r["budget"])
        vals.setdefault((d, b // d, int(r["function"])), {}).setdefault(
            r["method"], []).append(float(r["log10_regret"]))
    return {k: {m: float(np.median(v)) for m, v in per.items()} for k, per in sorted(vals.items())}


def report(rows: list[dict], methods: list[str]) -> str:
    """Markdown tables: won-tied-lost of each candidate against NGOpt and against the default,
    and the median log10 regret per function."""
    cands = [m for m in methods if m != PEER]
    vs_peer = {m: won_tied_lost(rows, m, PEER) for m in cands}
    vs_default = {m: won_tied_lost(rows, m, "sparse_grid") for m in cands if m != "sparse_grid"}
    slots = sorted({s for v in vs_peer.values() for s in v})
    lines = ["### Cells won-tied-lost against NGOpt", "",
             "| candidate | options | " + " | ".join(f"{d}-D {k}·d" for d, k in slots) + " |",
             "|" + "---|" * (len(slots) + 2)]
    for m in cands:
        opts = options_text(HYBRIDS.get(m, CANDIDATES.get(m, {}))) or "(default)"
        lines.append(f"| {m} | {opts} | " + " | ".join(
            "{}-{}-{}".format(*vs_peer[m][s]) if s in vs_peer[m] else "" for s in slots) + " |")
    if vs_default:
        lines += ["", "### Cells won-tied-lost against the default (sparse_grid)", "",
                  "| candidate | " + " | ".join(f"{d}-D {k}·d" for d, k in slots) + " |",
                  "|" + "---|" * (len(slots) + 1)]
        for m, wtl in vs_default.items():
            lines.append(f"| {m} | " + " | ".join(
                "{}-{}-{}".format(*wtl[s]) if s in wtl else "" for s in slots) + " |")
    lines += ["", "### Median log10 regret over the instances, per function (best in bold)", "",
              "| d | B | f | " + " | ".join(methods) + " |", "|" + "---|" * (len(methods) + 3)]
    for (d, k, f), med in median_regret(rows).items():
        best = min(med.values())
        lines.append(f"| {d} | {k}·d | f{f} | " + " | ".join(
            "" if m not in med else f"**{med[m]:.2f}**" if med[m] == best else f"{med[m]:.2f}"
            for m in methods) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", nargs="+", default=[*CANDIDATES, *HYBRIDS, PEER],
                   choices=[*CANDIDATES, *HYBRIDS, PEER])
    p.add_argument("--functions", nargs="+", type=int, default=list(bbob.FUNCTIONS))
    p.add_argument("--instances", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--dims", nargs="+", type=int, default=[5, 10])
    p.add_argument("--budget-factors", nargs="+", type=int, default=[20])
    p.add_argument("--csv", type=Path, default=CSV)
    p.add_argument("--report", action="store_true", help="no runs: the tables from the CSV")
    args = p.parse_args(argv)
    rows = [r for r in bbob._read_rows(args.csv) if current(r)]
    if not args.report:
        if not args.csv.exists():
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            with args.csv.open("w", newline="") as fh:
                csv.DictWriter(fh, FIELDS).writeheader()
        done = {(r["method"], r["function"], r["instance"], r["dim"], r["budget"]) for r in rows}
        todo = [(m, f, i, d, k * d) for d in args.dims for k in args.budget_factors
                for f in args.functions for i in args.instances for m in args.methods
                if (m, str(f), str(i), str(d), str(k * d)) not in done]
        print(f"{len(todo)} runs to do ({len(done)} already in {args.csv})", flush=True)
        for n, (m, f, i, d, b) in enumerate(todo, 1):
            row = run_one(m, f, i, d, b)
            with args.csv.open("a", newline="") as fh:
                csv.DictWriter(fh, FIELDS).writerow(row)
            rows.append({k: str(v) for k, v in row.items()})
            if n % 25 == 0 or n == len(todo):
                print(f"[{n}/{len(todo)}] {m} f{f} i{i} {d}-D B={b}", flush=True)
    wanted = {(str(f), str(i), str(d), str(k * d)) for f in args.functions
              for i in args.instances for d in args.dims for k in args.budget_factors}
    rows = [r for r in rows if r["method"] in args.methods
            and (r["function"], r["instance"], r["dim"], r["budget"]) in wanted]
    print(report(rows, args.methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
