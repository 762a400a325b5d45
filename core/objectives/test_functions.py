"""Classical optimization test functions, vectorized in native units.

Each :class:`TestFunction` holds a formula on ``(n, d)`` native points, its default domain, the
dimensions it supports and its known minimum. ``TestFunction.objective(dim, shift)`` builds an
:class:`~core.objectives.base.Objective` with a :class:`~core.space.SearchSpace` of ``Float``
parameters named ``x1 .. xd``.

Domains follow SG++'s test problems where SG++ has them (Rosenbrock ``[-5, 10]^d``,
Rastrigin ``[-2, 8]^d``, Eggholder ``[-512, 512]^2``, ``sin(8x) + sin(7y)`` on ``[0, 1]^2``).
For the others the domain is chosen so that the minimizer is **not** the centre of the box,
which every sparse grid samples first: Ackley ``[-10, 30]^d``, Griewank ``[-50, 70]^d``,
Himmelblau ``[-5, 5]^2`` (minima off centre), Goldstein-Price ``[-2, 2]^2`` (minimum at
``(0, -1)``).

A ``shift`` vector ``s`` moves the landscape: the shifted function is ``f(x - s)`` on the same
domain, with minimizer ``x* + s`` (it must stay in the domain). The race benchmark uses shifts so
that no optimum sits on a dyadic grid point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core._validation import as_points
from core.space import Float, SearchSpace

__all__ = ["TestFunction", "TestFunctionObjective", "TEST_FUNCTIONS"]


def _rosenbrock(X: np.ndarray) -> np.ndarray:
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def _rastrigin(X: np.ndarray) -> np.ndarray:
    return 10.0 * X.shape[1] + np.sum(X**2 - 10.0 * np.cos(2.0 * np.pi * X), axis=1)


def _eggholder(X: np.ndarray) -> np.ndarray:
    x1, x2 = X[:, 0], X[:, 1]
    return -(x2 + 47.0) * np.sin(np.sqrt(np.abs(x2 + x1 / 2.0 + 47.0))) - x1 * np.sin(
        np.sqrt(np.abs(x1 - (x2 + 47.0)))
    )


def _ackley(X: np.ndarray) -> np.ndarray:
    d = X.shape[1]
    a = -20.0 * np.exp(-0.2 * np.sqrt(np.sum(X**2, axis=1) / d))
    b = -np.exp(np.sum(np.cos(2.0 * np.pi * X), axis=1) / d)
    return a + b + 20.0 + np.e


def _himmelblau(X: np.ndarray) -> np.ndarray:
    x, y = X[:, 0], X[:, 1]
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


def _goldstein_price(X: np.ndarray) -> np.ndarray:
    x, y = X[:, 0], X[:, 1]
    a = 1.0 + (x + y + 1.0) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30.0 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _griewank(X: np.ndarray) -> np.ndarray:
    i = np.arange(1, X.shape[1] + 1)
    return 1.0 + np.sum(X**2, axis=1) / 4000.0 - np.prod(np.cos(X / np.sqrt(i)), axis=1)


def _sin8x_sin7y(X: np.ndarray) -> np.ndarray:
    return np.sin(8.0 * X[:, 0]) + np.sin(7.0 * X[:, 1])


@dataclass(frozen=True)
class TestFunction:
    """A test function family: formula, domain, supported dimensions and known minimum.

    Attributes
    ----------
    name, title : str
    formula : callable
        ``formula(X)`` with ``X`` of shape ``(n, d)`` in native units returns ``(n,)``.
    low, high : float
        Default domain ``[low, high]^d``.
    dims : tuple of int or None
        Supported dimensions (``None``: any ``d >= min_dim``).
    min_dim : int
    f_opt : float
        Known global minimum value.
    x_opt : callable
        ``x_opt(d)`` returns one global minimizer, shape ``(d,)``.
    latex : str
        The formula for display.
    """

    __test__ = False  # not a pytest class

    name: str
    title: str
    formula: Callable[[np.ndarray], np.ndarray]
    low: float
    high: float
    f_opt: float
    x_opt: Callable[[int], np.ndarray]
    dims: tuple[int, ...] | None = None
    min_dim: int = 1
    latex: str = ""
    default_dim: int = 2

    def check_dim(self, dim: int) -> int:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"`dim` must be an int, got dim={dim!r}")
        ok = dim in self.dims if self.dims is not None else dim >= self.min_dim
        if not ok:
            allowed = list(self.dims) if self.dims is not None else f"d >= {self.min_dim}"
            raise ValueError(f"{self.name} supports dim in {allowed}, got dim={dim}")
        return int(dim)

    def __call__(self, X: Any) -> np.ndarray:
        """Evaluate on native points ``X`` of shape ``(n, d)``; returns ``(n,)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        self.check_dim(X.shape[1])
        return self.formula(X)

    def __reduce__(self):  # pickled by name: the registry holds the formula
        return (_lookup, (self.name,))

    def objective(self, dim: int | None = None, shift: Any = None) -> TestFunctionObjective:
        """An :class:`Objective` on ``[low, high]^dim``, optionally shifted by ``shift``."""
        d = self.check_dim(self.default_dim if dim is None else dim)
        return TestFunctionObjective(self, d, None if shift is None else np.asarray(shift, float))


