"""``method="sparse_grid"``: sparse grid search composed with zoom stages and a local phase.

:class:`ComposedSparseGrid` is what the registry builds for ``"sparse_grid"``, from one set of
keyword options::

    TrustRegionRestarts(                      # local phase, global restarts, rest of budget
        global_search=ZoomSearch(             # stage 0, zoom stages, quadratic model steps
            grid=SparseGridSearch(...)))      # one grid and its surrogate's optima

- ``variant="zoom"`` (the default): all three layers. The local phase runs by default
  (``local_search=None``) when the first global search, ``local_fraction`` of the budget,
  holds ``LOCAL_MIN_MODELS`` quadratic models' worth of evaluations (``round(0.3 B) >=
  (d + 1)(d + 2)``: B >= 39 in 2-D, 139 in 5-D, 439 in 10-D); without it the zoom stages get
  the whole budget and model steps follow. Budget no phase can use goes to trust-region
  steps, so a run spends ``n_evals``.
- ``local_model="cobyla"`` (opt-in): the local phase is scipy's COBYLA, a trust region on
  linear models (:class:`~core.strategies._cobyla.CobylaSteps`), from the incumbent of a first
  global search of half the budget, with the same global restarts. It needs ``d + 1`` points
  where the quadratic needs ``(d + 1)(d + 2) / 2 + 1``, so it runs at any budget; on BBOB it
  leads where the budget per dimension is small (docs/decisions.md, "A linear-model local
  phase").
- ``variant="thesis"``: the thesis' method, unchanged: one :class:`SparseGridSearch`
  (``zoom=0``, no model steps, no local phase), ending with its surrogate's optima.

Each layer's options are validated when the strategy is built, before the first evaluation.
Why each phase is there: docs/decisions.md, "Sparse grid search's default: measurements
behind each phase".
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from core._validation import check_int
from core.strategies._trust_region import (
    LOCAL_MODELS,
    TrustRegionRestarts,
    check_local_model,
    model_size,
)
from core.strategies.sparse_grid import VARIANTS, SparseGridSearch, _check_bool, grid_defaults
from core.strategies.zoom import ZoomSearch, check_open_unit, check_zoom_options

__all__ = ["ComposedSparseGrid", "VARIANTS", "variant_defaults", "LOCAL_MIN_MODELS",
           "LOCAL_MIN_RADIUS"]

#: The local phase runs by default (``local_search=None``) only when the first global search
#: (``local_fraction`` of the budget) holds this many quadratic models' worth of evaluations
#: (``LOCAL_MIN_MODELS * (d + 1)(d + 2) / 2``): with fewer, the global search has not yet found
#: the basin worth a local search.
LOCAL_MIN_MODELS = 2
#: Share of the budget for the first global search before a COBYLA local phase: on BBOB's
#: tuning instances the grid-then-COBYLA hybrid with half the budget for the grid won more cells
#: (or lost fewer) against both the default and NGOpt than the one with 30 %, in 2, 5 and
#: 10-D at 20 d and 50 d (``benchmarks/results/bbob_study.md``; compared through those counts,
#: not head to head).
COBYLA_LOCAL_FRACTION = 0.5
#: Radius (unit-cube units) below which a trust region has converged.
LOCAL_MIN_RADIUS = 1e-6


def variant_defaults(variant: Any) -> dict[str, Any]:
    """Defaults of the options that depend on the variant (``ValueError`` for an unknown one)."""
    grid = grid_defaults(variant)
    if variant == "thesis":
        return dict(grid, zoom=0, zoom_fraction=0.4, zoom_shrink=0.25, model_steps=0,
                    local_search=False, local_fraction=0.3)
    return dict(grid, zoom=4, zoom_fraction=0.4, zoom_shrink="auto", model_steps=6,
                local_search=None, local_fraction=0.3)


class ComposedSparseGrid(TrustRegionRestarts):
    """Sparse grid search as the registry runs it (module docstring).

    Parameters
    ----------
    dim, n_evals : int
        Dimension and budget (at least the initial grid plus the reserved candidates).
    gamma, initial_level, degree, ranking, optimizer, multistart, n_candidates, max_level, \
