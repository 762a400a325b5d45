"""Compute the true landscapes of 2-D objectives and store them in ``assets/landscapes/``.

Usage::

    .venv/bin/python scripts/make_landscapes.py                    # mlp_regression_2d, 25 x 25
    .venv/bin/python scripts/make_landscapes.py NAME [NAME ...] --grid 25 --seed 0

Each objective is evaluated at the cell midpoints of a ``grid x grid`` unit-cube grid, mapped to
native units by its search space (log axes for log parameters; integer parameters take the values
of the bins the midpoints fall in), with a progress bar; the result goes to
``assets/landscapes/<name>.npz`` (format: :mod:`core.objectives.landscapes`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from core.objectives import OBJECTIVES  # noqa: E402
from core.objectives.landscapes import compute_landscape, save_landscape  # noqa: E402

DEFAULT = ("mlp_regression_2d",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT), help="2-D objectives")
    parser.add_argument("--grid", type=int, default=25, help="cells per axis (default 25)")
    parser.add_argument("--seed", type=int, default=None, help="objective seed (default: its own)")
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in OBJECTIVES:
            parser.error(
                f"unknown objective {name!r}; valid names: {', '.join(sorted(OBJECTIVES))}"
            )
        objective = OBJECTIVES[name]
        if objective.space.dim != 2:
            parser.error(f"{name!r} is {objective.space.dim}-D; landscapes need 2-D objectives")
        if args.seed is not None:
            objective = dataclasses.replace(objective, seed=args.seed)
        with tqdm(total=args.grid**2, desc=name, unit="eval") as bar:
            landscape = compute_landscape(
                objective, args.grid, callback=lambda done, total: bar.update(done - bar.n)
            )
        path = save_landscape(landscape, None if args.out is None else args.out / f"{name}.npz")
        meta = landscape.metadata
        print(
            f"{path}: {meta['grid']} grid in {meta['seconds']:.1f} s, {meta['n_failed']} failed, "
            f"min {np.nanmin(landscape.values):.4g} "
            f"at {landscape.argmin()}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
