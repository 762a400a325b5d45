"""The explorer's model: what the user chose and what the player shows (ARCHITECTURE rule 11).

Only ``param`` and :mod:`core` are imported here, so the model works in notebooks and tests
without a server. Widgets are built from these parameters in :mod:`explorer.app`.

- :class:`ExperimentConfig` holds the run-defining controls (objective, method, gamma, budget,
  surrogate optimizer, B-spline degree, initial level, seed). Changing any of them starts a new
  run; :meth:`ExperimentConfig.run_key` says which values define a run.
- :class:`ViewOptions` holds display-only choices (speed, shown dimensions, colours).
- :class:`Playback` is the player: current step, number of computed steps, playing or not, and
  the status line. Its outputs are ``constant`` and written inside ``param.edit_constant``.
"""

from __future__ import annotations

from typing import Any

import param

from core.objectives import OBJECTIVES, TEST_FUNCTIONS
from explorer.engine import RunKey

__all__ = [
    "DEFAULT_OBJECTIVE",
    "METHODS",
    "METHOD_TITLES",
    "OPTIMIZER_TITLES",
    "ExperimentConfig",
    "Playback",
    "RunKey",
    "ViewOptions",
    "explorer_objectives",
    "optimizer_names",
]

#: Method labels shown in the menu -> strategy registry names (``core.strategies.STRATEGIES``).
METHODS: dict[str, str] = {
    "Sparse grid": "sparse_grid",
    "Random search": "random",
    "Grid search": "grid",
    "Bayesian optimization": "bayesian",
    "Adaptive random search": "adaptive_random",
}
METHOD_TITLES: dict[str, str] = {v: k for k, v in METHODS.items()}

#: Surrogate optimizer names -> menu labels (unknown names are shown as they are).
OPTIMIZER_TITLES: dict[str, str] = {
    "none": "none (best grid point)",
    "nelder_mead": "Nelder-Mead",
    "differential_evolution": "Differential evolution",
    "cmaes": "CMA-ES",
    "gradient_descent": "Gradient descent",
    "nlcg": "Nonlinear CG",
    "newton": "Newton",
    "rprop": "Rprop",
    "multistart": "Multi-start",
}

DEFAULT_OBJECTIVE = "rosenbrock"

#: Extra cheap objectives with more than two hyperparameters, so the x/y dimension selectors can
#: be tried without training networks: name -> (test function, dimension).
_EXTRA_TEST_FUNCTIONS: dict[str, tuple[str, int]] = {"rosenbrock_3d": ("rosenbrock", 3)}


def explorer_objectives() -> dict[str, Any]:
    """Objectives offered in the menu: the registry plus a few higher-dimensional test functions.

    Returns
    -------
    dict
        Name -> objective (``core.objectives.base.Objective``), test functions first, then the
        neural-network objectives, each group in registry order.
    """
    out: dict[str, Any] = {}
    for name, obj in OBJECTIVES.items():
        if getattr(obj, "kind", "") == "test_function":
            out[name] = obj
    for name, (fname, dim) in _EXTRA_TEST_FUNCTIONS.items():
        if name not in OBJECTIVES and fname in TEST_FUNCTIONS:
            out[name] = TEST_FUNCTIONS[fname].objective(dim)
    for name, obj in OBJECTIVES.items():
        if name not in out:
            out[name] = obj
    return out


def optimizer_names() -> list[str]:
    """``"none"`` followed by the registered surrogate optimizers (``core.optimizers``)."""
    try:
        from core.optimizers import OPTIMIZERS
    except ImportError:  # the optimizer registry is optional for the explorer
        return ["none"]
    return ["none", *[n for n in OPTIMIZERS if n != "none"]]


def _objective_menu() -> dict[str, str]:
    menu: dict[str, str] = {}
    for name, obj in explorer_objectives().items():
        title = getattr(obj, "title", name)
        if getattr(obj, "kind", "") == "neural_network":
            short = title.split("(")[0].strip()
            title = f"{short} — {obj.space.dim}-D, trains live"
        menu[title] = name
    return menu


