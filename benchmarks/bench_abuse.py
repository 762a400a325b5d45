"""The explorer under abuse: rapid reloads, many tabs, huge URL parameters, a deleted journal.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_abuse.py`` (``--quick``: fewer reloads and
tabs, for the smoke test). Needs Debian's Chromium at ``/usr/bin/chromium``; it starts its own
``panel serve explorer`` servers on free ports (one plain, one replaying a journal with
``--args --journal FILE``), both discarding sessions 3 s after their page went away.

One round of abuse is:

1. **Reloads.** One tab loads the page 50 times, each time with other URL parameters
   (objective, method, budget, γ, seed, speed, play): every other load is interrupted by the
   next one before its page is up (the server has made a session nobody connects to); the
   others wait until the page shows the run of the link (its budget in the status line).
2. **Tabs.** 20 tabs open at once in one browser window; 10 are closed while still loading,
   the other 10 once their page is up.
3. **100 KB URL parameters.** A known parameter, an unknown one and 10 000 short ones, each
   about 100 KB, sent with ``urllib`` and in the browser; then a 40 KB value (under the
   server's request-line limit), which reaches the page and must be ignored with a message.
4. **A journal deleted while shown.** ``python -m core run ... --journal FILE`` writes a
   journal; the journal server's page plays it; the file is deleted while the page plays; the
   page must keep playing to its end, and a reload must say that the journal cannot be read.
   Then the same with a journal whose run is not over (its end line and last records cut
   off): the page is following the file when it disappears, and must say so.

Reported: the server's tracebacks (every one in its log, whichever code raised it), pages that
failed (did not come up, or broke), how the 100 KB requests were answered, seconds per
action, and each server's memory (RSS). How memory is measured is as in
``benchmarks/bench_explorer.py``: a warm-up round of the same abuse first, then the server has
discarded the sessions and its RSS has settled ("before"); then the measured round, and again
after the sessions were discarded ("after"), which must be within 10 % of "before".
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_explorer import (  # noqa: E402  (this directory's shared server and page helpers)
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    STATUS_JS,
    TRACEBACK_KINDS,
    Server,
    settled_rss,
    status,
)

RELOADS = 50
TABS = 20
BIG = 100_000  # bytes of a huge URL parameter
FITS = 40_000  # bytes of a large parameter still under the server's request-line limit
PAGE_MS = 180_000  # a loaded 2-core machine: generous waits for a page to come up
OBJECTIVES = ("rosenbrock", "ackley", "himmelblau", "rastrigin", "griewank", "rosenbrock_3d")
METHODS = ("sparse_grid", "random", "grid", "adaptive_random")
MESSAGE_JS = """() => { const m = window.Bokeh && Bokeh.documents.length
  ? Bokeh.documents[0].get_model_by_name('message') : null; return m ? m.text : ''; }"""
#: The page's status (``bench_explorer.STATUS_JS``) with the status line's text.
PAGE_JS = f"""() => ({{...({STATUS_JS})(),
  text: Bokeh.documents[0].get_model_by_name('status')?.text ?? ''}})"""


def reload_queries(n: int, seed: int, play: bool = True) -> list[str]:
    """``n`` links, each another experiment (``seed`` shifts them between rounds); with
    ``play``, two in three play at once."""
    out = []
    for i in range(n):
        k = i + seed * n
        out.append(f"?objective={OBJECTIVES[k % len(OBJECTIVES)]}"
                   f"&method={METHODS[k % len(METHODS)]}&budget={40 + (k * 7) % 80}"
                   f"&gamma={(k % 11) / 10}&seed={k}&speed={5 + k % 40}"
                   f"&play={'1' if play and k % 3 else '0'}")
    return out


def budget_of(query: str) -> int:
    return int(query.split("&budget=")[1].split("&")[0])


def wait_page(page, predicate_js: str = "s => s.n >= 1", timeout: float = PAGE_MS) -> bool:
    """Wait until the page's status satisfies ``predicate_js``; False if it never did."""
    try:
        page.wait_for_function(
            f"() => {{ if (!window.Bokeh || !Bokeh.documents.length) return false;"
            f" const s = ({PAGE_JS})(); return ({predicate_js})(s); }}", timeout=timeout)
        return True
    except Exception:
        return False


