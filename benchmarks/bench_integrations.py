"""Digits SVC: SparseGridSearchCV against RandomizedSearchCV and GridSearchCV at equal fits.

Run: ``python benchmarks/bench_integrations.py`` (``--quick``: a 600-image subset, a 3 x 3 grid,
one seed; ``--optuna`` adds the sampler race below). The pipeline is
``StandardScaler -> SVC(rbf)`` on scikit-learn's 8 x 8 digits, split 75/25 (stratified,
seed 0); each search cross-validates (5-fold stratified) over
``C`` log-uniform on ``[C_LOW, C_HIGH]`` and ``gamma`` log-uniform on ``[G_LOW, G_HIGH]`` with
``k * k`` candidates: ``GridSearchCV`` on ``k`` log-spaced values per axis (ends included),
``RandomizedSearchCV`` and ``SparseGridSearchCV`` with ``n_iter = k * k`` (sparse grid search
may stop below it when it has no further distinct candidate; the fits column says how many it
used). The table gives per search the number of fits, the best mean CV accuracy, the held-out
test accuracy of the refitted best estimator and the wall time of ``fit`` (refit included),
as the median over the seeds for the seeded searches (the grid has no randomness).

``--optuna``: a second table races optuna samplers on the same studies (the shifted test
functions of ``race.py``, a new shift per seed so that no optimum sits at the centre of the box
or on a grid point; budget ``--trials``): ``SparseGridSampler`` (sparse grid, and our GP with
``method="bayesian"``) against optuna's ``TPESampler`` and ``RandomSampler``, the median and range
over the seeds of the best value's gap to the known minimum, and the sampler's own time per trial
(the objectives cost next to nothing).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from core.integrations.sklearn import SparseGridSearchCV

C_LOW, C_HIGH = 1e-2, 1e3
G_LOW, G_HIGH = 1e-4, 1e0
FOLDS = 5


def pipeline() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("svc", SVC())])


def searches(k: int, seeds: int, n_jobs: int, methods: list[str]) -> list[tuple[str, object]]:
    """``(row name, unfitted search)`` for every run of the table."""
    space = {"svc__C": loguniform(C_LOW, C_HIGH), "svc__gamma": loguniform(G_LOW, G_HIGH)}
    grid = {
        "svc__C": np.geomspace(C_LOW, C_HIGH, k).tolist(),
        "svc__gamma": np.geomspace(G_LOW, G_HIGH, k).tolist(),
    }
    common = {"cv": StratifiedKFold(FOLDS, shuffle=True, random_state=0), "n_jobs": n_jobs}
    runs: list[tuple[str, object]] = []
    for method in methods:
        runs += [
            (f"SparseGridSearchCV ({method})", SparseGridSearchCV(
                pipeline(), space, k * k, method=method, random_state=seed, **common
            ))
            for seed in range(seeds)
        ]
    runs += [
        ("RandomizedSearchCV", RandomizedSearchCV(
            pipeline(), space, n_iter=k * k, random_state=seed, **common
        ))
        for seed in range(seeds)
    ]
    runs.append(("GridSearchCV", GridSearchCV(pipeline(), grid, **common)))
    return runs


def optuna_race(functions: list[tuple[str, int]], trials: int, seeds: int) -> None:
    """Print the sampler race: median [min, max] gap to the minimum and ms per trial."""
    import optuna
    from race import make_function  # the shifted test functions of benchmarks/race.py

    from core.integrations.optuna import SparseGridSampler, suggest_config

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {
        "SparseGridSampler": lambda space, seed: SparseGridSampler(
            trials, seed=seed, search_space=space.params
        ),
        "SparseGridSampler (bayesian)": lambda space, seed: SparseGridSampler(
            trials, seed=seed, method="bayesian", search_space=space.params
        ),
        "TPESampler": lambda space, seed: optuna.samplers.TPESampler(seed=seed),
        "RandomSampler": lambda space, seed: optuna.samplers.RandomSampler(seed=seed),
    }
    print(f"\noptuna samplers, {trials} trials, {seeds} seed(s): gap to the minimum "
          "median [min, max] | sampler ms per trial\n")
    print("| function | " + " | ".join(samplers) + " |")
    print("|---|" + "---:|" * len(samplers))
    for name, dim in functions:
        cells = []
        for make in samplers.values():
            gaps, ms = [], []
            for seed in range(seeds):
                fun = make_function(name, dim, seed)
                study = optuna.create_study(sampler=make(fun.space, seed))
                t0 = time.perf_counter()
                study.optimize(
                    lambda trial, fun=fun: fun(suggest_config(trial, fun.space)),
                    n_trials=trials,
                )
                ms.append(1e3 * (time.perf_counter() - t0) / len(study.trials))
                gaps.append(study.best_value - fun.f_opt)
            cells.append(
                f"{statistics.median(gaps):.3g} [{min(gaps):.3g}, {max(gaps):.3g}] | "
                f"{statistics.median(ms):.1f}"
            )
        print(f"| {name} {dim}-D | " + " | ".join(c.replace(" | ", " \\| ") for c in cells)
              + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subset, 3 x 3, one seed")
    parser.add_argument("--k", type=int, default=None, help="grid side (default 5; quick 3)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 3; quick 1)")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers per search")
    parser.add_argument(
        "--methods", default="sparse_grid",
        help="comma-separated strategies for SparseGridSearchCV (default sparse_grid)",
    )
    parser.add_argument("--optuna", action="store_true", help="add the optuna sampler race")
    parser.add_argument("--trials", type=int, default=None, help="race budget (60; quick 20)")
    args = parser.parse_args(argv)
    k = args.k or (3 if args.quick else 5)
    n_seeds = args.seeds or (1 if args.quick else 3)

    X, y = load_digits(return_X_y=True)
    if args.quick:
        keep = np.random.default_rng(0).choice(len(y), 600, replace=False)
        X, y = X[keep], y[keep]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    rows: dict[str, list[tuple[int, float, float, float]]] = {}
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name, search in searches(k, n_seeds, args.n_jobs, methods):
        t0 = time.perf_counter()
        search.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        fits = len(search.cv_results_["params"]) * FOLDS
        rows.setdefault(name, []).append(
            (fits, float(search.best_score_), float(search.score(X_test, y_test)), seconds)
        )

    print(
        f"digits SVC ({len(y_train)} train / {len(y_test)} test images), {k} x {k} = {k * k} "
        f"candidates, {FOLDS}-fold CV, n_jobs={args.n_jobs}, median over {n_seeds} seed(s)\n"
    )
    print("| search | fits | best CV accuracy | test accuracy | wall s |")
    print("|---|---:|---:|---:|---:|")
    for name, rs in rows.items():
        fits, cv_acc, test_acc, secs = (statistics.median(col) for col in zip(*rs, strict=True))
        print(f"| {name} | {fits:g} | {cv_acc:.4f} | {test_acc:.4f} | {secs:.1f} |")
    if args.optuna:
        functions = [("rosenbrock", 2)] if args.quick else [
            ("rosenbrock", 2), ("rosenbrock", 4), ("ackley", 4), ("styblinski_tang", 4)
        ]
        optuna_race(functions, args.trials or (20 if args.quick else 60), n_seeds)


if __name__ == "__main__":
    main()
