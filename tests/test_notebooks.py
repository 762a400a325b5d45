"""The notebooks are stored executed in full mode, and run top to bottom in the small mode.

The committed notebooks carry the outputs of a full-mode run (``scripts/store_notebooks.py``),
so a reader sees figures and tables without running them: the tests check that every cell ran,
in order, without an error, that figures are embedded, and that the tables of notebook 03 agree
with the stored CSVs they were computed from. The results CSVs' provenance headers are checked
too (key order, a clean tree, a commit of this history, the rule of
``_experiments.check_provenance``).

Every notebook in ``notebooks/`` is executed headless with nbclient in the small-budget mode
(``SGHPO_SMALL=1``); any cell error fails the test, and so does an error shown inside an
ipywidgets output (``interact`` catches exceptions and prints them into its widget, where
nbclient would not notice them). The kernel must be this interpreter's environment (the
project's ``.venv``): a ``python3`` kernelspec elsewhere on the machine (``~/.local/share``)
could point at another Python without the project installed, so the kernel is checked and, if
needed, a kernelspec for ``sys.executable`` is installed into a temporary directory that is put
first on ``JUPYTER_PATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "python3"
TIMEOUT = 240  # seconds per cell (small-mode cells take seconds)
#: A kernel that stops answering (seen once in CI: kernel and client both idle, the execute
#: reply never arriving) is an infrastructure fault, not a notebook error: such a run is
#: retried once in a fresh kernel. A cell that raises fails at once.
ATTEMPTS = 2


def _kernel_prefix() -> str:
    """``sys.prefix`` as seen by a fresh ``python3`` kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL).execute()
    return nb.cells[0].outputs[0]["text"].strip()


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory):
    """Small-budget mode and a ``python3`` kernel that runs this interpreter."""
    saved = {k: os.environ.get(k) for k in ("SGHPO_SMALL", "JUPYTER_PATH", "PYTHONPATH")}
    os.environ["SGHPO_SMALL"] = "1"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), saved["PYTHONPATH"]) if p
    )
    try:
        try:
            seen: str | None = _kernel_prefix()
        except Exception:  # noqa: BLE001 - a broken kernelspec: replace it below
            seen = None
        if seen is None or Path(seen).resolve() != Path(sys.prefix).resolve():
            prefix = tmp_path_factory.mktemp("kernel")
            subprocess.run(
                [sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix),
                 "--name", KERNEL],
                check=True, capture_output=True,
            )
            os.environ["JUPYTER_PATH"] = os.pathsep.join(
                p for p in (str(prefix / "share" / "jupyter"), saved["JUPYTER_PATH"]) if p
            )
            seen = _kernel_prefix()
            assert Path(seen).resolve() == Path(sys.prefix).resolve(), (
                f"the {KERNEL!r} kernel runs in {seen}, not in this environment {sys.prefix}"
            )
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _widget_errors(nb) -> list[str]:
    """Error outputs recorded inside ipywidgets Output models (e.g. by ``interact``)."""
    state = nb.metadata.get("widgets", {}).get(
        "application/vnd.jupyter.widget-state+json", {}
    ).get("state", {})
    errors = []
    for model in state.values():
        for out in model.get("state", {}).get("outputs", []) or []:
            if out.get("output_type") == "error":
                errors.append(f"{out.get('ename')}: {out.get('evalue')}")
    return errors


def test_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:4] == [
        "01_quickstart",
        "02_sparse_grids_explained",
        "03_reproduce_the_seed",
        "04_adaptive_random_search",
    ]


# -- the stored experiments: the committed CSV is what the script computes ---------------------
RESULTS = NOTEBOOK_DIR / "results"


def _results_module():
    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        import _experiments
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    return _experiments


def _run_script(args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "notebook_results.py"), *args, "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def _key(row: dict, fields: tuple[str, ...]) -> tuple:
    return tuple(row[f] for f in fields)


def _assert_rows_match(committed: list[dict], fresh: list[dict], fields: tuple[str, ...]):
    index = {_key(r, fields): r for r in committed}
    assert fresh, "the script wrote no rows"
    for row in fresh:
        key = _key(row, fields)
        assert key in index, f"row {key} is not in the committed CSV"
        old = index[key]
        assert row["cost"] == old["cost"], (key, row["cost"], old["cost"])
        assert row["best"] == pytest.approx(old["best"], rel=1e-6, abs=1e-9), key
        assert row["config"] == old["config"] or row["best"] == pytest.approx(
            old["best"], rel=1e-12), key


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _has_git() -> bool:
    try:
        return (ROOT / ".git").exists() and _git("rev-parse", "HEAD").returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _experiment(path: Path) -> str:
    return "regression" if path.name.startswith("regression_") else "cnn"


CSVS = sorted(RESULTS.glob("*.csv"))


