"""What the explorer offers: objectives, methods and surrogate optimizers, all read from core.

- :func:`explorer_objectives`: the registry's objectives plus a few higher-dimensional test
  functions (so the axis selectors can be tried without training networks).
- :class:`UserObjective` wraps any callable ``config -> float | Measurement`` with a
  :class:`core.space.SearchSpace`; it has no known true landscape.
- :func:`method_menu`, :func:`optimizer_menu`: labels from ``core.strategies.STRATEGIES`` (each
  strategy's ``title``) and ``core.optimizers.OPTIMIZERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.objectives import OBJECTIVES, TEST_FUNCTIONS

__all__ = [
    "DEFAULT_OBJECTIVE",
    "UserObjective",
    "as_objective",
    "explorer_objectives",
    "is_cheap",
    "method_menu",
    "method_title",
    "method_variants",
    "objective_menu",
    "optimizer_titles",
    "optimizer_menu",
    "optimizer_names",
    "variant_defaults",
]

DEFAULT_OBJECTIVE = "rosenbrock"

def optimizer_titles() -> dict[str, str]:
    """Menu labels of surrogate optimizers, every one core offers: the strategies' own choices
    of their ``optimizer`` option (``option_choices``: ``"none"``, the sparse grid's default
    L-BFGS-B, ...), then the registered optimizers (``core.optimizers.TITLES``)."""
    from core.optimizers import TITLES
    from core.strategies import STRATEGIES

    out: dict[str, str] = {"none": "none (best grid point)"}
    for cls in STRATEGIES.values():
        for name, title in getattr(cls, "option_choices", {}).get("optimizer", {}).items():
            out.setdefault(name, title)
    for name, title in TITLES.items():
        out.setdefault(name, title)
    return out


#: Cheap objectives with more than two hyperparameters: name -> (test function, dimension).
_EXTRA_TEST_FUNCTIONS: dict[str, tuple[str, int]] = {"rosenbrock_3d": ("rosenbrock", 3)}


class UserObjective:
    """A user's objective for the explorer: ``fun(config) -> float | Measurement`` on ``space``.

    The explorer runs it live (one batch at a time, while playing) and, knowing no true
    landscape, colours the landscape by the observed values. ``fun(config)`` raising
    ``KeyError`` for a name the space does not have is reported as a space that does not match
    the objective (the names it has and the name asked for). Picklable when ``fun`` is (worker
    processes get it with cloudpickle otherwise).

    Parameters
    ----------
    fun : callable
        ``fun(config: dict) -> float | core.result.Measurement``.
    space : SearchSpace
    pooled : bool
        Evaluate in the services' worker pool (processes or Dask), not in a thread.
    """

    kind = "user"
    f_opt = None
    x_opt = None

    def __init__(self, fun: Callable[[dict], Any], space: Any, *, pooled: bool = False) -> None:
        self.fun = fun
        self.space = space
        self.names = tuple(space.names)
        name = str(getattr(fun, "name", None) or getattr(fun, "__name__", None)
                   or type(fun).__name__)
        self.name = "objective" if name == "<lambda>" else name
        self.title = str(getattr(fun, "title", None) or (
            "Your objective" if name == "<lambda>" else name))
        self.metric = str(getattr(fun, "metric", "f(x)"))
        self.pooled = bool(pooled)

    def __call__(self, config: dict) -> Any:
        try:
            return self.fun(config)
        except KeyError as exc:
            key = exc.args[0] if exc.args else None
            if key is not None and key not in self.names:
                raise KeyError(
                    f"the objective reads {key!r}, which the space does not have (its "
                    f"parameters: {', '.join(self.names)}); pass the space the objective "
                    "expects"
                ) from None
            raise


def as_objective(objective: Any, space: Any = None) -> tuple[str, Any]:
    """``(name, objective)`` for a registered name, an objective object or a callable.

    Parameters
    ----------
    objective : str, Objective or callable
        A name of :func:`explorer_objectives`, an object with ``space`` (and ideally ``name``,
        ``title``, ``metric``, ``kind``), or a callable ``config -> float | Measurement``.
    space : core.space.SearchSpace, optional
        Required for a bare callable; overrides nothing for objects that carry their own.
    """
    if isinstance(objective, str):
        known = explorer_objectives()
        if objective not in known:
            raise ValueError(
                f"`objective` must be one of {', '.join(known)} or a callable, got {objective!r}"
            )
        return objective, known[objective]
    if not callable(objective):
        raise TypeError(f"`objective` must be a name or a callable, got {objective!r}")
    own = getattr(objective, "space", None)
    if own is not None and space is None and hasattr(objective, "kind"):
        return str(getattr(objective, "name", "user")), objective
    space = space if space is not None else own
    if space is None:
        raise ValueError("a callable `objective` needs `space` (a core.space.SearchSpace)")
    obj = UserObjective(objective, space)
    return obj.name, obj


def explorer_objectives() -> dict[str, Any]:
    """Registered objectives, test functions first, then the neural networks.

    Returns
    -------
    dict
        Name -> objective (``core.objectives.base.Objective``), each group in registry order.
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


