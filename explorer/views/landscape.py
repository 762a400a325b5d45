"""Truth and model heatmaps with the evaluated points (plain Bokeh, updated in place).

Both figures draw in the unit square of the two shown hyperparameters, with native-unit ticks,
so log and integer parameters need no special axis types. They share their ranges (pan one, the
other follows), one colour mapper (the same scale for truth and model) and the point sources
(one ``stream`` updates both). The model image marks surrogate values below the lowest observed
value in their own colour (extrapolation, not an optimum), on the error view too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    FixedTicker,
    HoverTool,
    Label,
    LinearColorMapper,
    Range1d,
)
from bokeh.transform import transform

from core.space import Int
from explorer.clock import held
from explorer.engine import ColorScale, axis_spec
from explorer.engine.colors import BELOW, colorbar_ticks, linear_ticks
from explorer.engine.ticks import native_ticks
from explorer.model import Session
from explorer.views.tables import metric_label
from explorer.views.theme import (
    BEST_COLOR,
    ERROR_PALETTE,
    FONT,
    LANDSCAPE_PALETTE,
    LEVEL_PALETTE,
    NEWEST_COLOR,
    ORDER_PALETTE,
    TEXT,
    make_figure,
)
from explorer.views.timeline import Timeline

__all__ = ["ColorScale", "LandscapeView", "colorbar_ticks", "linear_ticks", "point_columns"]

_MARKERS = {0: "circle", 1: "circle", 2: "diamond"}
_MARKER_COLUMNS = ("x", "y", "marker", "size", "fill", "fill_alpha", "line", "line_width")
_MARKER_STYLES = {  # marker, size, fill, fill_alpha, line, line_width
    "newest": ("circle", 19, "#ffffff", 0.0, NEWEST_COLOR, 3.0),
    "refined": ("square", 22, "#ffffff", 0.0, "#00d5ff", 3.5),
    "best": ("star", 28, BEST_COLOR, 1.0, "#1f2933", 1.5),
}
#: Size (px) of an evaluation's dot on the truth, and of an interpolation node on the model.
POINT_SIZE, NODE_SIZE = 11, 5
#: Design sizes (px) of the two figures. The model shares the truth's axes (the same ranges),
#: so it draws no y axis, and its colour bar lies under it: the truth is wider by its y axis
#: only. Both scale with the page's width, keeping these proportions (the pair's flex grows
#: them alike, so their heights stay equal, and so do their plot areas).
TRUTH_SIZE, MODEL_SIZE = (372, 300), (324, 300)
#: Space (px) under both plot areas: the x axis, and on the model its ticks and colour bar
#: (its x axis is the truth's: no label); the same on both figures, so their plot areas have
#: the same height. Normal and presentation mode.
BOTTOM_BORDER = {False: 84, True: 96}


def empty_image() -> dict[str, list]:
    """No image (zero rows): nothing is drawn."""
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []}


def image_data(Z: np.ndarray | None) -> dict[str, list]:
    if Z is None:
        return empty_image()
    return {"image": [np.asarray(Z)], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]}


def _set_bar_ticks(bar: ColorBar, scale: ColorScale) -> None:
    """Ticks of a colour bar; the ticker object stays (a new model would make Bokeh re-index
    every model of the page)."""
    ticks = colorbar_ticks(scale) if scale.log else linear_ticks(scale)
    bar.ticker.ticks = list(ticks)
    bar.major_label_overrides = ticks


def _config_text(space: Any, u: np.ndarray, digits: int = 4) -> str:
    cfg = space.from_unit(np.clip(u, 0, 1)[None, :])[0]
    return ", ".join(
        f"{k}={v:.{digits}g}" if isinstance(v, float) else f"{k}={v}" for k, v in cfg.items()
    )


def point_columns(run: Any, a: int, b: int, dims: tuple[int, int], color_by: str) -> dict:
    """Columns of the points source for rows ``a..b-1`` of ``run`` (hover text included)."""
    U = run.U[a:b]
    labels = [_config_text(run.space, u) for u in U] if b - a <= 64 else [""] * (b - a)
    level = run.level_sum[a:b].copy()
    order = np.arange(a, b)
    return {
        "x": U[:, dims[0]].copy(), "y": U[:, dims[1]].copy(),
        "c": level if color_by == "level" else order,
        "level": level, "order": order, "value": run.y[a:b].copy(),
        "marker": [_MARKERS[int(r)] for r in run.role[a:b]], "label": labels,
    }


def frame_of_rows(run: Any, a: int, b: int) -> list[int]:
    """The frame (step) in which each of the rows ``a..b-1`` of ``run`` was evaluated."""
    out: list[int] = []
    for k, f in enumerate(run.frames):
        if f.end <= a:
            continue
        if f.start >= b:
            break
        out += [k] * (min(f.end, b) - max(f.start, a))
    return out


def marker_columns(run: Any, k0: int, k1: int, dims: tuple[int, int]) -> tuple[dict, dict]:
    """Marker rows (newest batch, refined point, best point) and optimizer paths of the frames
    ``k0..k1-1``, each row with its ``step``."""
    dx, dy = dims
    xs: list[float] = []
    ys: list[float] = []
    kinds: list[str] = []
    steps: list[int] = []
    pxs: list[list[float]] = []
    pys: list[list[float]] = []
    psteps: list[int] = []
    for k in range(k0, k1):
        f = run.frames[k]
        rows = list(range(f.start, f.end))
        if f.refinement is not None:
            rows.append(int(f.refinement.refined))
        if f.best >= 0:
            rows.append(f.best)
        n_new = f.end - f.start
        kinds += ["newest"] * n_new
        if f.refinement is not None:
            kinds.append("refined")
        if f.best >= 0:
            kinds.append("best")
        xs += run.U[rows, dx].tolist()
        ys += run.U[rows, dy].tolist()
        steps += [k] * len(rows)
        for r in range(f.start, f.end):
            path = run.paths.get(r)
            if path is not None:
                pxs.append(path[:, dx].tolist())
                pys.append(path[:, dy].tolist())
                psteps.append(k)
    cols: dict[str, list] = {"x": xs, "y": ys, "kind": kinds, "step": steps}
    for j, name in enumerate(_MARKER_COLUMNS[2:]):
        cols[name] = [_MARKER_STYLES[kind][j] for kind in kinds]
    return cols, {"xs": pxs, "ys": pys, "step": psteps}


def _label() -> Label:
    return Label(
        x=0.5, y=0.5, x_units="data", y_units="data", text="", text_align="center",
        text_baseline="middle", text_font=FONT, text_font_size="13px", text_color=TEXT,
        background_fill_color="white", background_fill_alpha=0.85, visible=False,
    )


def _bar(mapper: LinearColorMapper, title: str, visible: bool = True) -> ColorBar:
    """A horizontal colour bar (under the model's plot area, as wide as it)."""
    return ColorBar(
        color_mapper=mapper, orientation="horizontal", height=10, width="auto",
        title=title, ticker=FixedTicker(ticks=[]),
        title_text_font_size="12px", title_text_font_style="normal",
        major_label_text_font_size="12px", label_standoff=4, padding=4, visible=visible,
    )


class LandscapeView(pn.viewable.Viewer):
    """The truth heatmap with the points, and the model heatmap beside it.

    Sources: ``points`` (one row per evaluation, streamed), ``markers`` (newest batch, refined
    point, best point), ``paths``, each row with its ``step``: the page shows the rows of the
    shown step (:mod:`explorer.views.timeline`); ``truth_image``, ``model_image``,
    ``error_image`` (colour indices) are sent by the server.
    """

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, timeline: Timeline | None = None,
                 **params: Any) -> None:
        super().__init__(session=session, **params)
        timeline = timeline or Timeline()
        self.timeline = timeline
        self.truth_image = ColumnDataSource(empty_image(), name="truth-image")
        self.model_image = ColumnDataSource(empty_image(), name="model-image")
        self.error_image = ColumnDataSource(empty_image(), name="error-image")
        self.points = ColumnDataSource(
            {k: [] for k in ("x", "y", "c", "level", "order", "value", "marker", "label",
                             "step")},
            name="points",
        )
        self.markers = ColumnDataSource(
            {k: [] for k in _MARKER_COLUMNS} | {"kind": [], "step": []}, name="markers"
        )
        # the surrogate optimizer's paths to the candidates of the shown step (if recorded)
        self.paths = ColumnDataSource({"xs": [], "ys": [], "step": []}, name="optimizer-paths")
        self.mapper = LinearColorMapper(palette=list(LANDSCAPE_PALETTE), low=0, high=255)
        self.error_mapper = LinearColorMapper(palette=list(ERROR_PALETTE), low=0, high=255)
        self.point_mapper = LinearColorMapper(palette=list(LEVEL_PALETTE), low=1, high=12)
        xr, yr = Range1d(0, 1, bounds=(0, 1)), Range1d(0, 1, bounds=(0, 1))
        self.truth = self._figure("True loss landscape", xr, yr, *TRUTH_SIZE)
        self.model = self._figure("Sparse-grid surrogate", xr, yr, *MODEL_SIZE)
        self.truth.name, self.model.name = "truth-figure", "model-figure"
        img = {"image": "image", "x": "x", "y": "y", "dw": "dw", "dh": "dh", "level": "image"}
        self.truth_renderer = self.truth.image(source=self.truth_image, color_mapper=self.mapper,
                                               **img)
        self.model_renderer = self.model.image(source=self.model_image, color_mapper=self.mapper,
                                               **img)
        self.error_renderer = self.model.image(source=self.error_image,
                                               color_mapper=self.error_mapper, visible=False,
                                               **img)
        self.colorbar = _bar(self.mapper, "f(x)")
        self.error_colorbar = _bar(self.error_mapper, "|truth − surrogate|", visible=False)
        self.model.add_layout(self.colorbar, "below")
        self.model.add_layout(self.error_colorbar, "below")
        # the model's y axis is the truth's (shared ranges): its ticks only cost width
        self.model.yaxis.visible = False
        self.set_bottom_border(False)
        self.message = _label()
        self.model.add_layout(self.message)
        self.truth.scatter("x", "y", source=self.points, marker="marker", size=POINT_SIZE,
                           fill_color=transform("c", self.point_mapper), line_color="#1f2933",
                           line_width=1.0, name="points-truth", view=timeline.view("upto"))
        # the model's copy of the points: small dark dots (the interpolation nodes)
        self.model.scatter("x", "y", source=self.points, size=NODE_SIZE, fill_color="#1f2933",
                           line_color=None, fill_alpha=0.75, view=timeline.view("upto"))
        for fig in (self.truth, self.model):
            fig.multi_line("xs", "ys", source=self.paths, line_color="#ff2fa0", line_width=2,
                           line_dash="dashed", view=timeline.view("at"))
            fig.scatter("x", "y", source=self.markers, marker="marker", size="size",
                        fill_color="fill", fill_alpha="fill_alpha", line_color="line",
                        line_width="line_width", view=timeline.view("at"))
        self.truth.add_tools(HoverTool(
            renderers=[self.truth.renderers[1]],
            tooltips=[("config", "@label"), ("f", "@value{0.000g}"), ("level |l|₁", "@level"),
                      ("evaluation", "@order")],
        ))
        self._run: Any = None
        self._sent = 0
        self._color_by = "order"
        self._on_run()
        self._on_truth()
        self._on_surface()

    @staticmethod
    def _figure(title: str, xr: Range1d, yr: Range1d, width: int, height: int) -> Any:
        # scaled with the width of the page (the aspect ratio of width and height kept)
        fig = make_figure(
            title=title, x_range=xr, y_range=yr, width=width, height=height,
            sizing_mode="scale_width", tools="pan,wheel_zoom,box_zoom,reset",
            toolbar_inner=True,  # over the frame when the pointer is there: no row of its own
        )
        fig.xaxis[0].ticker = FixedTicker(ticks=[0, 0.5, 1])
        fig.yaxis[0].ticker = FixedTicker(ticks=[0, 0.5, 1])
        fig.grid.visible = False
        fig.min_border_left = 12  # the first and last x tick labels' halves
        fig.min_border_right = 12
        return fig

    def set_bottom_border(self, present: bool) -> None:
        """The same space under both plot areas (:data:`BOTTOM_BORDER`)."""
        for fig in (self.truth, self.model):
            fig.min_border_bottom = BOTTOM_BORDER[bool(present)]

    def panes(self) -> list[Any]:
        """The two plots, sharing the width of their row in the proportion of their design
        widths (so their heights stay equal)."""
        for fig, (w, _) in ((self.truth, TRUTH_SIZE), (self.model, MODEL_SIZE)):
            fig.styles = {"flex": f"{w} 1 {w}px"}  # on the figure: the pane adds no element
        return [pn.pane.Bokeh(fig, margin=0, sizing_mode="stretch_width")
                for fig in (self.truth, self.model)]

    def __panel__(self) -> Any:
        return pn.Row(*self.panes(), margin=0, sizing_mode="stretch_width")

    # -- whole-run changes ------------------------------------------------------------------
    def _set_axes(self) -> None:
        s = self.session
        space = s.objective_obj.space
        dx, dy = s.dims
        target = 4
        for fig in (self.truth, self.model):
            for axis, name in ((fig.xaxis[0], space.names[dx]), (fig.yaxis[0], space.names[dy])):
                spec = axis_spec(space, name)
                ticks = native_ticks(spec, target=target, integer=isinstance(space[name], Int))
                axis.ticker.ticks = list(ticks)
                axis.major_label_overrides = {float(k): v for k, v in ticks.items()}
                # the model's axes are the truth's, beside it: their names once
                label = spec.name + (" (log)" if spec.log else "") if fig is self.truth else ""
                axis.axis_label = label

    @param.depends("session.run", "session.x_dim", "session.y_dim", "session.color_by",
                   watch=True)
    @held
    def _on_run(self) -> None:
        """A new run, other axes or other colours: every known frame's rows again."""
        s = self.session
        run = s.run
        self._set_axes()
        d = s.objective_obj.space.dim
        by = s.color_by if run is not None and run.levels_known else "order"
        if by == "level":
            self.point_mapper.update(palette=list(LEVEL_PALETTE), low=d, high=d + 10)
        else:
            self.point_mapper.update(palette=list(ORDER_PALETTE), low=0,
                                     high=max(int(s.budget) - 1, 1))
        self._color_by = by
        self._run = run
        self._sent = 0
        self.points.data = {k: [] for k in self.points.data}
        self.markers.data = {k: [] for k in self.markers.data}
        self.paths.data = {"xs": [], "ys": [], "step": []}
        self._on_frames()

    # -- new frames -------------------------------------------------------------------------
    @param.depends("session.n_steps", watch=True)
    @held
    def _on_frames(self) -> None:
        """The rows of every frame published (``session.n_steps``), when there are new ones:
        the page shows the step it plays (:mod:`explorer.views.timeline`)."""
        s = self.session
        run = s.run
        if run is not self._run:
            return  # a new run: _on_run follows
        if run is None:
            return
        n = min(int(s.n_steps), run.n_frames)
        if self._color_by == "order" and s.color_by == "level" and run.levels_known:
            self._on_run()  # the grid's levels are known now: colour by them
            return
        if n <= self._sent:
            return
        # every known row again, not a stream of the new ones: a replacement is idempotent
        # (Bokeh combines held changes of one source out of order with streams, and a page
        # that connects while frames arrive may get a stream twice); a run is sent whole once
        # it is known, a live run at the pace of its evaluations
        b = run.frames[n - 1].end
        cols = point_columns(run, 0, b, s.dims, self._color_by)
        cols["step"] = frame_of_rows(run, 0, b)
        marks, paths = marker_columns(run, 0, n, s.dims)
        self.points.data = cols
        self.markers.data = marks
        self.paths.data = paths
        self._sent = n

    def resend(self) -> None:
        """Points, markers, paths and images again (idempotent replacements)."""
        self._sent = 0
        self._on_frames()
        self._on_truth()
        self._on_surface()

    def marker_points(self, kind: str, step: int | None = None) -> tuple[list[float], list[float]]:
        """``(x, y)`` of the markers of one ``kind`` ("newest", "refined" or "best") at
        ``step`` (default: the session's)."""
        k = self.session.step if step is None else step
        d = self.markers.data
        rows = [i for i, (kk, st) in enumerate(zip(d["kind"], d["step"], strict=True))
                if kk == kind and st == k]
        return [float(d["x"][i]) for i in rows], [float(d["y"][i]) for i in rows]

    def shown_points(self, step: int | None = None) -> int:
        """How many points the page shows at ``step`` (default: the session's)."""
        k = self.session.step if step is None else step
        return int(sum(1 for st in self.points.data["step"] if st <= k))

    # -- images -----------------------------------------------------------------------------
    @param.depends("session.truth", "session.scale", watch=True)
    @held
    def _on_truth(self) -> None:
        s = self.session
        scale = s.scale
        metric = metric_label(s.objective_obj)
        if scale is not None:
            _set_bar_ticks(self.colorbar, scale)
            self.colorbar.title = metric + (", log scale" if scale.log else "")
        else:  # no value yet (a training before its first result): no numbers to show
            self.colorbar.ticker.ticks = []
            self.colorbar.major_label_overrides = {}
            self.colorbar.title = f"{metric} (no values yet)"
        if s.truth is None or scale is None:
            self.truth_image.data = empty_image()
            self.truth.title.text = "Observed values (no true landscape)"
        else:
            self.truth_image.data = image_data(scale(s.truth))
            self.truth.title.text = "True loss landscape"

    @param.depends("session.surface", "session.surface_note", "session.show_error",
                   "session.scale", watch=True)
    @held
    def _on_surface(self) -> None:
        s = self.session
        run = s.run
        has_model = run is not None and run.has_model
        show_error = bool(s.show_error) and has_model
        self.model_renderer.visible = not show_error
        self.error_renderer.visible = show_error
        self.colorbar.visible = has_model and not show_error
        self.error_colorbar.visible = show_error
        sg = has_model and run.model_kind == "sparse_grid_surrogate"
        name = "surrogate" if sg else "GP mean"
        if not has_model:
            title = "Model"
            text = f"{_title(s)} builds\nno model of the landscape"
        else:
            title = f"|truth − {name}|" if show_error else (
                "Sparse-grid surrogate" if sg else "GP posterior mean")
            text = s.surface_note
        if self.model.title.text != title:
            self.model.title.text = title
        self._set_message(text)
        Z, scale = s.surface, s.scale
        if not has_model or Z is None or scale is None:
            self.model_image.data = empty_image()
            if len(self.error_image.data["image"]):
                self.error_image.data = empty_image()
            return
        below = s.best_observed()
        self.model_image.data = image_data(scale(Z, below=below))
        if show_error and s.truth is not None and s.truth.shape == Z.shape:
            err = np.abs(s.truth.astype(np.float64) - Z)
            escale = ColorScale(0.0, scale.high - scale.low, scale.log, delta=scale.delta)
            _set_bar_ticks(self.error_colorbar, escale)
            img = escale(err)
            with np.errstate(invalid="ignore"):
                img[Z < below] = BELOW
            self.error_image.data = image_data(img)
        elif len(self.error_image.data["image"]):
            self.error_image.data = empty_image()

    def _set_message(self, text: str) -> None:
        if self.message.text != text:
            self.message.text = text
        if self.message.visible != bool(text):
            self.message.visible = bool(text)


def _title(s: Session) -> str:
    return s.method_title()
