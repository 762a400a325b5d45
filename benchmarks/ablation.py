"""Ablation of the default sparse grid search: which part of it does the work?

The columns are extra methods of ``benchmarks/race.py`` and ``benchmarks/bbob.py``
(``VARIANTS``, opt-in through ``--methods``); the tables of ``docs/ablation.md`` and
``benchmarks/results/ablation.md`` were written by::

    nice -n 10 .venv/bin/python benchmarks/bbob.py --methods sparse_grid sg_no_local sg_local \
        sobol_local --dims 2 5 10 --budget-factors 20 50 --instances 1 2 3 --prefix ablation \
        --fresh

(BBOB's 10 functions, instances 1-3, ``B = 20 d`` and ``50 d``). The four methods:

``sparse_grid``
    the library default (``method="sparse_grid"``), unchanged: its local phase runs only when
    ``round(0.3 B) >= 2 (d + 1)(d + 2) / 2``;
``sg_no_local``
    the same grid search without the local phase (``local_search=False``): stage 0, zoom stages,
    quadratic model steps and the rest of the budget as the default spends it;
``sg_local``
    the grid search with the local phase forced on (``local_search=True``): a first global
    search of ``local_fraction = 0.3`` of the budget, then the quadratic trust region and global
    restarts;
``sobol_local``
    :class:`SobolTrustRegion`: ``sg_local``'s
    :class:`~core.strategies.TrustRegionRestarts`, the same settings, with a
    :class:`SobolDesign` as every global search (a scrambled Sobol design of the size of
    ``sg_local``'s first global search; the restarts continue the sequence), so ``sg_local``
    against ``sobol_local`` isolates the grid's part as the global phase.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core.records import Origin
from core.strategies import COMPOSITIONS, ComposedSparseGrid, TrustRegionRestarts
from core.strategies.base import Strategy

__all__ = ["ABLATION_VARIANTS", "SobolDesign", "SobolTrustRegion"]


class SobolDesign(Strategy):
    """The first ``n_evals`` points of a scrambled Sobol sequence, in order: a global search
    without a model.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget: the design's size.
    sobol : scipy.stats.qmc.Sobol or None, default None
        The scrambled sequence, rewound here: designs that share one hand out the same points,
        so a larger design repeats a smaller one and extends it. None: a new sequence scrambled
        by ``seed``.
    seed : int, numpy Generator or None
        The scrambling when ``sobol`` is None.

    Attributes
    ----------
    sobol : scipy.stats.qmc.Sobol
        The sequence (to share with the next design).
    design : ndarray, shape (n_evals, d)
        The points, in the order they are asked.
    """

    name = "sobol_design"
    title = "Sobol design"
    summary = "the first n_evals points of a scrambled Sobol sequence"

    def __init__(self, dim: int, n_evals: int, *, sobol: Any = None, seed: Any = None) -> None:
        super().__init__(dim, n_evals, seed=seed)
        if sobol is None:
            from scipy.stats import qmc

            sobol = qmc.Sobol(self.dim, scramble=True, seed=self._rng)
        self.sobol = sobol
        with warnings.catch_warnings():  # sizes are not powers of two
            warnings.simplefilter("ignore", UserWarning)
            self.design = self.sobol.reset().random(self.n_evals)

    def _ask(self, max_points: int) -> np.ndarray:
        U = self.design[self.n_told : self.n_told + max_points]
        self._set_origins(Origin("sample", source="Sobol design") for _ in range(len(U)))
        return U


class SobolTrustRegion(TrustRegionRestarts):
    """``sg_local`` with a scrambled Sobol design as its global phase.

    The :class:`~core.strategies.TrustRegionRestarts` of
    ``make_strategy("sparse_grid", dim, n_evals, local_search=True)``, built with that run's
    own settings (the first global search's planned budget ``global_budget``, the trust
    region's convergence radius, the restart rule, the rest of the budget), with one change:
    each global search is a :class:`SobolDesign` on one scrambled sequence instead of a
    :class:`~core.strategies.ZoomSearch`. The first search is the sequence's first
    ``global_budget`` points; a restart of budget ``s`` (twice the previous one, at most
    ``n_evals``) is its first ``s`` points, of which the ones told before cost nothing, so it
    continues the sequence.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget.
    seed : int, numpy Generator or None
        Scrambling of the Sobol sequence and the trust region's geometry steps.
    """

    name = "sobol_local"
    title = "Sobol design + trust region (ablation)"
    summary = "scrambled Sobol design, then sparse grid search's quadratic trust region"

    def __init__(self, dim: int, n_evals: int, *, seed: Any = None) -> None:
        default = ComposedSparseGrid(dim, n_evals, local_search=True, seed=0)
        self._sobol: Any = None  # the sequence every global search of the run shares
        super().__init__(
            default.dim, default.n_evals, global_search=self._sobol_design,
            first_global=default.global_budget, final_model_steps=default.final_model_steps,
            spend_rest=default.spend_rest, min_radius=default.local.min_radius, seed=seed,
        )

    def _sobol_design(self, n_evals: int, planned: int | None) -> SobolDesign:
        """A global search: the first one (``planned`` points) or a restart (``n_evals``)."""
        design = SobolDesign(self.dim, n_evals if planned is None else planned,
                             sobol=self._sobol, seed=self._rng)
        self._sobol = design.sobol
        return design


#: Ablation columns: name -> (strategy name or class, fixed options).
ABLATION_VARIANTS: dict[str, tuple[Any, dict]] = {
    "sg_no_local": COMPOSITIONS["sparse_grid_no_local"][:2],
    "sg_local": COMPOSITIONS["sparse_grid_local"][:2],
    "sobol_local": (SobolTrustRegion, {}),
}


# ---------------------------------------------------------------------------------- report
METHODS = ("sparse_grid", "sg_no_local", "sg_local", "sobol_local")
RESULTS = Path(__file__).resolve().parent / "results"
DOC = Path(__file__).resolve().parents[1] / "docs" / "ablation.md"


def by_function(rows: list[dict], methods: tuple[str, ...] = METHODS) -> dict:
    """Per ``(dim, budget factor, function)``: each method's median log10 regret over the
    instances, and the instances ``sg_local`` wins, ties and loses against ``sobol_local``."""
    from bbob import TIE

    cells: dict[tuple, dict[str, dict[int, float]]] = {}
    for r in rows:
        if r["method"] not in methods:
            continue
        d, b = int(r["dim"]), int(r["budget"])
        key = (d, b // d, int(r["function"]))
        cells.setdefault(key, {}).setdefault(r["method"], {})[int(r["instance"])] = (
            float(r["best"]), float(r["log10_regret"]))
    out = {}
    for key, per in sorted(cells.items()):
        if not all(m in per for m in methods):
            continue
        med = {m: float(np.median([v[1] for v in per[m].values()])) for m in methods}
        w = t = lo = 0
        for i in per["sg_local"].keys() & per["sobol_local"].keys():
            diff = per["sg_local"][i][0] - per["sobol_local"][i][0]
            t, w, lo = t + (abs(diff) <= TIE), w + (diff < -TIE), lo + (diff > TIE)
        out[key] = (med, (w, t, lo))
    return out


def write_report(csv_paths: list[Path], doc: Path | None, command: str) -> str:
    """The ablation tables (average ranks, won-tied-lost, median log10 regret per function)
    from the BBOB CSVs of ``benchmarks/bbob.py``."""
    from bbob import _read_rows, summarize, write_markdown

    rows = [r for p in csv_paths for r in _read_rows(p)]
    methods = list(METHODS)
    lines = [write_markdown(summarize(rows, methods, "sparse_grid"), methods, "sparse_grid",
                            command, None).replace("# BBOB results", "# Ablation tables", 1)]
    wtl = summarize(rows, methods, "sg_local")["wtl"]
    lines += ["## Grid against Sobol as the global phase: sg_local against sobol_local, cells "
              "won-tied-lost", "", "| d | B | won-tied-lost |", "|---|---|---|"]
    for slot in sorted(wtl):
        lines.append(f"| {slot[0]} | {slot[1]}·d | " + "{}-{}-{}".format(*wtl[slot]["sobol_local"])
                     + " |")
    lines += ["", "## Median log10 regret over the instances, per function", "",
              "Last column: instances `sg_local` won-tied-lost against `sobol_local`.", "",
              "| d | B | f | " + " | ".join(methods) + " | grid vs Sobol |",
              "|" + "---|" * (len(methods) + 4)]
    for (d, k, f), (med, (w, t, lo)) in by_function(rows).items():
        best = min(med.values())
        cells = [f"**{med[m]:.2f}**" if med[m] == best else f"{med[m]:.2f}" for m in methods]
        lines.append(f"| {d} | {k}·d | f{f} | " + " | ".join(cells) + f" | {w}-{t}-{lo} |")
    text = "\n".join(lines) + "\n"
    if doc is not None:
        doc.write_text(text)
    return text


def against_peers(rows: list[dict], peer_rows: list[dict]) -> str:
    """Each ablation column in the default's place among the peers of a full BBOB run
    (``peer_rows``, every method but ``sparse_grid``): its average rank, the best peer's and its
    cells won-tied-lost against NGOpt and our BO, per dimension and budget."""
    from bbob import summarize

    peers = sorted({r["method"] for r in peer_rows} - {"sparse_grid", *METHODS})
    lines = ["| column | d | B | its rank | best peer's rank | vs ngopt | vs bayesian |",
             "|---|---|---|---|---|---|---|"]
    for m in METHODS:
        mixed = [r for r in peer_rows if r["method"] in peers] + [
            r for r in rows if r["method"] == m]
        s = summarize(mixed, [m, *peers], m)
        for slot in sorted(s["rank"]):
            rank = {k: float(np.mean(v)) for k, v in s["rank"][slot].items()}
            wtl = s["wtl"][slot]
            lines.append(f"| {m} | {slot[0]} | {slot[1]}·d | {rank[m]:.2f} | "
                         f"{min(rank[p] for p in peers):.2f} | "
                         + " | ".join("{}-{}-{}".format(*wtl[p]) if p in wtl else ""
                                      for p in ("ngopt", "bayesian")) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Write the ablation tables from bbob.py's CSVs.")
    p.add_argument("--csv", nargs="+", type=Path, default=[RESULTS / "ablation.csv"])
    p.add_argument("--doc", type=Path, default=None, help="write the tables here as well")
    p.add_argument("--peers", type=Path, default=None,
                   help="a bbob.py CSV with the peers: print each column in the default's place")
    args = p.parse_args(argv)
    command = "python benchmarks/ablation.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    if args.peers is not None:
        from bbob import _read_rows

        rows = [r for path in args.csv for r in _read_rows(path)]
        print(against_peers(rows, _read_rows(args.peers)))
        return 0
    print(write_report(args.csv, args.doc, command.strip()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
