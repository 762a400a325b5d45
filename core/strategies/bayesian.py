"""Bayesian optimization: a Matern 5/2 Gaussian process with expected improvement.

Each proposal after the initial design:

1. Values are standardized (mean 0, standard deviation 1). NaN and inf values (failed
   evaluations) are replaced by the worst finite value told so far for the GP, so the model
   learns to avoid failing regions without being distorted by an arbitrary constant; the record
   keeps the original values. With no finite value yet, the next point is uniform random.
2. The GP (ARD Matern 5/2, fitted kernel scale and noise, see :mod:`core.strategies._gp`) gets its
   hyperparameters by maximizing the marginal likelihood plus a weak prior, with L-BFGS-B from
   the previous fit (warm start) and from the default start (every fit while few points are
   known, then every ``full_refit_every`` proposals).
3. ``log EI`` (expected improvement in log form, accurate where EI underflows) is evaluated on
   ``n_samples`` uniform points plus points near the best ones, and the ``n_starts`` best are
   polished by L-BFGS-B inside [0, 1]^d, in coordinates scaled by the length scales. The best
   polished point that is not an already evaluated point is proposed.

Fixes of the thesis implementation (docs/algorithms.md): several space-filling initial points
(Latin hypercube) instead of one (and no ``scipy.stats.uniform(lo, hi)`` misuse); Matern 5/2 with
fitted length scales per dimension instead of a fixed Matern 3/2; a proposal is rejected only
when the whole point coincides with an evaluated point, not when any single coordinate is close
to any previous coordinate; exactly ``n_evals`` evaluations, not ``n_evals + 1``; everything in the
unit cube, so log and integer parameters are handled by the search space.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize as scipy_minimize
from scipy.stats import qmc

from core._validation import as_points, check_int
from core.records import Origin
from core.strategies import _gp
from core.strategies._threads import single_blas_thread
from core.strategies.base import Strategy

__all__ = ["BayesianOptimization"]


class BayesianOptimization(Strategy):
    """Gaussian-process Bayesian optimization with expected improvement in [0, 1]^d.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget.
    n_initial : int or None, default None
        Size of the initial Latin-hypercube design; ``None`` gives ``min(d + 1, 5)`` but at
        least 2 (capped at ``n_evals``).
    n_samples : int, default 1000
        Random points on which ``log EI`` is screened before the local search.
    n_starts : int, default 5
        Number of L-BFGS-B runs that polish the best screened points.
    full_refit_every : int, default 10
        Once 20 points are known, the hyperparameters are also fitted from the default start
        (not only from the previous fit) every this many proposals.
    seed : int, numpy Generator or None
        Source of randomness.

    Notes
    -----
    Proposes the initial design (as many points per ``ask`` as allowed), then one point per
    ``ask``.
    """

    name = "bayesian"
    title = "Bayesian optimization"
    summary = (
        "Latin-hypercube start, then a Matern 5/2 Gaussian process with expected improvement"
    )
    has_model = True  # the GP posterior mean
    #: Each proposal fits the Gaussian process to all n points told (a Cholesky factorization,
    #: O(n^3), for every hyperparameter trial of the fit), so a run's cost grows with the
    #: fourth power of its budget: above a few hundred evaluations it takes minutes.
    max_interactive_budget = 300

    def __init__(
        self,
        dim: int,
        n_evals: int,
        *,
        n_initial: int | None = None,
        n_samples: int = 1000,
        n_starts: int = 5,
        full_refit_every: int = 10,
        seed: Any = None,
    ) -> None:
        super().__init__(dim, n_evals, seed=seed)
        if n_initial is None:
            n_initial = max(2, min(self.dim + 1, 5))
        self.n_initial = min(check_int(n_initial, "n_initial", low=1), self.n_evals)
        self.n_samples = check_int(n_samples, "n_samples", low=1)
        self.n_starts = check_int(n_starts, "n_starts", low=1)
        self.full_refit_every = check_int(full_refit_every, "full_refit_every", low=1)
        sampler = qmc.LatinHypercube(d=self.dim, rng=self._rng)
        self._initial = sampler.random(self.n_initial)
        self._n_initial_asked = 0
        self._gp: _gp.GaussianProcess | None = None
        self._gp_n = -1  # number of told points the current fit used
        self._theta: np.ndarray | None = None
        self._n_fits = 0
        self._y_shift = 0.0
        self._y_scale = 1.0

    # -- model -----------------------------------------------------------------------------
    def _training_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        y = self.y_told
        finite = np.isfinite(y)
        if not finite.any():
            return None
        worst = y[finite].max()
        return self.U_told, np.where(finite, y, worst)

    def _fit(self) -> _gp.GaussianProcess | None:
        """The GP fitted to every told point (refitted only when new points were told)."""
        if self._gp_n == self.n_told:
            return self._gp
        data = self._training_data()
        if data is None:
            return None
        U, y = data
        big = float(np.max(np.abs(y)))
        big = big if big > 0.0 else 1.0
        shift = float(np.mean(y / big)) * big  # scaled first: no overflow for huge values
        scale = float(np.std(y / big)) * big
        scale = scale if scale > 1e-12 * max(1.0, abs(shift)) else 1.0
        yn = (y - shift) / scale
        starts = []
        if self._theta is not None:
            starts.append(self._theta)
        if self._theta is None or len(y) < 20 or self._n_fits % self.full_refit_every == 0:
            starts.append(_gp.default_theta(self.dim))
        gp = _gp.fit_gp(U, yn, starts)
        self._gp, self._gp_n, self._theta = gp, self.n_told, gp.theta
        self._y_shift, self._y_scale = shift, scale
        self._n_fits += 1
        return gp

    def posterior(self, U: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation in the objective's units.

        Parameters
        ----------
        U : array_like, shape (m, d)
            Points in the unit cube.

        Returns
        -------
        mean, std : ndarray, shape (m,)
            NaN arrays while no finite value has been told.
        """
        U = as_points(U, self.dim)
        with single_blas_thread():
            gp = self._fit()
            if gp is None:
                return np.full(len(U), np.nan), np.full(len(U), np.nan)
            mean, var = gp.predict(U)
        return self._y_shift + self._y_scale * mean, self._y_scale * np.sqrt(var)

    @property
    def gp(self) -> _gp.GaussianProcess | None:
        """The latest fitted model (on standardized values), or ``None``."""
        return self._gp

    # -- ask -------------------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        if self._n_initial_asked < self.n_initial:
            U = self._initial[self._n_initial_asked : self._n_initial_asked + max_points]
            self._n_initial_asked += len(U)
            self._set_origins([Origin("sample", source="initial design")] * len(U))
            return U
        # small dense linear algebra: BLAS threads only add overhead
        with single_blas_thread():
            gp = self._fit()
            if gp is None:
                self._set_origins([Origin("sample", source="random: no finite value yet")])
                return self._rng.random((1, self.dim))
            u, searched = self._maximize_ei(gp)
            if not searched:
                self._set_origins([Origin("sample", source="random: every maximizer was told")])
                return u[None, :]
            mean, _ = gp.predict(u[None, :])
            predicted = float(self._y_shift + self._y_scale * mean[0])
            self._set_origins([Origin("acquisition", predicted, "gp_posterior",
                                      source="expected improvement")])
            return u[None, :]

    def _maximize_ei(self, gp: _gp.GaussianProcess) -> tuple[np.ndarray, bool]:
        """The maximizer of the expected improvement not told yet, and True; a random point
        and False when every maximizer found was told before."""
        X = gp.X
        yn = (self._training_data()[1] - self._y_shift) / self._y_scale  # type: ignore[index]
        f_best = float(yn.min())
        ell = gp.length_scales
        # screening: uniform points plus perturbations of the 5 best points
        order = np.argsort(yn, kind="stable")[:5]
        n_local = max(1, self.n_samples // 10)
        local = X[order[self._rng.integers(len(order), size=n_local)]]
        local = local + self._rng.standard_normal(local.shape) * np.minimum(0.1 * ell, 0.1)
        S = np.concatenate([self._rng.random((self.n_samples, self.dim)), np.clip(local, 0, 1)])
        mean, var = gp.predict(S)
        lei = _gp.log_expected_improvement(mean, var, f_best)
        starts = S[np.argsort(-lei, kind="stable")[: self.n_starts]]

        def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
            val, grad = _gp.log_expected_improvement_with_gradient(gp, z * ell, f_best)
            return -val, -grad * ell

        bounds = [(0.0, 1.0 / e) for e in ell]
        results = []
        for s in starts:
            res = scipy_minimize(
                fun, s / ell, jac=True, method="L-BFGS-B", bounds=bounds,
                options={"maxiter": 100},
            )
            u = np.clip(res.x * ell, 0.0, 1.0)
            results.append((float(res.fun), u))
        results.sort(key=lambda r: r[0])
        for _, u in results:
            if np.min(np.max(np.abs(X - u), axis=1)) > 1e-9:
                return u, True
        return self._rng.random(self.dim), False
