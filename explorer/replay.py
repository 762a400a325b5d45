"""Journals replayed in the explorer: the page's part of a run written by ``core.run.minimize``
or the CLI.

Reading and replaying a journal is core's job: :func:`core.journal.load_journal` checks the file
and says what run it holds, and :func:`core.run.replay` drives that run's strategy again,
answered from the file (following a file still being written), yielding the same batches as
the run did. The explorer's worker feeds those batches to the page
(``explorer.engine.worker.record_batches``). What is left here is the objective the page shows
for a journal: its space, title and the run it fixes (method, budget, seed, options, batch
bound), so the controls show the journaled run and the strategy is built as it was.

The file is only ever read (opened read-only, never locked, truncated or written).
"""

from __future__ import annotations

from typing import Any

from core.journal import JournalError, JournalRun, load_journal
from core.space import SearchSpace

__all__ = ["JournalError", "JournalObjective", "JournalRun", "load_journal", "parse_space"]

#: A journal's space description read back (core's reader, re-exported for the page's code).
parse_space = SearchSpace.from_description


class JournalObjective:
    """What the page shows for a journal (module docstring); nothing is evaluated.

    Parameters
    ----------
    run : JournalRun
        From :func:`load_journal`.
    follow : bool
        Follow the file while it is being written (``core.run.replay(follow=...)``).

    ``journal_path`` is the file (the worker replays it with ``core.run.replay``); ``fixed_run``
    holds the journaled run's method, budget, seed, options and ``max_batch``; ``ended`` the
    end line when the file had it when loaded (the run was over: the page plays it like a test
    function's). Attributes follow :class:`core.objectives.base.Objective` (``name``,
    ``title``, ``space``, ``metric``, ``kind = "journal"``, no known minimum), so the explorer
    shows it like any objective without a true landscape.
    """

    kind = "journal"
    f_opt = None
    x_opt = None

    def __init__(self, run: JournalRun, *, follow: bool = True) -> None:
        self.path = self.journal_path = run.path
        self.space = run.space
        self.name = f"journal:{run.path.name}"
        self.title = run.title
        self.metric = "journaled value"
        self.follow = bool(follow)
        self.ended: dict | None = run.end
        self.n_known = run.n_records
        #: The run to repeat: method, budget, seed, strategy options and batch bound, as
        #: journaled (the explorer builds the same strategy from them).
        self.fixed_run = {"method": run.method, "budget": run.n_evals, "seed": run.seed,
                          "options": dict(run.options), "max_batch": run.max_batch}

    def __call__(self, config: dict[str, Any]) -> Any:
        raise TypeError(f"{self.path.name} is replayed (core.run.replay), not evaluated")
