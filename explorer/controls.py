"""The sidebar: buttons, and widgets bound to the session with ``from_param``.

A control the chosen method does not use is disabled and says why in its label ("Adaptivity γ
— not used by Random search"); which controls a method uses is read from its strategy's options
(``core.strategies.strategy_options``). Each widget's help tooltip is its parameter's ``doc``.

The history control is a ``pn.widgets.Player`` (its own buttons hidden: the sidebar's buttons
drive it through the session). Its value is the shown step; while ``session.animate`` is set
the page's clock advances it in the browser at ``session.speed`` steps per second, reporting
the step to the server only now and then (:mod:`explorer.views.timeline`).
"""

from __future__ import annotations

import logging
from typing import Any

import panel as pn
import param

from explorer.clock import held
from explorer.model import FAST_SPEED, Session
from explorer.views.timeline import Timeline, interval_ms  # noqa: F401  (re-exported)

__all__ = ["Controls"]

log = logging.getLogger(__name__)

_HELP = ("gamma", "budget", "initial_level", "optimizer", "degree")


class Controls(param.Parameterized):
    """Widgets and buttons of one page (no state of their own: the session holds it)."""

    session = param.ClassSelector(class_=Session, constant=True)

    def __init__(self, session: Session, runner: Any, timeline: Timeline | None = None) -> None:
        super().__init__(session=session)
        self.runner = runner
        w, s = pn.widgets, session
        wide = {"sizing_mode": "stretch_width"}

        def bind(widget_cls: Any, name: str, **kw: Any) -> Any:
            extra = {}
            if name in _HELP and "description" in widget_cls.param:
                extra = {"description": s.param[name].doc}
            return widget_cls.from_param(s.param[name], **extra, **kw)

        self.objective = bind(w.Select, "objective", **wide)
        self.method = bind(w.Select, "method", **wide)
        self.variant = bind(w.Select, "variant", **wide)
        self.gamma = bind(w.FloatSlider, "gamma", throttled=True, **wide)
        self.budget = bind(w.IntSlider, "budget", throttled=True, **wide)
        self.optimizer = bind(w.Select, "optimizer", **wide)
        self.degree = bind(w.Select, "degree", **wide)
        self.initial_level = bind(w.IntSlider, "initial_level", throttled=True, **wide)
        self.seed = bind(w.IntInput, "seed", **wide)
        self.speed = bind(w.FloatSlider, "speed", **wide)
        self.history = w.Player(
            label=s.param.step.label, start=0, end=max(int(s.n_steps) - 1, 1), value=int(s.step),
            visible_buttons=[], show_loop_controls=False, show_value=True, height=60,
            value_align="start", margin=(0, 10), **wide,
        )
        # the page plays the steps by itself; the timeline keeps the player and the session
        # in step with few messages (explorer/views/timeline.py)
        self.timeline = timeline or Timeline()
        self.timeline.attach(self.history, s, runner.player_stopped,
                             on_move=runner.visitor_moved)
        # toggle buttons, not checkboxes: a checkbox's text is not clickable, only its
        # 13-pixel box; a button is one big target on a projector
        toggle = {"sizing_mode": "stretch_width", "color": "light"}
        self.loop = bind(w.Toggle, "loop", **toggle)
        self.x_dim = bind(w.Select, "x_dim", **wide)
        self.y_dim = bind(w.Select, "y_dim", **wide)
        self.color_by = bind(w.Select, "color_by", **wide)
        self.log_color = bind(w.Toggle, "log_color", **toggle)
        self.show_error = bind(w.Toggle, "show_error", **toggle)
        btn = {"width": 58, "margin": (5, 3)}
        self.play = w.Button(label="Play", color="primary", **btn)
        self.pause = w.Button(label="Pause", **btn)
        self.step = w.Button(label="Step", **btn)
        self.reset = w.Button(label="Reset", **btn)
        self.fast = w.Button(label=f"Fast replay ({FAST_SPEED:g} steps/s)",
                             sizing_mode="stretch_width", margin=(0, 10, 4, 10))
        for button, command in ((self.play, runner.play), (self.pause, runner.pause),
                                (self.step, runner.step), (self.reset, runner.reset),
                                (self.fast, self._fast)):
            button.on_click(lambda e, command=command: self._safely(command))
        heading = {"margin": (10, 10, 0, 10)}
        self.wrapped: dict[str, Any] = {}  # name -> its widget beside a help icon (helped)
        self.display_heading = pn.pane.HTML("<b>Display</b>", **heading)
        self.dims_box = pn.Column(
            pn.pane.HTML("<b>Shown hyperparameters</b> (others at the best point)", **heading),
            self.x_dim, self.y_dim, sizing_mode="stretch_width",
        )
        self._on_method()

    def _fast(self) -> None:
        """The fast replay: one click from the default speed (from the start at the end)."""
        self.session.speed = FAST_SPEED
        self.runner.play()

    def helped(self, name: str) -> Any:
        """The widget of ``name`` with its one-sentence help as a tooltip icon beside it."""
        widget = getattr(self, name)
        if "description" in widget.param:
            return widget
        if name not in self.wrapped:
            icon = pn.widgets.TooltipIcon(value=self.session.param[name].doc,
                                          margin=(22, 4, 0, 0), width=18)
            self.wrapped[name] = pn.Row(widget, icon, sizing_mode="stretch_width", margin=0,
                                        visible=widget.visible)
        return self.wrapped[name]

    def sidebar(self) -> list[Any]:
        heading = {"margin": (10, 10, 0, 10)}
        return [
            pn.Row(self.play, self.pause, self.step, self.reset, margin=(8, 5, 0, 5)),
            self.speed, self.fast, self.history,
            pn.pane.HTML("<b>Experiment</b>", **heading),
            self.objective, self.method, self.variant, self.helped("gamma"),
            self.helped("budget"),
            self.optimizer, self.degree, self.helped("initial_level"), self.seed,
            self.dims_box,
            self.display_heading,
            self.color_by, self.log_color, self.show_error, self.loop,
        ]

    def show_only(self, names: Any = None) -> None:
        """Show only the controls ``names`` among ``explorer.lesson.HIDEABLE`` (None: all of
        them): a lesson scene's classroom link (``controls=minimal``). The player's buttons
        and history stay."""
        from explorer.lesson import HIDEABLE

        keep = set(HIDEABLE if names is None else names)
        for name in HIDEABLE:
            getattr(self, name).visible = name in keep
            if name in self.wrapped:
                self.wrapped[name].visible = name in keep
        self.fast.visible = "speed" in keep
        self.display_heading.visible = bool(keep & {"color_by", "log_color", "show_error",
                                                    "loop"})

    def _safely(self, command: Any) -> None:
        try:
            with pn.io.hold():
                command()
        except Exception as err:  # a button must never break the page
            log.exception("explorer command failed")
            self.runner.fail(err)

    @param.depends("session.method", "session.objective", watch=True)
    @held
    def _on_method(self) -> None:
        """Controls the chosen method does not use are disabled and say so; the axis menus
        are shown above two dimensions."""
        s = self.session
        unused = set(s.unused_controls())
        title = s.method_title()
        for name in ("variant", "gamma", "optimizer", "degree", "initial_level"):
            widget = getattr(self, name)
            label = s.param[name].label
            widget.disabled = name in unused
            widget.name = f"{label} — not used by {title}" if name in unused else label
        self.dims_box.visible = s.objective_obj.space.dim > 2