def _pending(ex, header: dict) -> str | None:
    """Why a CSV is still the one written before the provenance header (None: it is not).

    Such a CSV is recomputed by the notebook (``check_provenance`` calls it stale); the test
    reports it as an expected failure naming the command that regenerates it, so that the
    regeneration (an hour per file on a shared machine) can land file by file.
    """
    if header.get("started") or header.get("dirty"):
        return None
    return (f"written before the provenance header; regenerate from a clean tree with "
            f"`nice -n 10 {header.get('command', 'python scripts/notebook_results.py')}`")


def test_results_are_committed():
    assert CSVS, "no committed results in notebooks/results"


@pytest.mark.parametrize("path", CSVS, ids=[p.stem for p in CSVS])
def test_csv_headers_state_their_provenance(path):
    """The header lines in order, the commit, a clean tree, start before end."""
    ex = _results_module()
    rows, header = ex.read_csv(path)
    assert rows, path.name
    if (why := _pending(ex, header)) is not None:
        pytest.xfail(f"{path.name}: {why}")
    expected = ex.header_keys(_experiment(path))
    assert tuple(header) == expected, (
        f"{path.name}: header lines {list(header)}, expected {list(expected)}; "
        f"regenerate it with `{header.get('command')}`")
    for key in header:
        assert header[key], f"{path.name} has an empty {key!r} header line"
    assert header["command"].startswith("python scripts/notebook_results.py")
    assert len(header["commit"]) == 40 and int(header["commit"], 16) >= 0, path.name
    assert header["dirty"] == "no", f"{path.name} was computed from a dirty tree"
    assert header["depends_on"] == " ".join(ex.DEPENDS_ON), path.name
    assert header["started"] <= header["ended"], path.name  # ISO 8601, UTC: text order
    assert float(header["seconds"]) >= 0


@pytest.mark.parametrize("path", CSVS, ids=[p.stem for p in CSVS])
def test_csv_commit_is_an_ancestor_of_head(path):
    """The CSV was made at a commit of this history (a fresh clone has them all)."""
    if not _has_git():
        pytest.skip("no git checkout (e.g. a source archive): ancestry cannot be checked")
    ex = _results_module()
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone lacks the history the CSV commits are in")
    _, header = ex.read_csv(path)
    rc = _git("merge-base", "--is-ancestor", header["commit"], "HEAD").returncode
    assert rc == 0, f"{path.name}: commit {header['commit']} is not an ancestor of HEAD"
    status, reason = ex.check_provenance(header)
    assert status in ("current", "stale"), (path.name, status, reason)


def _header_at(ex, commit: str, dirty: str = "no") -> dict[str, str]:
    header = ex.provenance("python scripts/notebook_results.py regression", dim=2)
    header.update(commit=commit, dirty=dirty)
    return ex.finish(header, 1.0)


def test_provenance_rule(tmp_path):
    """Refused: dirty or foreign commit; stale: a dependency changed since; current: none did."""
    if not _has_git():
        pytest.skip("no git checkout: the rule accepts every header with a note")
    ex = _results_module()
    head = _git("rev-parse", "HEAD").stdout.strip()
    assert ex.check_provenance(_header_at(ex, head))[0] == "current"
    status, reason = ex.check_provenance(_header_at(ex, head, dirty="yes: core/run.py"))
    assert status == "refused" and "uncommitted" in reason
    status, reason = ex.check_provenance(_header_at(ex, "0" * 40))
    assert status == "refused" and "0000000000" in reason
    # the last unreviewed commit that changed a dependency: a CSV made before it is stale,
    # and current again once that commit (and every later one) is reviewed
    reviewed = ex.reviewed_commits()
    changes = _git("log", "--format=%H", "--", *ex.DEPENDS_ON).stdout.split()
    last = next((c for c in changes if c not in reviewed), None)
    parent = last and _git("rev-parse", "--verify", "--quiet", f"{last}^").stdout.strip()
    if parent:
        status, reason = ex.check_provenance(_header_at(ex, parent))
        assert status == "stale" and last[:10] in reason, reason
        since = {c: "test" for c in changes[:changes.index(last) + 1]}
        status, reason = ex.check_provenance(_header_at(ex, parent), reviewed=since)
        assert status == "current" and "reviewed" in reason, reason
    old = {"command": "python scripts/notebook_results.py cnn", "commit": head[:7]}
    assert ex.check_provenance(old)[0] == "stale", "a header written before the rule"

    # load_or_compute: refused raises with the command; stale recomputes; current reads
    rows = [{"dim": 2, "method": "grid", "seed": 0, "budget": 5, "cost": 5, "best": 0.5,
             "config": ""}]
    config = {"dim": 2}
    for name, header in (("dirty", _header_at(ex, head, "yes: core/run.py")),
                         ("current", _header_at(ex, head))):
        ex.write_csv(tmp_path / f"{name}.csv", rows, header)
    fresh = [dict(rows[0], best=0.25)]
    with pytest.raises(ex.ResultsRefused, match="regression"):
        ex.load_or_compute("dirty", lambda: fresh, config, results_dir=tmp_path)
    got, source = ex.load_or_compute("current", lambda: fresh, config, results_dir=tmp_path)
    assert got == rows and source.startswith("read from") and head[:10] in source
    if parent:
        ex.write_csv(tmp_path / "stale.csv", rows, _header_at(ex, parent))
        got, source = ex.load_or_compute("stale", lambda: fresh, config, results_dir=tmp_path)
        assert got == fresh and "stale" in source


