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

from explorer.clock import held
from explorer.model import Session
from explorer.views.tables import (
    LEVEL_OF_POINT,
    LEVEL_SUM,
    inspector_html,
    make_div,
    set_html,
    where_html,
)

__all__ = ["InspectorView", "SLOW_PERIOD", "kind_text", "stage_names"]

#: While playing, the slow views (inspector, γ strip, learning curve) update at most this often.
SLOW_PERIOD = 0.5


class SlowView(pn.viewable.Viewer):
    """A view that follows the shown step at most every :data:`SLOW_PERIOD` s while playing."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session=session, **params)
        self._at = 0.0
        self._dirty = False

    @param.depends("session.step", "session.playing", "session.n_steps", watch=True)
    @held
    def _maybe(self) -> None:
        now = time.perf_counter()
        if self.session.playing and now - self._at < SLOW_PERIOD:
            self._dirty = True
            return
        self._at = now
        self._dirty = False
        self.render()

    def render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def stage_names(origins: list[Any]) -> dict[int, str]:
    """Names of the grids of a run, by ``core.records.Origin.stage``: the first grid, each
    zoom stage (numbered within its global search) and each global restart's grid (the first
    stage of a restart, ``Origin.restart``)."""
    names: dict[int, str] = {}
    restarts: set[int] = set()
    zooms: dict[int, int] = {}
    for o in origins:
        if o is None or o.stage in names or o.kind not in ("grid", "candidate"):
            continue
        r = int(o.restart)
        if o.stage == 0:
            names[0] = "first grid"
        elif r > 0 and r not in restarts:
            restarts.add(r)
            names[o.stage] = f"global restart {r}"
        else:
            zooms[r] = zooms.get(r, 0) + 1
            names[o.stage] = f"zoom stage {zooms[r]}" + (f" of restart {r}" if r else "")
    return names


def kind_text(kind: str) -> str:
    """What a point of ``kind`` is, in core's words (``core.records.ORIGIN_KINDS``) up to
    their first parenthesis."""
    from core.records import ORIGIN_KINDS

    text = ORIGIN_KINDS.get(kind, kind).replace("``", "")
    return text.split(" (")[0]


class InspectorView(SlowView):
    """The refinement table (a Bokeh ``Div`` named ``inspector``)."""

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session, **params)
        self.div = make_div("inspector", sizing_mode="stretch_width")
        self._shown: Any = None
        self._origins: list[Any] = []  # the run's origins by row, read from its batches
        self._origins_run: Any = None
        self._batches = 0
        self._reset()

    def __panel__(self) -> Any:
        return pn.pane.Bokeh(self.div, sizing_mode="stretch_width")

    @param.depends("session.run", "session.gamma", watch=True)
    @held
    def _reset(self) -> None:
        self._shown = ("reset",)
        self.render()

    def origins(self, run: Any) -> list[Any]:
        """``core.records.Origin`` of each known row of ``run`` (None for a record without)."""
        if run is not self._origins_run:
            self._origins_run, self._origins, self._batches = run, [], 0
        batches = run.batches[: len(run.batches)]  # the worker may append meanwhile
        for b in batches[self._batches:]:
            self._origins += [e.origin for e in b.evaluations]
        self._batches = len(batches)
        return self._origins

    def where(self, run: Any, f: Any) -> str:
        """Which grid the shown step is in and what it did (zoom stages and restarts named),
        or ``""`` for a run with one grid and no local steps."""
        origins = self.origins(run)
        if f.start >= len(origins) or origins[f.start] is None:
            return ""
        staged = any(o is not None and (o.stage or o.restart or o.kind in
                                        ("model_step", "local_step")) for o in origins)
        if not staged:
            return ""
        o = origins[f.start]
        if o.kind == "local_step":
            after = f" (after {o.restart} global restart(s))" if o.restart else ""
            return kind_text(o.kind) + after
        grid = stage_names(origins).get(o.stage, f"stage {o.stage}")
        if o.kind == "grid" and f.refinement is None:
            return f"{grid}: its initial grid"
        if o.kind == "grid":
            return f"{grid}: refinement {f.refinement.step}"
        return f"{grid}: {kind_text(o.kind)}"

    def render(self) -> None:
        s, run, f = self.session, self.session.run, self.session.frame
        names = list(s.objective_obj.space.names)
        selects = run is not None and any(fr.refinement is not None for fr in run.frames)
        where = self.where(run, f) if run is not None and f is not None else ""
        if run is None or f is None or f.refinement is None:
            other = "none" if not selects and run is not None and run.done else "other"
            if self._shown != (other, where):
                self._shown = (other, where)
                text = where_html(where) + inspector_html(None, s.gamma, np.zeros((0, 1)),
                                                          np.zeros(0), ())
                if other == "none":
                    text += ("<p class='muted'>The refinement inspector shows the Novak-Ritter "
                             "selection of sparse-grid runs and the criterion of adaptive "
                             "random search. Choose one of them to see it.</p>")
                set_html(self.div, text)
            return
        if self._shown == (f.refinement, where):
            return
        self._shown = (f.refinement, where)
        cols = list(range(run.d)) if run.d <= 3 else list(s.dims)
        sel = f.refinement
        set_html(self.div, where_html(where) + inspector_html(
            sel, float(sel.gamma), run.X[: f.end, cols], run.y[: f.end],
            [names[c] for c in cols],
            level=LEVEL_OF_POINT if sel.level_kind == "point_level" else LEVEL_SUM,
        ))
