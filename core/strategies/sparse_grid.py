"""Sparse grid search: Novak-Ritter adaptive grids and their B-spline surrogates' optima.

The default zooms in on the incumbent and, budget allowing, adds a quadratic trust-region local
phase with global restarts; ``variant="thesis"`` is one grid, surrogate optima at the end.

**Two variants** (``variant=``):

- ``"thesis"``: the thesis' method, unchanged. One Novak-Ritter grid on the whole cube gets the
  budget minus the reserved candidates; at the end the surrogate is minimized by gradient
  descent from the best grid point and by a multi-start Nelder-Mead, and those candidates are
  evaluated.
- ``"zoom"`` (the default, the project's strongest sparse grid search): the same grid and
  surrogate in phases, each described below or in :mod:`core.strategies._trust_region`:

  1. *Stage 0*: the grid and candidate phases on the whole cube, with ``1 - zoom_fraction`` of
     the first global search's budget; candidates by multi-start L-BFGS-B on the surrogate
     (``optimizer="lbfgsb"``) from the best grid points and, in extra slots, from coarser
     stages' surrogates.
  2. *Zoom stages* (``zoom=4``): fresh Novak-Ritter grids in boxes around the best point told
     so far (``zoom_shrink="auto"``: fitted to the spread of the best points; the seed jitters
     each box's width per dimension by ``exp(U(-ZOOM_JITTER, ZOOM_JITTER))``), each ending with
     its candidates evaluated.
  3. *Quadratic model steps* (``model_steps=6``) before each zoom stage: single evaluations at
     the minimum of a least-squares quadratic of the told points nearest the incumbent
     (:func:`~core.strategies._trust_region.quadratic_model_step`), which follows a curved
     valley where re-centred boxes crawl.
  4. *Local phase and global restarts* (``local_search``; by default only when
     ``round(local_fraction * n_evals) >= 2 (d + 1)(d + 2) / 2``, e.g. B >= 39 in 2-D, 139 in
     5-D, 439 in 10-D): phases 1-3 get ``local_fraction=0.3`` of the budget (the *first
     global search*), then trust-region steps on quadratic models
     (:class:`~core.strategies._trust_region.QuadraticTrustRegion`); once the trust region
     converges, a *global restart* runs the first global search again on the whole cube with
     twice its budget (points shared with earlier searches cost nothing), then a fresh trust
     region, until the budget is spent.
  5. *The rest of the budget*: evaluations no grid refinement, candidate or model step can use
     go to trust-region steps from the incumbent (uniform points in the latest box while too
     few points exist for a model), so the run spends exactly ``n_evals``.

  Why each phase is there, what was measured (``benchmarks/race.py``) and what was tried and
  dropped: docs/decisions.md, "Sparse grid search's default: measurements behind each phase".

The rest of this docstring describes the machinery both variants share.

**Grid phase.** A :class:`~core.grid.NovakRitter` generator with budget ``n_evals - reserved``
proposes its batches (the initial regular grid, then ``2d`` children per refinement). Batches are
handed out in parts when ``ask`` allows fewer points; the generator is told once every value of
its batch is in. The phase ends when no further refinement fits (or ``max_level`` blocks every
point).

**Candidate phase** (the thesis' two candidates, see ``docs/algorithms.md``). The modified
B-spline interpolant of the grid's values is fitted (:func:`core.surrogate.fit_surrogate`;
NaN/inf values are left out) and minimized:

0. if ``candidate_box``: ``optimizer`` inside the neighbour box of the best grid point (between
   its nearest grid neighbours along each axis, :meth:`SparseGridSearch.local_box`), where the
   interpolant is most reliable;
1. ``optimizer`` started from the best grid point over the whole cube (the thesis' gradient
   descent step);
2. if ``multistart``: the multi-start optimizer (``core.optimizers`` ``"multistart"``, default
   inner method Nelder-Mead) from the best grid point plus random starts (the thesis' second
   candidate);
3. while slots remain, alternately (at most ``2 * free slots + 1`` such runs):

   - if ``coarse_candidates``: ``optimizer`` on the surrogate of a coarser stage of the same grid
     (the first ``n_0 + 2 d k`` points, ``k = K/2, K/4, ...`` of the ``K`` refinements), from
     that stage's best point. A coarse interpolant is smoother and often has the better
     optimum when the fine one oscillates (in 10-D Rosenbrock it halves the median regret at
     B = 100 and 200), and the regret no longer grows with the budget;
   - ``optimizer`` on the full surrogate from the 2nd, 3rd, ... best grid point.

The candidates are evaluated with the true objective, all in one batch, in that order.
``reserved = n_candidates`` evaluations are kept back for them (default: 2 with ``multistart``,
1 without, as the thesis reserves 2); the evaluations the grid could not use (a refinement adds
``2d`` points at once, so up to ``2d - 1`` are left over) become further slots.

*Duplicates cost nothing.* A primary candidate (0-2) that coincides with an evaluated point or an
earlier candidate (within ``1e-9`` per coordinate) is skipped, an extra candidate (3) must be at
least ``1e-3`` away from all of them; the slot goes to the next candidate, and slots without a
distinct candidate stay unused; the thesis variant then ends below ``n_evals`` (its
:attr:`~core.strategies.base.Strategy.stop_detail` says how many points the grid holds and how
many candidates were found), the zoom variant spends them as its phase 5 says. If the
interpolation system is singular, ``surrogate_error`` says so and no candidate is proposed. The
result is the best of all told values, grid points and candidates.

**Zoom stages** (``zoom > 0``, a multi-level scheme in the spirit of trust regions and of
SG++'s / Tasmanian's local refinement). The two phases above run on ``1 - zoom_fraction`` of the
budget (stage 0); the rest is split evenly into ``zoom`` further stages. Stage ``s`` is a complete
sparse grid search of its own (Novak-Ritter grid, B-spline surrogate, candidates, same options)
in the box of half-width ``h_s = 0.5 * zoom_shrink**s`` (or fitted to the best points with
``zoom_shrink="auto"``) centred at the best point told so far
(shifted to stay inside the unit cube): a fresh grid whose interpolant only has to resolve the
function near the incumbent, where a low-degree polynomial is a good model. When the box centre is
the incumbent its value is told to the stage without a new evaluation. A stage needs at least
``2 d + 1 + n_candidates`` evaluations to refine at least once; fewer stages are run when the zoom
budget is too small (:attr:`SparseGridSearch.zoom_budgets`). A stage before the last gets only
what its grid can use plus ``n_candidates`` (refinements add ``2 d`` points at once); the rest
goes to the next stage, so only the last stage spends leftover slots on extra candidates.
:attr:`SparseGridSearch.zoom_stages` holds each stage's ``(lo, hi, search)``; ``generator``,
``surrogate`` and ``candidates`` stay those of stage 0.

``optimizer="none"`` is pure adaptive grid search: nothing is reserved and the generator gets the
whole budget, so the told points are exactly those of ``NovakRitter(dim, n_evals, ...)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from core._validation import check_gamma, check_int
from core.basis import check_degree
from core.grid import NovakRitter, regular_grid_size
from core.optimizers import TITLES as OPTIMIZER_TITLES
from core.records import Origin, Selection
from core.strategies._sparse_grid_candidates import (
    DUPLICATE_TOL,
    LBFGSB,
    Candidate,
    find_candidates,
)
from core.strategies._threads import single_blas_thread
from core.strategies._trust_region import (
    LocalRestarts,
    local_step_origin,
    model_size,
    quadratic_model_step,
)
from core.strategies.base import Strategy

__all__ = ["SparseGridSearch", "Candidate", "VARIANTS"]

#: The variants of sparse grid search: ``"thesis"`` is the thesis' method (plain Novak-Ritter
#: refinement, surrogate candidates only at the end).
VARIANTS: tuple[str, ...] = ("zoom", "thesis")


def variant_defaults(variant: Any) -> dict[str, Any]:
    """Defaults of the options that depend on the variant (``ValueError`` for an unknown one)."""
    if not isinstance(variant, str) or variant not in VARIANTS:
        raise ValueError(
            f"`variant` must be one of {', '.join(map(repr, VARIANTS))}, got variant={variant!r}"
        )
    if variant == "thesis":
        return dict(optimizer="gradient_descent", multistart=True, zoom=0, zoom_fraction=0.4,
                    zoom_shrink=0.25, model_steps=0, local_search=False, local_fraction=0.3)
    return dict(optimizer=LBFGSB, multistart=False, zoom=4, zoom_fraction=0.4,
                zoom_shrink="auto", model_steps=6, local_search=None, local_fraction=0.3)


#: The local phase runs by default (``local_search=None``) only when the first global search
#: (``local_fraction`` of the budget) holds this many quadratic models' worth of evaluations
#: (``LOCAL_MIN_MODELS * (d + 1)(d + 2) / 2``): with fewer, the global search has not yet found
#: the basin worth a local search.
LOCAL_MIN_MODELS = 2
#: Radius (unit-cube units) below which the local phase has converged.
LOCAL_MIN_RADIUS = 1e-6
#: The zoom variant's use of the seed: each zoom box's half-width is multiplied, per dimension,
#: by ``exp(U(-ZOOM_JITTER, ZOOM_JITTER))`` (a factor between about 0.78 and 1.28), so the
#: stages' grids, and with them the run, differ between seeds (module docstring, phase 2).
ZOOM_JITTER = 0.25

class SparseGridSearch(Strategy):
    """Novak-Ritter adaptive sparse grid plus surrogate optimization (module docstring).

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
        ``"none"`` (pure adaptive grid search, no zoom). ``None``: ``"lbfgsb"`` for the zoom
        variant, ``"gradient_descent"`` for the thesis variant.
    multistart : bool or None, default None
        Also propose the multi-start optimum of the surrogate (thesis variant's candidate
        search). ``None``: True for the thesis variant, False for the zoom variant (which
        starts ``optimizer`` from several grid points instead).
    n_candidates : int or None, default None
        Evaluations reserved for candidates; ``None`` gives ``1 + multistart`` (0 with
        ``optimizer="none"``).
    max_level : int, default 20
        Maximal level of a grid point per coordinate.
    optimizer_options : dict or None
        Extra keyword options for the optimizer (e.g. ``{"maxfev": 2000}``).
    candidate_box : bool, default False
        Thesis variant's candidate search: first propose the optimizer's result inside the
        neighbour box of the best grid point (:meth:`local_box`). Formerly ``trust_region``;
        "trust region" now names only the local phase.
    coarse_candidates : bool, default True
        Thesis variant's candidate search: fill extra slots also with optima of coarser
        stages' surrogates.
    zoom : int >= 0 or None, default None
        Number of zoom stages (module docstring); 0 is the single-grid method. ``None``: 4 for
        the zoom variant (0 with ``optimizer="none"``), 0 for the thesis variant.
    zoom_fraction : float in (0, 1) or None, default None
        Share of the budget for the zoom stages (``None``: 0.4).
    zoom_shrink : float in (0, 1), "auto" or None, default None
        Half-width factor from one stage's box to the next (stage 0 is the unit cube).
        ``"auto"``: per dimension, the spread of the ``2 d + 1`` best told points around the
        incumbent, clipped to ``[0.5**(4 s + 1), 0.5**(s + 1)]`` for stage ``s``. ``None``:
        ``"auto"`` for the zoom variant, 0.25 for the thesis variant.
    model_steps : int >= 0 or None, default None
        Quadratic model steps before each zoom stage (module docstring); at most the stage's
        budget over ``d + 1``. ``None``: 6 for the zoom variant, 0 for the thesis variant.
    local_search : bool or None, default None
        Follow the first global search by the local phase and global restarts (module
        docstring, phase 4). ``None``: for the zoom variant, when ``round(local_fraction *
        n_evals) >= 2 (d + 1)(d + 2) / 2``; False for the thesis variant.
    local_fraction : float in (0, 1) or None, default None
        Share of the budget for the first global search when the local phase runs (``None``:
        0.3).
    variant : {"zoom", "thesis"}, default "zoom"
        ``"thesis"``: the thesis' method (plain Novak-Ritter refinement, candidates only at the
        end), unchanged. ``"zoom"``: zoom stages re-centred on the incumbent with multi-start
        L-BFGS-B candidates (module docstring).
    seed : int, numpy Generator or None
        Randomness of the zoom variant's box widths, leftover steps and restarts (module
        docstring, phases 2 and 5) and of the randomized optimizers; one seed gives one run.

    Attributes
    ----------
    generator : NovakRitter
        The grid generator (its ``points``, ``values``, ``ranks``, ``scores``, ``history``).
    surrogate : Surrogate or None
        The latest surrogate fit (set in the candidate phase or by :meth:`fit_surrogate_now`).
    candidates : list of Candidate
        Stage 0's candidates proposed for true evaluation, in order:
        ``(u, surrogate value, source, path)`` (:attr:`all_candidates` adds the zoom stages').
    model_step_points : ndarray, shape (k, d)
        The points of the quadratic model steps (the local phase's steps too), in the order
        evaluated.
    global_budget : int
        Evaluations of the first global search (stage 0 and the zoom stages).
    local_steps : list of Candidate
        The local phase's steps (also in :attr:`all_candidates`).
    n_restarts : int
        Global restarts begun (each is appended to ``zoom_stages`` with the box ``[0, 1]^d``).
    phase : {"grid", "candidates", "zoom", "local", "done"}
    """

    name = "sparse_grid"
    title = "Sparse grid"
    summary = (
        "Novak-Ritter grid and its B-spline surrogate's optima, zoom stages around the "
        "incumbent with quadratic model steps, then (budget allowing) a quadratic trust region "
        "with global restarts; variant='thesis': one grid, surrogate optima at the end"
    )
    has_model: ClassVar[bool] = True
    option_choices: ClassVar[dict[str, dict[str, str]]] = {
        "variant": {
            "zoom": "zoom stages re-centred on the incumbent; with enough budget, a local "
            "trust-region phase and global restarts",
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
        """What the constructor accepts: the initial grid plus the reserved candidates."""
        initial_level = check_int(
            options.get("initial_level", 1), "initial_level", low=1, high=4
        )
        defaults = variant_defaults(options.get("variant", "zoom"))
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
        zoom: int | None = None,
        zoom_fraction: float | None = None,
        zoom_shrink: float | str | None = None,
        model_steps: int | None = None,
        local_search: bool | None = None,
        local_fraction: float | None = None,
        variant: str = "zoom",
        seed: Any = None,
    ) -> None:
        super().__init__(dim, n_evals, seed=seed)
        from core.optimizers import OPTIMIZERS, check_options

        defaults = variant_defaults(variant)
        self.variant = variant
        optimizer = defaults["optimizer"] if optimizer is None else optimizer
        multistart = defaults["multistart"] if multistart is None else multistart
        if zoom is None:  # pure grid search (optimizer "none") has no zoom stages
            zoom = 0 if optimizer == "none" else defaults["zoom"]
        zoom_fraction = defaults["zoom_fraction"] if zoom_fraction is None else zoom_fraction
        zoom_shrink = defaults["zoom_shrink"] if zoom_shrink is None else zoom_shrink
        model_steps = defaults["model_steps"] if model_steps is None else model_steps
        local_fraction = defaults["local_fraction"] if local_fraction is None else local_fraction
        if local_search is None:
            local_search = defaults["local_search"]

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
        self.n_candidates = _reserved_evaluations(optimizer, self.multistart, n_candidates)
        if optimizer_options is not None and not isinstance(optimizer_options, dict):
            raise TypeError(
                f"`optimizer_options` must be a dict or None, got {optimizer_options!r}"
            )
        self.optimizer_options = dict(optimizer_options or {})
        if self.optimizer_options and optimizer == "none":
            raise ValueError(
                "`optimizer_options` must be empty with optimizer='none', "
                f"got optimizer_options={optimizer_options!r}"
            )
        if self.optimizer_options and optimizer == LBFGSB:
            raise ValueError(
                f"`optimizer_options` must be empty with optimizer={LBFGSB!r}, "
                f"got optimizer_options={optimizer_options!r}"
            )
        if optimizer not in ("none", LBFGSB):
            check_options(optimizer, self.optimizer_options)
        self.candidate_box = _check_bool(candidate_box, "candidate_box")
        self.coarse_candidates = _check_bool(coarse_candidates, "coarse_candidates")
        self.zoom = check_int(zoom, "zoom", low=0)
        self.zoom_fraction = _check_open_unit(zoom_fraction, "zoom_fraction")
        self.zoom_shrink: float | str = (
            "auto"
            if isinstance(zoom_shrink, str) and zoom_shrink == "auto"
            else _check_open_unit(zoom_shrink, "zoom_shrink")
        )
        self.model_steps = check_int(model_steps, "model_steps", low=0)
        if self.zoom and optimizer == "none":
            raise ValueError(f"`zoom` must be 0 with optimizer='none', got zoom={zoom!r}")
        self.local_fraction = _check_open_unit(local_fraction, "local_fraction")
        if local_search is not None:
            local_search = _check_bool(local_search, "local_search")
        if local_search and optimizer == "none":
            raise ValueError(
                f"`local_search` must be False with optimizer='none', got {local_search!r}"
            )
        if local_search is None:  # automatic: when the budget holds a few quadratic models
            first = round(self.local_fraction * self.n_evals)
            local_search = optimizer != "none" and first >= LOCAL_MIN_MODELS * model_size(self.dim)
        #: Whether the run has the local phase and global restarts (module docstring).
        self.local_search = bool(local_search)
        self._options = dict(
            gamma=self.gamma, initial_level=self.initial_level, degree=self.degree,
            ranking=ranking, optimizer=optimizer, multistart=multistart,
            n_candidates=n_candidates, max_level=max_level,
            optimizer_options=self.optimizer_options, candidate_box=self.candidate_box,
            coarse_candidates=self.coarse_candidates, variant=variant, zoom=0,
            local_search=False,
        )
        n0 = regular_grid_size(self.dim, self.initial_level)
        minimum = self._accepted_budget(
            self.dim, initial_level=self.initial_level, variant=variant, optimizer=optimizer,
            multistart=self.multistart, n_candidates=n_candidates,
        )
        #: Evaluations of the first global search (stage 0 and the zoom stages): the whole
        #: budget, or ``local_fraction`` of it when the local phase follows.
        self.global_budget = self.n_evals
        if self.local_search:
            self.global_budget = min(
                self.n_evals, max(int(round(self.local_fraction * self.n_evals)), minimum)
            )
        self.zoom_budgets = self._split_zoom_budget(n0)
        self.stage0_budget = self.global_budget - sum(self.zoom_budgets)
        if self.n_evals < minimum:
            raise ValueError(
                f"`n_evals` must be at least {minimum} for sparse grid search with dim={self.dim}"
                f", initial_level={self.initial_level} ({n0} initial grid points + "
                f"{self.n_candidates} reserved candidate evaluations), got n_evals={n_evals!r}"
            )
        self.generator = NovakRitter(
            self.dim,
            self.stage0_budget - self.n_candidates,
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
        self._asked_candidates = 0
        self.surrogate_error: str | None = None
        self.zoom_stages: list[tuple[np.ndarray, np.ndarray, SparseGridSearch]] = []
        self._child_pending: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        # per stage in ``zoom_stages``: the told index (here) of each point told to the stage,
        # the number of the stage's first search and whether it is a global restart
        self._child_maps: list[list[int]] = []
        self._stage_base: list[int] = []
        self._stage_restart: list[bool] = []
        self._steps_done = 0  # quadratic model steps before the next zoom stage
        self._step_pending = False
        self._step_blocked = False
        #: Points of the quadratic model steps, in the order evaluated, shape ``(k, d)``.
        self.model_step_points = np.empty((0, self.dim))
        #: The local phase's steps, in order: ``Candidate(u, model prediction (NaN for a
        #: geometry step), "trust region" or "trust region (geometry)", path from the
        #: incumbent)``.
        self.local_steps: list[Candidate] = []
        #: The local phase's trust regions and restart schedule (also the trust-region steps
        #: that spend the rest of the budget).
        self.local = LocalRestarts(self.dim, self.global_budget, self.n_evals, LOCAL_MIN_RADIUS)
        #: Whether budget the stages leave goes to :meth:`_ask_rest` (the zoom variant's own
        #: run; its zoom stages and restarts end with their grids instead).
        self._spends_rest = self.variant == "zoom" and optimizer != "none"

    def _split_zoom_budget(self, n0: int) -> list[int]:
        """Budgets of the zoom stages: ``zoom_fraction`` of ``global_budget`` split evenly (the
        last stage takes the rounding rest), as many stages as get ``2 d + n0 + n_candidates``
        each."""
        if not self.zoom:
            return []
        total = int(round(self.zoom_fraction * self.global_budget))
        need = 2 * self.dim + n0 + self.n_candidates
        if self.global_budget - total < n0 + self.n_candidates:
            return []
        k = min(self.zoom, total // need)
        if k == 0:
            return []
        return [total // k] * (k - 1) + [total - (total // k) * (k - 1)]

    # -- display helpers -------------------------------------------------------------------
    @property
    def n_restarts(self) -> int:
        """Global restarts begun (each is a stage in ``zoom_stages`` on the whole cube)."""
        return self.local.n_restarts

    @property
    def n_searches(self) -> int:
        """Grids begun so far: this search's own, plus those of its zoom stages and restarts
        (nested ones included); :attr:`core.records.Origin.stage` numbers them from 0."""
        return 1 + sum(child.n_searches for _, _, child in self.zoom_stages)

    @property
    def phase(self) -> str:
        """``"grid"``, ``"candidates"`` (surrogate optima being evaluated), ``"zoom"`` (a zoom
        stage or a global restart is running), ``"local"`` (trust-region steps) or ``"done"``."""
        if self._phase == "candidates" and not self._queue and self._pending is None:
            if len(self.zoom_stages) < len(self.zoom_budgets):
                return "zoom"
            return "local" if self.local_search and self.remaining > 0 else "done"
        if self._phase in ("zoom", "local") and self._pending is None and (
            self.remaining == 0 or self.stop_reason is not None
        ):
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
        """The candidates of every stage in the unit cube of the whole search space: stage 0's
        (``candidates``), then each zoom stage's, mapped through its box ``[lo, hi]`` (``u`` and
        ``path``), with ``" (zoom s)"`` appended to the source of stage ``s``."""
        out = list(self.candidates)
        for s, (lo, hi, child) in enumerate(self.zoom_stages, start=1):
            out += [c.mapped(lo, hi, f"{c.source} (zoom {s})") for c in child.all_candidates]
        return out + self.local_steps

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
            self._asked_candidates += len(take)
            self._set_origins(
                Origin("candidate", c.value, "sparse_grid_surrogate", c.path,
                       restart=self.n_restarts, source=c.source)
                for c in take
            )
            return np.array([c.u for c in take]).reshape(-1, self.dim)
        if self._phase in ("candidates", "zoom") and self.zoom_budgets:
            self._phase = "zoom"
            U = self._ask_zoom(max_points)
            if len(U):
                return U
        if self.local_search and self._phase != "grid":
            U = self._ask_local(max_points)
            if len(U):
                return U
        elif (self._phase != "grid" and self.model_steps and self.optimizer != "none"
                and self.best is not None):
            # the stages are over and budget is left: spend it on quadratic model steps until
            # the model proposes nothing new (a point already told ends the run)
            x = self._model_step()
            if x is not None:
                self._step_pending = True
                return x[None, :]
        if self._spends_rest and self._phase != "grid" and self.remaining > 0:
            return self._ask_rest()
        self._phase = "done"
        self._say_why(self._why_done())
        return np.empty((0, self.dim))

    def _ask_rest(self) -> np.ndarray:
        """One point of the budget the stages leave (the grid cannot refine within it and no
        candidate or model step is new): a trust-region step from the incumbent (a fresh trust
        region once one has converged), or, while too few finite values exist for a quadratic
        model, a point drawn uniformly (``seed``) in the box of the latest stage's half-width
        around the incumbent."""
        proposal = self.local.step(self.U_told, self.y_told, self._rng, fresh_if_converged=True)
        best = self.best
        c = best[0] if best is not None else np.full(self.dim, 0.5)
        source = None
        if proposal is not None:
            x, predicted = proposal
        else:
            h = 0.5 * (self.zoom_stages[-1][1] - self.zoom_stages[-1][0]) if self.zoom_stages \
                else np.full(self.dim, 0.25)
            x = np.clip(c + self._rng.uniform(-1.0, 1.0, self.dim) * np.abs(h), 0.0, 1.0)
            predicted, source = float("nan"), "random near the incumbent"
        return self._local_step(x, predicted, c, source)

    def _local_step(self, x: np.ndarray, predicted: float, c: np.ndarray,
                    source: str | None) -> np.ndarray:
        """Record and hand out the local step ``x`` from the incumbent ``c``."""
        origin = local_step_origin(x, predicted, c, self.n_restarts, source)
        self.local_steps.append(Candidate(x, predicted, origin.source, origin.path))
        self.model_step_points = np.vstack([self.model_step_points, x])
        self._set_origins([origin])
        self._phase, self._step_pending = "local", True
        return x[None, :]

    def _why_done(self) -> str:
        """Why the run ends with budget left (the thesis variant and ``optimizer="none"``)."""
        gen = self.generator
        text = (f"the Novak-Ritter grid holds {gen.n_points} points and a refinement adds "
                f"2 d = {2 * self.dim} more than its budget allows (or every point reached "
                "max_level)")
        if self.optimizer == "none":
            return text + "; optimizer='none' proposes no surrogate candidate"
        return text + (f"; the surrogate gave {len(self.candidates)} distinct candidate(s) "
                       "for the slots left")

    def _ask_zoom(self, max_points: int) -> np.ndarray:
        """The next batch of the running zoom stage (starting the next stage when one ends)."""
        while True:
            child = self.zoom_stages[-1][2] if self.zoom_stages else None
            if child is None or child.stop_reason is not None:
                if len(self.zoom_stages) >= len(self.zoom_budgets) or self.best is None:
                    return np.empty((0, self.dim))
                if self._steps_done < self._steps_allowed():
                    x = self._model_step()
                    if x is not None:
                        self._steps_done += 1
                        self._step_pending = True
                        return x[None, :]
                    self._step_blocked = True  # no step: the stage starts
                self._start_zoom_stage()
                continue
            lo, hi, _ = self.zoom_stages[-1]
            V = child.ask(min(max_points, self.remaining))
            if len(V) == 0:
                continue
            X = lo + V * (hi - lo)
            known, found, hits = self._known_values(X)
            new = ~found
            if not new.any():  # e.g. the box centre at the incumbent: free
                self._child_maps[-1].extend(hits.tolist())
                child.tell(V, known)
                continue
            self._child_pending = (V, known, new, hits)  # points told before cost nothing
            origins = child.origins
            self._set_origins(self._stage_origin(origins[i]) for i in np.flatnonzero(new))
            return X[new]

    def _ask_local(self, max_points: int) -> np.ndarray:
        """The local phase: the running global restart's next batch, else a trust-region step;
        a converged trust region starts the next restart (module docstring)."""
        while self.remaining > 0:
            if self.n_restarts and self.zoom_stages[-1][2].stop_reason is None:
                self._phase = "zoom"
                U = self._ask_zoom(max_points)
                if len(U):
                    return U
                continue
            proposal = self.local.step(self.U_told, self.y_told, self._rng)
            if proposal is not None:
                return self._local_step(*proposal, self.best[0], None)
            # converged, or too few finite values for a model yet: a global restart, unless
            # the last one added no point or already had the whole budget
            size = self.local.restart(self.n_told)
            if size is None:
                break
            self._start_restart(size)
        return np.empty((0, self.dim))

    def _start_restart(self, size: int) -> None:
        """A global restart: a fresh search on the whole cube with ``size`` evaluations (twice
        the previous global budget, at most ``n_evals``; its points told before cost nothing),
        followed by a fresh trust region. A restart with the whole budget is the last."""
        options = dict(
            self._options, zoom=self.zoom, zoom_fraction=self.zoom_fraction,
            zoom_shrink=self.zoom_shrink, model_steps=self.model_steps,
        )
        child = SparseGridSearch(self.dim, size, seed=self._rng, **options)
        self._add_stage(np.zeros(self.dim), np.ones(self.dim), child, restart=True)

    def _steps_allowed(self) -> int:
        """Quadratic model steps before the next zoom stage: ``model_steps``, at most the
        stage's budget over ``d + 1``."""
        if self._step_blocked:
            return 0
        return min(self.model_steps, self.zoom_budgets[len(self.zoom_stages)] // (self.dim + 1))

    def _known_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Told values at the points ``X`` (within ``DUPLICATE_TOL``; NaN where unknown), which
        points were told before and the told index of each (-1 where unknown), all of shape
        ``(len(X),)``."""
        U, y = self.U_told, self.y_told
        out = np.full(len(X), np.nan)
        found = np.zeros(len(X), dtype=bool)
        hits = np.full(len(X), -1, dtype=np.int64)
        for i, x in enumerate(X):
            hit = np.flatnonzero(np.max(np.abs(U - x), axis=1) <= DUPLICATE_TOL)
            if hit.size:
                out[i], found[i], hits[i] = y[hit[0]], True, hit[0]
        return out, found, hits

    # -- provenance (core.records.Origin) ------------------------------------------------
    def _grid_origins(self) -> list[Origin]:
        """Origins of the generator's pending batch: the initial grid, or the children of a
        refinement (its selection on the first child). Grid points are told in storage order,
        so a storage index is the told index."""
        levels, indices, rec = self.generator.pending
        restart = self.n_restarts
        if rec is None:
            return [
                Origin("grid", refinement=0, levels=lv, indices=ix, restart=restart,
                       source="initial grid")
                for lv, ix in zip(levels, indices, strict=True)
            ]
        selection = Selection(
            rec.step, rec.refined, np.arange(rec.n_points), rec.ranks, rec.level_sums,
            rec.n_refinements, rec.scores, self.gamma, "level_sum",
        )
        return [
            Origin("grid", parent=rec.refined, refinement=rec.step, levels=lv, indices=ix,
                   restart=restart, source=f"refinement {rec.step}",
                   selection=selection if k == 0 else None)
            for k, (lv, ix) in enumerate(zip(levels, indices, strict=True))
        ]

    def _model_step(self) -> np.ndarray | None:
        """A quadratic model step (its origin set), or None when the model proposes none."""
        step = quadratic_model_step(self.U_told, self.y_told)
        if step is None:
            return None
        x, predicted = step
        self.model_step_points = np.vstack([self.model_step_points, x])
        self._set_origins([Origin(
            "model_step", predicted, "local_quadratic", np.vstack([self.best[0], x]),
            restart=self.n_restarts, source="quadratic model step",
        )])
        return x

    def _add_stage(self, lo: np.ndarray, hi: np.ndarray, child: SparseGridSearch,
                   restart: bool) -> None:
        """Append a zoom stage or global restart (with the bookkeeping of its origins)."""
        self._stage_base.append(self.n_searches)
        child._spends_rest = False  # the stage ends with its grid; the run spends the rest
        self.zoom_stages.append((lo, hi, child))
        self._child_maps.append([])
        self._stage_restart.append(restart)

    def _stage_origin(self, origin: Origin) -> Origin:
        """An origin from the running stage, seen from this search: told indices, unit cube
        (box and path), stage number and restarts of this search."""
        s = len(self.zoom_stages)
        lo, hi, _ = self.zoom_stages[-1]
        w = hi - lo
        whole = not np.any(lo) and np.all(hi == 1.0)
        box = origin.box
        if box is not None or not whole:
            box = np.vstack([lo, hi]) if box is None else lo + box * w
        label = f"restart {self.n_restarts}" if self._stage_restart[-1] else f"zoom {s}"
        return origin.remapped(self._child_maps[-1]).replace(
            path=None if origin.path is None else np.clip(lo + origin.path * w, 0.0, 1.0),
            box=box,
            stage=self._stage_base[-1] + origin.stage,
            restart=self.n_restarts + origin.restart,
            source=f"{origin.source} ({label})",
        )

    def _start_zoom_stage(self) -> None:
        s = len(self.zoom_stages) + 1
        c = self.best[0]
        if self.zoom_shrink == "auto":
            h = self._auto_half_width(c, s)
        else:
            h = np.full(self.dim, 0.5 * self.zoom_shrink**s)
        if self.variant == "zoom":  # the seed's part: each box's width per dimension
            h = np.minimum(h * np.exp(self._rng.uniform(-ZOOM_JITTER, ZOOM_JITTER, self.dim)),
                           0.5)
        lo = np.clip(c - h, 0.0, 1.0 - 2.0 * h)
        hi = lo + 2.0 * h
        budget = self.zoom_budgets[s - 1] - self._steps_done
        self._steps_done, self._step_blocked = 0, False
        if s == len(self.zoom_budgets):  # the last stage takes the rest of the global budget
            budget = max(self.global_budget - self.n_told,
                         regular_grid_size(self.dim, self.initial_level) + self.n_candidates)
        centre = lo + 0.5 * (hi - lo)
        free = int(self._known_values(centre[None, :])[1][0])
        if s < len(self.zoom_budgets):  # what its grid cannot use goes to the next stage
            n0 = regular_grid_size(self.dim, self.initial_level)
            k = (budget + free - self.n_candidates - n0) // (2 * self.dim)
            budget = n0 + 2 * self.dim * max(k, 0) + self.n_candidates - free
        child = SparseGridSearch(
            self.dim, budget + free, seed=self._rng, **self._options
        )
        self._add_stage(lo, hi, child, restart=False)

    def _auto_half_width(self, c: np.ndarray, s: int) -> np.ndarray:
        """Per-dimension half-width of an automatic zoom box: the spread of the ``2 d + 1`` best
        told points around the incumbent ``c``, at most ``0.5 * 0.5**s`` and at least
        ``0.5 * 0.5**(4 s)``."""
        U, y = self.U_told, self.y_told
        finite = np.flatnonzero(np.isfinite(y))
        top = finite[np.argsort(y[finite], kind="stable")[: 2 * self.dim + 1]]
        h = np.max(np.abs(U[top] - c), axis=0)
        return np.clip(h, 0.5 * 0.5 ** (4 * s), 0.5 * 0.5**s)

    def _tell(self, U: np.ndarray, y: np.ndarray) -> None:
        if self._step_pending:  # a quadratic model step: its value is in the told data
            self._step_pending = False
            self.local.tell(float(y[0]))  # a trust-region step adapts the radius
            return
        if self._phase == "zoom":
            (V, known, new, hits), self._child_pending = self._child_pending, None
            hits = hits.copy()
            hits[new] = np.arange(self.n_told - len(U), self.n_told)
            self._child_maps[-1].extend(hits.tolist())
            known = known.copy()
            known[new] = y
            self.zoom_stages[-1][2].tell(V, known)
            return
        if self._phase != "grid":
            return
        self._batch_y.append(y)
        if self._batch is not None and sum(len(v) for v in self._batch_y) == len(self._batch):
            self.generator.tell(self._batch, np.concatenate(self._batch_y))
            self._batch, self._batch_y = None, []

    def _stop(self) -> str | None:
        return "exhausted" if self._phase == "done" else None

    # -- candidate phase -------------------------------------------------------------------
    def _start_candidates(self) -> None:
        self._phase = "candidates"
        slots = self.stage0_budget - self.n_told if self.optimizer != "none" else 0
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
            self._queue = self._find_candidates(slots)
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

    def _find_candidates(self, slots: int) -> list[Candidate]:
        return find_candidates(self, slots)


def _reserved_evaluations(optimizer: str, multistart: bool, n_candidates: Any) -> int:
    """Evaluations kept back for surrogate candidates, the one rule behind both
    :meth:`SparseGridSearch.min_budget` and the constructor: none with ``optimizer="none"``
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


def _check_open_unit(value: Any, name: str) -> float:
    """``value`` as a float in the open interval (0, 1), else a ``ValueError`` naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a float in (0, 1), got {name}={value!r}") from None
    if isinstance(value, bool) or not 0.0 < v < 1.0:
        raise ValueError(f"`{name}` must be in (0, 1), got {name}={value!r}")
    return v
