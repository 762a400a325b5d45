"""The served explorer under abuse, in Debian's Chromium: reloads with changing links, tabs
opened and closed while loading, huge URL parameters, a replayed journal deleted while shown.

A small, deterministic version of ``benchmarks/bench_abuse.py`` (whose actions these tests
call, with fewer reloads and tabs): every wait is on a condition of the page, bounded by a
generous timeout; nothing depends on how fast the machine is. Memory (RSS after the sessions
are discarded) is a benchmark figure, not asserted here. The links do not play (``play=0``),
so the actions take the same time on any machine. Bokeh's and Tornado's own tracebacks when a
tab closes (``docs/decisions.md``) are counted by the benchmark, by kind; these tests assert
that no traceback passes through the project's code.
"""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_abuse  # noqa: E402  (the benchmark's actions, run smaller)
import bench_explorer  # noqa: E402  (its classification of server tracebacks)

pytestmark = pytest.mark.ui


def _project_tracebacks(log, start: int = 0) -> list[str]:
    """Tracebacks the server logged since byte ``start`` that pass through the project's code.
    (Bokeh's server also logs tracebacks of its own when a tab closes while messages of it are
    still queued, in Bokeh's code alone: those are counted by the benchmark.)"""
    text = log.read_bytes()[start:].decode("utf-8", "replace")
    return [b for b in text.split("Traceback (most recent call last):")[1:]
            if bench_explorer.traceback_kind(b) == "project"]


#: Loads of one tab, and tabs opened at once (the benchmark's quick settings are 10 and 6, its
#: full ones 50 and 20): enough for loads interrupted by the next one and tabs closed while
#: loading, each page built by the server in turn on a loaded machine.
RELOADS, TABS = 3, 3


def test_reloads_with_changing_links(browser, explorer_server):
    """Loads of one tab, every other one interrupted by the next: each awaited page shows the
    run of its link; no traceback in the project's code; a working page afterwards."""
    url, log = explorer_server
    start = log.stat().st_size
    result = bench_abuse.reloads(browser, url, RELOADS, seed=7, play=False)
    assert not result["failed"], result["failed"]
    assert bench_abuse.serves_a_working_page(browser, url, "?budget=120&speed=10&play=1")
    assert not _project_tracebacks(log, start)


def test_tabs_opened_and_closed_while_loading(browser, explorer_server):
    url, log = explorer_server
    start = log.stat().st_size
    result = bench_abuse.tabs(browser, url, TABS, seed=7, play=False)
    assert not result["failed"], result["failed"]
    assert bench_abuse.serves_a_working_page(browser, url, "?budget=120&speed=10&play=1")
    assert not _project_tracebacks(log, start)


def test_huge_url_parameters_are_refused_or_ignored(browser, explorer_server):
    """100 KB parameters are refused before the page is made (no page, no server error); a
    40 KB one reaches the page, which ignores it and says so in a short message."""
    url, log = explorer_server
    start = log.stat().st_size
    result = bench_abuse.big_parameters(browser, url)
    assert not result["failed"], result["failed"]
    for name, how in result["answers"].items():
        assert how not in ("200", "500"), (name, how)
    assert bench_abuse.serves_a_working_page(browser, url, "?budget=120&speed=10&play=1")
    assert not _project_tracebacks(log, start)


def test_journal_deleted_while_shown(browser, journal_server):
    """A finished journal deleted while its page plays: the page plays to its end and a reload
    says the journal cannot be replayed; a journal still being written, deleted while the page
    follows it: the page says so. No traceback; afterwards a new journal's page plays."""
    url, path, log = journal_server
    start = log.stat().st_size
    result = bench_abuse.journal_deleted(browser, url, path)
    assert not result["failed"], result["failed"]
    bench_abuse.write_journal(path, finished=True)
    assert bench_abuse.serves_a_working_page(browser, url, "?speed=10&play=1")
    assert not _project_tracebacks(log, start)
