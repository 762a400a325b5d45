"""Colour scales: objective values to colour indices; colour-bar ticks in the objective's units.

With ``log`` the images hold ``log10(f - floor + delta)`` and the colour bar's tick labels show
``f`` again, so the bar reads in the objective's units either way. Index 0 is reserved for values
*below* the scale's floor (surrogate overshoot below the lowest observed value, which a
surrogate can predict and the truth never had): views draw it in its own marked colour.

No Bokeh here: the model computes scales, the views draw them.
"""

from __future__ import annotations

import math

import numpy as np

from explorer.engine.ticks import format_value

__all__ = ["BELOW", "ColorScale", "colorbar_ticks", "linear_ticks"]

#: Colour index of values below the scale's ``low`` (drawn in a marked colour).
BELOW = 0

class ColorScale:
    """Maps objective values to what the images hold (identity or a shifted log10).

    Parameters
    ----------
    low, high : float
        Range of the values to show (typically the truth's min and max).
    log : bool
        Log colour scale: ``t(f) = log10(max(f - low, 0) + delta)``, ``delta = 1e-4 (high -
        low)`` (at least ``1e-12``).
    """

    def __init__(self, low: float, high: float, log: bool, delta: float | None = None) -> None:
        if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
            high = low + 1.0 if math.isfinite(low) else 1.0
            low = low if math.isfinite(low) else 0.0
        self.low, self.high, self.log = float(low), float(high), bool(log)
        floor = max(1e-9 * (self.high - self.low), 1e-12)
        self.delta = max(floor, 1e-4 * (self.high - self.low) if delta is None else float(delta))

    @classmethod
    def from_values(cls, Z: np.ndarray, log: bool) -> ColorScale:
        """Scale spanning the finite values of ``Z``; ``delta`` = their 1 % quantile above min."""
        finite = np.asarray(Z, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if not finite.size:
            return cls(0.0, 1.0, log)
        lo, hi = float(finite.min()), float(finite.max())
        above = finite[finite > lo] - lo
        delta = min(float(np.quantile(above, 0.01)), 1e-3 * (hi - lo)) if above.size else None
        return cls(lo, hi, log, delta)

    def transform(self, values: np.ndarray) -> np.ndarray:
        """``f`` itself (linear) or ``log10(max(f - low, 0) + delta)``, float64."""
        v = np.asarray(values, dtype=np.float64)
        if not self.log:
            return v
        with np.errstate(invalid="ignore"):
            return np.log10(np.maximum(v - self.low, 0.0) + self.delta)

    @property
    def bounds(self) -> tuple[float, float]:
        """The transformed values of ``low`` and ``high``."""
        lo, hi = self.transform(np.array([self.low, self.high]))
        return float(lo), float(hi)

    def position(self, values: np.ndarray) -> np.ndarray:
        """Colour index in [1, 255] (float) of ``values`` in ``[low, high]`` (0 is reserved)."""
        lo, hi = self.bounds
        return 1.0 + (self.transform(values) - lo) * (254.0 / (hi - lo))

    def __call__(self, values: np.ndarray, below: float | None = None) -> np.ndarray:
        """Colour indices (uint8, 1..255) of ``values``: what the images hold.

        A 256-colour palette shows nothing finer, and uint8 images are a quarter of float32 on
        the wire. Values outside ``[low, high]`` clip to the ends; NaN (a failed evaluation)
        shows as the worst colour. With ``below``, values under it get index :data:`BELOW`
        (0), the marked colour of extrapolation.
        """
        v = np.asarray(values, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            p = np.rint(self.position(v))
        p = np.where(np.isnan(p), 255.0, p)
        out = np.clip(p, 1, 255).astype(np.uint8)
        if below is not None and math.isfinite(below):
            with np.errstate(invalid="ignore"):
                out[v < below] = BELOW
        return out


def _round_sig(v: float, digits: int = 2) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return round(v, -int(math.floor(math.log10(abs(v)))) + digits - 1)


def colorbar_ticks(scale: ColorScale, n_ticks: int = 6) -> dict[float, str]:
    """Tick positions (in image values) and labels (in f) for a log colour scale.

    Ticks are spread evenly over the transformed range, then moved to values of ``f`` with two
    significant digits, so the labels are short and the ticks spaced.
    """
    t0, t1 = scale.bounds
    out: dict[float, str] = {}
    for t in np.linspace(t0, t1, n_ticks):
        v = scale.low + 10.0**t - scale.delta
        v = scale.low if t == t0 else _round_sig(v)
        pos = float(scale.position(np.array([v]))[0])
        if -1e-6 <= pos <= 255 + 1e-6 and all(abs(pos - p) > 0.08 * 255 for p in out):
            out[pos] = format_value(v)
    return out


def linear_ticks(scale: ColorScale, target: int = 6) -> dict[float, str]:
    """Nice ticks (1, 2, 2.5, 5 x 10^k steps) for a linear colour bar, at colour indices."""
    low, high = scale.low, scale.high
    raw = (high - low) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(low / step - 1e-9) * step
    vals = np.arange(first, high + 1e-9 * step, step)
    pos = scale.position(vals)
    return {float(p): format_value(float(round(v, 12))) for p, v in zip(pos, vals, strict=True)}
