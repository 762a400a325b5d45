"""The refinement inspector: the Novak-Ritter selection of the shown step, with the live formula.

The table lists the best-ranked candidates of the refinement that created the shown batch (rank
of the value, level sum, times refined, criterion ``g``); the refined point is highlighted. It
updates at most every :data:`SLOW_PERIOD` seconds while playing (nobody reads a table at 20
steps per second, and each costs the page a re-layout), and at every step when stepping.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import panel as pn
import param

from explorer.clock import watch
from explorer.model import Session
from explorer.views.tables import (
    LEVEL_OF_POINT,
    LEVEL_SUM,
    inspector_html,
    make_div,
    set_html,
)

__all__ = ["InspectorView", "SLOW_PERIOD"]

#: While playing, the slow views (inspector, γ strip, learning curve) update at most this often.
SLOW_PERIOD = 0.5


class SlowView(pn.viewable.Viewer):
    """A view that follows the shown step at most every :data:`SLOW_PERIOD` s while playing."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session=session, **params)
        self._at = 0.0
        self._dirty = False
        watch(session, self._maybe, ["step", "playing", "n_steps"])

    def _maybe(self, *events: Any) -> None:
        now = time.perf_counter()
        if self.session.playing and now - self._at < SLOW_PERIOD:
            self._dirty = True
            return
        self._at = now
        self._dirty = False
        self.render()

    def render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class InspectorView(SlowView):
    """The refinement table (a Bokeh ``Div`` named ``inspector``)."""

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self.div = make_div("inspector", sizing_mode="stretch_width")
        self._shown: Any = None
        watch(session, self._reset, ["run", "gamma"])
        self._reset()

    def __panel__(self) -> Any:
        return pn.pane.Bokeh(self.div, sizing_mode="stretch_width")

    def _reset(self, *events: Any) -> None:
        self._shown = ("reset",)
        self.render()

    def render(self) -> None:
        s, run, f = self.session, self.session.run, self.session.frame
        names = list(s.objective_obj.space.names)
        selects = run is not None and any(fr.refinement is not None for fr in run.frames)
        if run is None or f is None or f.refinement is None:
            other = "none" if not selects and run is not None and run.done else "other"
            if self._shown != other:
                self._shown = other
                text = inspector_html(None, s.gamma, np.zeros((0, 1)), np.zeros(0), ())
                if other == "none":
                    text += ("<p class='muted'>The refinement inspector shows the Novak-Ritter "
                             "selection of sparse-grid runs and the criterion of adaptive "
                             "random search. Choose one of them to see it.</p>")
                set_html(self.div, text)
            return
        if f.refinement is self._shown:
            return
        self._shown = f.refinement
        cols = list(range(run.d)) if run.d <= 3 else list(s.dims)
        sel = f.refinement
        set_html(self.div, inspector_html(
            sel, float(sel.gamma), run.X[: f.end, cols], run.y[: f.end],
            [names[c] for c in cols],
            level=LEVEL_OF_POINT if sel.level_kind == "point_level" else LEVEL_SUM,
        ))
