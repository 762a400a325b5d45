"""Iterative adaptive random search, the thesis' ``IterativeRandomOptimization``.

The method keeps a population of evaluated points, each with a *level* and a *refinement count*.
It starts with ``init_points`` uniform points at level 0 and then repeatedly *refines* the point
with the smallest criterion

    c_i = (rank_i + 1)^(1 - gamma) * (level_i + refinements_i + 1)^gamma

(the Novak-Ritter criterion with the point's level in place of the level sum: rank = 0-based
position in ascending order of value, NaN and inf last, ties to the earlier point; the first
index wins ties of ``c``). ``gamma = 1`` refines by depth (breadth first), ``gamma = 0`` always
the best-ranked point. Refining point ``c*`` at level ``L`` increments its refinement count and
samples ``2d`` new points at level ``L + 1`` in a neighbourhood of ``c*``, chosen by ``variant``:

``"intervals"`` (thesis alternative 0, the thesis' default and ours)
    Per dimension ``k``, the interval between the nearest coordinates of points of level ``<= L``
    strictly below and strictly above ``c*_k`` (the cube faces if there are none); every
    coordinate is drawn uniformly in its interval.
``"balls"`` (alternative 1)
    Uniform in the Euclidean ball around ``c*`` of radius ``r = (D_max + D_min) / (2 (L + 2))``,
    with ``D_max`` the largest distance from ``c*`` to any point and ``D_min`` the smallest
    distance to another point of level ``<= L`` (at most the cube diagonal; zero distances count
    as ``D_max``), clipped to the cube.
``"normal"`` (alternative 2, "intervals, non-uniform"; the box is ours, see below)
    Per dimension the box ``[c*_k - h, c*_k + h]`` cut to [0, 1] with ``h = 2^-(L+1)``; each
    coordinate is drawn from a normal centred on the box centre with standard deviation equal to
    half the box width, truncated to the box.

The thesis' method stalls with its default variant
--------------------------------------------------
With ``"intervals"`` the neighbourhood of a level-``L + 1`` point is bounded by its ``2d``
siblings, which were drawn in its parent's interval, so every level narrows each interval by a
factor of about ``(2d + 1) / 2``; and for ``gamma < 1`` the rank term keeps choosing that
cluster, because each new point near the best one pushes every other point down the ranking.
The search therefore converges to one point, usually not the optimum, within a few dozen
evaluations and then draws near-duplicates: on the race functions its regret is the same at
every budget (``benchmarks/race.py --methods adaptive_random``; the tests of this module measure
the collapse of the neighbourhood). This is the thesis' algorithm, kept as it is. What the
project adds is that the stall is *visible*: when the neighbourhood the criterion picks is
narrower than ``xtol`` in every coordinate, the strategy stops with ``stop_reason ==
"converged"`` instead of spending the rest of the budget there (``xtol=0`` spends the whole
budget, as the thesis code does). ``"balls"`` shrinks its radius only like ``1 / L`` and does not
stall this way.

Differences from the thesis code, all deliberate:

- The criterion has no value term (the code's ``rank + value + 1`` fails on negative losses;
  ``docs/decisions.md``, "Adaptive random search criterion without a value term").
- Everything happens in the unit cube, so log-scaled and integer parameters are respected by all
  three variants through the search space (the thesis measured ball distances in raw units and
  drew log parameters of alternative 2 from a misparametrized log-normal).
- ``"normal"``: the thesis used the constant half-width 1 in raw units (its distance formula is
  commented out) and left the draws unclipped. Here the half-width is ``2^-(L+1)`` in the unit
  cube, halving with each level, and the draws are truncated to the box.
- The stop at ``xtol`` described above (the thesis always spends the budget).
- When fewer than ``2d`` evaluations remain, the last refinement samples only the remaining
  number of points instead of leaving the budget unused. NaN and inf values rank last.

Every selection is kept compactly (linear memory) and can be inspected:
:meth:`AdaptiveRandomSearch.step_record` rebuilds the criterion of any step as an
:class:`AdaptiveRandomStep` (each candidate's rank, level, refinement count, both terms and the
score, the chosen point and its neighbourhood); :attr:`AdaptiveRandomSearch.last_step` is the
latest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr, ndtri

from core._validation import check_gamma, check_int
from core.grid import novak_ritter_scores
from core.optimizers._common import check_number
from core.records import Origin, Selection
from core.strategies.base import Strategy

__all__ = ["AdaptiveRandomSearch", "AdaptiveRandomStep", "VARIANTS", "value_ranks"]

VARIANTS: dict[str, str] = {
    "intervals": "uniform in per-dimension intervals bounded by the nearest lower-level points",
    "balls": "uniform in a Euclidean ball whose radius shrinks with the level",
    "normal": "truncated normal in a box whose half-width halves with the level",
}


def value_ranks(y: np.ndarray) -> np.ndarray:
    """0-based ranks of ``y`` (shape ``(n,)``) in ascending order; inf, then NaN last; stable."""
    key = np.where(np.isnan(y), np.inf, y)
    order = np.lexsort((np.isnan(y), key))
    ranks = np.empty(len(y), dtype=np.int64)
    ranks[order] = np.arange(len(y))
    return ranks


def _frozen(a: Any, dtype: Any = np.float64) -> np.ndarray:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class AdaptiveRandomStep:
    """One selection of adaptive random search: the criterion over all candidates.

    Arrays cover the ``n_points`` points told when the point was selected, in told order, and
    are read-only.

    Attributes
    ----------
    step : int
        1-based selection number.
    refined : int
        Told index of the selected point (the argmin of ``scores``).
    children : ndarray of int64, shape (k,)
        Told indices of the points drawn around it (``k <= 2 d``; empty when ``converged``).
    ranks, levels, n_refinements : ndarray of int64, shape (n_points,)
        The criterion's inputs (refinement counts before this step's increment).
    rank_terms, level_terms, scores : ndarray of float64, shape (n_points,)
        ``(rank + 1)^(1 - gamma)``, ``(level + n_refinements + 1)^gamma`` and their product.
    gamma : float
    variant : str
    low, high : ndarray of float64, shape (d,)
        Bounding box of the neighbourhood in the unit cube (for ``"balls"`` the ball's box).
    radius : float
        Ball radius for ``"balls"``, NaN otherwise.
    width : float
        Widest side of the neighbourhood (the ball's diameter); compared with ``xtol``.
    converged : bool
        ``width < xtol``: nothing was drawn and the search stopped.
    """

    step: int
    refined: int
    children: np.ndarray
    ranks: np.ndarray
    levels: np.ndarray
    n_refinements: np.ndarray
    rank_terms: np.ndarray
    level_terms: np.ndarray
    scores: np.ndarray
    gamma: float
    variant: str
    low: np.ndarray
    high: np.ndarray
    radius: float
    width: float
    converged: bool

    @property
    def n_points(self) -> int:
        """Number of candidates at selection time."""
        return int(self.ranks.shape[0])

    @property
    def level_sums(self) -> np.ndarray:
        """``levels``, under the name of the Novak-Ritter term it replaces."""
        return self.levels


@dataclass(frozen=True, slots=True)
class _Selection:
    """What a step keeps (linear memory): the rest is recomputed by ``step_record``."""

    refined: int
    n_points: int
    level: int
    low: np.ndarray
    high: np.ndarray
    radius: float
    width: float
    first_child: int
    n_children: int


class AdaptiveRandomSearch(Strategy):
    """Iterative adaptive random search in [0, 1]^d (see the module docstring).

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget.
    gamma : float, default 0.5
        Adaptivity in [0, 1]: 1 refines by level (space filling), 0 greedily by rank.
    init_points : int, default 10
        Number of initial uniform points (capped at ``n_evals``).
    variant : {"intervals", "balls", "normal"}, default "intervals"
        The neighbourhood of a refinement (thesis alternatives 0, 1, 2).
    xtol : float, default 1e-6
        Stop with ``"converged"`` when the selected neighbourhood is narrower than this in every
        coordinate of the unit cube; 0 never stops early (the thesis' behaviour).
    seed : int, numpy Generator or None
        Source of randomness.

    Attributes
    ----------
    levels : ndarray of int, shape (n,)
        Level of every told point (0 for the initial points).
    n_refinements : ndarray of int, shape (n,)
        How often each told point was refined.
    ranks : ndarray of int, shape (n,)
        0-based rank of each told point by value (NaN and inf last).
    scores : ndarray, shape (n,)
        The criterion ``c_i`` of each told point now (lower is refined next).
    refinement_history : list of int
        Told index of each refined point, in order.
    """

    name = "adaptive_random"
    title = "Adaptive random search"
    summary = (
        "the thesis' iterative adaptive random search: refines the best-ranked of its random "
        "points by sampling around them"
    )
    has_model: ClassVar[bool] = False
    option_choices: ClassVar[dict[str, dict[str, str]]] = {"variant": dict(VARIANTS)}

    @classmethod
    def min_budget(cls, dim: int, **options: Any) -> int:
        """Any budget of at least one evaluation works (the initial points are capped)."""
        return 1

    def __init__(
        self,
        dim: int,
        n_evals: int,
        *,
        gamma: float = 0.5,
        init_points: int = 10,
        variant: str = "intervals",
        xtol: float = 1e-6,
        seed: Any = None,
    ) -> None:
        super().__init__(dim, n_evals, seed=seed)
        self.gamma = check_gamma(gamma)
        self.init_points = check_int(init_points, "init_points", low=1)
        if variant not in VARIANTS:
            raise ValueError(
                f"`variant` must be one of {list(VARIANTS)}, got variant={variant!r}"
            )
        self.variant = variant
        self.xtol = check_number(xtol, "xtol", low=0.0, low_open=False)
        self._levels: list[int] = []
        self._refined: list[int] = []
        self._selections: list[_Selection] = []
        self._converged = False
        # the batch being handed out: points, their level, and how many were asked so far
        self._batch = self._rng.random((min(self.init_points, self.n_evals), self.dim))
        self._batch_level = 0
        self._batch_asked = 0
        self._batch_origins = [
            Origin("sample", refinement=0, source="initial point")
        ] * len(self._batch)
        self.refinement_history: list[int] = []

    # -- per-point state -------------------------------------------------------------------
    @property
    def levels(self) -> np.ndarray:
        return np.array(self._levels, dtype=np.int64)

    @property
    def n_refinements(self) -> np.ndarray:
        return np.array(self._refined, dtype=np.int64)

    @property
    def ranks(self) -> np.ndarray:
        return value_ranks(self.y_told)

    @property
    def scores(self) -> np.ndarray:
        return novak_ritter_scores(self.levels, self.n_refinements, self.ranks, self.gamma)

    # -- inspection ------------------------------------------------------------------------
    @property
    def n_steps(self) -> int:
        """Number of selections so far (the last one may be the ``"converged"`` stop)."""
        return len(self._selections)

    @property
    def last_step(self) -> AdaptiveRandomStep | None:
        """The latest selection (None before the first one)."""
        return self.step_record(self.n_steps) if self._selections else None

    @property
    def stop_detail(self) -> str | None:
        """Why the search converged, in one sentence (None unless ``stop_reason`` is it)."""
        if not self._converged:
            return None
        sel = self._selections[-1]
        return (
            f"the criterion chose point {sel.refined} (level {sel.level}), whose neighbourhood "
            f"is {sel.width:.2g} wide, below xtol = {self.xtol:g}: the search has collapsed "
            "onto one point and would only draw near-duplicates"
        )

    def step_of(self, index: int) -> int:
        """The selection (1-based) that drew told point ``index``; 0 for the initial points."""
        index = check_int(index, "index", low=0, high=max(self.n_told - 1, 0))
        firsts = [s.first_child for s in self._selections if s.n_children]
        return int(np.searchsorted(np.array(firsts, dtype=np.int64), index, side="right"))

    def step_record(self, step: int) -> AdaptiveRandomStep:
        """The criterion of selection ``step`` (1-based), rebuilt from the told history."""
        step = check_int(step, "step", low=1, high=max(self.n_steps, 1))
        if not self._selections:
            raise ValueError("no selection yet: the initial points are still being evaluated")
        sel = self._selections[step - 1]
        n = sel.n_points
        ranks = value_ranks(self.y_told[:n])
        levels = self.levels[:n]
        earlier = [s.refined for s in self._selections[: step - 1] if s.n_children]
        nref = np.bincount(np.array(earlier, dtype=np.int64), minlength=n)[:n]
        zero = np.zeros(n, dtype=np.int64)
        children = np.arange(sel.first_child, sel.first_child + sel.n_children)
        return AdaptiveRandomStep(
            step=step,
            refined=sel.refined,
            children=_frozen(children, np.int64),
            ranks=_frozen(ranks, np.int64),
            levels=_frozen(levels, np.int64),
            n_refinements=_frozen(nref, np.int64),
            rank_terms=_frozen(novak_ritter_scores(zero, zero, ranks, self.gamma)),
            level_terms=_frozen(novak_ritter_scores(levels, nref, zero, self.gamma)),
            scores=_frozen(novak_ritter_scores(levels, nref, ranks, self.gamma)),
            gamma=self.gamma,
            variant=self.variant,
            low=_frozen(sel.low),
            high=_frozen(sel.high),
            radius=sel.radius,
            width=sel.width,
            converged=sel.n_children == 0,
        )

    # -- ask/tell --------------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        a = self._batch_asked
        U = self._batch[a : a + max_points]
        self._batch_asked += len(U)
        self._set_origins(self._batch_origins[a : a + len(U)])
        return U

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        self._levels.extend([self._batch_level] * len(U))
        self._refined.extend([0] * len(U))
        if self._batch_asked >= len(self._batch) and self.remaining > 0:
            self._refine()  # select now, so that a stall is known before the next ask

    def _stop(self) -> str | None:
        return "converged" if self._converged else None

    def _refine(self) -> None:
        """Select the point to refine and draw the next batch of (at most) ``2d`` points."""
        scores = self.scores
        i = int(np.argmin(scores))
        level = self._levels[i]
        center = self.U_told[i]
        low, high, radius = self._neighbourhood(center, level)
        width = 2.0 * radius if self.variant == "balls" else float(np.max(high - low))
        n_new = 0 if width < self.xtol else min(2 * self.dim, self.remaining)
        self._selections.append(
            _Selection(i, self.n_told, level, low, high, radius, width, self.n_told, n_new)
        )
        if n_new == 0:
            self._converged = True
            return
        self._refined[i] += 1
        self.refinement_history.append(i)
        if self.variant == "intervals":
            new = low + self._rng.random((n_new, self.dim)) * (high - low)
        elif self.variant == "balls":
            new = self._sample_ball(center, radius, n_new)
        else:
            new = self._sample_normal(low, high, n_new)
        self._batch = np.clip(new, 0.0, 1.0)
        self._batch_level = level + 1
        self._batch_asked = 0
        rec = self.step_record(self.n_steps)
        selection = Selection(
            rec.step, rec.refined, np.arange(rec.n_points), rec.ranks, rec.levels,
            rec.n_refinements, rec.scores, rec.gamma, "point_level",
        )
        self._batch_origins = [
            Origin("neighbourhood", parent=i, refinement=rec.step,
                   source=f"drawn around point {i}", selection=selection if k == 0 else None)
            for k in range(n_new)
        ]

    def _neighbourhood(self, c: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray, float]:
        """``(low, high, radius)`` of the neighbourhood of ``c`` (radius NaN unless balls)."""
        U, levels = self.U_told, self.levels
        if self.variant == "intervals":
            P = U[levels <= level]
            lower = np.where(P < c, P, -np.inf).max(axis=0, initial=-np.inf)
            upper = np.where(P > c, P, np.inf).min(axis=0, initial=np.inf)
            return np.maximum(lower, 0.0), np.minimum(upper, 1.0), float("nan")
        if self.variant == "balls":
            dist = np.linalg.norm(U - c, axis=1)
            d_max = float(dist.max())
            others = dist[levels <= level]
            others = np.where(others == 0.0, d_max, others)
            d_min = float(min(np.sqrt(self.dim), others.min(initial=np.inf)))
            radius = (d_max + d_min) / ((level + 2) * 2)
            return np.maximum(c - radius, 0.0), np.minimum(c + radius, 1.0), radius
        h = 0.5 ** (level + 1)
        return np.maximum(c - h, 0.0), np.minimum(c + h, 1.0), float("nan")

    def _sample_ball(self, c: np.ndarray, radius: float, n: int) -> np.ndarray:
        direction = self._rng.standard_normal((n, self.dim))
        norm = np.linalg.norm(direction, axis=1, keepdims=True)
        direction /= np.where(norm > 0.0, norm, 1.0)
        rho = self._rng.random((n, 1)) ** (1.0 / self.dim)
        return c + radius * rho * direction

    def _sample_normal(self, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        # a standard normal truncated to [-1, 1] by inverse-CDF sampling
        a, b = ndtr(-1.0), ndtr(1.0)
        z = ndtri(a + self._rng.random((n, self.dim)) * (b - a))
        return mid + half * z