def test_reviewed_commits_changed_a_dependency():
    """Each reviewed commit is a full hash of this history that changed a dependency, with why."""
    ex = _results_module()
    reviewed = ex.reviewed_commits()
    for sha, why in reviewed.items():
        assert len(sha) == 40 and int(sha, 16) >= 0 and why, (sha, why)
    if not _has_git() or not reviewed:
        return
    touched = set(_git("log", "--format=%H", "--", *ex.DEPENDS_ON).stdout.split())
    for sha in reviewed:
        assert sha in touched, f"{sha[:10]} is not a commit of this history that changed " \
            f"{', '.join(ex.DEPENDS_ON)}"


@pytest.mark.slow
def test_committed_regression_csv_matches_the_script(tmp_path):
    """Grid, sparse grid and random search at budgets 5 and 10, seed 0, 2-D: as committed."""
    path = RESULTS / "regression_diabetes_2d.csv"
    if not path.exists():
        pytest.skip("regression_diabetes_2d.csv is not committed")
    ex = _results_module()
    _run_script(["regression", "--dims", "2", "--seeds", "0", "--budgets", "5,10",
                 "--methods", "grid,sparse_grid,random", "--out", str(tmp_path)])
    fresh, _ = ex.read_csv(tmp_path / "regression_diabetes_2d.csv")
    committed, _ = ex.read_csv(path)
    _assert_rows_match(committed, fresh, ("dim", "method", "seed", "budget"))


@pytest.mark.slow
def test_committed_cnn_csv_matches_the_script(tmp_path):
    """The grid-search row of the 9-D table (one training at the centre) as committed."""
    path = RESULTS / "cnn9d_digits.csv"
    if not path.exists():
        pytest.skip("cnn9d_digits.csv is not committed")
    ex = _results_module()
    _run_script(["cnn", "--methods", "grid", "--out", str(tmp_path)])
    fresh, _ = ex.read_csv(tmp_path / "cnn9d_digits.csv")
    committed, _ = ex.read_csv(path)
    _assert_rows_match(committed, fresh, ("method", "seed", "budget"))


def _texts(output) -> str:
    """The text of one output (stream text, or a display's Markdown / plain text)."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return data.get("text/markdown", "") or data.get("text/plain", "")


def _markdown_outputs(nb) -> list[str]:
    return [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if "text/markdown" in o.get("data", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebooks_have_full_mode_outputs(path):
    """Stored executed (``scripts/store_notebooks.py``): readable without running them.

    Every code cell ran, in order, in one full-mode session; no cell shows an error or a
    traceback; figures are embedded as PNG; run-to-run metadata is stripped.
    """
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    if path.stem == "03_reproduce_the_seed" and (why := _03_pending(nb)):
        pytest.xfail(why)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert None not in counts, (
        f"{path.name}: cells {[i for i, c in enumerate(counts) if c is None]} never ran; "
        "store it with `python scripts/store_notebooks.py`")
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name} was not run top to bottom in one session: {counts}")
    for i, cell in enumerate(code):
        for out in cell.outputs:
            assert out.output_type != "error", (
                f"{path.name} code cell {i}: {out.get('ename')}: {out.get('evalue')}")
            assert "Traceback (most recent call last)" not in _texts(out), (
                f"{path.name} code cell {i} shows a traceback")
        assert "execution" not in cell.metadata, f"{path.name}: execution timestamps stored"
    first = next(c for c in code if c.outputs)
    assert "full mode" in "".join(_texts(o) for o in first.outputs), (
        f"{path.name} was not stored from the full mode")
    if any("plt.subplots(" in c.source for c in code):
        assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs), (
            f"{path.name} draws figures but stores none")
    assert "widgets" not in nb.metadata, f"{path.name} stores widget state"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL


def _03_pending(nb) -> str | None:
    """Why notebook 03 is not stored executed yet (None: it is, or it should be).

    03 reads the stored CSVs; it is stored executed only once every CSV is current (a stale
    one would be recomputed in full mode: hours). Until then it is committed unexecuted and its
    tests are expected failures that name what is missing.
    """
    if any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"):
        return None
    ex = _results_module()
    waiting = []
    for path in CSVS:
        status, reason = ex.check_provenance(ex.read_csv(path)[1])
        if status != "current":
            waiting.append(f"{path.name} ({status}: {reason})")
    if not waiting:
        return None
    return ("03 is stored executed once its CSVs are current; waiting for "
            + "; ".join(waiting) + ". Then: `python scripts/store_notebooks.py 03`")


def _stored_03():
    nb = nbformat.read(NOTEBOOK_DIR / "03_reproduce_the_seed.ipynb", as_version=4)
    if why := _03_pending(nb):
        pytest.xfail(why)
    return nb, _markdown_outputs(nb)


def _range_text():
    sys.path.insert(0, str(NOTEBOOK_DIR))
    try:
        from _common import range_text
    finally:
        sys.path.remove(str(NOTEBOOK_DIR))
    return range_text


def _table_rows(markdown: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in markdown.splitlines()[2:] if line.startswith("|")]


def test_stored_03_reads_the_committed_csvs():
    """The stored notebook 03 says it read each CSV, at the commit in the CSV's header."""
    ex = _results_module()
    _, texts = _stored_03()
    sources = "\n".join(t for t in texts if "notebooks/results/" in t)
    for path in sorted(RESULTS.glob("*.csv")):
        _, header = ex.read_csv(path)
        said = f"read from `notebooks/results/{path.name}`"
        assert said in sources, f"the stored 03 did not read {path.name} (recomputed?)"
        line = next(x for x in sources.splitlines() if said in x)
        assert header["commit"][:10] in line and header["started"] in line, (
            f"the stored 03 read another version of {path.name}: {line}")


