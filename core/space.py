"""Search spaces: named hyperparameters mapped to and from the unit cube [0, 1]^d.

Only this module knows native units (docs/architecture.md, "The unit cube is the internal
language"). Everything else (grids, surrogates, strategies, optimizers) works in the unit cube.

Mapping rules (docs/decisions.md, "Integer and categorical bins"):

- ``Float(low, high)``: ``x = low + u (high - low)``; with ``log=True`` uniform in log space,
  ``x = low (high / low)^u``.
- ``Int(low, high)``: ``n = high - low + 1`` equal-width bins; ``u`` in bin
  ``k = min(floor(u n), n - 1)`` gives ``low + k``, so every value including ``high`` is
  reachable and each is hit by a unit interval of width ``1/n``. ``to_unit`` returns the bin
  centre ``(k + 1/2) / n``. With ``log=True`` the bins are equal width in log space over
  ``[low - 1/2, high + 1/2]``: ``u`` maps to
  ``round(exp(log(low - 1/2) + u (log(high + 1/2) - log(low - 1/2))))``, so small values get
  wider bins, and ``to_unit`` returns the centre of the value's bin in log space.
- ``Categorical(choices)``: ``n`` equal-width bins, one per choice, in the given order.

Examples
--------
>>> space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "epochs": Int(1, 20)})
>>> space.names, space.dim
(('lr', 'epochs'), 2)
>>> space.from_unit([[0.0, 1.0]])
[{'lr': 0.0001, 'epochs': 20}]
"""

from __future__ import annotations

import ast
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core._validation import as_points, check_unit_cube

__all__ = ["MAX_INT_BOUND", "Float", "Int", "Categorical", "SearchSpace", "Param"]


#: Largest magnitude of an ``Int`` bound: integers up to ``2**53`` are exact in float64, which
#: the unit-cube mapping computes in (and they fit int64).
MAX_INT_BOUND = 2**53


def _check_log(kind: str, log: Any) -> bool:
    if not isinstance(log, (bool, np.bool_)):
        raise TypeError(f"{kind} `log` must be True or False, got log={log!r}")
    return bool(log)


