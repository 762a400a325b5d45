"""A :class:`~core.space.SearchSpace` plus the host library's value grid (stepped parameters).

Optuna and scikit-learn know parameters that :mod:`core.space` does not: floats and integers on
a step grid ``low, low + step, ..., high``. Such a parameter is searched as the index
``k = 0 .. n - 1`` of its grid value (``Int(0, n - 1)``, so every value, ``high`` included, has
an equal share of the unit interval) and decoded to ``low + k * step``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.space import Int, Param, SearchSpace

__all__ = ["HostSpace", "Stepped"]


@dataclass(frozen=True)
class Stepped:
    """Decode a grid index ``k`` to ``low + k * step`` (an int when ``integer``), at most ``high``.

    Attributes
    ----------
    low, high, step : float
        The grid; ``high`` is on it (optuna adjusts ``high`` that way, as we require here).
    integer : bool
        Return Python ints (``IntDistribution``) instead of floats.
    """

    low: float
    high: float
    step: float
    integer: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise ValueError(f"`{name}` of a stepped parameter must be finite, got {v!r}")
        if not self.step > 0:
            raise ValueError(f"`step` must be > 0, got step={self.step!r}")
        if not self.low < self.high:
            raise ValueError(f"a stepped parameter needs low < high, got {self.low}, {self.high}")

    @property
    def n_values(self) -> int:
        return int(math.floor((self.high - self.low) / self.step + 1e-8)) + 1

    @property
    def param(self) -> Int:
        return Int(0, self.n_values - 1)

    def __call__(self, k: int) -> float | int:
        if self.integer:
            return int(min(int(self.low) + int(k) * int(self.step), int(self.high)))
        return float(min(self.low + int(k) * self.step, self.high))


class HostSpace:
    """Named parameters of a host library mapped to a :class:`~core.space.SearchSpace`.

    Parameters
    ----------
    params : Mapping[str, Float | Int | Categorical | Stepped]
        In the order of the unit-cube axes.

    Attributes
    ----------
    space : SearchSpace
        What the strategy searches (a :class:`Stepped` parameter appears as its index ``Int``).
    """

    def __init__(self, params: Mapping[str, Param | Stepped]) -> None:
        self._decoders: dict[str, Callable[[Any], Any]] = {}
        core_params: dict[str, Param] = {}
        for name, p in params.items():
            if isinstance(p, Stepped):
                core_params[name] = p.param
                self._decoders[name] = p
            else:
                core_params[name] = p
        self.space = SearchSpace(core_params)

    @property
    def names(self) -> tuple[str, ...]:
        return self.space.names

    @property
    def dim(self) -> int:
        return self.space.dim

    def from_unit(self, U: Any) -> list[dict[str, Any]]:
        """Host configurations of unit-cube points ``U`` (shape ``(n, d)``), in order."""
        configs = self.space.from_unit(np.asarray(U, dtype=np.float64))
        if self._decoders:
            for config in configs:
                for name, decode in self._decoders.items():
                    config[name] = decode(config[name])
        return configs
