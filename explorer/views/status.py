"""The status line and the page's messages.

The status line says how many evaluations the shown step has, the best value and where, the
step, what the step did, and at the end that the run is finished and why it stopped (also short
of the budget). Its text for every known step is a column of the timeline's ``frames`` source
(:mod:`explorer.views.timeline`), so the page shows the right one at every step it plays by
itself; the server rewrites the last step's text when the run grows, ends, or plays.
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn
import param
from bokeh.models import Div

from explorer.clock import watch
from explorer.engine import ROLE_CANDIDATE
from explorer.model import Session
from explorer.views.tables import make_div, metric_label, status_html
from explorer.views.theme import FONT
from explorer.views.timeline import Timeline

__all__ = ["StatusView", "finished_note"]


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
    """Status line (Div ``status``) and message (Div ``message``); writes the timeline's
    ``frames`` source (one row per known step: ``step``, ``end``, ``status``)."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, timeline: Timeline | None = None, width: int = 930,
                 **params: Any) -> None:
        super().__init__(session=session, **params)
        self.timeline = timeline or Timeline()
        self.frames = self.timeline.frames
        self.frames.data = {"step": [], "end": [], "status": []}
        self.div = make_div("status", sizing_mode="stretch_width")
        self.timeline.show_text(self.div, "status")
        self.message = Div(text="", name="message", visible=False, sizing_mode="stretch_width",
                           styles={"color": "#b42318", "font-weight": "600",
                                   "font-family": FONT})
        self._run: Any = None
        self._sent = 0
        self.present = False
        watch(session, self.update, ["run", "n_steps", "playing", "message"])
        watch(session, self._on_message, ["message"])
        self.update()
        self._on_message()

    def __panel__(self) -> Any:
        return pn.Column(pn.pane.Bokeh(self.div, margin=(0, 10), sizing_mode="stretch_width"),
                         pn.pane.Bokeh(self.message, margin=(0, 10), sizing_mode="stretch_width"),
                         margin=0, sizing_mode="stretch_width")

    def _on_message(self, *events: Any) -> None:
        text = self.session.message
        self.message.text = html.escape(text)
        self.message.visible = bool(text)

    def note(self, k: int | None = None) -> str:
        """What step ``k`` (default: the shown one) did, or that the run finished."""
        s, run = self.session, self.session.run
        f = s.frame if k is None or run is None or not run.n_frames else \
            run.frames[min(k, run.n_frames - 1)]
        if run is None or f is None:
            if run is not None and getattr(run, "done", False) is False and s.objective_obj.kind \
                    != "test_function":
                return "paused: press Play or Step to evaluate" if not s.playing else "training…"
            return "computing…" if run is not None else ""
        done = run.done  # before the frame count: a run seen done has all its frames counted
        n = max(min(int(s.n_steps), run.n_frames), 1)
        k = min(s.step if k is None else k, n - 1)
        at_end = k >= n - 1
        if at_end and done and n >= run.n_frames:
            end = finished_note(run)
            if f.role == ROLE_CANDIDATE and f.label:
                return f"{end} · {f.label}" if end else f.label
            return end or f.label
        parts = []
        if at_end:
            live = s.objective_obj.kind != "test_function"
            parts.append(("training…" if s.playing else "paused: press Play or Step to "
                          "evaluate") if live else "computing…")
        if f.role == ROLE_CANDIDATE or f.label:
            parts.append(f.label)
        return " · ".join(p for p in parts if p)

    def text(self, k: int | None = None) -> str:
        """The status line's HTML at step ``k`` (default: the shown step)."""
        s, run = self.session, self.session.run
        metric = metric_label(s.objective_obj)
        size = 18 if self.present else 14.5
        n = min(int(s.n_steps), run.n_frames) if run is not None else 0
        if run is None or not n:
            return status_html(0, s.budget, None, None, 0, 0, metric=metric, note=self.note(),
                               size=size)
        k = min(s.step if k is None else k, n - 1)
        f = run.frames[k]
        return status_html(f.end, s.budget, f.best_value, run.best_config(k), k, n,
                           metric=metric, note=self.note(k), size=size)

    def update(self, *events: Any) -> None:
        """Texts of the new steps, and the last step's again (it says whether the run goes
        on); the whole table for a new run or a new presentation size."""
        s, run = self.session, self.session.run
        n = min(int(s.n_steps), run.n_frames) if run is not None else 0
        rebuild = run is not self._run or any(e.name == "present" for e in events) or \
            n < self._sent
        if rebuild:
            self._run, self._sent = run, 0
        # every row again (idempotent, see LandscapeView._on_frames); each text says "step k
        # of n", so all are made again when n grows
        texts = [self.text(k) for k in range(n)]
        if rebuild or n != self._sent or texts != list(self.frames.data["status"]):
            self.frames.data = {"step": list(range(n)),
                                "end": [run.frames[k].end for k in range(n)],
                                "status": texts}
        self._sent = n
        # the page shows the row of the step it plays; this is the text of the step the server
        # knows (a page that loads now, a paused or live run)
        self.div.text = self.text()

    def refresh(self) -> None:
        """Every text again (presentation size changed)."""
        self._run = None
        self.update()
