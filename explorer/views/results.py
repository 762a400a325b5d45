"""The results table: every method's best configuration and value at the same budget."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from explorer.clock import held
from explorer.engine import RaceResult, summarize
from explorer.model import Session
from explorer.views.tables import (
    entry_description,
    entry_title,
    make_div,
    metric_label,
    played_title,
    results_html,
    set_html,
)

__all__ = ["ResultsView"]


class ResultsView(pn.viewable.Viewer):
    """One row per race entry: the animated run (bold, marked), the race's runs, or why
    none."""

    session = param.ClassSelector(class_=Session)

    def __init__(self, session: Session, **params: Any) -> None:
        super().__init__(session=session, **params)
        self.div = make_div("results", sizing_mode="stretch_width")
        self._text = ""
        self._done = False
        self._update()

    def __panel__(self) -> Any:
        return pn.pane.Bokeh(self.div, sizing_mode="stretch_width")

    @param.depends("session.n_steps", watch=True)
    @held
    def _on_steps(self) -> None:
        run = self.session.run
        if run is not None and run.done != self._done:
            self._update()

    def rows(self) -> list[dict[str, Any]]:
        """One row per race entry (``explorer.background.race_entries``): the animated run's,
        the race's, or why there is none."""
        from explorer.background import entry_of, race_entries

        s = self.session
        live = s.objective_obj.kind != "test_function"
        shown = entry_of(s.method, s.variant)
        rows = []
        for entry in race_entries():
            row: dict[str, Any] = {"method": entry, "title": entry_title(entry),
                                   "note": entry_description(entry), "budget": s.budget}
            if entry == shown and s.run is not None:
                row["title"] = played_title(s)
                run = s.run
                res = summarize(run)
                row.update(config=res.best_config, value=res.best_value, nfev=res.nfev,
                           accuracy=res.accuracy, state="done" if run.done else "running…")
                if run.error:
                    row["state"] = "failed"
            else:
                res = s.race.get(entry)
                if isinstance(res, RaceResult):
                    row.update(config=res.best_config, value=res.best_value, nfev=res.nfev,
                               accuracy=res.accuracy, state="done" if not res.error else "failed")
                elif isinstance(res, str):
                    row["state"] = res
                elif live:
                    row["state"] = "not run yet (choose it under Method)"
                elif entry == shown:
                    row["state"] = "not computed"
                else:
                    row["state"] = "computing…"
            rows.append(row)
        return rows

    @param.depends("session.run", "session.race", watch=True)
    @held
    def _update(self) -> None:
        s = self.session
        objective = s.objective_obj
        metric = metric_label(objective)
        classifier = "accuracy" in str(getattr(objective, "metric", ""))
        self._done = bool(s.run is not None and s.run.done)
        from explorer.background import entry_of

        text = results_html(self.rows(), entry_of(s.method, s.variant), metric, classifier)
        if text != self._text:
            self._text = text
            set_html(self.div, text)
