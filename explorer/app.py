"""The explorer page: widgets from the session model, the views, the template, the URL.

``create_app()`` builds one server session's page (``explorer/main.py`` serves it with ``panel
serve explorer``). :class:`ExplorerApp` is the same page without the template, for notebooks::

    app = ExplorerApp()                 # or ExplorerApp(Session(objective="ackley"))
    app                                  # displays it; app.session.gamma = 0.2 drives it

Structure: :class:`~explorer.model.Session` (what the views read) <- :class:`~explorer.runner.
Runner` (runs, race) <- :class:`~explorer.clock.Clock` (Panel's periodic callback); one
``pn.viewable.Viewer`` per view (:mod:`explorer.views`) follows the session; widgets are bound
with ``from_param``; the page's player animates known frames by itself
(:mod:`explorer.views.timeline`).
"""

from __future__ import annotations

import logging
from typing import Any

import panel as pn
from panel.theme import Fast as PanelFast

from explorer.clock import Clock
from explorer.closed_tabs import install_closed_tab_handler, install_detached_connection_filter
from explorer.controls import Controls
from explorer.model import Session
from explorer.runner import Runner
from explorer.services import Services
from explorer.views import Views
from explorer.views.lesson import ExportView, LessonView
from explorer.views.theme import FONT

__all__ = ["ExplorerApp", "create_app", "server_services"]

log = logging.getLogger(__name__)

_CSS = """
.bk-panel-models-markup-HTML, .markdown { font-size: 14px; }
"""

#: URL parameter -> session parameter (links reproduce an experiment and its display).
URL_PARAMETERS = {
    "objective": "objective", "method": "method", "variant": "variant", "gamma": "gamma",
    "budget": "budget", "optimizer": "optimizer", "degree": "degree", "initial_level": "level",
    "seed": "seed", "speed": "speed", "loop": "loop", "x_dim": "x", "y_dim": "y",
    "color_by": "color", "log_color": "log", "show_error": "error", "present": "present",
    "scene": "scene", "controls": "controls",
}


#: Width of the template's sidebar (px); the page's rows are laid out for it
#: (``explorer.views.Views.rows``).
SIDEBAR_WIDTH = 260


class Fast(PanelFast):
    """Panel's Fast design without its web font: the page loads nothing from outside the
    machine (system fonts, see ``views.theme.FONT``), so it looks the same offline. (The class
    keeps the name ``Fast``: Panel finds the design's bundled files by the class name.)"""

    _resources = {**PanelFast._resources, "font": {}}


def server_services() -> Services:
    """The services of this server process, created once (kept in ``pn.state.cache``)."""
    return pn.state.as_cached("explorer-services", Services)


class ExplorerApp(pn.viewable.Viewer):
    """One explorer page: session, runner, controls and views (module docstring).

    Parameters
    ----------
    session : Session, optional
    services : Services, optional
        Shared run store and pools (default: the server's, see :func:`server_services`).
    race : bool
        Compute the race and the γ strip.
    """

    def __init__(self, session: Session | None = None, services: Services | None = None, *,
                 race: bool = True, **params: Any) -> None:
        super().__init__(**params)
        self.session = session or Session()
        self.services = services or server_services()
        # the runner first: it and the views follow the session with param.depends, which
        # calls them in this order, so every view sees the run of the controls it hears of
        self.runner = Runner(self.session, self.services, race=race)
        self.views = Views(self.session)
        self.controls = Controls(self.session, self.runner, self.views.timeline)
        self.lesson = LessonView(self.session, self.runner, self.controls.show_only)
        self.export = ExportView(self.session)
        self.clock = Clock(self._tick, on_stop=self.runner.close, on_load=self.views.resend)

    def _tick(self, dt: float) -> None:
        self.runner.tick(dt)

    # -- layout -----------------------------------------------------------------------------
    def sidebar(self) -> list[Any]:
        return [*self.controls.sidebar(), self.export]

    def main(self) -> list[Any]:
        """The views, in flex rows that wrap with the width (``explorer.views.Views.rows``)."""
        return [self.lesson, pn.Column(*self.views.header()), *self.views.rows()]

    def __panel__(self) -> Any:
        self.clock.start()
        return pn.Row(pn.Column(*self.sidebar(), width=300), pn.Column(*self.main()))

    # -- URL ------------------------------------------------------------------------------------
    def sync_location(self) -> None:
        """Mirror the controls and display options in the URL (``?objective=ackley&gamma=0.5
        &play=1``): links reproduce an experiment; the browser tests set up sessions this way."""
        loc = pn.state.location
        if loc is None:
            return
        args = pn.state.session_args or {}
        scene = (args.get("scene") or [b""])[0].decode("utf-8", "replace")
        if scene and scene in self.session.param.scene.objects:
            self.session.scene = scene  # first, so the link's own values override the scene's
        with self.session.options_given():  # a link says every option it means
            loc.sync(self.session, URL_PARAMETERS, on_error=self._location_error)
        if (pn.state.session_args or {}).get("play") in ([b"1"], [b"true"]):
            self.runner.play()

    def _location_error(self, values: dict[str, Any]) -> None:
        """Readable, escaped words for link values that were ignored."""
        names = {v: k for k, v in URL_PARAMETERS.items()}
        parts = []
        for url_name, value in values.items():
            pname = names.get(url_name, url_name)
            p = self.session.param[pname] if pname in self.session.param else None
            rule = ""
            if p is not None and getattr(p, "bounds", None):
                lo, hi = p.bounds
                rule = f" (must be in [{lo}, {'∞' if hi is None else hi}])"
            elif p is not None and hasattr(p, "objects"):
                rule = " (not one of the choices)"
            parts.append(f"{url_name}={str(value)[:40]}{rule}")
        self.session.message = "Ignored invalid link values: " + ", ".join(parts)

    def start(self) -> None:
        self.clock.start()

    def stop(self) -> None:
        self.clock.stop()


def create_app(app: ExplorerApp | None = None, services: Services | None = None) -> Any:
    """The served page: a template with the title, the intro, controls and views.

    ``app``: the page's explorer (default: a new :class:`ExplorerApp`; ``explorer/main.py``
    passes ``explore(journal=...)`` for ``panel serve explorer --args --journal FILE``);
    ``services``: the shared services of a new app (default: the server's,
    :func:`server_services`).
    """
    pn.extension(raw_css=[_CSS], notifications=False)
    install_closed_tab_handler()  # the server's loop: a closing tab is one log line
    install_detached_connection_filter()  # and so are a closed tab's last messages
    if app is None:
        app = ExplorerApp(services=services)
    app.start()
    app.sync_location()
    # Roots: each root added to a Bokeh document re-indexes its models (keep them few), but a
    # change of a Div's text makes BokehJS lay out its whole root again (keep the animated
    # texts in small roots of their own). So: the sidebar, and one root per row of the page.
    template = pn.template.FastListTemplate(
        title="Sparse-grid hyperparameter optimization — explorer",
        sidebar=[pn.Column(*app.sidebar(), sizing_mode="stretch_width")],
        main=app.main(),
        sidebar_width=SIDEBAR_WIDTH,
        # presentation mode starts with the sidebar closed (the header's button opens it)
        collapsed_sidebar=bool(app.session.present),
        accent="#e4572e",
        header_background="#1f2933",
        main_layout=None,
        theme_toggle=False,
        busy_indicator=None,
        design=Fast,
        font=FONT,
    )
    if pn.state.curdoc is not None:
        app.lesson.install_keyboard(pn.state.curdoc)
    return template

