"""The integrations benchmark stays runnable: its quick mode prints both tables.

Figures are not asserted (speed and score comparisons live in the benchmark, not in tests).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_bench_integrations_quick_prints_its_tables():
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_integrations.py", "--quick", "--optuna",
         "--trials", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for row in ("| SparseGridSearchCV (sparse_grid) |", "| RandomizedSearchCV |",
                "| GridSearchCV |", "| rosenbrock 2-D |"):
        assert row in proc.stdout, proc.stdout