def test_stored_03_tables_agree_with_the_csvs():
    """The regression and CNN tables and the closing table: numbers recomputed from the CSVs."""
    ex = _results_module()
    range_text = _range_text()
    _, texts = _stored_03()
    titles = {"grid": "Grid search", "random": "Random search",
              "bayesian": "Bayesian optimization", "sparse_grid": "Sparse grid search"}
    reg = next(t for t in texts if "best validation MSE: median (range)" in t)
    reg_rows = {(r[0], r[1]): r for r in _table_rows(reg)}
    closing = next(t for t in texts if t.startswith("| the slides | ours"))
    checked = 0
    for path in sorted(RESULTS.glob("regression_diabetes_*d.csv")):
        rows, header = ex.read_csv(path)
        d = int(header["dim"])
        b = max(r["budget"] for r in rows if r["method"] == "grid")
        closing_line = next(x for x in closing.splitlines() if x.startswith(f"| {d}-D "))
        for m, title in titles.items():
            sel = [r for r in rows if r["method"] == m and r["budget"] == b]
            row = reg_rows[(f"{d}-D", title)]
            assert row[2] == str(max(r["cost"] for r in sel)), (d, m, row)
            assert row[3] == range_text([r["best"] for r in sel], 3), (d, m, row)
            med = float(np.median([r["best"] for r in sel]))
            assert f"{title.lower()} {med:.3f}" in closing_line, (d, m, closing_line)
            checked += 1
    cnn_path = RESULTS / "cnn9d_digits.csv"
    if cnn_path.exists():
        rows, _ = ex.read_csv(cnn_path)
        cnn = next(t for t in texts if "different runs (value sequences)" in t)
        cnn_rows = {r[0].split(" (")[0]: r for r in _table_rows(cnn)}
        closing_line = next(x for x in closing.splitlines() if x.startswith("| 9-D"))
        for m, title in titles.items():
            rs = [r for r in rows if r["method"] == m]
            row = cnn_rows[title]
            assert row[5] == range_text([100 * r["accuracy"] for r in rs], 3) + "%", (m, row)
            assert row[7] == str(len(rs)) and row[8] == str(len({r["values"] for r in rs}))
            acc = float(np.median([100 * r["accuracy"] for r in rs]))
            assert f"{title.lower()} {acc:.1f}%" in closing_line, (m, closing_line)
            checked += 1
    assert checked, "no table compared"


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_small_mode(path, notebook_env):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    for attempt in range(1, ATTEMPTS + 1):
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb, timeout=TIMEOUT, kernel_name=KERNEL,
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        t0 = time.perf_counter()
        try:
            client.execute()  # raises CellExecutionError on the first failing cell
            break
        except (CellTimeoutError, DeadKernelError) as exc:
            if attempt == ATTEMPTS:
                raise
            print(f"{path.name}: kernel stopped answering ({type(exc).__name__}); retrying")
    seconds = time.perf_counter() - t0
    assert not _widget_errors(nb), f"{path.name}: errors inside widgets: {_widget_errors(nb)}"
    first = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    text = "".join(o.get("text", "") for o in first.outputs)
    assert "small-budget mode" in text, f"{path.name} did not run in the small mode"
    print(f"{path.name}: {seconds:.1f} s")
