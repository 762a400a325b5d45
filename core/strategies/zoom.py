"""Zoom stages: sparse grid searches in boxes around the incumbent, quadratic model steps between.

:class:`ZoomSearch` wraps :class:`~core.strategies.sparse_grid.SparseGridSearch` in a
multi-level scheme (in the spirit of trust regions and of SG++'s / Tasmanian's local
refinement):

1. *Stage 0*: a sparse grid search on the whole cube with ``1 - zoom_fraction`` of the planned
   budget.
2. *Zoom stages* (``zoom``): the rest of the plan split evenly; stage ``s`` is a sparse grid
   search of its own (same options) in a box around the best point told so far, of
   half-width ``0.5 * zoom_shrink**s`` or, with ``zoom_shrink="auto"``, the spread of the
   ``2 d + 1`` best told points around it (clipped to ``[0.5**(4 s + 1), 0.5**(s + 1)]``),
   shifted to stay inside the cube; with ``jitter`` the seed multiplies each box's half-width
   per dimension by ``exp(U(-ZOOM_JITTER, ZOOM_JITTER))``. Points told before (the box's
   centre at the incumbent) cost nothing. A stage needs ``2 d + n0 + n_candidates``
   evaluations to refine once (``n0`` initial grid points: 1 at ``initial_level=1``), so
   fewer stages run on a small plan (:attr:`zoom_budgets`); a stage before the last gets
   what its grid can use plus its candidates, the last the rest of the plan. With
   ``stage_model_steps`` each stage ends with model steps (3.) of its own until its model
   proposes nothing new.
3. *Quadratic model steps* (``model_steps``) before each zoom stage (at most the stage's budget
   over ``d + 1``, taken from it): single evaluations at the minimum of a least-squares
   quadratic of the told points nearest the incumbent
   (:func:`~core.strategies._trust_region.quadratic_model_step`), which follows a curved valley
   where re-centred boxes crawl. With ``final_model_steps`` the search ends with such steps
   until the model proposes a point already told.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core._validation import check_int
from core.grid import regular_grid_size
from core.records import Origin
from core.strategies._staged import StagedSearch
from core.strategies._trust_region import quadratic_model_step
from core.strategies.sparse_grid import SparseGridSearch, grid_defaults

__all__ = ["ZoomSearch", "ZOOM_JITTER", "check_open_unit", "check_zoom_options"]

#: Each zoom box's half-width is multiplied, per dimension, by ``exp(U(-ZOOM_JITTER,
#: ZOOM_JITTER))`` (a factor between about 0.78 and 1.28) when ``jitter`` is on, so the
#: stages' grids, and with them the run, differ between seeds.
ZOOM_JITTER = 0.25


def check_open_unit(value: Any, name: str, *, alternative: str | None = None) -> float:
    """``value`` as a float in the open interval (0, 1), else an error naming it (and the
    ``alternative`` value the caller accepts besides, e.g. ``"'auto'"``, in the rule)."""
    rule = "(0, 1)" if alternative is None else f"(0, 1) or {alternative}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a float in {rule}, got {name}={value!r}") from None
    if isinstance(value, bool) or not 0.0 < v < 1.0:
        raise ValueError(f"`{name}` must be in {rule}, got {name}={value!r}")
    return v


def check_zoom_options(
    zoom: Any, zoom_fraction: Any, zoom_shrink: Any, model_steps: Any
) -> tuple[int, float, float | str, int]:
    """The options of :class:`ZoomSearch`'s stages, checked.

    The one check of these options: :class:`ZoomSearch` and
    :class:`~core.strategies.composed.ComposedSparseGrid` (which builds a ZoomSearch for each
    global search of a run) both call it, so the rules and their messages are stated once.
    Each message states the rule and the value received, e.g. ``"`zoom_fraction` must be in
    (0, 1), got zoom_fraction=1.5"``.

    Parameters
    ----------
    zoom : int >= 0
        Number of zoom stages.
    zoom_fraction : float in (0, 1)
        Share of the planned budget for the zoom stages.
    zoom_shrink : float in (0, 1) or "auto"
        Half-width factor from one stage's box to the next, or ``"auto"``.
    model_steps : int >= 0
        Quadratic model steps before each zoom stage.

    Returns
    -------
    (zoom, zoom_fraction, zoom_shrink, model_steps) : (int, float, float or str, int)
        The options as the search uses them (``zoom_shrink`` a float or ``"auto"``).

    Raises
    ------
    TypeError
        An option of the wrong type (a float ``zoom``, a string ``zoom_shrink`` other than
        ``"auto"``, ...).
    ValueError
        An option out of its range.
    """
    zoom = check_int(zoom, "zoom", low=0)
    zoom_fraction = check_open_unit(zoom_fraction, "zoom_fraction")
    shrink: float | str = (
        "auto" if isinstance(zoom_shrink, str) and zoom_shrink == "auto"
        else check_open_unit(zoom_shrink, "zoom_shrink", alternative="'auto'")
    )
    return zoom, zoom_fraction, shrink, check_int(model_steps, "model_steps", low=0)


class ZoomSearch(StagedSearch):
    """Stage 0 on the whole cube, zoom stages around the incumbent, model steps between
    (module docstring).

    Parameters
    ----------
    dim, n_evals : int
        Dimension and budget (the stages may use all of it; see ``planned``).
    grid_options : dict
        Keyword options of every stage's :class:`SparseGridSearch`.
    zoom : int >= 0, default 4
        Number of zoom stages; 0 is stage 0 alone.
    zoom_fraction : float in (0, 1), default 0.4
        Share of the planned budget for the zoom stages.
    zoom_shrink : float in (0, 1) or "auto", default "auto"
        Half-width factor from one stage's box to the next (stage 0 is the unit cube), or
        boxes fitted to the spread of the best points.
    model_steps : int >= 0, default 6
        Quadratic model steps before each zoom stage.
    jitter : bool, default True
        Let the seed vary each box's width per dimension.
    stage_model_steps : bool, default True
        End every zoom stage with its own model steps.
    final_model_steps : bool, default True
        End the search with model steps until the model proposes nothing new.
    planned : int or None, default None
        The budget the stages are planned for (``None``: ``n_evals``): a search followed by
        another phase plans fewer evaluations than it may use.
    seed : int, numpy Generator or None
        Shared with the stages (box widths, randomized surrogate optimizers).

    Attributes
    ----------
    zoom_budgets : list of int
        The zoom stages' planned budgets.
    stage0_budget : int
        Stage 0's budget.
    zoom_stages : list of (lo, hi, search)
        The zoom stages begun (stage 0 is :attr:`stage0`).
    model_step_points : ndarray, shape (k, d)
        The points of this search's model steps, in order.
    """

    name = "zoom"
    title = "Zoom stages"
    summary = "sparse grid searches in boxes around the incumbent, quadratic model steps between"

    def __init__(
        self,
        dim: int,
        n_evals: int,
        *,
        grid_options: dict[str, Any],
        zoom: int = 4,
        zoom_fraction: float = 0.4,
        zoom_shrink: float | str = "auto",
        model_steps: int = 6,
        jitter: bool = True,
        stage_model_steps: bool = True,
        final_model_steps: bool = True,
        planned: int | None = None,
        seed: Any = None,
    ) -> None:
        super().__init__(dim, n_evals, seed=seed)
        self.grid_options = dict(grid_options)
        self.zoom, self.zoom_fraction, self.zoom_shrink, self.model_steps = check_zoom_options(
            zoom, zoom_fraction, zoom_shrink, model_steps)
        self.jitter, self.stage_model_steps = bool(jitter), bool(stage_model_steps)
        self.final_model_steps = bool(final_model_steps)
        #: The budget the stages are planned for.
        self.planned = self.n_evals if planned is None else int(planned)
        defaults = grid_defaults(self.grid_options.get("variant", "zoom"))
        self.optimizer = self.grid_options.get("optimizer") or defaults["optimizer"]
        accepted = SparseGridSearch._accepted_budget(self.dim, **self.grid_options)
        self._n0 = regular_grid_size(self.dim, self.grid_options.get("initial_level", 1))
        self.n_candidates = accepted - self._n0
        if self.zoom and self.optimizer == "none":
            raise ValueError(f"`zoom` must be 0 with optimizer='none', got zoom={zoom!r}")
        self.zoom_budgets = self._split_zoom_budget()
        self.stage0_budget = self.planned - sum(self.zoom_budgets)
        #: Stage 0: the sparse grid search on the whole cube.
        self.stage0 = SparseGridSearch(self.dim, self.stage0_budget, seed=self._rng,
                                       **self.grid_options)
        self._add_stage(np.zeros(self.dim), np.ones(self.dim), self.stage0, None)
        self._done = False
        self._steps_done = 0  # quadratic model steps before the next zoom stage
        self._step_pending = False
        self._step_blocked = False
        self.model_step_points = np.empty((0, self.dim))

    def _split_zoom_budget(self) -> list[int]:
        """Budgets of the zoom stages: ``zoom_fraction`` of the plan split evenly (the last
        stage takes the rounding rest), as many stages as get ``2 d + n0 + n_candidates``
        each."""
        if not self.zoom:
            return []
        total = int(round(self.zoom_fraction * self.planned))
        need = 2 * self.dim + self._n0 + self.n_candidates
        if self.planned - total < self._n0 + self.n_candidates:
            return []
        k = min(self.zoom, total // need)
        if k == 0:
            return []
        return [total // k] * (k - 1) + [total - (total // k) * (k - 1)]

    @property
    def zoom_stages(self) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """The zoom stages begun: ``(lo, hi, search)`` each."""
        return self.stages[1:]

    @property
    def all_candidates(self) -> list[Any]:
        """Stage 0's candidates, then each zoom stage's mapped through its box ``[lo, hi]``
        (``u`` and ``path``), with ``" (zoom s)"`` appended to the source of stage ``s``."""
        out = list(self.stage0.candidates)
        for s, (lo, hi, child) in enumerate(self.zoom_stages, start=1):
            out += [c.mapped(lo, hi, f"{c.source} (zoom {s})") for c in child.all_candidates]
        return out

    @property
    def phase(self) -> str:
        """Stage 0's phase while it runs, then ``"zoom"`` (zoom stages and model steps) and
        ``"done"``."""
        if self.stop_reason is not None and self._pending is None:
            return "done"
        if len(self.stages) == 1 and self.stage0.stop_reason is None:
            return self.stage0.phase
        return "zoom"

    # -- ask/tell --------------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        while True:
            U = self._ask_stage(max_points)
            if len(U):
                return U
            if len(self.zoom_stages) >= len(self.zoom_budgets) or self.best is None:
                break
            if self._steps_done < self._steps_allowed():
                x = self._model_step()
                if x is not None:
                    self._steps_done += 1
                    return x
                self._step_blocked = True  # no step: the stage starts
            self._start_zoom_stage()
        if self.final_model_steps and self.optimizer != "none" and self.best is not None:
            x = self._model_step()
            if x is not None:
                return x
        self._say_why(self.why_done())
        self._done = True
        return np.empty((0, self.dim))

    def why_done(self) -> str:
        """Why the search ends with budget left (stage 0's grid and candidates)."""
        return self.stage0.why_done()

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if self._step_pending:
            self._step_pending = False
            return
        self._tell_stage(U, y)

    def _stop(self) -> str | None:
        return "exhausted" if self._done else None

    def _steps_allowed(self) -> int:
        """Quadratic model steps before the next zoom stage: ``model_steps``, at most the
        stage's budget over ``d + 1``."""
        if self._step_blocked:
            return 0
        return min(self.model_steps, self.zoom_budgets[len(self.zoom_stages)] // (self.dim + 1))

    def _model_step(self) -> np.ndarray | None:
        """A quadratic model step as a batch of one (its origin set), or None when the model
        proposes none."""
        step = quadratic_model_step(self.U_told, self.y_told)
        if step is None:
            return None
        x, predicted = step
        self.model_step_points = np.vstack([self.model_step_points, x])
        self._set_origins([Origin(
            "model_step", predicted, "local_quadratic", np.vstack([self.best[0], x]),
            source="quadratic model step",
        )])
        self._step_pending = True
        return x[None, :]

    def _start_zoom_stage(self) -> None:
        s = len(self.zoom_stages) + 1
        c = self.best[0]
        if self.zoom_shrink == "auto":
            h = self._auto_half_width(c, s)
        else:
            h = np.full(self.dim, 0.5 * self.zoom_shrink**s)
        if self.jitter:  # the seed's part: each box's width per dimension
            h = np.minimum(h * np.exp(self._rng.uniform(-ZOOM_JITTER, ZOOM_JITTER, self.dim)),
                           0.5)
        lo = np.clip(c - h, 0.0, 1.0 - 2.0 * h)
        hi = lo + 2.0 * h
        budget = self.zoom_budgets[s - 1] - self._steps_done
        self._steps_done, self._step_blocked = 0, False
        if s == len(self.zoom_budgets):  # the last stage takes the rest of the plan
            budget = max(self.planned - self.n_told, self._n0 + self.n_candidates)
        centre = lo + 0.5 * (hi - lo)
        free = int(self._known_values(centre[None, :])[1][0])
        if s < len(self.zoom_budgets):  # what its grid cannot use goes to the next stage
            k = (budget + free - self.n_candidates - self._n0) // (2 * self.dim)
            budget = self._n0 + 2 * self.dim * max(k, 0) + self.n_candidates - free
        if self.stage_model_steps:
            child: Any = ZoomSearch(self.dim, budget + free, grid_options=self.grid_options,
                                    zoom=0, jitter=self.jitter, seed=self._rng)
        else:
            child = SparseGridSearch(self.dim, budget + free, seed=self._rng,
                                     **self.grid_options)
        self._add_stage(lo, hi, child, f"zoom {s}")

    def _auto_half_width(self, c: np.ndarray, s: int) -> np.ndarray:
        """Per-dimension half-width of an automatic zoom box: the spread of the ``2 d + 1`` best
        told points around the incumbent ``c``, at most ``0.5 * 0.5**s`` and at least
        ``0.5 * 0.5**(4 s)``."""
        U, y = self.U_told, self.y_told
        finite = np.flatnonzero(np.isfinite(y))
        top = finite[np.argsort(y[finite], kind="stable")[: 2 * self.dim + 1]]
        h = np.max(np.abs(U[top] - c), axis=0)
        return np.clip(h, 0.5 * 0.5 ** (4 * s), 0.5 * 0.5**s)
