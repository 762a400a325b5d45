"""γ strip: the grid at γ = 0, 0.5 and 1 side by side (small multiples).

The three grids are computed once per objective, budget and sparse-grid options (in the
background pool) and sent whole; the page shows, in step with the animation, the first ``n``
points of each, where ``n`` is the number of evaluations of the shown step (the timeline's
``"rows"`` filter, :mod:`explorer.views.timeline`), so the class sees the three grids grow.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.transform import transform

from explorer.background import STRIP_GAMMAS
from explorer.clock import held
from explorer.model import Session
from explorer.objectives import is_cheap
from explorer.views.tables import make_div, set_html
from explorer.views.theme import LEVEL_PALETTE, make_figure
from explorer.views.timeline import Timeline

__all__ = ["GammaStripView", "NO_STRIP"]

_TITLES = {0.0: "γ = 0 (greedy)", 0.5: "γ = 0.5", 1.0: "γ = 1 (breadth-first)"}
#: Said instead of the three grids when nobody computes them.
NO_STRIP = ("No γ strip for this objective: it would take three more runs of it. The strip "
            "is drawn for the test functions and for 2-D trainings with a stored landscape.")


class GammaStripView(pn.viewable.Viewer):
    """Three small landscape plots sharing the truth image, each with its own grid."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, truth_image: ColumnDataSource,
                 mapper: LinearColorMapper, timeline: Timeline | None = None, size: int = 150,
                 **params: Any) -> None:
        super().__init__(session=session, **params)
        timeline = timeline or Timeline()
        self.note = make_div("strip-note", sizing_mode="stretch_width")
        self.level_mapper = LinearColorMapper(palette=LEVEL_PALETTE, low=1, high=12)
        self.sources: dict[float, ColumnDataSource] = {}
        self.figures = []
        self._grids: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self.dims = (0, 1)
        for g in STRIP_GAMMAS:
            fig = make_figure(
                title=_TITLES[g], width=size, height=size + 28, sizing_mode="scale_width",
                x_range=Range1d(0, 1), y_range=Range1d(0, 1), tools="", toolbar_location=None,
            )
            fig.grid.visible = False
            fig.axis.visible = False
            fig.min_border = 4
            fig.title.text_font_size = "12px"
            fig.image(source=truth_image, image="image", x="x", y="y", dw="dw", dh="dh",
                      color_mapper=mapper, level="image")
            src = ColumnDataSource({"x": [], "y": [], "level": []}, name=f"strip-{g}")
            fig.scatter("x", "y", source=src, size=8,
                        fill_color=transform("level", self.level_mapper),
                        line_color="#1f2933", line_width=0.6, view=timeline.view("rows"))
            self.sources[g] = src
            self.figures.append(fig)
        self._on_strip()

    def __panel__(self) -> Any:
        return pn.Column(
            pn.pane.HTML("<span style='color:#52606d;font-size:12.5px'>Same budget, three "
                         "adaptivities: greedy refinement hugs the best point, breadth-first "
                         "fills the space.</span>", margin=(0, 5), sizing_mode="stretch_width"),
            pn.Row(*[pn.pane.Bokeh(f, margin=(0, 4), sizing_mode="stretch_width")
                     for f in self.figures], sizing_mode="stretch_width", max_width=720),
            pn.pane.Bokeh(self.note, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    @param.depends("session.strip", "session.strip_note", "session.x_dim", "session.y_dim",
                   watch=True)
    @held
    def _on_strip(self) -> None:
        s = self.session
        d = s.objective_obj.space.dim
        self.set_grids(s.strip, s.dims, (d, d + 10))
        note = s.strip_note
        hide = s.strip is None and not is_cheap(s.objective_obj)  # not yet, or never
        if hide and not note:  # nobody computes it (your own objective, a journal, a study)
            note = NO_STRIP
        set_html(self.note, f"<p class='muted'>{html.escape(note)}</p>" if note else "")
        for fig in self.figures:
            if fig.visible == hide:
                fig.visible = not hide

    def set_grids(self, grids: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] | None,
                  dims: tuple[int, int], level_range: tuple[int, int]) -> None:
        """New grids (``gamma -> (U, y, level_sum)``) or ``None`` while they are computed."""
        self.dims = dims
        self._grids = {}
        if grids:
            for g, (U, _, lsum) in grids.items():
                self._grids[float(g)] = (np.asarray(U), np.asarray(lsum))
        self.level_mapper.update(low=level_range[0], high=max(level_range[1], level_range[0] + 1))
        dx, dy = dims
        for g, src in self.sources.items():
            if g in self._grids:
                U, lsum = self._grids[g]
                src.data = {"x": U[:, dx], "y": U[:, dy], "level": lsum}
            else:
                src.data = {"x": [], "y": [], "level": []}

    def resend(self) -> None:
        """The grids again (idempotent replacements)."""
        for src in self.sources.values():
            src.data = dict(src.data)

    def shown(self, n: int) -> dict[float, int]:
        """Points of each grid the page shows when the shown step has ``n`` evaluations."""
        return {g: min(max(n, 1), len(src.data["x"])) for g, src in self.sources.items()}

    @property
    def ready(self) -> bool:
        return bool(self._grids)
