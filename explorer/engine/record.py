"""The append-only record of one run: points, values and one frame per batch."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.engine.units import best_prefix, native_coordinates


@dataclass(frozen=True)
class RunKey:
    """The values that define one run; two equal keys give the same run (seeded)."""

    objective: str
    method: str
    gamma: float
    budget: int
    optimizer: str
    degree: int
    initial_level: int
    seed: int

    @property
    def strategy_options(self) -> dict[str, Any]:
        """Keyword options for ``core.strategies.make_strategy`` for this key's method."""
        if self.method != "sparse_grid":
            return {}
        return {
            "gamma": self.gamma,
            "initial_level": self.initial_level,
            "degree": self.degree,
            "optimizer": self.optimizer,
        }

    def with_method(self, method: str) -> RunKey:
        """The same experiment with another method (for the race)."""
        return RunKey(
            self.objective, method, self.gamma, self.budget, self.optimizer, self.degree,
            self.initial_level, self.seed,
        )


ROLE_SAMPLE, ROLE_GRID, ROLE_CANDIDATE = 0, 1, 2


@dataclass(frozen=True)
class Frame:
    """One evaluated batch: points ``start..end-1`` (one refinement for sparse grids).

    Attributes
    ----------
    start, end : int
        The batch's rows in :class:`RunData`.
    best : int
        Row of the best finite value among ``0..end-1`` (``-1`` if none).
    best_value : float
    n_grid : int
        Number of sparse-grid points among ``0..end-1`` (the surrogate of this step fits them).
    refinement : core.grid.RefinementStep or None
        The Novak-Ritter selection that created this batch (sparse grid, after step 0).
    label : str
        What the batch is, for the status line.
    seconds : float
        Wall time of the run when the batch was told.
    """

    start: int
    end: int
    best: int
    best_value: float
    n_grid: int = 0
    refinement: Any = None
    label: str = ""
    seconds: float = 0.0


class RunData:
    """Append-only record of one run (see the module docstring for the threading rule)."""

    def __init__(self, key: Any, objective: Any) -> None:
        self.key = key
        self.objective = objective
        self.space = objective.space
        self.d = self.space.dim
        self.budget = int(key.budget)
        cap = self.budget + 4
        d = self.d
        self.U = np.zeros((cap, d))
        self.X = np.zeros((cap, d))
        self.y = np.full(cap, np.nan)
        self.best_so_far = np.full(cap, np.nan)
        self.role = np.zeros(cap, dtype=np.int8)
        self.level_sum = np.zeros(cap, dtype=np.int64)
        self.levels = np.ones((cap, d), dtype=np.int64)
        self.indices = np.ones((cap, d), dtype=np.int64)
        self.info: list[dict | None] = [None] * cap
        self.frames: list[Frame] = []
        self.first_frame = threading.Event()  # set when frame 0 is published
        self.done = False
        self.error: str | None = None
        self.stop_reason: str | None = None
        self.strategy: Any = None
        # model slices: (dims, step) -> float32 (r, r); written by the worker only
        self.slices: dict[tuple[tuple[int, int], int], np.ndarray] = {}
        self.slice_errors: dict[tuple[tuple[int, int], int], str] = {}
        self.model_kind = {"sparse_grid": "sparse_grid", "bayesian": "gp"}.get(key.method)
        self.created = time.perf_counter()

    # -- reading --------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self.frames)

    @property
    def n(self) -> int:
        """Number of evaluations recorded so far."""
        return self.frames[-1].end if self.frames else 0

    def fixed_point(self, step: int) -> np.ndarray:
        """Unit-cube point at which the hidden dimensions are held at ``step``: the best so far."""
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

    # -- writing (worker thread only) -----------------------------------------------------
    def append_batch(
        self,
        U: np.ndarray,
        y: np.ndarray,
        infos: list[dict | None],
        *,
        role: int = ROLE_SAMPLE,
        levels: np.ndarray | None = None,
        indices: np.ndarray | None = None,
        refinement: Any = None,
        label: str = "",
    ) -> Frame:
        """Record a told batch and publish its frame."""
        m = len(U)
        a = self.n
        b = a + m
        if b > len(self.y):  # never expected (strategies respect the budget); grow anyway
            self._grow(b)
        self.U[a:b] = U
        self.X[a:b] = native_coordinates(self.space, U)
        self.y[a:b] = y
        self.role[a:b] = role
        if levels is not None:
            self.levels[a:b] = levels
            self.indices[a:b] = indices
            self.level_sum[a:b] = np.asarray(levels).sum(axis=1)
        for k, info in enumerate(infos):
            self.info[a + k] = info
        self.best_so_far[:b] = best_prefix(self.y[:b])
        prev = self.frames[-1] if self.frames else None
        best, best_value = (prev.best, prev.best_value) if prev else (-1, math.nan)
        yb = np.where(np.isfinite(y), y, np.inf)
        if m and np.isfinite(yb.min()) and (best < 0 or yb.min() < best_value):
            best, best_value = a + int(np.argmin(yb)), float(yb.min())
        n_grid = (prev.n_grid if prev else 0) + (m if role == ROLE_GRID else 0)
        frame = Frame(
            a, b, best, best_value, n_grid, refinement, label, time.perf_counter() - self.created
        )
        self.frames.append(frame)
        if len(self.frames) == 1:
            self.first_frame.set()
        return frame

    def _grow(self, need: int) -> None:
        for name in ("U", "X", "y", "best_so_far", "role", "level_sum", "levels", "indices"):
            old = getattr(self, name)
            new = np.zeros((need + 16,) + old.shape[1:], dtype=old.dtype)
            if old.dtype.kind == "f" and old.ndim == 1:
                new[:] = np.nan
            new[: len(old)] = old
            setattr(self, name, new)
        self.info.extend([None] * (need + 16 - len(self.info)))
