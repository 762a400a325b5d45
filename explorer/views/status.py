"""The status line, the page's messages and the frame counter of the flow control.

The status line says how many evaluations the shown step has, the best value and where, the
step, what the step did, and at the end that the run is finished and why it stopped (also short
of the budget). It changes with every shown step, in the same message as the plots.

The frame counter (a data source, not a Div: a source has no view to re-render) counts the
frames sent and carries the shown step and whether the player plays; the page writes each
painted frame's number into the ``frame-ack`` source, which becomes ``session.frames_acked``
for the runner's flow control. Browser tests and the benchmark read the counter too.
"""

from __future__ import annotations

import html
import time
from typing import Any

import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS, Div

from explorer.clock import watch
from explorer.engine import ROLE_CANDIDATE
from explorer.model import Session
from explorer.views.layout import viewport_source
from explorer.views.tables import make_div, metric_label, status_html
from explorer.views.theme import FONT

__all__ = ["StatusView", "finished_note"]

_ACK_JS = """
const n = cb_obj.data.frame[0];
requestAnimationFrame(() => { ack.data = {frame: [n]}; });
"""


def finished_note(run: Any) -> str:
    """``"finished: <reason>"`` for a finished run, with why it stopped short of its budget."""
    from core.strategies import STOP_REASONS

    if run is None or not run.done or run.error:
        return ""
    reason = STOP_REASONS.get(run.stop_reason or "", run.stop_reason or "")
    text = f"finished: {reason}"
    left = run.budget - run.n
    if left > 0 and run.stop_reason != "stopped":
        text += (f" ({left} of {run.budget} evaluations unused: its next batch "
                 "would not fit)")
    return text


class StatusView(pn.viewable.Viewer):
    """Status line (Div ``status``), message (Div ``message``) and the frame counter."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, width: int = 930, **params: Any) -> None:
        super().__init__(session=session, **params)
        self.div = make_div("status", width=width)
        self.message = Div(text="", name="message", width=width, visible=False,
                           styles={"color": "#b42318", "font-weight": "600",
                                   "font-family": FONT})
        self.frame_counter = ColumnDataSource({"frame": [0], "t": [0.0], "step": [0],
                                               "playing": [False]}, name="frame-counter")
        self.ack = ColumnDataSource({"frame": [-1]}, name="frame-ack")
        self.viewport = viewport_source()
        self.holder = Div(visible=False, tags=[self.frame_counter, self.ack, self.viewport])
        self.viewport.on_change("data", self._on_viewport)
        self.frame_counter.js_on_change("data", CustomJS(args={"ack": self.ack}, code=_ACK_JS))
        self.ack.on_change("data", self._on_ack)
        self._text = ""
        self.present = False
        watch(session, self._on_step, ["step"])
        watch(session, self.update, ["run", "n_steps", "playing", "message"])
        watch(session, self._on_playing, ["playing"])
        watch(session, self._on_message, ["message"])
        self.update()
        self._on_message()

    def __panel__(self) -> Any:
        return pn.Column(pn.pane.Bokeh(self.div, margin=(0, 10)),
                         pn.pane.Bokeh(self.holder, visible=False),
                         pn.pane.Bokeh(self.message, margin=(0, 10)), margin=0)

    def resize(self, width: int) -> None:
        for div in (self.div, self.message):
            if div.width != width:
                div.width = width

    def _on_step(self, *events: Any) -> None:
        self.update()
        s = self.session
        s.frames_sent += 1
        self._count()

    def _on_playing(self, *events: Any) -> None:
        self._count()

    def _count(self) -> None:
        s = self.session
        self.frame_counter.data = {"frame": [s.frames_sent], "t": [time.time()],
                                   "step": [int(s.step)], "playing": [bool(s.playing)]}

    def _on_ack(self, attr: str, old: Any, new: Any) -> None:
        frame = list(new.get("frame", [])) if isinstance(new, dict) else []
        if frame and frame[0] is not None and int(frame[0]) >= 0:
            self.session.frames_acked = int(frame[0])

    def _on_viewport(self, attr: str, old: Any, new: Any) -> None:
        width = int((new.get("width") or [0])[0] or 0) if isinstance(new, dict) else 0
        if width >= 320:
            self.session.page_width = width

    def _on_message(self, *events: Any) -> None:
        text = self.session.message
        self.message.text = html.escape(text)
        self.message.visible = bool(text)

    def note(self) -> str:
        s, run, f = self.session, self.session.run, self.session.frame
        if run is None or f is None:
            if run is not None and getattr(run, "done", False) is False and s.objective_obj.kind \
                    != "test_function":
                return "paused: press Play or Step to evaluate" if not s.playing else "training…"
            return "computing…" if run is not None else ""
        done = run.done  # before the frame count: a run seen done has all its frames counted
        k = min(s.step, run.n_frames - 1)
        at_end = k >= run.n_frames - 1
        if at_end and done:
            end = finished_note(run)
            if f.role == ROLE_CANDIDATE and f.label:
                return f"{end} · {f.label}" if end else f.label
            return end or f.label
        parts = []
        if not done and at_end:
            live = s.objective_obj.kind != "test_function"
            parts.append(("training…" if s.playing else "paused: press Play or Step to "
                          "evaluate") if live else "computing…")
        if f.role == ROLE_CANDIDATE or f.label:
            parts.append(f.label)
        return " · ".join(p for p in parts if p)

    def update(self, *events: Any) -> None:
        s, run, f = self.session, self.session.run, self.session.frame
        metric = metric_label(s.objective_obj)
        size = 18 if self.present else 14.5
        if run is None or f is None:
            text = status_html(0, s.budget, None, None, 0, 0, metric=metric, note=self.note(),
                               size=size)
        else:
            k = min(s.step, run.n_frames - 1)
            text = status_html(f.end, s.budget, f.best_value, run.best_config(k), k,
                               max(run.n_frames, 1), metric=metric, note=self.note(),
                               size=size)
        if text != self._text:
            self._text = text
            self.div.text = text
