"""Hyperparameter importance: the Sobol indices of the run's evaluations up to the shown step.

A bar chart of the first-order and total Sobol index of every hyperparameter
(:func:`core.importance.importance`), beside the parallel coordinates for runs of
:data:`~explorer.views.parallel.MIN_DIM` to :data:`~explorer.views.parallel.MAX_DIM`
hyperparameters. The surrogate behind the indices: for a run whose model is the sparse-grid
interpolant, ``fit="auto"`` (the interpolant of its grid points when it predicts the off-grid
evaluations at least as well as a least-squares fit, else that fit); for every other run
(random search, Bayesian optimization, an optuna study, your own objective with such a method)
the least-squares sparse-grid surrogate of all finite evaluations (``fit="least_squares"``).

Cost and throttling
-------------------
One computation (a cross-validated least-squares fit, then the exact Sobol sums) takes tens of
milliseconds for a few hundred evaluations, up to a few hundred milliseconds for the largest
surrogates (``benchmarks/bench_importance.py`` measures the Sobol sums). The view therefore
never computes in the server's event loop while a page is served: a request is keyed by ``(run,
n)`` (the evaluations up to the shown step), results are cached per key (:data:`CACHE_SIZE`
keys per view), and one worker thread computes only the newest request (older ones still
waiting are dropped), at most one every :data:`MIN_INTERVAL` seconds; the result is drawn in a
next-tick callback of the page's document (Bokeh's way to change a document from another
thread). The thread ends when it has had nothing to do for :data:`IDLE_SECONDS`, and holds no
reference to the view (a closed session's view is freed). Outside a server (tests, notebooks)
the indices are computed at once.
"""

from __future__ import annotations

import html
import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend, LegendItem

from explorer.clock import held
from explorer.views.theme import ACCENT, FONT, TEXT, make_figure

__all__ = ["CACHE_SIZE", "IDLE_SECONDS", "MIN_INTERVAL", "ImportanceView", "compute_importance",
           "importance_fit"]

#: Results kept per view (keys: the run and its number of evaluations ``n``).
CACHE_SIZE = 64
#: Seconds the worker thread waits between two computations (CPU left to the runs).
MIN_INTERVAL = 0.25
#: Seconds without a request after which the worker thread ends.
IDLE_SECONDS = 5.0
FIRST_COLOR = "#4c78a8"
TOTAL_COLOR = ACCENT
#: Bar height of one index (the two bars of a parameter share one factor).
BAR = 0.38


def importance_fit(run: Any) -> str:
    """The ``fit`` of :func:`core.importance.importance` for ``run`` (module docstring)."""
    if run is not None and run.has_model and run.model_kind == "sparse_grid_surrogate" \
            and run.levels_known:
        return "auto"
    return "least_squares"


def compute_importance(names: tuple[str, ...], U: np.ndarray, y: np.ndarray,
                       fit: str) -> Any:
    """``core.importance.importance((U, y), names, fit=fit)``, or a sentence saying why not."""
    from core.importance import importance

    ok = np.isfinite(y)
    if int(ok.sum()) < 3:
        return (f"Importance needs at least 3 finite values; {int(ok.sum())} so far.")
    try:
        return importance((np.asarray(U, np.float64), np.asarray(y, np.float64)), list(names),
                          fit=fit)
    except ValueError as err:
        return f"No importance yet: {err}"


