"""The runner: starts the run the session describes and keeps the session up to date with it.

:class:`Runner` follows the session's controls (``param.depends``) and starts a new run on every
change (a shared cheap run from the :class:`~explorer.engine.RunStore`, or a live run of its
own), asks the :class:`~explorer.engine.RaceService` for the race and the γ strip, and on every
:meth:`tick` (the session's periodic callback, :mod:`explorer.clock`) publishes the frames the
run has so far (``session.n_steps``), the model image of the shown step and the race. It never
blocks: runs compute in worker threads, races in a background process.

Who moves the shown step: for a run whose next frames are known (every cheap run, a replayed
journal) the page's player, by itself (``session.animate``; :mod:`explorer.views.timeline`); for
a live run the runner, which shows each new frame as it is evaluated while the session plays.

Who reacts first: the runner and every view follow the session through
``@param.depends("session.x", watch=True)`` methods, which param calls in the order they were
registered (all of them have the same precedence). A page creates its runner before its
controls and views (:class:`explorer.app.ExplorerApp`), and the runner's reaction to the
controls follows every parameter of the session (:meth:`Runner._on_controls`), so on a new
objective, method or any other control the runner has already put the new run into
``session.run`` when a view hears of the change.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import numpy as np
import param

from explorer.background import Background
from explorer.clock import held
from explorer.engine import MODEL_RESOLUTION, ColorScale, make_strategy_for, truth_slice
from explorer.engine.record import RunRecord
from explorer.engine.worker import RunWorker
from explorer.model import CONTROLS, Session
from explorer.objectives import is_cheap

__all__ = ["Runner"]

log = logging.getLogger(__name__)

#: How long a restart waits for the first frame of a cheap run (seconds), so the reset views
#: and the new run's first frame reach the page in one message.
FIRST_FRAME_WAIT = 0.03


def known_in_advance(objective: Any) -> bool:
    """Whether a run on ``objective`` is computed at once and played by the page: test
    functions, and a journal whose run is over (``ended``: the file has its end line). A
    training, your own objective and a journal still being written run live."""
    return is_cheap(objective) or getattr(objective, "ended", None) is not None


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


class Runner(param.Parameterized):
    """Runs, races and the player of one :class:`~explorer.model.Session` (module docstring).

    Its reactions to the session (a new run on a control's change, the truth and the model
    image on new axes or a new step) are ``param.depends`` methods run inside
    :func:`explorer.clock.held` (in a server, the changes of one reaction go to the page as one
    message). Create the runner before the views of its session: they then hear of a change
    after it (module docstring).

    Parameters
    ----------
    session : Session
    services : explorer.services.Services
        The server's run store, race service and training pool.
    race : bool
        Compute the other methods' runs (convergence race, results table) and the γ strip.
    """

    session = param.ClassSelector(class_=Session, constant=True,
                                  doc="The session whose runs this runner starts.")

    def __init__(self, session: Session, services: Any, *, race: bool = True) -> None:
        super().__init__(session=session)  # its reactions are registered here (see above)
        self.services = services
        self.background = Background(session, services, race)
        self.worker: RunWorker | None = None
        self.live = False
        self._shared_key: Any = None
        self._objective_name: str | None = None
        self._truth_key: Any = None
        self._closed = False
        self.last_traceback = ""
        # what _on_controls and _on_view last saw (param.depends gives them no old values)
        self._controls = tuple(getattr(session, name) for name in CONTROLS)
        self._view = (session.x_dim, session.y_dim, session.log_color)
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
        self._update_animate()

    def pause(self) -> None:
        self.session.param.update(playing=False, animate=False)
        if self.worker is not None and self.live:
            self.worker.allow(0)

    def player_stopped(self) -> None:
        """The page's player stopped at the last frame it has: the run is over (pause), or
        its next frames are still being computed (the next tick goes on)."""
        s, run = self.session, self.session.run
        s.animate = False
        if run is None or self.live:
            return
        if run.done and s.n_steps >= run.n_frames and s.step >= s.n_steps - 1:
            s.playing = False

    def visitor_moved(self) -> None:
        """The visitor moved the history slider of the page's stopped player: a played run
        stays where they put it (pause; Play goes on from there); a live run goes on."""
        if not self.live:
            self.pause()

    def _update_animate(self) -> None:
        """``session.animate``: the page plays by itself while there are frames ahead."""
        s, run = self.session, self.session.run
        s.animate = bool(s.playing and not self.live and run is not None
                         and (s.step < s.n_steps - 1 or s.loop))

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
        self.live = not known_in_advance(objective)
        self.background.remembered = False
        problem = self._problem()
        run = None
        if not problem:
            run = self._start_run(objective, display)
        same = s.step == 0
        s.param.update(
            run=run, step=0, n_steps=0, animate=False, surface=None, surface_note="",
            message=problem,
            race={}, strip=None, strip_note="", **display,
        )
        if same:  # the page may have played on since it last said where it is
            s.param.trigger("step")
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
        has_model = bool(STRATEGIES[key.method].has_model
                         or getattr(objective, "has_model", False))  # a study's fit
        names = list(objective.space.names)
        x = names.index(display.get("x_dim", s.x_dim)) if display else s.dims[0]
        dims = (x, s.dims[1]) if not display else (0, min(1, len(names) - 1))
        if self.live:
            executor = (self.services.training_executor()
                        if getattr(objective, "kind", "") == "neural_network"
                        or getattr(objective, "pooled", False) else None)
            run = RunRecord(key, objective, has_model)
            self.worker = RunWorker(run, live=True, executor=executor, dims=dims,
                                    inline=getattr(self.services, "inline", False)).start()
            self.worker.allow(None if s.playing else 0)
            return run
        if not is_cheap(objective):  # a finished journal: this session's own replay
            run = RunRecord(key, objective, has_model)
            self.worker = RunWorker(run, dims=dims,
                                    inline=getattr(self.services, "inline", False)).start()
            run.first_frame.wait(FIRST_FRAME_WAIT)
            return run
        run, self.worker = self.services.runs.acquire(key, objective, has_model, dims)
        self._shared_key = key
        run.first_frame.wait(FIRST_FRAME_WAIT)
        return run

    def _release_run(self) -> None:
        if self._shared_key is not None:
            self.services.runs.release(self._shared_key)
        elif self.worker is not None:  # this session's own run
            self.worker.stop()
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
        # is counted whole).
        done = run.done
        n = run.n_frames
        if n != s.n_steps:
            s.param.step.bounds = (0, max(n - 1, 1))
            update["n_steps"] = n
        if run.error and not s.message:
            update["message"] = f"The run stopped with an error: {run.error}"
            update["playing"] = False
        if update:
            s.param.update(**update)
        if self.live and s.playing and n and s.step != n - 1:
            self._show(n - 1)  # a live run shows each new frame as it comes
        else:
            self._update_surface()
        if self.live and s.playing and done and s.step >= n - 1:
            self.pause()  # the live run is over
        elif s.playing and not s.animate:
            self._update_animate()  # frames ahead again (a run still computing)

    def _show(self, k: int) -> None:
        """Show step ``k``: the views follow ``session.step``; the model image comes along."""
        s = self.session
        update = self._surface_for(k)
        if s.truth is None:  # colours from the values seen: those of step k, in the same change
            scale = self._observed_scale(frame=s.run.frames[k])
            if scale is not s.scale:
                update["scale"] = scale
        same = s.step == k
        s.param.update(step=k, **update)
        if same:  # the page may have played on since it last said where it is: say it again
            s.param.trigger("step")

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

    # -- reactions to the session -------------------------------------------------------------
    @param.depends(*(f"session.{name}" for name in Session.param if name != "name"),
                   watch=True)
    def _on_controls(self) -> None:
        """A control's new value starts a new run.

        This method follows every parameter of the session, not only the controls, so that it
        is the first reaction to any change: param calls the watchers of several parameters set
        in one ``param.update`` (a lesson scene, a link) in the order it meets them, parameter
        by parameter, and this one is registered before any view's. So a view never reads
        ``session.run`` before the run of the new controls is there, whichever parameter it
        follows. Changes of anything else cost one comparison (outside Panel's ``hold``: a
        played step is such a change).

        The session's own reaction to a new method (its variant) may come after this one in
        such an update: the variant is put in order first (that change starts the run)."""
        if tuple(getattr(self.session, name) for name in CONTROLS) != self._controls:
            self._new_controls()

    @held
    def _new_controls(self) -> None:
        """The variant the new method offers put in order, then the new run, in one message."""
        s = self.session
        s.offer_variants()
        controls = tuple(getattr(s, name) for name in CONTROLS)
        if controls != self._controls:
            self._controls = controls
            self.restart()

    @param.depends("session.x_dim", "session.y_dim", "session.log_color", "session.step",
                   watch=True)
    @held
    def _on_view(self) -> None:
        """New axes or colours: the truth and the model image again; a new step: the model
        image of that step (and, above 2-D, the truth through its best point)."""
        s = self.session
        old, self._view = self._view, (s.x_dim, s.y_dim, s.log_color)
        if s.x_dim == s.y_dim and (s.x_dim, s.y_dim) != old[:2]:
            # one dimension on both axes: the other axis takes the moved one's old name
            name, before = ("x_dim", old[0]) if s.x_dim != old[0] else ("y_dim", old[1])
            other = "y_dim" if name == "x_dim" else "x_dim"
            if before in s.param[other].objects:  # not a name of the previous objective
                setattr(s, other, before)
            else:  # a menu reset to its first name on a new objective: axes as it starts
                s.param.update(**s.dimension_choices())
            return  # that change calls this method again
        try:
            if self._view != old:
                self._update_truth(force=True)
                self._update_surface()
            else:  # the step changed
                if s.objective_obj.space.dim > 2:
                    self._update_truth()
                if not s.animate:  # while the page plays, the tick follows
                    self._update_surface()
        except Exception as err:
            self.fail(err)

    def fail(self, err: BaseException) -> None:
        """Show ``err`` as a message and stop playing (a page must never break); the
        traceback goes to the server's log."""
        self.last_traceback = traceback.format_exc()
        log.error("explorer: the player stopped on an error\n%s", self.last_traceback)
        self.session.param.update(message=f"{type(err).__name__}: {err}", playing=False,
                                  animate=False)