def _check_bounds(kind: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{kind} bounds must be finite, got low={low!r}, high={high!r}")
    if not low < high:
        raise ValueError(f"{kind} needs low < high, got low={low!r}, high={high!r}")
    if 0 < high - low < sys.float_info.min:
        raise ValueError(
            f"{kind} width high - low must be at least {sys.float_info.min:g} (a normal "
            f"float64; a subnormal width maps every point to low), got low={low!r}, "
            f"high={high!r}"
        )
    if not math.isfinite(high - low):
        raise ValueError(
            f"{kind} width high - low must be a finite float64 (at most {sys.float_info.max:g}),"
            f" got low={low!r}, high={high!r} (width overflows to inf)"
        )
    if log and low <= 0:
        raise ValueError(f"{kind} with log=True needs low > 0, got low={low!r}")


def _exact(v: float) -> str:
    """``v`` in ``:g`` form when that reads back exactly, else its full ``repr``.

    Descriptions identify a space (journal headers, stored landscapes): two different bounds
    must never describe alike, as ``0.1`` and ``0.1000001`` would with ``:g`` alone.
    """
    short = f"{v:g}"
    return short if float(short) == v else repr(float(v))


@dataclass(frozen=True)
class Float:
    """A continuous hyperparameter on ``[low, high]``, optionally log-scaled."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"Float `{name}` must be a number, got {name}={v!r}")
            object.__setattr__(self, name, float(v))
        object.__setattr__(self, "log", _check_log("Float", self.log))
        _check_bounds("Float", self.low, self.high, self.log)

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            x = np.exp(lo + u * (hi - lo))
        else:
            x = self.low + u * (self.high - self.low)
        # exact end points despite rounding in exp/log
        x = np.where(u <= 0.0, self.low, np.where(u >= 1.0, self.high, x))
        return np.clip(x, self.low, self.high)

    def _to_unit(self, x: np.ndarray) -> np.ndarray:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return (np.log(x) - lo) / (hi - lo)
        return (x - self.low) / (self.high - self.low)

    def _coerce(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"`{name}` must be a number, got {name}={value!r}")
        v = float(value)
        if not (self.low <= v <= self.high):
            raise ValueError(
                f"`{name}` must be in [{self.low}, {self.high}], got {name}={value!r}"
            )
        return v

    def describe(self) -> str:
        return f"Float({_exact(self.low)}, {_exact(self.high)}{', log' if self.log else ''})"


@dataclass(frozen=True)
class Int:
    """An integer hyperparameter on ``[low, high]`` (both inclusive), optionally log-scaled."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (
                isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
            ):
                raise TypeError(f"Int `{name}` must be an integer, got {name}={v!r}")
            if not -MAX_INT_BOUND <= int(v) <= MAX_INT_BOUND:
                raise ValueError(
                    f"Int `{name}` must be in [-2**53, 2**53] (exact in float64, fits int64), "
                    f"got {name}={v!r}"
                )
            object.__setattr__(self, name, int(v))
        object.__setattr__(self, "log", _check_log("Int", self.log))
        _check_bounds("Int", self.low, self.high, self.log)

    @property
    def n_values(self) -> int:
        return self.high - self.low + 1

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5) if self.low > 0.5 else math.log(0.5), math.log(
            self.high + 0.5
        )

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        if self.log:
            a, b = self._log_edges()
            x = np.rint(np.exp(a + u * (b - a)))
            x = np.where(u <= 0.0, self.low, np.where(u >= 1.0, self.high, x))  # exact ends
            return np.clip(x, self.low, self.high).astype(np.int64)
        k = np.minimum(np.floor(u * self.n_values), self.n_values - 1)
        return np.int64(self.low) + np.maximum(k, 0).astype(np.int64)  # exact integer sum

    def _to_unit(self, x: np.ndarray) -> np.ndarray:
        if self.log:
            a, b = self._log_edges()
            lo_edge = np.log(np.maximum(x - 0.5, math.exp(a)))
            hi_edge = np.log(x + 0.5)
            return (0.5 * (lo_edge + hi_edge) - a) / (b - a)
        return (x - self.low + 0.5) / self.n_values

    def _coerce(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not (
            isinstance(value, (int, np.integer))
            or (isinstance(value, (float, np.floating)) and float(value).is_integer())
        ):
            raise TypeError(f"`{name}` must be an integer, got {name}={value!r}")
        v = int(value)
        if not (self.low <= v <= self.high):
            raise ValueError(
                f"`{name}` must be in [{self.low}, {self.high}], got {name}={value!r}"
            )
        return v

    def describe(self) -> str:
        return f"Int({self.low}, {self.high}{', log' if self.log else ''})"


@dataclass(frozen=True)
class Categorical:
    """A categorical hyperparameter: one of ``choices`` (order defines the unit-cube bins)."""

    choices: tuple

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Iterable):
            raise TypeError(f"Categorical `choices` must be a sequence, got {self.choices!r}")
        choices = tuple(self.choices)
        if len(choices) < 1:
            raise ValueError("Categorical needs at least one choice, got choices=()")
        nan = [c for c in choices if isinstance(c, (float, np.floating)) and math.isnan(c)]
        if nan:
            raise ValueError(
                "Categorical choices must not be NaN (NaN equals nothing, not even itself, so "
                f"a NaN choice could never be matched to a value), got choices={choices!r}"
            )
        if len(set(map(repr, choices))) != len(choices):
            raise ValueError(f"Categorical choices must be distinct, got choices={choices!r}")
        object.__setattr__(self, "choices", choices)

    @property
    def n_values(self) -> int:
        return len(self.choices)

    log = False

    def _from_unit(self, u: np.ndarray) -> np.ndarray:
        k = np.minimum(np.floor(u * self.n_values), self.n_values - 1)
        return np.maximum(k, 0).astype(np.int64)  # indices; mapped to choices by the space

    def _to_unit(self, k: np.ndarray) -> np.ndarray:
        return (k + 0.5) / self.n_values

    def _index(self, name: str, value: Any) -> int:
        for k, c in enumerate(self.choices):
            if type(c) is type(value) and c == value or c is value:
                return k
        for k, c in enumerate(self.choices):
            if c == value:
                return k
        raise ValueError(f"`{name}` must be one of {list(self.choices)!r}, got {name}={value!r}")

    def describe(self) -> str:
        return f"Categorical({list(self.choices)!r})"


