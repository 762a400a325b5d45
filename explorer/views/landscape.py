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
    as_lists,
    make_figure,
)
from explorer.views.ticks import format_value, native_ticks

__all__ = ["ColorScale", "LandscapeView", "empty_image"]

def empty_image() -> dict[str, list]:
    """No image (zero rows): nothing is drawn."""
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []}


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

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``f`` itself (linear) or ``log10(max(f - low, 0) + delta)``, float64."""
        v = np.asarray(values, dtype=np.float64)
        if not self.log:
            return v
        with np.errstate(invalid="ignore"):
            return np.log10(np.maximum(v - self.low, 0.0) + self.delta)

    @property
    def bounds(self) -> tuple[float, float]:
        """The transformed values of ``low`` and ``high``."""
        lo, hi = self.transform(np.array([self.low, self.high]))
        return float(lo), float(hi)

    def position(self, values: np.ndarray) -> np.ndarray:
        """Colour index in [0, 255] (float) of ``values``."""
        lo, hi = self.bounds
        return (self.transform(values) - lo) * (255.0 / (hi - lo))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Colour indices (uint8, 0..255) of ``values``: what the images hold.

        A 256-colour palette shows nothing finer, and uint8 images are a quarter of float32 on
        the wire. Values outside ``[low, high]`` clip to the ends; NaN (a failed evaluation)
        shows as the worst colour.
        """
        with np.errstate(invalid="ignore"):
            p = np.rint(self.position(values))
        p = np.where(np.isnan(p), 255.0, p)
        return np.clip(p, 0, 255).astype(np.uint8)


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
        pos = float(scale.position(np.array([v]))[0])
        if -1e-6 <= pos <= 255 + 1e-6 and all(abs(pos - p) > 0.08 * 255 for p in out):
            out[pos] = format_value(v)
    return out


def linear_ticks(scale: ColorScale, target: int = 6) -> dict[float, str]:
    """Nice ticks (1, 2, 2.5, 5 x 10^k steps) for a linear colour bar, at colour indices."""
    low, high = scale.low, scale.high
    raw = (high - low) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step - 1e-9) * step
    vals = np.arange(first, high + 1e-9 * step, step)
    pos = scale.position(vals)
    return {float(p): format_value(float(round(v, 12))) for p, v in zip(pos, vals, strict=True)}


def _set_bar_ticks(bar: ColorBar, scale: ColorScale) -> None:
    """Ticks of a colour bar; the ticker object stays (a new model would make Bokeh re-index
    every model of the page, ~0.1 s)."""
    ticks = colorbar_ticks(scale) if scale.log else linear_ticks(scale)
    bar.ticker.ticks = list(ticks)
    bar.major_label_overrides = ticks


_MARKER_COLUMNS = ("x", "y", "marker", "size", "fill", "fill_alpha", "line", "line_width")
_MARKER_STYLES = {  # marker, size, fill, fill_alpha, line, line_width
    "newest": ("circle", 15, "#ffffff", 0.0, NEWEST_COLOR, 2.5),
    "refined": ("square", 17, "#ffffff", 0.0, "#00d5ff", 3.0),
    "best": ("star", 22, BEST_COLOR, 1.0, "#1f2933", 1.2),
}