def is_cheap(objective: Any) -> bool:
    """Whether a run can be computed at once and replayed (vectorized test functions)."""
    return getattr(objective, "kind", "") == "test_function"


def objective_menu(objectives: dict[str, Any]) -> dict[str, str]:
    """Menu label -> name. Labels stay plain text, not escaped: the menu (a Bokeh ``Select``)
    puts them in the page as text nodes, so escaping here would show ``&lt;`` to the user;
    whatever puts a title into HTML escapes it there."""
    menu: dict[str, str] = {}
    for name, obj in objectives.items():
        title = str(getattr(obj, "title", name))
        if getattr(obj, "kind", "") == "neural_network":
            short = title.split("(")[0].strip()
            title = f"{short} — {obj.space.dim}-D, trains live"
        menu[title] = name
    return menu


def method_menu() -> dict[str, str]:
    """Menu label (the strategy's ``title``) -> registry name, in registry order."""
    from core.strategies import STRATEGIES

    return {cls.title: name for name, cls in STRATEGIES.items()}


def method_variants(method: str) -> tuple[list[str], str | None]:
    """The variants of ``method``'s strategy (its module's ``VARIANTS``) and its default;
    ``([], None)`` for a method without a ``variant`` option."""
    import sys

    from core.strategies import STRATEGIES, strategy_options

    default = strategy_options(method).get("variant")
    if default is None:
        return [], None
    module = sys.modules[STRATEGIES[method].__module__]
    return list(getattr(module, "VARIANTS", [default])), default


def method_title(objective: Any, method: str) -> str:
    """The name of what runs as ``method`` on ``objective``: the title of the run the objective
    replays (``fixed_run["title"]``, e.g. an optuna study's trials), when it replays a run of
    that method with a title of its own; else the strategy's title (core's)."""
    from core.strategies import STRATEGIES

    fixed = getattr(objective, "fixed_run", None)
    if fixed is not None and fixed.get("method") == method and fixed.get("title"):
        return str(fixed["title"])
    cls = STRATEGIES.get(method)
    return cls.title if cls is not None else str(method)


def optimizer_names() -> list[str]:
    """``"none"`` followed by every surrogate optimizer core offers (:func:`optimizer_titles`)."""
    return list(optimizer_titles())


def variant_defaults(method: str, variant: str | None) -> dict[str, Any]:
    """The options ``method``'s strategy sets by ``variant`` (its module's
    ``variant_defaults``, e.g. the sparse grid's surrogate optimizer), without those left to
    the strategy (``None``); ``{}`` for a method whose variants set no other option."""
    import sys

    from core.strategies import STRATEGIES

    own = getattr(sys.modules[STRATEGIES[method].__module__], "variant_defaults", None)
    if own is None or variant is None:
        return {}
    return {k: v for k, v in own(variant).items() if v is not None}


def optimizer_menu() -> dict[str, str]:
    titles = optimizer_titles()
    return {titles.get(n, n): n for n in optimizer_names()}
