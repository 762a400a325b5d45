"""γ strip: the grid at γ = 0, 0.5 and 1 side by side (small multiples).

The three grids are computed once per objective, budget and sparse-grid options (in the
background pool); the strip then shows, in step with the animation, the first ``n`` points of
each, where ``n`` is the number of evaluations of the shown step, so the class sees the three
grids grow.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.transform import transform

from explorer.background import STRIP_GAMMAS
from explorer.clock import watch
from explorer.model import Session
from explorer.views.inspector import SlowView
from explorer.views.tables import make_div, set_html
from explorer.views.theme import LEVEL_PALETTE, as_lists, make_figure

__all__ = ["GammaStripView"]

_TITLES = {0.0: "γ = 0 (greedy)", 0.5: "γ = 0.5", 1.0: "γ = 1 (breadth-first)"}


class GammaStripView(SlowView):
    """Three small landscape plots sharing the truth image, each with its own grid."""

    def __init__(self, session: Session, truth_image: ColumnDataSource,
                 mapper: LinearColorMapper, size: int = 136, **params: Any) -> None:
        super().__init__(session, **params)
        self.note = make_div("strip-note")
        self.level_mapper = LinearColorMapper(palette=LEVEL_PALETTE, low=1, high=12)
        self.sources: dict[float, ColumnDataSource] = {}
        self.figures = []
        self._grids: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._shown = 0
        self.dims = (0, 1)
        for g in STRIP_GAMMAS:
            fig = make_figure(
                title=_TITLES[g], frame_width=size, frame_height=size, x_range=Range1d(0, 1),
                y_range=Range1d(0, 1), tools="", toolbar_location=None,
            )
            fig.grid.visible = False
            fig.axis.visible = False
            fig.min_border = 4
            fig.title.text_font_size = "12px"
            fig.image(source=truth_image, image="image", x="x", y="y", dw="dw", dh="dh",
                      color_mapper=mapper, level="image")
            src = ColumnDataSource({"x": [], "y": [], "level": []}, name=f"strip-{g}")
            fig.scatter("x", "y", source=src, size=6,
                        fill_color=transform("level", self.level_mapper),
                        line_color="#1f2933", line_width=0.6)
            self.sources[g] = src
            self.figures.append(fig)
        watch(session, self._on_strip, ["strip", "strip_note", "x_dim", "y_dim"])
        self._on_strip()

    def __panel__(self) -> Any:
        return pn.Column(
            pn.pane.HTML("<span style='color:#52606d;font-size:12.5px'>Same budget, three "
                         "adaptivities: greedy refinement hugs the best point, breadth-first "
                         "fills the space.</span>", margin=(0, 5), width=440),
            pn.Row(*[pn.pane.Bokeh(f, margin=(0, 4)) for f in self.figures]),
            pn.pane.Bokeh(self.note, width=440),
        )

    def resize(self, size: int) -> None:
        """Frame size of each small plot (px)."""
        for fig in self.figures:
            if fig.frame_width != size:
                fig.update(frame_width=size, frame_height=size)

    def _on_strip(self, *events: Any) -> None:
        s = self.session
        d = s.objective_obj.space.dim
        self.set_grids(s.strip, s.dims, (d, d + 10))
        note = s.strip_note
        set_html(self.note, f"<p class='muted'>{html.escape(note)}</p>" if note else "")
        self.render()

    def render(self) -> None:
        f = self.session.frame
        self.show(max(f.end if f is not None else 0, 1))

    def set_grids(self, grids: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
                  dims: tuple[int, int], level_range: tuple[int, int]) -> None:
        """New grids (``gamma -> (U, y, level_sum)``) or ``None`` while they are computed."""
        self.dims = dims
        self._grids = {}
        if grids:
            for g, (U, _, lsum) in grids.items():
                self._grids[float(g)] = (np.asarray(U), np.asarray(lsum))
        self.level_mapper.update(low=level_range[0], high=max(level_range[1], level_range[0] + 1))
        self._shown = 0
        for src in self.sources.values():
            src.data = {"x": [], "y": [], "level": []}

    def _columns(self, g: float, a: int, b: int) -> dict[str, Any]:
        U, lsum = self._grids[g]
        b = min(b, len(U))
        a = min(a, b)
        dx, dy = self.dims
        return {"x": U[a:b, dx], "y": U[a:b, dy], "level": lsum[a:b]}

    def show(self, n: int) -> None:
        """Show the first ``n`` points of each grid (stream when growing)."""
        if not self._grids or n == self._shown:
            return
        for g, src in self.sources.items():
            if g not in self._grids:
                continue
            if n > self._shown:
                cols = self._columns(g, self._shown, n)
                if len(cols["x"]):
                    src.stream(as_lists(cols))
            else:
                src.data = as_lists(self._columns(g, 0, n))
        self._shown = n

    @property
    def ready(self) -> bool:
        return bool(self._grids)

