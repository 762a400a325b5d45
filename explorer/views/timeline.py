"""The run on the page: every known frame is sent once, and the page plays the steps by itself.

The views keep every row they know of a run in their sources (all frames of a finished run at
once; a run still computing, or evaluated live, gets its new frames streamed), each row with the
``step`` (frame) it belongs to. Which step the page shows is kept in the page, in the small
``shown-step`` source: a ``CustomJS`` writes the step into it in place (no message to the
server) and asks the step filters to recompute. Each animated renderer draws its source through
a ``CDSView`` whose ``CustomJSFilter`` keeps the rows of the shown step (``"at"``), of every
step up to it (``"upto"``), or the first rows up to the shown step's evaluation count
(``"rows"``: the γ strip's grids). The same callback copies the shown step's texts (status line)
and positions (the convergence cursor) from the ``frames`` source, one row per frame, without
sending them back to the server (BokehJS ``setv(..., {sync: false})``).

The page's clock. The history control is a ``pn.widgets.Player`` whose value is the shown step
and whose ``direction`` says whether the page plays (set by the server from
``session.animate``). Its own timer is parked (:data:`PARKED_INTERVAL_MS`): while it plays, the
page's clock (:data:`CLOCK_JS`, started when ``direction`` becomes 1 and when the page is ready)
advances the step at the pace of the ``page-clock`` source (``interval`` in ms, ``loop``) and
moves the player's slider with ``{sync: false}``. So a played step costs no message at all. The
page tells the server the step it shows at most every :data:`REPORT_MS` ms while it plays (the
server then sends the model image of that step), when it stops by itself at the last known
frame (the step, then ``direction`` 0) and when the server paused it; each report is one write
of the player's ``value_throttled``, which the server reads as the shown step. A tab that
closes has therefore at most one report in flight, not one message per played step.

The server moves the step (seek, step, reset, a live run's new frame) by writing the
``shown-step`` source with a new ``seq``: a page whose step the server does not know exactly
(it played since its last report) still goes where the server says.

Panel applies the page's writes of the player in batches, keeping the newest value of each
property: the page's last report and its ``direction`` 0 may arrive together with a move the
visitor made just after, whose step replaces the report. So a report is never answered with
the server's direction (it may be out of date by then); a ``direction`` 0 from a page that
should play means its clock stopped (the server's next tick starts it again if frames are
ahead); and a write of ``value`` to a stopped player pauses the session (``on_move``) before
its step is read: only the visitor's slider sends ``value`` (the clock and the seeks move it
without a message), so the page stays where the visitor put it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import param
from bokeh.models import CDSView, ColumnDataSource, CustomJS, CustomJSFilter

from explorer.clock import held

__all__ = ["CLOCK_JS", "FILTER_MODES", "PARKED_INTERVAL_MS", "PLAYER_TAG", "REPORT_MS",
           "Timeline", "interval_ms"]

#: While the page plays, it reports its step to the server at most this often (ms).
REPORT_MS = 200
#: The player's own timer interval: the largest delay browsers honour (2**31 - 1 ms, 24.8
#: days), so that timer never fires; the page's clock advances the player instead.
PARKED_INTERVAL_MS = 2**31 - 1
#: Tag of the history player's Bokeh model (the page's callbacks find it by this tag).
PLAYER_TAG = "explorer-history-player"

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
// the player's label shows its value (its view redraws the label when its title changes)
if (FROM_PLAYER) { cb_obj.properties.title.change.emit(); }
// texts and positions change in the page only ({sync: false})
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

#: The page's clock (module docstring): ``player`` (the history player), ``shown``, ``frames``
#: and ``clock`` in scope. Restarts itself on every call; plays while ``player.direction`` is 1.
CLOCK_JS = f"""
const clocks = (window.explorerClocks ??= new Map());
const report = (k) => {{ if (player.value_throttled !== k) {{ player.value_throttled = k; }} }};
const running = clocks.get(player.id);
if (running !== undefined) {{ clearTimeout(running); clocks.delete(player.id); }}
if (player.direction !== 1) {{
  // paused by the server: report the shown step once the rest of its message is applied
  if (running !== undefined) {{ setTimeout(() => report(shown.data.step[0]), 0); }}
}} else {{
  let reported = performance.now();
  const tick = () => {{
    if (player.direction !== 1) {{ clocks.delete(player.id); return; }}
    const last = Math.min(frames.data.end.length - 1, player.end);
    let k = shown.data.step[0] + 1;
    if (k > last) {{
      if (clock.data.loop[0] && last > 0) {{ k = 0; }} else {{
        clocks.delete(player.id);
        report(shown.data.step[0]);
        player.direction = 0;  // the server hears: stopped at the last frame the page has
        return;
      }}
    }}
    player.setv({{value: k}}, {{sync: false}});  // its value callback shows step k
    const now = performance.now();
    if (now - reported >= {REPORT_MS}) {{ reported = now; report(k); }}
    clocks.set(player.id, setTimeout(tick, clock.data.interval[0]));
  }};
  clocks.set(player.id, setTimeout(tick, clock.data.interval[0]));
}}
"""

_KEEP_TEXT_CODE = """
const col = frames.data[column];
const n = col === undefined ? 0 : col.length;
if (n > 0) {
  const t = col[Math.min(shown.data.step[0], n - 1)];
  if (cb_obj.text !== t) { cb_obj.setv({text: t}, {sync: false}); }
}
"""

_FIND_PLAYER = (f"const player = Array.from(shown.document?.all_models ?? [])"
                f".find((m) => (m.tags ?? []).includes('{PLAYER_TAG}'));\n")

#: The server moved the step: show it and move the slider (no message back).
_SEEK_CODE = _FIND_PLAYER + """
if (player !== undefined) {  // value_throttled too: a later report of this step is not news
  const k = shown.data.step[0];
  player.setv({value: k, value_throttled: k}, {sync: false});
}
"""


def interval_ms(speed: float) -> int:
    """The page clock's interval (ms per step) for ``speed`` steps per second."""
    return max(int(round(1000.0 / max(float(speed), 0.1))), 10)