class _Worker:
    """One daemon thread computing the newest request (module docstring). It keeps the
    request's function and callback only, never the view."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._job: tuple[Callable[[], Any], Callable[[Any], None]] | None = None
        self._thread: threading.Thread | None = None
        self.closed = False

    def submit(self, compute: Callable[[], Any], done: Callable[[Any], None]) -> None:
        with self._cond:
            if self.closed:
                return
            self._job = (compute, done)  # replaces a request still waiting
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._main, name="explorer-importance",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._job = None
            self._cond.notify()

    def _main(self) -> None:
        while True:
            with self._cond:
                if self._job is None and not self.closed:
                    self._cond.wait(IDLE_SECONDS)
                job, self._job = self._job, None
                if job is None:
                    self._thread = None
                    return
            compute, done = job
            try:
                result = compute()
            except Exception as err:  # shown in the view, never raised into the server
                result = f"No importance: {type(err).__name__}: {err}"
            done(result)
            del compute, done, job, result  # nothing of the page outlives its job
            time.sleep(MIN_INTERVAL)


def _publish(ref: weakref.ref, key: tuple, result: Any) -> None:
    view = ref()
    if view is not None:
        view._store(key, result)
        view._refresh()


class ImportanceView(pn.viewable.Viewer):
    """Bar chart of the first-order and total Sobol indices of a session's run (module
    docstring), for runs of 3 to 9 hyperparameters; hidden otherwise.

    Parameters
    ----------
    session : explorer.model.Session
    background : bool or None
        Compute in the worker thread (None: when the view lives in a served page).
    """

    session = param.Parameter(doc="The explorer.model.Session whose run is assessed.")
    visible = param.Boolean(default=False, doc="Whether the objective's dimension is shown.")
    shown = param.Parameter(default=None, doc="The core.importance.Importance drawn, or None.")

    def __init__(self, session: Any, *, background: bool | None = None, **params: Any) -> None:
        super().__init__(session=session, **params)
        doc = pn.state.curdoc
        served = doc is not None and doc.session_context is not None
        self._doc = doc if served else None
        self.background = served if background is None else bool(background)
        self._worker = _Worker()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._key: tuple | None = None
        self._requested: tuple | None = None
        self._names: tuple[str, ...] = ()
        self.source = ColumnDataSource({"name": [], "first": [], "total": []},
                                       name="importance-bars")
        self.fig = make_figure(
            title="Importance (Sobol indices of the surrogate)", height=260, width=330,
            min_width=260, max_width=460, sizing_mode="stretch_width",
            x_range=(0.0, 1.0), y_range=FactorRange(factors=[]), tools="save",
            toolbar_location=None, name="importance",
        )
        self.fig.xaxis.axis_label = "share of the variance"
        self.fig.ygrid.visible = False
        self.fig.yaxis.major_label_text_color = TEXT
        self.fig.yaxis.major_label_text_font_size = "12px"
        from bokeh.transform import dodge

        total = self.fig.hbar(y=dodge("name", -BAR / 2, range=self.fig.y_range), right="total",
                              height=BAR, source=self.source, fill_color=TOTAL_COLOR,
                              line_color=None, name="importance-total")
        first = self.fig.hbar(y=dodge("name", BAR / 2, range=self.fig.y_range), right="first",
                              height=BAR, source=self.source, fill_color=FIRST_COLOR,
                              line_color=None, name="importance-first")
        legend = Legend(items=[LegendItem(label="first order", renderers=[first]),
                               LegendItem(label="total", renderers=[total])],
                        location="bottom_right", label_text_font_size="11px",
                        label_text_font=FONT, background_fill_alpha=0.8)
        self.fig.add_layout(legend)
        # tooltip fields are text, never HTML
        self.fig.add_tools(HoverTool(renderers=[first, total], tooltips=[
            ("parameter", "@name"), ("first order", "@first{0.000}"),
            ("total", "@total{0.000}")]))
        self._caption = pn.pane.HTML("", margin=(0, 10), sizing_mode="stretch_width")
        self._holder = pn.Column(pn.pane.Bokeh(self.fig, sizing_mode="stretch_width"),
                                 self._caption, margin=0, sizing_mode="stretch_width",
                                 min_width=260, max_width=470)
        self._on_change()

    # -- requests --------------------------------------------------------------------------
    def _current(self) -> tuple[tuple | None, Any, int]:
        s = self.session
        run, f = s.run, s.frame
        end = f.end if f is not None else 0
        # id and creation time: an id alone may be reused by a later run
        return ((id(run), run.created, end) if run is not None and end else None), run, end

    @param.depends("session.run", "session.step", "session.objective", "session.n_steps",
                   watch=True)
    @held
    def _on_change(self) -> None:
        from explorer.views.parallel import MAX_DIM, MIN_DIM

        s = self.session
        space = s.objective_obj.space
        self.visible = MIN_DIM <= space.dim <= MAX_DIM
        self._holder.visible = self.visible
        if not self.visible:
            return
        names = tuple(space.names)
        if names != self._names:
            self._names = names
            self._cache.clear()
        key, run, end = self._current()
        if key is not None and key not in self._cache and key != self._requested:
            self._request(key, run, end)
        self._refresh()

    def _request(self, key: tuple, run: Any, end: int) -> None:
        names, fit = self._names, importance_fit(run)
        U, y = run.U[:end].copy(), run.y[:end].copy()  # rows below a frame's end are final

        def compute() -> Any:
            return compute_importance(names, U, y, fit)

        if not self.background:
            self._store(key, compute())
            return
        self._requested = key
        doc, ref = self._doc, weakref.ref(self)

        def done(result: Any) -> None:
            if doc is None:
                _publish(ref, key, result)
                return
            try:
                doc.add_next_tick_callback(lambda: _publish(ref, key, result))
            except Exception:  # the session is gone
                pass

        self._worker.submit(compute, done)

    def _store(self, key: tuple, result: Any) -> None:
        self._cache[key] = result
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if self._requested == key:
            self._requested = None

    # -- drawing ---------------------------------------------------------------------------
    def _refresh(self) -> None:
        if not self.visible:
            return
        key, run, end = self._current()
        if key is None:
            self._draw(None, "No evaluations yet.")
            return
        if key == self._key:
            return
        result = self._cache.get(key)
        if result is None:
            # the newest result known for this run stays up until the shown one is there
            self._set_caption(self._caption_text(self.shown, pending=end)
                              if self.shown is not None else "computing the importance…")
            if key != self._requested:
                self._request(key, run, end)
            return
        self._key = key
        if isinstance(result, str):
            self._draw(None, result)
        else:
            self._draw(result, self._caption_text(result))

    def _draw(self, imp: Any, caption: str) -> None:
        if imp is None:
            self.source.data = {"name": [], "first": [], "total": []}
            self.fig.y_range.factors = list(self._names)
            self.shown = None
        else:
            order = sorted(range(len(imp.names)), key=lambda t: -float(imp.total[t]))
            names = [str(imp.names[t]) for t in order]
            self.fig.y_range.factors = names[::-1]  # the most important at the top
            self.source.data = {
                "name": names, "first": [float(imp.first_order[t]) for t in order],
                "total": [float(imp.total[t]) for t in order],
            }
            self.shown = imp
        self._set_caption(caption)

    def _caption_text(self, imp: Any, pending: int = 0) -> str:
        if imp.fit == "interpolant":
            how = (f"the sparse-grid interpolant of {imp.n_points} grid points")
            check = (f"; R² {imp.check_r2:.2f} on {imp.n_check} off-grid evaluations"
                     if imp.n_check and math.isfinite(imp.check_r2) else "")
        else:
            how = (f"a least-squares sparse-grid surrogate (level {imp.level}) of "
                   f"{imp.n_points} evaluations")
            check = (f"; cross-validated R² {imp.check_r2:.2f}"
                     if math.isfinite(imp.check_r2) else "")
        text = f"Sobol indices of {how}{check}."
        if pending:
            text += f" Updating to {pending} evaluations…"
        elif math.isfinite(imp.check_r2) and imp.check_r2 < 0.5:
            text += " The surrogate predicts poorly yet: read the bars as rough."
        return text

    def _set_caption(self, text: str) -> None:
        obj = (f"<span class='importance-caption' style='font-size:12.5px;color:#52606d'>"
               f"{html.escape(text)}</span>")
        if self._caption.object != obj:
            self._caption.object = obj

    def close(self) -> None:
        """End the worker thread (the page is gone)."""
        self._worker.close()

    def __panel__(self) -> Any:
        return self._holder