@dataclass(frozen=True, eq=False)
class TestFunctionObjective:
    """A test function as an objective over ``SearchSpace({"x1": Float(low, high), ...})``."""

    __test__ = False

    function: TestFunction
    dim: int
    shift: np.ndarray | None = None
    space: SearchSpace = field(init=False)
    kind: str = field(default="test_function", init=False)
    metric: str = field(default="f(x)", init=False)

    def __post_init__(self) -> None:
        f = self.function
        space = SearchSpace({f"x{t + 1}": Float(f.low, f.high) for t in range(self.dim)})
        object.__setattr__(self, "space", space)
        if self.shift is not None:
            s = np.asarray(self.shift, dtype=np.float64)
            if s.shape != (self.dim,):
                raise ValueError(f"`shift` must have shape ({self.dim},), got shape {s.shape}")
            x = f.x_opt(self.dim) + s
            if np.any(x < f.low) or np.any(x > f.high):
                raise ValueError(
                    f"`shift` moves the minimizer {x.tolist()} outside [{f.low}, {f.high}]^d"
                )
            s.setflags(write=False)
            object.__setattr__(self, "shift", s)

    @property
    def name(self) -> str:
        suffix = "" if self.dim == self.function.default_dim else f"_{self.dim}d"
        return self.function.name + suffix + ("_shifted" if self.shift is not None else "")

    @property
    def title(self) -> str:
        shifted = ", shifted" if self.shift is not None else ""
        return f"{self.function.title} ({self.dim}-D{shifted})"

    @property
    def f_opt(self) -> float:
        return self.function.f_opt

    @property
    def x_opt_native(self) -> np.ndarray:
        x = self.function.x_opt(self.dim)
        return x if self.shift is None else x + self.shift

    @property
    def x_opt(self) -> dict[str, float]:
        return dict(zip(self.space.names, self.x_opt_native.tolist(), strict=True))

    def evaluate(self, X: Any) -> np.ndarray:
        """Vectorized evaluation on native points ``X``, shape ``(n, d)`` -> ``(n,)``."""
        X = as_points(X, self.dim, name="X")
        return self.function.formula(X if self.shift is None else X - self.shift)

    def evaluate_unit(self, U: Any) -> np.ndarray:
        """Vectorized evaluation on unit-cube points ``U``, shape ``(n, d)`` -> ``(n,)``."""
        U = as_points(U, self.dim)
        return self.evaluate(self.function.low + U * (self.function.high - self.function.low))

    def __call__(self, config: dict[str, Any]) -> float:
        config = self.space.validate(config)
        return float(self.evaluate(np.array([[config[n] for n in self.space.names]]))[0])

    def __reduce__(self):  # picklable for process pools
        return (TestFunctionObjective, (self.function, self.dim, self.shift))


def _lookup(name: str) -> TestFunction:
    return TEST_FUNCTIONS[name]


_EGG_X = np.array([512.0, 404.2318058])
_HIMMELBLAU_X = np.array([3.0, 2.0])

TEST_FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in (
        TestFunction(
            "rosenbrock", "Rosenbrock", _rosenbrock, -5.0, 10.0, 0.0,
            lambda d: np.ones(d), min_dim=2,
            latex=r"\sum_t 100(x_{t+1}-x_t^2)^2 + (1-x_t)^2",
        ),
        TestFunction(
            "rastrigin", "Rastrigin", _rastrigin, -2.0, 8.0, 0.0, lambda d: np.zeros(d),
            latex=r"10d + \sum_t x_t^2 - 10\cos(2\pi x_t)",
        ),
        TestFunction(
            "eggholder", "Eggholder", _eggholder, -512.0, 512.0, -959.6406627208510,
            lambda d: _EGG_X.copy(), dims=(2,),
            latex=r"-(y+47)\sin\sqrt{|y+x/2+47|} - x\sin\sqrt{|x-(y+47)|}",
        ),
        TestFunction(
            "ackley", "Ackley", _ackley, -10.0, 30.0, 0.0, lambda d: np.zeros(d),
            latex=r"-20e^{-0.2\sqrt{\|x\|^2/d}} - e^{\sum\cos(2\pi x_t)/d} + 20 + e",
        ),
        TestFunction(
            "himmelblau", "Himmelblau", _himmelblau, -5.0, 5.0, 0.0,
            lambda d: _HIMMELBLAU_X.copy(), dims=(2,),
            latex=r"(x^2+y-11)^2 + (x+y^2-7)^2",
        ),
        TestFunction(
            "goldstein_price", "Goldstein-Price", _goldstein_price, -2.0, 2.0, 3.0,
            lambda d: np.array([0.0, -1.0]), dims=(2,),
            latex=r"[1+(x+y+1)^2(\dots)][30+(2x-3y)^2(\dots)]",
        ),
        TestFunction(
            "griewank", "Griewank", _griewank, -50.0, 70.0, 0.0, lambda d: np.zeros(d),
            latex=r"1 + \|x\|^2/4000 - \prod_t \cos(x_t/\sqrt{t})",
        ),
        TestFunction(
            "sin8x_sin7y", "sin(8x) + sin(7y)", _sin8x_sin7y, 0.0, 1.0, -2.0,
            lambda d: np.array([3 * np.pi / 16, 3 * np.pi / 14]), dims=(2,),
            latex=r"\sin(8x) + \sin(7y)",
        ),
    )
}
