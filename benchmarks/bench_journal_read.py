"""Reading a large journal: wall time and peak RSS of loading it (and of replaying it).

Usage (from the repository root)::

    python benchmarks/bench_journal_read.py --mb 100 [--src DIR] [--replay]

writes a synthetic journal of about ``--mb`` megabytes (random-search records as
``core.run`` writes them, origins included) to a temporary directory, then, each in a fresh
process, loads it with ``core.journal.load_journal`` and streams its records once, and with
``--replay`` replays it with ``core.run.replay``. ``--src`` runs the measurement against another
checkout of the repository (e.g. an older commit exported with ``git archive``), where the
loader is ``explorer.replay.load_journal`` if core has none. Prints one line per measurement:
seconds, peak RSS (MiB) and RSS after imports (MiB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_journal(path: Path, n_records: int, dim: int = 4, seed: int = 0) -> None:
    """A journal of ``n_records`` random-search evaluations on ``dim`` floats, written
    directly (the header, records and end line that ``core.run`` writes; fast for any size)."""
    from core.journal import make_header
    from core.space import Float, SearchSpace

    space = SearchSpace({f"x{t}": Float(-5.0, 5.0) for t in range(dim)})
    header = make_header(space=space.describe(), strategy="RandomSearch", dim=dim,
                         n_evals=n_records, max_batch=None,
                         run={"method": "random", "seed": seed, "options": {}})
    rng = np.random.default_rng(seed)  # the points random search with this seed asks
    with open(path, "w") as f:
        f.write(json.dumps(header, separators=(",", ":")) + "\n")
        done = 0
        while done < n_records:
            U = rng.random((min(1024, n_records - done), dim))
            configs = space.from_unit(U)
            f.write("".join(
                json.dumps({"index": done + i, "step": 0, "u": u.tolist(), "config": c,
                            "value": float(np.sum(u)), "status": "ok", "error": None,
                            "seconds": 0.001, "info": {}, "time": 1.0e9,
                            "origin": {"kind": "sample"}}, separators=(",", ":")) + "\n"
                for i, (u, c) in enumerate(zip(U, configs, strict=True))
            ))
            done += len(U)
        f.write(f'{{"end":"budget","nfev":{n_records},"time":1.0}}\n')


_MEASURE = r"""
import resource, sys, time
path, what = sys.argv[1], sys.argv[2]
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
import numpy, json
try:
    from core.journal import load_journal
except ImportError:
    from explorer.replay import load_journal
import core.run
base = rss()
t0 = time.perf_counter()
if what == "load":
    run = load_journal(path)
    t1 = time.perf_counter()
    it = getattr(run, "iter_records", None)  # older code: the records are a list already
    n = sum(1 for _ in it()) if it is not None else len(run.records)
    extra = f" (load {t1 - t0:.2f} s, then reading the records {time.perf_counter() - t1:.2f} s)"
else:
    n = sum(len(b.evaluations) for b in core.run.replay(path))
    extra = ""
print(f"{what}: {n} records, {time.perf_counter() - t0:.2f} s{extra}, peak RSS {rss():.0f} MiB "
      f"(after imports {base:.0f} MiB)")
"""


def measure(path: Path, what: str, src: Path) -> str:
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path), what], cwd=src,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--src", type=Path, default=REPO)
    parser.add_argument("--replay", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.jsonl"
        per_record = 341  # bytes per record of write_journal with dim=4 (10000 records: 341.06)
        write_journal(path, max(1, int(args.mb * 1e6 / per_record)))
        print(f"journal: {path.stat().st_size / 1e6:.1f} MB, source {args.src}")
        print(measure(path, "load", args.src))
        if args.replay:
            print(measure(path, "replay", args.src))


if __name__ == "__main__":
    main()
