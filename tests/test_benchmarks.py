"""The benchmarks stay runnable: each one's quick mode runs to its table (CI smoke test).

Figures are not asserted here (speed targets live in the benchmarks, not in timed unit tests);
what is asserted is that each command finishes and prints its table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], timeout: float = 600) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.slow
def test_race_quick_writes_csv_markdown_and_png(tmp_path: Path) -> None:
    out = _run(["benchmarks/race.py", "--quick", "--out", str(tmp_path), "--fresh"])
    assert "|" in out
    names = {p.suffix for p in tmp_path.iterdir()}
    assert {".csv", ".md", ".png"} <= names


@pytest.mark.slow
def test_surrogate_benchmark_quick_prints_a_table() -> None:
    out = _run(["benchmarks/bench_surrogate.py", "--quick"])
    assert "| " in out and "SG++" in out


@pytest.mark.slow
def test_optimizer_benchmark_quick_prints_every_optimizer() -> None:
    out = _run(["benchmarks/bench_optimizers.py", "--quick"])
    from core.optimizers import OPTIMIZERS

    for name in OPTIMIZERS:
        if name not in ("multistart", "lbfgsb"):
            assert name in out, f"{name} missing from the optimizer table"
