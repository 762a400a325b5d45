"""``explore()``: the explorer on your own objective, or on the journal of a run done elsewhere.

::

    from core.space import Float, SearchSpace
    from explorer import explore

    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True), "momentum": Float(0.0, 0.99)})
    explore(my_training, space)                 # in Jupyter: the page, inline
    explore(my_training, space).show()          # in a browser tab
    explore(journal="run.jsonl")                # a run of `python -m core run --journal ...`
    explore(study="sqlite:///runs.db", study_name="s")   # an optuna study (or a Study object)

The page is the explorer's own (every control, view and the race, see :mod:`explorer.app`).
An objective of your own has no known true landscape, so the landscape view colours the
observed values and says so. It runs live, one batch at a time while the page plays; with
``executor="process"`` (or ``"dask"``, a Dask scheduler address, or any executor) it
evaluates in worker processes, so even a slow or stuck objective never holds the page.

A journal is replayed: the same strategy runs again and is answered from the journal (nothing
is evaluated, the file is only read), so refinement steps, surrogate and inspector are shown;
a journal still being written is followed. An optuna study (a ``Study`` or a storage URL
and a study name) is shown the same way: its completed trials replayed in the order they
finished, the storage only read, a study still running followed (:mod:`explorer.study`). A
file that is not a readable journal, an objective
that raises or returns NaN, or a space the objective does not expect gets a message in the
page, and the page keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.space import SearchSpace

__all__ = ["explore", "serve_arguments"]


def _space_problem(objective: Any, space: SearchSpace | None) -> str:
    own = getattr(objective, "space", None)
    if space is None or own is None or not isinstance(own, SearchSpace) or own == space:
        return ""
    if set(own.names) != set(space.names):
        return (f"The space given ({', '.join(space.names)}) is not the objective's own "
                f"({', '.join(own.names)}): evaluations will ask for parameters it lacks.")
    return ""


def _journal_message(path: Any, err: Exception) -> str:
    text = str(err)
    return f"Cannot replay the journal {text}" if text.startswith(str(path)) else \
        f"Cannot replay the journal {str(path)!r}: {text}"


def explore(
    objective: Any = None,
    space: SearchSpace | None = None,
    *,
    journal: str | Path | None = None,
    study: Any = None,
    study_name: str | None = None,
    race: bool | None = None,
    executor: Any = None,
    follow: bool = True,
    services: Any = None,
    **controls: Any,
) -> Any:
    """The explorer page for an objective or a journal (module docstring).

    Parameters
    ----------
    objective : callable, str or None
        ``fun(config: dict) -> float | Measurement`` (lower is better), a registered objective
        name (``core.objectives.OBJECTIVES``), an objective object with ``.space``, or None
        (the explorer's default objective).
    space : SearchSpace, optional
        The hyperparameters; required for a bare callable.
    journal : path, optional
        Replay this journal instead (``objective`` and ``space`` must then be None).
    study : optuna.Study or str, optional
        Show this optuna study instead: a study object, or a storage URL such as
        ``"sqlite:///runs.db"`` (opened read-only; :mod:`explorer.study`).
    study_name : str, optional
        The study in ``study``'s storage (needed when it holds several).
    race : bool, optional
        Run the other methods too (convergence race, results table, γ strip). Default: on for
        registered objectives, off for your own (it multiplies the evaluations) and for
        journals (only the journaled run can be answered).
    executor : Executor, {"process", "dask"} or str, optional
        Where your objective runs: None evaluates in a thread of this process; ``"process"``
        in two worker processes; ``"dask"`` on a local Dask cluster; an address such as
        ``"tcp://10.0.0.5:8786"`` on that Dask scheduler; or an executor object.
    follow : bool
        Follow a journal that is still being written (wait for the points not there yet).
    services : explorer.services.Services, optional
        Run store and pools to use (default: the server's; with ``executor``, new ones).
        ``Services(inline=True)`` computes in the calling thread (tests, scripts).
    **controls
        Initial values of the page's parameters: ``method``, ``gamma``, ``budget``,
        ``optimizer``, ``degree``, ``initial_level``, ``seed`` and display options such as
        ``x_dim``, ``y_dim``, ``speed``, ``log_color``.

    Returns
    -------
    explorer.app.ExplorerApp
        A Panel viewer: the last expression of a notebook cell displays it; ``.show()`` opens a
        browser tab; ``pn.serve(lambda: explore(...))`` serves a fresh page per visitor.

    Raises
    ------
    TypeError, ValueError
        Arguments that cannot describe a page (an unknown control, both ``objective`` and
        ``journal``); what only shows when evaluating (a failing objective, an unreadable
        journal) is reported in the page instead.
    """
    if journal is not None and (objective is not None or space is not None):
        raise TypeError("give either `objective` (and `space`) or `journal`, not both")
    if study is not None and (objective is not None or space is not None
                              or journal is not None):
        raise TypeError("give `study` alone, not with `objective`, `space` or `journal`")
    if study_name is not None and study is None:
        raise TypeError("`study_name` needs `study` (a storage URL)")
    if space is not None and not isinstance(space, SearchSpace):
        raise TypeError(f"`space` must be a core.space.SearchSpace, got {space!r:.80}")
    from explorer.app import ExplorerApp
    from explorer.model import CONTROLS, Session
    from explorer.objectives import UserObjective, explorer_objectives

    allowed = (*CONTROLS, *DISPLAY)
    _check_controls(controls, allowed)
    fixed = [k for k in controls if k in CONTROLS]
    if (journal is not None or study is not None) and fixed:
        raise TypeError(f"a journal's or study's run is fixed: {', '.join(fixed)} cannot be "
                        "set; display "
                        f"options can ({', '.join(DISPLAY)})")
    session = Session()
    notes: list[str] = []
    if journal is not None:
        obj, notes = _journal_objective(journal, follow)
        if obj is not None:
            _use(session, obj)
            unset = _apply_run(session, obj)
            if unset:
                notes.append("The journaled run's options that no control shows: "
                             + ", ".join(unset) + ".")
        race = False if race is None else race
    elif study is not None:
        from explorer.study import study_objective

        obj, notes = study_objective(study, study_name, follow=follow)
        if obj is not None:
            _use(session, obj)
            _apply_run(session, obj)
        race = False if race is None else race
    elif objective is not None:
        if isinstance(objective, str):
            known = explorer_objectives()
            if objective not in known:
                raise ValueError(f"`objective` must be a callable or one of "
                                 f"{', '.join(known)}, got {objective!r:.80}")
            obj = known[objective]
            if space is not None and space != obj.space:
                obj = UserObjective(obj, space, pooled=executor is not None)
        else:
            if not callable(objective):
                raise TypeError(f"`objective` must be a callable config -> float, a name or "
                                f"None, got {objective!r:.80}")
            if space is None and not isinstance(getattr(objective, "space", None), SearchSpace):
                raise TypeError("a callable `objective` needs `space` (a core.space."
                                "SearchSpace), or a `.space` attribute")
            problem = _space_problem(objective, space)
            if problem:
                notes.append(problem)
            obj = UserObjective(objective, space or objective.space,
                                pooled=executor is not None)
        _use(session, obj)
        race = (getattr(obj, "kind", "") == "test_function") if race is None else race
    if services is not None and executor is not None:
        raise TypeError("give either `executor` or `services`, not both")
    services = services if services is not None else _services(executor)
    # run-defining controls before the runner starts (one run), display ones after it (the
    # first run sets the axes to the objective's first two dimensions)
    session.param.update(**{k: v for k, v in controls.items() if k in CONTROLS})
    app = ExplorerApp(session, services, race=bool(race))
    session.param.update(**{k: v for k, v in controls.items() if k not in CONTROLS})
    if session.param["method"].constant:  # a journal: its run's controls are fixed
        for k in CONTROLS:
            widget = getattr(app.controls, k, None)
            if widget is not None:
                widget.disabled = True
    if notes:
        session.message = " ".join(notes + ([session.message] if session.message else []))
    return app


#: Display parameters ``explore()`` accepts besides the run-defining controls.
DISPLAY = ("speed", "loop", "x_dim", "y_dim", "color_by", "log_color", "show_error")


def _use(session: Any, obj: Any) -> None:
    """Make ``obj`` the session's only objective."""
    session.add_objective(obj)
    for name in [n for n in session.objectives if n != session.objective]:
        del session.objectives[name]
    from explorer.objectives import objective_menu

    session.param.objective.objects = objective_menu(session.objectives)


def _journal_objective(path: Any, follow: bool) -> tuple[Any, list[str]]:
    from explorer.replay import JournalError, JournalObjective, load_journal

    try:
        run = load_journal(path)
    except JournalError as err:
        return None, [_journal_message(path, err)]
    ok, why = run.replayable
    if not ok:
        return None, [f"Cannot replay the journal {str(path)!r}: {why}."]
    return JournalObjective(run, follow=follow), []


def _apply_run(session: Any, obj: Any) -> list[str]:
    """Show the journaled run's method, budget, seed and options in the (then fixed) controls.

    The run itself is built from ``obj.fixed_run`` exactly (the session model reads it), so
    an option that no control can show is only noted. Returns those notes.
    """
    from core.strategies import strategy_options
    from explorer.model import CONTROLS

    run = obj.fixed_run
    session.param.budget.bounds = (1, max(run["budget"], session.param.budget.bounds[1]))
    session.param.update(method=run["method"])  # first: it sets the variants on offer
    values: dict[str, Any] = {"budget": run["budget"], "seed": int(run["seed"] or 0)}
    options = {**strategy_options(run["method"]), **run["options"]}
    notes = []
    for k, v in options.items():
        p = session.param[k] if k in session.param and k in CONTROLS else None
        try:
            if p is None:
                raise ValueError(k)
            p._validate(v)
            values[k] = v
        except (ValueError, TypeError):
            if k in run["options"]:
                notes.append(f"{k}={v!r}")
    session.param.update(**values)
    if run.get("title"):  # the fixed method control names what runs (an optuna study's trials)
        session.param.method.objects = {session.method_title(): run["method"]}
    for k in CONTROLS:  # the journaled run is fixed: its controls show, disabled
        session.param[k].constant = True
    return notes


def _services(executor: Any) -> Any:
    from explorer.services import Services

    if executor is None:
        return None
    if isinstance(executor, str):
        from core.executors import make_executor

        if executor in ("process", "dask"):
            executor = make_executor(executor, n_workers=2)
        else:
            executor = make_executor("dask", address=executor)
    if not callable(getattr(executor, "submit", None)):
        raise TypeError(f"`executor` must be None, 'process', 'dask', a Dask scheduler address "
                        f"or an Executor, got {executor!r:.80}")
    return Services(training_executor=executor)


def _check_controls(controls: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [k for k in controls if k not in allowed]
    if unknown:
        raise TypeError(
            f"unknown control(s) {', '.join(map(repr, unknown))}; valid: {', '.join(allowed)}"
        )


def serve_arguments(argv: list[str]) -> dict[str, str]:
    """What ``panel serve explorer --args ...`` asks to show, as :func:`explore` keywords.

    ``--journal FILE`` replays a journal; ``--study STORAGE [--study-name NAME]`` shows an
    optuna study read-only (e.g. ``--study sqlite:///runs.db``). Other arguments are left
    alone; an empty value, ``--study-name`` without ``--study`` and a journal together with
    a study are refused with the rule.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="panel serve explorer --args", add_help=False)
    parser.add_argument("--journal", metavar="FILE")
    parser.add_argument("--study", metavar="STORAGE")
    parser.add_argument("--study-name", metavar="NAME")
    known, _rest = parser.parse_known_args(list(argv))
    given = {k: v for k, v in vars(known).items() if v is not None}
    for key, value in given.items():
        if not value.strip():
            raise SystemExit(f"--{key.replace('_', '-')} needs a value, got {value!r}")
    if "journal" in given and "study" in given:
        raise SystemExit("give --journal FILE or --study STORAGE, not both")
    if "study_name" in given and "study" not in given:
        raise SystemExit("--study-name needs --study STORAGE (the storage that holds it)")
    return given
