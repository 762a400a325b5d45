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

from explorer.clock import held
from explorer.engine import ROLE_CANDIDATE, RaceResult
from explorer.model import Session
from explorer.views.tables import (
    _fmt,
    entry_title,
    make_div,
    metric_label,
    played_title,
    status_html,
)
from explorer.views.theme import FONT, TEXT
from explorer.views.timeline import Timeline

__all__ = ["COMPARED_WITH", "StatusView", "finished_note", "live_note", "race_sentence"]

#: The method the race sentence compares the sparse grids with.
COMPARED_WITH = "bayesian"


def live_note(objective: Any) -> str:
    """What a live run is doing: following a journal or a study as it is written, or
    training."""
    kind = getattr(objective, "kind", "")
    if kind == "journal" and getattr(objective, "path", None) is not None:
        return f"following {objective.path.name}"
    if kind == "study":
        return f"following {getattr(objective, 'title', 'the study')}"
    return "training…"


def race_sentence(session: Session) -> str:
    """After a run: how each raced sparse grid compares with :data:`COMPARED_WITH` on this
    objective, in one sentence (plain text, from the race's results; ``""`` until they are
    all in)."""
    from explorer.background import RACED_VARIANTS, entry_of, race_entries

    s, run = session, session.run
    if run is None or not run.done or run.error or not run.n_frames:
        return ""
    shown = entry_of(s.method, s.variant)
    values: dict[str, float] = {}
    for entry in race_entries():
        if entry == shown:
            values[entry] = float(run.frames[-1].best_value)
        else:
            res = s.race.get(entry)
            if isinstance(res, RaceResult) and not res.error:
                values[entry] = float(res.best_value)
    grids = [e for e, (m, _) in race_entries().items() if m in RACED_VARIANTS]
    if COMPARED_WITH not in values or not grids or any(e not in values for e in grids):
        return ""
    objective = s.objective_obj
    f_opt = getattr(objective, "f_opt", None) if objective.kind == "test_function" else None

    def gap(entry: str) -> float:
        return values[entry] - f_opt if f_opt is not None else values[entry]

    def name(entry: str) -> str:
        return played_title(s) if entry == shown else entry_title(entry)

    ref, other = gap(COMPARED_WITH), name(COMPARED_WITH)
    what = "distance to the minimum" if f_opt is not None else \
        f"best {metric_label(objective)}"
    order = sorted(grids, key=gap)
    values_text = ", ".join(f"{name(e)} {_fmt(gap(e), 3)}" for e in order)
    winners = [name(e) for e in order if gap(e) < ref]
    if not winners:
        verdict = f"no sparse grid beats {other}"
    elif len(winners) == len(grids):
        verdict = f"every sparse grid beats {other}"
    else:
        verb = "beats" if len(winners) == 1 else "beat"
        verdict = f"only {' and '.join(winners)} {verb} {other}"
    title = getattr(objective, "title", s.objective)
    return (f"On {title} with {run.budget} evaluations, {what}: {values_text}, {other} "
            f"{_fmt(ref, 3)}: {verdict}.")


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
        self.race_div = Div(text="", name="race-summary", visible=False,
                            sizing_mode="stretch_width")
        self.message = Div(text="", name="message", visible=False, sizing_mode="stretch_width",
                           styles={"color": "#b42318", "font-weight": "600",
                                   "font-family": FONT})
        self._run: Any = None
        self._sent = 0
        self.present = False
        self.update()
        self._on_message()
        self._on_race()

    def __panel__(self) -> Any:
        return pn.Column(pn.pane.Bokeh(self.div, margin=(0, 10), sizing_mode="stretch_width"),
                         pn.pane.Bokeh(self.race_div, margin=(0, 10),
                                       sizing_mode="stretch_width"),
                         pn.pane.Bokeh(self.message, margin=(0, 10), sizing_mode="stretch_width"),
                         margin=0, sizing_mode="stretch_width")

    # (param calls the methods that follow the session in the order they are defined here)
    @param.depends("session.run", "session.n_steps", "session.playing", "session.message",
                   watch=True)
    @held
    def update(self) -> None:
        """Texts of the new steps, and the last step's again (it says whether the run goes
        on); the whole table for a new run (:meth:`refresh`: a new presentation size)."""
        s, run = self.session, self.session.run
        n = min(int(s.n_steps), run.n_frames) if run is not None else 0
        rebuild = run is not self._run or n < self._sent
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

    @param.depends("session.message", watch=True)
    @held
    def _on_message(self) -> None:
        text = self.session.message
        self.message.text = html.escape(text)
        self.message.visible = bool(text)

    @param.depends("session.run", "session.race", "session.n_steps", "session.step",
                   watch=True)
    @held
    def _on_race(self) -> None:
        """The race sentence under the status line, once the run is shown to its end and the
        race is over (not before: the class watches the run first)."""
        s, run = self.session, self.session.run
        at_end = run is not None and run.done and s.step >= run.n_frames - 1
        text = race_sentence(s) if at_end else ""
        size = 16 if self.present else 13.5
        html_text = (f"<div style='font-size:{size}px;line-height:1.3;font-family:{FONT};"
                     f"color:{TEXT}'>{html.escape(text)}</div>") if text else ""
        if self.race_div.text != html_text:
            self.race_div.text = html_text
        if self.race_div.visible != bool(text):
            self.race_div.visible = bool(text)

    def note(self, k: int | None = None) -> str:
        """What step ``k`` (default: the shown one) did, or that the run finished."""
        s, run = self.session, self.session.run
        f = s.frame if k is None or run is None or not run.n_frames else \
            run.frames[min(k, run.n_frames - 1)]
        if run is None or f is None:
            if run is not None and getattr(run, "done", False) is False and s.objective_obj.kind \
                    != "test_function":
                return "paused: press Play or Step to evaluate" if not s.playing else \
                    live_note(s.objective_obj)
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
            parts.append((live_note(s.objective_obj) if s.playing else "paused: press Play "
                          "or Step to evaluate") if live else "computing…")
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

    def refresh(self) -> None:
        """Every text again (presentation size changed)."""
        self._run = None
        self.update()
        self._on_race()
