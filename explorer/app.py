"""The explorer page: widgets from the models, the Bokeh views, the template (rule 11).

``create_app()`` builds one session's page; ``explorer/main.py`` serves it with
``panel serve explorer``. In a notebook, ``ExplorerApp()`` displays the same components without
the template.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import panel as pn
from panel.io.state import set_curdoc

from explorer.controller import Explorer
from explorer.state import ExperimentConfig, Playback, ViewOptions

__all__ = ["ExplorerApp", "TICK_MS", "create_app"]

log = logging.getLogger(__name__)

#: Period of the per-session clock (ms): 20 frames per second at most.
TICK_MS = 50

INTRO = (
    "Dots: evaluations over the true loss landscape (dark = low). The sparse grid refines where "
    "the loss is low, as greedily as <b>γ</b> says; middle: its B-spline surrogate, same colours;"
    " right: the race with the other methods at the same budget. Press <b>Play</b>, then move γ."
    " Step by step in the notebooks: <code>jupyter lab notebooks</code>."
)

_CSS = """
.bk-panel-models-markup-HTML, .markdown { font-size: 14px; }
"""


class ExplorerApp(pn.viewable.Viewer):
    """Widgets and layout around one :class:`~explorer.controller.Explorer` session."""

    def __init__(self, explorer: Explorer | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.explorer = explorer or Explorer(ExperimentConfig(), ViewOptions(), Playback())
        ex = self.explorer
        cfg, opt, pb = ex.config, ex.options, ex.playback
        w = pn.widgets
        self.objective = w.Select.from_param(cfg.param.objective, sizing_mode="stretch_width")
        self.method = w.Select.from_param(cfg.param.method, sizing_mode="stretch_width")
        self.gamma = w.FloatSlider.from_param(cfg.param.gamma, throttled=True,
                                              sizing_mode="stretch_width")
        self.budget = w.IntSlider.from_param(cfg.param.budget, throttled=True,
                                             sizing_mode="stretch_width")
        self.optimizer = w.Select.from_param(cfg.param.optimizer, sizing_mode="stretch_width")
        self.degree = w.Select.from_param(cfg.param.degree, sizing_mode="stretch_width")
        self.initial_level = w.IntSlider.from_param(cfg.param.initial_level, throttled=True,
                                                    sizing_mode="stretch_width")
        self.seed = w.IntInput.from_param(cfg.param.seed, sizing_mode="stretch_width")
        self.speed = w.FloatSlider.from_param(opt.param.speed, sizing_mode="stretch_width")
        self.loop = w.Checkbox.from_param(opt.param.loop)
        self.x_dim = w.Select.from_param(opt.param.x_dim, sizing_mode="stretch_width")
        self.y_dim = w.Select.from_param(opt.param.y_dim, sizing_mode="stretch_width")
        self.color_by = w.Select.from_param(opt.param.color_by, sizing_mode="stretch_width")
        self.log_color = w.Checkbox.from_param(opt.param.log_color)
        self.show_error = w.Checkbox.from_param(opt.param.show_error)
        btn = {"width": 58, "margin": (5, 3)}
        self.play = w.Button(label="Play", color="primary", **btn)
        self.pause = w.Button(label="Pause", **btn)
        self.step = w.Button(label="Step", **btn)
        self.reset = w.Button(label="Reset", **btn)
        self.history = w.IntSlider(label="History (step)", start=0, end=1, value=0,
                                   sizing_mode="stretch_width")
        self.play.on_click(lambda e: self._safely(ex.play))
        self.pause.on_click(lambda e: self._safely(ex.pause))
        self.step.on_click(lambda e: self._safely(ex.step))
        self.reset.on_click(lambda e: self._safely(ex.reset))
        self.history.param.watch(self._on_history, "value")
        pb.param.watch(self._on_playback, ["step", "n_steps", "playing", "message"])
        cfg.param.watch(self._on_method, ["method", "objective"])
        self.message = pn.pane.Alert("", alert_type="danger", visible=False, width=930,
                                     margin=(0, 10))
        self._periodic: Any = None
        self._doc: Any = None
        self._slider_synced = 0.0
        self._last = time.perf_counter()
        self._on_method()
        self._on_playback()

    # -- layout -----------------------------------------------------------------------------
    def sidebar(self) -> list[Any]:
        heading = {"margin": (10, 10, 0, 10)}
        self.dims_box = pn.Column(
            pn.pane.HTML("<b>Shown hyperparameters</b> (others at the best point)", **heading),
            self.x_dim, self.y_dim, visible=False, sizing_mode="stretch_width",
        )
        self._update_dims_box()
        return [
            pn.Row(self.play, self.pause, self.step, self.reset, margin=(8, 5, 0, 5)),
            self.speed, self.history,
            pn.pane.HTML("<b>Experiment</b>", **heading),
            self.objective, self.method, self.gamma, self.budget, self.optimizer, self.degree,
            self.initial_level, self.seed,
            self.dims_box,
            pn.pane.HTML("<b>Display</b>", **heading),
            self.color_by, self.log_color, self.show_error, self.loop,
        ]

    def main(self) -> list[Any]:
        """The views, in fixed widths that fit 1280x720 beside the sidebar (about 960 px)."""
        ex = self.explorer
        lv = ex.landscape
        card = {"margin": (6, 6), "collapsible": False, "header_background": "#f5f7fa"}
        self.learning_card = pn.Card(pn.pane.Bokeh(ex.learning.fig),
                                     pn.pane.Bokeh(ex.learning.caption), title="Learning curve",
                                     width=380, **card)
        self.strip_row = pn.Row(*[pn.pane.Bokeh(f, margin=(0, 4)) for f in ex.strip.figures])
        top = pn.Row(*[pn.pane.Bokeh(f, margin=(0, 0))
                       for f in (lv.truth, lv.model, ex.convergence.fig)], margin=(0, 5))
        bottom = pn.Row(
            pn.Card(pn.pane.Bokeh(ex.inspector), title="Refinement inspector (Novak-Ritter)",
                    width=480, **card),
            pn.Card(pn.Column(
                pn.pane.HTML("<span style='color:#52606d;font-size:12.5px'>Same budget, three "
                             "adaptivities: greedy refinement hugs the best point, "
                             "breadth-first fills the space.</span>", margin=(0, 5),
                             width=440),
                self.strip_row, pn.pane.Bokeh(ex.strip_note, width=440)), title="γ strip",
                width=460, **card),
        )
        results = pn.Row(
            pn.Card(pn.pane.Bokeh(ex.results), title="Results (same budget)", width=530,
                    **card),
            self.learning_card,
        )
        self._update_learning()
        legend = pn.pane.HTML(
            "<div style='font-size:12.5px;color:#3e4c59'>"
            "<span style='color:#f2855d'>●</span> evaluation (fill: level |l|<sub>1</sub> or "
            "order) &nbsp; <span style='color:#ff2fa0'>◯</span> newest step &nbsp; "
            "<span style='color:#00a8cc'>▢</span> point refined this step &nbsp; "
            "<span style='color:#e0b800'>★</span> best so far &nbsp; ◇ surrogate optimum "
            "checked</div>", margin=(0, 12), width=940,
        )
        return [
            pn.Column(
                pn.pane.HTML(f"<div style='font-size:13px;color:#3e4c59;line-height:1.35'>"
                             f"{INTRO}</div>", margin=(0, 10), width=940),
                pn.pane.Bokeh(ex.status, margin=(0, 10), width=940),
                pn.pane.Bokeh(ex.frame_counter_holder, visible=False),
                self.message,
            ),
            pn.Column(top, legend), bottom, results,
        ]

    def __panel__(self) -> Any:
        self.start()
        return pn.Row(pn.Column(*self.sidebar(), width=300), pn.Column(*self.main()))

    def sync_location(self) -> None:
        """Mirror the controls in the URL (``?objective=ackley&gamma=0.5&play=1``): links
        reproduce an experiment, and the browser tests and benchmark set up sessions this way."""
        loc = pn.state.location
        if loc is None:
            return
        ex = self.explorer
        loc.sync(ex.config, {"objective": "objective", "method": "method", "gamma": "gamma",
                             "budget": "budget", "optimizer": "optimizer", "degree": "degree",
                             "initial_level": "level", "seed": "seed"},
                 on_error=self._location_error)
        loc.sync(ex.options, {"speed": "speed", "loop": "loop"}, on_error=self._location_error)
        if (pn.state.session_args or {}).get("play") in ([b"1"], [b"true"]):
            ex.play()

    def _location_error(self, values: dict[str, Any]) -> None:
        self.explorer._fail(ValueError(f"ignored invalid URL parameters: {values}"))

    # -- clock --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start this session's clock (and stop it when the session ends).

        In a server session the clock is Bokeh's own periodic callback: Panel's
        ``add_periodic_callback`` adds a busy counter whose watchers cost several ms per tick,
        which 10 sessions at 20 Hz cannot afford. In a notebook Panel's callback is used.
        """
        if self._periodic is not None:
            return
        self._last = time.perf_counter()
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            self._doc = doc
            self.explorer.batch = lambda: pn.io.hold(doc)
            self._periodic = "pending"
            # Start once the page is connected: changes made between building the page and
            # the browser's connection would never reach it.
            pn.state.onload(self._start_server_clock)
            pn.state.on_session_destroyed(self._destroyed)
        else:
            self._doc = None
            self._periodic = pn.state.add_periodic_callback(self._tick, period=TICK_MS,
                                                            start=True)

    def _start_server_clock(self) -> None:
        if self._periodic != "pending" or self._doc is None:
            return
        self._last = time.perf_counter()
        self._periodic = self._doc.add_periodic_callback(self._tick_server, TICK_MS)

    def _dt(self) -> float:
        now = time.perf_counter()
        dt, self._last = min(now - self._last, 0.5), now
        return dt

    def _tick(self) -> None:
        dt = self._dt()
        with pn.io.hold():
            self.explorer.tick(dt)

    def _tick_server(self) -> None:
        dt = self._dt()
        doc = self._doc
        # Panel's hold sends every change of the tick in one PATCH-DOC message (Bokeh's own
        # unhold sends one message per event, each re-indexing all models of the page)
        with set_curdoc(doc), pn.io.hold(doc):
            self.explorer.tick(dt)

    def _destroyed(self, session_context: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self._periodic is not None:
            try:
                if self._periodic == "pending":
                    pass
                elif self._doc is not None:
                    self._doc.remove_periodic_callback(self._periodic)
                else:
                    self._periodic.stop()
            except Exception:  # already removed with the session
                pass
            self._periodic = None
        self.explorer.close()

    # -- watchers -----------------------------------------------------------------------------
    def _safely(self, fn: Any) -> None:
        try:
            with pn.io.hold():
                fn()
        except Exception as err:  # a button must never break the page
            log.exception("explorer command failed")
            self.explorer._fail(err)

    def _on_history(self, event: Any) -> None:
        pb = self.explorer.playback
        if event.new != pb.step:
            pb.step = int(event.new)

    def _on_playback(self, *events: Any) -> None:
        pb = self.explorer.playback
        if self.message.object != pb.message:
            self.message.object = pb.message
            self.message.visible = bool(pb.message)
        now = time.perf_counter()
        if pb.playing and now - self._slider_synced < 0.5:
            return  # while playing the slider follows at 2 Hz (each update re-renders it)
        self._slider_synced = now
        end = max(pb.n_steps - 1, 1)
        if self.history.end != end:
            self.history.end = end
        if self.history.value != pb.step:
            self.history.value = min(pb.step, end)

    def _update_dims_box(self) -> None:
        if hasattr(self, "dims_box"):
            self.dims_box.visible = self.explorer.config.objective_obj.space.dim > 2

    def _update_learning(self) -> None:
        if hasattr(self, "learning_card"):
            live = self.explorer.config.objective_obj.kind == "neural_network"
            self.learning_card.visible = live

    def _on_method(self, *events: Any) -> None:
        sg = self.explorer.config.method == "sparse_grid"
        for wdg in (self.gamma, self.optimizer, self.degree, self.initial_level):
            wdg.disabled = not sg
        self._update_dims_box()
        self._update_learning()


def create_app() -> Any:
    """The served page: a template with the title, the intro, controls and views."""
    pn.extension(raw_css=[_CSS], notifications=False)
    app = ExplorerApp()
    # Roots: each root added to a Bokeh document re-indexes its models (keep them few), but a
    # change of a Div's text makes BokehJS lay out its whole root again (keep the animated
    # texts in small roots of their own). So: the sidebar, and one root per row of the page.
    template = pn.template.FastListTemplate(
        title="Sparse-grid hyperparameter optimization — explorer",
        sidebar=[pn.Column(*app.sidebar(), sizing_mode="stretch_width")],
        main=app.main(),
        sidebar_width=280,
        accent="#e4572e",
        header_background="#1f2933",
        main_layout=None,
        theme_toggle=False,
        busy_indicator=None,
    )
    app.start()
    app.sync_location()
    return template



