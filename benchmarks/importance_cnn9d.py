"""Importance of the 9-D CNN's hyperparameters: ours twice, optuna's fANOVA twice, same trials.

Run: ``python benchmarks/importance_cnn9d.py`` (``--budget``, ``--seed``, ``--method``). It runs
(or, when the journal is complete, reads from it without training) ``minimize(cnn_digits_9d,
method="sparse_grid", n_evals=93, seed=0)`` with the journal
``benchmarks/results/cnn9d_sparse_grid_seed0_n93.jsonl`` (93 is the sparse-grid budget of the 9-D
CNN table in ``notebooks/03_reproduce_the_seed.ipynb``), then computes on the same evaluations:

- ``core.importance.importance(res)`` twice (first-order and total Sobol indices of the
  surrogate of the run's grid);
- an optuna study holding the same trials (``optuna.trial.create_trial``), and
  ``get_param_importances`` with ``SparseGridImportanceEvaluator`` twice and with optuna's
  ``FanovaImportanceEvaluator`` (no seed, as optuna's default call is) twice.

The table goes to stdout and to ``benchmarks/results/importance_cnn9d.md`` (other settings:
``importance_cnn9d_<method>_seed<seed>_n<budget>.md`` beside their journal). ``--quick``: a 2-D
stand-in objective (no training) for the tests, written only to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.importance import importance  # noqa: E402
from core.run import minimize  # noqa: E402
from core.space import Categorical, Float, Int, SearchSpace  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def optuna_study(res, space: SearchSpace):
    """An optuna study holding the run's evaluations as COMPLETE (ok) or FAIL trials."""
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    dists = {}
    for name, p in space.params.items():
        if isinstance(p, Float):
            dists[name] = FloatDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Int):
            dists[name] = IntDistribution(p.low, p.high, log=p.log)
        elif isinstance(p, Categorical):
            dists[name] = CategoricalDistribution(p.choices)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    trials = []
    for ev in res.history:
        if ev.ok:
            trials.append(
                optuna.trial.create_trial(params=ev.config, distributions=dists, value=ev.value)
            )
        else:
            trials.append(
                optuna.trial.create_trial(
                    params=ev.config, distributions=dists, state=optuna.trial.TrialState.FAIL
                )
            )
    study.add_trials(trials)
    return study


def run_from_journal(path: Path):
    """The run recorded in a complete journal, as a RunResult (None if it is not complete).

    Read directly from the records rather than replayed, so the figures do not depend on the
    strategy's code staying the same.
    """
    from core.journal import load_journal
    from core.records import Evaluation, RunResult

    journal = load_journal(path)
    if not journal.complete:
        return None
    history = []
    for r in journal.records:
        ok = r.get("status") == "ok"
        history.append(
            Evaluation(
                index=r["index"],
                config=r["config"],
                u=np.asarray(r["u"], dtype=np.float64),
                value=float(r["value"]) if ok else math.nan,
                seconds=float(r.get("seconds") or 0.0),
                status="ok" if ok else "failed",
                error=r.get("error"),
                step=int(r.get("step") or 0),
            )
        )
    best = min((e for e in history if e.ok), key=lambda e: e.value, default=None)
    return RunResult(
        x=None if best is None else best.config,
        fun=math.nan if best is None else best.value,
        u=np.full(journal.space.dim, np.nan) if best is None else best.u,
        nfev=len(history),
        nit=0,
        history=tuple(history),
        method=str(journal.method),
        stop_reason=str((journal.end or {}).get("reason", "budget")),
        success=best is not None,
        message=f"read from {path}",
        seconds=sum(e.seconds for e in history),
    )


