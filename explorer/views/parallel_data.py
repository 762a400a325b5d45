"""What the parallel-coordinates view draws, as pure functions of arrays (no Bokeh, no Panel).

:mod:`explorer.views.parallel` owns the figure, its sources and the brushing; this module turns
evaluations into what goes into those sources: line positions on the axes
(:func:`line_positions`), which lines pass the brushes (:func:`brush_mask`), the lines' columns
(:func:`line_columns`), their colours (:func:`line_colors`) and the axis ticks
(:func:`axis_ticks`). Positions are in axis units: 0 at the bottom of an axis, 1 at the top.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.space import Int, SearchSpace
from explorer.engine import ColorScale, axis_spec
from explorer.engine.colors import colorbar_ticks, linear_ticks
from explorer.engine.ticks import native_ticks
from explorer.views.theme import LANDSCAPE_PALETTE

__all__ = ["FAILED_COLOR", "axis_positions", "axis_ticks", "brush_mask", "brushes_from_columns",
           "line_colors", "line_columns", "line_positions", "unit_position"]

FAILED_COLOR = "#b8c0c8"


def axis_positions(space: SearchSpace, U: np.ndarray) -> np.ndarray:
    """Where unit-cube points sit on the hyperparameter axes (integers and choices snapped).

    Parameters
    ----------
    space : SearchSpace
    U : ndarray, shape (n, d)
        Evaluated points in the unit cube.

    Returns
    -------
    ndarray, shape (n, d)
        Unit-cube coordinates with integer and categorical values moved to the centre of their
        bin, where their native ticks are.
    """
    U = np.asarray(U, dtype=np.float64).reshape(-1, space.dim)
    if not len(U):
        return U.copy()
    return space.to_unit(space.from_unit(np.clip(U, 0.0, 1.0)))


def brush_mask(Y: np.ndarray, brushes: dict[int, tuple[float, float]]) -> np.ndarray:
    """Which lines pass every brush.

    Parameters
    ----------
    Y : ndarray, shape (n, m)
        Line positions on the ``m`` axes (NaN where a line has no point, e.g. a failed value).
    brushes : dict
        Axis index -> ``(low, high)`` in axis units.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for lines inside every brush (a line with no point on a brushed axis is out).
    """
    Y = np.asarray(Y, dtype=np.float64)
    keep = np.ones(len(Y), dtype=bool)
    for k, (lo, hi) in brushes.items():
        col = Y[:, k]
        with np.errstate(invalid="ignore"):
            keep &= (col >= lo) & (col <= hi)
    return keep


def unit_position(scale: ColorScale, values: np.ndarray) -> np.ndarray:
    """Values on the value axis: 0 at the scale's low end, 1 at its high end (NaN stays).

    ``values`` has shape ``(n,)``; so has the result.
    """
    lo, hi = scale.position(np.array([scale.low, scale.high]))
    with np.errstate(invalid="ignore"):
        return np.clip((scale.position(values) - lo) / (hi - lo), 0.0, 1.0)


def line_positions(space: SearchSpace, U: np.ndarray, values: np.ndarray,
                   scale: ColorScale | None) -> np.ndarray:
    """Every evaluation's position on the ``d`` hyperparameter axes and the value axis.

    Parameters
    ----------
    space : SearchSpace
    U : ndarray, shape (n, d)
        Points in the unit cube.
    values : ndarray, shape (n,)
        Their values (NaN: failed).
    scale : ColorScale or None
        The value axis' scale (``None`` only when ``n == 0``).

    Returns
    -------
    ndarray, shape (n, d + 1)
        Positions in axis units; the last column is NaN for failed evaluations.
    """
    n = len(values)
    Y = np.full((n, space.dim + 1), np.nan)
    if n:
        Y[:, :-1] = axis_positions(space, U)
        Y[:, -1] = unit_position(scale, values)
    return Y


def line_columns(Y: np.ndarray, rows: np.ndarray) -> dict[str, list]:
    """The ``xs``/``ys`` columns of a multi-line source for ``rows`` of ``Y`` (shape (n, m)).

    A line without a value (failed evaluation) ends at the last hyperparameter axis.
    """
    m = Y.shape[1]
    xs = list(range(m))
    out_xs, out_ys = [], []
    for r in rows:
        y = Y[r]
        if np.isnan(y[-1]):
            out_xs.append(xs[:-1])
            out_ys.append(y[:-1].tolist())
        else:
            out_xs.append(xs)
            out_ys.append(y.tolist())
    return {"xs": out_xs, "ys": out_ys}


def line_colors(Y: np.ndarray, rows: np.ndarray) -> list[str]:
    """Colour of each line in ``rows`` by its value-axis position (failed: grey)."""
    palette = LANDSCAPE_PALETTE
    out = []
    t = Y[rows, -1] if len(rows) else np.empty(0)
    for v in t:
        out.append(FAILED_COLOR if np.isnan(v)
                   else palette[int(np.clip(round(v * 255), 0, 255))])
    return out


def axis_ticks(space: SearchSpace, scale: ColorScale | None) -> dict[str, list[Any]]:
    """Tick marks of every axis: columns ``x`` (axis index), ``y`` (axis units) and ``text``.

    Hyperparameter axes get ticks in native units (decades on log axes, whole numbers, the
    choices); the value axis gets the scale's ticks (none while ``scale`` is ``None``).
    """
    xs: list[float] = []
    ys: list[float] = []
    texts: list[str] = []
    for k, name in enumerate(space.names):
        spec = axis_spec(space, name)
        ticks = native_ticks(spec, integer=isinstance(space[name], Int))
        for pos, label in ticks.items():
            xs.append(k)
            ys.append(pos)
            texts.append(label)
    if scale is not None:
        ticks = colorbar_ticks(scale) if scale.log else linear_ticks(scale)
        lo, hi = scale.position(np.array([scale.low, scale.high]))
        for pos, label in ticks.items():
            xs.append(len(space.names))
            ys.append(float((pos - lo) / (hi - lo)))
            texts.append(label)
    return {"x": xs, "y": ys, "text": texts}


def brushes_from_columns(data: dict[str, Any]) -> dict[int, tuple[float, float]]:
    """The brush source's columns (``axis``, ``lo``, ``hi``) as axis -> ``(low, high)``."""
    return {int(k): (float(lo), float(hi))
            for k, lo, hi in zip(data["axis"], data["lo"], data["hi"], strict=True)}
