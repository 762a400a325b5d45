"""Small helpers shared by the notebooks (glue only; the library lives in ``core``/``explorer``).

- :data:`SMALL` and :func:`pick`: the small-budget mode (environment variable ``SGHPO_SMALL=1``)
  that CI uses to execute every notebook in a few minutes; the default is the full mode.
- :class:`Memo`: remembers the values of a deterministic objective, so comparisons that
  evaluate the same configuration in several runs train each network once (the *cost* of a run
  is still its number of evaluations; only wall time is saved).
- :func:`run_all`: many :func:`core.run.minimize` runs with one tqdm progress bar.
- :func:`show_table`, :func:`fmt_config`: tables as Markdown (no pandas needed).
- :func:`plot_best_vs_cost`: best value against cost, one line (median and range) per method.
- :func:`method_label`: a method's name for figures and tables that says which sparse grid
  search ran (the slides' method or the project's default and what it adds).
- :func:`md`: Markdown built from computed values (every number in the notebooks' prose comes
  from code), :func:`range_text`: "median (min-max)" of several runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ROOT",
    "SMALL",
    "Memo",
    "fmt_config",
    "fmt_value",
    "md",
    "method_label",
    "pick",
    "plot_best_vs_cost",
    "range_text",
    "run_all",
    "show_table",
]

#: The repository root (the notebooks run with ``notebooks/`` as working directory).
ROOT = Path(__file__).resolve().parents[1]

#: True in the small-budget mode (``SGHPO_SMALL=1``), used by CI.
SMALL: bool = os.environ.get("SGHPO_SMALL", "").strip().lower() not in ("", "0", "false", "no")


def pick(full: Any, small: Any) -> Any:
    """``small`` in the small-budget mode, ``full`` otherwise."""
    return small if SMALL else full


class Memo:
    """A caching wrapper around a deterministic objective ``fun(config) -> float | Measurement``.

    Attributes ``space``, ``name``, ``title``, ``metric``, ``f_opt`` are passed through.
    ``calls`` counts the evaluations asked for, ``trained`` those actually computed.
    """

    def __init__(self, fun: Callable[[dict], Any]) -> None:
        self.fun = fun
        self.cache: dict[tuple, Any] = {}
        self.calls = 0
        for attr in ("space", "name", "title", "metric", "f_opt", "kind"):
            if hasattr(fun, attr):
                setattr(self, attr, getattr(fun, attr))

    @staticmethod
    def key(config: Mapping[str, Any]) -> tuple:
        return tuple(sorted((k, float(v) if isinstance(v, float) else v)
                            for k, v in config.items()))

    def __call__(self, config: dict) -> Any:
        self.calls += 1
        k = self.key(config)
        if k not in self.cache:
            self.cache[k] = self.fun(config)
        return self.cache[k]

    @property
    def trained(self) -> int:
        return len(self.cache)


def run_all(
    fun: Callable[[dict], Any],
    jobs: Sequence[Mapping[str, Any]],
    *,
    desc: str = "runs",
    space: Any = None,
) -> list[Any]:
    """Run :func:`core.run.minimize` once per job, with a tqdm progress bar over evaluations.

    Parameters
    ----------
    fun : callable
        The objective (with a ``space`` attribute unless ``space`` is given).
    jobs : sequence of dict
        Keyword arguments of ``minimize`` per run (``method``, ``n_evals``, ``seed``, options).
    desc : str
        Progress-bar label.

    Returns
    -------
    list of core.records.RunResult, in the order of ``jobs``.
    """
    from tqdm.auto import tqdm

    from core.run import minimize

    total = sum(int(j["n_evals"]) for j in jobs)
    results = []
    with tqdm(total=total, desc=desc, unit="eval") as bar:
        for job in jobs:
            done = 0

            def advance(batch: Any) -> None:
                nonlocal done
                bar.update(batch.nfev - done)
                done = batch.nfev

            res = minimize(fun, space, callback=advance, **job)
            bar.update(int(job["n_evals"]) - done)  # budget a method left unused
            results.append(res)
    return results


def fmt_value(v: Any, digits: int = 4) -> str:
    """A compact string for a number (``g`` format) or anything else."""
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return str(v)
        return f"{float(v):.{digits}g}"
    return str(v)


def fmt_config(config: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``"epochs=12, learning_rate=0.00316"``."""
    if config is None:
        return "-"
    return ", ".join(f"{k}={fmt_value(v, digits)}" for k, v in config.items())


def show_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """Display a Markdown table in the notebook (plain text elsewhere) and return its source."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [fmt_value(c) if not isinstance(c, str) else c for c in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    text = "\n".join(lines)
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - outside IPython
        print(text)
    return text


def plot_best_vs_cost(
    ax: Any,
    curves: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    *,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
    ylabel: str = "best value",
    logy: bool = True,
    marker: str = "o",
) -> None:
    """Best value against cost for several methods.

    Parameters
    ----------
    ax : matplotlib Axes
    curves : mapping
        Method label -> list of ``(cost, best)`` array pairs (one per seed; equal costs).
        With several pairs the median is drawn with a shaded min-max band.
    marker : str
        Matplotlib marker of the points ("" for none).
    """
    styles = styles or {}
    for label, pairs in curves.items():
        cost = np.asarray(pairs[0][0], dtype=float)
        best = np.array([np.asarray(b, dtype=float) for _, b in pairs])
        kw = {"marker": marker, "ms": 4, **styles.get(label, {})}
        med = np.nanmedian(best, axis=0)
        (line,) = ax.plot(cost, med, label=label, **kw)
        if len(pairs) > 1:
            ax.fill_between(cost, np.nanmin(best, axis=0), np.nanmax(best, axis=0),
                            color=line.get_color(), alpha=0.15, lw=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("cost (objective evaluations)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def method_label(method: str, variant: str | None = None) -> str:
    """``method`` as figures and tables name it; for ``"sparse_grid"`` with its variant.

    Parameters
    ----------
    method : str
        A strategy name of :data:`core.STRATEGIES`.
    variant : str or None
        The sparse grid's ``variant`` option; None means the strategy's default.

    Returns
    -------
    str
        ``method`` unchanged for other strategies; for sparse grid search, ``"sparse_grid
        (thesis: the slides' method)"`` or ``"sparse_grid (zoom, the default: the slides' grid
        + zoom stages + trust region)"``.
    """
    import inspect

    from core import STRATEGIES

    if method not in STRATEGIES:
        raise ValueError(f"`method` must be one of {sorted(STRATEGIES)}, got method={method!r}")
    if method != "sparse_grid":
        return method
    default = inspect.signature(STRATEGIES[method].__init__).parameters["variant"].default
    variant = default if variant is None else variant
    if variant == "thesis":
        return "sparse_grid (thesis: the slides' method)"
    if variant == default:
        return (f"sparse_grid ({variant}, the default: the slides' grid + zoom stages + "
                "trust region)")
    return f"sparse_grid ({variant})"


def md(text: str) -> str:
    """Display ``text`` as Markdown in the notebook (plain text elsewhere) and return it."""
    try:
        from IPython.display import Markdown, display

        display(Markdown(text))
    except ImportError:  # pragma: no cover - outside IPython
        print(text)
    return text


def range_text(values: Sequence[float], digits: int = 3) -> str:
    """``"0.512 (0.498-0.533)"``: median and range of several runs (one value: just it)."""
    v = np.asarray(values, dtype=float)
    med = fmt_value(float(np.median(v)), digits)
    if len(v) < 2 or v.min() == v.max():
        return med
    return f"{med} ({fmt_value(float(v.min()), digits)}-{fmt_value(float(v.max()), digits)})"