class Timeline(param.Parameterized):
    """The shown step in the page and the filters and callbacks that follow it.

    Attributes
    ----------
    shown : ColumnDataSource
        ``{"step": [k], "end": [evaluations of step k], "seq": [n]}``: written in place by the
        page; the server writes it (with the next ``seq``) when it moves the step.
    frames : ColumnDataSource
        One row per known frame: ``step``, ``end`` and the texts and positions registered
        with :meth:`show_text` and :meth:`show_location` (written by the status view).
    clock : ColumnDataSource
        The page clock's pace: ``{"interval": [ms per step], "loop": [0 or 1]}``.
    """

    session = param.Parameter(default=None, doc="The explorer.model.Session whose step the "
                              "history player shows (set by attach).")

    def __init__(self) -> None:
        super().__init__()
        self.shown = ColumnDataSource({"step": [0], "end": [0], "seq": [0]}, name="shown-step")
        self.frames = ColumnDataSource({"step": [], "end": []}, name="frames")
        self.clock = ColumnDataSource({"interval": [400], "loop": [0]}, name="page-clock")
        self.filters: list[CustomJSFilter] = []
        self.divs: list[Any] = []
        self.div_columns: list[str] = []
        self.spans: list[Any] = []
        self.span_columns: list[str] = []
        self.player: Any = None
        self.on_end: Any = None
        self.on_move: Any = None
        self._seq = 0
        self._from_page = False
        self._to_page = False

    def finish(self) -> None:
        """Re-show the shown step whenever ``frames`` changes (call once every filter, text and
        location is registered: the callback's arguments are copied when it is made)."""
        for event in ("data", "streaming", "patching"):
            self.frames.js_on_change(event, self._callback(False))
        for div, column in zip(self.divs, self.div_columns, strict=True):
            # a text the server sets is that of the step it last heard of: the page keeps
            # showing the text of the step it shows
            div.js_on_change("text", CustomJS(
                args={"shown": self.shown, "frames": self.frames, "column": column},
                code=_KEEP_TEXT_CODE))
        self.shown.js_on_change("data", CustomJS(args=self._args(),
                                                 code=f"const FROM_PLAYER = false;\n"
                                                 f"{_SHOW_CODE}\n{_SEEK_CODE}"))

    def resend(self) -> None:
        """The page clock's pace and the shown step again, once the page has loaded
        (``explorer.clock``): a change made between the page's HTML and its connection (a
        link's speed, which Panel's location sync may apply then) never reached it. (An equal
        value assigned again is no change for Bokeh: ``trigger`` sends it all the same.)"""
        for source in (self.clock, self.shown):
            source.trigger("data", source.data, source.data)

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

    # -- the history player -----------------------------------------------------------------
    def attach(self, player: Any, session: Any, on_end: Any, on_move: Any = None) -> None:
        """Make ``player`` (a ``pn.widgets.Player``, tagged :data:`PLAYER_TAG`) the page's
        history control for ``session`` (module docstring); ``on_end()`` is called when the
        page stopped by itself at the last frame it has, ``on_move()`` when the visitor moved
        the slider of a stopped player. Both directions run inside
        :func:`explorer.clock.held`."""
        import panel as pn

        # the session -> player direction: the depends methods below follow this session from
        # now on, after the views (param calls the reactions in the order they were
        # registered); setting it calls them once, which does nothing without a player yet
        self.session = session
        self.player, self.on_end = player, on_end
        self.on_move = on_move
        player.param.update(interval=PARKED_INTERVAL_MS, tags=[*player.tags, PLAYER_TAG])
        args, code = self.player_callback()
        player.jscallback(args=args, value=code)
        clock_args = {"shown": self.shown, "frames": self.frames, "clock": self.clock}
        player.jscallback(args=clock_args, direction="const player = cb_obj;\n" + CLOCK_JS)
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            # a page that loads while its player already plays starts its clock when ready
            doc.js_on_event("document_ready", CustomJS(
                args=clock_args, code=_FIND_PLAYER + "if (player !== undefined) {\n"
                + CLOCK_JS + "}"))
        # The player -> session direction stays a watch: it must hear every write from the
        # page, even of the value the server last had (a visitor's step back to the step the
        # server last sent is news: onlychanged=False), and which properties the page wrote
        # and their new values (the events); param.depends gives neither.
        player.param.watch(held(self._from_player), ["value", "value_throttled", "direction"],
                           onlychanged=False)
        self._to_player()

    @param.depends("session.step", watch=True)
    @held
    def _on_step(self) -> None:
        """The session's step moved: the page goes there unless it reported that step."""
        self._to_player(moved=not self._from_page)

    @param.depends("session.n_steps", "session.animate", "session.speed", "session.loop",
                   watch=True)
    @held
    def _on_pace(self) -> None:
        self._to_player()

    def _to_player(self, moved: bool = False) -> None:
        """The player's end and direction and the page clock's pace from the session; with
        ``moved``, the session's step too."""
        s, p = self.session, self.player
        if p is None:
            return
        # the step goes to the page only when the server moved it: a step the page reported
        # is not sent back, and the server's last known step is not re-sent with other changes
        # (the page may have moved on since)
        want = {"end": max(int(s.n_steps) - 1, 1)}
        if not self._from_page:  # a report is not answered with the direction the server had
            want["direction"] = 1 if s.animate else 0  # (the page may have stopped since)
        if moved:
            want["value"] = int(s.step)
        changed = {k: v for k, v in want.items() if getattr(p, k) != v}
        if changed:
            self._to_page = True  # (the player's watcher hears these: not the visitor's)
            try:
                p.param.update(**changed)
            finally:
                self._to_page = False
        clock = {"interval": [interval_ms(s.speed)], "loop": [int(bool(s.loop))]}
        if dict(self.clock.data) != clock:
            self.clock.data = clock
        if not moved:
            return
        # the server moved the step: the page goes there even if it played on since its last
        # report (then its player's value may equal the server's and would not be sent)
        run, k = s.run, int(s.step)
        end = run.frames[min(k, run.n_frames - 1)].end if run is not None and \
            run.n_frames else 0
        self._seq += 1
        self.shown.data = {"step": [k], "end": [end], "seq": [self._seq]}

    def _from_player(self, *events: Any) -> None:
        """The page reported its step (or the visitor moved the slider), or its clock stopped
        at the last frame it has."""
        s = self.session
        if self._to_page:
            return  # the server's own writes
        if (self.on_move is not None and self.player.direction == 0
                and any(e.name == "value" for e in events)):
            # the visitor moved the slider of the stopped player (only they write `value` from
            # the page, module docstring), maybe in one batch with the page's end whose step
            # it replaced: told first, so the server does not start the page's clock again
            self.on_move()
        for e in events:
            if e.name in ("value", "value_throttled"):
                if int(e.new) == s.step:
                    continue
                self._from_page = True
                try:
                    s.step = int(np.clip(int(e.new), 0, max(int(s.n_steps) - 1, 0)))
                finally:
                    self._from_page = False
            elif e.name == "direction" and e.new == 0 and s.animate and not s.loop:
                # The page's clock stopped at the last frame it has (or Panel's view flipped
                # the direction to 0 and back when drawn): the server hears that it stopped,
                # and its next tick starts it again if frames are ahead.
                self.on_end()
                continue
            elif e.name != "direction" or e.new != 0:
                continue
            # The page stops at the last frame it has (reporting it, then direction 0): the
            # report says so even when the server's direction was already 0.
            if (s.animate or s.playing) and not s.loop and s.step >= s.n_steps - 1:
                self.on_end()
