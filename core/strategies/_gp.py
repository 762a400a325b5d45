"""A small Gaussian-process regressor (Matern 5/2, ARD) and log expected improvement, in numpy.

Pure functions and one frozen fitted model, used by :mod:`core.strategies.bayesian`. Inputs live
in the unit cube; outputs are standardized by the caller.

Model
-----
``k(x, x') = s * m(r2)`` with ``r2 = sum_t lam_t (x_t - x'_t)^2`` and the Matern 5/2 profile
``m(r2) = (1 + sqrt(5 r2) + 5 r2 / 3) exp(-sqrt(5 r2))``; ``lam`` are inverse squared length
scales, ``s`` the kernel scale, ``noise >= MIN_NOISE`` the observation noise variance. The
hyperparameters ``theta = (log lam, log s, log(noise - MIN_NOISE))`` maximize the log marginal
likelihood plus the log prior of optuna's GP sampler (``optuna/_gp/prior.py``):
``-sum(0.1/lam + 0.1 lam)``, a Gamma(2, 1) prior on ``s`` and a Gamma(1.1, 30) prior on
``noise``. The prior keeps length scales sane with few points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr

__all__ = ["GaussianProcess", "fit_gp", "log_expected_improvement", "MIN_NOISE"]

MIN_NOISE = 1e-6
_SQRT5 = np.sqrt(5.0)
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _matern52(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m(r2)`` and its derivative with respect to ``r2``."""
    r = np.sqrt(5.0 * np.maximum(r2, 0.0))
    e = np.exp(-r)
    return e * (1.0 + r + r * r / 3.0), (-5.0 / 6.0) * (1.0 + r) * e


def _unpack(theta: np.ndarray, d: int) -> tuple[np.ndarray, float, float]:
    lam = np.exp(theta[:d])
    return lam, float(np.exp(theta[d])), float(np.exp(theta[d + 1]) + MIN_NOISE)


def _neg_log_posterior(
    theta: np.ndarray, D2: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior) and its gradient in ``theta``.

    ``D2`` has shape ``(n, n, d)``: squared coordinate differences of the training points.
    """
    n, _, d = D2.shape
    lam, s, noise = _unpack(theta, d)
    r2 = D2 @ lam
    m, dm = _matern52(r2)
    C = s * m
    C[np.diag_indices(n)] += noise
    try:
        L = cholesky(C, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve((L, True), y, check_finite=False)
    Cinv = cho_solve((L, True), np.eye(n), check_finite=False)
    mll = -0.5 * y @ alpha - np.log(np.diag(L)).sum()
    W = np.outer(alpha, alpha) - Cinv  # d mll / dC = W / 2
    grad = np.empty_like(theta)
    grad[:d] = 0.5 * s * lam * np.einsum("ij,ijt->t", W * dm, D2)
    grad[d] = 0.5 * s * np.sum(W * m)
    grad[d + 1] = 0.5 * np.trace(W) * (noise - MIN_NOISE)
    # log prior (optuna's heuristic priors) and its gradient
    lp = -np.sum(0.1 / lam + 0.1 * lam) + (np.log(s) - s) + (0.1 * np.log(noise) - 30.0 * noise)
    grad[:d] += 0.1 / lam - 0.1 * lam
    grad[d] += 1.0 - s
    grad[d + 1] += (0.1 / noise - 30.0) * (noise - MIN_NOISE)
    return -(mll + lp), -grad


@dataclass(frozen=True)
class GaussianProcess:
    """A fitted GP on standardized values (see the module docstring).

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Training inputs in the unit cube.
    theta : ndarray, shape (d + 2,)
        Fitted hyperparameters ``(log lam, log s, log(noise - MIN_NOISE))``.
    L : ndarray, shape (n, n)
        Cholesky factor of ``K + noise I``.
    alpha : ndarray, shape (n,)
        ``(K + noise I)^-1 y``.
    """

    X: np.ndarray
    theta: np.ndarray
    L: np.ndarray
    alpha: np.ndarray

    @property
    def inverse_squared_lengthscales(self) -> np.ndarray:
        return np.exp(self.theta[: self.X.shape[1]])

    @property
    def length_scales(self) -> np.ndarray:
        return 1.0 / np.sqrt(self.inverse_squared_lengthscales)

    @property
    def kernel_scale(self) -> float:
        return float(np.exp(self.theta[self.X.shape[1]]))

    @property
    def noise(self) -> float:
        return float(np.exp(self.theta[self.X.shape[1] + 1]) + MIN_NOISE)

    def predict(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at ``U`` (m, d): two (m,) arrays."""
        lam, s = self.inverse_squared_lengthscales, self.kernel_scale
        diff = U[:, None, :] - self.X[None, :, :]
        k, _ = _matern52((diff * diff) @ lam)
        k *= s
        mean = k @ self.alpha
        v = solve_triangular(self.L, k.T, lower=True, check_finite=False)
        var = np.maximum(s - np.sum(v * v, axis=0), 0.0)
        return mean, var

    def predict_with_gradient(
        self, u: np.ndarray
    ) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients at one point ``u`` (d,)."""
        lam, s = self.inverse_squared_lengthscales, self.kernel_scale
        diff = u[None, :] - self.X  # (n, d)
        m, dm = _matern52((diff * diff) @ lam)
        k = s * m
        dk = (2.0 * s * dm)[:, None] * diff * lam  # (n, d): d k_i / d u
        mean = float(k @ self.alpha)
        dmean = dk.T @ self.alpha
        w = cho_solve((self.L, True), k, check_finite=False)
        var = float(s - k @ w)
        dvar = -2.0 * (dk.T @ w)
        return mean, max(var, 0.0), dmean, dvar


def squared_differences(X: np.ndarray) -> np.ndarray:
    """``(n, n, d)`` squared coordinate differences of the rows of ``X`` (n, d)."""
    diff = X[:, None, :] - X[None, :, :]
    return diff * diff


def default_theta(d: int) -> np.ndarray:
    """Length scale 1, kernel scale 1, noise 1e-2: optuna's starting point."""
    return np.concatenate([np.zeros(d), [0.0, np.log(1e-2 - MIN_NOISE)]])