def reloads(browser, url: str, n: int, seed: int, play: bool = True) -> dict:
    """One tab, ``n`` loads with changing links; every other one interrupted (docstring)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    failed: list[str] = []
    t0 = time.perf_counter()
    queries = reload_queries(n, seed, play)
    try:
        for i, q in enumerate(queries):
            page.goto(url + q, wait_until="commit", timeout=PAGE_MS)
            if i % 2 == 0 and i != n - 1:
                continue  # the next load interrupts this one
            if not wait_page(page, f"s => s.budget == {budget_of(q)} && s.n >= 1"):
                failed.append(q)
    finally:
        context.close()
    return {"seconds": time.perf_counter() - t0, "n": n, "failed": failed}


def tabs(browser, url: str, n: int, seed: int, play: bool = True) -> dict:
    """``n`` tabs of one window opened at once; half closed while loading (docstring)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    failed: list[str] = []
    t0 = time.perf_counter()
    try:
        queries = reload_queries(n, seed + 100, play)
        pages = []
        for q in queries:
            p = context.new_page()
            p.goto(url + q, wait_until="commit", timeout=PAGE_MS)
            pages.append(p)
        for i, (p, q) in enumerate(zip(pages, queries, strict=True)):
            if i % 2 == 0:
                p.close()  # still loading
            elif not wait_page(p, f"s => s.budget == {budget_of(q)} && s.n >= 1"):
                failed.append(q)
        for i, p in enumerate(pages):
            if i % 2:
                p.close()
    finally:
        context.close()
    return {"seconds": time.perf_counter() - t0, "n": n, "failed": failed}


