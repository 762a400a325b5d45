"""Running strategies inside a strategy: each in a box of the cube, points told before free.

:class:`StagedSearch` is the machinery the wrapper strategies share
(:class:`~core.strategies.zoom.ZoomSearch`'s zoom stages,
:class:`~core.strategies._trust_region.TrustRegionRestarts`' global searches): a *stage* is an
inner strategy searching its own unit cube, mapped onto the box ``[lo, hi]`` of this one. The
stage's asked points are looked up among the points told to this strategy (within
``DUPLICATE_TOL``); those told before are told to the stage at once without an evaluation, the
others are asked. The stage's origins are seen from this strategy: told indices, unit-cube
paths and boxes, ``stage`` numbered over every search begun here, ``restart`` counted on, and
the stage's label appended to the source. A *pass-through* stage (the first search of a
wrapper, on the whole cube, before anything was told) is asked and told directly.
"""

from __future__ import annotations

import numpy as np

from core.records import Origin
from core.strategies._sparse_grid_candidates import DUPLICATE_TOL
from core.strategies.base import Strategy

__all__ = ["StagedSearch"]


class StagedSearch(Strategy):
    """A strategy whose points come from inner strategies run one after another (module
    docstring). Subclasses add stages with :meth:`_add_stage` and serve the running one with
    :meth:`_ask_stage`; :meth:`_tell` hands its values back."""

    def __init__(self, dim: int, n_evals: int, *, seed=None) -> None:
        super().__init__(dim, n_evals, seed=seed)
        #: The stages begun, in order: ``(lo, hi, strategy)``.
        self.stages: list[tuple[np.ndarray, np.ndarray, Strategy]] = []
        self._labels: list[str | None] = []  # None: pass-through
        self._child_maps: list[list[int]] = []  # per stage: told index here of each told point
        self._stage_base: list[int] = []  # per stage: number of its first search
        self._child_pending: tuple | None = None

    @property
    def n_restarts(self) -> int:
        """Global restarts begun (0 unless a subclass restarts)."""
        return 0

    @property
    def n_searches(self) -> int:
        """Grids (searches) begun so far, nested ones included; ``Origin.stage`` numbers them
        from 0."""
        return sum(getattr(child, "n_searches", 1) for _, _, child in self.stages)

    def _add_stage(self, lo: np.ndarray, hi: np.ndarray, child: Strategy,
                   label: str | None) -> None:
        """Begin a stage in the box ``[lo, hi]``; ``label`` (e.g. ``"zoom 2"``) is appended to
        its origins' sources, None makes it a pass-through stage."""
        self._stage_base.append(self.n_searches)
        self.stages.append((lo, hi, child))
        self._labels.append(label)
        self._child_maps.append([])

    @property
    def running(self) -> Strategy | None:
        """The latest stage while it can go on, else None."""
        if not self.stages:
            return None
        child = self.stages[-1][2]
        return child if child.stop_reason is None else None

    def _ask_stage(self, max_points: int) -> np.ndarray:
        """The running stage's next new points (shape ``(k, d)``, origins set); empty once the
        stage has stopped."""
        while self.running is not None:
            lo, hi, child = self.stages[-1]
            V = child.ask(min(max_points, self.remaining))
            if len(V) == 0:
                continue
            if self._labels[-1] is None:
                self._child_pending = ()
                self._set_origins(child.origins)
                return V
            X = lo + V * (hi - lo)
            known, found, hits = self._known_values(X)
            new = ~found
            if not new.any():  # e.g. a zoom box's centre at the incumbent: free
                self._child_maps[-1].extend(hits.tolist())
                child.tell(V, known)
                continue
            self._child_pending = (V, known, new, hits)  # points told before cost nothing
            origins = child.origins
            self._set_origins(self._stage_origin(origins[i]) for i in np.flatnonzero(new))
            return X[new]
        return np.empty((0, self.dim))

    def _tell_stage(self, U: np.ndarray, y: np.ndarray) -> bool:
        """Hand the told batch to the stage that asked it; False when no stage asked it."""
        if self._child_pending is None:
            return False
        pending, self._child_pending = self._child_pending, None
        child = self.stages[-1][2]
        if not pending:
            child.tell(U, y)
            return True
        V, known, new, hits = pending
        hits = hits.copy()
        hits[new] = np.arange(self.n_told - len(U), self.n_told)
        self._child_maps[-1].extend(hits.tolist())
        known = known.copy()
        known[new] = y
        child.tell(V, known)
        return True

    def _known_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Told values at the points ``X`` (within ``DUPLICATE_TOL``; NaN where unknown), which
        points were told before and the told index of each (-1 where unknown), all of shape
        ``(len(X),)``."""
        U, y = self.U_told, self.y_told
        out = np.full(len(X), np.nan)
        found = np.zeros(len(X), dtype=bool)
        hits = np.full(len(X), -1, dtype=np.int64)
        for i, x in enumerate(X):
            hit = np.flatnonzero(np.max(np.abs(U - x), axis=1) <= DUPLICATE_TOL)
            if hit.size:
                out[i], found[i], hits[i] = y[hit[0]], True, hit[0]
        return out, found, hits

    def _stage_origin(self, origin: Origin) -> Origin:
        """An origin from the running stage, seen from this search: told indices, unit cube
        (box and path), stage number and restarts of this search."""
        lo, hi, _ = self.stages[-1]
        w = hi - lo
        whole = not np.any(lo) and np.all(hi == 1.0)
        box = origin.box
        if box is not None or not whole:
            box = np.vstack([lo, hi]) if box is None else lo + box * w
        return origin.remapped(self._child_maps[-1]).replace(
            path=None if origin.path is None else np.clip(lo + origin.path * w, 0.0, 1.0),
            box=box,
            stage=self._stage_base[-1] + origin.stage,
            restart=self.n_restarts + origin.restart,
            source=f"{origin.source} ({self._labels[-1]})",
        )
