"""The race and the γ strip of a session: requested from the race service, polled each tick.

For cheap objectives every other registered method runs in the background process at the same
budget (the convergence race and the results table); the γ strip computes sparse grids at three
γ on the objective (or on a training's stored landscape). For live runs, this session's finished
runs of the same experiment are the race.
"""

from __future__ import annotations

from typing import Any

from explorer.engine import (
    RaceResult,
    RunKey,
    gamma_strip,
    landscape_objective,
    race_result,
    summarize,
)
from explorer.model import Session
from explorer.objectives import is_cheap, method_variants, variant_defaults

__all__ = ["Background", "RACED_VARIANTS", "STRIP_GAMMAS", "entry_key",
           "entry_of", "not_raced", "race_entries"]

#: γ values of the γ strip.
STRIP_GAMMAS = (0.0, 0.5, 1.0)


#: Methods each of whose variants is an entry of the race (``"method:variant"``): the sparse
#: grid of the thesis and the project's default run side by side.
RACED_VARIANTS: tuple[str, ...] = ("sparse_grid",)


def race_entries() -> dict[str, tuple[str, str | None]]:
    """Entry name -> (method, variant) of every run in the race, in registry order."""
    from core.strategies import STRATEGIES

    out: dict[str, tuple[str, str | None]] = {}
    for method in STRATEGIES:
        names = method_variants(method)[0] if method in RACED_VARIANTS else []
        for variant in names:
            out[f"{method}:{variant}"] = (method, variant)
        if not names:
            out[method] = (method, None)
    return out


def entry_of(method: str, variant: str | None) -> str:
    """The race entry of a run of ``method`` with ``variant``."""
    return f"{method}:{variant}" if method in RACED_VARIANTS and variant else method


def entry_key(session: Session, entry: str, raced: bool = False) -> RunKey:
    """The run of race ``entry`` with the session's controls. The chosen method's run is the
    animated one (``raced``: the run the race would make of it instead); another variant
    takes the session's options with its own variant, and the strategy's default variant
    takes core's values of the options its variant sets (the project's default run, e.g. the
    sparse grid's surrogate optimizer): the same key as a session that chose that variant
    (:meth:`explorer.model.Session._follow_variant`), so playing it plays the raced run."""
    from core.strategies import strategy_options

    method, variant = race_entries()[entry]
    if variant is None or (entry == entry_of(session.method, session.variant) and not raced):
        return session.run_key(method)
    opts = dict(session.strategy_options(method), variant=variant)
    if variant == strategy_options(method).get("variant"):
        own = variant_defaults(method, variant)
        opts |= {k: v for k, v in own.items() if k in opts}
    s = session
    return RunKey(s.objective, method, int(s.budget), int(s.seed), tuple(sorted(opts.items())))


def not_raced(method: str, budget: int) -> str:
    """Why ``method`` is not raced at ``budget`` (``""`` if it is)."""
    from core.strategies import STRATEGIES

    limit = STRATEGIES[method].max_interactive_budget  # its cost grows too fast above
    if limit is not None and budget > limit:
        return f"not raced above {limit} evaluations"
    return ""


class Background:
    """Race and γ strip requests of one session (module docstring)."""

    def __init__(self, session: Session, services: Any, enabled: bool = True) -> None:
        self.session = session
        self.services = services
        self.race_enabled = enabled
        self._race_keys: dict[str, Any] = {}
        self._strip_key: Any = None
        self._strip_args: tuple = ()
        self._session_runs: dict[Any, dict[str, RaceResult]] = {}
        self.remembered = False

    def release(self) -> None:
        for k in self._race_keys.values():
            self.services.races.release(k)
        self._race_keys = {}
        if self._strip_key is not None:
            self.services.races.release(self._strip_key)
            self._strip_key = None

    def request(self, objective: Any) -> None:
        from core.strategies import STRATEGIES

        self.release()
        s = self.session
        race: dict[str, Any] = {}
        shown = entry_of(s.method, s.variant)
        if self.race_enabled and is_cheap(objective):
            d = objective.space.dim
            for entry, (method, _) in race_entries().items():
                if entry == shown:
                    continue
                key = entry_key(s, entry)
                if int(s.budget) < STRATEGIES[method].min_budget(d, **key.strategy_options):
                    race[entry] = "budget too small"
                    continue
                skip = not_raced(method, int(s.budget))
                if skip:
                    race[entry] = skip
                    continue
                mkey = ("race", key)
                self._race_keys[entry] = mkey
                self.services.races.hold(mkey)
        elif not is_cheap(objective):  # live runs: this session's finished runs are the race
            for entry, res in self._session_runs.get(self._session_key(), {}).items():
                if entry != shown:
                    race[entry] = res
        note = ""
        cheap = objective if is_cheap(objective) else landscape_objective(
            objective, self.services.landscapes)
        if self.race_enabled and cheap is not None and "sparse_grid" in STRATEGIES:
            opts = s.strategy_options("sparse_grid")
            self._strip_key = ("strip", s.objective, int(s.budget), tuple(sorted(opts.items())))
            self.services.races.hold(self._strip_key)
            self._strip_args = (cheap, int(s.budget), opts, STRIP_GAMMAS)
            if not is_cheap(objective):
                note = "Grids computed on the stored landscape of this training."
        elif self.race_enabled:
            note = ("The γ strip needs a test function or a 2-D training with a stored "
                    "landscape (three more runs of trainings would take minutes).")
        s.param.update(race=race, strip_note=note)

    def _session_key(self) -> tuple:
        s = self.session
        return (s.objective, int(s.budget), int(s.seed))

    def remember(self, run: Any, live: bool) -> None:
        """A finished live run joins this session's race for the same experiment."""
        if (not live or run is None or not run.done or run.error or self.remembered
                or run.stop_reason == "stopped" or run.n == 0):
            return
        self.remembered = True
        entry = entry_of(run.key.method, run.key.strategy_options.get("variant"))
        self._session_runs.setdefault(self._session_key(), {})[entry] = summarize(run)

    def poll(self) -> dict[str, Any]:
        s = self.session
        update: dict[str, Any] = {}
        races = self.services.races
        if self._strip_key is not None and s.strip is None:
            res = races.get(self._strip_key, gamma_strip, *self._strip_args)
            if isinstance(res, BaseException):
                update["strip_note"] = f"Not available: {type(res).__name__}: {res}"
                races.release(self._strip_key)
                self._strip_key = None
            elif res is not None:
                update["strip"] = res
        race = None
        for entry, mkey in self._race_keys.items():
            if entry in s.race:
                continue
            res = races.get(mkey, race_result, mkey[1], s.objective_obj)
            if res is None:
                continue
            race = dict(s.race) if race is None else race
            if isinstance(res, BaseException):
                first = (str(res).strip().splitlines() or [""])[0][:120]
                race[entry] = f"failed: {type(res).__name__}: {first}"
            else:
                race[entry] = res
        if race is not None:
            update["race"] = race
        return update
