"""The benchmarks stay runnable: each one's quick mode runs to its table (CI smoke test).

Figures are not asserted here (speed targets live in the benchmarks, not in timed unit tests);
what is asserted is that each command finishes and prints its table. The two benchmarks that
drive the served explorer in Chromium (``bench_explorer.py``, ``bench_abuse.py``: minutes of
page loads on two cores) run in ``make bench`` only; the actions of ``bench_abuse.py`` run,
smaller, in ``tests/explorer/test_abuse_browser.py``.
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


def test_bbob_fopt_is_the_sphere_minimum() -> None:
    """``bbob_fopt`` reproduces COCO's optimal values: on f1 (a sphere) the minimum a local
    optimizer reaches from the centre equals it to the rounding COCO applies."""
    pytest.importorskip("cocoex")
    from scipy.optimize import minimize

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bbob import BBOBFunction, bbob_fopt

    for instance in (1, 2, 3, 7):
        fn = BBOBFunction(1, instance, 3)
        res = minimize(fn.problem, [0.0, 0.0, 0.0], method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxfev": 20000})
        assert res.fun == pytest.approx(bbob_fopt(1, instance), abs=1e-6)
        assert fn.f_opt == bbob_fopt(1, instance)


def test_bbob_cell_ranks_share_ties() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bbob import cell_ranks

    assert cell_ranks({"a": 1.0, "b": 0.5, "c": 1.0 + 1e-9, "d": 3.0}) == {
        "b": 1.0, "a": 2.5, "c": 2.5, "d": 4.0}


def test_stored_tables_name_the_cpu_and_blas_kernel(monkeypatch) -> None:
    """Seeded runs differ between BLAS kernels, so a results header names the kernels used."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bbob import _machine, machine_line
    from threadpoolctl import threadpool_info

    monkeypatch.delenv("OPENBLAS_CORETYPE", raising=False)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    text = _machine()
    assert text.startswith("CPU ") and "logical cores" in text
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            assert f"{lib.get('internal_api', '?')} {lib.get('version') or '?'}" in text
            assert f"({lib.get('architecture') or 'unknown'} kernel)" in text
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    assert _machine().endswith(", OPENBLAS_CORETYPE=Sandybridge")
    assert machine_line().startswith("Machine of this command")


@pytest.mark.slow
def test_bbob_quick_prints_ranks_and_won_tied_lost(tmp_path: Path) -> None:
    pytest.importorskip("cocoex")
    pytest.importorskip("nevergrad")
    out = _run(["benchmarks/bbob.py", "--quick", "--out", str(tmp_path), "--fresh"])
    assert "Average rank" in out and "won-tied-lost" in out
    assert (tmp_path / "bbob_quick.csv").exists() and (tmp_path / "bbob_quick.md").exists()
    assert "\nMachine of this command" in (tmp_path / "bbob_quick.md").read_text()


@pytest.mark.processes
def test_importance_benchmark_quick_compares_with_fanova(tmp_path: Path) -> None:
    out_file = tmp_path / "importance.md"
    out = _run(
        ["benchmarks/importance_cnn9d.py", "--quick", "--budget", "30", "--out", str(out_file)]
    )
    assert "importance(res) identical on both calls: True." in out
    assert "SparseGridImportanceEvaluator identical on both calls: True." in out
    assert out_file.read_text() == out.rstrip("\n") + "\n"


@pytest.mark.processes
def test_importance_cost_benchmark_quick_prints_a_table() -> None:
    out = _run(["benchmarks/bench_importance.py", "--quick"])
    assert len([line for line in out.splitlines() if line.startswith("| ")]) == 3


