"""The objective protocol shared by test functions and live neural-network objectives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.result import Measurement
    from core.space import SearchSpace

__all__ = ["Objective"]


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
