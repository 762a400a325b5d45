"""Novak-Ritter adaptive grid generation as an ask/tell generator.

:class:`NovakRitter` reproduces SG++ 3.3's ``IterativeGridGeneratorRitterNovak``
(docs/algorithms.md, "Novak-Ritter refinement") one refinement at a time, so that a driver owns the
objective calls and the explorer can show the selection state of every step.
:func:`novak_ritter_scores` is the pure criterion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core._validation import as_points, as_values, check_gamma, check_int
from core.grid.levels import (
    MAX_INITIAL_LEVEL,
    MAX_LEVEL,
    coordinates,
    regular_grid,
    regular_grid_size,
)
from core.grid.ranking import RANKINGS, initial_ranks, insert_ranks, rank_keys

__all__ = ["RANKINGS", "NovakRitter", "RefinementStep", "novak_ritter_scores"]

_NEVER = np.iinfo(np.int64).max


def _std_pow(base: np.ndarray, exponent: float) -> np.ndarray:
    """``base ** exponent`` elementwise with C ``pow`` (``std::pow``) semantics.

    numpy's SIMD ``np.power`` (SVML on AVX-512 machines) differs from libm's ``pow`` in the last
    bit for a few percent of inputs, which can flip near-ties between scores. The criterion's
    bases are small integers, so evaluating ``math.pow`` once per distinct base is cheap.
    """
    uniq, inv = np.unique(base, return_inverse=True)
    vals = np.array([math.pow(float(b), exponent) for b in uniq], dtype=np.float64)
    return vals[inv].reshape(base.shape)


def novak_ritter_scores(
    level_sums: Any, n_refinements: Any, ranks: Any, gamma: float
) -> np.ndarray:
    """Novak-Ritter refinement criterion (smaller is refined first).

    Parameters
    ----------
    level_sums : array_like of int, shape (n,)
        ``|l_k|_1`` of each point.
    n_refinements : array_like of int, shape (n,)
        How often each point has been refined (SG++ calls this "degree").
    ranks : array_like of int, shape (n,)
        Rank of each point's value (0 = best; see :class:`NovakRitter` for the conventions).
    gamma : float in [0, 1]
        Adaptivity: 1 is breadth-first (levels only), 0 greedy on the ranks.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``g_k = (level_sums_k + n_refinements_k + 1)**gamma * (ranks_k + 1)**(1 - gamma)``.

    Notes
    -----
    The powers are computed with C ``pow`` (``math.pow``), as SG++ does with ``std::pow``
    (``STD_POW``), and multiplied in float64, so ties and near-ties order exactly as in SG++.

    Examples
    --------
    >>> novak_ritter_scores([2, 3], [0, 1], [0, 4], gamma=1.0).tolist()
    [3.0, 5.0]
    """
    g = check_gamma(gamma)
    arrays = []
    for name, a in (
        ("level_sums", level_sums),
        ("n_refinements", n_refinements),
        ("ranks", ranks),
    ):
        arr = np.asarray(a)
        if arr.size and arr.dtype.kind not in "iu":
            raise TypeError(f"`{name}` must be an integer array, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, copy=False)
        if arr.size and arr.min() < 0:
            raise ValueError(f"`{name}` must be >= 0, got min {arr.min()}")
        arrays.append(arr)
    try:
        ls, nr, rk = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(
            f"`level_sums`, `n_refinements` and `ranks` must have the same shape, got {shapes}"
        ) from None
    level_term = _std_pow((ls + nr + 1).astype(np.float64), g)
    rank_term = _std_pow((rk + 1).astype(np.float64), 1.0 - g)
    return level_term * rank_term


@dataclass(frozen=True, slots=True, eq=False)
class RefinementStep:
    """Record of one Novak-Ritter refinement (what the explorer shows per step).

    The arrays describe the ``n_points`` points that existed when the point to refine was
    selected, in storage order. A record stores only its step, the refined point and the grid
    size; the arrays are recomputed from the generator's linear bookkeeping when read (the
    first ``n_points`` values, level sums and refinement choices never change afterwards), so
    the history costs memory linear in the number of points, and every read gives the same
    read-only arrays the selection used.

    Attributes
    ----------
    step : int
        1-based refinement number (``history[s - 1].step == s``); the initial grid is step 0
        and has no record.
    refined : int
        Storage index of the refined point (the argmin of ``scores``).
    n_points : int
        Number of points that existed at selection time.
    children : ndarray of int64, shape (2 d,)
        Storage indices of the points this refinement created: for each dimension ``t``, the
        left then the right chain child (``n_points, ..., n_points + 2 d - 1``).
    ranks : ndarray of int64, shape (n_points,)
        Ranks used for the selection.
    level_sums : ndarray of int64, shape (n_points,)
        ``|l|_1`` of each point.
    n_refinements : ndarray of int64, shape (n_points,)
        Refinement counts used for the selection (before this step's increment).
    scores : ndarray of float64, shape (n_points,)
        The criterion values; ``inf`` for points ignored because a child would exceed
        ``max_level``.
    """

    step: int
    refined: int
    n_points: int
    _source: NovakRitter = field(repr=False)

    @property
    def children(self) -> np.ndarray:
        n = self.n_points
        return _readonly(np.arange(n, n + 2 * self._source.dim, dtype=np.int64))

    @property
    def ranks(self) -> np.ndarray:
        return _readonly(self._source._ranks_at(self.n_points))

    @property
    def level_sums(self) -> np.ndarray:
        return _readonly(self._source._lsum[: self.n_points])

    @property
    def n_refinements(self) -> np.ndarray:
        return _readonly(self._source._nref_at(self.step, self.n_points))

    @property
    def scores(self) -> np.ndarray:
        return _readonly(self._source._scores_at(self.step, self.n_points))


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.setflags(write=False)
    return v



@dataclass(slots=True)
class _Pending:
    """The batch handed out by ``ask`` and not yet told."""

    U: np.ndarray
    levels: np.ndarray
    indices: np.ndarray
    record: RefinementStep | None  # None for the initial grid


class NovakRitter:
    """Novak-Ritter adaptive sparse grid as an ask/tell generator on the unit cube.

    The first :meth:`ask` returns the regular sparse grid of level ``initial_level``; every
    later one refines the point with the smallest criterion (:func:`novak_ritter_scores`) by
    adding, for each dimension, its first missing left and right chain child (``2 * dim`` new
    points). :meth:`tell` hands back the values of exactly the asked batch.

    Parameters
    ----------
    dim : int
        Dimension ``d >= 1``.
    n_evals : int
        Budget: the grid never has more than ``n_evals`` points. A refinement that would
        exceed it is not asked (SG++ builds and then undoes it); the final size is
        ``n_0 + 2 d k <= n_evals``.
    gamma : float in [0, 1], default 0.85
        Adaptivity: exponent of the level term (1 = breadth-first, 0 = greedy on the ranks).
    initial_level : int in 1..4, default 1
        Level of the initial regular grid (1 = the centre point only).
    max_level : int, default 20
        No coordinate of a created point exceeds this level. At least ``initial_level`` and at
        most :data:`~core.grid.levels.MAX_LEVEL`.
    ranking : {"consistent", "sgpp"}, default "consistent"
        How values are ranked, see Notes.

    Attributes
    ----------
    levels, indices : ndarray of int64, shape (n, d)
        The points told so far, in storage order (read-only).
    points : ndarray, shape (n, d)
        Their unit-cube coordinates ``indices * 2**-levels``.
    values : ndarray, shape (n,)
        Their told values (NaN and inf kept as told).
    ranks, level_sums, n_refinements, scores : ndarray, shape (n,)
        Current selection state; ``scores`` is ``inf`` for points ignored by ``max_level``.
    ignored : ndarray of bool, shape (n,)
        Points that can no longer be refined (a chain child would exceed ``max_level``).
    history : list of RefinementStep
        One frozen record per completed refinement.
    stop_reason : {None, "budget", "max_level"}
        Why :meth:`ask` returned an empty batch.

    Notes
    -----
    **Criterion** (SG++ ``STD_POW``): ``g_k = (|l_k|_1 + r_k + 1)**gamma * (rank_k + 1)**(1 -
    gamma)`` with ``r_k`` the number of times point ``k`` was refined. The point with the
    smallest ``g`` among the non-ignored points is refined; ties go to the lowest storage index.

    **Rankings.**

    - ``"consistent"``: ``rank`` is the 0-based position of the point in ascending order of
      value, ties to the earlier storage index. Every non-finite value (NaN, +inf and -inf) counts
      as a failed evaluation and is ranked worst, after every finite value (ties among them again
      by storage index). A -inf loss is almost always a numerical failure (``log(0)``, a
      diverged model), so it must not attract refinement.
    - ``"sgpp"``: SG++ 3.3 exactly (docs/algorithms.md, "Rank bookkeeping"). Initial points get
      ``rank = position + 1`` (1-based) from a sort; later points are inserted one by one in
      storage order by SG++'s backward scan: a new value lands in front of all existing values
      ``>=`` it, gets ``rank = position`` (0-based) and every point behind it gets ``rank += 1``;
      so the +1 offset of the initial points persists. NaN is treated as +inf (C++ comparisons with
      NaN are all false, which would make SG++ rank a NaN best); -inf is ordered as usual. The
      initial sort here is stable; SG++ uses ``std::sort``, which libstdc++ makes stable only up to
      16 elements, so an initial grid of more than 16 points with exactly tied values may be ranked
      differently by SG++.

    **maxLevel.** A point whose refinement would create a point with a level above
    ``max_level`` is ignored for good (chains only get deeper as the grid grows). The flags are
    kept eagerly (SG++ sets them lazily during the scan; the selected point is the same).

    **Differences from SG++.**

    - ``n_evals`` smaller than the initial grid is a ``ValueError`` (SG++ silently returns the
      whole initial grid, exceeding its budget).
    - When every point is ignored, :meth:`ask` stops with ``stop_reason == "max_level"``; SG++
      would refine point 0 anyway (an unguarded edge case).
    - A refinement that would exceed ``n_evals`` is never asked; nothing is evaluated and then
      discarded (same as SG++).

    **Protocol.** ``ask`` twice without ``tell`` raises ``RuntimeError`` (the pending batch is
    never silently re-issued), as do ``tell`` before ``ask`` and ``tell`` of points that are not
    exactly the asked batch. Once stopped, ``ask`` returns an empty ``(0, d)`` batch, which
    may be told back (a no-op) or ignored.

    References
    ----------
    E. Novak, K. Ritter, "Global Optimization Using Hyperbolic Cross Points", in *State of the
    Art in Global Optimization*, Springer 1996, doi:10.1007/978-1-4613-3437-8_2.
    SG++ 3.3, ``optimization/gridgen/IterativeGridGeneratorRitterNovak.cpp``.

    Examples
    --------
    >>> import numpy as np
    >>> gen = NovakRitter(2, n_evals=10, gamma=0.95)
    >>> while (U := gen.ask()).shape[0]:
    ...     gen.tell(U, np.sin(8 * U[:, 0]) + np.sin(7 * U[:, 1]))
    >>> gen.points.shape, gen.stop_reason
    ((9, 2), 'budget')
    """

    def __init__(
        self,
        dim: int,
        n_evals: int,
        *,
        gamma: float = 0.85,
        initial_level: int = 1,
        max_level: int = 20,
        ranking: str = "consistent",
    ) -> None:
        self._d = check_int(dim, "dim", low=1)
        self._gamma = check_gamma(gamma)
        self._initial_level = check_int(
            initial_level, "initial_level", low=1, high=MAX_INITIAL_LEVEL
        )
        self._max_level = check_int(max_level, "max_level", low=1, high=MAX_LEVEL)
        if self._max_level < self._initial_level:
            raise ValueError(
                f"`max_level` must be >= initial_level={self._initial_level}, "
                f"got max_level={max_level!r}"
            )
        if ranking not in RANKINGS:
            raise ValueError(f"`ranking` must be one of {RANKINGS}, got ranking={ranking!r}")
        self._ranking = ranking
        n0 = regular_grid_size(self._d, self._initial_level)
        self._n_evals = check_int(n_evals, "n_evals", low=1)
        if self._n_evals < n0:
            raise ValueError(
                f"`n_evals` must be at least the size of the initial grid ({n0} points for "
                f"dim={self._d}, initial_level={self._initial_level}), got n_evals={n_evals!r}"
            )
        d = self._d
        cap = max(n0, min(self._n_evals, 256))
        self._n = 0
        self._lv = np.zeros((cap, d), dtype=np.int64)
        self._ix = np.zeros((cap, d), dtype=np.int64)
        self._u = np.zeros((cap, d), dtype=np.float64)
        self._y = np.zeros(cap, dtype=np.float64)
        self._lsum = np.zeros(cap, dtype=np.int64)
        self._nref = np.zeros(cap, dtype=np.int64)
        self._rank = np.zeros(cap, dtype=np.int64)
        self._ign = np.zeros(cap, dtype=bool)
        # _ign_at[k]: refinements completed when point k became ignored (_NEVER: not ignored)
        self._ign_at = np.full(cap, _NEVER, dtype=np.int64)
        self._refined = np.zeros(64, dtype=np.int64)  # refined point of step s at [s - 1]
        self._n0 = n0
        self._committing = 0  # refinements completed once the batch being told is in
        self._sorted = np.zeros(0, dtype=np.float64)  # rank keys in ascending order
        # Point keys: per dimension the 1-D code (1 << l) | i (< 2**(max_level + 1)), packed
        # into one Python int with `_bits` bits per dimension.
        self._bits = self._max_level + 1
        self._lookup: dict[int, int] = {}
        self._codes: list[list[int]] = []
        self._keys: list[int] = []
        # planned[k][2t + side]: code of the first missing chain child of point k in dimension t
        # (side 0 left, 1 right); waiting[key] lists the (k, slot) whose planned child is `key`.
        self._planned: list[list[int]] = []
        self._waiting: dict[int, list[tuple[int, int]]] = {}
        # Powers of the criterion's integer bases, computed with C pow (see _std_pow).
        self._pow_level = np.zeros(0, dtype=np.float64)
        self._pow_rank = np.zeros(0, dtype=np.float64)
        self._pending: _Pending | None = None
        self._last_ask_empty = False
        self._stop_reason: str | None = None
        self._history: list[RefinementStep] = []

    # ------------------------------------------------------------------ public state
    @property
    def dim(self) -> int:
        """Dimension ``d``."""
        return self._d

    @property
    def n_evals(self) -> int:
        """The budget (maximal number of points)."""
        return self._n_evals

    @property
    def gamma(self) -> float:
        """Adaptivity in [0, 1]."""
        return self._gamma

    @property
    def initial_level(self) -> int:
        """Level of the initial regular grid."""
        return self._initial_level

    @property
    def max_level(self) -> int:
        """Maximal level of any created point, per coordinate."""
        return self._max_level

    @property
    def ranking(self) -> str:
        """``"consistent"`` or ``"sgpp"``."""
        return self._ranking

    @property
    def n_points(self) -> int:
        """Number of points told so far."""
        return self._n

    @property
    def levels(self) -> np.ndarray:
        """(n, d) int64 levels in storage order (read-only)."""
        return _readonly(self._lv[: self._n])

    @property
    def indices(self) -> np.ndarray:
        """(n, d) int64 indices in storage order (read-only)."""
        return _readonly(self._ix[: self._n])

    @property
    def points(self) -> np.ndarray:
        """(n, d) unit-cube coordinates in storage order (read-only)."""
        return _readonly(self._u[: self._n])

    @property
    def values(self) -> np.ndarray:
        """(n,) told values in storage order (read-only)."""
        return _readonly(self._y[: self._n])

    @property
    def level_sums(self) -> np.ndarray:
        """(n,) ``|l|_1`` per point (read-only)."""
        return _readonly(self._lsum[: self._n])

    @property
    def ranks(self) -> np.ndarray:
        """(n,) current ranks (a copy; convention set by ``ranking``)."""
        return self._rank[: self._n].copy()

    @property
    def n_refinements(self) -> np.ndarray:
        """(n,) how often each point has been refined (a copy)."""
        return self._nref[: self._n].copy()

    @property
    def ignored(self) -> np.ndarray:
        """(n,) bool, points that can no longer be refined because of ``max_level`` (a copy)."""
        return self._ign[: self._n].copy()

    @property
    def scores(self) -> np.ndarray:
        """(n,) current criterion values; ``inf`` for ignored points."""
        return self._scores()

    @property
    def history(self) -> list[RefinementStep]:
        """One :class:`RefinementStep` per completed refinement, in order."""
        return list(self._history)

    @property
    def pending(self) -> tuple[np.ndarray, np.ndarray, RefinementStep | None] | None:
        """The batch asked and not yet told: ``(levels, indices, refinement)``, the levels and
        indices of shape ``(m, d)`` (read-only) and the :class:`RefinementStep` that created it
        (None for the initial grid); None when nothing is pending.

        The step's arrays can be read at once: they describe the selection that chose the
        batch, which is what they will say after the batch is told.
        """
        pend = self._pending
        if pend is None:
            return None
        return _readonly(pend.levels), _readonly(pend.indices), pend.record

    @property
    def stop_reason(self) -> str | None:
        """``None`` while running, else ``"budget"`` or ``"max_level"``."""
        return self._stop_reason

    @property
    def best_index(self) -> int | None:
        """Storage index of the smallest finite value (lowest index on ties), else of point 0.

        ``None`` before the first :meth:`tell`.
        """
        if self._n == 0:
            return None
        keys = rank_keys(self._y[: self._n], "consistent")
        return int(np.argmin(keys))

    def index_of(self, levels: Any, indices: Any) -> int | None:
        """Storage index of the point ``(levels, indices)`` (each shape (d,)), or ``None``."""
        lv = np.asarray(levels, dtype=np.int64).reshape(-1)
        ix = np.asarray(indices, dtype=np.int64).reshape(-1)
        if lv.shape != (self._d,) or ix.shape != (self._d,):
            raise ValueError(
                f"`levels` and `indices` must have shape ({self._d},), got {lv.shape} and "
                f"{ix.shape}"
            )
        if lv.min() < 1 or lv.max() > self._max_level:
            return None
        if np.any((ix % 2 == 0) | (ix < 1) | (ix >= (np.int64(1) << lv))):
            return None
        key = self._pack([(1 << int(a)) | int(b) for a, b in zip(lv, ix, strict=True)])
        return self._lookup.get(key)

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> np.ndarray:
        """Next batch of new unit-cube points to evaluate.

        Returns
        -------
        ndarray, shape (m, d)
            The initial regular grid on the first call, then the ``2 d`` children of the
            selected point; shape ``(0, d)`` once no refinement fits in ``n_evals`` or every
            point is ignored (see :attr:`stop_reason`).

        Raises
        ------
        RuntimeError
            If the previous non-empty batch has not been told yet.
        """
        if self._pending is not None:
            raise RuntimeError(
                f"ask() called again before tell(): the pending batch of "
                f"{self._pending.U.shape[0]} points must be told first"
            )
        if self._n == 0:
            lv, ix = regular_grid(self._d, self._initial_level)
            return self._issue(lv, ix, None)
        if self._stop_reason is None:
            self._select()
        if self._pending is None:
            self._last_ask_empty = True
            return np.zeros((0, self._d), dtype=np.float64)
        return self._pending.U.copy()

    def tell(self, U: Any, y: Any) -> None:
        """Report the values of the batch returned by the last :meth:`ask`.

        Parameters
        ----------
        U : array_like, shape (m, d)
            Exactly the asked points, in the asked order.
        y : array_like, shape (m,)
            Their values; NaN and inf are allowed (ranked worst, see Notes of the class).

        Raises
        ------
        RuntimeError
            If nothing is pending or ``U`` is not the asked batch.
        ValueError
            If ``U`` or ``y`` has the wrong shape.
        """
        U = as_points(U, self._d)
        pend = self._pending
        if pend is None:
            if self._last_ask_empty and U.shape[0] == 0:
                as_values(y, 0)
                return
            raise RuntimeError(
                f"tell() needs a pending batch from ask(); got {U.shape[0]} points with "
                "nothing pending"
            )
        if U.shape != pend.U.shape or not np.array_equal(U, pend.U):
            raise RuntimeError(
                "tell() must receive exactly the batch returned by the last ask() "
                f"({pend.U.shape[0]} points, same order), got a different batch of "
                f"{U.shape[0]} points"
            )
        yv = as_values(y, U.shape[0]).copy()
        self._commit(pend, yv)

    # ------------------------------------------------------------------ internals
    def _issue(self, lv: np.ndarray, ix: np.ndarray, record: RefinementStep | None) -> np.ndarray:
        U = coordinates(lv, ix)
        U.setflags(write=False)
        self._pending = _Pending(U=U, levels=lv, indices=ix, record=record)
        self._last_ask_empty = False
        return U.copy()

    def _pack(self, codes: list[int]) -> int:
        key = 0
        for t in range(len(codes) - 1, -1, -1):
            key = (key << self._bits) | codes[t]
        return key

    def _pow_table(self, table: np.ndarray, upto: int, exponent: float) -> np.ndarray:
        """Extend ``table[j] = pow(j + 1, exponent)`` to cover ``j <= upto``."""
        if upto < table.shape[0]:
            return table
        size = max(2 * table.shape[0], upto + 1, 64)
        ext = [math.pow(float(j + 1), exponent) for j in range(table.shape[0], size)]
        return np.concatenate([table, np.asarray(ext, dtype=np.float64)])

    def _criterion(self, a: np.ndarray, r: np.ndarray, ignored: np.ndarray) -> np.ndarray:
        """Scores from level terms ``a = |l|_1 + refinements``, ranks ``r`` and ignored flags."""
        if a.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        self._pow_level = self._pow_table(self._pow_level, int(a.max()), self._gamma)
        self._pow_rank = self._pow_table(self._pow_rank, int(r.max()), 1.0 - self._gamma)
        g = self._pow_level[a] * self._pow_rank[r]
        g[ignored] = np.inf
        return g

    def _scores(self) -> np.ndarray:
        n = self._n
        return self._criterion(self._lsum[:n] + self._nref[:n], self._rank[:n], self._ign[:n])

    # -- the state of a past selection, recomputed (used by RefinementStep) -------------------
    def _ranks_at(self, n: int) -> np.ndarray:
        """Ranks of the first ``n`` points as the incremental bookkeeping had them then.

        ``"consistent"``: position in (key, storage index) order. ``"sgpp"``: position in SG++'s
        list, where a later insertion goes in front of equal keys and initial points are sorted
        stably, plus one for initial points (see :mod:`core.grid.ranking`).
        """
        keys = rank_keys(self._y[:n], self._ranking)
        idx = np.arange(n, dtype=np.int64)
        if self._ranking == "consistent":
            order = np.lexsort((idx, keys))
            initial = np.zeros(n, dtype=bool)
        else:
            initial = idx < self._n0
            order = np.lexsort((np.where(initial, idx, -idx), initial, keys))
        ranks = np.empty(n, dtype=np.int64)
        ranks[order] = idx
        return ranks + initial

    def _nref_at(self, step: int, n: int) -> np.ndarray:
        """Refinement counts of the first ``n`` points before refinement ``step``."""
        return np.bincount(self._refined[: step - 1], minlength=n)[:n].astype(np.int64)

    def _scores_at(self, step: int, n: int) -> np.ndarray:
        """The criterion values the selection of refinement ``step`` saw (``n`` points)."""
        a = self._lsum[:n] + self._nref_at(step, n)
        return self._criterion(a, self._ranks_at(n), self._ign_at[:n] < step)

    def _select(self) -> None:
        """Choose the point to refine and make its children the pending batch (or stop)."""
        n, d = self._n, self._d
        if n + 2 * d > self._n_evals:
            self._stop_reason = "budget"
            return
        scores = self._scores()
        best = int(np.argmin(scores))
        if not np.isfinite(scores[best]):
            self._stop_reason = "max_level"
            return
        lv = np.repeat(self._lv[best : best + 1], 2 * d, axis=0)
        ix = np.repeat(self._ix[best : best + 1], 2 * d, axis=0)
        for s, code in enumerate(self._planned[best]):
            level = code.bit_length() - 1
            lv[s, s // 2] = level
            ix[s, s // 2] = code ^ (1 << level)
        record = RefinementStep(step=len(self._history) + 1, refined=best, n_points=n,
                                _source=self)
        self._issue(lv, ix, record)

    def _grow(self, need: int) -> None:
        cap = self._lv.shape[0]
        if need <= cap:
            return
        new = max(need, min(2 * cap, self._n_evals))
        for name in ("_lv", "_ix", "_u", "_y", "_lsum", "_nref", "_rank", "_ign", "_ign_at"):
            old = getattr(self, name)
            fill = _NEVER if name == "_ign_at" else 0
            arr = np.full((new,) + old.shape[1:], fill, dtype=old.dtype)
            arr[: old.shape[0]] = old
            setattr(self, name, arr)

    def _commit(self, pend: _Pending, y: np.ndarray) -> None:
        n0 = self._n
        m = pend.U.shape[0]
        n1 = n0 + m
        self._grow(n1)
        self._lv[n0:n1] = pend.levels
        self._ix[n0:n1] = pend.indices
        self._u[n0:n1] = pend.U
        self._y[n0:n1] = y
        self._lsum[n0:n1] = pend.levels.sum(axis=1)
        self._nref[n0:n1] = 0
        self._ign[n0:n1] = False
        self._ign_at[n0:n1] = _NEVER
        if pend.record is not None:
            self._nref[pend.record.refined] += 1
        self._update_ranks(n0, rank_keys(y, self._ranking))
        self._n = n1
        self._committing = len(self._history) + (pend.record is not None)
        self._insert_points(n0, n1)
        if pend.record is not None:
            s = len(self._history)
            if s == self._refined.shape[0]:
                self._refined = np.concatenate([self._refined, np.zeros_like(self._refined)])
            self._refined[s] = pend.record.refined
            self._history.append(pend.record)
        self._pending = None

    def _update_ranks(self, n0: int, knew: np.ndarray) -> None:
        """Update ranks for new points with rank keys ``knew`` (storage order) after ``n0``."""
        m = knew.shape[0]
        if n0 == 0:
            self._rank[:m], self._sorted = initial_ranks(knew, self._ranking)
            return
        kold = rank_keys(self._y[:n0], self._ranking)
        inc, new_ranks, self._sorted = insert_ranks(self._sorted, kold, knew, self._ranking)
        self._rank[:n0] += inc
        self._rank[n0 : n0 + m] = new_ranks

    def _walk(self, key: int, t: int, code: int, cand: int, left: bool) -> tuple[int, int]:
        """First chain candidate (starting at ``cand``) missing from the grid.

        Returns ``(code, key)`` of that child; ``key`` is ``-1`` if its level exceeds
        ``max_level``.
        """
        shift = self._bits * t
        base = key ^ (code << shift)
        lookup = self._lookup
        top = self._max_level + 1
        while True:
            if cand.bit_length() > top:
                return cand, -1
            ckey = base | (cand << shift)
            if ckey not in lookup:
                return cand, ckey
            cand = 2 * cand + 1 if left else 2 * cand - 1

    def _plan(self, k: int, slot: int, cand: int) -> None:
        t, left = slot >> 1, not (slot & 1)
        code = self._codes[k][t]
        child, ckey = self._walk(self._keys[k], t, code, cand, left)
        self._planned[k][slot] = child
        if ckey < 0:
            if not self._ign[k]:
                self._ign_at[k] = self._committing
            self._ign[k] = True
        else:
            self._waiting.setdefault(ckey, []).append((k, slot))

    def _insert_points(self, n0: int, n1: int) -> None:
        """Register points ``n0..n1-1`` for membership tests and keep chain plans current."""
        d = self._d
        lv = self._lv[n0:n1].tolist()
        ix = self._ix[n0:n1].tolist()
        new_keys = []
        for k in range(n1 - n0):
            codes = [(1 << a) | b for a, b in zip(lv[k], ix[k], strict=True)]
            key = self._pack(codes)
            self._lookup[key] = n0 + k
            self._codes.append(codes)
            self._keys.append(key)
            self._planned.append([0] * (2 * d))
            new_keys.append(key)
        # Plans that pointed at a point that now exists move on along their chain.
        for key in new_keys:
            for k, slot in self._waiting.pop(key, ()):
                if self._ign[k]:
                    continue
                p = self._planned[k][slot]
                self._plan(k, slot, 2 * p + 1 if slot % 2 == 0 else 2 * p - 1)
        for k in range(n0, n1):
            codes = self._codes[k]
            for slot in range(2 * d):
                if self._ign[k]:
                    break
                c = codes[slot >> 1]
                self._plan(k, slot, 2 * c - 1 if slot % 2 == 0 else 2 * c + 1)