optimizer_options, candidate_box, coarse_candidates, variant
        Options of every :class:`~core.strategies.sparse_grid.SparseGridSearch` of the run (the
        defaults of ``optimizer`` and ``multistart`` follow ``variant``).
    zoom, zoom_fraction, zoom_shrink, model_steps : default None
        Options of the :class:`~core.strategies.zoom.ZoomSearch` of every global search.
        ``None``: 4 zoom stages (0 with ``optimizer="none"``), share 0.4, ``"auto"`` boxes and 6
        model steps for the zoom variant; 0 stages (shrink 0.25) and no model steps for the
        thesis variant.
    local_search : bool or None, default None
        The local phase and global restarts
        (:class:`~core.strategies._trust_region.TrustRegionRestarts`). ``None``: for the zoom
        variant, when ``round(local_fraction * n_evals) >= 2 (d + 1)(d + 2) / 2``; False for
        the thesis variant. Must be False with ``optimizer="none"``.
    local_fraction : float in (0, 1) or None, default None
        Share of the budget for the first global search when the local phase runs (0.3; 0.5
        with ``local_model="cobyla"``).
    local_model : {"quadratic", "cobyla"}, default "quadratic"
        The local phase's model: least-squares quadratics in a trust region, or scipy's COBYLA
        (linear models; then ``local_search=None`` means on, at any budget, and with
        ``local_search=False`` the budget the zoom stages leave goes to COBYLA steps). Not with
        the thesis variant or ``optimizer="none"``.
    seed : int, numpy Generator or None
        One seed gives one run: the zoom variant's box widths, geometry steps and random points
        and the randomized surrogate optimizers.

    Attributes
    ----------
    first_search : ZoomSearch
        The first global search (:attr:`stage0` is its stage 0).
    global_budget : int
        Planned evaluations of the first global search.
    """

    name = "sparse_grid"
    title = "Sparse grid"
    summary = (
        "Novak-Ritter grid and its B-spline surrogate's optima in zoom stages around the "
        "incumbent with quadratic model steps between, then (budget allowing) a quadratic "
        "trust region with global restarts (local_model='cobyla': scipy's COBYLA instead); "
        "variant='thesis': one grid, surrogate optima at the end"
    )
    has_model: ClassVar[bool] = True
    option_choices: ClassVar[dict[str, dict[str, str]]] = {
        **SparseGridSearch.option_choices,
        "variant": {
            "zoom": "zoom stages re-centred on the incumbent; with enough budget, a local "
            "trust-region phase and global restarts",
            "thesis": SparseGridSearch.option_choices["variant"]["thesis"],
        },
        "local_model": dict(LOCAL_MODELS),
    }
    min_budget = SparseGridSearch.min_budget
    budget_rule = SparseGridSearch.budget_rule

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
        local_model: str = "quadratic",
        variant: str = "zoom",
        seed: Any = None,
    ) -> None:
        dim, n_evals = check_int(dim, "dim", low=1), check_int(n_evals, "n_evals", low=1)
        defaults = variant_defaults(variant)
        self.variant = variant
        optimizer = defaults["optimizer"] if optimizer is None else optimizer
        multistart = defaults["multistart"] if multistart is None else multistart
        #: Options of every sparse grid search of the run.
        self.grid_options = dict(
            gamma=gamma, initial_level=initial_level, degree=degree, ranking=ranking,
            optimizer=optimizer, multistart=multistart, n_candidates=n_candidates,
            max_level=max_level, optimizer_options=optimizer_options,
            candidate_box=candidate_box, coarse_candidates=coarse_candidates, variant=variant,
        )
        if zoom is None:  # pure grid search (optimizer "none") has no zoom stages
            zoom = 0 if optimizer == "none" else defaults["zoom"]
        self.zoom, self.zoom_fraction, self.zoom_shrink, self.model_steps = check_zoom_options(
            zoom, defaults["zoom_fraction"] if zoom_fraction is None else zoom_fraction,
            defaults["zoom_shrink"] if zoom_shrink is None else zoom_shrink,
            defaults["model_steps"] if model_steps is None else model_steps,
        )  # the run reads them before its first ZoomSearch (which checks them again) is built
        self.local_model = check_local_model(local_model)
        if local_model == "cobyla" and (variant == "thesis" or optimizer == "none"):
            which = "variant='thesis'" if variant == "thesis" else "optimizer='none'"
            raise ValueError(f"`local_model` must be 'quadratic' with {which}, got "
                             f"local_model={local_model!r}")
        if local_fraction is None:
            local_fraction = (COBYLA_LOCAL_FRACTION if local_model == "cobyla"
                              else defaults["local_fraction"])
        self.local_fraction = check_open_unit(local_fraction, "local_fraction")
        if local_search is None:
            local_search = defaults["local_search"]
        if local_search is not None:
            local_search = _check_bool(local_search, "local_search")
        if local_search and optimizer == "none":
            raise ValueError(
                f"`local_search` must be False with optimizer='none', got {local_search!r}"
            )
        if local_search is None:  # automatic: when the budget holds a few quadratic models
            first = round(self.local_fraction * n_evals)
            local_search = optimizer != "none" and (
                local_model == "cobyla" or first >= LOCAL_MIN_MODELS * model_size(dim))
        first_global = None
        if local_search:
            minimum = SparseGridSearch._accepted_budget(dim, **self.grid_options)
            first_global = min(n_evals, max(int(round(self.local_fraction * n_evals)), minimum))
        zooming = variant == "zoom" and optimizer != "none"
        super().__init__(
            dim, n_evals, global_search=self._global_search_of, first_global=first_global,
            final_model_steps=optimizer != "none" and self.model_steps > 0 and not local_search,
            spend_rest=zooming, min_radius=LOCAL_MIN_RADIUS, local_model=local_model,
            seed=seed,
        )
        for name in ("optimizer", "multistart", "n_candidates", "gamma", "degree",
                     "initial_level", "optimizer_options", "candidate_box",
                     "coarse_candidates"):  # the grid's checked options, seen from the run
            setattr(self, name, getattr(self.stage0, name))

    def _global_search_of(self, n_evals: int, planned: int | None) -> ZoomSearch:
        """A global search: the first one (planned for ``planned`` evaluations; the run's next
        phase follows it) or a restart (``planned=None``: its whole budget, ending with model
        steps)."""
        variant_steps = variant_defaults(self.variant)["model_steps"]
        return ZoomSearch(
            self.dim, n_evals, grid_options=self.grid_options, zoom=self.zoom,
            zoom_fraction=self.zoom_fraction, zoom_shrink=self.zoom_shrink,
            model_steps=self.model_steps, jitter=self.variant == "zoom",
            stage_model_steps=variant_steps > 0,
            final_model_steps=planned is None and self.model_steps > 0,
            planned=planned, seed=self._rng,
        )

    # -- what the layers hold, seen from the run --------------------------------------------
    @property
    def stage0(self) -> SparseGridSearch:
        """The first global search's stage 0 (the grid on the whole cube)."""
        return self.first_search.stage0

    @property
    def generator(self) -> Any:
        return self.stage0.generator

    @property
    def surrogate(self) -> Any:
        return self.stage0.surrogate

    @property
    def candidates(self) -> list[Any]:
        return self.stage0.candidates

    @property
    def zoom_budgets(self) -> list[int]:
        return self.first_search.zoom_budgets

    @property
    def stage0_budget(self) -> int:
        return self.first_search.stage0_budget

    @property
    def zoom_stages(self) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """The first global search's zoom stages, then the global restarts (box ``[0, 1]^d``)."""
        return self.first_search.zoom_stages + self.stages[1:]

    @property
    def all_candidates(self) -> list[Any]:
        """Every surrogate candidate (zoom stages' and restarts' mapped to the cube, their
        source marked ``" (zoom s)"``, ``s`` counted over :attr:`zoom_stages`), then the local
        steps."""
        out = self.first_search.all_candidates
        for s, (lo, hi, child) in enumerate(self.stages[1:],
                                            start=len(self.first_search.zoom_stages) + 1):
            out += [c.mapped(lo, hi, f"{c.source} (zoom {s})") for c in child.all_candidates]
        return out + self.local_steps

    @property
    def phase(self) -> str:
        """``"grid"`` and ``"candidates"`` (stage 0), ``"zoom"`` (zoom stages, model steps,
        restarts), ``"local"`` (trust-region steps) or ``"done"``."""
        if self._pending is None and (self.stop_reason is not None or self.remaining == 0):
            return "done"
        if len(self.stages) == 1 and self.first_search.stop_reason is None:
            return self.first_search.phase
        if len(self.stages) > 1 and self.running is not None:
            return "zoom"
        if not self.local_search and not self.spend_rest:
            return "done"
        return "local"
