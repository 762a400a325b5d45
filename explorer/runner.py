"""The runner: starts the run the session describes and moves the player, frame by frame.

:class:`Runner` watches the session's controls and starts a new run on every change (a shared
cheap run from the :class:`~explorer.engine.RunStore`, or a live run of its own), asks the
:class:`~explorer.engine.RaceService` for the race and the γ strip, and on every :meth:`tick`
(the session's clock, on its event loop) advances ``session.step`` and writes the outputs the
views read, in one ``param.update`` per frame. It never blocks: runs compute in worker threads,
races in a background process.

Flow control: the page acknowledges every painted frame (``session.frames_acked``); at most
:data:`MAX_FRAMES_IN_FLIGHT` frames are sent ahead of it, so a slow page gets fewer frames with
more steps each and the animation keeps real time.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

import numpy as np

from explorer.background import Background
from explorer.engine import MODEL_RESOLUTION, ColorScale, make_strategy_for, truth_slice
from explorer.engine.record import RunRecord
from explorer.engine.worker import RunWorker
from explorer.model import CONTROLS, Session
from explorer.objectives import is_cheap

__all__ = ["MAX_FRAMES_IN_FLIGHT", "Runner"]

log = logging.getLogger(__name__)

#: Frames sent but not yet painted by the page before the player waits.
MAX_FRAMES_IN_FLIGHT = 2
#: How long a restart waits for the first frame of a cheap run (seconds), so the reset views
#: and the new run's first frame reach the page in one message.
FIRST_FRAME_WAIT = 0.03
#: Seconds of page silence after which one more frame is sent (a frozen tab, a lost
#: acknowledgement): the player never stalls for good, and a silent page gets one frame per
#: ``ACK_TIMEOUT``, not one per tick.
ACK_TIMEOUT = 1.0


def wants_log_colour(objective: Any) -> bool:
    """Log colours when a few high values would wash out the low region: the range is more
    than five times the median's height above the minimum (Rosenbrock yes, Ackley no)."""
    if not is_cheap(objective):
        return True  # losses of trainings span decades
    d = objective.space.dim
    Z = truth_slice(objective, (0, min(1, d - 1)), np.full(d, 0.5), 32)
    z = np.asarray(Z, dtype=np.float64)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return True
    lo, med, hi = float(z.min()), float(np.median(z)), float(z.max())
    return bool(hi - lo > 5 * max(med - lo, 1e-300))


