"""The notebooks' computed sentences hold in the configurations the small mode never reaches.

``test_notebooks.py`` executes every notebook in the small-budget mode, where, for example, no
adaptive random search run is long enough to stop as converged. The tests here execute chosen
code cells of a notebook in this process with the full-mode budgets (other sizes reduced where
the claim does not depend on them), record what :func:`_common.md` and :func:`_common.show_table`
display, and compare the text with the runs the cells made.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def run_cells(
    name: str,
    *,
    until: Callable[[str], bool],
    overrides: Mapping[str, Any] | None = None,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Execute the code cells of ``name`` in full mode up to the first one where ``until``.

    ``overrides`` are set in the namespace right after the cell that first defines them.
    Returns the namespace, the texts given to ``md`` and those given to ``show_table``.
    """
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.delenv("SGHPO_SMALL", raising=False)
    monkeypatch.syspath_prepend(str(NOTEBOOK_DIR))
    monkeypatch.chdir(NOTEBOOK_DIR)
    sys.modules.pop("_common", None)  # SMALL is read at import
    import _common

    texts: list[str] = []
    tables: list[str] = []
    show = _common.show_table

    def record_table(rows, headers):
        tables.append(show(rows, headers))
        return tables[-1]

    monkeypatch.setattr(_common, "md", lambda text: texts.append(text) or text)
    monkeypatch.setattr(_common, "show_table", record_table)
    monkeypatch.setattr("tqdm.auto.tqdm.__init__",
                        _quiet_tqdm_init(), raising=True)
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    ns: dict[str, Any] = {"__name__": "__notebook__"}
    pending = dict(overrides or {})
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            exec(compile(cell.source, f"{name}.ipynb", "exec"), ns)  # noqa: S102
            for key in [k for k in pending if k in ns]:
                ns[key] = pending.pop(key)
            if until(cell.source):
                break
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
        sys.modules.pop("_common", None)
    assert not pending, f"never defined: {sorted(pending)}"
    return ns, texts, tables


