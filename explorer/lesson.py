"""Lesson mode: a short sequence of scenes that tells the thesis' story in the explorer.

Each :class:`Scene` is a preset of the session's run-defining controls
(:data:`explorer.model.CONTROLS`) plus a caption of two or three sentences that says what to look
at. Where a caption cites a number, the number is computed from the run the page shows (its
:class:`~explorer.engine.RunRecord`), the race beside it or the γ strip: the caption functions
here are pure functions of that data, so they are tested without a browser or a server.

The story, in the order of the thesis' slides (:data:`SCENES`): grid against random search, the
sparse grid and its Novak-Ritter refinement criterion, the adaptivity γ at 0, 0.5 and 1, the
surrogate and the optimizers run on it, the race of all methods at the same budget, a neural
network trained live, and adaptive random search.

A scene is a link: ``?scene=gamma`` opens it, ``?scene=gamma&controls=minimal`` also hides the
controls the scene does not need (``Scene.needs``). Captions are plain text here; the page
escapes them (:mod:`explorer.views.lesson`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "HIDEABLE",
    "NEAR_BEST",
    "NO_SCENE",
    "SCENES",
    "Scene",
    "caption",
    "distinct_values",
    "grid_points_per_axis",
    "near_best_count",
    "scene_keys",
    "scene_menu",
    "scene_settings",
    "selections",
]

#: Sidebar controls that ``controls=minimal`` may hide (session parameter names; the player's
#: buttons and history slider always stay).
HIDEABLE = ("objective", "method", "variant", "gamma", "budget", "optimizer", "degree",
            "initial_level", "seed", "speed", "x_dim", "y_dim", "color_by", "log_color",
            "show_error", "loop")

#: Radius (Euclidean distance in the unit cube) within which a point counts as near the best
#: point in the γ scene's caption.
NEAR_BEST = 0.1


@dataclass(frozen=True)
class Scene:
    """One scene of the lesson.

    Attributes
    ----------
    key : str
        Its name in links (``?scene=<key>``).
    title : str
    settings : dict
        Session controls the scene sets; run-defining controls not named here are set to the
        session's defaults, so a scene always shows the same run.
    needs : tuple of str
        The controls a reader of this scene may want to move (shown with ``controls=minimal``).
    text : callable
        ``text(run, race, strip) -> str``: the caption (plain text, not escaped).
    """

    key: str
    title: str
    settings: Mapping[str, Any]
    needs: tuple[str, ...]
    text: Callable[..., str] = field(repr=False)


# -- numbers the captions cite --------------------------------------------------------------------
def _points(run: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unit-cube points and values of every evaluation the run has recorded."""
    if run is None or not run.n_frames:
        return np.zeros((0, 0)), np.zeros(0)
    n = run.n
    return np.asarray(run.U[:n]), np.asarray(run.y[:n])


