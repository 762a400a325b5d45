"""The record of one run: core's batches plus the arrays the views draw, append-only.

A run is what :func:`core.run.iterate` yields: one :class:`core.records.Batch` per ask/tell
cycle. :class:`RunRecord` keeps those batches and, beside them, the per-evaluation arrays the
views read (unit-cube points, native coordinates, values, best so far, roles and grid levels
from each evaluation's :class:`core.records.Origin`) and one immutable :class:`Frame` per batch,
built completely before it is published.

Thread safety: one writer (the run's worker thread). Arrays are preallocated; the writer fills
the rows of a batch and then appends its :class:`Frame`, so a reader that only looks at rows
below ``frames[k].end`` never sees a half-written batch.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.engine.units import best_prefix, native_coordinates

__all__ = ["Frame", "ROLE_CANDIDATE", "ROLE_GRID", "ROLE_SAMPLE", "RunKey", "RunRecord"]

#: What an evaluation is: a sample of a method without a grid, a sparse-grid point, or a
#: surrogate optimum checked with the true objective.
ROLE_SAMPLE, ROLE_GRID, ROLE_CANDIDATE = 0, 1, 2


@dataclass(frozen=True)
class RunKey:
    """The values that define one run; two equal keys give the same run (seeded).

    Attributes
    ----------
    objective : str
        Name of the objective in the session's catalogue.
    method : str
        A key of ``core.strategies.STRATEGIES``.
    budget, seed : int
    options : tuple of (str, value)
        The strategy's keyword options (only those the strategy accepts), sorted by name.
    """

    objective: str
    method: str
    budget: int
    seed: int
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def strategy_options(self) -> dict[str, Any]:
        """Keyword options for ``core.strategies.make_strategy``."""
        return dict(self.options)

    def option(self, name: str, default: Any = None) -> Any:
        return self.strategy_options.get(name, default)


@dataclass(frozen=True)
class Frame:
    """One evaluated batch: rows ``start..end-1`` of the record.

    Attributes
    ----------
    start, end : int
    best : int
        Row of the best finite value among ``0..end-1`` (``-1`` if none).
    best_value : float
    n_grid : int
        Sparse-grid points among ``0..end-1`` (the surrogate of this step fits them).
    refinement : core.records.Selection or None
        The selection (Novak-Ritter refinement, adaptive random search's choice) that made
        this frame's batch.
    label : str
        What the batch is, for the status line.
    seconds : float
        Wall time of the run when the batch was told.
    role : int
        ``ROLE_SAMPLE``, ``ROLE_GRID`` or ``ROLE_CANDIDATE``.
    """

    start: int
    end: int
    best: int
    best_value: float
    n_grid: int = 0
    refinement: Any = None
    label: str = ""
    seconds: float = 0.0
    role: int = ROLE_SAMPLE


class RunRecord:
    """Append-only record of one run (module docstring for the threading rule).

    Attributes
    ----------
    batches : list of core.records.Batch
        The run as core recorded it.
    U, X : ndarray, shape (cap, d)
        Unit-cube points and native plotting coordinates, rows in evaluation order.
    y, best_so_far : ndarray, shape (cap,)
    role : ndarray of int8, shape (cap,)
    levels, indices : ndarray of int64, shape (cap, d)
        Sparse-grid levels and indices of the first search's grid rows, from their origins
        (``levels_known`` rows are filled; they come first in a run).
    level_sum : ndarray of int64, shape (cap,)
        ``|l|_1`` of grid rows of any search (0 for other points).
    predicted : ndarray, shape (cap,)
        The surrogate's value at a checked candidate (NaN elsewhere).
    info : list of dict or None
        ``Evaluation.info`` per row (learning curves, accuracy).
    slices, slice_errors : dict
        Model images per ``(dims, step)``, float32 ``(r, r)``, or why there is none.
    """

    def __init__(self, key: RunKey, objective: Any, has_model: bool = False) -> None:
        self.key = key
        self.objective = objective
        self.space = objective.space
        self.d = self.space.dim
        self.budget = int(key.budget)
        self.has_model = bool(has_model)
        cap = self.budget + 4
        d = self.d
        self.batches: list[Any] = []
        self.U = np.zeros((cap, d))
        self.X = np.zeros((cap, d))
        self.y = np.full(cap, np.nan)
        self.best_so_far = np.full(cap, np.nan)
        self.predicted = np.full(cap, np.nan)
        self.role = np.zeros(cap, dtype=np.int8)
        self.level_sum = np.zeros(cap, dtype=np.int64)
        self.levels = np.ones((cap, d), dtype=np.int64)
        self.indices = np.ones((cap, d), dtype=np.int64)
        self.levels_known = 0
        #: The surrogate optimizer's path (unit cube, shape (k, d)) to a checked candidate, by
        #: row, when the strategy records it.
        self.paths: dict[int, np.ndarray] = {}
        self.info: list[dict | None] = [None] * cap
        self.frames: list[Frame] = []
        self.first_frame = threading.Event()
        self.done = False
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.strategy: Any = None
        #: The model whose images the run shows (a key of ``core.records.ORIGIN_MODELS``):
        #: the sparse grid's surrogate, or a Gaussian process's posterior mean.
        self.model_kind = "sparse_grid_surrogate"
        #: Selections seen so far by (origin kind, stage, refinement number): the frames of a
        #: batch shown in several frames share their selection.
        self.selections: dict[tuple, Any] = {}
        self.slices: dict[tuple[tuple[int, int], int], np.ndarray] = {}
        self.slice_errors: dict[tuple[tuple[int, int], int], str] = {}
        self.created = time.perf_counter()

    # -- reading ------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def n(self) -> int:
        """Evaluations recorded so far."""
        return self.frames[-1].end if self.frames else 0

    def fixed_point(self, step: int) -> np.ndarray:
        """Unit-cube point where hidden dimensions are held at ``step``: the best so far."""
        if not self.frames:
            return np.full(self.d, 0.5)
        f = self.frames[min(step, len(self.frames) - 1)]
        return self.U[f.best].copy() if f.best >= 0 else np.full(self.d, 0.5)

    def best_config(self, step: int | None = None) -> dict | None:
        """Best configuration (native units) up to ``step`` (default: the last)."""
        if not self.frames:
            return None
        f = self.frames[-1 if step is None else min(step, len(self.frames) - 1)]
        if f.best < 0:
            return None
        return self.space.from_unit(self.U[f.best : f.best + 1])[0]

    def drop_images(self) -> None:
        """Forget the model images (a stopped worker's run nobody shows; they are recomputed
        on demand). New dicts, so a reader holding the old one is not disturbed."""
        self.slices = {}
        self.slice_errors = {}

    # -- writing (worker thread only) ------------------------------------------------------
    def append(
        self,
        batch: Any,
        *,
        role: int = ROLE_SAMPLE,
        refinement: Any = None,
        label: str = "",
        predicted: np.ndarray | None = None,
        level_sums: Any = None,
    ) -> Frame:
        """Record a told :class:`core.records.Batch` and publish its frame."""
        evs = list(batch.evaluations)
        m = len(evs)
        a = self.n
        b = a + m
        if b > len(self.y):  # strategies respect the budget; grow anyway rather than fail
            self._grow(b)
        U = np.array([e.u for e in evs], dtype=np.float64).reshape(m, self.d)
        y = np.array([e.value for e in evs], dtype=np.float64)
        self.U[a:b] = U
        self.X[a:b] = native_coordinates(self.space, U)
        self.y[a:b] = y
        self.role[a:b] = role
        if predicted is not None:
            self.predicted[a:b] = predicted
        if level_sums is not None:
            self.level_sum[a:b] = level_sums
        for k, e in enumerate(evs):
            self.info[a + k] = dict(e.info) if e.info else None
        self.best_so_far[:b] = best_prefix(self.y[:b])
        prev = self.frames[-1] if self.frames else None
        best, best_value = (prev.best, prev.best_value) if prev else (-1, math.nan)
        yb = np.where(np.isfinite(y), y, np.inf)
        if m and np.isfinite(yb.min()) and (best < 0 or yb.min() < best_value):
            best, best_value = a + int(np.argmin(yb)), float(yb.min())
        n_grid = (prev.n_grid if prev else 0) + (m if role == ROLE_GRID else 0)
        frame = Frame(a, b, best, best_value, n_grid, refinement, label,
                      time.perf_counter() - self.created, role)
        self.batches.append(batch)
        self.frames.append(frame)
        if len(self.frames) == 1:
            self.first_frame.set()
        return frame

    def set_levels(self, levels: np.ndarray, indices: np.ndarray, start: int = 0) -> None:
        """Levels and indices (shape (m, d)) of the grid rows ``start..start+m-1``; rows
        ``0..levels_known-1`` stay the contiguous first grid the surrogate images fit."""
        n = start + len(levels)
        if n > len(self.y):
            self._grow(n)
        self.levels[start:n] = levels
        self.indices[start:n] = indices
        self.level_sum[start:n] = np.asarray(levels).sum(axis=1)
        if start == self.levels_known:
            self.levels_known = n

    def _grow(self, need: int) -> None:
        for name in ("U", "X", "y", "best_so_far", "predicted", "role", "level_sum", "levels",
                     "indices"):
            old = getattr(self, name)
            new = np.zeros((need + 16,) + old.shape[1:], dtype=old.dtype)
            if old.dtype.kind == "f" and old.ndim == 1:
                new[:] = np.nan
            new[: len(old)] = old
            setattr(self, name, new)
        self.info.extend([None] * (need + 16 - len(self.info)))
