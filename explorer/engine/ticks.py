"""Axis ticks in native units for plots drawn in unit-cube coordinates.

Every landscape view draws in the unit square, so heatmaps sampled uniformly in ``u`` are exact
for linear, log and integer parameters alike. The axes then carry ticks at "nice" native values:
``1, 2, 5 x 10^k`` steps on linear axes, decades (plus 2 and 5 when few decades are shown) on
log axes, whole numbers on integer axes and the choices on categorical axes.
"""

from __future__ import annotations

import math

import numpy as np

from explorer.engine.units import AxisSpec

__all__ = ["format_value", "native_ticks"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_value(v: float) -> str:
    """Short label for a native value: ``0.25``, ``1.5e-3``, ``120``."""
    if v == 0 or not math.isfinite(v):
        return "0" if v == 0 else str(v)
    a = abs(v)
    if 1 <= a < 1e4:
        return f"{v:.4g}"
    if 1e-3 <= a < 1:
        return f"{v:.3g}"
    m, e = f"{v:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _position(spec: AxisSpec, v: np.ndarray) -> np.ndarray:
    if spec.log:
        return (np.log(v) - math.log(spec.lo)) / (math.log(spec.hi) - math.log(spec.lo))
    return (v - spec.lo) / (spec.hi - spec.lo)


def native_ticks(spec: AxisSpec, target: int = 5, integer: bool = False) -> dict[float, str]:
    """Tick positions in [0, 1] and their native labels for one axis.

    Parameters
    ----------
    spec : AxisSpec
        The axis (native extent of ``u = 0..1`` and whether it is logarithmic).
    target : int
        Rough number of ticks wanted.
    integer : bool
        Only whole-number ticks (integer hyperparameters).

    Returns
    -------
    dict
        ``position -> label``, positions sorted ascending and inside [0, 1].
    """
    if spec.labels is not None:
        n = len(spec.labels)
        return {(k + 0.5) / n: lab for k, lab in enumerate(spec.labels)}
    lo, hi = spec.lo, spec.hi
    if spec.log:
        k0, k1 = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
        decades = list(range(k0, k1 + 1))
        mult = (1, 2, 5) if len(decades) <= 2 else (1,)
        vals = [m * 10.0**k for k in range(k0 - 1, k1 + 1) for m in mult]
        vals = [v for v in vals if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
        if integer:
            vals = [v for v in vals if v >= 1 and float(v).is_integer()]
        if len(vals) > target + 3:
            vals = vals[:: math.ceil(len(vals) / (target + 1))]
        labels = []
        for v in vals:
            if integer or (1 <= v < 1e4 and float(v).is_integer()):
                labels.append(f"{int(round(v))}")
            else:
                e = math.floor(math.log10(v) + 1e-9)
                m = v / 10.0**e
                head = "" if abs(m - 1) < 1e-9 else f"{m:g}·"
                labels.append(f"{head}10{str(e).translate(_SUPERSCRIPT)}")
    else:
        step = _nice_step(hi - lo, target)
        if integer:
            step = max(1.0, round(step))
        start = math.ceil(lo / step - 1e-9) * step
        vals = list(np.arange(start, hi + 1e-9 * step, step))
        if integer:
            vals = [v for v in vals if float(v).is_integer()]
        labels = [
            f"{int(round(v))}" if integer or float(round(v, 9)).is_integer() else format_value(v)
            for v in vals
        ]
    pos = _position(spec, np.asarray(vals, dtype=np.float64))
    return {
        float(p): lab for p, lab in zip(pos, labels, strict=True) if -1e-9 <= p <= 1 + 1e-9
    }
