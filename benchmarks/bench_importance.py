"""Cost of the exact Sobol indices (:func:`core.importance.sobol_variances`) by surrogate size.

Run: ``python benchmarks/bench_importance.py`` (``--quick``: the two smallest rows). Surrogates
with random coefficients on regular sparse grids (the cost depends only on the number ``n`` of
basis functions and the dimension ``d``: ``O(d n^2)``); the table gives the median wall time of
three calls.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.grid.levels import regular_grid  # noqa: E402
from core.importance import sobol_variances  # noqa: E402
from core.surrogate import Surrogate  # noqa: E402

CASES = [(3, 6), (9, 3), (3, 8), (9, 4), (9, 5)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print("| d | level | basis functions n | seconds (median of 3) |")
    print("|---|---|---|---|")
    for d, level in CASES[:2] if args.quick else CASES:
        lv, ix = regular_grid(d, level)
        s = Surrogate(lv, ix, 3, np.random.default_rng(0).normal(size=len(lv)))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            sobol_variances(s)
            times.append(time.perf_counter() - t0)
        print(f"| {d} | {level} | {len(lv)} | {statistics.median(times):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