def _optimizer_menu() -> dict[str, str]:
    return {OPTIMIZER_TITLES.get(n, n): n for n in optimizer_names()}


class ExperimentConfig(param.Parameterized):
    """The run-defining controls. Every combination is valid; a new value restarts the run."""

    objective = param.Selector(
        default=DEFAULT_OBJECTIVE, objects=_objective_menu(), label="Objective",
        doc="What to minimize: a test function (instant) or a network trained live.",
    )
    method = param.Selector(
        default="sparse_grid", objects=METHODS, label="Method",
        doc="The search method whose run is animated.",
    )
    gamma = param.Number(
        default=0.85, bounds=(0.0, 1.0), step=0.05, label="Adaptivity γ",
        doc="Novak-Ritter adaptivity: 1 = breadth-first (space filling), 0 = greedy on ranks.",
    )
    budget = param.Integer(
        default=100, bounds=(10, 1000), step=5, label="Budget",
        doc="Number of objective evaluations every method may use.",
    )
    optimizer = param.Selector(
        default="none", objects=_optimizer_menu(), label="Surrogate optimizer",
        doc="Optimizer run on the sparse-grid surrogate at the end (its proposal is checked "
        "with the true objective).",
    )
    degree = param.Selector(
        default=3, objects=[1, 3, 5], label="B-spline degree",
        doc="Degree of the modified B-spline interpolant (1 = piecewise linear).",
    )
    initial_level = param.Integer(
        default=1, bounds=(1, 4), label="Initial level",
        doc="Level of the initial regular sparse grid (1 = the centre point only).",
    )
    seed = param.Integer(
        default=0, bounds=(0, 2**31 - 1), label="Seed",
        doc="Seed of every random choice (random search, Bayesian optimization, training).",
    )

    def run_key(self) -> RunKey:
        """The current :class:`RunKey`."""
        return RunKey(
            self.objective, self.method, float(self.gamma), int(self.budget), self.optimizer,
            int(self.degree), int(self.initial_level), int(self.seed),
        )

    @property
    def objective_obj(self) -> Any:
        """The selected objective object."""
        return explorer_objectives()[self.objective]


class ViewOptions(param.Parameterized):
    """Display choices that never restart a run."""

    speed = param.Number(
        default=8.0, bounds=(1.0, 60.0), step=1.0, label="Speed (steps/s)",
        doc="Animation speed in steps per second.",
    )
    loop = param.Boolean(default=False, label="Loop",
                         doc="Start again from the first step at the end (demonstrations).")
    x_dim = param.Selector(default="x1", objects=["x1", "x2"], label="x axis")
    y_dim = param.Selector(default="x2", objects=["x1", "x2"], label="y axis")
    color_by = param.Selector(
        default="level", objects={"level |l|₁": "level", "order": "order"},
        label="Colour points by",
    )
    log_color = param.Boolean(default=True, label="Log colour scale")
    show_error = param.Boolean(default=False, label="Show |truth − surrogate|")

    def set_dimensions(self, names: tuple[str, ...] | list[str]) -> None:
        """Offer ``names`` in the axis selectors and show the first two."""
        names = list(names)
        y_default = names[1] if len(names) > 1 else names[0]
        self.param.x_dim.objects = names
        self.param.y_dim.objects = names
        with param.parameterized.discard_events(self):
            self.x_dim, self.y_dim = names[0], y_default
        self.param.trigger("x_dim", "y_dim")


class Playback(param.Parameterized):
    """The player: which step is shown, how many exist, and the status line."""

    step = param.Integer(default=0, bounds=(0, None), label="History (step)")
    playing = param.Boolean(default=False)
    n_steps = param.Integer(default=0, bounds=(0, None), constant=True)
    status = param.String(default="", constant=True)
    message = param.String(default="", constant=True, doc="Error or notice shown in the page.")

    def set_outputs(self, **values: Any) -> None:
        """Write constant outputs (``n_steps``, ``status``, ``message``)."""
        with param.edit_constant(self):
            self.param.update(**values)
