"""The objective protocol shared by test functions and live neural-network objectives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.result import Measurement
    from core.space import SearchSpace

__all__ = ["Objective", "UserObjective"]


@runtime_checkable
class Objective(Protocol):
    """What the driver (:mod:`core.run`) and the explorer need from an objective.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"rosenbrock"`` or ``"mlp_regression_2d"``.
    title : str
        Human title for menus and plots.
    space : SearchSpace
        The hyperparameters, in native units.
    metric : str
        What the value means, e.g. ``"f(x)"``, ``"validation MSE"``, ``"1 - validation accuracy"``.
    kind : str
        ``"test_function"`` (microseconds, vectorized) or ``"neural_network"`` (seconds, live).
    f_opt : float or None
        Known minimum value, if any.
    x_opt : dict or None
        A known minimizer in native units, if any.

    ``__call__(config)`` returns the loss (lower is better) as a float, or a
    :class:`core.result.Measurement` carrying extra facts (accuracy, loss curve).
    """

    name: str
    title: str
    space: SearchSpace
    metric: str
    kind: str
    f_opt: float | None
    x_opt: dict[str, Any] | None

    def __call__(self, config: dict[str, Any]) -> float | Measurement: ...


class UserObjective:
    """A user's callable as an :class:`Objective`: ``fun(config) -> float | Measurement`` on
    ``space``, the one wrapper of a function of one's own (the explorer's ``explore(fn, space)``
    uses it too).

    It has no known minimum (``f_opt`` and ``x_opt`` are None, ``kind`` is ``"user"``).
    ``fun(config)`` raising ``KeyError`` for a name the space does not have is re-raised as a
    ``KeyError`` saying that the space does not match the objective (the name read and the
    space's names), which the driver records as the evaluation's error. Picklable when ``fun``
    is (the driver ships others to worker processes with cloudpickle).

    Parameters
    ----------
    fun : callable
        ``fun(config: dict) -> float | core.result.Measurement``, lower is better.
    space : SearchSpace
        The hyperparameters ``fun`` reads.
    name, title, metric : str, optional
        Default: ``fun``'s own ``name``/``title``/``metric`` attributes when it has them, else
        its ``__name__`` (``"objective"`` for a lambda), ``"Your objective"`` for a lambda,
        and ``"f(x)"``.
    """

    kind = "user"
    f_opt = None
    x_opt = None

    def __init__(self, fun: Any, space: SearchSpace, *, name: str | None = None,
                 title: str | None = None, metric: str | None = None) -> None:
        from core.space import SearchSpace

        if not callable(fun):
            raise TypeError(f"`fun` must be callable as fun(config) -> float, got {fun!r:.80}")
        if not isinstance(space, SearchSpace):
            raise TypeError(f"`space` must be a core.space.SearchSpace, got {space!r:.80}")
        self.fun = fun
        self.space = space
        own = str(getattr(fun, "name", None) or getattr(fun, "__name__", None)
                  or type(fun).__name__)
        lam = own == "<lambda>"
        self.name = str(name) if name is not None else ("objective" if lam else own)
        self.title = str(title) if title is not None else str(
            getattr(fun, "title", None) or ("Your objective" if lam else own))
        self.metric = str(metric) if metric is not None else str(
            getattr(fun, "metric", None) or "f(x)")

    def __call__(self, config: dict[str, Any]) -> Any:
        try:
            return self.fun(config)
        except KeyError as exc:
            key = exc.args[0] if exc.args else None
            names = self.space.names
            if isinstance(key, str) and key not in names:
                raise KeyError(
                    f"the objective {self.name!r} reads {key!r}, which the space does not have "
                    f"(its parameters: {', '.join(names)}); pass the space the objective "
                    "expects"
                ) from None
            raise

    def __repr__(self) -> str:
        return f"UserObjective({self.name!r}, {self.space!r})"