Param = Float | Int | Categorical

_NUMERIC = re.compile(r"^(Float|Int)\((?P<low>[^,]+), (?P<high>[^,)]+)(?P<log>, log)?\)$")
_CATEGORICAL = re.compile(r"^Categorical\((?P<choices>\[.*\])\)$", re.DOTALL)


def _param_from_text(name: Any, text: Any) -> Param:
    """The parameter whose ``describe()`` is ``text`` (``ValueError`` naming ``name``)."""
    if not isinstance(text, str):
        raise ValueError(f"parameter {name!r} must be described by a string, got {text!r:.80}")
    m = _NUMERIC.match(text)
    try:
        if m is not None:
            if text.startswith("Float"):
                return Float(float(m["low"]), float(m["high"]), log=m["log"] is not None)
            return Int(int(m["low"]), int(m["high"]), log=m["log"] is not None)
        m = _CATEGORICAL.match(text)
        if m is not None:
            return Categorical(tuple(ast.literal_eval(m["choices"])))
    except (TypeError, ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(
            f"parameter {name!r}: {text!r:.120} is not a valid parameter ({type(exc).__name__}:"
            f" {exc}; categorical choices must be Python literals to be read back)"
        ) from None
    raise ValueError(
        f"parameter {name!r} must be described as Float(low, high[, log]), Int(low, high"
        f"[, log]) or Categorical([...]), got {text!r:.120}"
    )


class SearchSpace:
    """An ordered mapping of names to hyperparameters; dimension ``t`` is the ``t``-th name.

    Parameters
    ----------
    params : Mapping[str, Float | Int | Categorical]
        The hyperparameters, in the order of the unit-cube axes.

    Attributes
    ----------
    names : tuple of str
    dim : int
    bounds : ndarray, shape (d, 2)
        Native ``(low, high)`` per dimension (``(0, n - 1)`` choice indices for categoricals).
    """

    def __init__(self, params: Mapping[str, Param]) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(f"SearchSpace needs a mapping name -> parameter, got {params!r}")
        if len(params) == 0:
            raise ValueError("SearchSpace needs at least one parameter, got an empty mapping")
        for name, p in params.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"parameter names must be non-empty strings, got {name!r}")
            if not isinstance(p, (Float, Int, Categorical)):
                raise TypeError(
                    f"parameter `{name}` must be Float, Int or Categorical, got {p!r}"
                )
        self._params: dict[str, Param] = dict(params)

    # -- basic properties -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._params)

    @property
    def dim(self) -> int:
        return len(self._params)

    @property
    def params(self) -> dict[str, Param]:
        return dict(self._params)

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self._params == other._params

    def __hash__(self) -> int:
        return hash(tuple(self._params.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k!r}: {p.describe()}" for k, p in self._params.items())
        return f"SearchSpace({{{inner}}})"

    @property
    def bounds(self) -> np.ndarray:
        out = np.empty((self.dim, 2))
        for t, p in enumerate(self._params.values()):
            out[t] = (0, p.n_values - 1) if isinstance(p, Categorical) else (p.low, p.high)
        return out

    def describe(self) -> dict[str, str]:
        """JSON-friendly description (used to check journals come from the same space)."""
        return {k: p.describe() for k, p in self._params.items()}

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> SearchSpace:
        """The space whose :meth:`describe` is ``description`` (e.g. read from a journal).

        ``SearchSpace.from_description(space.describe()) == space`` for every space whose
        categorical choices are Python literals (str, bytes, numbers, bool, None and tuples or
        lists of them); other choices (objects) describe as their ``repr``, which cannot be
        read back.

        Raises
        ------
        ValueError
            A description that is not a space's, naming the parameter and the text received.
        """
        if not isinstance(description, Mapping) or not description:
            raise ValueError(
                f"a space description must be a non-empty mapping name -> parameter text, got "
                f"{description!r:.120}"
            )
        return cls({name: _param_from_text(name, text) for name, text in description.items()})

    # -- mapping -----------------------------------------------------------------------------
    def from_unit(self, U: Any) -> list[dict[str, Any]]:
        """Map unit-cube points to configurations.

        Parameters
        ----------
        U : array_like, shape (n, d) or (d,)
            Points in [0, 1]^d.

        Returns
        -------
        list of dict
            ``n`` configurations with native Python values (float, int or the choice object).
        """
        U = check_unit_cube(as_points(U, self.dim))
        columns = []
        for t, p in enumerate(self._params.values()):
            col = p._from_unit(U[:, t])
            if isinstance(p, Categorical):
                columns.append([p.choices[k] for k in col.tolist()])
            else:
                columns.append(col.tolist())
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]

    def to_unit(self, configs: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Map configurations to unit-cube points.

        Parameters
        ----------
        configs : dict or sequence of dict
            Each must have exactly the space's names with values inside the space.

        Returns
        -------
        U : ndarray, shape (n, d)
            Floats and log floats map exactly; ints and categoricals map to their bin centres.
        """
        if isinstance(configs, Mapping):
            configs = [configs]
        configs = list(configs)
        native = np.empty((len(configs), self.dim))
        for r, config in enumerate(configs):
            self._check_keys(config)
            for t, (name, p) in enumerate(self._params.items()):
                value = config[name]
                native[r, t] = p._index(name, value) if isinstance(p, Categorical) else p._coerce(
                    name, value
                )
        U = np.empty_like(native)
        for t, p in enumerate(self._params.values()):
            U[:, t] = p._to_unit(native[:, t])
        return np.clip(U, 0.0, 1.0)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``config`` with coerced values, or raise naming the offending key."""
        self._check_keys(config)
        out: dict[str, Any] = {}
        for name, p in self._params.items():
            if isinstance(p, Categorical):
                out[name] = p.choices[p._index(name, config[name])]
            else:
                out[name] = p._coerce(name, config[name])
        return out

    def _check_keys(self, config: Mapping[str, Any]) -> None:
        if not isinstance(config, Mapping):
            raise TypeError(f"a configuration must be a dict, got {config!r}")
        missing = [k for k in self._params if k not in config]
        extra = [k for k in config if k not in self._params]
        if missing or extra:
            raise ValueError(
                f"configuration keys must be exactly {list(self.names)}; "
                f"missing {missing}, unexpected {extra}"
            )

    # -- distinct configurations ------------------------------------------------------------
    @property
    def discrete_dims(self) -> tuple[int, ...]:
        """Indices of the ``Int`` and ``Categorical`` dimensions (finitely many values)."""
        return tuple(
            t for t, p in enumerate(self._params.values()) if not isinstance(p, Float)
        )

    @property
    def n_configurations(self) -> int | None:
        """How many distinct configurations the space holds; ``None`` with a ``Float``."""
        if len(self.discrete_dims) < self.dim:
            return None
        return math.prod(p.n_values for p in self._params.values())

    def configuration_keys(self, U: Any) -> list[tuple]:
        """A hashable identity of each point's configuration, in order.

        Points with equal keys map to the same configuration (an ``Int`` or ``Categorical``
        bin, a ``Float`` value); the key of dimension ``t`` is the value's index for a
        categorical, the integer for an ``Int`` and the float for a ``Float``.

        Parameters
        ----------
        U : array_like, shape (n, d)
            Points in [0, 1]^d.

        Returns
        -------
        list of tuple
            ``n`` keys of ``d`` entries each.
        """
        U = check_unit_cube(as_points(U, self.dim))
        columns = [p._from_unit(U[:, t]).tolist() for t, p in enumerate(self._params.values())]
        return list(zip(*columns, strict=True))

    def bin_centres(self, t: int) -> np.ndarray:
        """Unit-cube centres of the values of discrete dimension ``t``, shape ``(n_t,)``."""
        p = list(self._params.values())[t]
        if isinstance(p, Float):
            raise ValueError(f"dimension {t} ({self.names[t]!r}) is a Float, it has no bins")
        values = np.arange(p.n_values) if isinstance(p, Categorical) else np.arange(
            p.low, p.high + 1
        )
        return np.clip(p._to_unit(values.astype(np.float64)), 0.0, 1.0)

    def sample(self, n: int, seed: Any = None) -> list[dict[str, Any]]:
        """``n`` configurations drawn uniformly in the unit cube (log and int respected)."""
        from core._validation import as_generator

        return self.from_unit(as_generator(seed).random((n, self.dim)))
