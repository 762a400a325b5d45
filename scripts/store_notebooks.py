"""Execute the notebooks in full mode and store them with their outputs, for reading unexecuted.

Usage (from the repository root, on a committed tree; long: run it with ``nice -n 10``)::

    python scripts/store_notebooks.py                 # every notebooks/NN_*.ipynb, in place
    python scripts/store_notebooks.py 01 04           # only these (by number or name)
    python scripts/store_notebooks.py --out DIR       # write the executed copies elsewhere

Each notebook runs top to bottom in a fresh ``python3`` kernel with ``notebooks/`` as working
directory and without ``SGHPO_SMALL`` (the full mode), exactly as a reader's "Run all" would.
The stored copy keeps the outputs (figures as embedded PNG, tables as Markdown) and execution
counts; volatile metadata (per-cell execution timestamps, widget state) is removed, and
interactive outputs (HoloViews, Panel, ipywidgets), which a code host cannot show, are stored
as a note with their text form. A cell that
raises stops the script and nothing is written for that notebook. The wall time of each notebook
is printed at the end (the README's notebook table quotes it).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
KERNEL = "python3"


#: Output types that need a live kernel or the page's JavaScript (HoloViews, Bokeh, Panel,
#: ipywidgets). A code host renders none of them; HoloViews embeds every frame of a HoloMap
#: (megabytes of HTML).
LIVE = ("application/vnd.holoviews_exec.v0+json", "application/vnd.holoviews_load.v0+json",
        "application/javascript", "application/vnd.bokehjs_exec.v0+json",
        "application/vnd.bokehjs_load.v0+json", "application/vnd.jupyter.widget-view+json")
TQDM_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")
LIVE_NOTE = ("*Interactive output ({kind}): it appears when the notebook runs in Jupyter; the "
             "stored copy keeps only its text form.*")


def _static(output: dict) -> dict | None:
    """``output`` as stored: live outputs become a note plus their text form, or disappear."""
    data = output.get("data")
    if data is None:
        return output
    if not data:
        return None  # an empty display (HoloViews' comm placeholder)
    live = [k for k in data if k in LIVE]
    text = data.get("text/plain", "")
    if TQDM_BAR.search(text):
        return None  # a progress bar (its text form is the bar at 0 %)
    if set(data) == {"text/html"} and "esms-options" in data["text/html"]:
        return None  # Panel's page styles, emitted with the extension's loader
    if not live:
        return output
    if not text.strip():
        return None  # the extension's loader scripts (hv.extension, pn.extension)
    kind = "ipywidgets" if "application/vnd.jupyter.widget-view+json" in live else (
        "HoloViews / Panel")
    out = dict(output)
    out["data"] = {"text/markdown": LIVE_NOTE.format(kind=kind) + "\n\n```\n" + text + "\n```",
                   "text/plain": text}
    out["metadata"] = {}
    return out


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what changes from run to run, or needs a live kernel, without changing a result.

    Per-cell execution timestamps and the widget state go; outputs of HoloViews, Panel and
    ipywidgets (JavaScript a code host does not run) are replaced by a note with their text
    form (:func:`_static`). Figures (PNG), tables (Markdown) and printed text stay.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
        if cell.cell_type == "code":
            outputs = [_static(o) for o in cell.outputs]
            cell.outputs = [nbformat.from_dict(o) for o in outputs if o is not None]
    return nb


def execute(path: Path, *, timeout: int = 7200) -> tuple[nbformat.NotebookNode, float]:
    """``path`` executed in full mode; returns the notebook and its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    return strip_volatile(nb), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="numbers or names (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="directory (default: in place)")
    args = parser.parse_args(argv)
    os.environ.pop("SGHPO_SMALL", None)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    paths = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if any(p.stem == a or p.stem.startswith(a + "_")
                                         for a in args.notebooks)]
    times = []
    for path in paths:
        print(f"{path.name}: running", flush=True)
        nb, seconds = execute(path)
        out = (args.out or NOTEBOOK_DIR) / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(nb)
        nbformat.write(nb, out)
        times.append((path.name, seconds))
        print(f"{path.name}: {seconds:.0f} s, written to {out}", flush=True)
    for name, seconds in times:
        print(f"| {name} | {seconds:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
