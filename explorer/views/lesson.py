"""The lesson bar (scene title, caption, Back / Next, keyboard) and the export buttons.

:class:`LessonView` shows the session's scene (:mod:`explorer.lesson`): a menu of the scenes,
Back and Next buttons, the scene's title and its caption, whose numbers are computed from the
shown run, the race and the γ strip each time they change (not on every played step). With
``controls=minimal`` it asks the sidebar to show only the controls the scene needs.

Keyboard (:meth:`LessonView.install_keyboard`, called once per server document): → next scene,
← previous scene, space play/pause, s one step. A Bokeh ``CustomJS`` run on the document's
``DocumentReady`` event adds one ``keydown`` listener to the page; it ignores keys typed into
inputs, text areas, menus and sliders and keys with a modifier, and writes the key into a small
``ColumnDataSource`` whose change the server handles. Nothing is loaded from outside.

:class:`ExportView` holds ``pn.widgets.FileDownload`` buttons whose callbacks render the
downloads on the server (:mod:`explorer.export`): the plots as a PNG, the run as CSV, as a
journal and as an animated GIF. The callbacks are coroutines that render in a worker thread, so
a GIF being drawn does not hold up the other sessions on the server.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from typing import Any

import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS, Div

from explorer.clock import held
from explorer.lesson import SCENES, caption, get_scene
from explorer.model import Session
from explorer.views.theme import FONT

__all__ = ["KEYS", "ExportView", "LessonView"]

log = logging.getLogger(__name__)

#: Key (``KeyboardEvent.key``) -> command.
KEYS = {"ArrowRight": "next", "ArrowLeft": "back", " ": "play", "s": "step", "S": "step"}

_KEYBOARD_JS = """
if (window.explorerLessonKeys) { return; }
window.explorerLessonKeys = true;
const commands = %s;
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.repeat) { return; }
  const path = e.composedPath ? e.composedPath() : [e.target];
  for (const el of path) {
    if (!el || !el.tagName) { continue; }
    const tag = el.tagName.toUpperCase();
    const role = el.getAttribute ? (el.getAttribute('role') || '') : '';
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable
        || role === 'slider' || role === 'textbox' || role === 'combobox') { return; }
  }
  const command = commands[e.key];
  if (!command) { return; }
  e.preventDefault();
  const n = keys.data.n && keys.data.n.length ? keys.data.n[0] + 1 : 1;
  keys.data = {command: [command], n: [n]};
});
"""


class LessonView(pn.viewable.Viewer):
    """The lesson bar of one page (module docstring).

    Parameters
    ----------
    session : Session
    runner : explorer.runner.Runner
        Its ``play``, ``pause`` and ``step`` serve the keyboard.
    show_only : callable, optional
        ``show_only(names or None)``: the sidebar's :meth:`explorer.controls.Controls.show_only`.
    """

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, runner: Any = None, show_only: Any = None,
                 **params: Any) -> None:
        super().__init__(session=session, **params)
        self.runner = runner
        self.show_only = show_only
        self.back = pn.widgets.Button(label="◀ Back", width=80, margin=(5, 4))
        self.next = pn.widgets.Button(label="Next ▶", color="primary", width=80,
                                      margin=(5, 4))
        self.menu = pn.widgets.Select.from_param(session.param.scene, name="", width=330,
                                                 margin=(5, 8))
        self.back.on_click(lambda e: self._safely(self.go_back))
        self.next.on_click(lambda e: self._safely(self.go_next))
        self.title = Div(text="", name="lesson-title", styles={"font-family": FONT})
        self.caption = Div(text="", name="lesson-caption", sizing_mode="stretch_width",
                           styles={"font-family": FONT, "font-size": "14px", "color": "#1f2933",
                                   "line-height": "1.4"})
        self.keys = ColumnDataSource(data={"command": [], "n": []}, name="lesson-keys")
        self.keys.on_change("data", held(self._on_key))
        # the keyboard's source rides on the caption (so it is a model of the page) and is
        # written by the listener that install_keyboard adds
        self.caption.js_on_change("tags", CustomJS(args={"keys": self.keys}, code=""))
        self._on_scene()

    # -- commands -------------------------------------------------------------------------------
    def go_next(self) -> None:
        """The next scene (from no scene: the first; the last stays)."""
        keys = [s.key for s in SCENES]
        cur = self.session.scene
        i = keys.index(cur) + 1 if cur in keys else 0
        self.session.scene = keys[min(i, len(keys) - 1)]

    def go_back(self) -> None:
        """The previous scene (the first stays)."""
        keys = [s.key for s in SCENES]
        cur = self.session.scene
        i = keys.index(cur) - 1 if cur in keys else 0
        self.session.scene = keys[max(i, 0)]

    def command(self, name: str) -> None:
        """A keyboard command: ``next``, ``back``, ``play`` (play/pause) or ``step``."""
        if name == "next":
            self.go_next()
        elif name == "back":
            self.go_back()
        elif self.runner is None:
            return
        elif name == "play":
            (self.runner.pause if self.session.playing else self.runner.play)()
        elif name == "step":
            self.runner.step()

    def _safely(self, fn: Any, *args: Any) -> None:
        try:
            with pn.io.hold():
                fn(*args)
        except Exception as err:  # a key or a button must never break the page
            log.exception("lesson command failed")
            if self.runner is not None:
                self.runner.fail(err)

    def _on_key(self, attr: str, old: Any, new: Any) -> None:
        commands = list(new.get("command", []))
        if commands and commands[0] in KEYS.values():
            self._safely(self.command, commands[0])

    # -- what the bar shows ---------------------------------------------------------------------
    @param.depends("session.scene", "session.controls", watch=True)
    @held
    def _on_scene(self) -> None:
        s = self.session
        keys = [sc.key for sc in SCENES]
        self.back.disabled = s.scene not in keys or s.scene == keys[0]
        self.next.disabled = s.scene == keys[-1]
        self.next.label = "Start ▶" if not s.scene else "Next ▶"
        if self.show_only is not None:
            minimal = bool(s.scene) and s.controls == "minimal"
            self.show_only(get_scene(s.scene).needs if minimal else None)
        self._refresh()

    def caption_text(self) -> str:
        """The shown scene's caption (plain text) or the lesson's invitation."""
        s = self.session
        if not s.scene:
            return ("Start walks through the thesis' story in "
                    f"{len(SCENES)} scenes: grid and random search, sparse grids, γ, the "
                    "surrogate, the race, a neural network, adaptive random search.")
        return caption(s.scene, s.run, s.race, s.strip)

    @param.depends("session.run", "session.n_steps", "session.race", "session.strip",
                   watch=True)
    @held
    def _refresh(self) -> None:
        s = self.session
        keys = [sc.key for sc in SCENES]
        where = (f"scene {keys.index(s.scene) + 1} of {len(keys)}" if s.scene else
                 f"{len(keys)} scenes")
        try:
            text = self.caption_text()
        except Exception as err:  # a caption must never break the page
            log.exception("lesson caption failed")
            text = f"(caption unavailable: {type(err).__name__})"
        title = html.escape(get_scene(s.scene).title) if s.scene else "Lesson mode"
        new_title = (f"<span style='font-size:13px;color:#52606d'><b style='color:#e4572e'>"
                     f"{title}</b> · {where} · keys: → next, ← back, space play/pause, "
                     "s step</span>")
        new_caption = html.escape(text)
        if self.title.text != new_title:
            self.title.text = new_title
        if self.caption.text != new_caption:
            self.caption.text = new_caption

    def install_keyboard(self, doc: Any) -> None:
        """Add the page's key listener to Bokeh document ``doc`` (once per page)."""
        import json

        code = _KEYBOARD_JS % json.dumps(KEYS)
        doc.js_on_event("document_ready", CustomJS(args={"keys": self.keys}, code=code))

    def __panel__(self) -> Any:
        bar = pn.Row(self.back, self.next, self.menu, sizing_mode="stretch_width", margin=0)
        return pn.Column(bar, pn.pane.Bokeh(self.title, margin=(0, 12)),
                         pn.pane.Bokeh(self.caption, sizing_mode="stretch_width",
                                       margin=(0, 12, 6, 12)),
                         sizing_mode="stretch_width", margin=(0, 5),
                         styles={"background": "#fff8f3", "border-left": "4px solid #e4572e"})


