"""The run on the page: every known frame is sent once, and the page shows a step by itself.

The views keep every row they know of a run in their sources (all frames of a finished run at
once; a run still computing, or evaluated live, gets its new frames streamed), each row with the
``step`` (frame) it belongs to. Which step the page shows is the value of the session's
``pn.widgets.Player``: its own timer advances it in the browser, and a ``CustomJS`` on its value
(:meth:`Timeline.player_callback`) writes the step into the small ``shown-step`` source, in
place (no message to the server), and asks the step filters to recompute. Each animated
renderer draws its source through a ``CDSView`` whose ``CustomJSFilter`` keeps the rows of the
shown step (``"at"``), of every step up to it (``"upto"``), or the first rows up to the shown
step's evaluation count (``"rows"``: the γ strip's grids). The same callback copies the shown
step's texts (status line) and positions (the convergence cursor) from the ``frames`` source, one
row per frame, without sending them back to the server (BokehJS ``setv(..., {sync: false})``).
So playback pace never depends on the server: what it sends is data, once; what the page sends
per shown step is the player's value.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import CDSView, ColumnDataSource, CustomJS, CustomJSFilter

__all__ = ["FILTER_MODES", "Timeline"]

_FILTER_CODE = {
    "upto": "const s = source.data.step; const k = shown.data.step[0];\n"
            "return Array.from(s, (v) => v <= k);",
    "at": "const s = source.data.step; const k = shown.data.step[0];\n"
          "return Array.from(s, (v) => v == k);",
    "rows": "const n = source.get_length() ?? 0; const e = Math.max(shown.data.end[0], 1);\n"
            "const out = new Array(n); for (let i = 0; i < n; i++) { out[i] = i < e; }\n"
            "return out;",
}
#: What a step filter keeps: rows of the shown step, of all steps up to it, or the first rows.
FILTER_MODES = tuple(_FILTER_CODE)

_SHOW_CODE = """
const fr = frames.data;
const n = fr.end.length;
const k = FROM_PLAYER ? Math.max(0, Math.round(cb_obj.value)) : shown.data.step[0];
const i = Math.min(k, n - 1);
shown.data.step[0] = k;
shown.data.end[0] = i >= 0 ? fr.end[i] : 0;
for (const f of filters) { f.change.emit(); }
// texts and positions change in the page only ({sync: false}): the server knows the step
if (i >= 0) {
  for (let j = 0; j < divs.length; j++) {
    const t = fr[div_columns[j]][i];
    if (divs[j].text !== t) { divs[j].setv({text: t}, {sync: false}); }
  }
  for (let j = 0; j < spans.length; j++) {
    spans[j].setv({location: fr[span_columns[j]][i]}, {sync: false});
  }
}
"""


class Timeline:
    """The shown step in the page and the filters and callbacks that follow it.

    Attributes
    ----------
    shown : ColumnDataSource
        ``{"step": [k], "end": [evaluations of step k]}``, written by the page.
    frames : ColumnDataSource
        One row per known frame: ``step``, ``end`` and the texts and positions registered
        with :meth:`show_text` and :meth:`show_location` (written by the status view).
    """

    def __init__(self) -> None:
        self.shown = ColumnDataSource({"step": [0], "end": [0]}, name="shown-step")
        self.frames = ColumnDataSource({"step": [], "end": []}, name="frames")
        self.filters: list[CustomJSFilter] = []
        self.divs: list[Any] = []
        self.div_columns: list[str] = []
        self.spans: list[Any] = []
        self.span_columns: list[str] = []

    def finish(self) -> None:
        """Re-show the shown step whenever ``frames`` changes (call once every filter, text and
        location is registered: the callback's arguments are copied when it is made)."""
        for event in ("data", "streaming", "patching"):
            self.frames.js_on_change(event, self._callback(False))

    def view(self, mode: str) -> CDSView:
        """A ``CDSView`` showing the rows ``mode`` keeps (:data:`FILTER_MODES`)."""
        if mode not in _FILTER_CODE:
            raise ValueError(f"mode must be one of {', '.join(FILTER_MODES)}, got {mode!r}")
        f = CustomJSFilter(args={"shown": self.shown}, code=_FILTER_CODE[mode])
        self.filters.append(f)
        return CDSView(filter=f)

    def show_text(self, div: Any, column: str) -> None:
        """``div.text`` becomes column ``column`` of the shown step's row of ``frames``."""
        self.divs.append(div)
        self.div_columns.append(column)

    def show_location(self, span: Any, column: str) -> None:
        """``span.location`` becomes column ``column`` of the shown step's row."""
        self.spans.append(span)
        self.span_columns.append(column)

    def _args(self) -> dict[str, Any]:
        return {"shown": self.shown, "frames": self.frames, "filters": self.filters,
                "divs": self.divs, "div_columns": self.div_columns, "spans": self.spans,
                "span_columns": self.span_columns}

    def _callback(self, from_player: bool) -> CustomJS:
        code = f"const FROM_PLAYER = {'true' if from_player else 'false'};\n{_SHOW_CODE}"
        return CustomJS(args=self._args(), code=code)

    def player_callback(self) -> tuple[dict[str, Any], str]:
        """``(args, code)`` for ``player.jscallback(args=args, value=code)``."""
        return self._args(), f"const FROM_PLAYER = true;\n{_SHOW_CODE}"
