"""Sparse grid search: a Novak-Ritter adaptive grid and its B-spline surrogate's optima.

:class:`SparseGridSearch` is one grid and its surrogate, the thesis' method
(``variant="thesis"``). The default of the registry (``method="sparse_grid"``) composes it
with zoom stages and a local phase (:mod:`core.strategies.composed`).

**Grid phase.** A :class:`~core.grid.NovakRitter` generator with budget ``n_evals - reserved``
proposes its batches (the initial regular grid, then ``2d`` children per refinement). Batches are
handed out in parts when ``ask`` allows fewer points; the generator is told once every value of
its batch is in. The phase ends when no further refinement fits (or ``max_level`` blocks every
point).

**Candidate phase.** The modified B-spline interpolant of the grid's values is fitted
(:func:`core.surrogate.fit_surrogate`; NaN/inf values are left out) and minimized by
``optimizer``; the minima are evaluated with the true objective, all in one batch
(:mod:`core.strategies._sparse_grid_candidates` says which minima, per variant).
``reserved = n_candidates`` evaluations are kept back for them (default: 2 with ``multistart``,
1 without, as the thesis reserves 2); evaluations the grid could not use (a refinement adds
``2d`` points at once) become further slots. A candidate that coincides with a known point is
skipped (duplicates cost nothing) and a slot without a distinct candidate stays unused: the run
then ends below ``n_evals`` and :attr:`~core.strategies.base.Strategy.stop_detail` says why. If
the interpolation system is singular, ``surrogate_error`` says so and no candidate is proposed.
``optimizer="none"`` is pure adaptive grid search: nothing is reserved and the told points are
exactly those of ``NovakRitter(dim, n_evals, ...)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from core._validation import check_gamma, check_int
from core.basis import check_degree
from core.grid import NovakRitter, regular_grid_size
from core.optimizers import TITLES as OPTIMIZER_TITLES
from core.records import Origin, Selection
from core.strategies._sparse_grid_candidates import LBFGSB, Candidate, find_candidates
from core.strategies._threads import single_blas_thread
from core.strategies.base import Strategy

__all__ = ["SparseGridSearch", "Candidate", "VARIANTS"]

#: The variants of sparse grid search: ``"thesis"`` is the thesis' method (plain Novak-Ritter
#: refinement, surrogate candidates only at the end); ``"zoom"`` is the project's default
#: (composed with zoom stages and a local phase in :mod:`core.strategies.composed`; alone, its
#: candidates are L-BFGS-B minima from the best grid points).
VARIANTS: tuple[str, ...] = ("zoom", "thesis")


def check_variant(variant: Any) -> str:
    """``variant`` if it is one of :data:`VARIANTS`, else a ``ValueError`` naming them."""
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(
            f"`variant` must be one of {', '.join(map(repr, VARIANTS))}, got variant={variant!r}"
        )
    return variant


def grid_defaults(variant: Any) -> dict[str, Any]:
    """The grid options whose defaults depend on the variant (``ValueError`` for an unknown
    one): the surrogate optimizer and whether the multi-start candidate is proposed."""
    if check_variant(variant) == "thesis":
        return dict(optimizer="gradient_descent", multistart=True)
    return dict(optimizer=LBFGSB, multistart=False)


class SparseGridSearch(Strategy):
    """One Novak-Ritter adaptive sparse grid and its surrogate's optima (module docstring).

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    n_evals : int
        Budget. Must be at least the initial grid size plus the reserved candidates.
    gamma : float in [0, 1], default 0.85
        Novak-Ritter adaptivity (1 breadth-first, 0 greedy on ranks).
    initial_level : int in 1..4, default 1
        Level of the initial regular grid (1 = the centre only).
    degree : {1, 3, 5, 7}, default 3
        Degree of the modified B-spline surrogate; an even degree is an error.
    ranking : {"consistent", "sgpp"}, default "consistent"
        Rank convention of the generator (see :class:`~core.grid.NovakRitter`).
    optimizer : str or None, default None
        Surrogate optimizer started from the best grid point(s): ``"lbfgsb"`` (scipy's
        L-BFGS-B with the exact gradient), a name of ``core.optimizers.OPTIMIZERS`` or
        ``"none"`` (pure adaptive grid search). ``None``: ``"lbfgsb"`` for the zoom variant,
        ``"gradient_descent"`` for the thesis variant.
    multistart : bool or None, default None
        Also propose the multi-start optimum of the surrogate (the thesis' second candidate).
        ``None``: True for the thesis variant, False for the zoom variant.
    n_candidates : int or None, default None
        Evaluations reserved for candidates; ``None`` gives ``1 + multistart`` (0 with
        ``optimizer="none"``).
    max_level : int, default 20
        Maximal level of a grid point per coordinate.
    optimizer_options : dict or None
        Extra keyword options for the optimizer (e.g. ``{"maxfev": 2000}``).
    candidate_box : bool, default False
        Thesis variant's candidate search: first propose the optimizer's result inside the
        neighbour box of the best grid point (:meth:`local_box`). Formerly ``trust_region``.
    coarse_candidates : bool, default True
        Fill extra slots also with optima of coarser stages' surrogates.
    variant : {"zoom", "thesis"}, default "zoom"
        The candidate search (:mod:`core.strategies._sparse_grid_candidates`) and the
        defaults of ``optimizer`` and ``multistart``.
    seed : int, numpy Generator or None
        Randomness of the randomized optimizers.

    Attributes
    ----------
    generator : NovakRitter
        The grid generator (its ``points``, ``values``, ``ranks``, ``scores``, ``history``).
    surrogate : Surrogate or None
        The latest surrogate fit (set in the candidate phase or by :meth:`fit_surrogate_now`).
    candidates : list of Candidate
        The candidates proposed for true evaluation, in order:
        ``(u, surrogate value, source, path)``.
    phase : {"grid", "candidates", "done"}
    """

    name = "sparse_grid"
    title = "Sparse grid"
    summary = "one Novak-Ritter grid, then its B-spline surrogate's optima"
    has_model: ClassVar[bool] = True
    option_choices: ClassVar[dict[str, dict[str, str]]] = {
        "variant": {
            "zoom": "candidates by L-BFGS-B from the best grid points (the registry's default "
            "composes this search with zoom stages and a local phase)",
            "thesis": "the thesis' method: one Novak-Ritter grid, surrogate candidates at the "
            "end",
        },
        "optimizer": {
            "none": "none (best grid point)",
            LBFGSB: "L-BFGS-B (exact gradient)",
            **OPTIMIZER_TITLES,
        },
        "ranking": {
            "consistent": "ranks in (value, storage index) order",
            "sgpp": "SG++'s ranks (a later point goes before equal values)",
        },
    }

    @classmethod
    def min_budget(cls, dim: int, space_size: int | None = None, **options: Any) -> int:
        """Fewest evaluations the options spend usefully: the initial grid, one refinement
        (``2 d`` children) and the reserved candidates; with a finite ``space_size`` at most
        that, and never below what the constructor accepts (the initial grid plus the reserved
        candidates). Below one refinement the grid is its initial points only. The thesis
        variant keeps the thesis' minimum, what the constructor accepts (its ``stop_detail``
        says why a run ends early).

        ``options`` are keyword options of the constructor (defaults for those not given).
        """
        accepted = cls._accepted_budget(dim, **options)
        if options.get("variant", "zoom") == "thesis":  # as the thesis: it says why it ends
            return accepted
        useful = accepted + 2 * dim
        return useful if space_size is None else max(accepted, min(useful, int(space_size)))

    @classmethod
    def budget_rule(cls, dim: int, **options: Any) -> str:
        accepted = cls._accepted_budget(dim, **options)
        n0 = regular_grid_size(dim, options.get("initial_level", 1))
        return (f"{n0} initial grid point(s), one refinement of 2 d = {2 * dim} children and "
                f"{accepted - n0} reserved candidate evaluation(s)")

    @classmethod
    def _accepted_budget(cls, dim: int, **options: Any) -> int:
        """What the constructor accepts: the initial grid plus the reserved candidates (the one
        budget rule of :meth:`min_budget`, :meth:`budget_rule` and the constructor)."""
        initial_level = check_int(
            options.get("initial_level", 1), "initial_level", low=1, high=4
        )
        defaults = grid_defaults(options.get("variant", "zoom"))
        optimizer = options.get("optimizer") or defaults["optimizer"]
        multistart = options.get("multistart")
        multistart = defaults["multistart"] if multistart is None else bool(multistart)
        reserved = _reserved_evaluations(optimizer, multistart, options.get("n_candidates"))
        return regular_grid_size(check_int(dim, "dim", low=1), initial_level) + reserved

    def __init__(
        self,
        dim: int,
        n_evals: int,
        *,
        gamma: float = 0.85,
        initial_level: int = 1,
        degree: int = 3,
        ranking: str = "consistent",
        optimizer: str | None = None,
        multistart: bool | None = None,
        n_candidates: int | None = None,
        max_level: int = 20,
        optimizer_options: dict[str, Any] | None = None,
        candidate_box: bool = False,
        coarse_candidates: bool = True,
        variant: str = "zoom",
        seed: Any = None,
    ) -> None:
        super().__init__(dim, n_evals, seed=seed)
        from core.optimizers import OPTIMIZERS, check_options

        defaults = grid_defaults(variant)
        self.variant = variant
        optimizer = defaults["optimizer"] if optimizer is None else optimizer
        multistart = defaults["multistart"] if multistart is None else multistart
        self.gamma = check_gamma(gamma)
        self.degree = check_degree(degree)
        self.initial_level = check_int(initial_level, "initial_level", low=1, high=4)
        if optimizer not in ("none", LBFGSB) and optimizer not in OPTIMIZERS:
            valid = ", ".join(["none", LBFGSB, *OPTIMIZERS])
            raise ValueError(f"unknown optimizer {optimizer!r}; valid names: {valid}")
        self.optimizer = optimizer
        if not isinstance(multistart, (bool, np.bool_)):
            raise TypeError(f"`multistart` must be a bool, got multistart={multistart!r}")
        self.multistart = bool(multistart) and optimizer not in ("none", "multistart")
        if optimizer_options is not None and not isinstance(optimizer_options, dict):
            raise TypeError(
                f"`optimizer_options` must be a dict or None, got {optimizer_options!r}"
            )
        self.optimizer_options = dict(optimizer_options or {})
        if self.optimizer_options and optimizer in ("none", LBFGSB):
            raise ValueError(
                f"`optimizer_options` must be empty with optimizer={optimizer!r}, "
                f"got optimizer_options={optimizer_options!r}"
            )
        if optimizer not in ("none", LBFGSB):
            check_options(optimizer, self.optimizer_options)
        self.candidate_box = _check_bool(candidate_box, "candidate_box")
        self.coarse_candidates = _check_bool(coarse_candidates, "coarse_candidates")
        minimum = self._accepted_budget(
            self.dim, initial_level=self.initial_level, variant=variant, optimizer=optimizer,
            multistart=self.multistart, n_candidates=n_candidates,
        )
        n0 = regular_grid_size(self.dim, self.initial_level)
        #: Evaluations reserved for the candidates (:func:`_reserved_evaluations`).
        self.n_candidates = minimum - n0
        if self.n_evals < minimum:
            raise ValueError(
                f"`n_evals` must be at least {minimum} for sparse grid search with dim={self.dim}"
                f", initial_level={self.initial_level} ({n0} initial grid points + "
                f"{self.n_candidates} reserved candidate evaluations), got n_evals={n_evals!r}"
            )
        #: The options this search was built with (a zoom stage is built with the same).
        self.options = dict(
            gamma=self.gamma, initial_level=self.initial_level, degree=self.degree,
            ranking=ranking, optimizer=optimizer, multistart=multistart,
            n_candidates=n_candidates, max_level=max_level,
            optimizer_options=self.optimizer_options, candidate_box=self.candidate_box,
            coarse_candidates=self.coarse_candidates, variant=variant,
        )
        self.generator = NovakRitter(
            self.dim,
            self.n_evals - self.n_candidates,
            gamma=self.gamma,
            initial_level=self.initial_level,
            max_level=max_level,
            ranking=ranking,
        )
        self.surrogate: Any = None
        self.candidates: list[Candidate] = []
        self._phase = "grid"
        self._batch: np.ndarray | None = None  # the generator's batch being handed out
        self._batch_y: list[np.ndarray] = []
        self._batch_asked = 0
        self._batch_origins: list[Origin] = []  # the origins of ``_batch``
        self._queue: list[Candidate] = []  # candidates not yet asked
        self.surrogate_error: str | None = None

    # -- display helpers -------------------------------------------------------------------
    @property
    def n_searches(self) -> int:
        """Grids begun: this one (wrappers count their stages' grids)."""
        return 1

    @property
    def phase(self) -> str:
        """``"grid"``, ``"candidates"`` (surrogate optima being evaluated) or ``"done"``."""
        if self._phase == "candidates" and not self._queue and self._pending is None:
            return "done"
        return self._phase

    @property
    def refinement_history(self) -> list[Any]:
        """The generator's refinement records (:class:`~core.grid.RefinementStep`)."""
        return self.generator.history

    def scores(self) -> np.ndarray:
        """Current Novak-Ritter criterion of every grid point, shape ``(n,)``."""
        return self.generator.scores

    @property
    def n_grid_points(self) -> int:
        return self.generator.n_points

    @property
    def candidate_values(self) -> np.ndarray:
        """True values of the candidates told so far, shape ``(k,)``."""
        n = self.generator.n_points
        return self.y_told[n : n + len(self.candidates)].copy() if self._phase != "grid" else (
            np.empty(0)
        )

    @property
    def all_candidates(self) -> list[Candidate]:
        """The candidates (wrappers add their stages')."""
        return list(self.candidates)

    def fit_surrogate_now(self) -> Any:
        """Fit the surrogate to the grid's current finite values and store it as ``surrogate``.

        Returns ``None`` (and leaves ``surrogate`` unchanged) while no finite grid value exists.
        Usable at any step, e.g. by the explorer to show intermediate surrogates.
        """
        from core.surrogate import fit_surrogate

        gen = self.generator
        y = np.asarray(gen.values)
        if not np.isfinite(y).any():
            return None
        self.surrogate = fit_surrogate(gen.levels, gen.indices, y, degree=self.degree)
        return self.surrogate

    # -- ask/tell --------------------------------------------------------------------------
    def _ask(self, max_points: int) -> np.ndarray:
        if self._phase == "grid":
            if self._batch is None:
                batch = self.generator.ask()
                if len(batch) == 0:
                    self._start_candidates()
                    return self._ask(max_points)
                self._batch, self._batch_y, self._batch_asked = batch, [], 0
                self._batch_origins = self._grid_origins()
            a = self._batch_asked
            U = self._batch[a : a + max_points]
            self._batch_asked += len(U)
            self._set_origins(self._batch_origins[a : a + len(U)])
            return U
        if self._phase == "candidates" and self._queue:
            take = self._queue[:max_points]
            del self._queue[:max_points]
            self._set_origins(
                Origin("candidate", c.value, "sparse_grid_surrogate", c.path, source=c.source)
                for c in take
            )
            return np.array([c.u for c in take]).reshape(-1, self.dim)
        self._phase = "done"
        self._say_why(self.why_done())
        return np.empty((0, self.dim))

    def why_done(self) -> str:
        """Why the search ends with budget left: the grid cannot refine within it and the
        surrogate gave no further distinct candidate."""
        gen = self.generator
        text = (f"the Novak-Ritter grid holds {gen.n_points} points and a refinement adds "
                f"2 d = {2 * self.dim} more than its budget allows (or every point reached "
                "max_level)")
        if self.optimizer == "none":
            return text + "; optimizer='none' proposes no surrogate candidate"
        return text + (f"; the surrogate gave {len(self.candidates)} distinct candidate(s) "
                       "for the slots left")

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if self._phase != "grid":
            return
        self._batch_y.append(y)
        if self._batch is not None and sum(len(v) for v in self._batch_y) == len(self._batch):
            self.generator.tell(self._batch, np.concatenate(self._batch_y))
            self._batch, self._batch_y = None, []

    def _stop(self) -> str | None:
        return "exhausted" if self._phase == "done" else None

    # -- provenance (core.records.Origin) ------------------------------------------------
    def _grid_origins(self) -> list[Origin]:
        """Origins of the generator's pending batch: the initial grid, or the children of a
        refinement (its selection on the first child). Grid points are told in storage order,
        so a storage index is the told index."""
        levels, indices, rec = self.generator.pending
        if rec is None:
            return [
                Origin("grid", refinement=0, levels=lv, indices=ix, source="initial grid")
                for lv, ix in zip(levels, indices, strict=True)
            ]
        selection = Selection(
            rec.step, rec.refined, np.arange(rec.n_points), rec.ranks, rec.level_sums,
            rec.n_refinements, rec.scores, self.gamma, "level_sum",
        )
        return [
            Origin("grid", parent=rec.refined, refinement=rec.step, levels=lv, indices=ix,
                   source=f"refinement {rec.step}", selection=selection if k == 0 else None)
            for k, (lv, ix) in enumerate(zip(levels, indices, strict=True))
        ]

    # -- candidate phase -------------------------------------------------------------------
    def _start_candidates(self) -> None:
        self._phase = "candidates"
        slots = self.n_evals - self.n_told if self.optimizer != "none" else 0
        if slots <= 0:
            return
        try:
            surrogate = self.fit_surrogate_now()
        except np.linalg.LinAlgError as err:  # a singular system: say so, spend nothing more
            self.surrogate_error = str(err)
            return
        if surrogate is None:
            return
        with single_blas_thread():
            self._queue = find_candidates(self, slots)
        self.candidates = list(self._queue)

    def local_box(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The neighbour box of grid point ``k``: per dimension, the interval between its nearest
        grid neighbours along that axis (the cube faces where there are none).

        Returns ``(lo, hi)``, each of shape ``(d,)``.
        """
        P = np.asarray(self.generator.points)
        u = P[k]
        same = P == u  # (n, d)
        lo, hi = np.zeros(self.dim), np.ones(self.dim)
        n_same = same.sum(axis=1)
        for t in range(self.dim):
            on_axis = (n_same == self.dim - 1) & ~same[:, t]
            c = P[on_axis, t]
            below, above = c[c < u[t]], c[c > u[t]]
            if below.size:
                lo[t] = below.max()
            if above.size:
                hi[t] = above.min()
        return lo, hi

    def stage_sizes(self) -> list[int]:
        """Grid sizes of the coarser stages used for extra candidates, largest first.

        The Novak-Ritter grid after ``k`` refinements is the first ``n_0 + 2 d k`` points in
        storage order; with ``K`` refinements in all, the stages are ``k = K // 2, K // 4, ...,
        1``.
        """
        n0 = regular_grid_size(self.dim, self.initial_level)
        k = (self.generator.n_points - n0) // (2 * self.dim) // 2
        sizes = []
        while k >= 1:
            sizes.append(n0 + 2 * self.dim * k)
            k //= 2
        return sizes


def _reserved_evaluations(optimizer: str, multistart: bool, n_candidates: Any) -> int:
    """Evaluations kept back for surrogate candidates: none with ``optimizer="none"``
    (``n_candidates`` must then be 0 or None), else ``n_candidates`` or, when None,
    ``1 + multistart`` (no multi-start candidate with ``optimizer`` "none" or "multistart")."""
    if optimizer == "none":
        if n_candidates not in (None, 0):
            raise ValueError(
                "`n_candidates` must be 0 or None with optimizer='none', "
                f"got n_candidates={n_candidates!r}"
            )
        return 0
    if n_candidates is None:
        return 1 + int(bool(multistart) and optimizer != "multistart")
    return check_int(n_candidates, "n_candidates", low=1)


def _check_bool(value: Any, name: str) -> bool:
    """``value`` if it is a bool, else a ``TypeError`` naming the option."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {name}={value!r}")
    return bool(value)