def test_ablation_sobol_trust_region_spends_the_budget_deterministically() -> None:
    """The ablation's Sobol + trust region column: its design is as large as the default's first
    global search, it spends the budget exactly and one seed gives one run."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ablation import SobolTrustRegion

    from core.strategies import ComposedSparseGrid

    def run(dim: int, budget: int, seed: int) -> tuple[SobolTrustRegion, np.ndarray]:
        s = SobolTrustRegion(dim, budget, seed=seed)
        kinds = []
        while len(U := s.ask(max_points=5)):
            kinds += [o.kind for o in s.origins]
            s.tell(U, np.sum((U - 0.3) ** 2, axis=1))
        return s, np.array(kinds)

    for dim, budget in ((2, 40), (5, 60)):
        s, kinds = run(dim, budget, 0)
        g = ComposedSparseGrid(dim, budget, local_search=True, seed=0).global_budget
        assert s.global_budget == g
        assert s.n_told == budget and s.stop_reason == "budget"
        assert set(kinds[:g]) == {"sample"} and "local_step" in kinds[g:]
        np.testing.assert_array_equal(s.U_told, run(dim, budget, 0)[0].U_told)
        assert not np.array_equal(s.U_told, run(dim, budget, 1)[0].U_told)


def test_ablation_sobol_column_is_sg_local_with_another_global_search() -> None:
    """The Sobol column is sg_local's TrustRegionRestarts with its settings; only the global
    searches differ: Sobol designs on one sequence, each restart's repeating the previous
    design and extending it."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ablation import SobolDesign, SobolTrustRegion

    from core.strategies import ComposedSparseGrid, TrustRegionRestarts

    s = SobolTrustRegion(2, 80, seed=0)
    g = ComposedSparseGrid(2, 80, local_search=True, seed=0)
    assert isinstance(s, TrustRegionRestarts)
    for name in ("global_budget", "local_search", "final_model_steps", "spend_rest"):
        assert getattr(s, name) == getattr(g, name), name
    assert s.local.min_radius == g.local.min_radius
    while len(U := s.ask()):
        s.tell(U, np.sum((U - 0.3) ** 2, axis=1))
    designs = [child for _, _, child in s.stages]
    assert s.n_restarts >= 1 and len(designs) == s.n_restarts + 1
    assert all(isinstance(d, SobolDesign) for d in designs)
    assert len(designs[0].design) == s.global_budget
    for before, after in zip(designs, designs[1:], strict=False):
        assert len(after.design) == min(2 * len(before.design), s.n_evals)
        np.testing.assert_array_equal(after.design[: len(before.design)], before.design)


def test_hpo_tasks_are_deterministic_cross_validated_losses() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from hpo_tasks import make_task, run_one

    task = make_task("enet_diabetes")
    config = {"alpha": 0.1, "l1_ratio": 0.5}
    assert task(config) == task(config)  # a fixed fold split: the same loss every time
    assert 0.0 < task(config) < 1.0  # MSE over the target's variance: better than the mean
    row = run_one(task, "random", 6, seed=0)
    assert row["nfev"] == 6 and row["stop_reason"] == "budget"


@pytest.mark.torch
def test_hpo_tasks_include_the_projects_torch_models() -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from hpo_tasks import PROJECT_TASKS, SKLEARN_TASKS, TASKS, make_task, run_one

    assert TASKS == SKLEARN_TASKS + PROJECT_TASKS
    task = make_task("mlp_regression_5d")
    assert list(task.space.names) == ["epochs", "learning_rate", "batch_size",
                                      "hidden_layers", "neurons"]
    first, again = run_one(task, "random", 3, seed=0), run_one(task, "random", 3, seed=0)
    assert first["nfev"] == 3 and first["stop_reason"] == "budget"
    assert first["best"] == again["best"]  # seeded trainings: a deterministic objective
    assert 0.0 < float(first["best"]) < float("inf")


@pytest.mark.slow
def test_hpo_tasks_quick_writes_its_table(tmp_path: Path) -> None:
    out = _run(["benchmarks/hpo_tasks.py", "--quick", "--out", str(tmp_path), "--seeds", "1",
                "--methods", "sparse_grid", "random"])
    assert "| enet_diabetes | 25 |" in out
    assert (tmp_path / "hpo_tasks_quick.csv").read_text().count("\n") == 3  # header + 2 runs