def near_best_count(U: np.ndarray, y: np.ndarray, radius: float = NEAR_BEST) -> tuple[int, int]:
    """``(k, n)``: how many of the ``n`` points lie within ``radius`` (unit-cube distance) of
    the point with the lowest finite value, that point included (``(0, n)`` if none is finite).
    """
    U = np.asarray(U, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    finite = np.isfinite(y)
    if not finite.any():
        return 0, n
    best = int(np.argmin(np.where(finite, y, np.inf)))
    dist = np.linalg.norm(U - U[best], axis=1)
    return int(np.count_nonzero(dist <= radius)), n


def distinct_values(U: np.ndarray) -> list[int]:
    """Distinct coordinates per dimension (rounded to 12 decimals)."""
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2 or not len(U):
        return []
    return [len(np.unique(np.round(U[:, t], 12))) for t in range(U.shape[1])]


def grid_points_per_axis(budget: int, dim: int) -> int:
    """Points per axis of the largest full grid within ``budget`` evaluations in ``dim``-D."""
    k = max(int(math.floor(budget ** (1.0 / dim) + 1e-9)), 1)
    while (k + 1) ** dim <= budget:
        k += 1
    return k


def _fmt(v: float) -> str:
    return "failed" if v is None or not np.isfinite(v) else f"{v:.4g}"


def _config_text(config: Mapping[str, Any] | None) -> str:
    if not config:
        return ""
    return ", ".join(f"{k} = {_fmt(v) if isinstance(v, float) else v}" for k, v in config.items())


def _race_values(race: Mapping[str, Any] | None) -> dict[str, float]:
    """method -> best value of the finished race results (texts and errors left out)."""
    out = {}
    for method, res in (race or {}).items():
        value = getattr(res, "best_value", None)
        if value is not None and getattr(res, "error", None) is None and np.isfinite(value):
            out[method] = float(value)
    return out


def _title(method: str) -> str:
    from core.strategies import STRATEGIES

    cls = STRATEGIES.get(method)
    return cls.title if cls is not None else method


def _origin_kinds(run: Any) -> list[str]:
    kinds = []
    if run is None:
        return kinds
    for batch in run.batches:
        for ev in batch.evaluations:
            kinds.append(ev.origin.kind if ev.origin is not None else "sample")
    return kinds


def selections(run: Any) -> int:
    """Selections (refinements) behind the run's frames: a batch shown in several frames (one
    point at a time, or as live workers finish) shares one."""
    if run is None:
        return 0
    return len({id(f.refinement) for f in run.frames if f.refinement is not None})


def _waiting(run: Any) -> str:
    return "The run has no evaluations yet: press Play (space) or Step (s)."


# -- captions -------------------------------------------------------------------------------------
def grid_vs_random_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    counts = distinct_values(U)
    per_axis = grid_points_per_axis(run.budget, run.d)
    names = list(run.space.names)
    tried = " and ".join(f"{c} values of {n}" for c, n in zip(counts, names, strict=True))
    text = (f"Look at the dots: random search tried {tried} with its {len(y)} points, while "
            f"a full grid within the same budget of {run.budget} tries only {per_axis} values "
            "of each.")
    values = _race_values(race)
    if "grid" in values and run.key.method in ("random",) and run.frames:
        text += (f" That is why random search's best, {_fmt(run.frames[-1].best_value)}, "
                 f"compares with grid search's {_fmt(values['grid'])} in the race.")
    return text + " Important hyperparameters get more distinct trials."


def sparse_grid_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    refinements = selections(run)
    grid = np.asarray(run.level_sum[: run.n])
    grid = grid[grid > 0]
    deepest = int(grid.max()) if grid.size else 0
    return (
        "The sparse grid starts from its centre point and refines one point per step: the one "
        "with the smallest (r + 1)^(1−γ) · (|l|₁ + d + 1)^γ, where r ranks its value and d "
        "counts its refinements (the inspector below shows every candidate's score). "
        f"This run made {refinements} refinements with {len(y)} points; its finest point has "
        f"level sum |l|₁ = {deepest}."
    )


def gamma_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    k, n = near_best_count(U, y)
    gamma = run.key.option("gamma")
    g = "γ" if gamma is None else f"γ = {float(gamma):g}"
    text = (f"{g} spends {k} of {n} points within {NEAR_BEST:g} (unit-cube distance) of the "
            "best point.")
    if strip:
        parts = []
        for gm in sorted(strip):
            Us, ys = strip[gm][0], strip[gm][1]
            ks, ns = near_best_count(Us, ys)
            parts.append(f"γ = {gm:g}: {ks} of {ns}")
        text += " The γ strip below, same budget: " + ", ".join(parts) + "."
    return text + " γ = 0 refines greedily around the best point; γ = 1 fills the space by level."


def surrogate_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    from explorer.engine import ROLE_CANDIDATE, ROLE_GRID

    n = run.n
    roles = np.asarray(run.role[:n])
    grid_y = y[roles == ROLE_GRID]
    grid_best = float(np.nanmin(grid_y)) if np.isfinite(grid_y).any() else math.nan
    text = ("The sparse-grid surrogate plot shows the B-spline surrogate fitted to the "
            f"{int(np.count_nonzero(roles == ROLE_GRID))} grid points (same colours as the "
            "truth).")
    cand = np.flatnonzero(roles == ROLE_CANDIDATE)
    opt = run.key.option("optimizer")
    if cand.size and opt not in (None, "none"):
        from explorer.objectives import optimizer_titles

        name = optimizer_titles().get(opt, opt)
        i = int(cand[np.argmin(np.where(np.isfinite(y[cand]), y[cand], np.inf))])
        found = (f"{name} found {cand.size} minima of the surrogate; the best, predicted "
                 if cand.size > 1 else f"{name} found the surrogate's minimum, predicted ")
        text += (f" {found}{_fmt(run.predicted[i])}, is {_fmt(y[i])} in truth, against "
                 f"{_fmt(grid_best)} at the best grid point (◇ in the plots).")
    else:
        text += (f" The best grid point has {_fmt(grid_best)}; choose a surrogate optimizer to "
                 "check the surrogate's minimum with the true objective.")
    return text


def race_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    from explorer.background import entry_of
    from explorer.views.tables import entry_title

    values = _race_values(race)
    shown = entry_of(run.key.method, run.key.option("variant"))
    if run.frames:  # the shown run, as far as it got, in place of its race entry
        values[shown] = float(run.frames[-1].best_value)
    text = (f"The convergence race compares every method at the same budget of {run.budget} "
            "evaluations: the best value found so far against evaluations spent.")
    if len(values) < 2:
        return text + " The other methods are still computing."
    ranked = sorted(values.items(), key=lambda kv: kv[1])
    listed = ", ".join(f"{entry_title(m)}{' (shown)' if m == shown else ''} {_fmt(v)}"
                       for m, v in ranked)
    return text + f" Best values, lowest first: {listed}."


def neural_network_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    metric = getattr(getattr(run, "objective", None), "metric", "loss")
    head = ("Each point trains a small network live on this machine, so the run goes as fast as "
            "the trainings do.")
    if not len(y):
        return head + " No training has finished yet: press Play (space) or Step (s)."
    done = int(np.count_nonzero(np.isfinite(y)))
    f = run.frames[-1]
    best = run.best_config()
    return (f"{head} {done} of {run.budget} trainings finished so far; the best {metric} is "
            f"{_fmt(f.best_value)} at {_config_text(best)}.")


def adaptive_random_text(run: Any, race: Any = None, strip: Any = None) -> str:
    U, y = _points(run)
    if not len(y):
        return _waiting(run)
    kinds = _origin_kinds(run)
    around = kinds.count("neighbourhood")
    chosen = selections(run)
    random_pts = len(kinds) - around
    k, n = near_best_count(U, y)
    return (
        f"Adaptive random search starts with {random_pts} random points, then repeatedly picks "
        "a point by the same criterion as the sparse grid and draws new points around it. "
        f"This run drew {around} of its {n} points around {chosen} selected points; {k} "
        f"lie within {NEAR_BEST:g} of the best point."
    )


#: The lesson, in the order of the story.
SCENES: tuple[Scene, ...] = (
    Scene("grid_random", "1 · Grid search or random search?",
          {"objective": "rosenbrock", "method": "random", "budget": 49},
          ("method", "budget", "seed"), grid_vs_random_text),
    Scene("sparse_grid", "2 · Sparse grids and the Novak-Ritter criterion",
          {"objective": "rosenbrock", "method": "sparse_grid", "budget": 60},
          ("gamma", "budget", "initial_level"), sparse_grid_text),
    Scene("gamma", "3 · Adaptivity γ = 0, 0.5, 1",
          {"objective": "rosenbrock", "method": "sparse_grid", "gamma": 0.0, "budget": 50},
          ("gamma", "budget"), gamma_text),
    Scene("surrogate", "4 · The surrogate and its optimizers",
          {"objective": "himmelblau", "method": "sparse_grid", "budget": 100,
           "optimizer": "nelder_mead"},
          ("optimizer", "degree", "budget"), surrogate_text),
    Scene("race", "5 · The race: every method, the same budget",
          {"objective": "himmelblau", "method": "sparse_grid", "budget": 100,
           "optimizer": "gradient_descent"},
          ("objective", "method", "budget", "seed"), race_text),
    Scene("neural_network", "6 · A neural network, trained live",
          {"objective": "mlp_regression_2d", "method": "sparse_grid", "budget": 20},
          ("gamma", "budget"), neural_network_text),
    Scene("adaptive_random", "7 · Adaptive random search",
          {"objective": "rosenbrock", "method": "adaptive_random", "gamma": 0.5,
           "budget": 100},
          ("variant", "gamma", "budget", "seed"), adaptive_random_text),
)

_BY_KEY = {s.key: s for s in SCENES}


def scene_keys() -> list[str]:
    return [s.key for s in SCENES]


#: The scene menu's entry for no scene (free exploration).
NO_SCENE = "— no scene (explore freely)"


def scene_menu() -> dict[str, str]:
    """Menu label -> scene key, no scene (``""``) first."""
    return {NO_SCENE: "", **{s.title: s.key for s in SCENES}}


def get_scene(key: str) -> Scene:
    if key not in _BY_KEY:
        raise ValueError(f"`scene` must be one of {', '.join(_BY_KEY)}, got {key!r:.40}")
    return _BY_KEY[key]


def scene_settings(key: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The session values scene ``key`` sets: its settings over ``defaults`` (the session's
    run-defining controls at their default values; ``variant`` is left to the method)."""
    from explorer.model import CONTROLS

    scene = get_scene(key)
    base = {k: defaults[k] for k in CONTROLS if k in defaults and k != "variant"}
    return base | dict(scene.settings)


def caption(key: str, run: Any, race: Any = None, strip: Any = None) -> str:
    """Scene ``key``'s caption for ``run`` (plain text; escape before HTML)."""
    return get_scene(key).text(run, race, strip)
