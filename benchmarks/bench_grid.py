"""Bookkeeping time and memory of the Novak-Ritter generator (objective time excluded).

Run: ``python benchmarks/bench_grid.py`` (``--quick``: one repeat, memory table up to 8000
points). Two tables:

1. time of ask/tell for 250..2000 points, both rankings; target at most 0.2 s for 2000 points;
2. memory and time at 2000, 8000 and 32000 points (2-D, every refinement record kept and one
   of them read): the peak of the Python heap during the run and what the finished generator
   holds (``tracemalloc``, which sees numpy's buffers), against a budget linear in the points.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from core.grid import NovakRitter

TARGET_S = 0.2
#: Memory budget per point of the finished generator (points, values, ranks, keys, plans, and
#: one small record per refinement): linear bookkeeping stays far below it at any size.
TARGET_BYTES_PER_POINT = 4096


def objective(U: np.ndarray) -> np.ndarray:
    """Cheap multimodal test function on the unit cube (time not counted)."""
    return np.sin(7.0 * U).sum(axis=1) + 0.5 * ((U - 0.3) ** 2).sum(axis=1)


def bookkeeping_time(
    dim: int, n_evals: int, ranking: str, gamma: float = 0.85
) -> tuple[float, int]:
    """Seconds spent in ask/tell for one run, and the final number of points."""
    gen = NovakRitter(dim, n_evals, gamma=gamma, ranking=ranking)
    spent = 0.0
    while True:
        t0 = time.perf_counter()
        U = gen.ask()
        spent += time.perf_counter() - t0
        if U.shape[0] == 0:
            break
        y = objective(U)
        t0 = time.perf_counter()
        gen.tell(U, y)
        spent += time.perf_counter() - t0
    _ = gen.history  # records are built during the run; reading them is part of the cost
    return spent, gen.n_points


def run_to_end(dim: int, n_evals: int) -> NovakRitter:
    gen = NovakRitter(dim, n_evals, gamma=0.85)
    while (U := gen.ask()).shape[0]:
        gen.tell(U, objective(U))
    return gen


def memory_row(dim: int, n_evals: int) -> tuple[int, float, float, float, int]:
    """(points, seconds, peak MB, retained MB, refinement records) of one run."""
    t0 = time.perf_counter()
    gen = run_to_end(dim, n_evals)
    seconds = time.perf_counter() - t0
    del gen
    tracemalloc.start()
    try:
        gen = run_to_end(dim, n_evals)
        history = gen.history
        middle = history[len(history) // 2]  # the teaching data is still there
        assert middle.scores.shape == middle.ranks.shape == (middle.n_points,)
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return gen.n_points, seconds, peak / 1e6, retained / 1e6, len(history)


def memory_table(sizes: tuple[int, ...], dim: int = 2) -> bool:
    print(f"\nNovak-Ritter memory and time, {dim}-D, gamma=0.85 (peak and retained: tracemalloc)")
    print(f"{'n_evals':>7} {'points':>6} {'records':>7} {'time [s]':>9} {'peak [MB]':>10} "
          f"{'retained [MB]':>13} {'bytes/point':>11}")
    ok = True
    for n_evals in sizes:
        n, seconds, peak, retained, records = memory_row(dim, n_evals)
        per_point = 1e6 * peak / n
        ok &= per_point <= TARGET_BYTES_PER_POINT
        print(f"{n_evals:>7} {n:>6} {records:>7} {seconds:>9.3f} {peak:>10.2f} {retained:>13.2f} "
              f"{per_point:>11.0f}")
    verdict = "OK" if ok else "TOO MUCH"
    print(f"target: peak <= {TARGET_BYTES_PER_POINT} bytes per point at every size -> {verdict}")
    return ok


def main(repeats: int = 3) -> None:
    rows = []
    for dim in (2, 5):
        for n_evals in (250, 500, 1000, 2000):
            for ranking in ("consistent", "sgpp"):
                times = []
                for _ in range(repeats):
                    t, n = bookkeeping_time(dim, n_evals, ranking)
                    times.append(t)
                rows.append((dim, n_evals, n, ranking, min(times), float(np.median(times))))
    print(f"Novak-Ritter bookkeeping (gamma=0.85, initial_level=1), best/median of {repeats}")
    print(
        f"{'dim':>3} {'n_evals':>7} {'points':>6} {'ranking':>10} {'best [s]':>9} "
        f"{'median [s]':>10} {'per point [us]':>14}"
    )
    for dim, n_evals, n, ranking, best, med in rows:
        print(
            f"{dim:>3} {n_evals:>7} {n:>6} {ranking:>10} {best:>9.4f} {med:>10.4f} "
            f"{1e6 * best / n:>14.1f}"
        )
    worst = max(med for dim, n_evals, _, _, _, med in rows if n_evals == 2000)
    verdict = "OK" if worst <= TARGET_S else "TOO SLOW"
    print(f"target <= {TARGET_S} s for 2000 points: worst median {worst:.4f} s -> {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, memory up to 8000")
    args = parser.parse_args()
    main(repeats=1 if args.quick else 3)
    memory_table((2000, 8000) if args.quick else (2000, 8000, 32000))