class LandscapeView:
    """The truth heatmap with the points, and the model heatmap beside it.

    Attributes
    ----------
    truth, model : bokeh figure
    points : ColumnDataSource
        Columns ``x, y`` (unit square), ``level``, ``order``, ``value``, ``marker``, ``label``
        (native configuration text); streamed, one row per evaluation.
    markers : ColumnDataSource
        The newest batch (``kind == "newest"``), the point refined this step (``"refined"``)
        and the best point so far (``"best"``), with their marker styles.
    """

    def __init__(self, size: int = 230) -> None:
        self.truth_image = ColumnDataSource(empty_image(), name="truth-image")
        self.model_image = ColumnDataSource(empty_image(), name="model-image")
        self.error_image = ColumnDataSource(empty_image(), name="error-image")
        self.points = ColumnDataSource(
            {k: [] for k in ("x", "y", "c", "level", "order", "value", "marker", "label")},
            name="points",
        )
        self.markers = ColumnDataSource(
            {k: [] for k in _MARKER_COLUMNS} | {"kind": []}, name="markers"
        )

        # images hold colour indices 0..255 (see ColorScale), so the mappers never change
        self.mapper = LinearColorMapper(palette=LANDSCAPE_PALETTE, low=0, high=255)
        self.error_mapper = LinearColorMapper(palette=ERROR_PALETTE, low=0, high=255)
        # one mapper for the points' fill; column "c" holds the level sum or the order
        self.point_mapper = LinearColorMapper(palette=LEVEL_PALETTE, low=1, high=12)
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
            color_mapper=self.mapper, width=12, title="f(x)", ticker=FixedTicker(ticks=[]),
            title_text_font_size="11px", title_text_font_style="normal",
            major_label_text_font_size="11px", label_standoff=4, padding=4,
        )
        self.error_colorbar = ColorBar(
            color_mapper=self.error_mapper, width=12, title="|truth − surrogate|",
            ticker=FixedTicker(ticks=[]),
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
        # the model's copy of the points: small grey dots (the interpolation nodes); cheaper
        # to draw than outlined, colour-mapped markers, and they keep the surrogate readable
        self.point_renderers.append(self.truth.scatter(
            "x", "y", source=self.points, marker="marker", size=9,
            fill_color=transform("c", self.point_mapper), line_color="#1f2933", line_width=0.8,
        ))
        self.point_renderers.append(self.model.scatter(
            "x", "y", source=self.points, size=3.5, fill_color="#1f2933", line_color=None,
            fill_alpha=0.75,
        ))
        # newest step, refined point and best point: one source (one change per frame), drawn
        # on both figures; each row carries its own marker style
        for fig in (self.truth, self.model):
            fig.scatter("x", "y", source=self.markers, marker="marker", size="size",
                        fill_color="fill", fill_alpha="fill_alpha", line_color="line",
                        line_width="line_width")
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
        fig.xaxis[0].ticker = FixedTicker(ticks=[0, 0.5, 1])
        fig.yaxis[0].ticker = FixedTicker(ticks=[0, 0.5, 1])
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
                axis.ticker.ticks = list(ticks)
                axis.major_label_overrides = {float(k): v for k, v in ticks.items()}
                axis.axis_label = spec.name + (" (log)" if spec.log else "")

    def set_scale(self, scale: ColorScale, error_scale: ColorScale | None = None) -> None:
        """Colour range of truth and model (and of the error view)."""
        _set_bar_ticks(self.colorbar, scale)
        self.colorbar.title = "f(x), log scale" if scale.log else "f(x)"
        if error_scale is not None:
            _set_bar_ticks(self.error_colorbar, error_scale)

    def set_color_by(self, what: str, level_range: tuple[int, int], n_max: int) -> None:
        """Colour points by ``"level"`` (level sum) or ``"order"`` (evaluation index).

        The caller refills column ``c`` of :attr:`points` (``level`` or ``order``).
        """
        self.color_by = what
        if what == "level":
            self.point_mapper.update(palette=list(LEVEL_PALETTE), low=level_range[0],
                                     high=max(level_range[1], level_range[0] + 1))
        else:
            self.point_mapper.update(palette=list(ORDER_PALETTE), low=0, high=max(n_max - 1, 1))

    def show_error(self, on: bool) -> None:
        self.model_renderer.visible = not on
        self.error_renderer.visible = on
        self.colorbar.visible = not on
        self.error_colorbar.visible = on

    def set_model_title(self, title: str) -> None:
        if self.model.title.text != title:
            self.model.title.text = title

    def set_message(self, text: str, truth: bool = False) -> None:
        label = self.truth_message if truth else self.message
        if label.text != text:
            label.text = text
        if label.visible != bool(text):
            label.visible = bool(text)

    # -- data -----------------------------------------------------------------------------------
    @staticmethod
    def image_data(Z: np.ndarray | None) -> dict[str, list]:
        if Z is None:
            return empty_image()
        return {"image": [np.asarray(Z)], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]}

    def set_truth(self, Z: np.ndarray | None) -> None:
        self.truth_image.data = self.image_data(Z)

    def set_model(self, Z: np.ndarray | None, error: np.ndarray | None = None) -> None:
        self.model_image.data = self.image_data(Z)
        if error is not None or len(self.error_image.data["image"]):
            self.error_image.data = self.image_data(error)  # only when shown or to clear it

    def reset_points(self, columns: dict[str, Any]) -> None:
        self.points.data = as_lists(columns)

    def stream_points(self, columns: dict[str, Any]) -> None:
        if len(columns["x"]):
            self.points.stream(as_lists(columns))

    def set_markers(
        self,
        newest: tuple[np.ndarray, np.ndarray],
        best: tuple[float, float, str] | None,
        refined: tuple[float, float] | None,
    ) -> None:
        xs, ys = list(np.asarray(newest[0]).tolist()), list(np.asarray(newest[1]).tolist())
        kinds = ["newest"] * len(xs)
        if refined:
            xs.append(refined[0])
            ys.append(refined[1])
            kinds.append("refined")
        if best:
            xs.append(best[0])
            ys.append(best[1])
            kinds.append("best")
        cols: dict[str, list] = {"x": xs, "y": ys, "kind": kinds}
        for k, name in enumerate(_MARKER_COLUMNS[2:]):
            cols[name] = [_MARKER_STYLES[kind][k] for kind in kinds]
        self.markers.data = cols

    def marker_points(self, kind: str) -> tuple[list[float], list[float]]:
        """``(x, y)`` of the markers of one ``kind`` ("newest", "refined" or "best")."""
        d = self.markers.data
        rows = [i for i, k in enumerate(d["kind"]) if k == kind]
        return [d["x"][i] for i in rows], [d["y"][i] for i in rows]
