"""The sidebar: buttons, and widgets bound to the session with ``from_param``.

A control the chosen method does not use is disabled and says why in its label ("Adaptivity γ
— not used by Random search"); which controls a method uses is read from its strategy's options
(``core.strategies.strategy_options``). Each widget's help tooltip is its parameter's ``doc``.

The history control is a ``pn.widgets.Player`` (its own buttons hidden: the sidebar's buttons
drive it through the session). It is the page's clock: while ``session.animate`` is set it
advances by itself in the browser at ``session.speed`` steps per second, and its value is the
shown step (:mod:`explorer.views.timeline`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import panel as pn

from explorer.clock import held, watch
from explorer.model import FAST_SPEED, Session
from explorer.views.timeline import Timeline

__all__ = ["Controls"]

log = logging.getLogger(__name__)

_HELP = ("gamma", "budget", "initial_level", "optimizer", "degree")


def interval_ms(speed: float) -> int:
    """The player's interval (ms per step) for ``speed`` steps per second."""
    return max(int(round(1000.0 / max(float(speed), 0.1))), 10)


class Controls:
    """Widgets and buttons of one page (no state of their own: the session holds it)."""

    def __init__(self, session: Session, runner: Any, timeline: Timeline | None = None) -> None:
        self.session = session
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
            interval=interval_ms(s.speed), loop_policy="loop" if s.loop else "once",
            visible_buttons=[], show_loop_controls=False, show_value=True, height=60,
            value_align="start", margin=(0, 10), **wide,
        )
        self.timeline = timeline
        if timeline is not None:
            args, code = timeline.player_callback()
            self.history.jscallback(args=args, value=code)
        # a new interval takes effect at the next start of the player's timer
        self.history.jscallback(interval="if (cb_obj.direction == 1) "
                                "{ cb_obj.direction = 0; cb_obj.direction = 1; }")
        watch(s, self._to_player, ["step", "n_steps", "animate", "speed", "loop"])
        self.history.param.watch(held(self._from_player), ["value", "direction"])
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
        watch(s, self._on_method, ["method", "objective"])
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

    def _to_player(self, *events: Any) -> None:
        s, p = self.session, self.history
        want = {"end": max(int(s.n_steps) - 1, 1), "value": int(s.step),
                "interval": interval_ms(s.speed), "loop_policy": "loop" if s.loop else "once",
                "direction": 1 if s.animate else 0}
        changed = {k: v for k, v in want.items() if getattr(p, k) != v}
        if not changed:  # a step the page's player showed comes back unchanged: nothing to send
            return
        p.param.update(**changed)
        if "value" in changed and self.timeline is not None:
            # the server moved the step (seek, reset, a live run's new frame): the shown-step
            # source says so too, so a page that loads now starts there
            run, k = s.run, int(s.step)
            end = run.frames[min(k, run.n_frames - 1)].end if run is not None and \
                run.n_frames else 0
            self.timeline.shown.data = {"step": [k], "end": [end]}

    def _from_player(self, *events: Any) -> None:
        """The page's player moved (its value is the shown step) or stopped at its end."""
        s, p = self.session, self.history
        for e in events:
            if e.name == "value" and int(e.new) != s.step:
                s.step = int(np.clip(int(e.new), 0, max(int(s.n_steps) - 1, 0)))
            elif e.name == "direction" and e.new == 0 and s.animate:
                if p.value >= p.end or p.value >= s.n_steps - 1:
                    self.runner.player_stopped()

    def _on_method(self, *events: Any) -> None:
        from core.strategies import STRATEGIES

        s = self.session
        unused = set(s.unused_controls())
        title = STRATEGIES[s.method].title
        for name in ("variant", "gamma", "optimizer", "degree", "initial_level"):
            widget = getattr(self, name)
            label = s.param[name].label
            widget.disabled = name in unused
            widget.name = f"{label} — not used by {title}" if name in unused else label
        self.dims_box.visible = s.objective_obj.space.dim > 2
