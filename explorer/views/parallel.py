"""Parallel coordinates: every evaluation as one line across all hyperparameters and the value.

Each hyperparameter is a vertical axis drawn in unit-cube coordinates with ticks in native units
(log parameters get decade ticks, integers whole numbers, categoricals their choices), so a log
axis needs no special axis type; the last axis is the objective's value on the same colour scale
as the landscape views. Lines are coloured by value (dark = low), failed evaluations are grey
and end at the last hyperparameter, and the best evaluation is drawn on top, thick.

Brushing: drag a box over an axis (the box-select tool is the default drag). The browser turns
the box into a range of that axis in a small "brush" source (one row per axis; a click without
a drag clears that axis); the server keeps the lines inside every brush in the "kept" source and
greys the others. Everything is Bokeh's own tools plus one short ``CustomJS``: no compiled
extension, nothing loaded from outside.

The arrays behind the sources (positions, brush mask, colours, ticks) are computed by the pure
functions of :mod:`explorer.views.parallel_data`; this module owns the figure and its sources.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.events import SelectionGeometry
from bokeh.models import BoxSelectTool, ColumnDataSource, CustomJS, FixedTicker, Range1d

from core.space import SearchSpace
from explorer.clock import held
from explorer.engine import ColorScale
from explorer.views.parallel_data import (
    FAILED_COLOR,
    axis_positions,
    axis_ticks,
    brush_mask,
    brushes_from_columns,
    line_colors,
    line_columns,
    line_positions,
)
from explorer.views.theme import BEST_COLOR, FONT, TEXT, make_figure

__all__ = ["FAILED_COLOR", "MAX_DIM", "MIN_DIM", "ParallelCoordinatesView", "ParallelView",
           "axis_positions", "brush_mask"]

#: Dimensions for which the page shows the view beside the 2-D slice.
MIN_DIM, MAX_DIM = 3, 9
#: Pixels between two axes at most.
AXIS_SPACING = 92
#: Seconds between two redraws of all lines while the player plays.
PLAYING_PERIOD = 0.5
MUTED_COLOR = "#dde2e7"
#: Half the width of an axis's brush box, in axis spacings.
BRUSH_HALF_WIDTH = 0.09
#: A box shorter than this (in axis units) is a click: it clears that axis's brush.
MIN_BRUSH = 0.01

_BRUSH_JS = """
const g = cb_obj.geometry;
if (g.type !== 'rect') { return; }
const k = Math.round((g.x0 + g.x1) / 2);
if (!(k >= 0 && k < n_axes)) { return; }
const lo = Math.max(0, Math.min(g.y0, g.y1)), hi = Math.min(1, Math.max(g.y0, g.y1));
const old = brush.data;
const axis = [], low = [], high = [], left = [], right = [];
for (let i = 0; i < old.axis.length; i++) {
  if (old.axis[i] !== k) {
    axis.push(old.axis[i]); low.push(old.lo[i]); high.push(old.hi[i]);
    left.push(old.left[i]); right.push(old.right[i]);
  }
}
if (hi - lo >= min_brush) {
  axis.push(k); low.push(lo); high.push(hi); left.push(k - half); right.push(k + half);
}
brush.data = {axis: axis, lo: low, hi: high, left: left, right: right};
"""


class ParallelView(pn.viewable.Viewer):
    """Parallel-coordinates plot of a run's evaluations, with brushing.

    Parameters
    ----------
    space : SearchSpace
        The hyperparameters (one axis each, in this order).
    metric : str
        Name of the value axis (e.g. ``"f(x)"``, ``"validation MSE"``).
    """

    log_value = param.Boolean(default=True, label="Log value axis",
                              doc="Value axis and colours on a log scale above the best value.")
    brushes = param.Dict(default={}, constant=True,
                         doc="Axis index -> (low, high) in axis units, set by brushing.")
    n_kept = param.Integer(default=0, constant=True, doc="Evaluations inside every brush.")
    n_total = param.Integer(default=0, constant=True, doc="Evaluations shown.")

    def __init__(self, space: SearchSpace, metric: str = "value", *, height: int = 260,
                 **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(space, SearchSpace):
            raise TypeError(f"`space` must be a core.space.SearchSpace, got {space!r}")
        self.space = space
        self.metric = str(metric)
        self._names = [*space.names, self.metric]
        m = len(self._names)
        self._U = np.empty((0, space.dim))
        self._Y = np.empty((0, m))
        self._values = np.empty(0)
        self.fig = make_figure(
            title="All evaluations (drag over an axis to filter)",
            width=max(300, AXIS_SPACING * m) + 60, height=height + 60,
            sizing_mode="stretch_width", max_width=AXIS_SPACING * m + 60, min_width=300,
            x_range=Range1d(-0.45, m - 0.55), y_range=Range1d(-0.04, 1.04),
            tools="reset,save", toolbar_location="above", name="parallel",
        )
        self.fig.yaxis.visible = False
        self.fig.ygrid.visible = False
        self.fig.xgrid.visible = False
        self.fig.xaxis.ticker = FixedTicker(ticks=list(range(m)))
        self.fig.xaxis.major_label_overrides = {k: n for k, n in enumerate(self._names)}
        self.fig.xaxis.major_label_text_font_size = "12px"
        self.fig.xaxis.major_label_text_color = TEXT
        self.fig.min_border_left = 50
        self.fig.min_border_right = 20
        self.fig.segment(x0=list(range(m)), x1=list(range(m)), y0=[0.0] * m, y1=[1.0] * m,
                         line_color="#7b8794", line_width=1)
        self.muted = ColumnDataSource({"xs": [], "ys": []}, name="parallel-muted")
        self.kept = ColumnDataSource({"xs": [], "ys": [], "color": [], "index": []},
                                     name="parallel-kept")
        self.best = ColumnDataSource({"xs": [], "ys": []}, name="parallel-best")
        self.fig.multi_line("xs", "ys", source=self.muted, line_color=MUTED_COLOR, line_width=1)
        self.fig.multi_line("xs", "ys", source=self.kept, line_color="color", line_width=1.3,
                            line_alpha=0.75)
        self.fig.multi_line("xs", "ys", source=self.best, line_color="#1f2933", line_width=4.5)
        self.fig.multi_line("xs", "ys", source=self.best, line_color=BEST_COLOR, line_width=2.5)
        self.ticks = ColumnDataSource({"x": [], "y": [], "text": []}, name="parallel-ticks")
        self.fig.scatter("x", "y", source=self.ticks, marker="dash", size=6, angle=0.0,
                         line_color="#7b8794")
        self.fig.text("x", "y", text="text", source=self.ticks, x_offset=-5,
                      text_align="right", text_baseline="middle", text_font_size="10px",
                      text_color="#3e4c59", text_font={"value": FONT},
                      background_fill_color="white", background_fill_alpha=0.8)
        self.brush = ColumnDataSource(
            {"axis": [], "lo": [], "hi": [], "left": [], "right": []}, name="parallel-brush"
        )
        self.fig.quad(left="left", right="right", bottom="lo", top="hi", source=self.brush,
                      fill_color="#4c78a8", fill_alpha=0.18, line_color="#4c78a8",
                      line_width=1.5)
        # the box-select tool needs a target renderer; an invisible one keeps lines unselected
        anchor = self.fig.scatter(x=list(range(m)), y=[0.5] * m, alpha=0.0, size=1)
        tool = BoxSelectTool(renderers=[anchor], description="Brush an axis")
        self.fig.add_tools(tool)
        self.fig.toolbar.active_drag = tool
        self.fig.js_on_event(SelectionGeometry, CustomJS(
            args={"brush": self.brush, "n_axes": m, "half": BRUSH_HALF_WIDTH,
                  "min_brush": MIN_BRUSH},
            code=_BRUSH_JS,
        ))
        self.brush.on_change("data", self._on_brush_data)
        self._caption = pn.pane.HTML("", margin=(0, 10), sizing_mode="stretch_width")
        self._clear = pn.widgets.Button(label="Clear brushes", width=110, margin=(0, 10))
        self._clear.on_click(lambda _e: self.clear_brushes())
        self._pane = pn.pane.Bokeh(self.fig, sizing_mode="stretch_width")
        self._draw_ticks(None)
        self._update_caption()

    # -- public ----------------------------------------------------------------------------
    def update(self, U: np.ndarray, values: np.ndarray) -> None:
        """Show these evaluations (replacing what was shown).

        Parameters
        ----------
        U : ndarray, shape (n, d)
            Evaluated points in the unit cube, in evaluation order.
        values : ndarray, shape (n,)
            Their values (NaN for a failed evaluation).
        """
        U = np.asarray(U, dtype=np.float64).reshape(-1, self.space.dim)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) != len(U):
            raise ValueError(
                f"`values` must have one entry per point, got {len(values)} values for "
                f"{len(U)} points"
            )
        self._U = U
        self._values = values
        self._redraw()

    def set_brushes(self, brushes: dict[int, tuple[float, float]]) -> None:
        """Brush axes from Python: axis index (or name) -> ``(low, high)`` in axis units."""
        rows: dict[int, tuple[float, float]] = {}
        for key, (lo, hi) in brushes.items():
            k = self._names.index(key) if isinstance(key, str) else int(key)
            if not 0 <= k < len(self._names):
                raise ValueError(f"brush axis must be in [0, {len(self._names) - 1}], got {k}")
            rows[k] = (float(min(lo, hi)), float(max(lo, hi)))
        ks = sorted(rows)
        self.brush.data = {
            "axis": ks, "lo": [rows[k][0] for k in ks], "hi": [rows[k][1] for k in ks],
            "left": [k - BRUSH_HALF_WIDTH for k in ks],
            "right": [k + BRUSH_HALF_WIDTH for k in ks],
        }  # the source's change callback applies them

    def clear_brushes(self) -> None:
        """Remove every brush."""
        self.set_brushes({})

    def kept_indices(self) -> np.ndarray:
        """Indices (into the shown evaluations) of the lines inside every brush."""
        return np.flatnonzero(brush_mask(self._Y, self.brushes))

    # -- drawing ---------------------------------------------------------------------------
    def _scale(self) -> ColorScale:
        return ColorScale.from_values(self._values, bool(self.log_value))

    @param.depends("log_value", watch=True)
    def _redraw(self) -> None:
        scale = self._scale() if len(self._values) else None
        self._Y = line_positions(self.space, self._U, self._values, scale)
        self._draw_ticks(scale)
        self._apply_brushes()

    def _line_columns(self, rows: np.ndarray) -> dict[str, list]:
        return line_columns(self._Y, rows)

    def _apply_brushes(self) -> None:
        brushes = brushes_from_columns(self.brush.data)
        keep = brush_mask(self._Y, brushes) if brushes else np.ones(len(self._Y), dtype=bool)
        kept = np.flatnonzero(keep)
        self.muted.data = self._line_columns(np.flatnonzero(~keep))
        self.kept.data = {**self._line_columns(kept), "color": line_colors(self._Y, kept),
                          "index": kept.tolist()}
        ok = np.isfinite(self._values)
        if ok.any():
            b = int(np.argmin(np.where(ok, self._values, np.inf)))
            self.best.data = self._line_columns(np.array([b]))
        else:
            self.best.data = {"xs": [], "ys": []}
        with param.edit_constant(self):
            self.param.update(brushes=brushes, n_kept=int(keep.sum()), n_total=len(keep))
        self._update_caption()

    def _draw_ticks(self, scale: ColorScale | None) -> None:
        self.ticks.data = axis_ticks(self.space, scale)

    def _on_brush_data(self, _attr: str, _old: Any, _new: Any) -> None:
        self._apply_brushes()

    def _update_caption(self) -> None:
        n, k = self.n_total, self.n_kept
        if not self.brushes:
            text = f"{n} evaluations; drag over an axis to keep the lines through a range"
        else:
            names = ", ".join(self._names[a] for a in sorted(self.brushes))
            text = f"{k} of {n} evaluations inside the brushes on {names}"
        self._caption.object = (
            f"<span class='parallel-caption' style='font-size:12.5px;color:#52606d'>"
            f"{html.escape(text)}</span>"
        )

    def __panel__(self) -> Any:
        return pn.Column(self._pane, pn.Row(self._clear, self._caption), margin=0,
                         sizing_mode="stretch_width")


class ParallelCoordinatesView(pn.viewable.Viewer):
    """The parallel-coordinates view of a session: the evaluations up to the shown step.

    Shown for spaces of :data:`MIN_DIM` to :data:`MAX_DIM` hyperparameters (below that the
    2-D slice shows everything; above, lines crowd). The axes follow the session's objective;
    brushes are kept while the run plays and cleared when the objective changes.
    """

    session = param.Parameter(doc="The explorer.model.Session whose run is drawn.")
    visible = param.Boolean(default=False, doc="Whether the objective's dimension is shown.")

    def __init__(self, session: Any, **params: Any) -> None:
        super().__init__(session=session, **params)
        self._holder = pn.Column(margin=0, sizing_mode="stretch_width")
        self._space: Any = None
        self.view: ParallelView | None = None
        self._shown = (None, -1)
        self._shown_run: Any = None
        self._drawn_at = -math.inf
        self._on_change()

    @param.depends("session.run", "session.step", "session.objective", "session.playing",
                   watch=True)
    @held
    def _on_change(self) -> None:
        s = self.session
        objective = s.objective_obj
        space = objective.space
        d = space.dim
        self.visible = MIN_DIM <= d <= MAX_DIM
        self._holder.visible = self.visible
        if not self.visible:
            self._holder.objects = []
            self.view, self._space = None, None
            return
        if space != self._space or self.view is None:
            self._space = space
            self.view = ParallelView(space, str(getattr(objective, "metric", "value")))
            self._holder.objects = [self.view]
            self._shown = (None, -1)
        run, f = s.run, s.frame
        end = f.end if f is not None else 0
        if (id(run), end) == self._shown:
            return
        now = time.perf_counter()
        if s.playing and run is self._shown_run and now - self._drawn_at < PLAYING_PERIOD:
            return  # while playing, all lines are redrawn a few times a second, not per frame
        self._shown, self._shown_run, self._drawn_at = (id(run), end), run, now
        if run is None or not end:
            self.view.update(np.empty((0, d)), np.empty(0))
        else:
            self.view.update(run.U[:end], run.y[:end])

    def __panel__(self) -> Any:
        return self._holder
