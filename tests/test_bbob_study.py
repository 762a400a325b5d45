"""The BBOB option study (``benchmarks/bbob_study.py``): its tallies and its runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bbob_study as study  # noqa: E402


def _row(method: str, f: int, i: int, best: float, regret: float, dim: int = 5,
         options: str | None = None) -> dict:
    if options is None:
        options = "" if method == study.PEER else study.options_text(study.CANDIDATES[method])
    return {"method": method, "function": str(f), "instance": str(i), "dim": str(dim),
            "budget": str(20 * dim), "best": repr(best), "log10_regret": repr(regret),
            "options": options}


def test_won_tied_lost_counts_cells_both_ran_with_the_tie_tolerance() -> None:
    rows = [
        _row("sg_local", 1, 1, 1.0, 0.0), _row("ngopt", 1, 1, 2.0, 0.3),      # won
        _row("sg_local", 1, 2, 1.0, 0.0), _row("ngopt", 1, 2, 1.0 + 1e-9, 0.0),  # tied
        _row("sg_local", 3, 1, 5.0, 0.7), _row("ngopt", 3, 1, 4.0, 0.6),      # lost
        _row("sg_local", 3, 2, 5.0, 0.7),                                       # ngopt absent
        _row("sg_local", 1, 1, 1.0, 0.0, dim=10), _row("ngopt", 1, 1, 0.5, -1.0, dim=10),
    ]
    assert study.won_tied_lost(rows, "sg_local", "ngopt") == {(5, 20): (1, 1, 1),
                                                              (10, 20): (0, 0, 1)}
    med = study.median_regret(rows)
    assert med[(5, 20, 3)] == {"sg_local": 0.7, "ngopt": 0.6}
    assert med[(5, 20, 1)]["ngopt"] == pytest.approx(0.15)


def test_rows_of_changed_options_are_not_current() -> None:
    assert study.current(_row("sg_local", 1, 1, 1.0, 0.0))
    assert study.current(_row("ngopt", 1, 1, 1.0, 0.0))
    assert study.current(_row("sparse_grid", 1, 1, 1.0, 0.0))
    assert not study.current(_row("sg_local", 1, 1, 1.0, 0.0, options="local_search=False"))
    assert not study.current(_row("no_such_method", 1, 1, 1.0, 0.0, options=""))


def test_candidates_run_the_registry_strategy_with_their_options(tmp_path: Path) -> None:
    pytest.importorskip("cocoex")
    import bbob

    default = study.run_one("sparse_grid", 8, 1, 2, 40)
    reference = bbob.run_one("sparse_grid", 8, 1, 2, 40)
    assert default["best"] == reference["best"] and default["nfev"] == reference["nfev"] == 40
    assert default["options"] == ""
    zoom = study.run_one("sg_zoom06", 8, 1, 2, 40)  # the option reaches the strategy
    assert zoom["options"] == "zoom_fraction=0.6" and zoom["nfev"] == 40
    assert zoom["best"] != default["best"]

    out = tmp_path / "s.csv"
    argv = ["--methods", "sparse_grid", "sg_gamma05", "--dims", "2", "--functions", "1",
            "--instances", "1", "--csv", str(out)]
    assert study.main(argv) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == study.FIELDS and len(lines) == 3
    assert study.main(argv) == 0  # nothing left to run
    assert len(out.read_text().splitlines()) == 3


def test_grid_then_cobyla_spends_the_budget_from_the_grids_incumbent() -> None:
    """A hybrid run: exactly the budget, deterministic per seed, its first evaluations the
    default's own (so never worse than the default at that share of the budget)."""
    pytest.importorskip("cocoex")
    import bbob

    fn = bbob.BBOBFunction(8, 1, 5)
    out = study.grid_then_cobyla(fn, 5, 100, 1, grid_fraction=0.5, rhobeg=0.1)
    again = study.grid_then_cobyla(fn, 5, 100, 1, grid_fraction=0.5, rhobeg=0.1)
    best, nfev = out.best, out.nfev
    assert nfev == 100 and (again.best, again.nfev) == (best, nfev)
    assert out.method_seconds >= 0.0
    grid_only = bbob.run_one("sparse_grid", 8, 1, 5, 50)
    assert best <= float(grid_only["best"])
    row = study.run_one("sg05_cobyla", 8, 1, 5, 100)
    assert row["options"] == "grid_fraction=0.5;rhobeg=0.1" and row["nfev"] == 100
    assert float(row["best"]) == best and study.current({k: str(v) for k, v in row.items()})
