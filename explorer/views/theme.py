"""Colours, fonts and figure defaults shared by every view (one place to tune the looks)."""

from __future__ import annotations

from typing import Any

from bokeh.palettes import Magma256, Viridis256
from bokeh.plotting import figure

__all__ = [
    "ACCENT",
    "as_lists",
    "entry_color",
    "BELOW_COLOR",
    "BEST_COLOR",
    "ENTRY_COLORS",
    "ERROR_PALETTE",
    "LANDSCAPE_PALETTE",
    "LEVEL_PALETTE",
    "METHOD_COLORS",
    "NEWEST_COLOR",
    "ORDER_PALETTE",
    "TEXT",
    "make_figure",
    "style_figure",
]

#: Colour of surrogate values below the lowest value observed (extrapolation, not trusted).
BELOW_COLOR = "#bdbdbd"
#: Loss landscapes (truth and surrogate share one mapper): dark = low loss. Index 0 is
#: reserved for surrogate values below the lowest observed value (``engine.colors.BELOW``).
LANDSCAPE_PALETTE = (BELOW_COLOR, *Viridis256[1:])
#: |truth - surrogate|: dark = small error; index 0 as above.
ERROR_PALETTE = (BELOW_COLOR, *Magma256[1:])
#: Points coloured by level sum |l|_1 (low levels light, deep levels saturated).
LEVEL_PALETTE = (
    "#ffffff", "#fde0c5", "#facba6", "#f8b58b", "#f59e72", "#f2855d", "#ef6a4c", "#eb4a40",
    "#d73239", "#b81b34", "#93003a",
)
#: Points coloured by evaluation order (early light, late saturated).
ORDER_PALETTE = tuple(
    f"#{255:02x}{int(255 - 175 * t):02x}{int(255 - 255 * t):02x}"
    for t in [k / 63 for k in range(64)]
)

#: One colour per method, the same in every view (race, results, legends).
METHOD_COLORS: dict[str, str] = {
    "sparse_grid": "#e4572e",
    "random": "#4c78a8",
    "grid": "#9c755f",
    "bayesian": "#8e44ad",
    "adaptive_random": "#2e9e6b",
}
#: Race entries of their own colour (a variant of a method; ``explorer.background``).
ENTRY_COLORS: dict[str, str] = {"sparse_grid:zoom": "#c2185b"}
NEWEST_COLOR = "#ff2fa0"
BEST_COLOR = "#ffd400"
ACCENT = "#e4572e"
TEXT = "#1f2933"
#: System fonts only: the page loads nothing from outside the machine.
FONT = "'Segoe UI', Roboto, 'DejaVu Sans', Helvetica, Arial, sans-serif"


def entry_color(entry: str) -> str:
    """The colour of a race entry (``"method"`` or ``"method:variant"``)."""
    return ENTRY_COLORS.get(entry) or METHOD_COLORS.get(entry.partition(":")[0], "#555555")


def as_lists(columns: dict[str, Any], limit: int = 512) -> dict[str, Any]:
    """Small numpy columns as plain lists.

    Bokeh sends every numpy array as its own binary buffer (two websocket frames, two
    ``send`` system calls each); a frame's few new points go faster as a few bytes of JSON.
    Large columns (a full reset) stay arrays.
    """
    return {
        k: v.tolist() if hasattr(v, "tolist") and getattr(v, "size", limit + 1) <= limit else v
        for k, v in columns.items()
    }


def style_figure(fig: Any, *, title_size: str = "13px", axis_size: str = "12px",
                 tick_size: str = "11px") -> Any:
    """Apply the explorer's fonts and quiet grid/toolbar to a Bokeh figure."""
    fig.title.text_font = FONT
    fig.title.text_font_size = title_size
    fig.title.text_color = TEXT
    fig.title.text_font_style = "bold"
    for ax in (*fig.xaxis, *fig.yaxis):
        ax.axis_label_text_font = FONT
        ax.axis_label_text_font_size = axis_size
        ax.axis_label_text_font_style = "normal"
        ax.axis_label_text_color = TEXT
        ax.major_label_text_font_size = tick_size
        ax.major_label_text_color = "#52606d"
        ax.axis_line_color = "#9aa5b1"
        ax.major_tick_line_color = "#9aa5b1"
        ax.minor_tick_line_color = None
    fig.outline_line_color = "#cbd2d9"
    fig.background_fill_color = "#ffffff"
    fig.border_fill_color = "#ffffff"
    fig.toolbar.logo = None
    fig.toolbar.autohide = True
    return fig


def make_figure(**kwargs: Any) -> Any:
    """A styled ``bokeh.plotting.figure`` with pan/zoom/reset tools and no logo."""
    kwargs.setdefault("tools", "pan,wheel_zoom,box_zoom,reset,save")
    kwargs.setdefault("toolbar_location", "above")
    fig = figure(**kwargs)
    style_figure(fig)
    return fig
