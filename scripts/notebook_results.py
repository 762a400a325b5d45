"""Compute the long experiments of the notebooks and write them as CSV into notebooks/results/.

Usage (from the repository root; run long jobs with ``nice -n 10``)::

    python scripts/notebook_results.py regression            # 2-, 3-, 5-D MLP on diabetes
    python scripts/notebook_results.py regression --dims 2   # one file per dimension
    python scripts/notebook_results.py cnn                   # the 9-D CNN table (digits)
    python scripts/notebook_results.py cnn --mnist-dir DIR   # the same on local MNIST files

Options ``--seeds``, ``--budgets`` and ``--methods`` select a subset; ``--out`` writes elsewhere
(the tests recompute a few rows into a temporary directory and compare them with the committed
files). Every CSV starts with ``#`` lines: the command, the configuration, the commit and
whether the files the results depend on had uncommitted changes (both taken when the run
starts), start and end time, and the package versions. Run it from a clean, committed tree: the
notebooks refuse a CSV made with uncommitted changes (``_experiments.check_provenance``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "notebooks"))
sys.path.insert(0, str(ROOT))

import _experiments as ex  # noqa: E402


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.replace(",", " ").split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=["regression", "cnn"])
    parser.add_argument("--dims", type=_ints, default=[2, 3, 5])
    parser.add_argument("--seeds", type=_ints, default=None,
                        help="repetitions (regression default 0-4, cnn default 0-2)")
    parser.add_argument("--budgets", type=_ints, default=list(ex.REGRESSION_BUDGETS))
    parser.add_argument("--methods", default=",".join(ex.METHODS))
    parser.add_argument("--mnist-dir", default=None)
    parser.add_argument("--out", type=Path, default=ex.RESULTS_DIR)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    command = ex.main_command(argv)
    if args.experiment == "regression":
        seeds = args.seeds if args.seeds is not None else list(range(5))
        for d in args.dims:
            # provenance taken before the run: the commit and date of the code that ran
            header = ex.provenance(command, dataset="diabetes", dim=d, seeds=seeds,
                                   budgets=args.budgets, methods=methods,
                                   sparse_grid=ex.SPARSE_GRID_THESIS)
            t0 = time.perf_counter()
            rows = ex.regression_rows([d], seeds, args.budgets, methods,
                                      progress=not args.quiet)
            header = ex.finish(header, time.perf_counter() - t0)
            path = args.out / f"regression_diabetes_{d}d.csv"
            ex.write_csv(path, rows, header)
            print(f"wrote {path} ({len(rows)} rows)")
    else:
        seeds = args.seeds if args.seeds is not None else list(range(3))
        objective, name = None, "cnn9d_digits"
        if args.mnist_dir:
            from core.objectives.torch_models import CNNClassifierObjective

            objective = CNNClassifierObjective(dataset="mnist", data_dir=args.mnist_dir,
                                               max_train=10000)
            name = "cnn9d_mnist"
        header = ex.provenance(command, dataset=name.split("_")[1], seeds=seeds,
                               budgets=ex.CNN_BUDGETS, methods=methods,
                               sparse_grid=ex.SPARSE_GRID_THESIS)
        t0 = time.perf_counter()
        rows = ex.cnn_rows(seeds, methods, objective=objective, progress=not args.quiet)
        header = ex.finish(header, time.perf_counter() - t0)
        path = args.out / f"{name}.csv"
        ex.write_csv(path, rows, header)
        print(f"wrote {path} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
