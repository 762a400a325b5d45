"""The views: one ``pn.viewable.Viewer`` per view, each owning its Bokeh sources and following
the session model (:class:`explorer.model.Session`).

- :mod:`~explorer.views.landscape`: true landscape with the points, and the model beside it
- :mod:`~explorer.views.convergence`: best value so far, this run against the race
- :mod:`~explorer.views.inspector`: the Novak-Ritter selection of the shown step
- :mod:`~explorer.views.strip`: grids at γ = 0, 0.5, 1
- :mod:`~explorer.views.learning`: learning curve of the latest training
- :mod:`~explorer.views.parallel`, :mod:`~explorer.views.importance`: parallel coordinates and
  the Sobol indices beside them (3 to 9 hyperparameters)
- :mod:`~explorer.views.results`: the results table; :mod:`~explorer.views.status`: status line
- :mod:`~explorer.views.tables` (HTML builders), :mod:`~explorer.views.theme` (looks)
- :mod:`~explorer.views.timeline`: the shown step in the page, and what follows it there

:class:`Views` builds them all for one page and lays them out in rows.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param
from bokeh.models import Div

from explorer.clock import held
from explorer.model import Session
from explorer.views.theme import FONT, style_figure
from explorer.views.timeline import Timeline

__all__ = ["Views"]

INTRO = (
    "Dots: evaluations over the true loss landscape (dark = low). The sparse grid refines where "
    "the loss is low, as greedily as <b>γ</b> says; middle: its B-spline surrogate, same colours;"
    " right: the race with the other methods at the same budget. Press <b>Play</b>, then move γ."
    " Step by step in the notebooks: <code>jupyter lab notebooks</code>."
)

LEGEND = (
    "<div style='font-size:{size}px;color:#3e4c59'>"
    "<span style='color:#f2855d'>●</span> evaluation (fill: level |l|<sub>1</sub> or "
    "order) &nbsp; <span style='color:#ff2fa0'>◯</span> newest step &nbsp; "
    "<span style='color:#00a8cc'>▢</span> point refined this step &nbsp; "
    "<span style='color:#e0b800'>★</span> best so far &nbsp; ◇ surrogate optimum "
    "checked &nbsp; <span style='color:#9e9e9e'>■</span> surrogate below the best value seen "
    "(extrapolation)</div>"
)

#: Font sizes (title, axis label, tick label) of the figures, normal and presentation mode.
FONTS = {False: ("14px", "13px", "13px"), True: ("18px", "16px", "15px")}
#: Small texts (γ strip titles, colour bar, race legend, symbol legend), normal and presenting.
STRIP_TITLE = {False: "12px", True: "13px"}
SMALL = {False: ("12px", 12.5), True: ("14px", 15)}


class Views(param.Parameterized):
    """Every view of one page (attributes ``landscape``, ``convergence``, ``inspector``,
    ``strip``, ``learning``, ``results``, ``status``) and the ``timeline`` they share.

    Each view follows the session with ``param.depends`` methods, which param calls in the
    order they were registered; this object's own (the fonts, the intro) are registered after
    every view's, because the intro reads the status view's race sentence."""

    session = param.ClassSelector(class_=Session, constant=True)

    def __init__(self, session: Session) -> None:
        from explorer.views.convergence import ConvergenceView
        from explorer.views.inspector import InspectorView
        from explorer.views.landscape import LandscapeView
        from explorer.views.learning import LearningCurveView
        from explorer.views.results import ResultsView
        from explorer.views.status import StatusView
        from explorer.views.strip import GammaStripView

        self.timeline = tl = Timeline()
        self.landscape = LandscapeView(session, tl)
        self.convergence = ConvergenceView(session, tl)
        self.inspector = InspectorView(session)
        self.strip = GammaStripView(session, self.landscape.truth_image, self.landscape.mapper,
                                    tl)
        self.learning = LearningCurveView(session)
        self.results = ResultsView(session)
        self.status = StatusView(session, tl)
        tl.finish()
        from explorer.views.parallel import ParallelCoordinatesView

        self.parallel = ParallelCoordinatesView(session)  # shown for 3 to 9 dimensions
        from explorer.views.importance import ImportanceView

        self.importance = ImportanceView(session)  # beside it, for the same dimensions
        # Bokeh Divs (not Panel panes): their width follows the window in place
        self.intro = Div(text=f"<div style='font-size:13px;color:#3e4c59;line-height:1.35;"
                         f"font-family:{FONT}'>{INTRO}</div>", name="intro",
                         sizing_mode="stretch_width")
        self.legend = Div(text=LEGEND.format(size=SMALL[False][1]), name="legend",
                          sizing_mode="stretch_width")
        # registered now, after the views': _on_intro follows the status view's race sentence
        super().__init__(session=session)
        self._on_present()

    def resend(self) -> None:
        """Every view's data again (the page has loaded: see ``explorer.clock``)."""
        self.landscape.resend()
        self.convergence.resend()
        self.status.refresh()
        self.strip.resend()
        self.timeline.resend()

    def figures(self) -> list[Any]:
        return [self.landscape.truth, self.landscape.model, self.convergence.fig,
                *self.strip.figures, self.learning.fig]

    @param.depends("session.present", watch=True)
    @held
    def _on_present(self) -> None:
        title, axis, ticks = FONTS[bool(self.session.present)]
        for fig in self.figures():
            style_figure(fig, title_size=title, axis_size=axis, tick_size=ticks)
        present = bool(self.session.present)
        for fig in self.strip.figures:  # three small plots: their titles stay small
            fig.title.text_font_size = STRIP_TITLE[present]
        small, legend = SMALL[present]
        for bar in (self.landscape.colorbar, self.landscape.error_colorbar):
            bar.title_text_font_size = bar.major_label_text_font_size = small
        self.landscape.set_bottom_border(present)
        self.convergence.legend.label_text_font_size = small
        self.legend.text = LEGEND.format(size=legend)
        from explorer.views.tables import PRESENT_STYLES

        for div in (self.results.div, self.inspector.div, self.strip.note):
            div.styles = dict(PRESENT_STYLES) if present else {}
        if self.status.present != bool(self.session.present):
            self.status.present = bool(self.session.present)
            self.status.refresh()
        self._on_intro()

    @param.depends("session.run", "session.race", "session.n_steps", "session.step",
                   watch=True)
    @held
    def _on_intro(self) -> None:
        """The intro gives its lines to the plots in presentation mode (the teacher says it),
        and to the race sentence at the end of a run (so the plots stay where they were)."""
        visible = not self.session.present and not self.status.race_div.visible
        if self.intro.visible != visible:
            self.intro.visible = visible

    def header(self) -> list[Any]:
        """The intro and the status line (above the plots)."""
        return [pn.pane.Bokeh(self.intro, margin=(0, 10), sizing_mode="stretch_width"),
                self.status]

    def rows(self) -> list[Any]:
        """The page below the status line, in flex rows that wrap: what fits beside goes beside.

        The two landscape plots (and their legend) come first and take the width up to
        :data:`PAIR_MAX` (their heights follow their widths, so that bound keeps them in the
        first screen of a 720-px-high laptop); the race and the results table share the next
        row (beside the plots when the window is wide enough for all three), the inspector and
        the γ strip the one after. Widths come from flex bases (:func:`flex`), never from
        measuring the window.
        """
        card = {"margin": (6, 6), "collapsible": False, "header_background": "#f5f7fa",
                "sizing_mode": "stretch_width"}
        pair = pn.Column(
            pn.FlexBox(*self.landscape.panes(), flex_wrap="nowrap", margin=0,
                       sizing_mode="stretch_width"),
            pn.pane.Bokeh(self.legend, sizing_mode="stretch_width"),
            margin=0, sizing_mode="stretch_width", styles=flex(PAIR_BASIS, grow=3),
            min_width=MIN_PLOT * 2, max_width=PAIR_MAX,
        )
        race = pn.Column(self.convergence, margin=(0, 5), sizing_mode="stretch_width",
                         styles=flex(RACE_BASIS), min_width=MIN_PLOT, max_width=RACE_MAX)
        results = pn.Card(self.results, title="Results (same budget)", min_width=MIN_PLOT,
                          styles=flex(RESULTS_BASIS), **card)
        top = pn.FlexBox(pair, race, results, flex_wrap="wrap", align_items="flex-start",
                         justify_content="center", sizing_mode="stretch_width", margin=0)
        below = pn.FlexBox(
            pn.Card(self.inspector, title="Refinement inspector (Novak-Ritter)",
                    styles=flex(DETAIL_BASIS), **card),
            pn.Card(self.strip, title="γ strip", styles=flex(DETAIL_BASIS), **card),
            self.learning,
            flex_wrap="wrap", align_items="flex-start", sizing_mode="stretch_width",
        )
        return [top,
                # parallel coordinates and, beside them, the importance chart (3-9-D)
                pn.Row(self.parallel, self.importance, sizing_mode="stretch_width"),
                below]


#: Flex bases and bounds (px) of the page's boxes. The landscape pair grows up to PAIR_MAX,
#: where its plots' height (which follows their width) still ends in the first screen of a
#: 1280x720 window with the sidebar open (tests/explorer/test_layout_browser.py); the race goes
#: beside it when the main area holds both, the results too when it holds all three.
PAIR_BASIS, PAIR_MAX = 1000, 840
RACE_BASIS, RACE_MAX = 330, 560
RESULTS_BASIS = 340
DETAIL_BASIS = 440
#: The narrowest a plot gets (px).
MIN_PLOT = 300


def flex(basis: int, grow: float = 1.0) -> dict[str, str]:
    """CSS of a box in a wrapping flex row: starts at ``basis`` px, grows by ``grow``."""
    return {"flex": f"{grow:g} 1 {basis}px"}
