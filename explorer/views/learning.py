"""Learning curve of the latest training (objectives whose evaluations report curves)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, Div, Legend, LegendItem

from explorer.clock import held
from explorer.model import Session
from explorer.views.inspector import SlowView
from explorer.views.theme import make_figure

__all__ = ["LearningCurveView"]


class LearningCurveView(SlowView):
    """Training loss and validation value per epoch of the most recent evaluation."""

    def __init__(self, session: Session, width: int = 290, height: int = 170,
                 **params: Any) -> None:
        super().__init__(session, **params)
        self.fig = make_figure(
            title="Latest training", frame_width=width,
            frame_height=height, y_axis_type="log", tools="", toolbar_location=None,
        )
        self.fig.xaxis.axis_label = "epoch"
        self.fig.yaxis.axis_label = "loss"
        self.train = ColumnDataSource({"x": [], "y": []}, name="learning-train")
        self.val = ColumnDataSource({"x": [], "y": []}, name="learning-val")
        r1 = self.fig.line("x", "y", source=self.train, line_width=2.5, line_color="#4c78a8")
        r2 = self.fig.line("x", "y", source=self.val, line_width=2.5, line_color="#e4572e")
        self.fig.add_layout(Legend(
            items=[LegendItem(label="training loss", renderers=[r1]),
                   LegendItem(label="validation", renderers=[r2])],
            location="top_right", label_text_font_size="11px", spacing=0, padding=3,
            background_fill_alpha=0.8,
        ))
        self._shown_row = -1
        self.caption = Div(text="", width=width + 50, name="learning-caption")
        self.card = pn.Card(pn.pane.Bokeh(self.fig), pn.pane.Bokeh(self.caption),
                            title="Learning curve", width=380, margin=(6, 6), collapsible=False,
                            header_background="#f5f7fa", visible=False)
        self._on_run()

    def __panel__(self) -> Any:
        return self.card

    @param.depends("session.run", watch=True)
    @held
    def _on_run(self) -> None:
        self.card.visible = self.session.objective_obj.kind == "neural_network"
        self.clear()
        self.render()

    def render(self) -> None:
        run, f = self.session.run, self.session.frame
        if run is None or f is None:
            return
        row = f.end - 1
        info = run.info[row] if row >= 0 else None
        cfg = ", ".join(
            f"{k}={v:.2g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in run.space.from_unit(run.U[row : row + 1])[0].items()
        ) if row >= 0 else ""
        self.show(row, info, cfg)

    def show(self, row: int, info: Mapping[str, Any] | None, title: str = "") -> None:
        """Curves of evaluation ``row`` (``info`` with ``loss_curve`` and ``val_curve``)."""
        if row == self._shown_row:
            return
        self._shown_row = row
        if not info:
            self.train.data = {"x": [], "y": []}
            self.val.data = {"x": [], "y": []}
            return
        for key, src in (("loss_curve", self.train), ("val_curve", self.val)):
            y = np.asarray(info.get(key) or [], dtype=np.float64)
            y = np.where(y > 0, y, np.nan)
            src.data = {"x": np.arange(1, len(y) + 1, dtype=np.float64), "y": y}
        if title:  # the configuration of this training, under the plot
            self.caption.text = (
                "<span style='font-size:12px;color:#52606d'>" + html.escape(title) + "</span>"
            )

    def clear(self) -> None:
        self._shown_row = -2
        self.show(-1, None)
        self.caption.text = ""
