"""One explorer session: the model, the runs and the Bokeh views, glued together.

:class:`Explorer` owns an :class:`~explorer.state.ExperimentConfig`, :class:`ViewOptions` and
:class:`Playback`, the current run (:mod:`explorer.engine`) and the views (:mod:`explorer.views`).
It never blocks: work happens in worker threads and the background pool, and :meth:`tick`,
called by a periodic callback on the session's event loop, moves the player and pushes only
what changed into the Bokeh sources (new points by ``stream``).

Nothing here imports Panel: tests drive a session by setting parameters and calling
:meth:`tick`, then read the Bokeh sources. :mod:`explorer.app` adds widgets, layout and the
periodic callback.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from typing import Any

import numpy as np
import param
from bokeh.models import ColumnDataSource, CustomJS, Div

from core.grid import regular_grid_size
from explorer import engine
from explorer.engine import (
    MODEL_RESOLUTION,
    ROLE_CANDIDATE,
    RaceResult,
    RaceService,
    RunData,
    RunStore,
    RunWorker,
    axis_spec,
    gamma_strip,
    landscape_objective,
    race_result,
    summarize,
    truth_slice,
)
from explorer.state import METHOD_TITLES, ExperimentConfig, Playback, ViewOptions
from explorer.views.convergence import ConvergenceView
from explorer.views.landscape import ColorScale, LandscapeView
from explorer.views.learning import LearningCurveView
from explorer.views.strip import STRIP_GAMMAS, GammaStripView
from explorer.views.tables import (
    inspector_html,
    make_div,
    results_html,
    set_html,
    status_html,
)

__all__ = ["Explorer", "SHARED_RACES", "SHARED_RUNS"]

#: Server-wide caches shared by every session (cheap runs, races, gamma strips).
SHARED_RUNS = RunStore()
SHARED_RACES = RaceService()

_MARKERS = {0: "circle", 1: "circle", 2: "diamond"}
#: Bayesian optimization is left out of the precomputed race above this budget (a GP fit per
#: evaluation makes it minutes of background work).
BO_RACE_MAX_BUDGET = 300
#: While playing, the slow views (inspector, gamma strip, learning curve) update at most this
#: often (seconds).
SLOW_VIEW_PERIOD = 0.5
#: While playing, the convergence plot follows at most this often (seconds): every repaint of a
#: plot with a log axis costs the page several ms.
CONVERGENCE_PERIOD = 0.2
#: How long a restart waits for the first frame of a cheap run (seconds).
FIRST_FRAME_WAIT = 0.03
#: Frames sent but not yet painted by the page before the player waits (flow control).
MAX_FRAMES_IN_FLIGHT = 2
_ACK_JS = """
const n = cb_obj.data.frame[0];
requestAnimationFrame(() => { ack.data = {frame: [n]}; });
"""
#: While playing, the status line changes at most this often (seconds).
STATUS_PERIOD = 0.5


def _config_text(space: Any, u: np.ndarray, digits: int = 4) -> str:
    cfg = space.from_unit(np.clip(u, 0, 1)[None, :])[0]
    return ", ".join(
        f"{k}={v:.{digits}g}" if isinstance(v, float) else f"{k}={v}" for k, v in cfg.items()
    )


class Explorer:
    """A session of the explorer (see the module docstring).

    Parameters
    ----------
    config, options, playback : optional
        The models (new ones by default).
    runs : RunStore, optional
        Where cheap runs are shared (the server-wide store by default).
    races : RaceService, optional
        Where races and gamma strips are computed and cached.
    race : bool
        Compute the other methods' runs for the convergence race and the results table.
    executor : concurrent.futures.Executor, optional
        Where live trainings run (default: the server-wide bounded process pool).
    """

    def __init__(
        self,
        config: ExperimentConfig | None = None,
        options: ViewOptions | None = None,
        playback: Playback | None = None,
        *,
        runs: RunStore | None = None,
        races: RaceService | None = None,
        race: bool = True,
        executor: Any = None,
    ) -> None:
        self.config = config or ExperimentConfig()
        self.options = options or ViewOptions()
        self.playback = playback or Playback()
        self.runs = runs or SHARED_RUNS
        self.races = races or SHARED_RACES
        self.race_enabled = race
        self._executor = executor
        #: Context manager that batches model changes into one message; the app sets it to
        #: Panel's ``hold`` for its document (here: no batching, no Panel import).
        self.batch: Any = contextlib.nullcontext
        self.landscape = LandscapeView()
        self.convergence = ConvergenceView(METHOD_TITLES, width=215, height=230)
        self.strip = GammaStripView(self.landscape.truth_image, self.landscape.mapper, size=136)
        self.learning = LearningCurveView()
        self.inspector = make_div("inspector", width=455)
        self.results = make_div("results", width=500)
        self.status = make_div("status", width=930)
        # Frame acknowledgements from the browser (flow control, see _browser_behind): after a
        # new status is painted, the page writes its frame number into `ack.tags`.
        # The frame counter: one number per rendered frame (cheap: no DOM), read by the page's
        # acknowledgement callback, the browser tests and the benchmark.
        # (Data sources, not Divs: a Div re-renders on any change, a source has no view.)
        self.frame_counter = ColumnDataSource({"frame": [0], "t": [0.0]}, name="frame-counter")
        self.ack = ColumnDataSource({"frame": [-1]}, name="frame-ack")
        self.frame_counter_holder = Div(visible=False, tags=[self.frame_counter, self.ack])
        self.frame_counter.js_on_change("data", CustomJS(args={"ack": self.ack}, code=_ACK_JS))
        self.ack.on_change("data", self._on_ack)
        self._status_at = 0.0
        self._acked = -1
        self._acked_at = 0.0
        self.strip_note = make_div("strip-note")
        self.data: RunData | None = None
        self.worker: RunWorker | None = None
        self._shared_key: Any = None
        self._live = False
        self._shown = -1
        self._acc = 0.0
        self._model_key: Any = None
        self._truth: np.ndarray | None = None
        self._truth_fixed: Any = None
        self._scale: ColorScale | None = None
        self._scale_observed = False
        self._race_keys: dict[str, Any] = {}
        self._race_done: dict[str, RaceResult | str] = {}
        self._strip_key: Any = None
        self._strip_done = False
        self._results_text = ""
        self._status_text = ""
        self._setting_step = False
        self._error = ""
        self._closed = False
        self._objective_name: str | None = None
        self._session_runs: dict[Any, dict[str, RaceResult]] = {}
        self.n_renders = 0
        self._quiet = False
        self._slow_dirty = False
        self._slow_at = 0.0
        self.frames_sent = 0  # never reset: frame-rate measurements read it from the page
        self.config.param.watch(self._on_config, list(_RUN_PARAMS))
        self.options.param.watch(self._on_dims, ["x_dim", "y_dim"])
        self.options.param.watch(self._on_display, ["color_by", "log_color", "show_error"])
        self.playback.param.watch(self._on_step, ["step"])
        self.restart()

    # ------------------------------------------------------------------------------ commands
    def play(self) -> None:
        """Animate (for live trainings: let the run evaluate freely)."""
        if self.data is not None and not self._live and self.data.done:
            if self._shown >= self.data.n_frames - 1:
                self._render(0)  # at the end: play again from the start
        self.playback.playing = True
        if self.worker is not None and self._live:
            self.worker.allow(None)

    def pause(self) -> None:
        self.playback.playing = False
        if self.worker is not None and self._live:
            self.worker.allow(0)

    def step(self) -> None:
        """One step forward (for live trainings: evaluate one more batch)."""
        self.pause()
        if self._live and self.worker is not None:
            if self.data is not None and self._shown < self.data.n_frames - 1:
                self._render(self.data.n_frames - 1)
            else:
                self.worker.allow(1)
            return
        if self.data is not None and self._shown < self.data.n_frames - 1:
            self._render(self._shown + 1)

    def reset(self) -> None:
        """Back to the start (live trainings: discard the run and start over, paused)."""
        self.pause()
        if self._live:
            self.restart()
        elif self.data is not None and self.data.n_frames:
            self._render(0)

    def seek(self, step: int) -> None:
        """Show ``step`` (clipped to the computed steps)."""
        if self.data is None or not self.data.n_frames:
            return
        self._render(int(np.clip(step, 0, self.data.n_frames - 1)))

    def close(self) -> None:
        """Stop this session's work (called when the browser tab closes)."""
        if self._closed:
            return
        self._closed = True
        self._release_run()
        for key in self._race_keys.values():
            self.races.release(key)
        self._race_keys = {}
        if self._strip_key is not None:
            self.races.release(self._strip_key)

    # ------------------------------------------------------------------------------ restart
    def restart(self) -> None:
        """Start the run the controls describe (called on every run-defining change)."""
        try:
            self._restart()
        except Exception as err:  # never leave the page broken
            self._fail(err)

    def _restart(self) -> None:
        cfg = self.config
        objective = cfg.objective_obj
        space = objective.space
        self._error = ""
        self.playback.set_outputs(message="")
        if cfg.objective != self._objective_name:
            self._objective_name = cfg.objective
            self._quiet = True
            try:
                self.options.set_dimensions(space.names)
                self.options.log_color = self._wants_log_colour(objective)
            finally:
                self._quiet = False
        key = cfg.run_key()
        self._release_run()
        problem = self._check(key, objective)
        self._live = getattr(objective, "kind", "") == "neural_network"
        self._shown = -1
        self._acc = 0.0
        self._model_key = None
        self._truth_fixed = None
        self._shown_refinement: Any = None
        self._remembered = False
        self._range_set = False
        self._conv_n = -1  # evaluations drawn in this run's convergence curve
        self._conv_at = 0.0
        self.n_renders = 0
        dims = self._dims()
        if problem:
            self.data, self.worker = None, None
        elif self._live:
            self.data = RunData(key, objective)
            self.worker = RunWorker(
                self.data, live=True, executor=self._executor or engine.training_executor(),
                dims=dims,
            ).start()
            self.worker.allow(None if self.playback.playing else 0)
        else:
            self.data, self.worker = self.runs.acquire(key, objective, dims)
            self._shared_key = key
            if not self.worker.alive:
                self.worker = self.runs.restart_slices(key) or self.worker
            # a cheap run's first batch takes about a millisecond: wait for it (briefly), so
            # the reset views and the new run's first frame reach the page in one message
            self.data.first_frame.wait(FIRST_FRAME_WAIT)
        self._configure_views(key, objective, dims)
        self._request_background(key, objective)
        with param.parameterized.discard_events(self.playback):
            self.playback.step = 0
        self.playback.set_outputs(n_steps=0, message=problem)
        self._error = problem
        self._update_status(force=True)
        self.tick(0.0)

    @staticmethod
    def _wants_log_colour(objective: Any) -> bool:
        """Log colours when a few high values would wash out the low region: the range is
        more than five times the median's height above the minimum (Rosenbrock yes, Ackley no)."""
        if getattr(objective, "kind", "") == "neural_network":
            return True  # losses of trainings span decades
        d = objective.space.dim
        Z = truth_slice(objective, (0, min(1, d - 1)), np.full(d, 0.5), 32)
        if Z is None:
            return True
        z = np.asarray(Z, dtype=np.float64)
        z = z[np.isfinite(z)]
        if z.size == 0:
            return True
        lo, med, hi = float(z.min()), float(np.median(z)), float(z.max())
        return bool(hi - lo > 5 * max(med - lo, 1e-300))

    def _check(self, key: Any, objective: Any) -> str:
        """A readable reason why this combination cannot run, or ``""``."""
        d = objective.space.dim
        if key.method == "sparse_grid":
            n0 = regular_grid_size(d, key.initial_level)
            reserve = 0 if key.optimizer == "none" else 2
            if key.budget < n0 + reserve:
                extra = f" + {reserve} surrogate-optimum checks" if reserve else ""
                return (
                    f"Budget {key.budget} is too small for initial level {key.initial_level} in "
                    f"{d}-D: the initial grid alone has {n0} points{extra}. Raise the budget "
                    "or lower the initial level."
                )
        return ""

    def _release_run(self) -> None:
        if self._live and self.worker is not None:
            self.worker.stop()
        elif self._shared_key is not None:
            self.runs.release(self._shared_key)
        self._shared_key = None
        self.worker = None

    def _dims(self) -> tuple[int, int]:
        names = list(self.config.objective_obj.space.names)
        x = names.index(self.options.x_dim) if self.options.x_dim in names else 0
        y = (names.index(self.options.y_dim) if self.options.y_dim in names
             else min(1, len(names) - 1))
        if x == y and len(names) > 1:
            y = (x + 1) % len(names)
        return x, y

    def _configure_views(self, key: Any, objective: Any, dims: tuple[int, int]) -> None:
        space = objective.space
        names = space.names
        lv = self.landscape
        xs, ys = axis_spec(space, names[dims[0]]), axis_spec(space, names[dims[1]])
        from core.space import Int

        lv.set_axes(xs, ys, isinstance(space[names[dims[0]]], Int),
                    isinstance(space[names[dims[1]]], Int))
        lv.reset_points({k: [] for k in lv.points.data})
        lv.set_markers(([], []), None, None)
        lv.set_model(None)
        model_title = {
            "sparse_grid": "Sparse-grid surrogate",
            "bayesian": "GP posterior mean",
        }.get(key.method, "Model")
        lv.set_model_title(model_title)
        self._truth = None
        self._scale = None
        self._scale_observed = False
        self._update_truth(0, force=True)
        if key.method not in ("sparse_grid", "bayesian"):
            lv.set_message(f"{METHOD_TITLES[key.method]} builds\nno model of the landscape")
        else:
            lv.set_message("")
        d = space.dim
        lv.set_color_by(self._color_by(key), (d, d + 10), key.budget)
        f_opt = getattr(objective, "f_opt", None)
        self._conv_n = -1
        self._range_set = False
        self.convergence.configure(
            key.method, key.budget, f_opt if objective.kind == "test_function" else None,
            getattr(objective, "metric", "f"),
        )
        set_html(self.inspector,
                 inspector_html(None, key.gamma, np.zeros((0, d)), np.zeros(0), names))
        self._shown_refinement = None
        self.learning.clear()
        self.strip.set_grids(None, dims, (d, d + 10))
        self._strip_done = False
        if objective.kind == "test_function":
            note = ""
        elif landscape_objective(objective) is not None:
            note = "<p class='muted'>Grids computed on the stored landscape of this training.</p>"
        else:
            note = ("<p class='muted'>The γ strip needs a test function or a 2-D training with "
                    "a stored landscape (three more runs of trainings would take minutes).</p>")
        set_html(self.strip_note, note)

    def _color_by(self, key: Any) -> str:
        return self.options.color_by if key.method == "sparse_grid" else "order"

    # ------------------------------------------------------------------------------ truth
    def _update_truth(self, step: int, force: bool = False) -> None:
        """Truth image for the shown dims, hidden dims at the best point of ``step``."""
        objective = self.config.objective_obj
        d = objective.space.dim
        fixed = self.data.fixed_point(step) if self.data is not None else np.full(d, 0.5)
        dims = self._dims()
        fkey = (dims, tuple(np.round(np.delete(fixed, list(dims)), 12)) if d > 2 else ())
        if not force and fkey == self._truth_fixed:
            return
        self._truth_fixed = fkey
        Z = truth_slice(objective, dims, fixed, MODEL_RESOLUTION)
        first = self._truth is None and Z is not None
        self._truth = Z
        self.landscape.set_truth(
            None if Z is None else self._scale_values(Z, rescale=first or force)
        )
        if Z is None:
            self.landscape.set_message(
                "No true landscape here:\neach point costs a training",
                truth=True,
            )
        else:
            self.landscape.set_message("", truth=True)

    def _scale_values(self, Z: np.ndarray, rescale: bool = False) -> np.ndarray:
        if rescale or self._scale is None:
            self._set_scale(Z)
        return self._scale(Z)

    def _observed_scale(self, y: np.ndarray) -> None:
        """Without a true landscape the colours span the values seen so far (widened, never
        narrowed, so the colours of a step do not jump back)."""
        y = np.asarray(y, dtype=np.float64)
        y = y[np.isfinite(y)]
        if not y.size:
            return
        lo, hi = float(y.min()), float(y.max())
        s = self._scale
        if s is None or not self._scale_observed or lo < s.low or hi > s.high:
            if s is not None and self._scale_observed:
                lo, hi = min(lo, s.low), max(hi, s.high)
            self._set_scale(np.array([lo, hi]))
            self._scale_observed = True

    def _set_scale(self, Z: np.ndarray) -> None:
        log = bool(self.options.log_color)
        self._scale = ColorScale.from_values(Z, log)
        span = self._scale.high - self._scale.low
        self._error_scale = ColorScale(0.0, span, log, delta=self._scale.delta)
        self.landscape.set_scale(self._scale, self._error_scale)

    # ------------------------------------------------------------------------------ background
    def _request_background(self, key: Any, objective: Any) -> None:
        for k in self._race_keys.values():
            self.races.release(k)
        self._race_keys = {}
        self._race_done = {}
        self._results_text = ""
        if self._strip_key is not None:
            self.races.release(self._strip_key)
            self._strip_key = None
        cheap = getattr(objective, "kind", "") == "test_function"
        if self.race_enabled and cheap:
            for method in ("random", "grid", "adaptive_random", "sparse_grid", "bayesian"):
                if method == key.method:
                    continue
                if method == "bayesian" and key.budget > BO_RACE_MAX_BUDGET:
                    self._race_done[method] = f"not raced above {BO_RACE_MAX_BUDGET} evaluations"
                    continue
                mkey = ("race", key.with_method(method))
                if method == "sparse_grid" and self._check(mkey[1], objective):
                    self._race_done[method] = "budget too small"
                    continue
                self._race_keys[method] = mkey
                self.races.hold(mkey)
        if not cheap:  # trainings: earlier finished runs of this session are the race
            for method, res in self._session_runs.get(self._session_key(key), {}).items():
                if method != key.method:
                    self._race_done[method] = res
                    self.convergence.set_race(method, res.n, res.best)
        if self.race_enabled and (cheap or objective.space.dim == 2):
            skey = ("strip", key.objective, key.budget, key.initial_level)
            self._strip_key = skey
            self.races.hold(skey)

    @staticmethod
    def _session_key(key: Any) -> tuple:
        return (key.objective, key.budget, key.seed)

    def _remember_live_run(self) -> None:
        """A finished training run joins this session's race for the same experiment."""
        data = self.data
        if not self._live or data is None or not data.done or data.error or self._remembered:
            return
        if data.stop_reason == "stopped" or data.n == 0:
            return
        self._remembered = True
        runs = self._session_runs.setdefault(self._session_key(data.key), {})
        runs[data.key.method] = summarize(data)

    def _poll_background(self) -> bool:
        changed = False
        self._remember_live_run()
        objective = self.config.objective_obj
        if self._strip_key is not None and not self._strip_done:
            cheap = objective if objective.kind == "test_function" else landscape_objective(
                objective
            )
            if cheap is not None:
                res = self.races.get(
                    self._strip_key, gamma_strip, cheap, self.config.budget,
                    self.config.initial_level, STRIP_GAMMAS,
                )
            else:
                res = RuntimeError("the γ strip needs a cheap objective or a stored landscape")
            if res is not None:
                self._strip_done = True
                if isinstance(res, BaseException):
                    set_html(self.strip_note, f"<p class='muted'>Not available: {res}</p>")
                else:
                    d = objective.space.dim
                    self.strip.set_grids(res, self._dims(), (d, d + 10))
                    n = self.data.frames[self._shown].end if self.data and self._shown >= 0 else 0
                    self.strip.show(max(n, 1))
        for method, mkey in list(self._race_keys.items()):
            if method in self._race_done:
                continue
            res = self.races.get(mkey, race_result, mkey[1], objective)
            if res is None:
                continue
            if isinstance(res, BaseException):
                first = (str(res).strip().splitlines() or [""])[0][:120]
                self._race_done[method] = f"failed: {type(res).__name__}: {first}"
            else:
                self._race_done[method] = res
                self.convergence.set_race(method, res.n, res.best)
            changed = True
        return changed

    # ------------------------------------------------------------------------------ the clock
    def tick(self, dt: float) -> None:
        """Advance the player by ``dt`` seconds and push what changed into the views."""
        try:
            self._tick(dt)
        except Exception as err:
            self._fail(err)

    def _tick(self, dt: float) -> None:
        if self._closed:
            return
        data = self.data
        changed = self._poll_background()
        if data is None:
            if changed:
                self._update_results()
            self._update_status()
            return
        n_avail = data.n_frames
        if data.done and not self._range_set:  # the whole run's curve: the axis stays put
            self._range_set = True
            self.convergence.include(self.convergence.transform(data.best_so_far[: data.n]))
        if n_avail != self.playback.n_steps:
            self.playback.set_outputs(n_steps=n_avail)
        if data.error and not self._error:
            self._error = f"The run stopped with an error: {data.error}"
            self.playback.set_outputs(message=self._error)
            self.pause()
        target = self._shown
        if n_avail:
            if self._shown < 0:
                target = 0
            if self.playback.playing:
                if self._live:
                    target = n_avail - 1
                    if data.done and self._shown == target:
                        self.pause()  # the training run is over
                else:
                    self._acc += max(float(self.options.speed), 0.1) * dt
                    adv = int(self._acc)
                    if adv and self._browser_behind():
                        adv = 0  # the steps keep accumulating: the next frame catches up
                    self._acc -= adv
                    target = min(self._shown + adv, n_avail - 1)
                    if data.done and target >= n_avail - 1 and self._shown >= n_avail - 1:
                        if self.options.loop:
                            target = 0
                        else:
                            self.pause()
        if target != self._shown and target >= 0:
            self._render(target)
            changed = True
        elif self._shown >= 0:
            self._refresh_model(self._shown)
            if self._slow_dirty and (
                not self.playback.playing
                or time.perf_counter() - self._slow_at >= SLOW_VIEW_PERIOD
            ):
                self._render_slow_views()
            if self._conv_n != self.data.frames[self._shown].end and (
                not self.playback.playing
                or time.perf_counter() - self._conv_at >= CONVERGENCE_PERIOD
            ):
                self._render_convergence()
        if changed or (data.done and not self._results_text):
            self._update_results()
        self._update_status()

    # ------------------------------------------------------------------------------ rendering
    def _point_columns(self, a: int, b: int) -> dict[str, Any]:
        data = self.data
        dx, dy = self._dims()
        U = data.U[a:b]
        labels = [_config_text(data.space, u) for u in U] if b - a <= 64 else [""] * (b - a)
        level = data.level_sum[a:b].copy()
        order = np.arange(a, b)
        return {
            "x": U[:, dx].copy(), "y": U[:, dy].copy(),
            "c": level if self.landscape.color_by == "level" else order,
            "level": level, "order": order, "value": data.y[a:b].copy(),
            "marker": [_MARKERS[int(r)] for r in data.role[a:b]], "label": labels,
        }

    def _render(self, k: int) -> None:
        data = self.data
        frame = data.frames[k]
        prev = data.frames[self._shown] if self._shown >= 0 else None
        lv = self.landscape
        if prev is not None and k > self._shown:
            lv.stream_points(self._point_columns(prev.end, frame.end))
        else:
            lv.reset_points(self._point_columns(0, frame.end))
        dx, dy = self._dims()
        rows = slice(frame.start, frame.end)
        newest = (data.U[rows, dx].copy(), data.U[rows, dy].copy())
        best = None
        if frame.best >= 0:
            best = (float(data.U[frame.best, dx]), float(data.U[frame.best, dy]), "")
        refined = None
        if frame.refinement is not None:
            r = frame.refinement.refined
            refined = (float(data.U[r, dx]), float(data.U[r, dy]))
        lv.set_markers(newest, best, refined)
        if data.d > 2:
            self._update_truth(k)
        self._shown = k
        self._refresh_model(k)
        self._slow_dirty = True
        now = time.perf_counter()
        if not self.playback.playing or now - self._conv_at >= CONVERGENCE_PERIOD:
            self._render_convergence()
        if not self.playback.playing or now - self._slow_at >= SLOW_VIEW_PERIOD:
            self._render_slow_views()
        self._setting_step = True
        try:
            self.playback.step = k
        finally:
            self._setting_step = False
        self.n_renders += 1
        self.frames_sent += 1
        self.frame_counter.data = {"frame": [self.frames_sent], "t": [time.time()]}

    def _render_convergence(self) -> None:
        """This run's curve up to the shown step (streamed when it grew)."""
        data, k = self.data, self._shown
        if data is None or k < 0:
            return
        frame = data.frames[k]
        done = self._conv_n
        if 0 <= done <= frame.end and done > 0:
            self.convergence.stream_run(done, data.best_so_far[done : frame.end])
        else:
            self.convergence.reset_run(data.best_so_far[: frame.end])
        self.convergence.set_head(frame.end, frame.best_value)
        self._conv_n = frame.end
        self._conv_at = time.perf_counter()

    def _render_slow_views(self) -> None:
        """Inspector, gamma strip and learning curve: every frame when stepping, at most every
        ``SLOW_VIEW_PERIOD`` while playing (nobody reads a table at 20 steps per second, and
        each costs the browser a re-layout)."""
        self._slow_dirty = False
        self._slow_at = time.perf_counter()
        data, k = self.data, self._shown
        if data is None or k < 0:
            return
        frame = data.frames[k]
        if data.key.method == "sparse_grid":
            if frame.refinement is not self._shown_refinement or k == 0:
                self._shown_refinement = frame.refinement
                cols = list(range(data.d)) if data.d <= 3 else list(self._dims())
                set_html(self.inspector, inspector_html(
                    frame.refinement, data.key.gamma, data.X[: frame.end, cols],
                    data.y[: frame.end], [data.space.names[c] for c in cols],
                ))
        elif self._shown_refinement != "other":
            self._shown_refinement = "other"
            set_html(self.inspector, self._inspector_other())
        self.strip.show(frame.end)
        if self._live:
            self._show_learning(frame)

    def _on_ack(self, attr: str, old: Any, new: Any) -> None:
        frame = list(new.get("frame", [])) if isinstance(new, dict) else list(new or [])
        if frame and frame[0] is not None and int(frame[0]) >= 0:
            self._acked = int(frame[0])
            self._acked_at = time.perf_counter()

    def _browser_behind(self) -> bool:
        """Whether the page has not yet painted the frames already sent.

        Bokeh never drops messages: a page that renders slower than frames arrive falls
        seconds behind. So once the page acknowledges frames, at most ``MAX_FRAMES_IN_FLIGHT``
        unacknowledged frames are sent; a slow page gets fewer frames with more steps each
        (the animation keeps real time). Without acknowledgements (notebooks, tests) or after
        a second of silence, frames are sent regardless.
        """
        if self._acked < 0 or time.perf_counter() - self._acked_at > 1.0:
            return False
        return self.frames_sent - self._acked > MAX_FRAMES_IN_FLIGHT

    def _inspector_other(self) -> str:
        return inspector_html(None, self.config.gamma, np.zeros((0, 1)), np.zeros(0), ()) + (
            "<p class='muted'>The refinement inspector shows the Novak-Ritter selection of "
            "sparse-grid runs. Choose Method = Sparse grid to see it.</p>"
        )

    def _show_learning(self, frame: Any) -> None:
        data = self.data
        row = frame.end - 1
        info = data.info[row] if row >= 0 else None
        cfg = _config_text(data.space, data.U[row], 2) if row >= 0 else ""
        self.learning.show(row, info, cfg)

    def _refresh_model(self, k: int) -> None:
        """Model image of step ``k`` (or the newest computed one before it)."""
        data = self.data
        if data is None or data.model_kind is None:
            return
        dims = self._dims()
        if self.worker is not None and (dims, k) not in data.slices:
            self.worker.want(dims, k)
        found = None
        for j in range(k, max(-1, k - 200), -1):
            Z = data.slices.get((dims, j))
            if Z is not None:
                found = (j, Z)
                break
        mkey = (id(data), dims, found[0] if found else None, self.options.show_error,
                self.options.log_color, id(self._truth))
        if mkey == self._model_key:
            return
        self._model_key = mkey
        if found is None:
            self.landscape.set_model(None)
            err = data.slice_errors.get((dims, k))
            self.landscape.set_message(
                f"Model not available: {err}" if err else "computing the model…"
            )
            return
        j, Z = found
        self.landscape.set_message("")
        error = None
        if self.options.show_error and self._truth is not None and self._truth.shape == Z.shape:
            error = self._error_scale(np.abs(self._truth.astype(np.float64) - Z))
        if self._truth is None:
            self._observed_scale(data.y[: data.frames[k].end])
        if self._scale is None:  # nothing finite observed yet
            self._set_scale(Z)
        self.landscape.set_model(self._scale(Z), error)
        suffix = ""  # a title that changed every frame would cost the page a layout
        sg = data.model_kind == "sparse_grid"
        title = "Sparse-grid surrogate" if sg else "GP posterior mean"
        if self.options.show_error:
            title = "|truth − " + ("surrogate|" if sg else "GP mean|")
        self.landscape.set_model_title(title + suffix)

    # ------------------------------------------------------------------------------ text views
    def _update_results(self) -> None:
        key = self.config.run_key()
        objective = self.config.objective_obj
        rows = []
        classifier = "accuracy" in str(getattr(objective, "metric", ""))
        for method, title in METHOD_TITLES.items():
            row: dict[str, Any] = {"method": method, "title": title, "budget": key.budget}
            if method == key.method and self.data is not None:
                data = self.data
                res = summarize(data)
                row.update(config=res.best_config, value=res.best_value, nfev=res.nfev,
                           accuracy=res.accuracy,
                           state="done" if data.done else "running…")
                if data.error:
                    row["state"] = "failed"
            else:
                res = self._race_done.get(method)
                if isinstance(res, RaceResult):
                    row.update(config=res.best_config, value=res.best_value, nfev=res.nfev,
                               accuracy=res.accuracy, state="done" if not res.error else "failed")
                elif isinstance(res, str):
                    row["state"] = res
                elif method in self._race_keys:
                    row["state"] = "computing…"
                else:
                    row["state"] = "not run yet (choose it under Method)" if self._live else (
                        "not computed"
                    )
            rows.append(row)
        text = results_html(rows, key.method, getattr(objective, "metric", "f"), classifier)
        if text != self._results_text:
            self._results_text = text
            set_html(self.results, text)

    def _update_status(self, force: bool = False) -> None:
        """The status line: every change when paused or stepping, at most every
        ``STATUS_PERIOD`` while playing (a Div's new text costs the page a re-render of its
        styles, tens of ms; the frame counter below is what changes every frame)."""
        if (not force and self.playback.playing
                and time.perf_counter() - self._status_at < STATUS_PERIOD):
            return
        key = self.config.run_key()
        data = self.data
        note = ""
        if data is None:
            text = status_html(0, key.budget, None, None, 0, 0, error=self._error)
        else:
            k = max(self._shown, 0)
            frame = data.frames[k] if data.n_frames else None
            n = frame.end if frame else 0
            best = frame.best_value if frame else None
            cfg = data.best_config(k) if frame else None
            if self._live:
                if not data.done and not self.worker.paused:
                    note = "training…"
                elif not data.done:
                    note = "paused: press Play or Step to train"
            elif not data.done:
                note = "computing…"
            if frame is not None and frame.label:
                note = (note + " · " if note else "") + frame.label
            if frame is not None and data.role[frame.start] == ROLE_CANDIDATE:
                note = "surrogate optimum checked with the true objective"
            text = status_html(
                n, key.budget, best, cfg, k, max(data.n_frames, 1),
                metric=getattr(data.objective, "metric", "f"), note=note, error=self._error,
            )
        if force or text != self._status_text:
            self._status_at = time.perf_counter()
            self._status_text = text
            self.status.text = text  # inline styles: sent every frame, so no style block
            self.playback.set_outputs(status=text)

    def _fail(self, err: BaseException) -> None:
        self._error = f"{type(err).__name__}: {err}"
        self._last_traceback = traceback.format_exc()
        self.playback.set_outputs(message=self._error)
        self.playback.playing = False
        try:
            self._update_status(force=True)
        except Exception:
            set_html(self.status, f"<div class='err'>{self._error}</div>")

    # ------------------------------------------------------------------------------ watchers
    def _on_config(self, *events: Any) -> None:
        with self.batch():
            self.restart()

    def _on_dims(self, *events: Any) -> None:
        if self._quiet:
            return
        try:
            if self.data is None:
                return
            key = self.config.run_key()
            objective = self.config.objective_obj
            dims = self._dims()
            shown = self._shown
            self._configure_views(key, objective, dims)
            self._strip_done = False
            self._model_key = None
            self._truth_fixed = None
            self._update_truth(max(shown, 0), force=True)
            self._shown = -1
            if shown >= 0:
                self._render(shown)
            self._race_done_redraw()
        except Exception as err:
            self._fail(err)

    def _race_done_redraw(self) -> None:
        for method, res in self._race_done.items():
            if isinstance(res, RaceResult):
                self.convergence.set_race(method, res.n, res.best)

    def _on_display(self, *events: Any) -> None:
        if self._quiet:
            return
        try:
            names = {e.name for e in events}
            if "log_color" in names and self._truth is not None:
                self._scale = None
                self.landscape.set_truth(self._scale_values(self._truth, rescale=True))
            if "color_by" in names and self.data is not None:
                d = self.data.d
                self.landscape.set_color_by(self._color_by(self.data.key), (d, d + 10),
                                            self.data.budget)
                if self._shown >= 0:  # refill column "c"
                    self.landscape.reset_points(
                        self._point_columns(0, self.data.frames[self._shown].end)
                    )
            if "show_error" in names:
                self.landscape.show_error(bool(self.options.show_error))
            self._model_key = None
            if self._shown >= 0:
                self._refresh_model(self._shown)
        except Exception as err:
            self._fail(err)

    def _on_step(self, event: Any) -> None:
        if self._setting_step:
            return
        if event.new != self._shown:
            self.pause()
            self.seek(event.new)


_RUN_PARAMS = ("objective", "method", "gamma", "budget", "optimizer", "degree", "initial_level",
               "seed")
