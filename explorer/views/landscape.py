"""Truth and model heatmaps with the evaluated points (plain Bokeh, updated in place).

Both figures draw in the unit square of the two shown hyperparameters, with native-unit ticks
(:mod:`explorer.views.ticks`), so log and integer parameters need no special axis types. The two
figures share their ranges (pan one, the other follows), one colour mapper (the same scale for
truth and model) and the point sources (one ``stream`` updates both).

Colour scale: with ``log`` the images hold ``log10(f - floor + delta)`` and the colour bar's tick
formatter shows ``f`` again, so the bar reads in the objective's units either way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from bokeh.models import (
    BasicTicker,
    ColorBar,
    ColumnDataSource,
    FixedTicker,
    HoverTool,
    Label,
    LinearColorMapper,
    Range1d,
)
from bokeh.transform import transform

from explorer.engine import AxisSpec
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
from explorer.views.ticks import format_value, native_ticks

__all__ = ["ColorScale", "LandscapeView", "empty_image"]

_EMPTY = np.full((1, 1), np.nan, dtype=np.float32)


def empty_image() -> dict[str, list]:
    return {"image": [_EMPTY], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]}


class ColorScale:
    """Maps objective values to what the images hold (identity or a shifted log10).

    Parameters
    ----------
    low, high : float
        Range of the values to show (typically the truth's min and max).
    log : bool
        Log colour scale: ``t(f) = log10(max(f - low, 0) + delta)``, ``delta = 1e-4 (high -
        low)`` (at least ``1e-12``).
    """

    def __init__(self, low: float, high: float, log: bool, delta: float | None = None) -> None:
        if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
            high = low + 1.0 if math.isfinite(low) else 1.0
            low = low if math.isfinite(low) else 0.0
        self.low, self.high, self.log = float(low), float(high), bool(log)
        floor = max(1e-9 * (self.high - self.low), 1e-12)
        self.delta = max(floor, 1e-4 * (self.high - self.low) if delta is None else float(delta))

    @classmethod
    def from_values(cls, Z: np.ndarray, log: bool) -> ColorScale:
        """Scale spanning the finite values of ``Z``; ``delta`` = their 1 % quantile above min."""
        finite = np.asarray(Z, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if not finite.size:
            return cls(0.0, 1.0, log)
        lo, hi = float(finite.min()), float(finite.max())
        above = finite[finite > lo] - lo
        delta = min(float(np.quantile(above, 0.01)), 1e-3 * (hi - lo)) if above.size else None
        return cls(lo, hi, log, delta)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if not self.log:
            return v.astype(np.float32)
        with np.errstate(invalid="ignore"):
            return np.log10(np.maximum(v - self.low, 0.0) + self.delta).astype(np.float32)

    @property
    def bounds(self) -> tuple[float, float]:
        lo, hi = self(np.array([self.low, self.high]))
        return float(lo), float(hi)


def _round_sig(v: float, digits: int = 2) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return round(v, -int(math.floor(math.log10(abs(v)))) + digits - 1)


def colorbar_ticks(scale: ColorScale, n_ticks: int = 6) -> dict[float, str]:
    """Tick positions (in image values) and labels (in f) for a log colour scale.

    Ticks are spread evenly over the transformed range, then moved to values of ``f`` with two
    significant digits, so the labels are short and the ticks spaced.
    """
    t0, t1 = scale.bounds
    out: dict[float, str] = {}
    for t in np.linspace(t0, t1, n_ticks):
        v = scale.low + 10.0**t - scale.delta
        v = scale.low if t == t0 else _round_sig(v)
        pos = float(scale(np.array([v]))[0])
        if t0 - 1e-6 <= pos <= t1 + 1e-6 and all(abs(pos - p) > 0.08 * (t1 - t0) for p in out):
            out[pos] = format_value(v)
    return out


def _set_bar_ticks(bar: ColorBar, scale: ColorScale) -> None:
    if scale.log:
        ticks = colorbar_ticks(scale)
        bar.ticker = FixedTicker(ticks=list(ticks))
        bar.major_label_overrides = ticks
    else:
        bar.ticker = BasicTicker(desired_num_ticks=6)
        bar.major_label_overrides = {}


class LandscapeView:
    """The truth heatmap with the points, and the model heatmap beside it.

    Attributes
    ----------
    truth, model : bokeh figure
    points : ColumnDataSource
        Columns ``x, y`` (unit square), ``level``, ``order``, ``value``, ``marker``, ``label``
        (native configuration text); streamed, one row per evaluation.
    newest, best, refined : ColumnDataSource
        Markers of the newest batch, the best point so far and the point refined this step.
    """

    def __init__(self, size: int = 230) -> None:
        self.truth_image = ColumnDataSource(empty_image(), name="truth-image")
        self.model_image = ColumnDataSource(empty_image(), name="model-image")
        self.error_image = ColumnDataSource(empty_image(), name="error-image")
        self.points = ColumnDataSource(
            {k: [] for k in ("x", "y", "level", "order", "value", "marker", "label")},
            name="points",
        )
        self.newest = ColumnDataSource({"x": [], "y": []}, name="newest")
        self.best = ColumnDataSource({"x": [], "y": [], "label": []}, name="best")
        self.refined = ColumnDataSource({"x": [], "y": []}, name="refined")

        self.mapper = LinearColorMapper(palette=LANDSCAPE_PALETTE, low=0, high=1,
                                        nan_color="#e4e7eb")
        self.error_mapper = LinearColorMapper(palette=ERROR_PALETTE, low=0, high=1,
                                              nan_color="#e4e7eb")
        self.level_mapper = LinearColorMapper(palette=LEVEL_PALETTE, low=1, high=12)
        self.order_mapper = LinearColorMapper(palette=ORDER_PALETTE, low=0, high=100)
        xr, yr = Range1d(0, 1, bounds=(0, 1)), Range1d(0, 1, bounds=(0, 1))
        self.truth = self._figure("True loss landscape", xr, yr, size)
        self.model = self._figure("Sparse-grid surrogate", xr, yr, size)
        self.truth_renderer = self.truth.image(
            source=self.truth_image, image="image", x="x", y="y", dw="dw", dh="dh",
            color_mapper=self.mapper, level="image",
        )
        self.model_renderer = self.model.image(
            source=self.model_image, image="image", x="x", y="y", dw="dw", dh="dh",
            color_mapper=self.mapper, level="image",
        )
        self.error_renderer = self.model.image(
            source=self.error_image, image="image", x="x", y="y", dw="dw", dh="dh",
            color_mapper=self.error_mapper, level="image", visible=False,
        )
        self.colorbar = ColorBar(
            color_mapper=self.mapper, width=12, title="f(x)",
            title_text_font_size="11px", title_text_font_style="normal",
            major_label_text_font_size="11px", label_standoff=4, padding=4,
        )
        self.error_colorbar = ColorBar(
            color_mapper=self.error_mapper, width=12, title="|truth − surrogate|",
            title_text_font_size="11px", title_text_font_style="normal",
            major_label_text_font_size="11px", label_standoff=4, padding=4, visible=False,
        )
        self.model.add_layout(self.colorbar, "right")
        self.model.add_layout(self.error_colorbar, "right")
        self.message = Label(
            x=0.5, y=0.5, x_units="data", y_units="data", text="", text_align="center",
            text_baseline="middle", text_font=FONT, text_font_size="13px", text_color=TEXT,
            background_fill_color="white", background_fill_alpha=0.85, visible=False,
        )
        self.model.add_layout(self.message)
        self.truth_message = Label(
            x=0.5, y=0.5, x_units="data", y_units="data", text="", text_align="center",
            text_baseline="middle", text_font=FONT, text_font_size="13px", text_color=TEXT,
            background_fill_color="white", background_fill_alpha=0.85, visible=False,
        )
        self.truth.add_layout(self.truth_message)
        self.point_renderers = []
        for fig, size_pt in ((self.truth, 9), (self.model, 6)):
            r = fig.scatter(
                "x", "y", source=self.points, marker="marker", size=size_pt,
                fill_color=transform("level", self.level_mapper), line_color="#1f2933",
                line_width=0.8,
            )
            self.point_renderers.append(r)
        self.truth.scatter("x", "y", source=self.refined, marker="square", size=17,
                           fill_alpha=0, line_color="#00d5ff", line_width=3)
        self.truth.scatter("x", "y", source=self.newest, size=15, fill_alpha=0,
                           line_color=NEWEST_COLOR, line_width=2.5)
        for fig in (self.truth, self.model):
            fig.scatter("x", "y", source=self.best, marker="star", size=22,
                        fill_color=BEST_COLOR, line_color="#1f2933", line_width=1.2)
        hover = HoverTool(
            renderers=[self.point_renderers[0]],
            tooltips=[("config", "@label"), ("f", "@value{0.000g}"), ("level |l|₁", "@level"),
                      ("evaluation", "@order")],
        )
        self.truth.add_tools(hover)
        self.color_by = "level"

    @staticmethod
    def _figure(title: str, xr: Range1d, yr: Range1d, size: int) -> Any:
        fig = make_figure(
            title=title, x_range=xr, y_range=yr, frame_width=size, frame_height=size,
            tools="pan,wheel_zoom,box_zoom,reset", match_aspect=True,
        )
        fig.grid.visible = False
        fig.min_border_left = 10
        fig.min_border_right = 10
        return fig

    # -- configuration ----------------------------------------------------------------------
    def set_axes(self, x: AxisSpec, y: AxisSpec, x_integer: bool, y_integer: bool) -> None:
        """Native ticks and labels for the shown dimensions."""
        for fig in (self.truth, self.model):
            axes = ((fig.xaxis[0], x, x_integer), (fig.yaxis[0], y, y_integer))
            for axis, spec, integer in axes:
                ticks = native_ticks(spec, integer=integer)
                axis.ticker = FixedTicker(ticks=list(ticks))
                axis.major_label_overrides = {float(k): v for k, v in ticks.items()}
                axis.axis_label = spec.name + (" (log)" if spec.log else "")

    def set_scale(self, scale: ColorScale, error_scale: ColorScale | None = None) -> None:
        """Colour range of truth and model (and of the error view)."""
        lo, hi = scale.bounds
        self.mapper.update(low=lo, high=hi)
        _set_bar_ticks(self.colorbar, scale)
        self.colorbar.title = "f(x), log scale" if scale.log else "f(x)"
        if error_scale is not None:
            elo, ehi = error_scale.bounds
            self.error_mapper.update(low=elo, high=ehi)
            _set_bar_ticks(self.error_colorbar, error_scale)

    def set_color_by(self, what: str, level_range: tuple[int, int], n_max: int) -> None:
        """Colour points by ``"level"`` (level sum) or ``"order"`` (evaluation index)."""
        self.color_by = what
        self.level_mapper.update(low=level_range[0], high=max(level_range[1], level_range[0] + 1))
        self.order_mapper.update(low=0, high=max(n_max - 1, 1))
        mapper = self.level_mapper if what == "level" else self.order_mapper
        for r in self.point_renderers:
            r.glyph.fill_color = transform(what, mapper)

    def show_error(self, on: bool) -> None:
        self.model_renderer.visible = not on
        self.error_renderer.visible = on
        self.colorbar.visible = not on
        self.error_colorbar.visible = on

    def set_model_title(self, title: str) -> None:
        self.model.title.text = title

    def set_message(self, text: str, truth: bool = False) -> None:
        label = self.truth_message if truth else self.message
        label.text = text
        label.visible = bool(text)

    # -- data -----------------------------------------------------------------------------------
    @staticmethod
    def image_data(Z: np.ndarray | None) -> dict[str, list]:
        if Z is None:
            return empty_image()
        return {"image": [np.asarray(Z, dtype=np.float32)], "x": [0.0], "y": [0.0],
                "dw": [1.0], "dh": [1.0]}

    def set_truth(self, Z: np.ndarray | None) -> None:
        self.truth_image.data = self.image_data(Z)

    def set_model(self, Z: np.ndarray | None, error: np.ndarray | None = None) -> None:
        self.model_image.data = self.image_data(Z)
        self.error_image.data = self.image_data(error)

    def reset_points(self, columns: dict[str, Any]) -> None:
        self.points.data = columns

    def stream_points(self, columns: dict[str, Any]) -> None:
        if len(columns["x"]):
            self.points.stream(columns)

    def set_markers(
        self,
        newest: tuple[np.ndarray, np.ndarray],
        best: tuple[float, float, str] | None,
        refined: tuple[float, float] | None,
    ) -> None:
        self.newest.data = {"x": newest[0], "y": newest[1]}
        self.best.data = (
            {"x": [best[0]], "y": [best[1]], "label": [best[2]]} if best
            else {"x": [], "y": [], "label": []}
        )
        self.refined.data = (
            {"x": [refined[0]], "y": [refined[1]]} if refined else {"x": [], "y": []}
        )
