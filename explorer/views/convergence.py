"""Convergence: best value so far vs evaluations, this run against the other methods (the race).

:class:`ConvergenceView` follows the session: the run's whole known curve is in its source,
each row with its step (new frames are streamed), and the page draws it up to the shown step
(:mod:`explorer.views.timeline`); the race's finished runs come as they finish.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.core.properties import value
from bokeh.models import ColumnDataSource, Legend, LegendItem, Range1d, Span

from explorer.clock import held
from explorer.engine import RaceResult
from explorer.model import Session
from explorer.views.tables import entry_title, metric_label, played_title
from explorer.views.theme import entry_color, make_figure
from explorer.views.timeline import Timeline

__all__ = ["ConvergenceView", "FLOOR"]

#: Smallest value drawn on the log axis (an exact hit of the optimum would be log(0)).
FLOOR = 1e-10


class ConvergenceView(pn.viewable.Viewer):
    """Best-so-far curves on a log axis; the animated run is thick, the race thin.

    The plotted quantity is ``best - f_opt`` when the objective's minimum is known (test
    functions), else the best value itself (losses of trainings are positive).
    """

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, timeline: Timeline | None = None, width: int = 215,
                 height: int = 230, **params: Any) -> None:
        super().__init__(session=session, **params)
        timeline = timeline or Timeline()
        from explorer.background import race_entries

        methods = {entry: entry_title(entry) for entry in race_entries()}
        self.methods = methods  # race entry -> title (explorer.background.race_entries)
        self.fig = make_figure(
            title="Convergence race", width=width + 60, height=height + 75,
            sizing_mode="scale_width",
            y_axis_type="log", x_range=Range1d(0, 100), y_range=Range1d(1e-3, 1e3),
            tools="pan,wheel_zoom,box_zoom,reset", toolbar_inner=True,
        )
        # A fixed y range, widened on the server when a curve needs it: an auto-ranging axis
        # recomputes its ticks and re-measures its labels on every streamed point, about 10 ms
        # of the page's time per frame.
        self._y_lo, self._y_hi = math.inf, -math.inf
        self.fig.xaxis.axis_label = "evaluations"
        self.fig.yaxis.axis_label = "best f − f*"
        self.fig.min_border_left = 10
        self.race: dict[str, ColumnDataSource] = {}
        self.race_renderers: dict[str, Any] = {}
        for name in methods:
            src = ColumnDataSource({"x": [], "y": []}, name=f"race-{name}")
            r = self.fig.step("x", "y", source=src, mode="after", line_color=entry_color(name),
                              line_width=2, line_alpha=0.8)
            self.race[name] = src
            self.race_renderers[name] = r
        self.run = ColumnDataSource({"x": [], "y": [], "step": []}, name="run-curve")
        self.head = ColumnDataSource({"x": [], "y": [], "step": []}, name="run-head")
        self.run_renderer = self.fig.step("x", "y", source=self.run, mode="after", line_width=4,
                                          line_color=entry_color("sparse_grid"),
                                          view=timeline.view("upto"))
        self.head_renderer = self.fig.scatter("x", "y", source=self.head, size=10,
                                              view=timeline.view("at"),
                                              fill_color=entry_color("sparse_grid"),
                                              line_color="white", line_width=1.5)
        self.run_item = LegendItem(label="this run", renderers=[self.run_renderer])
        self.race_items = {
            name: LegendItem(label=title, renderers=[self.race_renderers[name]], visible=False)
            for name, title in methods.items()
        }
        # fixed items, shown and hidden by `visible` (new items would re-index the document)
        # outside the data (below the plot): it never covers a curve
        self.legend = Legend(items=[self.run_item, *self.race_items.values()],
                             location="top_left", label_text_font_size="11px",
                             glyph_width=16, glyph_height=10, spacing=0, padding=2, margin=0,
                             label_height=12, border_line_alpha=0, click_policy="hide")
        self.fig.add_layout(self.legend, "below")
        self.fig.xaxis.ticker.desired_num_ticks = 4
        self.fig.yaxis.ticker.desired_num_ticks = 4
        self.cursor = Span(location=0, dimension="height", line_color="#9aa5b1",
                           line_dash="dashed", line_width=1)
        self.fig.add_layout(self.cursor)
        timeline.show_location(self.cursor, "end")
        self.f_opt: float | None = None
        self.method = "sparse_grid"  # the animated run's race entry
        self._run: Any = None
        self._sent = 0  # frames in this run's sources
        self._on_run()

    def __panel__(self) -> Any:
        return pn.pane.Bokeh(self.fig, margin=0, sizing_mode="stretch_width")

    # -- following the session --------------------------------------------------------------
    @param.depends("session.run", watch=True)
    @held
    def _on_run(self) -> None:
        s = self.session
        objective = s.objective_obj
        f_opt = getattr(objective, "f_opt", None) if objective.kind == "test_function" else None
        from explorer.background import entry_of

        self.configure(entry_of(s.method, s.variant), int(s.budget), f_opt,
                       metric_label(objective), played_title(s))
        self._run = s.run
        self._sent = 0
        self._on_race()
        self._on_frames()

    @param.depends("session.n_steps", watch=True)
    @held
    def _on_frames(self) -> None:
        """The curve and head of every frame published, when there are new ones."""
        s, run = self.session, self.session.run
        if run is not self._run or run is None:
            return
        n = min(int(s.n_steps), run.n_frames)
        if n <= self._sent:
            return
        frames = run.frames[:n]  # all of them again (see LandscapeView._on_frames)
        a, b = 0, frames[-1].end
        y = self.transform(run.best_so_far[a:b])
        self.include(y)
        steps = [k for k, f in enumerate(frames) for _ in range(f.end - f.start)]
        curve = {"x": np.arange(a + 1, b + 1, dtype=np.float64), "y": y,
                 "step": np.asarray(steps, dtype=np.int64)}
        heads = [(k, f) for k, f in enumerate(frames) if f.end and math.isfinite(f.best_value)]
        hy = self.transform(np.array([f.best_value for _, f in heads]))
        head = {"x": [float(f.end) for _, f in heads], "y": hy.tolist(),
                "step": [k for k, _ in heads]}
        self.run.data = curve
        self.head.data = head
        self._sent = n

    def resend(self) -> None:
        """The run's curve and the race again (idempotent replacements)."""
        self._sent = 0
        self._on_frames()
        for src in self.race.values():
            src.data = dict(src.data)

    @param.depends("session.race", watch=True)
    @held
    def _on_race(self) -> None:
        for method, res in self.session.race.items():
            if method not in self.race:
                continue
            if isinstance(res, RaceResult) and len(self.race[method].data["x"]) != len(res.n):
                self.set_race(method, res.n, res.best)
            elif isinstance(res, str) and method != self.method:
                item = self.race_items[method]  # the reason where the curve would be
                item.label = value(f"{self.methods[method]}: {res}")
                item.visible = True

    def configure(self, method: str, budget: int, f_opt: float | None, metric: str,
                  title: str | None = None) -> None:
        """New run of race entry ``method``: clear every curve, colour the run by its entry,
        set the axes."""
        self.method = method
        self.f_opt = f_opt
        color = entry_color(method)
        self.run_renderer.glyph.line_color = color
        self.head_renderer.glyph.fill_color = color
        self.fig.x_range.update(start=0, end=max(budget, 2))
        label = f"best {metric} − f*" if f_opt is not None else f"best {metric}"
        self.fig.yaxis.axis_label = label
        self.run.data = {"x": [], "y": [], "step": []}
        self.head.data = {"x": [], "y": [], "step": []}
        for src in self.race.values():
            src.data = {"x": [], "y": []}
        self._y_lo, self._y_hi = math.inf, -math.inf
        for r in self.race_renderers.values():
            r.visible = True
        self.run_renderer.visible = True
        # value(...): a bare string assigned to a label spec would be read as a column name
        title = title or self.methods.get(method, method)
        self.run_item.label = value(title + " (this run)")
        for name, item in self.race_items.items():
            item.visible = False
            item.label = value(self.methods[name])

    def transform(self, best: np.ndarray) -> np.ndarray:
        """Values as plotted: ``max(best - f_opt, FLOOR)`` (NaN stays NaN)."""
        b = np.asarray(best, dtype=np.float64)
        if self.f_opt is not None:
            b = b - self.f_opt
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(b), np.nan, np.maximum(b, FLOOR))

    def include(self, values: np.ndarray) -> None:
        """Widen the y range (log axis, a factor 2 of margin) to show ``values`` (plotted)."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v) & (v > 0)]
        if not v.size:
            return
        lo, hi = min(self._y_lo, float(v.min())), max(self._y_hi, float(v.max()))
        if (lo, hi) == (self._y_lo, self._y_hi):
            return
        self._y_lo, self._y_hi = lo, hi
        span = max(math.log10(hi) - math.log10(lo), 1.0)
        pad = 10 ** (0.06 * span)
        self.fig.y_range.update(start=lo / pad, end=hi * pad)

    def set_race(self, method: str, n: np.ndarray, best: np.ndarray) -> None:
        src = self.race.get(method)
        if src is not None:
            y = self.transform(best)
            self.include(y)
            src.data = {"x": np.asarray(n, dtype=np.float64), "y": y}
            self.race_items[method].visible = method != self.method

    def set_title(self, text: str) -> None:
        self.fig.title.text = text

    @property
    def figure(self) -> Any:
        return self.fig
