"""Bookkeeping time of the Novak-Ritter generator (objective time excluded).

Run: ``python -m benchmarks.bench_grid`` (or ``python benchmarks/bench_grid.py``).
Target: at most 0.2 s for a 2000-point run.
"""

from __future__ import annotations

import time

import numpy as np

from core.grid import NovakRitter

TARGET_S = 0.2


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
    main()