class ExportView(pn.viewable.Viewer):
    """Download buttons for the shown run (module docstring)."""

    session = param.ClassSelector(class_=Session)

    LABELS = {"png": "Plots (PNG)", "csv": "Run (CSV)", "journal": "Journal",
              "gif": "Animation (GIF)"}

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session=session, **params)
        self.buttons = {
            kind: pn.widgets.FileDownload(
                callback=self._callback(kind), filename=f"run.{ext}",
                label=label, embed=False, color="light", sizing_mode="stretch_width",
                margin=(3, 4))
            for (kind, label), ext in zip(self.LABELS.items(), ("png", "csv", "jsonl", "gif"),
                                          strict=True)
        }
        self._names()

    @param.depends("session.run", watch=True)
    @held
    def _names(self) -> None:
        from explorer.export import session_exports

        for kind, (filename, _) in session_exports(self.session).items():
            self.buttons[kind].filename = filename

    def _callback(self, kind: str) -> Any:
        """The button's callback: a coroutine function, which ``FileDownload`` awaits on the
        server's event loop, so the other sessions go on while the file is rendered."""

        async def download() -> io.BytesIO | None:
            return await self.download(kind)

        return download

    async def download(self, kind: str) -> io.BytesIO | None:
        """The file of ``kind`` for the shown run, rendered in a worker thread (a PNG or a GIF
        takes seconds of matplotlib); ``None`` when there is no run or rendering failed (the
        error is logged; a download never breaks the page). What is drawn is taken from the
        session when the button is pressed."""
        from explorer.export import session_exports

        exports = session_exports(self.session)
        if kind not in exports:
            return None
        try:
            data = await asyncio.to_thread(exports[kind][1])
        except Exception:  # a download must never break the page
            log.exception("explorer export failed")
            return None
        return io.BytesIO(data)

    def __panel__(self) -> Any:
        b = self.buttons
        return pn.Column(
            pn.pane.HTML("<b>Export</b> (the shown run)", margin=(10, 10, 0, 10)),
            pn.Row(b["png"], b["gif"], sizing_mode="stretch_width", margin=0),
            pn.Row(b["csv"], b["journal"], sizing_mode="stretch_width", margin=0),
            sizing_mode="stretch_width", margin=0,
        )