def quick_objective():
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "width": Int(1, 8)})

    def fun(c):
        return (math.log10(c["lr"]) + 2.5) ** 2 + 0.05 * c["width"]

    return fun, space


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="sparse_grid")
    ap.add_argument("--budget", type=int, default=93)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--journal", type=Path, default=None)
    ap.add_argument(
        "--out", type=Path, default=None, help="default: results/importance_cnn9d.md (not --quick)"
    )
    ap.add_argument("--quick", action="store_true", help="2-D stand-in objective, no training")
    args = ap.parse_args(argv)

    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    from core.integrations.optuna import SparseGridImportanceEvaluator

    if args.quick:
        fun, space = quick_objective()
        title = "2-D stand-in (quick)"
        journal = args.journal
    else:
        from core.objectives import OBJECTIVES

        fun = OBJECTIVES["cnn_digits_9d"]
        space = fun.space
        title = "9-D CNN on digits (cnn_digits_9d)"
        tag = f"{args.method}_seed{args.seed}_n{args.budget}"
        journal = args.journal or RESULTS / f"cnn9d_{tag}.jsonl"
    t0 = time.perf_counter()
    res = None
    if journal is not None and Path(journal).exists():
        res = run_from_journal(journal)  # complete: read, no training, whatever the code version
    if res is None:
        kwargs = {} if journal is None else dict(journal=journal, resume=Path(journal).exists())
        res = minimize(fun, space, args.method, args.budget, seed=args.seed, **kwargs)
    run_seconds = time.perf_counter() - t0

    a, b = importance(res), importance(res)
    identical = (
        a.first_order.tobytes() == b.first_order.tobytes()
        and a.total.tobytes() == b.total.tobytes()
    )
    study = optuna_study(res, space)
    ours_optuna = [
        get_param_importances(study, evaluator=SparseGridImportanceEvaluator()) for _ in range(2)
    ]
    fanova = [
        get_param_importances(study, evaluator=FanovaImportanceEvaluator()) for _ in range(2)
    ]

    names = list(space.names)
    lines = [
        f"# Hyperparameter importance: {title}",
        "",
        f"Command: `python benchmarks/importance_cnn9d.py"
        f"{' --quick' if args.quick else ''}` (method {args.method}, budget {args.budget}, "
        f"seed {args.seed}; {res.nfev} evaluations, {res.n_failed} failed; "
        f"optuna {optuna.__version__}).",
        "",
        f"Surrogate of importance(res): {_describe(a)}.{_interpolant_note(res, a)} The optuna "
        "evaluator's least-squares surrogate (from the trials' native values): cross-validated "
        f"R^2 {_evaluator_r2(study):.3f}.",
        "",
        "| parameter | S_i (1st call) | S_i (2nd call) | S_Ti (1st) | S_Ti (2nd) "
        "| evaluator 1st | evaluator 2nd | fANOVA 1st | fANOVA 2nd |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, name in enumerate(names):
        lines.append(
            f"| {name} | {a.first_order[k]:.4f} | {b.first_order[k]:.4f} | {a.total[k]:.4f} | "
            f"{b.total[k]:.4f} | {ours_optuna[0].get(name, 0):.4f} | "
            f"{ours_optuna[1].get(name, 0):.4f} | {fanova[0].get(name, 0):.4f} | "
            f"{fanova[1].get(name, 0):.4f} |"
        )
    lines += [
        "",
        f"Sum of first-order indices: {a.first_order.sum():.4f}.",
        f"importance(res) identical on both calls: {identical}.",
        "SparseGridImportanceEvaluator identical on both calls: "
        f"{ours_optuna[0] == ours_optuna[1]}.",
        f"fANOVA identical on both calls: {fanova[0] == fanova[1]}; largest difference "
        f"{max(abs(fanova[0].get(n, 0) - fanova[1].get(n, 0)) for n in names):.4f}.",
        "",
        "S_i / S_Ti: first-order / total Sobol indices of the run's sparse-grid surrogate "
        "(unit-cube coordinates; not normalized). The evaluator and fANOVA columns are "
        "optuna's get_param_importances (normalized to sum 1).",
        "",
        f"Training time of the run: {res.seconds:.0f} s (this command: {run_seconds:.0f} s).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = args.out
    if out is None and not args.quick:
        default = (args.method, args.budget, args.seed) == ("sparse_grid", 93, 0)
        out = RESULTS / ("importance_cnn9d.md" if default else f"importance_cnn9d_{tag}.md")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return 0 if identical and ours_optuna[0] == ours_optuna[1] else 1


def _describe(imp) -> str:
    if imp.fit == "interpolant":
        return (
            f"the interpolant of the run's {imp.n_points} grid points, R^2 {imp.check_r2:.3f} on "
            f"the {imp.n_check} off-grid evaluations it did not use"
        )
    from core.grid.levels import regular_grid_size

    d = imp.surrogate.levels.shape[1]
    return (
        f"a regular sparse grid of level {imp.level} ({regular_grid_size(d, imp.level)} basis "
        f"functions{', additive: no interaction terms' if imp.level == 2 else ''}) fitted to "
        f"{imp.n_points} evaluations by ridge regression, 5-fold cross-validated R^2 "
        f"{imp.check_r2:.3f}"
        if imp.fit == "least_squares"
        else imp.fit
    )


def _interpolant_note(res, chosen) -> str:
    """What the grid interpolant would have scored, when importance(res) did not pick it."""
    if chosen.fit == "interpolant":
        return ""
    try:
        interp = importance(res, fit="interpolant")
    except ValueError:
        return " The run has no grid interpolant."
    return (
        f" Not used: the interpolant of the run's {interp.n_points} grid points, R^2 "
        f"{interp.check_r2:.3f} on the {interp.n_check} off-grid evaluations it did not use."
    )


def _evaluator_r2(study) -> float:
    from core.integrations.optuna import SparseGridImportanceEvaluator

    ev = SparseGridImportanceEvaluator()
    ev.evaluate(study)
    return float(ev.last.check_r2) if ev.last is not None else float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
