"""Golden trajectories of the sparse-grid searches: the cases, the runner and the data writer.

Every case is one seeded run of a sparse-grid registry entry (``make_strategy("sparse_grid",
...)`` with fixed options) on a smooth test function of the unit cube, driven by ask/tell
without a driver. :func:`trajectory` records what the run asked (every point, batch by batch,
with a summary of each point's :class:`~core.records.Origin`) and what it ended with.
``tests/data/sparse_grid_golden.json.gz`` holds the trajectories of the code they were written
from, and ``test_sparse_grid_golden.py`` checks the current code reproduces them, so a
restructuring of the sparse-grid code cannot change a run unnoticed.

Rewrite the data (only when a change of results is intended and reviewed)::

    .venv/bin/python tests/core/strategies/sparse_grid_golden.py
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data" / "sparse_grid_golden.json.gz"


def rosenbrock(U: np.ndarray) -> np.ndarray:
    """Rosenbrock on [-2, 2]^d, shifted off the dyadic points (minimum 0 near u = 0.74)."""
    X = 4.0 * U - 2.0 + 0.043
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def styblinski_tang(U: np.ndarray) -> np.ndarray:
    """Styblinski-Tang on [-5, 5]^d, shifted (2^d basins)."""
    X = 10.0 * U - 5.0 + 0.37
    return 0.5 * np.sum(X**4 - 16.0 * X**2 + 5.0 * X, axis=1)


def ackley(U: np.ndarray) -> np.ndarray:
    """Ackley on [-5, 5]^d, shifted (many shallow local minima)."""
    X = 10.0 * U - 5.0 - 0.61
    d = X.shape[1]
    return (-20.0 * np.exp(-0.2 * np.sqrt(np.sum(X**2, axis=1) / d))
            - np.exp(np.sum(np.cos(2.0 * np.pi * X), axis=1) / d) + 20.0 + math.e)


def holes(U: np.ndarray) -> np.ndarray:
    """A bowl that fails (NaN) in slabs of the cube and is +inf in others."""
    y = np.sum((U - 0.3141) ** 2, axis=1) + 0.1 * np.sin(7.0 * U[:, 0])
    y[(np.floor(U[:, 0] * 10) % 3) == 0] = np.nan
    y[(np.floor(U[:, -1] * 10) % 4) == 1] = np.inf
    return y


FUNCTIONS = {"rosenbrock": rosenbrock, "styblinski_tang": styblinski_tang, "ackley": ackley,
             "holes": holes}

#: The sparse-grid entries: name -> options of ``make_strategy("sparse_grid", ...)``. The
#: first two are what users get (the default and the seed's method) and run on every function;
#: the others switch single phases on or off (the benchmarks' ablation columns among them).
ENTRIES: dict[str, dict[str, Any]] = {
    "default": {},
    "thesis": {"variant": "thesis"},
    "local": {"local_search": True},
    "no_local": {"local_search": False},
    "no_zoom": {"zoom": 0},
    "no_model_steps": {"model_steps": 0},
    "fixed_shrink": {"zoom_shrink": 0.25, "local_fraction": 0.4},
    "thesis_zoom": {"variant": "thesis", "zoom": 2},
    "thesis_box": {"variant": "thesis", "candidate_box": True, "optimizer": "lbfgsb"},
    "grid_only": {"optimizer": "none"},
}
#: (dimension, budget): each side of the local phase's threshold (2-D: B >= 39; 5-D: B >= 139).
CELLS = [(2, 20), (2, 50), (2, 150), (5, 60), (5, 200)]
SEEDS = [0, 1]


def cases() -> list[tuple[str, str, int, int, int, int | None]]:
    """``(entry, function, dim, budget, seed, max_points)`` of every golden run."""
    out = []
    for entry in ENTRIES:
        functions = ["rosenbrock", "styblinski_tang", "ackley"] if entry in (
            "default", "thesis") else ["rosenbrock"]
        for function in functions:
            for dim, budget in CELLS:
                for seed in SEEDS:
                    out.append((entry, function, dim, budget, seed, None))
    for entry in ("default", "thesis", "local"):  # batches cut to 3 points; failed values
        for dim, budget in [(2, 50), (2, 150), (5, 200)]:
            out.append((entry, "rosenbrock", dim, budget, 0, 3))
            out.append((entry, "holes", dim, budget, 0, None))
    return out


def case_key(case: tuple) -> str:
    entry, function, dim, budget, seed, max_points = case
    return f"{entry}/{function}/d{dim}/B{budget}/s{seed}/m{max_points}"


def _float(v: float) -> float | str:
    return v if math.isfinite(v) else repr(v)


def trajectory(case: tuple) -> dict[str, Any]:
    """One run's asked batches, each point's origin summary and its end."""
    from core.strategies import make_strategy

    entry, function, dim, budget, seed, max_points = case
    f = FUNCTIONS[function]
    s = make_strategy("sparse_grid", dim, budget, seed=seed, **ENTRIES[entry])
    batches, origins = [], []
    for _ in range(100_000):
        U = s.ask(max_points=max_points)
        if len(U) == 0:
            break
        batches.append(np.array(U).tolist())
        origins += [[o.kind, o.source, o.stage, o.restart, o.parent, o.refinement,
                     _float(o.prediction)] for o in s.origins]
        s.tell(U, f(np.array(U)))
    best = s.best
    return {
        "batches": batches,
        "origins": origins,
        "n_told": s.n_told,
        "stop_reason": s.stop_reason,
        "best_u": None if best is None else best[0].tolist(),
        "best_value": None if best is None else _float(best[1]),
    }


def load() -> dict[str, Any]:
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def main() -> None:
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip()
    runs = {case_key(c): trajectory(c) for c in cases()}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(DATA, "wb", mtime=0) as raw:
        raw.write(json.dumps({"commit": commit, "runs": runs}, sort_keys=True).encode())
    print(f"{len(runs)} runs written to {DATA} (from {commit})")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    main()
