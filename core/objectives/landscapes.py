"""True landscapes of 2-D objectives on a coarse grid, stored in ``assets/landscapes/``.

A landscape is the objective evaluated at the **cell midpoints of an ``n1 x n2`` grid in the unit
cube**, ``u = (j + 1/2) / n``, mapped to native units by ``space.from_unit``. So a log parameter
gets log-spaced values and an integer parameter the values of the bins those midpoints fall in
(``Int(1, 40)`` on 25 cells gives 25 distinct epochs, 1, 2, 4, 5, 7, ..., 40; an integer range
with fewer values than cells repeats values). The explorer can then show the truth beside an
interpolant at once; ``scripts/make_landscapes.py`` computes and stores them.

File format: ``<name>.npz`` (``numpy.savez_compressed``) with arrays ``u1`` ``(n1,)``, ``u2``
``(n2,)`` (unit-cube axes), ``x1`` ``(n1,)``, ``x2`` ``(n2,)`` (native axes), ``values``
``(n2, n1)`` with ``values[j, i] = f(x1[i], x2[j])`` (NaN where an evaluation failed) and
``metadata``, a JSON string: ``objective``, ``title``, ``metric``, ``names``, ``space`` (the
space's description), ``seed``, ``data_seed``, ``dataset``, ``grid`` ``[n1, n2]``, ``version``,
``date``, ``seconds``, ``n_failed``, ``torch``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core._validation import check_int

__all__ = [
    "LANDSCAPE_VERSION",
    "Landscape",
    "landscape_dir",
    "landscape_path",
    "grid_axes",
    "compute_landscape",
    "save_landscape",
    "load_landscape",
]

LANDSCAPE_VERSION = 1
"""Bumped whenever the file layout or the meaning of the stored values changes."""


@dataclass(frozen=True, eq=False)
class Landscape:
    """A 2-D objective on a grid of unit-cube cell midpoints.

    Attributes
    ----------
    name : str
        Objective name.
    names : tuple of str
        The two parameter names (axis 1, axis 2).
    u1 : ndarray, shape (n1,)
    u2 : ndarray, shape (n2,)
        Unit-cube coordinates of the grid lines.
    x1 : ndarray, shape (n1,)
    x2 : ndarray, shape (n2,)
        The same in native units.
    values : ndarray, shape (n2, n1)
        ``values[j, i]`` is the objective at ``(x1[i], x2[j])``; NaN where it failed.
    metadata : dict
        See the module docstring.
    """

    name: str
    names: tuple[str, str]
    u1: np.ndarray
    u2: np.ndarray
    x1: np.ndarray
    x2: np.ndarray
    values: np.ndarray
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        for f in ("u1", "u2", "x1", "x2", "values"):
            arr = np.array(getattr(self, f), dtype=np.float64)
            arr.setflags(write=False)
            object.__setattr__(self, f, arr)
        if self.values.shape != (self.u2.size, self.u1.size):
            raise ValueError(
                f"`values` must have shape (n2, n1) = {(self.u2.size, self.u1.size)}, "
                f"got shape {self.values.shape}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def argmin(self) -> dict[str, float]:
        """The grid point with the smallest finite value, in native units."""
        j, i = np.unravel_index(np.nanargmin(self.values), self.values.shape)
        return {self.names[0]: float(self.x1[i]), self.names[1]: float(self.x2[j])}


def landscape_dir() -> Path:
    """``<repo root>/assets/landscapes`` (the repo root is two levels above this package)."""
    return Path(__file__).resolve().parents[2] / "assets" / "landscapes"


def landscape_path(name: str, directory: str | Path | None = None) -> Path:
    """``<directory>/<name>.npz``, by default in :func:`landscape_dir`."""
    return (landscape_dir() if directory is None else Path(directory)) / f"{name}.npz"


def grid_axes(space: Any, n1: int, n2: int | None = None) -> tuple[np.ndarray, ...]:
    """Unit-cube midpoints and their native values for a 2-D ``space``.

    Returns
    -------
    u1 : ndarray, shape (n1,)
    u2 : ndarray, shape (n2,)
    x1 : ndarray, shape (n1,)
    x2 : ndarray, shape (n2,)
    """
    if space.dim != 2:
        raise ValueError(f"a landscape needs a 2-D space, got dim={space.dim} ({space.names})")
    n1 = check_int(n1, "n1", low=1)
    n2 = n1 if n2 is None else check_int(n2, "n2", low=1)
    u1 = (np.arange(n1) + 0.5) / n1
    u2 = (np.arange(n2) + 0.5) / n2
    a, b = space.names
    x1 = np.array([c[a] for c in space.from_unit(np.column_stack([u1, np.full(n1, 0.5)]))], float)
    x2 = np.array([c[b] for c in space.from_unit(np.column_stack([np.full(n2, 0.5), u2]))], float)
    return u1, u2, x1, x2


def _value(result: Any) -> float:
    value = getattr(result, "value", result)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def compute_landscape(
    objective: Any,
    n1: int = 25,
    n2: int | None = None,
    *,
    callback: Callable[[int, int], None] | None = None,
) -> Landscape:
    """Evaluate a 2-D ``objective`` at the ``n1 x n2`` cell midpoints of the unit cube.

    Parameters
    ----------
    objective : Objective
        Any registered objective with a 2-D space.
    n1, n2 : int
        Cells per axis (``n2`` defaults to ``n1``).
    callback : callable, optional
        ``callback(done, total)`` after every evaluation (a progress bar).

    Returns
    -------
    Landscape
        Failed evaluations (NaN, or an exception) are stored as NaN and counted in
        ``metadata["n_failed"]``.
    """
    space = objective.space
    u1, u2, x1, x2 = grid_axes(space, n1, n2)
    values = np.full((u2.size, u1.size), np.nan)
    total = values.size
    t0 = time.perf_counter()
    for j in range(u2.size):
        configs = space.from_unit(np.column_stack([u1, np.full(u1.size, u2[j])]))
        for i, config in enumerate(configs):
            try:
                values[j, i] = _value(objective(config))
            except Exception:  # a failing evaluation is a NaN cell, as in a run
                values[j, i] = math.nan
            if callback is not None:
                callback(j * u1.size + i + 1, total)
    seconds = time.perf_counter() - t0
    metadata = {
        "objective": objective.name,
        "title": getattr(objective, "title", objective.name),
        "metric": getattr(objective, "metric", ""),
        "names": list(space.names),
        "space": space.describe(),
        "seed": getattr(objective, "seed", None),
        "data_seed": getattr(objective, "data_seed", None),
        "dataset": getattr(objective, "dataset", None),
        "grid": [int(u1.size), int(u2.size)],
        "version": LANDSCAPE_VERSION,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "n_failed": int(np.isnan(values).sum()),
        "torch": _torch_version(),
    }
    return Landscape(objective.name, tuple(space.names), u1, u2, x1, x2, values, metadata)


def _torch_version() -> str | None:
    import sys

    torch = sys.modules.get("torch")  # report only; never import torch for this
    return getattr(torch, "__version__", None)


def save_landscape(landscape: Landscape, path: str | Path | None = None) -> Path:
    """Write ``landscape`` as ``.npz`` (default ``assets/landscapes/<name>.npz``)."""
    path = landscape_path(landscape.name) if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        u1=landscape.u1,
        u2=landscape.u2,
        x1=landscape.x1,
        x2=landscape.x2,
        values=landscape.values,
        metadata=np.array(json.dumps(landscape.metadata, sort_keys=True)),
    )
    return path


def load_landscape(
    name: str, *, path: str | Path | None = None, check_space: bool = True
) -> Landscape | None:
    """The stored landscape of objective ``name``, or None if there is none usable.

    Parameters
    ----------
    name : str
        Objective name; the file is ``assets/landscapes/<name>.npz`` unless ``path`` is given.
    path : path, optional
        Read this file instead.
    check_space : bool
        If ``name`` is a registered objective, require the stored space description to equal its
        current space (a landscape computed before the ranges changed is stale).

    Returns
    -------
    Landscape or None
        None (with a ``UserWarning`` saying why) when the file is missing its metadata, has
        another format version, or is stale; None silently when there is no file.
    """
    file = landscape_path(name) if path is None else Path(path)
    if not file.is_file():
        return None
    with np.load(file, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    try:
        metadata = json.loads(str(arrays["metadata"]))
        version = metadata.get("version")
    except (KeyError, json.JSONDecodeError, AttributeError):
        warnings.warn(f"landscape {str(file)!r} has no readable metadata; ignored", stacklevel=2)
        return None
    if version != LANDSCAPE_VERSION:
        warnings.warn(
            f"landscape {str(file)!r} has version {version!r}, this code reads version "
            f"{LANDSCAPE_VERSION}; ignored (re-run scripts/make_landscapes.py)",
            stacklevel=2,
        )
        return None
    if check_space:
        from core.objectives import OBJECTIVES

        objective = OBJECTIVES.get(name)
        if objective is not None and metadata.get("space") != objective.space.describe():
            warnings.warn(
                f"landscape {str(file)!r} was computed on space {metadata.get('space')}, but "
                f"{name!r} now has {objective.space.describe()}; ignored as stale",
                stacklevel=2,
            )
            return None
    return Landscape(
        metadata.get("objective", name),
        tuple(metadata["names"]),
        arrays["u1"],
        arrays["u2"],
        arrays["x1"],
        arrays["x2"],
        arrays["values"],
        metadata,
    )
