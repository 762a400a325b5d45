"""Any optuna study in the explorer: its finished trials replayed as a run, read-only.

``explore(study=study)`` or ``explore(study="sqlite:///runs.db", study_name="s")`` shows an
optuna study, whatever its sampler, as the explorer shows a run:

- **The storage is only read.** A study object is used as given. A storage URL is opened
  with :func:`optuna.load_study` on a storage that cannot write: a ``sqlite:///`` file is
  opened read-only by SQLite itself (``mode=ro``), so neither optuna's table creation nor its
  version bookkeeping can change the file, and a file that is not an optuna database is refused
  (nothing is created); any other database URL must already hold optuna's tables (checked
  first with SQLAlchemy's inspector) and is opened with ``skip_table_creation``.
- **The space** is read from the trials' distributions (:func:`study_space`): the parameters
  every finished trial has (optuna's ``intersection_search_space``), in the order the first
  trial suggested them, each mapped as the sampler maps it
  (:func:`core.integrations.optuna.to_core_param`: floats and ints keep ``log``, categoricals
  their choices); a stepped float or int is shown on its range, a single-valued parameter is
  left out (both noted).
- **The run**: the COMPLETE trials, in the order they finished, one evaluation each (the value,
  negated for a maximized study, so lower is better as everywhere in the explorer; a
  multi-objective study shows its first objective). PRUNED and FAIL trials, and trials that
  lack a parameter of the space, are counted in the page's message, not drawn. The explorer's
  driver runs :class:`StudyReplay`, an ask/tell object that asks the trials' points in that
  order, on :class:`StudyObjective`, which answers each with the trial's value: nothing is
  evaluated.
- **The model** beside the landscape is the least-squares sparse-grid surrogate of the
  evaluations up to the shown step (:func:`core.importance.fit_least_squares`, the fit the
  importance view uses for scattered points; a trial keeps native values only, so a sparse
  grid cannot be recovered), and the parallel coordinates and importance views show the trials.
- **A study still running** (trials RUNNING or WAITING when it was read) is followed as a
  journal being written is: the run is live, and while the page plays the replay polls the
  storage every :data:`POLL_SECONDS` for trials that finished since, until none is running or
  the page goes away.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

import numpy as np

from core.result import Measurement
from core.space import Categorical, Float, Int, SearchSpace

__all__ = ["POLL_SECONDS", "StudyObjective", "StudyReplay", "load_study_readonly",
           "study_objective", "study_space"]

#: Seconds between two looks at a study that still has running trials.
POLL_SECONDS = 0.5
#: A fitted surrogate is reused while less than this share of the evaluations is new.
_FIT_REFRESH = 0.1


# -- opening a storage without writing to it -----------------------------------------------------
def _readonly_sqlite_url(url: str) -> str:
    """``sqlite:///path`` as a URL SQLite opens read-only (``mode=ro``, never created)."""
    from pathlib import Path
    from urllib.parse import quote

    rest = url[len("sqlite:///"):]
    path, _, _query = rest.partition("?")
    if not path or path == ":memory:":
        raise ValueError(f"a sqlite storage URL must name a file, got {url!r:.120}")
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no such study database: {str(file)!r:.200}")
    return f"sqlite:///file:{quote(str(file.resolve()))}?mode=ro&uri=true"


