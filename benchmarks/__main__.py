"""Run the benchmarks one after the other: ``python -m benchmarks`` (``make bench``).

Usage::

    python -m benchmarks                  # every benchmark with its quick settings, in order
    python -m benchmarks --list           # what exists, what it measures, the exact commands
    python -m benchmarks grid surrogate   # only these (names from --list)
    python -m benchmarks --full race      # the full settings (the full race takes long)

Each benchmark is one script in this directory that prints its own tables; here each runs as a
child process with the same Python, so one that fails (a missing optional dependency, no
Chromium for the browser part) does not stop the others. A summary (name, exit status, wall
seconds, command) ends the run, and the exit status is 1 if any benchmark failed.

The quick race writes its CSV, Markdown and PNG into a temporary directory, so this command
leaves the tracked results in ``benchmarks/results/`` untouched; ``--full race`` (or
``python benchmarks/race.py``) refreshes them on purpose.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Bench:
    """One benchmark script and its arguments for the quick and the full run."""

    name: str
    script: str
    what: str
    quick: tuple[str, ...]
    full: tuple[str, ...] = ()


BENCHES: tuple[Bench, ...] = (
    Bench("grid", "bench_grid.py", "Novak-Ritter bookkeeping time (objective excluded)", ()),
    Bench(
        "surrogate",
        "bench_surrogate.py",
        "surrogate fit and evaluation times, beside SG++",
        ("--quick",),
    ),
    Bench(
        "optimizers",
        "bench_optimizers.py",
        "the surrogate optimizers side by side on the same surrogates",
        ("--quick",),
    ),
    Bench(
        "executors",
        "bench_executors.py",
        "driver overhead and throughput per evaluation backend",
        ("--quick",),
    ),
    Bench(
        "objectives",
        "bench_objectives.py",
        "cost of the neural-network objectives and backends (needs torch)",
        ("--quick",),
    ),
    Bench(
        "explorer",
        "bench_explorer.py",
        "explorer server CPU per frame, slider latency, fps per session",
        ("--quick",),
    ),
    Bench(
        "abuse",
        "bench_abuse.py",
        "explorer under abuse: reloads, tabs, 100 KB links, a deleted journal; tracebacks, RSS",
        ("--quick",),
    ),
    Bench(
        "integrations",
        "bench_integrations.py",
        "SparseGridSearchCV against RandomizedSearchCV and GridSearchCV on digits",
        ("--quick",),
    ),
    Bench(
        "importance",
        "bench_importance.py",
        "cost of the exact Sobol indices (parameter importance) by surrogate size",
        ("--quick",),
    ),
    Bench(
        "race",
        "race.py",
        "every strategy against outside references on shifted test functions",
        ("--quick",),
    ),
    Bench(
        "bbob",
        "bbob.py",
        "the project's methods and outside peers on COCO's BBOB suite (ranks, won-tied-lost)",
        ("--quick",),
    ),
)
BY_NAME = {b.name: b for b in BENCHES}


def command(bench: Bench, *, full: bool, out_dir: Path | None) -> list[str]:
    """The command line that runs ``bench`` (``out_dir``: where the quick race writes)."""
    args = list(bench.full if full else bench.quick)
    if bench.name == "explorer" and not CHROMIUM.exists():
        args.append("--no-browser")  # the browser part needs Debian's Chromium
    if bench.name in ("race", "bbob") and not full and out_dir is not None:
        args += ["--out", str(out_dir)]
    return [sys.executable, str(HERE / bench.script), *args]


def _shown(cmd: list[str]) -> str:
    """``cmd`` as a reader would type it from the repository root."""
    script = Path(cmd[1])
    return " ".join(["python", f"benchmarks/{script.name}", *cmd[2:]])


def _print_list(full: bool) -> None:
    width = max(len(b.name) for b in BENCHES)
    for b in BENCHES:
        present = (HERE / b.script).exists()
        shown = " ".join(["python", f"benchmarks/{b.script}", *(b.full if full else b.quick)])
        note = "" if present else "  (script missing)"
        print(f"{b.name:<{width}}  {b.what}{note}\n{'':<{width}}  {shown}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BY_NAME)}"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--full", action="store_true", help="full settings instead of quick")
    args = parser.parse_args(argv)
    if args.list:
        _print_list(args.full)
        return 0
    unknown = [n for n in args.names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(BY_NAME)}")
    selected = [BY_NAME[n] for n in args.names] if args.names else list(BENCHES)

    rows: list[tuple[str, str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-race-") as tmp:
        for bench in selected:
            cmd = command(bench, full=args.full, out_dir=Path(tmp))
            shown = _shown(cmd)
            if not (HERE / bench.script).exists():
                rows.append((bench.name, "missing", 0.0, shown))
                continue
            print(f"\n=== {bench.name}: {bench.what}\n$ {shown}", flush=True)
            t0 = time.perf_counter()
            rc = subprocess.call(cmd, cwd=ROOT)
            status = "ok" if rc == 0 else f"exit {rc}"
            rows.append((bench.name, status, time.perf_counter() - t0, shown))

    print("\n=== summary")
    width = max(len(r[0]) for r in rows)
    cols = max(len("status"), *(len(r[1]) for r in rows))
    print(f"{'benchmark':<{max(width, 9)}}  {'status':<{cols}}  {'seconds':>8}  command")
    for name, status, seconds, shown in rows:
        print(f"{name:<{max(width, 9)}}  {status:<{cols}}  {seconds:>8.1f}  {shown}")
    return 0 if all(r[1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
