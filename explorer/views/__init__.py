"""The views: one ``pn.viewable.Viewer`` per view, each owning its Bokeh sources and following
the session model (:class:`explorer.model.Session`).

- :mod:`~explorer.views.landscape`: true landscape with the points, and the model beside it
- :mod:`~explorer.views.convergence`: best value so far, this run against the race
- :mod:`~explorer.views.inspector`: the Novak-Ritter selection of the shown step
- :mod:`~explorer.views.strip`: grids at γ = 0, 0.5, 1
- :mod:`~explorer.views.learning`: learning curve of the latest training
- :mod:`~explorer.views.results`: the results table; :mod:`~explorer.views.status`: status line
- :mod:`~explorer.views.tables` (HTML builders), :mod:`~explorer.views.theme` (looks)

:class:`Views` builds them all for one page and lays them out in rows.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from explorer.model import Session

__all__ = ["Views"]

LEGEND = (
    "<div style='font-size:12.5px;color:#3e4c59'>"
    "<span style='color:#f2855d'>●</span> evaluation (fill: level |l|<sub>1</sub> or "
    "order) &nbsp; <span style='color:#ff2fa0'>◯</span> newest step &nbsp; "
    "<span style='color:#00a8cc'>▢</span> point refined this step &nbsp; "
    "<span style='color:#e0b800'>★</span> best so far &nbsp; ◇ surrogate optimum "
    "checked &nbsp; <span style='color:#9e9e9e'>■</span> surrogate below the best value seen "
    "(extrapolation)</div>"
)


class Views:
    """Every view of one page (attributes ``landscape``, ``convergence``, ``inspector``,
    ``strip``, ``learning``, ``results``, ``status``)."""

    def __init__(self, session: Session) -> None:
        from explorer.views.convergence import ConvergenceView
        from explorer.views.inspector import InspectorView
        from explorer.views.landscape import LandscapeView
        from explorer.views.learning import LearningCurveView
        from explorer.views.results import ResultsView
        from explorer.views.status import StatusView
        from explorer.views.strip import GammaStripView

        self.session = session
        self.landscape = LandscapeView(session)
        self.convergence = ConvergenceView(session)
        self.inspector = InspectorView(session)
        self.strip = GammaStripView(session, self.landscape.truth_image, self.landscape.mapper)
        self.learning = LearningCurveView(session)
        self.results = ResultsView(session)
        self.status = StatusView(session)
        from explorer.views.parallel import ParallelCoordinatesView

        self.parallel = ParallelCoordinatesView(session)  # shown for 3 to 9 dimensions

    def rows(self) -> list[Any]:
        """The page below the status line: plots, inspector and strip, results."""
        card = {"margin": (6, 6), "collapsible": False, "header_background": "#f5f7fa"}
        top = pn.Row(self.landscape, self.convergence, margin=(0, 5))
        legend = pn.pane.HTML(LEGEND, margin=(0, 12), width=940)
        bottom = pn.Row(
            pn.Card(self.inspector, title="Refinement inspector (Novak-Ritter)", width=480,
                    **card),
            pn.Card(self.strip, title="γ strip", width=460, **card),
        )
        results = pn.Row(pn.Card(self.results, title="Results (same budget)", width=530, **card),
                         self.learning)
        return [pn.Column(top, legend), self.parallel, bottom, results]
