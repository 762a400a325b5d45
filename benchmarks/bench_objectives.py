"""Cost of the neural-network objectives and of the evaluation backends.

Run: ``python -m benchmarks.bench_objectives`` (or ``python benchmarks/bench_objectives.py``;
``--quick`` for fewer repeats). Prints three tables:

1. seconds per evaluation of every NN objective at its centre (unit-cube point 0.5) and at its
   most expensive corner (most epochs, smallest batch, biggest network, no pooling), median of
   ``--repeats``; targets: ``mlp_regression_2d`` <= 0.5 s, ``cnn_digits_9d`` centre <= 3 s;
   plus the validation accuracy of a good ``cnn_digits_9d`` configuration (target >= 95 %);
2. throughput on a batch of 8 ``cnn_digits_9d`` evaluations (8 x the centre, and 8 random
   configurations): serial vs 2 local processes vs a 2-worker Dask ``LocalCluster`` (as Dask
   configures it, and without its ``MALLOC_TRIM_THRESHOLD_`` setting: see ``_make``), every worker
   with one torch thread and warmed up (torch imported) before timing; the backends take turns
   for ``--rounds`` rounds and the best round of each is reported (the machine is shared);
   target >= 1.6x for 2 processes;
3. overhead per task of a trivial objective (``himmelblau``): round trip one at a time, and
   amortized over 200 concurrent tasks, on the process pool and on Dask; target Dask <= 20 ms.

Backends come from ``core.executors.make_executor`` (its Dask ``LocalCluster`` starts workers
without Dask's ``MALLOC_TRIM_THRESHOLD_`` default, which made torch evaluations ~1.9x costlier).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, wait
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.objectives import OBJECTIVES  # noqa: E402

NN = ("mlp_regression_2d", "mlp_regression_3d", "mlp_regression_5d", "cnn_digits_9d")
TARGET_S = {"mlp_regression_2d": 0.5, "cnn_digits_9d": 3.0}
GOOD_CNN = {
    "epochs": 12, "batch_size": 32, "learning_rate": 3e-3, "conv_layers": 2, "fc_layers": 1,
    "kernel_size": 3, "pool_size": 2, "fc_neurons": 64, "dropout": 0.1,
}  # fmt: skip
# parameters whose *low* end is the expensive one (small batches = more steps; no pooling;
# a tiny learning rate never diverges, so training runs all epochs)
_LOW_IS_EXPENSIVE = {"batch_size", "pool_size", "learning_rate"}


def expensive_corner(objective: Any) -> dict[str, Any]:
    u = [0.0 if n in _LOW_IS_EXPENSIVE else 1.0 for n in objective.space.names]
    return objective.space.from_unit(np.array([u]))[0]


def _median_seconds(objective: Any, config: dict, repeats: int) -> tuple[float, Any]:
    times, m = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        m = objective(config)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), m


# -- workers ---------------------------------------------------------------------------------
def _warm(seconds: float) -> int:
    """Import torch and load the digits in a worker, then hold it so each worker gets one."""
    obj = OBJECTIVES["cnn_digits_9d"]
    obj({**obj.default_config, "epochs": 1})
    time.sleep(seconds)
    return os.getpid()


def _timed(objective: Any, config: dict) -> tuple[Any, float]:
    """``objective(config)`` and the CPU seconds the calling process spent on it."""
    c0 = time.process_time()
    out = objective(config)
    return out, time.process_time() - c0


def _trivial(config: dict) -> float:
    return OBJECTIVES["himmelblau"](config)


def _make(kind: str, n_workers: int) -> Executor:
    """``"serial"``, ``"process"`` or ``"dask"`` with ``n_workers`` workers."""
    from core.executors import make_executor

    return make_executor() if kind == "serial" else make_executor(kind, n_workers=n_workers)


def _batch(ex: Executor | None, fn: Callable, configs: list[dict]) -> tuple[float, list[Any]]:
    """Wall seconds for evaluating ``configs`` (all submitted at once) and the results."""
    t0 = time.perf_counter()
    if ex is None:
        out = [fn(c) for c in configs]
    else:
        futures = [ex.submit(fn, c) for c in configs]
        wait(futures)
        out = [f.result() for f in futures]
    return time.perf_counter() - t0, out


# -- sections --------------------------------------------------------------------------------
def bench_evaluation(repeats: int) -> None:
    print(f"\n1. Seconds per evaluation (median of {repeats}; 1 torch thread)")
    print(f"{'objective':<19} {'centre [s]':>10} {'corner [s]':>10} {'target':>8}  centre value")
    for name in NN:
        obj = OBJECTIVES[name]
        obj({**obj.default_config, "epochs": 1})  # warm up (import torch, load the data)
        t_mid, m = _median_seconds(obj, obj.default_config, repeats)
        t_max, _ = _median_seconds(obj, expensive_corner(obj), max(1, repeats // 2))
        target = TARGET_S.get(name)
        verdict = "" if target is None else f"<= {target:g} " + ("OK" if t_mid <= target else "NO")
        print(f"{name:<19} {t_mid:>10.3f} {t_max:>10.3f} {verdict:>8}  {m.value:.4f}")
    corner = expensive_corner(OBJECTIVES["cnn_digits_9d"])
    print(f"   expensive corner of cnn_digits_9d: {corner}")
    t, m = _median_seconds(OBJECTIVES["cnn_digits_9d"], GOOD_CNN, 1)
    acc = m.info.get("accuracy", float("nan"))
    print(
        f"   good cnn_digits_9d config {GOOD_CNN}: accuracy {acc:.4f} in {t:.2f} s "
        f"(target >= 0.95: {'OK' if acc >= 0.95 else 'NO'})"
    )


def bench_throughput(with_dask: bool, rounds: int) -> None:
    obj = OBJECTIVES["cnn_digits_9d"]
    batches = {
        "8 x centre": [obj.default_config] * 8,
        "8 random": obj.space.sample(8, seed=0),
    }
    kinds = ["serial", "process"] + (["dask"] if with_dask else [])
    executors: dict[str, Executor | None] = {"serial": None}
    # best (lowest wall) round per (batch, backend), with its values and CPU seconds per task
    best: dict[tuple[str, str], tuple[float, list[float], list[float]]] = {}
    try:
        _warm(0.0)
        for kind in kinds[1:]:
            ex = executors[kind] = _make(kind, 2)
            pids = {f.result() for f in [ex.submit(_warm, 1.0) for _ in range(2)]}
            assert len(pids) == 2, f"warm-up reached {len(pids)} worker(s)"
        for _ in range(rounds):  # interleaved, so every backend sees the same load pattern
            for label, configs in batches.items():
                for kind in kinds:
                    wall, out = _batch(executors[kind], partial(_timed, obj), configs)
                    row = (wall, [m.value for m, _ in out], [cpu for _, cpu in out])
                    if (label, kind) not in best or wall < best[label, kind][0]:
                        best[label, kind] = row
    finally:
        for ex in executors.values():
            if ex is not None:
                ex.shutdown()
    print(
        f"\n2. Throughput on a batch of 8 cnn_digits_9d evaluations (workers warmed up; "
        f"best of {rounds} interleaved rounds)"
    )
    print(
        f"{'batch':<11} {'backend':<15} {'wall [s]':>9} {'evals/s':>8} {'speed-up':>9} "
        f"{'CPU of tasks [s]':>17} {'cores used':>11}"
    )
    for label in batches:
        ref_wall, ref_values, _ = best[label, "serial"]
        for kind in kinds:
            wall, values, cpu = best[label, kind]
            same = np.array_equal(values, ref_values, equal_nan=True)
            note = "" if same else "  (values differ from serial!)"
            name = kind if kind == "serial" else f"{kind} x2"
            print(
                f"{label:<11} {name:<15} {wall:>9.2f} {8 / wall:>8.2f} {ref_wall / wall:>8.2f}x "
                f"{sum(cpu):>17.2f} {sum(cpu) / wall:>11.2f}{note}"
            )
    print(
        "   target: 2 processes >= 1.6x serial. 'CPU of tasks' is the CPU time the evaluating\n"
        "   processes spent; 'cores used' = CPU / wall: below 2 for x2 backends, the cores were\n"
        "   not free (shared machine) or the batch was unbalanced; the speed-up is about\n"
        "   cores used x (serial CPU / parallel CPU)."
    )


def bench_overhead(n_tasks: int, with_dask: bool) -> None:
    print(f"\n3. Overhead per task, trivial objective (himmelblau), {n_tasks} tasks, 2 workers")
    print(f"{'backend':<12} {'one at a time [ms]':>19} {'concurrent [ms/task]':>21}")
    configs = OBJECTIVES["himmelblau"].space.sample(n_tasks, seed=1)
    t0 = time.perf_counter()
    for c in configs:
        _trivial(c)
    direct = (time.perf_counter() - t0) / n_tasks
    print(f"{'in-process':<12} {1e3 * direct:>19.3f} {1e3 * direct:>21.3f}")
    for kind in ["process"] + (["dask"] if with_dask else []):
        ex = _make(kind, 2)
        try:
            wait([ex.submit(_trivial, c) for c in configs[:20]])  # warm up
            t0 = time.perf_counter()
            for c in configs[:50]:
                ex.submit(_trivial, c).result()
            serial_ms = 1e3 * (time.perf_counter() - t0) / 50
            wall, _ = _batch(ex, _trivial, configs)
            verdict = ""
            if kind == "dask":
                verdict = "  target <= 20 ms: " + ("OK" if 1e3 * wall / n_tasks <= 20 else "NO")
            print(f"{kind + ' x2':<12} {serial_ms:>19.3f} {1e3 * wall / n_tasks:>21.3f}{verdict}")
        finally:
            ex.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="NN objective and backend benchmarks")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 repeat, 50 overhead tasks")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (best kept)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--only", choices=("evaluation", "throughput", "overhead"), default=None)
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    with_dask = not args.no_dask
    if with_dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("dask.distributed is not installed: Dask rows skipped")
            with_dask = False
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    if args.only in (None, "evaluation"):
        bench_evaluation(repeats)
    if args.only in (None, "throughput"):
        bench_throughput(with_dask, 1 if args.quick else args.rounds)
    if args.only in (None, "overhead"):
        bench_overhead(50 if args.quick else 200, with_dask)
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
