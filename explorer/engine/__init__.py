"""The explorer's computation: runs in worker threads, races in a process pool (no Panel, Bokeh
or param here, so everything is testable and usable from notebooks).

- :mod:`~explorer.engine.record`: :class:`RunRecord`, one run as core's batches plus the arrays
  the views draw, and :class:`RunKey`, what defines a run.
- :mod:`~explorer.engine.worker`: :class:`RunWorker` drives :func:`core.run.iterate` in a thread
  (the only place the explorer runs a strategy) and computes model images.
- :mod:`~explorer.engine.store`: :class:`RunStore`, finished cheap runs shared by sessions.
- :mod:`~explorer.engine.background`: the race and the γ strip (process pool), their cache.
- :mod:`~explorer.engine.truth`: the true landscape on a slice; :mod:`~explorer.engine.units`:
  unit cube to native axes; :mod:`~explorer.engine.colors` and :mod:`~explorer.engine.ticks`:
  colour scales and axis ticks.
"""

from __future__ import annotations

from explorer.engine.background import (
    RaceResult,
    RaceService,
    gamma_strip,
    make_background_pool,
    make_training_executor,
    race_result,
    summarize,
)
from explorer.engine.colors import ColorScale
from explorer.engine.record import (
    ROLE_CANDIDATE,
    ROLE_GRID,
    ROLE_SAMPLE,
    Frame,
    RunKey,
    RunRecord,
)
from explorer.engine.store import RunStore
from explorer.engine.truth import LandscapeObjective, landscape_objective, truth_slice
from explorer.engine.units import (
    MODEL_RESOLUTION,
    AxisSpec,
    axis_spec,
    best_prefix,
    native_coordinates,
    slice_points,
)
from explorer.engine.worker import RunWorker, make_strategy_for, record_run

__all__ = [
    "MODEL_RESOLUTION",
    "ROLE_CANDIDATE",
    "ROLE_GRID",
    "ROLE_SAMPLE",
    "AxisSpec",
    "ColorScale",
    "Frame",
    "LandscapeObjective",
    "RaceResult",
    "RaceService",
    "RunKey",
    "RunRecord",
    "RunStore",
    "RunWorker",
    "axis_spec",
    "best_prefix",
    "gamma_strip",
    "landscape_objective",
    "make_background_pool",
    "make_strategy_for",
    "make_training_executor",
    "native_coordinates",
    "race_result",
    "record_run",
    "slice_points",
    "summarize",
    "truth_slice",
]