class Runner:
    """Runs, races and the player of one :class:`~explorer.model.Session` (module docstring).

    Parameters
    ----------
    session : Session
    services : explorer.services.Services
        The server's run store, race service and training pool.
    race : bool
        Compute the other methods' runs (convergence race, results table) and the γ strip.
    hold : callable, optional
        Wraps the watchers of the session (``explorer.clock.held`` in a server: widget changes
        arrive outside the document's lock).
    """

    def __init__(self, session: Session, services: Any, *, race: bool = True,
                 hold: Any = None) -> None:
        self.session = session
        self.services = services
        self.background = Background(session, services, race)
        self.worker: RunWorker | None = None
        self.live = False
        self._shared_key: Any = None
        self._acc = 0.0
        #: when the page last acknowledged a frame, or was last sent one regardless
        self._acked_at = 0.0
        #: seconds of page silence before frames are sent regardless (see ``ACK_TIMEOUT``)
        self.ack_timeout = ACK_TIMEOUT
        self._objective_name: str | None = None
        self._truth_key: Any = None
        self._closed = False
        self.last_traceback = ""
        hold = hold or (lambda fn: fn)
        session.param.watch(hold(self._on_controls), list(CONTROLS))
        session.param.watch(hold(self._on_view), ["x_dim", "y_dim", "log_color", "step"])
        session.param.watch(self._on_ack, ["frames_acked"])
        self.restart()

    # -- commands -------------------------------------------------------------------------------
    def play(self) -> None:
        """Animate (live runs: evaluate freely). At the end, play again from the start."""
        s, run = self.session, self.session.run
        if run is not None and not self.live and run.done and s.step >= run.n_frames - 1:
            s.step = 0
        s.playing = True
        if self.worker is not None and self.live:
            self.worker.allow(None)

    def pause(self) -> None:
        self.session.playing = False
        if self.worker is not None and self.live:
            self.worker.allow(0)

    def step(self) -> None:
        """One step forward (live runs: evaluate one more batch)."""
        self.pause()
        run, s = self.session.run, self.session
        if run is None:
            return
        if s.step < run.n_frames - 1:
            self._show(s.step + 1 if not self.live else run.n_frames - 1)
        elif self.live and self.worker is not None:
            self.worker.allow(1)

    def reset(self) -> None:
        """Back to the start (live runs: discard the run and start over, paused)."""
        self.pause()
        if self.live:
            self.restart()
        else:
            self.seek(0)

    def seek(self, step: int) -> None:
        """Show ``step`` (clipped to the computed steps)."""
        run = self.session.run
        if run is not None and run.n_frames:
            self._show(int(np.clip(step, 0, run.n_frames - 1)))

    def close(self) -> None:
        """Stop this session's work (the browser tab closed)."""
        if self._closed:
            return
        self._closed = True
        self._release_run()
        self.background.release()

    # -- restart --------------------------------------------------------------------------------
    def restart(self) -> None:
        """Start the run the controls describe (on every run-defining change)."""
        try:
            self._restart()
        except Exception as err:  # never leave the page broken
            self.fail(err)

    def _restart(self) -> None:
        s = self.session
        objective = s.objective_obj
        display: dict[str, Any] = {}
        if s.objective != self._objective_name:
            self._objective_name = s.objective
            display = s.dimension_choices() | {"log_color": wants_log_colour(objective)}
            s.param.x_dim.objects = list(objective.space.names)
            s.param.y_dim.objects = list(objective.space.names)
        self._release_run()
        self.live = not is_cheap(objective)
        self._acc = 0.0
        self.background.remembered = False
        problem = self._problem()
        run = None
        if not problem:
            run = self._start_run(objective, display)
        s.param.update(
            run=run, step=0, n_steps=0, surface=None, surface_note="", message=problem,
            race={}, strip=None, strip_note="", **display,
        )
        self._truth_key = None
        self._update_truth(force=True)
        self.background.request(objective)
        self.tick(0.0)

    def _problem(self) -> str:
        """Why the chosen settings cannot run, in words, or ``""``."""
        s = self.session
        problem = s.budget_problem()
        if problem:
            return problem
        try:
            make_strategy_for(s.run_key(), s.objective_obj.space.dim)
        except (ValueError, TypeError) as err:
            return f"These settings cannot run: {err}"
        return ""

    def _start_run(self, objective: Any, display: dict[str, Any]) -> RunRecord:
        from core.strategies import STRATEGIES

        s = self.session
        key = s.run_key()
        has_model = bool(STRATEGIES[key.method].has_model)
        names = list(objective.space.names)
        x = names.index(display.get("x_dim", s.x_dim)) if display else s.dims[0]
        dims = (x, s.dims[1]) if not display else (0, min(1, len(names) - 1))
        if self.live:
            executor = (self.services.training_executor()
                        if getattr(objective, "kind", "") == "neural_network"
                        or getattr(objective, "pooled", False) else None)
            run = RunRecord(key, objective, has_model)
            self.worker = RunWorker(run, live=True, executor=executor, dims=dims).start()
            self.worker.allow(None if s.playing else 0)
            return run
        run, self.worker = self.services.runs.acquire(key, objective, has_model, dims)
        self._shared_key = key
        run.first_frame.wait(FIRST_FRAME_WAIT)
        return run

    def _release_run(self) -> None:
        if self.live and self.worker is not None:
            self.worker.stop()
        elif self._shared_key is not None:
            self.services.runs.release(self._shared_key)
        self._shared_key = None
        self.worker = None

    # -- truth and colours ------------------------------------------------------------------
    def _update_truth(self, force: bool = False) -> None:
        """The true landscape on the shown slice (hidden dims at the shown step's best point)
        and the colour scale; without a truth, colours span the values observed so far."""
        s = self.session
        objective = s.objective_obj
        d = objective.space.dim
        run = s.run
        fixed = run.fixed_point(s.step) if run is not None else np.full(d, 0.5)
        dims = s.dims
        key = (s.objective, dims, tuple(np.round(np.delete(fixed, list(dims)), 12))
               if d > 2 else ())
        if not force and key == self._truth_key:
            return
        first = force or self._truth_key is None or self._truth_key[:2] != key[:2]
        self._truth_key = key
        Z = truth_slice(objective, dims, fixed, MODEL_RESOLUTION, self.services.landscapes)
        update: dict[str, Any] = {"truth": Z}
        if Z is not None and (first or s.scale is None):
            update["scale"] = ColorScale.from_values(Z, bool(s.log_color))
        elif Z is None:
            update["scale"] = self._observed_scale(force)
        s.param.update(**update)

    def _observed_scale(self, force: bool = False, frame: Any = None) -> ColorScale | None:
        """Colours spanning the values seen up to ``frame`` (default: the shown step's),
        widened, never narrowed."""
        s = self.session
        run, f = s.run, s.frame if frame is None else frame
        old = None if force else s.scale
        if run is None or f is None:
            return old
        y = run.y[: f.end]
        y = y[np.isfinite(y)]
        if not y.size:
            return old
        lo, hi = float(y.min()), float(y.max())
        if old is not None:
            if lo >= old.low and hi <= old.high and old.log == bool(s.log_color):
                return old
            lo, hi = min(lo, old.low), max(hi, old.high)
        return ColorScale.from_values(np.array([lo, hi]), bool(s.log_color))

    # -- the clock ------------------------------------------------------------------------------
    def tick(self, dt: float) -> None:
        """Advance the player by ``dt`` seconds and write what changed into the session."""
        if self._closed:
            return
        try:
            self._tick(dt)
        except Exception as err:
            self.fail(err)

    def _tick(self, dt: float) -> None:
        s = self.session
        self.background.remember(s.run, self.live)
        update = self.background.poll()
        run = s.run
        if run is None:
            if update:
                s.param.update(**update)
            return
        # The worker thread adds frames while this runs: the run is looked at once per tick,
        # done before the frame count (done is set after the last frame, so a run seen done
        # is counted whole; the other way round, a run that ends between the two reads looks
        # done at an old frame and the player stops there), and the step bounds, the player's
        # target and the shown step all use that one count.
        done = run.done
        n = run.n_frames
        if n != s.n_steps:
            s.param.step.bounds = (0, max(n - 1, 1))
            update["n_steps"] = n
        if run.error and not s.message:
            update["message"] = f"The run stopped with an error: {run.error}"
            update["playing"] = False
        target = self._target(n, done, dt)
        if update:
            s.param.update(**update)
        if target is not None and target != s.step:
            self._show(target)
        else:
            self._update_surface()

    def _target(self, n: int, done: bool, dt: float) -> int | None:
        """The step to show after ``dt`` seconds (``None``: stay), for a run of ``n`` frames
        so far (``done``: all of them)."""
        s = self.session
        if not n:
            return None
        if not s.playing:
            return None
        if self.live:
            if done and s.step >= n - 1:
                self.pause()  # the live run is over
            return n - 1
        self._acc += max(float(s.speed), 0.1) * dt
        adv = int(self._acc)
        if adv and self._browser_behind():
            adv = 0  # the steps keep accumulating: the next frame catches up
        self._acc -= adv
        if done and s.step >= n - 1:
            if s.loop:
                return 0
            self.pause()
            return None
        return min(s.step + adv, n - 1)

    def _show(self, k: int) -> None:
        """Show step ``k``: the views follow ``session.step``; the model image comes along."""
        s = self.session
        update = self._surface_for(k)
        if s.truth is None:  # colours from the values seen: those of step k, in the same change
            scale = self._observed_scale(frame=s.run.frames[k])
            if scale is not s.scale:
                update["scale"] = scale
        s.param.update(step=k, **update)

    def _surface_for(self, k: int) -> dict[str, Any]:
        s, run = self.session, self.session.run
        if run is None or not run.has_model:
            return {"surface": None, "surface_note": ""}
        dims = s.dims
        if self.worker is not None and (dims, k) not in run.slices:
            self.worker.want(dims, k)
        for j in range(k, max(-1, k - 200), -1):
            Z = run.slices.get((dims, j))
            if Z is not None:
                return {"surface": Z, "surface_note": ""}
        err = run.slice_errors.get((dims, k))
        return {"surface": None,
                "surface_note": f"Model not available: {err}" if err else "computing the model…"}

    def _update_surface(self) -> None:
        s = self.session
        if s.run is None or s.step >= max(s.run.n_frames, 1):
            return
        new = self._surface_for(s.step)
        if new["surface"] is not s.surface or new["surface_note"] != s.surface_note:
            s.param.update(**new)
        if s.truth is None:
            scale = self._observed_scale()
            if scale is not s.scale:
                s.scale = scale

    def _on_ack(self, event: Any) -> None:
        self._acked_at = time.perf_counter()

    def _browser_behind(self) -> bool:
        """Whether the page has not yet painted the frames already sent (module docstring).

        Without acknowledgements (notebooks, tests) frames are sent regardless. A page silent
        for ``ack_timeout`` seconds (frozen, or its acknowledgement lost) gets one frame, then
        one more per further ``ack_timeout`` of silence: never a frame per tick, which would
        only pile up in the socket of a page that does not read it.
        """
        s = self.session
        if s.frames_acked < 0 or s.frames_sent - s.frames_acked <= MAX_FRAMES_IN_FLIGHT:
            return False
        now = time.perf_counter()
        if now - self._acked_at > self.ack_timeout:
            self._acked_at = now  # this frame probes the page; the next after more silence
            return False
        return True

    # -- watchers -------------------------------------------------------------------------------
    def _on_controls(self, *events: Any) -> None:
        self.restart()

    def _on_view(self, *events: Any) -> None:
        names = {e.name for e in events}
        s = self.session
        for e in events:  # one dimension on both axes: the other axis takes the old one
            if e.name in ("x_dim", "y_dim") and s.x_dim == s.y_dim and e.old != e.new:
                other = "y_dim" if e.name == "x_dim" else "x_dim"
                setattr(s, other, e.old)
                return  # that change calls this watcher again
        try:
            if names & {"x_dim", "y_dim", "log_color"}:
                self._update_truth(force=True)
                self._update_surface()
            elif "step" in names and self.session.objective_obj.space.dim > 2:
                self._update_truth()
        except Exception as err:
            self.fail(err)

    def fail(self, err: BaseException) -> None:
        """Show ``err`` as a message and stop playing (a page must never break); the
        traceback goes to the server's log."""
        self.last_traceback = traceback.format_exc()
        log.error("explorer: the player stopped on an error\n%s", self.last_traceback)
        self.session.param.update(message=f"{type(err).__name__}: {err}", playing=False)