def fit_gp(
    X: np.ndarray,
    y: np.ndarray,
    starts: list[np.ndarray],
    *,
    maxiter: int = 200,
) -> GaussianProcess:
    """Fit the hyperparameters from each start in ``starts`` by L-BFGS-B and keep the best.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Inputs in the unit cube.
    y : ndarray, shape (n,)
        Finite standardized values.
    starts : list of ndarray, shape (d + 2,)
        Initial hyperparameters (e.g. the previous fit and :func:`default_theta`).
    """
    n, d = X.shape
    D2 = squared_differences(X)
    bounds = [(-12.0, 12.0)] * d + [(-10.0, 6.0), (np.log(1e-9), np.log(2.0))]
    best_theta, best_val = None, np.inf
    for t0 in starts:
        t0 = np.clip(t0, [b[0] for b in bounds], [b[1] for b in bounds])
        res = minimize(
            _neg_log_posterior, t0, args=(D2, y), jac=True, method="L-BFGS-B",
            bounds=bounds, options={"maxiter": maxiter, "gtol": 1e-5},
        )
        val = float(res.fun)
        if np.isfinite(val) and val < best_val:
            best_theta, best_val = res.x, val
    if best_theta is None:
        best_theta = default_theta(d)
    lam, s, noise = _unpack(best_theta, d)
    m, _ = _matern52(D2 @ lam)
    C = s * m
    jitter = noise
    for _ in range(8):
        try:
            L = cholesky(C + jitter * np.eye(n), lower=True, check_finite=False)
            break
        except np.linalg.LinAlgError:
            jitter *= 10.0
    else:  # pragma: no cover - a Matern kernel matrix plus large jitter is positive definite
        raise np.linalg.LinAlgError("GP kernel matrix is not positive definite")
    alpha = cho_solve((L, True), y, check_finite=False)
    return GaussianProcess(X.copy(), np.asarray(best_theta, float).copy(), L, alpha)


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(z Phi(z) + phi(z))``, accurate for very negative ``z`` (the standardized log EI)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(zb * np.exp(log_ndtr(zb)) + np.exp(-0.5 * zb * zb - _LOG_SQRT_2PI))
    zs = np.maximum(z[~big], -1e4)
    # z Phi(z) + phi(z) = phi(z) (1 - |z| Phi(z)/phi(z)), Phi/phi = sqrt(pi/2) erfcx(-z/sqrt 2)
    ratio = -zs * erfcx(-zs / np.sqrt(2.0)) * np.sqrt(np.pi / 2.0)
    out[~big] = -0.5 * zs * zs - _LOG_SQRT_2PI + np.log1p(-np.minimum(ratio, 1.0 - 1e-16))
    return out


def log_expected_improvement(
    mean: np.ndarray, var: np.ndarray, f_best: float
) -> np.ndarray:
    """``log EI`` for minimization: ``EI = E[max(f_best - f, 0)]``, ``f ~ N(mean, var)``."""
    sd = np.sqrt(np.maximum(var, 1e-30))
    return np.log(sd) + log_h((f_best - mean) / sd)


def log_expected_improvement_with_gradient(
    gp: GaussianProcess, u: np.ndarray, f_best: float
) -> tuple[float, np.ndarray]:
    """``log EI`` at one point ``u`` (d,) and its gradient."""
    mean, var, dmean, dvar = gp.predict_with_gradient(u)
    var = max(var, 1e-30)
    sd = np.sqrt(var)
    dsd = dvar / (2.0 * sd)
    z = (f_best - mean) / sd
    lh = float(log_h(np.array([z]))[0])
    # d log h / dz = Phi(z) / h(z)
    dlh = float(np.exp(log_ndtr(z) - lh))
    dz = -dmean / sd - z * dsd / sd
    return float(np.log(sd) + lh), dsd / sd + dlh * dz
