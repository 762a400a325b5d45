"""HTML views: the refinement inspector, the results table and the status line.

Each is a Bokeh ``Div`` whose text is rebuilt from plain data (cheap: a few kB per frame). The
builders are pure functions of their inputs, so tests read the HTML without a browser.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.models import Div

from explorer.views.theme import FONT, TEXT, entry_color

__all__ = [
    "PRESENT_STYLES",
    "TABLE_CSS",
    "VARIANT_NAMES",
    "entry_description",
    "entry_title",
    "metric_label",
    "played_title",
    "formula_html",
    "inspector_html",
    "make_div",
    "set_html",
    "results_html",
    "status_html",
    "where_html",
]

TABLE_CSS = f"""
:host {{ font-family: {FONT}; color: {TEXT}; }}
table.x {{ border-collapse: collapse; font-size: var(--x-table, 12.5px); width: 100%; }}
table.x th {{ text-align: right; font-weight: 600; color: #52606d; vertical-align: bottom;
  border-bottom: 1px solid #cbd2d9; padding: 3px 5px; white-space: normal; }}
table.x td {{ text-align: right; padding: 2px 5px; border-bottom: 1px solid #f0f2f5;
  font-variant-numeric: tabular-nums; white-space: nowrap; }}
table.x td.l, table.x th.l {{ text-align: left; }}
table.x td.cfg {{ white-space: normal; max-width: 200px; overflow-wrap: anywhere; }}
table.x td.name {{ white-space: normal; min-width: 90px; }}
table.x tr.sel td {{ background: #fff1e6; font-weight: 600; }}
table.x tr.cur td {{ background: #f5f7fa; font-weight: 600; }}
.dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px;
  vertical-align: baseline; }}
.formula {{ font-size: var(--x-formula, 14px); margin: 2px 0 6px 0; }}
.muted {{ color: #7b8794; font-size: var(--x-muted, 12px); }}
.status {{ font-size: 14.5px; line-height: 1.35; }}
.status b {{ font-weight: 650; }}
.err {{ color: #b42318; font-weight: 600; }}
h4 {{ margin: 0 0 4px 0; font-size: 13px; }}
.where {{ font-size: 13.5px; font-weight: 650; color: #c2185b; margin: 0 0 4px 0; }}
"""


#: Font sizes of the HTML views in presentation mode (CSS variables of ``TABLE_CSS``, set on
#: a Div's ``styles``: they reach into its shadow root).
PRESENT_STYLES = {"--x-table": "15px", "--x-formula": "16.5px", "--x-muted": "14px"}

#: Prepended to every text: Panel replaces a Bokeh model's own ``stylesheets`` with the
#: template's, but a ``<style>`` element inside the Div's shadow root always applies.
STYLE = f"<style>{TABLE_CSS}</style>"


#: Metric names as a class reads them (the objective's own name otherwise).
_METRIC_LABELS = {"1 - validation accuracy": "validation error (1 − accuracy)"}


def metric_label(objective: Any) -> str:
    """The objective's metric as shown in the page (plain text, not yet escaped)."""
    metric = str(getattr(objective, "metric", "f(x)") or "f(x)")
    return _METRIC_LABELS.get(metric, metric)


#: How the page names a raced variant after its method's title ("Sparse grid (slides)"); what
#: the variant does is core's words (:func:`entry_description`), whether it is the default too.
VARIANT_NAMES = {"thesis": "(slides)", "zoom": "+ local model"}


def entry_title(entry: str) -> str:
    """A race entry's name (``"method"`` or ``"method:variant"``, ``explorer.background``):
    the strategy's title, the variant's name, and "(default)" for the strategy's default."""
    from core.strategies import STRATEGIES, strategy_options

    method, _, variant = entry.partition(":")
    cls = STRATEGIES.get(method)
    title = cls.title if cls is not None else method
    if not variant:
        return title
    text = f"{title} {VARIANT_NAMES.get(variant, f'({variant})')}"
    if variant == strategy_options(method).get("variant"):
        text += " (default)"
    return text


def played_title(session: Any) -> str:
    """The animated run's name: its entry's (:func:`entry_title`), unless its options are not
    the entry's (a default variant run with other options: "Sparse grid (zoom, your
    options)")."""
    from core.strategies import STRATEGIES
    from explorer.background import entry_key, entry_of

    entry = entry_of(session.method, session.variant)
    method, _, variant = entry.partition(":")
    if session.method_title() != STRATEGIES[method].title:  # a replayed run's own name
        return session.method_title()
    if variant and session.run_key() != entry_key(session, entry, raced=True):
        return f"{STRATEGIES[method].title} ({variant}, your options)"
    return entry_title(entry)


def entry_description(entry: str) -> str:
    """What a race entry's variant does, in core's words (``""`` for a plain method)."""
    from core.strategies import STRATEGIES

    method, _, variant = entry.partition(":")
    cls = STRATEGIES.get(method)
    choices = getattr(cls, "option_choices", {}).get("variant", {}) if cls else {}
    return str(choices.get(variant, "")) if variant else ""


def set_html(div: Div, text: str) -> None:
    """Set ``div``'s content (with the table styles)."""
    div.text = STYLE + text


def make_div(name: str, width: int | None = None, height: int | None = None,
             **kw: Any) -> Div:
    """A Bokeh ``Div`` for the HTML views (use :func:`set_html` to fill it)."""
    kw["name"] = name
    if width is not None:
        kw["width"] = width
    if height is not None:
        kw["height"] = height
    return Div(text="", **kw)


def _fmt(v: float, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    a = abs(v)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{v:.{max(digits - 2, 1)}e}"
    return f"{v:.{digits}g}"


def _fmt_config(config: dict | None, digits: int = 3) -> str:
    if not config:
        return "–"
    parts = []
    for k, v in config.items():
        name = html.escape(str(k))
        if isinstance(v, float):
            parts.append(f"{name}={_fmt(v, digits)}")
        else:
            parts.append(f"{name}={html.escape(str(v))}")
    return ", ".join(parts)


#: The level term of the criterion: (symbol, meaning). Sparse grids use the level sum of a
#: grid point; adaptive random search the level of a point (0 for its initial points).
LEVEL_SUM = ("|l|<sub>1</sub>", "level sum")
LEVEL_OF_POINT = ("l", "level of the point (0 = initial)")


def formula_html(gamma: float, level: tuple[str, str] = LEVEL_SUM) -> str:
    """The selection criterion (Novak-Ritter's, or adaptive random search's with the
    level of a point) with the current γ substituted."""
    sym, meaning = level
    return (
        f"<div class='formula'>g = (r + 1)<sup>1−γ</sup> · ({sym} + d + 1)<sup>γ</sup>"
        f" &nbsp;=&nbsp; (r + 1)<sup>{1 - gamma:.2f}</sup> · ({sym} + d + 1)"
        f"<sup>{gamma:.2f}</sup></div>"
        f"<div class='muted'>r = rank of the value (0 = best), {sym} = {meaning}, "
        "d = times already refined; the point with the smallest g is refined next.</div>"
    )


def where_html(where: str) -> str:
    """The inspector's first line: which grid the shown step is in (``""``: none)."""
    if not where:
        return ""
    return f"<div class='where'>{html.escape(where[:1].upper() + where[1:])}</div>"


def inspector_html(
    refinement: Any,
    gamma: float,
    coords: np.ndarray,
    values: np.ndarray,
    names: Sequence[str],
    *,
    top: int = 8,
    level: tuple[str, str] = LEVEL_SUM,
) -> str:
    """Candidates of one Novak-Ritter selection, ranked by the criterion.

    Parameters
    ----------
    refinement : core.records.Selection or None
        The selection of this step (None: initial grid or another method); its arrays run
        over its ``candidates`` (row indices of the run).
    gamma : float
    coords : ndarray, shape (n, d)
        Native coordinates of the run's points (rows of the grid points in storage order).
    values : ndarray, shape (n,)
    names : sequence of str
        Hyperparameter names (column header).
    """
    head = formula_html(gamma, level)
    if refinement is None:
        return head + "<p class='muted'>No refinement at this step: the initial grid, a " \
                      "surrogate-optimum check, or a method without a grid.</p>"
    scores = np.asarray(refinement.scores)
    cands = np.asarray(refinement.candidates)
    order = np.argsort(scores, kind="stable")[:top]
    dims = ", ".join(html.escape(n) for n in names)
    rows = [
        "<table class='x'><tr><th>#</th><th class='l'>point (" + dims + ")</th><th>f</th>"
        f"<th>r</th><th>{level[0]}</th><th>d</th><th>g</th></tr>"
    ]
    for j in order:
        k = int(cands[j])
        sel = " class='sel'" if k == refinement.refined else ""
        pt = ", ".join(_fmt(float(c), 5) for c in coords[k])
        mark = " ◀ refined" if k == refinement.refined else ""
        rows.append(
            f"<tr{sel}><td>{k}</td><td class='l'>({pt}){mark}</td><td>{_fmt(float(values[k]))}"
            f"</td><td>{int(refinement.ranks[j])}</td><td>{int(refinement.levels[j])}</td>"
            f"<td>{int(refinement.n_refinements[j])}</td><td>{_fmt(float(scores[j]))}</td></tr>"
        )
    rows.append("</table>")
    n = len(cands)
    return (
        head + "<div class='muted' style='margin-bottom:3px'>"
        f"Step {refinement.step}: the {min(top, n)} best of {n} candidates</div>" + "".join(rows)
    )


def results_html(
    rows: Sequence[dict[str, Any]], current: str, metric: str, show_accuracy: bool
) -> str:
    """Results table: one row per race entry (``method``: the entry, ``title``, ``note``,
    ``config``, ``value``, ``accuracy``, ``nfev``, ``budget``, ``state``); the row of
    ``current`` (the animated run) is bold and marked."""
    acc_head = "<th>accuracy</th>" if show_accuracy else ""
    value_head = f"best {metric}" if len(metric) <= 16 else "best value"
    out = [
        "<table class='x'><tr><th class='l'>method</th><th class='l'>best configuration</th>"
        f"<th>{html.escape(value_head)}</th>{acc_head}<th>evaluations</th></tr>"
    ]
    for r in rows:
        cls = " class='cur'" if r["method"] == current else ""
        color = entry_color(r["method"])
        state = r.get("state", "")
        if state and state != "done":
            cfg = f"<span class='muted'>{html.escape(state)}</span>"
        else:
            cfg = _fmt_config(r.get("config"))
        acc = ""
        if show_accuracy:
            a = r.get("accuracy")
            acc = f"<td>{'–' if a is None else f'{100 * a:.1f}%'}</td>"
        nfev = r.get("nfev")
        evals = "–" if nfev is None else f"{nfev}/{r.get('budget', '?')}"
        mark = " <span class='muted'>◀ played</span>" if r["method"] == current else ""
        out.append(
            f"<tr{cls}><td class='l name' title='{html.escape(r.get('note', ''), quote=True)}'>"
            f"<span class='dot' style='background:{color}'></span>"
            f"{html.escape(r['title'])}{mark}</td><td class='l cfg'>{cfg}</td>"
            f"<td>{_fmt(r.get('value'))}</td>"
            f"{acc}<td>{evals}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def status_html(
    n: int,
    budget: int,
    best_value: float | None,
    best_config: dict | None,
    step: int,
    n_steps: int,
    *,
    metric: str = "f",
    note: str = "",
    error: str = "",
    size: float = 14.5,
) -> str:
    """The status line: ``evaluations: n/B``, the best value and where, the step.

    Two lines high whatever the text (a longer note is cut), so the page never shifts.
    """
    best = "–" if best_value is None or not math.isfinite(best_value) else _fmt(best_value, 5)
    where = f" at {_fmt_config(best_config)}" if best_config else ""
    parts = [
        f"<b>evaluations: {n}/{budget}</b>",
        f"best {html.escape(metric)} = <b>{best}</b>{where}",
        f"step {step}/{max(n_steps - 1, 0)}",
    ]
    if note:
        parts.append(f"<span style='color:#7b8794;font-size:12.5px'>{html.escape(note)}</span>")
    text = " &nbsp;·&nbsp; ".join(parts)
    if error:
        text += f"<div style='color:#b42318;font-weight:600'>{html.escape(error)}</div>"
    return (f'<div style="font-size:{size}px;line-height:1.35;height:2.7em;overflow:hidden;'
            f'font-family:{FONT};color:{TEXT}">{text}</div>')
