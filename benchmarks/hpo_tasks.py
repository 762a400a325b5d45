"""Real HPO tasks: cross-validated scikit-learn models on bundled data, in the spirit of Bayesmark.

Black-box test functions are smooth and exact; real HPO objectives are not. A cross-validated
score is flat over wide regions (many configurations give the same accuracy), jumps where an
integer changes, and is noisy in the sense that one lucky fold split can make a configuration
look better than it is. Search spaces mix log scales and integers. This benchmark runs the
project's methods and optuna's TPE on six such tasks and reports, per task and budget, the
median best score over seeds beside random search's, and whether every run spent its budget::

    nice -n 10 .venv/bin/python benchmarks/hpo_tasks.py           # 4 tasks, B = 25 and 50, 5 seeds
    .venv/bin/python benchmarks/hpo_tasks.py --quick             # elastic net only, 2 seeds
    nice -n 10 .venv/bin/python benchmarks/hpo_tasks.py --tasks mlp_regression_5d \
        cnn_digits_9d --prefix hpo_tasks_torch                    # the project's torch models

The tasks (loss = what is minimized; every dataset ships with scikit-learn, nothing is
downloaded; the fold split is fixed, so each objective is a deterministic function):

``svc_digits``
    ``StandardScaler`` + ``SVC`` on ``load_digits``; ``C`` log in [1e-2, 1e3], ``gamma`` log in
    [1e-5, 1e-1]; loss = 1 - mean 3-fold accuracy.
``hgb_breast_cancer``
    ``HistGradientBoostingClassifier`` on ``load_breast_cancer``; ``learning_rate`` log in
    [1e-3, 1], ``max_leaf_nodes`` integer in [2, 64], ``max_iter`` integer in [10, 200],
    ``l2_regularization`` log in [1e-6, 10]; loss = 1 - mean 3-fold accuracy.
``mlp_wine``
    ``StandardScaler`` + ``MLPClassifier`` on ``load_wine``; ``hidden`` integer (log) in
    [2, 128], ``alpha`` log in [1e-6, 1], ``learning_rate_init`` log in [1e-4, 1e-1];
    loss = 1 - mean 3-fold accuracy.
``enet_diabetes``
    ``ElasticNet`` on ``load_diabetes`` (standardized); ``alpha`` log in [1e-4, 10],
    ``l1_ratio`` in [0, 1]; loss = mean 5-fold mean squared error / variance of the target.
``mlp_regression_5d``, ``cnn_digits_9d``
    The project's own torch objectives (``core.objectives``; trainings cost more than the
    fits above, so they run only when named with ``--tasks``, into
    ``hpo_tasks_torch.{csv,md}``): an MLP regressor on 1-D synthetic data (epochs,
    learning rate, batch size, layers, neurons; loss = validation MSE) and a CNN on the 8x8
    digits (nine hyperparameters, seven of them integers; loss = 1 - validation accuracy).
    Their training is seeded, so each is a deterministic function too.

Methods: ``sparse_grid`` (the library default), ``sparse_grid_thesis`` (the slides' method),
``random``, ``bayesian`` (ours) and ``optuna_tpe``. The markdown table goes to
``benchmarks/results/<prefix>.md`` (``hpo_tasks``, ``hpo_tasks_torch`` when a torch model is
among the tasks, ``hpo_tasks_quick``) with the command, versions, machine and commit.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from bbob import _commit, _versions, machine_line  # noqa: E402

from core.space import Float, Int, SearchSpace  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
FIELDS = ["task", "method", "budget", "seed", "best", "nfev", "stop_reason", "seconds"]
METHODS = ("sparse_grid", "sparse_grid_thesis", "random", "bayesian", "optuna_tpe")
#: Our methods under their registry name, with the options a column fixes.
OURS: dict[str, tuple[str, dict[str, Any]]] = {
    "sparse_grid": ("sparse_grid", {}),
    "sparse_grid_thesis": ("sparse_grid", {"variant": "thesis"}),
    "random": ("random", {}),
    "bayesian": ("bayesian", {}),
}


class Task:
    """One cross-validated scikit-learn objective: ``task(config) -> loss`` over ``space``."""

    def __init__(self, name: str, space: SearchSpace, build: Callable[[dict], Any],
                 data: Callable[[], tuple[np.ndarray, np.ndarray]], folds: Any,
                 scoring: str) -> None:
        self.name, self.space, self.build, self.folds, self.scoring = (
            name, space, build, folds, scoring)
        self.X, self.y = data()
        self.scale = float(np.var(self.y)) if scoring == "neg_mean_squared_error" else 1.0

    def __call__(self, config: dict) -> float:
        from sklearn.model_selection import cross_val_score

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings of MLP / ElasticNet
            scores = cross_val_score(self.build(config), self.X, self.y, cv=self.folds,
                                     scoring=self.scoring)
        if self.scoring == "accuracy":
            return float(1.0 - scores.mean())
        return float(-scores.mean() / self.scale)


class ProjectTask:
    """One of the project's own objectives (``core.objectives.OBJECTIVES``) as a task: the loss
    is the value of its measurement."""

    def __init__(self, name: str) -> None:
        from core.objectives import OBJECTIVES

        self.name, self.objective = name, OBJECTIVES[name]
        self.space = self.objective.space

    def __call__(self, config: dict) -> float:
        return float(self.objective(config).value)


def make_task(name: str) -> Task | ProjectTask:
    """The task called ``name`` (module docstring)."""
    if name in PROJECT_TASKS:
        return ProjectTask(name)
    from sklearn import datasets
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    strat3 = StratifiedKFold(3, shuffle=True, random_state=0)
    if name == "svc_digits":
        return Task(name, SearchSpace({"C": Float(1e-2, 1e3, log=True),
                                       "gamma": Float(1e-5, 1e-1, log=True)}),
                    lambda c: make_pipeline(StandardScaler(), SVC(C=c["C"], gamma=c["gamma"])),
                    lambda: datasets.load_digits(return_X_y=True), strat3, "accuracy")
    if name == "hgb_breast_cancer":
        return Task(name, SearchSpace({
            "learning_rate": Float(1e-3, 1.0, log=True), "max_leaf_nodes": Int(2, 64),
            "max_iter": Int(10, 200), "l2_regularization": Float(1e-6, 10.0, log=True)}),
            lambda c: HistGradientBoostingClassifier(
                learning_rate=c["learning_rate"], max_leaf_nodes=c["max_leaf_nodes"],
                max_iter=c["max_iter"], l2_regularization=c["l2_regularization"],
                early_stopping=False, random_state=0),
            lambda: datasets.load_breast_cancer(return_X_y=True), strat3, "accuracy")
    if name == "mlp_wine":
        return Task(name, SearchSpace({
            "hidden": Int(2, 128, log=True), "alpha": Float(1e-6, 1.0, log=True),
            "learning_rate_init": Float(1e-4, 1e-1, log=True)}),
            lambda c: make_pipeline(StandardScaler(), MLPClassifier(
                hidden_layer_sizes=(c["hidden"],), alpha=c["alpha"],
                learning_rate_init=c["learning_rate_init"], max_iter=200, random_state=0)),
            lambda: datasets.load_wine(return_X_y=True), strat3, "accuracy")
    if name == "enet_diabetes":
        def data() -> tuple[np.ndarray, np.ndarray]:
            X, y = datasets.load_diabetes(return_X_y=True)
            return (X - X.mean(0)) / X.std(0), y

        return Task(name, SearchSpace({"alpha": Float(1e-4, 10.0, log=True),
                                       "l1_ratio": Float(0.0, 1.0)}),
                    lambda c: ElasticNet(alpha=c["alpha"], l1_ratio=c["l1_ratio"],
                                         max_iter=5000),
                    data, KFold(5, shuffle=True, random_state=0), "neg_mean_squared_error")
    raise ValueError(f"unknown task {name!r}; choose from {TASKS}")


SKLEARN_TASKS = ("svc_digits", "hgb_breast_cancer", "mlp_wine", "enet_diabetes")
#: The project's torch objectives: run only when named (``--tasks``), for their cost.
PROJECT_TASKS = ("mlp_regression_5d", "cnn_digits_9d")
TASKS = SKLEARN_TASKS + PROJECT_TASKS


def run_one(task: Task | ProjectTask, method: str, budget: int, seed: int) -> dict:
    """One run; a CSV row (the keys :data:`FIELDS`)."""
    t0 = time.perf_counter()
    if method == "optuna_tpe":
        import optuna

        from core.integrations.optuna import suggest_config

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda trial: task(suggest_config(trial, task.space)), n_trials=budget)
        best, nfev, stop = float(study.best_value), len(study.trials), "budget"
    else:
        from core.run import minimize

        name, options = OURS[method]
        res = minimize(task, task.space, name, budget, seed=seed, **options)
        best, nfev, stop = float(res.fun), int(res.nfev), str(res.stop_reason)
    if nfev > budget:
        raise AssertionError(f"{method} used {nfev} > {budget} evaluations")
    return {"task": task.name, "method": method, "budget": budget, "seed": seed,
            "best": repr(best), "nfev": nfev, "stop_reason": stop,
            "seconds": round(time.perf_counter() - t0, 2)}


def summarize(rows: list[dict], methods: list[str]) -> list[dict]:
    """Per (task, budget): each method's median best, runs that stopped short, and whether the
    default is at or below random search's median."""
    out = []
    keys = sorted({(r["task"], int(r["budget"])) for r in rows})
    for task, budget in keys:
        cell = {"task": task, "budget": budget}
        for m in methods:
            rs = [r for r in rows if r["task"] == task and int(r["budget"]) == budget
                  and r["method"] == m]
            if rs:
                cell[m] = float(np.median([float(r["best"]) for r in rs]))
                cell[m + ":short"] = sum(int(r["nfev"]) < budget for r in rs)
                cell[m + ":runs"] = len(rs)
        out.append(cell)
    return out