def big_queries() -> dict[str, str]:
    """About ``BIG`` bytes of URL parameters, three ways."""
    return {"known parameter": "?objective=" + "a" * BIG,
            "unknown parameter": "?zz=" + "b" * BIG,
            "many parameters": "?" + "&".join(f"p{i % 1000}=1" for i in range(BIG // 10))}


def answer(url: str) -> str:
    """How the server answers a GET of ``url``: the HTTP status or what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            resp.read()
            return str(resp.status)
    except urllib.error.HTTPError as err:
        return str(err.code)
    except (OSError, urllib.error.URLError) as err:
        return type(getattr(err, "reason", err)).__name__


def big_parameters(browser, url: str) -> dict:
    """100 KB parameters by ``urllib`` and the browser, then a ``FITS`` one in the browser."""
    answers: dict[str, str] = {}
    failed: list[str] = []
    t0 = time.perf_counter()
    for name, q in big_queries().items():
        answers[name] = answer(url + q)
    refused = browser.new_context(viewport={"width": 1280, "height": 720})
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = refused.new_page()
        for name, q in big_queries().items():
            try:
                resp = page.goto(url + q, wait_until="commit", timeout=PAGE_MS)
                answers[f"{name}, browser"] = str(resp.status) if resp else "no response"
            except Exception as err:  # Chromium reports a refused page as an error
                answers[f"{name}, browser"] = str(err).split("\n")[0].split(" at ")[0][-40:]
        page = context.new_page()
        try:
            page.goto(url + "?objective=" + "c" * FITS, wait_until="commit", timeout=PAGE_MS)
            up = wait_page(page)
        except Exception as err:
            up = False
            failed.append(f"40 KB objective: {str(err)[:60]}...{str(err)[-200:]}")
        if not up:
            failed.append("40 KB objective: page not up")
        else:
            try:
                page.wait_for_function(f"() => ({MESSAGE_JS})().includes('Ignored invalid')",
                                       timeout=PAGE_MS)
            except Exception:
                failed.append("40 KB objective: no 'Ignored invalid link values' message")
            if len(page.evaluate(MESSAGE_JS)) > 1000:
                failed.append("40 KB objective: the message repeats the whole value")
    finally:
        context.close()
        refused.close()
    return {"seconds": time.perf_counter() - t0, "n": len(answers) + 1, "answers": answers,
            "failed": failed}


def write_journal(path: Path, *, finished: bool) -> int:
    """A journal by the CLI at ``path`` (replacing one there); ``finished=False`` cuts off the
    end line and the last 5 records, as a run still being written. Returns its records."""
    path.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "core", "run", "--objective", "rosenbrock", "--method",
         "sparse_grid", "--budget", "60", "--dim", "2", "--seed", "2", "--journal", str(path),
         "--no-progress"], cwd=ROOT, check=True, capture_output=True)
    lines = path.read_bytes().splitlines(keepends=True)
    records = [ln for ln in lines[1:] if b'"end"' not in ln]
    if not finished:
        records = records[:-5]
        path.write_bytes(lines[0] + b"".join(records))
    return len(records)


def journal_deleted(browser, url: str, path: Path) -> dict:
    """The shown journal deleted while playing, then while followed (module docstring)."""
    failed: list[str] = []
    t0 = time.perf_counter()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        n = write_journal(path, finished=True)
        page.goto(url + "?speed=10&play=1", wait_until="commit", timeout=PAGE_MS)
        if not wait_page(page, "s => s.n >= 1 && s.frame >= 2"):
            failed.append("finished journal: page not playing")
        path.unlink()
        if not wait_page(page, f"s => s.n == {n} && s.text.includes('finished')"):
            failed.append(f"finished journal deleted: did not play to its {n} evaluations "
                          f"({status(page)['n']} shown)")
        page.reload(wait_until="commit", timeout=PAGE_MS)
        try:
            page.wait_for_function(f"() => ({MESSAGE_JS})().includes('Cannot replay')",
                                   timeout=PAGE_MS)
        except Exception:
            failed.append("deleted journal, reloaded: no 'Cannot replay' message")

        m = write_journal(path, finished=False)
        page.goto(url + "?speed=40&play=1", wait_until="commit", timeout=PAGE_MS)
        if not wait_page(page, f"s => s.n >= {m}"):
            failed.append(f"unfinished journal: page did not reach its {m} evaluations")
        path.unlink()
        try:  # the replay waits for the next point, looks again and finds no file
            page.wait_for_function(
                f"() => {{ const s = ({PAGE_JS})(); return ({MESSAGE_JS})().length > 0"
                f" || s.text.includes('finished') || s.text.includes('cannot be read'); }}",
                timeout=PAGE_MS)
        except Exception:
            failed.append("unfinished journal deleted while followed: the page never said so")
    finally:
        context.close()
    return {"seconds": time.perf_counter() - t0, "n": 2, "failed": failed}


def abuse_round(browser, plain: Server, journal: Server, path: Path, *, n_reloads: int,
                n_tabs: int, seed: int) -> dict[str, dict]:
    out = {}
    for name, action in (("reloads", lambda: reloads(browser, plain.url, n_reloads, seed)),
                         ("tabs", lambda: tabs(browser, plain.url, n_tabs, seed)),
                         ("big", lambda: big_parameters(browser, plain.url)),
                         ("journal", lambda: journal_deleted(browser, journal.url, path))):
        out[name] = action()
        print(f"  round {seed}, {name}: {out[name]['seconds']:.1f} s, "
              f"{len(out[name]['failed'])} failed", flush=True)
    return out


def serves_a_working_page(browser, url: str, query: str) -> bool:
    """A fresh page comes up and its player shows new steps."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(url + query, wait_until="commit", timeout=PAGE_MS)
        if not wait_page(page, "s => s.n >= 1 && s.frame >= 0"):
            return False
        f = status(page)["frame"]
        return wait_page(page, f"s => s.frame >= {f + 3}")
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"10 reloads and 6 tabs per round (default {RELOADS} and {TABS})")
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        print(f"(skipped: no Chromium at {CHROMIUM}; as root: apt-get install chromium)")
        return 0
    n_reloads, n_tabs = (10, 6) if args.quick else (RELOADS, TABS)
    from playwright.sync_api import sync_playwright

    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_abuse_"))
    path = tmp / "run.jsonl"
    write_journal(path, finished=True)
    plain = Server()
    try:
        journal = Server("--args", "--journal", str(path))
    except RuntimeError:
        plain.stop()
        raise
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            abuse_round(browser, plain, journal, path, n_reloads=n_reloads, n_tabs=n_tabs,
                        seed=0)  # warm-up
            base = settled_rss(plain), settled_rss(journal, at_least=0)
            r = abuse_round(browser, plain, journal, path, n_reloads=n_reloads,
                            n_tabs=n_tabs, seed=1)
            after = settled_rss(plain), settled_rss(journal, at_least=0)
            write_journal(path, finished=True)
            working = (serves_a_working_page(browser, plain.url, "?budget=300&speed=20&play=1"),
                       serves_a_working_page(browser, journal.url, "?speed=20&play=1"))
            browser.close()
        errors = plain.errors() + journal.errors()
        kinds = plain.traceback_kinds() + journal.traceback_kinds()
        closed = plain.closed_tab_writes() + journal.closed_tab_writes()
    finally:
        plain.stop()
        journal.stop()
        path.unlink(missing_ok=True)
        tmp.rmdir()

    def row(measure: str, result: str, target: str = "", met: bool | None = None) -> None:
        rows.append((measure, result, target, "" if met is None else ("yes" if met else "NO")))

    row("tracebacks in the servers' logs (both rounds)", str(len(errors)), "0", not errors)
    for kind, what in TRACEBACK_KINDS.items():
        row(f"  of which {what}", str(kinds.count(kind)))
    row("messages of a closed tab, reported in one line each (handled)", str(closed))
    for line in sorted(set(errors)):
        print(f"    server error x{errors.count(line)}: {line[:150]}")
    names = {"reloads": f"{n_reloads} reloads, changing links (every other interrupted)",
             "tabs": f"{n_tabs} tabs at once, half closed while loading",
             "big": "100 KB URL parameters (3 kinds, urllib and browser) + a 40 KB one",
             "journal": "journal deleted while shown (finished; followed)"}
    for key, what in names.items():
        res = r[key]
        row(f"{what}: failed pages", str(len(res["failed"])), "0", not res["failed"])
        for f in res["failed"]:
            print(f"    failed ({key}): {f[:150]}")
        row(f"{what}: seconds per action", f"{res['seconds'] / res['n']:.2f}")
    for name, how in r["big"]["answers"].items():
        row(f"100 KB {name}: answered with", how)
    row("afterwards: a fresh page comes up and plays (plain, journal server)",
        f"{working[0]}, {working[1]}", "True, True", all(working))
    for i, name in enumerate(("plain", "journal")):
        row(f"{name} server RSS (before = after a warm-up round)",
            f"{base[i]:.0f} MB before, {after[i]:.0f} MB after",
            "after <= before + 10 %", after[i] <= 1.1 * base[i])

    print(f"\nExplorer under abuse ({os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f})\n")
    head = ("measure", "result", "target", "met")
    w = [max(len(x[i]) for x in [head, *rows]) for i in range(4)]
    print(" | ".join(h.ljust(x) for h, x in zip(head, w, strict=True)))
    print("-+-".join("-" * x for x in w))
    for x in rows:
        print(" | ".join(c.ljust(y) for c, y in zip(x, w, strict=True)))
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
