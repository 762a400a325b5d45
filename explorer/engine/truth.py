"""The true landscape on a slice: test functions directly, trainings from stored files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.engine.units import MODEL_RESOLUTION, slice_points


def truth_slice(
    objective: Any,
    dims: tuple[int, int],
    fixed: np.ndarray,
    resolution: int = MODEL_RESOLUTION,
    landscapes: dict | None = None,
) -> np.ndarray | None:
    """The objective on the image grid of :func:`slice_points`, or ``None`` if unknown.

    Test functions are evaluated directly (vectorized, microseconds). A 2-D neural-network
    objective uses its stored landscape (``core.objectives.landscapes``, coarse but true);
    higher-dimensional trainings and user objectives have no affordable truth. ``landscapes``
    caches stored landscapes (see :func:`landscape_objective`).

    Returns
    -------
    ndarray of float32, shape (r, r) or (n2, n1) for a stored landscape; ``Z[j, i]`` has
    ``u[dims[0]]`` from the ``i``-th column and ``u[dims[1]]`` from the ``j``-th row.
    """
    d = objective.space.dim
    if getattr(objective, "kind", "") == "test_function" and hasattr(objective, "evaluate_unit"):
        if d == 1:
            g = (np.arange(resolution) + 0.5) / resolution
            z = objective.evaluate_unit(g[:, None])
            return np.repeat(np.asarray(z, np.float32)[None, :], resolution, axis=0)
        U = slice_points(d, dims, fixed, resolution)
        return np.asarray(objective.evaluate_unit(U), dtype=np.float32).reshape(
            resolution, resolution
        )
    proxy = landscape_objective(objective, landscapes)
    if proxy is None:
        return None
    U = slice_points(2, tuple(dims), np.full(2, 0.5), resolution)
    return np.asarray(proxy.evaluate_unit(U), dtype=np.float32).reshape(resolution, resolution)


@dataclass(frozen=True, eq=False)
class LandscapeObjective:
    """A 2-D training objective replaced by its stored landscape (bilinear in the unit square).

    Used only for display: the truth heatmap at the views' resolution and the gamma strip of a
    neural-network objective, whose true values would each cost a training.

    Attributes
    ----------
    name, title, metric : str
    space : SearchSpace
        The objective's own space (so configurations print in native units).
    u1, u2 : ndarray, shape (n1,), (n2,)
        Cell midpoints of the stored grid in the unit square.
    values : ndarray, shape (n2, n1)
    """

    name: str
    title: str
    metric: str
    space: Any
    u1: np.ndarray
    u2: np.ndarray
    values: np.ndarray
    kind: str = "test_function"
    f_opt: Any = None
    x_opt: Any = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def evaluate_unit(self, U: Any) -> np.ndarray:
        """Bilinear interpolation at unit-square points ``U`` (shape (m, 2)) -> (m,)."""
        from scipy.interpolate import RegularGridInterpolator

        V = np.asarray(self.values, dtype=np.float64)
        if np.isnan(V).any():  # failed trainings: the worst value, as the strategies do
            V = np.where(np.isnan(V), np.nanmax(V), V)
        f = RegularGridInterpolator((self.u2, self.u1), V, method="linear", bounds_error=False,
                                    fill_value=None)
        U = np.asarray(U, dtype=np.float64).reshape(-1, 2)
        P = np.column_stack([  # constant beyond the outer cell midpoints, never extrapolated
            np.clip(U[:, 1], self.u2[0], self.u2[-1]), np.clip(U[:, 0], self.u1[0], self.u1[-1])
        ])
        return f(P)

    def __call__(self, config: dict) -> float:
        return float(self.evaluate_unit(self.space.to_unit(config))[0])


def landscape_objective(objective: Any, cache: dict | None = None) -> LandscapeObjective | None:
    """The stored-landscape stand-in of a 2-D objective, or ``None`` without a landscape.

    ``cache`` (the server's, from :class:`explorer.services.Services`) keeps files read once per
    process: they are a few kB and never change while it runs.
    """
    if objective.space.dim != 2 or getattr(objective, "kind", "") != "neural_network":
        return None
    key = (objective.name, repr(objective.space))
    if cache is None:
        return _load_landscape_objective(objective)
    if key not in cache:
        cache[key] = _load_landscape_objective(objective)
    return cache[key]


def _load_landscape_objective(objective: Any) -> LandscapeObjective | None:
    try:
        from core.objectives.landscapes import load_landscape

        land = load_landscape(objective.name)
    except Exception:  # a missing or unreadable file only means "no truth to show"
        return None
    if land is None:
        return None
    return LandscapeObjective(
        objective.name, getattr(objective, "title", objective.name),
        getattr(objective, "metric", "f"), objective.space, land.u1, land.u2, land.values,
    )
