"""Runs behind the explorer: computed in worker threads, read by the event loop (rule 12).

No Panel, Bokeh or param here, so everything is testable and usable from notebooks.

- :class:`RunData` is the append-only record of one run: points, values, plotting coordinates,
  one :class:`Frame` per evaluated batch (one Novak-Ritter refinement for sparse grids), and a
  cache of 2-D model slices (sparse-grid interpolant or GP posterior mean) per step.
- :class:`RunWorker` computes a run in a daemon thread through :func:`core.run.iterate` (the only
  code that evaluates objectives), then precomputes the model slices, the step the viewer wants
  first. Cheap objectives run to the end at once and are replayed; neural-network objectives run
  live, batch by batch, only while the viewer lets them (:meth:`RunWorker.allow`).
- :class:`RunStore` shares finished cheap runs between sessions (same key, same run).
- :func:`race_result` and :func:`gamma_strip` are pure functions submitted to a small
  server-wide process pool (:func:`background_pool`) so that Bayesian optimization's GP fits
  never hold the server's GIL.

Thread safety: one writer per :class:`RunData`. Arrays are preallocated; the writer fills the
rows of a batch and then appends its :class:`Frame`, so a reader that only looks at rows below
``frames[k].end`` never sees a half-written batch.
"""

from __future__ import annotations

from explorer.engine.background import (
    TRAINING_WORKERS,
    RaceResult,
    RaceService,
    background_pool,
    gamma_strip,
    race_result,
    submit,
    summarize,
    training_executor,
)
from explorer.engine.record import ROLE_CANDIDATE, ROLE_GRID, ROLE_SAMPLE, Frame, RunData, RunKey
from explorer.engine.truth import LandscapeObjective, landscape_objective, truth_slice
from explorer.engine.units import (
    MODEL_RESOLUTION,
    AxisSpec,
    axis_spec,
    best_prefix,
    native_coordinates,
    slice_points,
)
from explorer.engine.worker import RunStore, RunWorker, make_strategy_for

__all__ = [
    "MODEL_RESOLUTION",
    "ROLE_CANDIDATE",
    "ROLE_GRID",
    "ROLE_SAMPLE",
    "TRAINING_WORKERS",
    "AxisSpec",
    "Frame",
    "LandscapeObjective",
    "RaceResult",
    "RaceService",
    "RunData",
    "RunKey",
    "RunStore",
    "RunWorker",
    "axis_spec",
    "background_pool",
    "best_prefix",
    "gamma_strip",
    "landscape_objective",
    "make_strategy_for",
    "native_coordinates",
    "race_result",
    "slice_points",
    "submit",
    "summarize",
    "training_executor",
    "truth_slice",
]