def load_study_readonly(storage: str, study_name: str | None = None) -> Any:
    """An optuna study loaded from ``storage`` (a database URL) without writing to it.

    Parameters
    ----------
    storage : str
        ``sqlite:///path/to/file.db`` (opened read-only) or another SQLAlchemy URL of a database
        that already holds an optuna storage.
    study_name : str, optional
        Required when the storage holds several studies.

    Raises
    ------
    ValueError
        Not an optuna storage, no such study, or several studies and no name.
    FileNotFoundError
        A sqlite file that does not exist (it is not created).
    """
    import optuna
    import sqlalchemy
    from optuna.storages import RDBStorage

    if not isinstance(storage, str):
        raise TypeError(f"`study` must be an optuna.Study or a storage URL, got {storage!r:.80}")
    kwargs: dict[str, Any] = {}
    if storage.startswith("sqlite:///"):
        url = _readonly_sqlite_url(storage)
    elif storage.startswith("sqlite:"):
        raise ValueError(f"a sqlite storage URL must be sqlite:///FILE, got {storage!r:.120}")
    else:
        url = storage
        engine = sqlalchemy.create_engine(url)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
        finally:
            engine.dispose()
        missing = {"studies", "trials", "version_info", "alembic_version"} - tables
        if missing:
            raise ValueError(f"{storage!r:.120} holds no optuna storage (no tables "
                             f"{', '.join(sorted(missing))}); nothing was created")
        kwargs = {"skip_table_creation": True}
    try:
        rdb = RDBStorage(url, **kwargs)
    except sqlalchemy.exc.OperationalError as err:
        # mode=ro: optuna's first write (tables, version info) fails instead of creating them
        raise ValueError(f"{storage!r:.120} is not an optuna storage that can be read as it "
                         f"is ({str(err).splitlines()[0]:.160})") from None
    except RuntimeError as err:  # an older schema: optuna asks for a migration
        raise ValueError(f"{storage!r:.120} needs a migration (`optuna storage upgrade`), "
                         f"which is never done here: {str(err):.200}") from None
    names = [s.study_name for s in optuna.get_all_study_summaries(rdb, include_best_trial=False)]
    if study_name is None:
        if len(names) != 1:
            listed = ", ".join(map(repr, names[:10])) or "none"
            raise ValueError(f"{storage!r:.120} holds {len(names)} studies ({listed}); "
                             "pass study_name=...")
        study_name = names[0]
    if study_name not in names:
        listed = ", ".join(map(repr, names[:10])) or "none"
        raise ValueError(f"{storage!r:.120} has no study {study_name!r:.80} (it has {listed})")
    return optuna.load_study(study_name=study_name, storage=rdb)


# -- the space ------------------------------------------------------------------------------
def study_space(trials: list[Any]) -> tuple[SearchSpace, list[str]]:
    """The search space of finished trials and notes on what it leaves out (module docstring).

    Parameters
    ----------
    trials : list of optuna.trial.FrozenTrial
        Finished trials (COMPLETE, PRUNED, FAIL), the first suggesting order.

    Returns
    -------
    space : SearchSpace
    notes : list of str
        Parameters shown on their range (stepped) or left out (a single value).

    Raises
    ------
    ValueError
        No parameter that every trial has and that takes more than one value.
    """
    from optuna.search_space import intersection_search_space

    from core.integrations._space import Stepped
    from core.integrations.optuna import to_core_param

    common = intersection_search_space(trials) if trials else {}
    order = [n for t in trials for n in t.distributions]
    names = [n for n in dict.fromkeys(order) if n in common]
    params: dict[str, Float | Int | Categorical] = {}
    stepped, single = [], []
    for name in names:
        dist = common[name]
        if dist.single():
            single.append(name)
            continue
        p = to_core_param(dist)
        if isinstance(p, Stepped):
            stepped.append(f"{name} (step {p.step:g})")
            p = Int(int(p.low), int(p.high)) if p.integer else Float(p.low, p.high)
        params[name] = p
    if not params:
        raise ValueError("the study's finished trials share no parameter with more than one "
                         "value: there is nothing to draw")
    notes = []
    if stepped:
        notes.append("Stepped parameters are shown on their range: " + ", ".join(stepped) + ".")
    if single:
        notes.append("Parameters with one value are left out: " + ", ".join(single) + ".")
    return SearchSpace(params), notes