def _quiet_tqdm_init():
    from tqdm.auto import tqdm

    original = tqdm.__init__

    def init(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    return init


@pytest.mark.slow
def test_04_gamma_sentence_counts_the_runs_refinements(monkeypatch):
    """At budget 100 `intervals` stops as converged: the sentence says what each run did."""
    ns, texts, _ = run_cells(
        "04_adaptive_random_search", monkeypatch=monkeypatch,
        until=lambda src: "What the figure shows" in src,
    )
    assert ns["BUDGET"] == 100, "full mode"
    text = texts[-1]
    assert text.startswith("**What the figure shows")
    runs = ns["grid_runs"]
    assert any(s.stop_reason == "converged" for s in runs.values()), (
        "no run converged: this configuration no longer tests the early stop")
    for (variant, gamma), s in runs.items():
        if gamma == 1.0:
            continue
        facts = f"{len(s.refinement_history)} refinements, {s.n_told} evaluations"
        assert facts in text, (variant, gamma, facts, text)
        if s.stop_reason == "converged":
            assert f"`{variant}`, γ = {gamma}" in text.split("Stopped as converged")[1]


@pytest.mark.slow
def test_04_same_budget_table_shows_evaluations_and_stops(monkeypatch):
    """The comparison table says how many evaluations the runs used and how many converged."""
    ns, texts, tables = run_cells(
        "04_adaptive_random_search", monkeypatch=monkeypatch,
        until=lambda src: "Best adaptive configuration per function" in src,
        overrides={"N_SEEDS": 2},
    )
    bench, funcs = ns["bench"], ns["FUNCS"]
    table = next(t for t in tables if "median evaluations used" in t)
    lines = table.splitlines()
    assert "stopped as converged" in lines[0]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        label = cells[0]
        for f, cell in zip(funcs, cells[1:-1], strict=True):
            used = int(np.median([r.nfev for r in bench[f][label]]))
            assert cell.endswith(f"({used})"), (label, f, cell, used)
        conv = [sum(r.stop_reason == "converged" for r in bench[f][label]) for f in funcs]
        assert cells[-1] == ", ".join(map(str, conv)), (label, cells[-1], conv)
    assert any(r.stop_reason == "converged" for rs in bench["himmelblau 2-D"].values()
               for r in rs), "no converged run: the stop column is not exercised"
    closing = texts[-1]
    assert "thin strip" not in closing
    assert "stopped as converged" in closing


@pytest.fixture(scope="module")
def nb03():
    """Notebook 03 executed in full mode up to its closing cell (it reads the stored CSVs).

    A stored CSV that is not current (``_experiments.check_provenance``) would be recomputed
    in full mode, hours of training: the tests are skipped, naming the files, until it is
    regenerated.
    """
    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        import _experiments as ex
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    waiting = [f"{p.name} ({status}: {reason})"
               for p in sorted(ex.RESULTS_DIR.glob("*.csv"))
               for status, reason in [ex.check_provenance(ex.read_csv(p)[1])]
               if status != "current"]
    if waiting:
        pytest.skip("notebook 03 would recompute " + "; ".join(waiting))
    with pytest.MonkeyPatch.context() as mp:  # undone before the tests run
        return run_cells("03_reproduce_the_seed", monkeypatch=mp,
                         until=lambda src: src.startswith("def med_best("))


@pytest.mark.slow
def test_03_regression_is_compared_paired_by_seed(nb03):
    """The 5-D sentence counts, from the stored CSV, the seeds where sparse grid beats random."""
    ns, texts, _ = nb03
    rows = ns["regression"][5]
    b = max(r["budget"] for r in rows if r["method"] == "grid")
    sg = {r["seed"]: r["best"] for r in rows if r["method"] == "sparse_grid" and r["budget"] == b}
    rs = {r["seed"]: r["best"] for r in rows if r["method"] == "random" and r["budget"] == b}
    wins = sum(sg[s] < rs[s] for s in sg)
    text = next(t for t in texts if "* **5-D**" in t)
    line = next(x for x in text.splitlines() if x.startswith("* **5-D**"))
    assert f"beats random search at budget {b} in {wins} of {len(sg)} seeds" in line, line
    if wins == len(sg):
        assert "no method clearly wins" not in line


@pytest.mark.slow
def test_03_cnn_text_says_how_many_runs_the_sparse_grid_made(nb03):
    """The thesis variant's seeds are (nearly) one run; the text must not call it a median."""
    ns, texts, tables = nb03
    import json

    rs = ns["cnn_runs"]["sparse_grid"]
    distinct = len({r["values"] for r in rs})
    text = next(t for t in texts if "* **Sparse grid search:**" in t)
    line = next(x for x in text.splitlines() if x.startswith("* **Sparse grid search:**"))
    if distinct < len(rs):
        seqs = [json.loads(r["values"]) for r in rs]
        shared = sum(len(set(t)) == 1 for t in zip(*seqs, strict=False))
        assert f"{len(rs)} seeds but {distinct} different run" in line, line
        assert f"share {shared} of" in line, line
        assert f"median of {len(rs)}" not in line, line
    assert "across data sets" in line
    assert "batch_size" in text and "fc_neurons" in text, "the space difference is stated"
    table = next(t for t in tables if "different runs (value sequences)" in t)
    assert "thesis variant" in table


@pytest.mark.slow
def test_03_gamma_mismatch_is_counted_and_closing_table_present(nb03):
    """The γ = 0.5 count comes from the grids; the closing table has one row per claim."""
    ns, texts, _ = nb03
    table = ns["gamma_table"]
    same = sum(r[4] == 0 for r in table)
    text = next(t for t in texts if t.startswith("**What this means for the slides' figure.**"))
    assert f"in {same} of {len(table)} configurations" in text
    closing = texts[-1]
    assert closing.startswith("| the slides | ours (sparse grid search: ")
    assert "the slides' method" in closing.splitlines()[0], "the header names the variant"
    # γ, one row per dimension, CNN, surrogate optimizers, adaptive random search
    assert closing.count("\n| ") == 4 + len(ns["REG_DIMS"])


def test_method_label_names_the_sparse_grid_variant(monkeypatch):
    monkeypatch.syspath_prepend(str(NOTEBOOK_DIR))
    from _common import method_label

    from core import STRATEGIES

    assert method_label("random") == "random"
    assert "the slides' method" in method_label("sparse_grid", "thesis")
    default = method_label("sparse_grid")
    assert "default" in default and "slides' method" not in default
    # the label's default is the strategy's default
    assert STRATEGIES["sparse_grid"](2, 20).variant in default
    with pytest.raises(ValueError, match="method='nope'"):
        method_label("nope")


@pytest.mark.parametrize("name", ["01_quickstart", "03_reproduce_the_seed", "05_integrations"])
def test_sparse_grid_figures_and_tables_are_labelled(name):
    """Notebooks that run sparse grid search label their figures and tables with the variant."""
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    plotting = [s for s in code if ("set_title(" in s or "suptitle(" in s or "show_table(" in s
                                    or "hv.Overlay(" in s)
                and ("by_method" in s or "nn_runs" in s or "METHODS" in s
                     or "searches" in s or "studies" in s)
                and "ImportanceEvaluator" not in s]  # importance of a TPE study: no search
    assert plotting, "no figure or table of method results found"
    for src in plotting:
        assert "method_label(" in src or "thesis variant" in src, src[:200]