def write_markdown(summary: list[dict], methods: list[str], command: str, path: Path) -> str:
    head = ["task", "B", *methods, "default ≤ random median", "runs short of B (method: n)"]
    lines = [
        "# Real HPO tasks (" + "; ".join(kind for kind, names in (
            ("cross-validated scikit-learn models", SKLEARN_TASKS),
            ("the project's torch models", PROJECT_TASKS))
            if any(c["task"] in names for c in summary)) + ")",
        "",
        f"Written by `{command}` at commit {_commit()}; {_versions()}.",
        machine_line(), "",
        "Median over seeds of the best loss found (1 − CV accuracy, or CV MSE / var(y) for the "
        "elastic net; for the torch models validation MSE or 1 − validation accuracy; lower is "
        "better). See the docstring of `benchmarks/hpo_tasks.py` for the "
        "tasks. \"short\" counts runs that ended before the budget, with the reason in the CSV.",
        "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in summary:
        vals = [f"{c[m]:.5g}" if m in c else "–" for m in methods]
        ok = ("yes" if c.get("sparse_grid", np.inf) <= c.get("random", -np.inf) else "**no**") \
            if "sparse_grid" in c and "random" in c else "–"
        short = ", ".join(f"{m}: {c[m + ':short']}/{c[m + ':runs']}" for m in methods
                          if c.get(m + ":short"))
        lines.append(f"| {c['task']} | {c['budget']} | " + " | ".join(vals)
                     + f" | {ok} | {short or 'none'} |")
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="enet_diabetes, B = 25, seeds 0-1")
    p.add_argument("--tasks", nargs="+", default=None, choices=TASKS)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--budgets", nargs="+", type=int, default=None)
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (0..n-1)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--prefix", default=None,
                   help="file name prefix (default hpo_tasks / hpo_tasks_quick)")
    p.add_argument("--fresh", action="store_true", help="ignore rows already in the CSV")
    args = p.parse_args(argv)
    tasks = args.tasks or (["enet_diabetes"] if args.quick else list(SKLEARN_TASKS))
    budgets = args.budgets or ([25] if args.quick else [25, 50])
    seeds = range(args.seeds if args.seeds is not None else (2 if args.quick else 5))
    # torch rows never join the scikit-learn table's files unless a prefix says so
    default = "hpo_tasks_torch" if set(tasks) & set(PROJECT_TASKS) else "hpo_tasks"
    prefix = args.prefix or ("hpo_tasks_quick" if args.quick else default)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = args.out / f"{prefix}.csv", args.out / f"{prefix}.md"
    rows: list[dict] = []
    if csv_path.exists() and not args.fresh:
        with csv_path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    done = {(r["task"], r["method"], int(r["budget"]), int(r["seed"])) for r in rows}
    new = not rows
    with csv_path.open("w" if new else "a", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        if new:
            writer.writeheader()
        for name in tasks:
            task = make_task(name)
            for budget in budgets:
                for seed in seeds:
                    for method in args.methods:
                        if (name, method, budget, seed) in done:
                            continue
                        row = run_one(task, method, budget, seed)
                        writer.writerow(row)
                        fh.flush()
                        rows.append(row)
                        print(f"{name:18s} B={budget:3d} seed={seed} {method:18s} "
                              f"best={float(row['best']):.4f} nfev={row['nfev']} "
                              f"({row['seconds']} s)", flush=True)
    rows = [r for r in rows if r["task"] in tasks and int(r["budget"]) in budgets]
    command = "python benchmarks/hpo_tasks.py " + " ".join(argv if argv is not None
                                                           else sys.argv[1:])
    print(write_markdown(summarize(rows, args.methods), args.methods, command.strip(), md_path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