# -- the trials as a run ---------------------------------------------------------------------
def _finished(study: Any) -> tuple[list[Any], dict[str, int]]:
    """Finished trials (COMPLETE, PRUNED, FAIL) in the order they finished, and state counts."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {s.name: 0 for s in TrialState}
    for t in trials:
        counts[t.state.name] += 1
    done = [t for t in trials if t.state.is_finished()]
    done.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete or 0, t.number))
    return done, counts


class StudyReplay:
    """The ask/tell object the explorer's driver runs for a study: it asks the points of the
    study's COMPLETE trials in the order they finished, one batch of at most ``max_points``
    (module docstring). Not a search strategy: it proposes nothing of its own.

    It waits (polling the study, stoppable) for trials not finished yet while the study has
    running ones and ``follow`` is set; then it stops with ``"exhausted"``.
    """

    title = "Optuna study (replayed)"

    def __init__(self, objective: StudyObjective, stop: Any = None) -> None:
        self.objective = objective
        self.dim = objective.space.dim
        self.n_evals = 2**31 - 1  # a followed study has no known end
        self.stop_event = stop
        self.stop_reason: str | None = None
        self.stop_detail = ""
        self.origins: tuple = ()
        self.best: tuple[np.ndarray, float] | None = None
        self._pending: np.ndarray | None = None
        self._next = 0  # trials handed out

    def ask(self, max_points: int | None = None) -> np.ndarray:
        if self._pending is not None:
            raise RuntimeError("StudyReplay.ask called again before the last batch was told")
        if self.stop_reason is not None:
            return np.empty((0, self.dim))
        obj = self.objective
        while self._next >= obj.n_known:
            if not obj.wait_for_trials(self.stop_event):
                self.stop_reason = "exhausted" if obj.ended is not None else "stopped"
                self.stop_detail = f"{obj.n_known} trials replayed"
                return np.empty((0, self.dim))
        k = obj.n_known - self._next if max_points is None else \
            min(int(max_points), obj.n_known - self._next)
        U = obj.U[self._next:self._next + k].copy()
        obj.hand_out(self._next, k)
        self._next += k
        self._pending = U
        return U

    def tell(self, U: Any, y: Any) -> None:
        if self._pending is None:
            raise RuntimeError("StudyReplay.tell called without a pending batch")
        y = np.asarray(y, dtype=np.float64)
        for u, v in zip(self._pending, y, strict=True):
            if math.isfinite(v) and (self.best is None or v < self.best[1]):
                self.best = (u.copy(), float(v))
        self._pending = None

    def stop(self, reason: str = "stopped") -> None:
        self.stop_reason = reason


class StudyObjective:
    """A study's trials as an explorer objective (module docstring): answers the configuration
    of the ``k``-th replayed trial with its value; nothing is evaluated.

    Parameters
    ----------
    study : optuna.Study
    follow : bool
        Follow the study while it has RUNNING or WAITING trials.
    sampler : str, optional
        The sampler's name, for the message (a storage does not record it).

    Attributes follow :class:`core.objectives.base.Objective` (``name``, ``title``, ``space``,
    ``metric``, ``kind = "study"``, no known minimum); ``fixed_run`` holds the run the page
    shows in its (then fixed) controls.
    """

    kind = "study"
    f_opt = None
    x_opt = None
    has_model = True  # the least-squares sparse-grid surrogate of the trials

    def __init__(self, study: Any, *, follow: bool = True, sampler: str | None = None) -> None:
        from optuna.study import StudyDirection

        self.study = study
        self.follow = bool(follow)
        self.directions = list(study.directions)
        self.sign = -1.0 if self.directions[0] == StudyDirection.MAXIMIZE else 1.0
        finished, counts = _finished(study)
        self.space, self.notes = study_space(finished)
        self.name = f"study:{study.study_name}"
        self.title = f"Optuna study {study.study_name}"
        self.sampler = sampler
        self.metric = ("−value (maximized)" if self.sign < 0 else "value") + \
            (" of objective 1" if len(self.directions) > 1 else "")
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self.U = np.empty((0, self.space.dim))
        self.values = np.empty(0)
        self.numbers: list[int] = []
        self.left_out = 0
        self.counts = counts
        self._answers: deque[float] = deque()
        self._fits: dict[int, Any] = {}
        self._wake = threading.Event()
        self._add(finished, counts)
        n = max(len(self.values), 1)
        #: The run the controls show (fixed): one batch per trial, at most about 150 steps.
        #: Its ``title`` names what runs: the study's trials (its sampler when known), never
        #: the method that replays them.
        title = (f"optuna study (its sampler: {self.sampler})" if self.sampler
                 else "optuna study trials")
        self.fixed_run = {"method": "random", "budget": n, "seed": 0, "options": {},
                          "max_batch": 1 if self.ended is None else max(1, round(n / 150)),
                          "title": title}

    # -- reading the study --------------------------------------------------------------------
    def _add(self, finished: list[Any], counts: dict[str, int]) -> None:
        from optuna.trial import TrialState

        names = self.space.names
        rows, values = [], []
        for t in finished:
            if t.number in self._seen:
                continue
            self._seen.add(t.number)
            if t.state != TrialState.COMPLETE:
                continue
            if not all(n in t.params for n in names):
                self.left_out += 1
                continue
            try:
                u = self.space.to_unit({n: t.params[n] for n in names})[0]
            except (ValueError, TypeError, KeyError):
                self.left_out += 1  # a value outside the space (a trial of another range)
                continue
            v = t.values[0] if t.values else math.nan
            rows.append(u)
            values.append(self.sign * float(v) if v is not None else math.nan)
            self.numbers.append(t.number)
        with self._lock:
            if rows:
                self.U = np.vstack([self.U, np.array(rows)])
                self.values = np.concatenate([self.values, np.array(values)])
            self.counts = counts

    @property
    def n_known(self) -> int:
        return len(self.values)

    @property
    def ended(self) -> dict | None:
        """``{"end": "finished", "nfev": n}`` once no trial is RUNNING or WAITING, else None
        (a study being optimized elsewhere), or always when not following."""
        running = self.counts.get("RUNNING", 0) + self.counts.get("WAITING", 0)
        if running and self.follow:
            return None
        return {"end": "finished", "nfev": self.n_known}

    def refresh(self) -> int:
        """Read the trials finished since the last look; returns how many are known."""
        finished, counts = _finished(self.study)
        self._add(finished, counts)
        return self.n_known

    def wait_for_trials(self, stop: Any = None) -> bool:
        """Wait for more trials while the study runs; False when none will come (or stop)."""
        n = self.n_known
        while self.n_known == n:
            if self.ended is not None:
                return False
            if stop is not None and stop.is_set():
                return False
            (stop.wait if hasattr(stop, "wait") else self._wake.wait)(POLL_SECONDS)
            self.refresh()
        return True

    def close(self) -> None:
        """Stop following (a waiting replay ends)."""
        self.follow = False
        self._wake.set()

    # -- the driver's side ----------------------------------------------------------------------
    def replay_strategy(self, stop: Any = None) -> tuple[StudyReplay, int]:
        """A fresh :class:`StudyReplay` and its batch bound (the explorer's run worker)."""
        self._answers.clear()
        return StudyReplay(self, stop), int(self.fixed_run["max_batch"])

    def hand_out(self, start: int, k: int) -> None:
        self._answers.extend(float(v) for v in self.values[start:start + k])

    def __call__(self, config: dict[str, Any]) -> Measurement:
        if not self._answers:  # called outside a replay: not a trial of the study
            return Measurement(math.nan, {"error": "not a trial of the study"})
        return Measurement(self._answers.popleft())

    # -- the model ----------------------------------------------------------------------------
    def surrogate(self, U: np.ndarray, y: np.ndarray) -> Any:
        """The least-squares sparse-grid surrogate of these evaluations (finite ones), reused
        while fewer than :data:`_FIT_REFRESH` of them are new; raises ``ValueError`` when
        there are too few."""
        from core.importance import fit_least_squares

        ok = np.isfinite(y)
        n = int(ok.sum())
        for m in sorted(self._fits, reverse=True):
            if m <= n and n - m <= _FIT_REFRESH * n:
                return self._fits[m]
        fit = fit_least_squares(U[ok], y[ok]).surrogate
        self._fits[n] = fit
        return fit

    def summary(self) -> str:
        """One sentence for the page (plain text; escape it before HTML)."""
        c = self.counts
        by = f" (sampler {self.sampler})" if self.sampler else ""
        parts = [f"Optuna study {self.study.study_name!r}{by}: "
                 f"{self.n_known} completed trials replayed in the order they finished"]
        other = [f"{c.get(s, 0)} {s.lower()}" for s in ("PRUNED", "FAIL", "RUNNING", "WAITING")
                 if c.get(s, 0)]
        if other:
            parts.append("; not drawn: " + ", ".join(other))
        if self.left_out:
            parts.append(f"; {self.left_out} completed trial(s) left out (a parameter missing "
                         "or outside the space)")
        text = "".join(parts) + "."
        if self.n_known:
            b = int(np.nanargmin(np.where(np.isfinite(self.values), self.values, np.inf)))
            text += f" Best: trial {self.numbers[b]} ({self.sign * self.values[b]:.6g})."
        if self.sign < 0:
            text += " The study maximizes: values are shown negated (lower is better)."
        if len(self.directions) > 1:
            text += " Multi-objective: the first objective is shown."
        return " ".join([text, *self.notes])


def study_objective(study: Any, study_name: str | None = None, *,
                    follow: bool = True) -> tuple[StudyObjective | None, list[str]]:
    """The objective of ``study`` (a study object or a storage URL) and the page's notes;
    ``(None, [why])`` when it cannot be shown (plain text: the page escapes messages)."""
    import optuna

    if isinstance(study, optuna.Study):
        if study_name is not None and study_name != study.study_name:
            raise ValueError(f"study_name={study_name!r:.80} but the study given is "
                             f"{study.study_name!r:.80}")
        loaded, sampler = study, type(study.sampler).__name__
    else:
        sampler = None  # a storage does not record it
        try:
            loaded = load_study_readonly(study, study_name)
        except (ValueError, FileNotFoundError, KeyError) as err:
            return None, [f"Cannot show the study: {err}"]
    try:
        obj = StudyObjective(loaded, follow=follow, sampler=sampler)
    except ValueError as err:
        return None, [f"Cannot show the study {loaded.study_name!r}: {err}"]
    return obj, [obj.summary()]

