"""The session model: what the visitor chose, the run being shown, and what the views read.

:class:`Session` is one ``param.Parameterized`` object with three groups of parameters:

- **Controls** that define a run (objective, method, γ, budget, surrogate optimizer, B-spline
  degree, initial level, seed): a change starts a new run (:mod:`explorer.runner` watches them).
  Each method uses the controls that are options of its strategy (``core.strategies``).
- **Display** choices that never restart a run (speed, loop, shown dimensions, colours, error
  view, presentation mode, the lesson's scene and how many controls it shows).
- **Player and outputs**, written by the runner and read by the views: ``step`` (the shown step,
  also the history slider), ``playing``, ``run`` (the :class:`~explorer.engine.RunRecord`),
  ``truth``/``surface``/``scale`` (landscape images in objective units and their colour scale),
  ``race``, ``strip``, ``message`` and the frame counters of the flow control.

Only ``param``, numpy and :mod:`core` are imported here, so the model works in notebooks and
tests without a server. Widgets are built from these parameters (``from_param``) in
:mod:`explorer.app`.

Any objective source works: a registered name, or :meth:`Session.add_objective` with a callable
``config -> float | Measurement`` and a :class:`core.space.SearchSpace` (no known true landscape).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import param

from explorer.engine import ColorScale, RunKey, RunRecord
from explorer.lesson import scene_menu
from explorer.objectives import (
    DEFAULT_OBJECTIVE,
    as_objective,
    explorer_objectives,
    method_menu,
    objective_menu,
    optimizer_menu,
)

__all__ = ["CONTROLS", "Session"]

#: The run-defining controls, in menu order (URL names in :mod:`explorer.app`).
CONTROLS = ("objective", "method", "variant", "gamma", "budget", "optimizer", "degree",
            "initial_level", "seed")

#: Options the explorer fixes for a method (when its strategy takes them): it teaches the
#: thesis' sparse grid search, plain Novak-Ritter refinement with candidates at the end.
FIXED_OPTIONS: dict[str, dict[str, Any]] = {"sparse_grid": {"variant": "thesis"}}

#: Speed of the fast replay (steps per second), one click away from the default.
FAST_SPEED = 20.0


class Session(param.Parameterized):
    """One visitor's explorer state (module docstring)."""

    # -- controls (a change starts a new run) -------------------------------------------------
    objective = param.Selector(
        default=DEFAULT_OBJECTIVE, objects=objective_menu(explorer_objectives()),
        label="Objective",
        doc="What to minimize: a test function (instant) or a network trained live.",
    )
    method = param.Selector(
        default="sparse_grid", objects=method_menu(), label="Method",
        doc="The search method whose run is animated.",
    )
    variant = param.Selector(
        default=None, objects=[None], allow_None=True, label="Variant",
        doc="The method's variant, for methods that have several (adaptive random "
        "search: the neighbourhood a refinement samples; sparse grid: the thesis' method, "
        "or zooming in with a multi-start search on the surrogate and, when the budget "
        "allows, a trust-region search on the evaluated points at the end).",
    )
    gamma = param.Number(
        default=0.85, bounds=(0.0, 1.0), step=0.05, label="Adaptivity γ",
        doc="Which point is refined next: γ = 1 spreads out by level (space filling), "
        "γ = 0 refines the best-ranked points greedily.",
    )
    budget = param.Integer(
        default=150, bounds=(10, 1000), step=5, label="Budget",
        doc="How many times every method may evaluate the objective.",
    )
    optimizer = param.Selector(
        default="none", objects=optimizer_menu(), label="Surrogate optimizer",
        doc="Optimizer run on the sparse-grid surrogate at the end; its proposal is checked "
        "with the true objective.",
    )
    degree = param.Selector(
        default=3, objects=[1, 3, 5], label="B-spline degree",
        doc="Degree of the modified B-spline interpolant (1 = piecewise linear).",
    )
    initial_level = param.Integer(
        default=1, bounds=(1, 4), label="Initial level",
        doc="Level of the regular sparse grid the run starts from (1 = the centre point only).",
    )
    seed = param.Integer(
        default=0, bounds=(0, 2**31 - 1), label="Seed",
        doc="Seed of every random choice (random search, Bayesian optimization, training).",
    )

    # -- display ------------------------------------------------------------------------------
    speed = param.Number(default=2.5, bounds=(0.5, 60.0), step=0.5, label="Speed (steps/s)",
                         doc="Animation speed in steps per second.")
    loop = param.Boolean(default=False, label="Loop",
                         doc="Start again from the first step at the end (demonstrations).")
    x_dim = param.Selector(default="x1", objects=["x1", "x2"], label="x axis")
    y_dim = param.Selector(default="x2", objects=["x1", "x2"], label="y axis")
    color_by = param.Selector(default="level", objects={"level |l|₁": "level", "order": "order"},
                              label="Colour points by")
    log_color = param.Boolean(default=True, label="Log colour scale")
    show_error = param.Boolean(default=False, label="Show |truth − surrogate|")
    present = param.Boolean(default=False, label="Presentation (large fonts)")
    scene = param.Selector(
        default="", objects=scene_menu(), label="Lesson scene",
        doc="A scene of the lesson (explorer/lesson.py): choosing one sets the controls.",
    )
    controls = param.Selector(default="all", objects=["all", "minimal"], label="Controls",
                              doc="'minimal': show only the controls the scene needs.")

    # -- player and outputs (written by the runner) ------------------------------------------
    step = param.Integer(default=0, bounds=(0, 1), label="History (step)")
    playing = param.Boolean(default=False, doc="The player plays (live runs: evaluate).")
    animate = param.Boolean(default=False, precedence=-1,
                            doc="The page's player advances by itself (a run whose next "
                            "frames are known: not live, not waiting for the computation).")
    run = param.ClassSelector(class_=RunRecord, default=None, allow_None=True, precedence=-1)
    n_steps = param.Integer(default=0, bounds=(0, None), precedence=-1)
    truth = param.Array(default=None, allow_None=True, precedence=-1,
                        doc="True values on the shown slice, shape (r, r), or None.")
    surface = param.Array(default=None, allow_None=True, precedence=-1,
                          doc="The model's values on the shown slice, or None.")
    surface_note = param.String(default="", precedence=-1)
    scale = param.ClassSelector(class_=ColorScale, default=None, allow_None=True, precedence=-1)
    race = param.Dict(default={}, precedence=-1,
                      doc="race entry (explorer.background.race_entries: a method, or a "
                      "method:variant) -> RaceResult, or a text saying why there is none.")
    strip = param.Dict(default=None, allow_None=True, precedence=-1,
                       doc="γ -> (U, y, level_sum) of the γ strip, or None.")
    strip_note = param.String(default="", precedence=-1)
    message = param.String(default="", precedence=-1, doc="Error or notice for the page.")

    def __init__(self, **params: Any) -> None:
        objectives = params.pop("objectives", None)
        super().__init__(**params)
        self.objectives: dict[str, Any] = dict(objectives or explorer_objectives())
        if objectives is not None:
            self.param.objective.objects = objective_menu(self.objectives)
        self._options_given = 0  # > 0: the controls are being set together (scene, link)
        self._chosen = (self.variant, self.optimizer)  # as _follow_variant last saw them

    @contextlib.contextmanager
    def options_given(self) -> Iterator[None]:
        """Controls set inside keep their values: a new variant brings none of its defaults
        (a lesson scene, a link: they say every option they mean)."""
        self._options_given += 1
        try:
            yield
        finally:
            self._options_given -= 1

    #: Before ``__init__`` ends (``offer_variants`` runs on init): no variant chosen yet.
    _options_given = 0
    _chosen: tuple[Any, Any] = (None, None)

    @param.depends("variant", "optimizer", watch=True)
    def _follow_variant(self) -> None:
        """Another variant of the same method, chosen on its own: the options that variant sets
        (core's defaults for it, :func:`explorer.objectives.variant_defaults`) follow, so a
        variant plays as core runs it by default (the sparse grid's zoom variant with its
        L-BFGS-B surrogate optimizer). Not when the optimizer was chosen with it."""
        (old, old_optimizer), self._chosen = self._chosen, (self.variant, self.optimizer)
        if (self.variant == old or self.optimizer != old_optimizer or self._options_given
                or old is None
                or old not in self.param.variant.objects):  # a new method: not a switch
            return
        from explorer.objectives import variant_defaults

        own = {k: v for k, v in variant_defaults(self.method, self.variant).items()
               if k in CONTROLS and k != "variant"}
        own = {k: v for k, v in own.items() if v in list(self.param[k].objects)}
        if own:
            self.param.update(**own)

    @param.depends("method", watch=True, on_init=True)
    def offer_variants(self) -> None:
        """The chosen method's variants in the menu; the explorer's choice (FIXED_OPTIONS)
        or the strategy's default chosen unless the variant is one of them. Idempotent: the
        runner calls it too before it starts a run, since in one ``param.update`` that names
        other controls before the method it would hear of them first."""
        from explorer.objectives import method_variants

        names, default = method_variants(self.method)
        default = FIXED_OPTIONS.get(self.method, {}).get("variant", default)
        menu = names or [None]
        if list(self.param.variant.objects) != menu:
            self.param.variant.objects = menu
        if self.variant not in menu:
            self.variant = default

    @param.depends("scene", watch=True)
    def _apply_scene(self) -> None:
        """A lesson scene sets the run-defining controls (:mod:`explorer.lesson`); an objective
        this session does not offer is left as it is."""
        if not self.scene:
            return
        from explorer.lesson import scene_settings

        settings = scene_settings(self.scene, {k: self.param[k].default for k in CONTROLS})
        if settings.get("objective") not in self.objectives:
            settings.pop("objective", None)
        elif settings["objective"] != self.objective:
            # the axes move to the new objective's names in the same change: a page's axis
            # menus, offered those names first, never hold a name the objective lacks
            names = list(self.objectives[settings["objective"]].space.names)
            for p in ("x_dim", "y_dim"):
                old = list(self.param[p].objects)
                self.param[p].objects = old + [n for n in names if n not in old]
            settings |= {"x_dim": names[0], "y_dim": names[min(1, len(names) - 1)]}
        with self.options_given():
            self.param.update(**settings)

    # -- objectives -----------------------------------------------------------------------------
    def add_objective(self, objective: Any, space: Any = None, *, select: bool = True) -> str:
        """Offer ``objective`` (a name, an objective or a callable with ``space``); returns
        its name in the menu."""
        name, obj = as_objective(objective, space)
        self.objectives[name] = obj
        self.param.objective.objects = objective_menu(self.objectives)
        if select:
            self.objective = name
        return name

    @property
    def objective_obj(self) -> Any:
        """The selected objective object."""
        return self.objectives[self.objective]

    # -- what a run needs -----------------------------------------------------------------------
    def strategy_options(self, method: str | None = None) -> dict[str, Any]:
        """The controls that are options of ``method``'s strategy, with their values."""
        fixed_run = getattr(self.objective_obj, "fixed_run", None)
        if fixed_run is not None and (method or self.method) == fixed_run["method"]:
            return dict(fixed_run["options"])  # a replayed journal: exactly its options
        from core.strategies import strategy_options

        chosen = method is None or method == self.method
        method = method or self.method
        valid = strategy_options(method)
        options = {k: self._option_value(k) for k in CONTROLS if k in valid}
        fixed = FIXED_OPTIONS.get(method, {})
        if not chosen and "variant" in options:  # the variant menu is the chosen method's
            options["variant"] = fixed.get("variant", valid["variant"])
        return options | {k: v for k, v in fixed.items() if k in valid and k not in options}

    def method_title(self, method: str | None = None) -> str:
        """The name of what runs as ``method`` (default: the chosen) on the objective, the one
        place that names the shown method (:func:`explorer.objectives.method_title`: a replayed
        run's own title, e.g. an optuna study's, else the strategy's)."""
        from explorer.objectives import method_title

        return method_title(self.objective_obj, method or self.method)

    def _option_value(self, name: str) -> Any:
        value = getattr(self, name)
        return float(value) if name == "gamma" else value

    def run_key(self, method: str | None = None) -> RunKey:
        """The :class:`RunKey` of the current controls (for ``method``, default the chosen)."""
        method = method or self.method
        opts = tuple(sorted(self.strategy_options(method).items()))
        return RunKey(self.objective, method, int(self.budget), int(self.seed), opts)

    def unused_controls(self, method: str | None = None) -> list[str]:
        """Controls the strategy of ``method`` takes no option for."""
        from core.strategies import strategy_options

        valid = strategy_options(method or self.method)
        return [k for k in ("variant", "gamma", "optimizer", "degree", "initial_level")
                if k not in valid]

    def budget_problem(self, method: str | None = None) -> str:
        """Why the budget is too small for ``method`` with these options, or ``""``."""
        from core.strategies import STRATEGIES

        method = method or self.method
        cls = STRATEGIES[method]
        d = self.objective_obj.space.dim
        need = int(cls.min_budget(d, **self.strategy_options(method)))
        if self.budget >= need:
            return ""
        return (f"Budget {self.budget} is too small for {cls.title} with these options in "
                f"{d}-D: it needs at least {need} evaluations. Raise the budget or change "
                "the options.")

    @property
    def dims(self) -> tuple[int, int]:
        """Indices of the shown dimensions (distinct when the space has two or more)."""
        names = list(self.objective_obj.space.names)
        x = names.index(self.x_dim) if self.x_dim in names else 0
        y = names.index(self.y_dim) if self.y_dim in names else min(1, len(names) - 1)
        if x == y and len(names) > 1:
            y = (x + 1) % len(names)
        return x, y

    def dimension_choices(self) -> dict[str, Any]:
        """Axis choices and defaults for the current objective (for ``param.update``)."""
        names = list(self.objective_obj.space.names)
        return {"x_dim": names[0], "y_dim": names[1] if len(names) > 1 else names[0]}

    @property
    def frame(self) -> Any:
        """The shown :class:`~explorer.engine.Frame` or ``None``."""
        run = self.run
        if run is None or not run.n_frames:
            return None
        return run.frames[min(self.step, run.n_frames - 1)]

    def best_observed(self) -> float:
        """The lowest value observed up to the shown step (NaN if none)."""
        f = self.frame
        return float(f.best_value) if f is not None else float(np.nan)
