"""Candidate search of the zoom variant of sparse grid search: multi-start L-BFGS-B on the
surrogate.

The B-spline surrogate has an exact, cheap gradient, so a quasi-Newton method with box bounds
(scipy's L-BFGS-B) reaches a local minimum of the surrogate in a few dozen evaluations, where
the derivative-free multi-start Nelder-Mead of the thesis spends a thousand. The starts are the
best grid points: the surrogate interpolates there, so the minimum it leads to from a good
point is a minimum the data support. Random starts are not used: far from good grid points the
interpolant of a few points overshoots, and its global minimum there is often an artefact (on
the shifted 2-D Rosenbrock of ``benchmarks/race.py`` the global minimum of the final surrogate
is worse than the best grid point by orders of magnitude).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["surrogate_minima"]

#: Iteration limit of each L-BFGS-B run (it usually stops far earlier on its tolerances).
MAX_ITER = 200


def surrogate_minima(surrogate: Any, starts: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Local minima of ``surrogate`` on [0, 1]^d reached by L-BFGS-B from each start.

    Parameters
    ----------
    surrogate : core.surrogate.Surrogate
        Provides ``value_and_gradient(u) -> (float, (d,) array)``.
    starts : ndarray, shape (k, d)
        Start points in the unit cube, in order of preference.

    Returns
    -------
    list of (x, value)
        One ``(x of shape (d,), surrogate value)`` per start, in the order of ``starts``;
        ``x`` is clipped to the unit cube. Deterministic: no randomness is involved.
    """
    from scipy.optimize import minimize

    d = starts.shape[1]
    bounds = [(0.0, 1.0)] * d
    out = []
    for x0 in starts:
        res = minimize(
            surrogate.value_and_gradient, x0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": MAX_ITER},
        )
        x = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, 1.0)
        value = float(res.fun)
        start_value = float(surrogate(x0))
        if not np.isfinite(value) or value > start_value:  # never worse than the start
            x, value = np.array(x0, dtype=np.float64), start_value
        out.append((x, value))
    return out
