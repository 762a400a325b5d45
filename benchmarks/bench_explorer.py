"""Explorer load and responsiveness: server CPU per played frame, frames per second with many
sessions, slider release to first frame, and many browser sessions held at once.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_explorer.py`` (``--quick`` for shorter
windows, ``--no-browser`` for the in-process part only, ``--no-sessions`` to skip part 4,
``--sessions-only`` for part 4 alone). The browser part needs Debian's
Chromium at ``/usr/bin/chromium``; it starts its own ``panel serve explorer`` on a free port.

A run whose frames are known plays in the page (``explorer/views/timeline.py``): the page's
clock shows the next step by itself and tells the server the shown step every 200 ms; the
server answers with the model image of that step at most once per tick of its periodic
callback (100 ms). So at 20 steps per second "a played frame" costs the server, on average, a
quarter of a report and half a tick.

Measured:

1. **Server CPU per played frame, in process.** The page is built in a Bokeh ``Document`` as
   ``panel serve`` builds it; a 2-D sparse-grid run of budget 1000 plays from step 125 for 60
   frames at 20 steps per second: every fourth frame the page's report is set as its message
   sets it, and every second frame the session's tick runs; everything this changed in the
   document is serialized as one PATCH-DOC message, as the server sends it
   (``time.process_time`` of this thread; changes collected with ``Document.on_change``).
2. **Frames per second with 10 sessions, server side.** Ten pages in ten Documents, each
   playing at 20 steps per second (a report every 200 ms, a tick every 100 ms), handled
   round-robin by one thread as the server's event loop does: the frames each session gets
   handled per second of wall time, and the CPU per frame.
3. **Slider release to first frame of the new run**, in process (the server's ticks every 100
   ms until the new run's first frame is published) and in the browser.
4. **Sessions held at once in the browser** (30, for 2 minutes; ``--quick``: 30 s): one browser
   window per session, every session playing and looping. Reported: server errors (every
   traceback in the server's log, whichever code raised it), sessions whose player did not
   show a new step during the window, steps shown per second per session (counted in each
   page from its player's value), the server's CPU per shown step in its event-loop thread,
   and the server's memory (RSS) before, during and after the windows closed.

How memory is measured. The question is whether closed sessions leave anything behind, so the
baseline is taken after a warm-up round: as many windows as will be held (``--warm``) open the
same experiment, animate a few frames and close, and the server discards them. What stays after
that round is not per-session state but what any server keeps once used: imported modules,
Bokeh's model classes, the finished shared run in the run store (cached by design, a bounded
number of runs, whose model images are dropped once nobody shows them) and the allocators'
free lists (Python's object arenas and glibc's heap keep pages that once held 30 sessions'
objects). Then the 30 windows are held for the window and closed, and "after" must come back to
within 10 % of the baseline: a second round of the same size must not grow the server. After
closing, the benchmark waits until the server has discarded the sessions (3 s unused, checked
every second) and the RSS has stopped falling.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
TARGET_CPU_MS = 10.0
TARGET_RELEASE_MS = 300.0
TARGET_FPS = 5.0
HELD_SESSIONS = 30

STATUS_JS = """() => {
  const d = Bokeh.documents[0];
  const m = d.get_model_by_name('status');
  const t = m ? m.text : '';
  const ev = /evaluations: (\\d+)\\/(\\d+)/.exec(t);
  const player = Array.from(d.all_models).find(x => x.constructor.__name__ === 'Player');
  if (player && window.__frames === undefined) {  // the steps the page's player shows
    window.__frames = 0;
    player.properties.value.change.connect(() => { window.__frames += 1; });
  }
  return {n: ev ? +ev[1] : -1, budget: ev ? +ev[2] : -1,
          frame: window.__frames === undefined ? -1 : window.__frames};
}"""


# ---------------------------------------------------------------------------------------------
# in process
# ---------------------------------------------------------------------------------------------
def build_page(services=None):
    """The served page in a fresh Document, its periodic callback not started; returns
    ``(doc, app, events)``: ``events`` collects every change of the document
    (``Document.on_change``), as the server would send them."""
    import panel as pn
    from bokeh.document import Document

    import explorer.app as app_module
    from explorer.clock import Clock

    made = []
    original_start, original_init = Clock.start, app_module.ExplorerApp.__init__

    def init(self, session=None, svc=None, **kw):
        original_init(self, session, kw.pop("services", None) or svc or services, **kw)
        made.append(self)

    Clock.start = lambda self: None  # we run the ticks by hand
    app_module.ExplorerApp.__init__ = init
    try:
        doc = Document()
        pn.state.curdoc = doc
        app_module.create_app(services=services).server_doc(doc)
    finally:
        Clock.start, app_module.ExplorerApp.__init__ = original_start, original_init
    events: list = []
    doc.on_change(events.append)
    return doc, made[0], events


def flush(events: list, proto) -> int:
    """Serialize the collected changes as one PATCH-DOC message: its bytes."""
    patch = [e for e in events if hasattr(e, "to_serializable")]
    events.clear()
    if not patch:
        return 0
    msg = proto.create("PATCH-DOC", patch)
    size = len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
    return size + sum(memoryview(b.data).nbytes for b in msg.buffers)


def prepared(budget: int = 1000, start: int = 125, services=None):
    """A page whose run (computed inline) is published, shown at ``start`` and playing."""
    from explorer.services import Services

    services = services or Services(inline=True)
    doc, app, events = build_page(services)
    s, r = app.session, app.runner
    r.background.race_enabled = False
    s.budget = budget
    r.tick(0.0)
    for k in range(s.n_steps):  # the model images, as the run's worker thread computes them
        r.worker.want(s.dims, k)
    r.seek(min(start, s.n_steps - 1))
    s.speed = 20
    r.play()
    events.clear()
    return doc, app, events


def play_frame(app, k: int) -> None:
    """What one played frame makes the server do at 20 steps per second: every fourth frame
    the page reports the step it shows (``timeline.REPORT_MS``, 200 ms: its player's
    ``value_throttled``), every second frame (a tick per 100 ms) the session's tick runs."""
    import param

    player = app.controls.history
    if k % 4 == 0:
        with param.edit_constant(player):
            player.value_throttled = k % max(app.session.n_steps, 1)
    if k % 2 == 0:
        app.runner.tick(0.1)


def frame_cpu_in_process(n_frames: int = 60) -> dict[str, float]:
    from bokeh.protocol import Protocol
    from panel.io.state import set_curdoc

    doc, app, events = prepared()
    proto = Protocol()
    k0 = app.session.step
    cpu, sizes = [], []
    for i in range(1, n_frames + 1):
        with set_curdoc(doc):
            t0 = time.process_time()
            play_frame(app, k0 + i)
            size = flush(events, proto)
            cpu.append((time.process_time() - t0) * 1e3)
        sizes.append(size)
    points = len(app.views.landscape.points.data["x"])
    app.runner.close()
    return {"frame_ms": statistics.median(cpu), "frame_ms_mean": statistics.mean(cpu),
            "frame_ms_p90": sorted(cpu)[int(0.9 * len(cpu))],
            "kB": statistics.mean(sizes) / 1e3, "points": points}


def server_side_fps(n_sessions: int = 10, seconds: float = 10.0) -> dict[str, float]:
    """``n_sessions`` pages handled round-robin by one thread, a frame each every 50 ms."""
    from bokeh.protocol import Protocol
    from panel.io.state import set_curdoc

    from explorer.services import Services

    services = Services(inline=True)
    pages = [prepared(start=0, services=services) for _ in range(n_sessions)]
    for _, app, _ in pages:
        app.session.loop = True
    proto = Protocol()
    frames = [0] * n_sessions
    cpu0, t0 = time.process_time(), time.perf_counter()
    next_tick = t0
    while time.perf_counter() - t0 < seconds:
        now = time.perf_counter()
        if now < next_tick:
            time.sleep(next_tick - now)
        next_tick += 0.05
        for i, (doc, app, events) in enumerate(pages):
            with set_curdoc(doc):
                frames[i] += 1
                play_frame(app, frames[i])
                flush(events, proto)
    cpu1, t1 = time.process_time(), time.perf_counter()
    for _, app, _ in pages:
        app.runner.close()
    services.close()
    fps = [f / (t1 - t0) for f in frames]
    return {"min_fps": min(fps), "mean_fps": statistics.mean(fps),
            "cpu_ms_per_frame": (cpu1 - cpu0) * 1e3 / max(sum(frames), 1)}


def release_latency_in_process(budgets=(120, 200, 300, 250, 150, 280)) -> dict[str, float]:
    """Budget changes (what releasing the Budget slider does) until the new run's first frame
    is published, with the session's ticks every 100 ms and the runs in worker threads."""
    from explorer.services import Services

    services = Services()
    doc, app, events = build_page(services)
    s, r = app.session, app.runner
    r.background.race_enabled = False
    out = []
    for b in budgets:
        t0 = time.perf_counter()
        s.budget = b
        next_tick = t0
        while not (s.run is not None and s.run.key.budget == b and s.n_steps > 0):
            now = time.perf_counter()
            if now < next_tick:
                time.sleep(next_tick - now)
            next_tick += 0.1
            r.tick(0.1)
        out.append((time.perf_counter() - t0) * 1e3)
    r.close()
    services.close()
    return {"median_ms": statistics.median(out), "max_ms": max(out)}


# ---------------------------------------------------------------------------------------------
# with a server and Chromium
# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Kinds of server tracebacks, by where they were raised (``traceback_kind``).
TRACEBACK_KINDS = {
    "project": "through the project's code (explorer/, core/)",
    "bokeh-detached": "Bokeh: a message handled on a connection its keep-alive already "
                      "detached (bokeh/server/connection.py, AssertionError)",
    "panel-closed": "Panel/Tornado: a write to a closed WebSocket (WebSocketClosedError)",
    "other": "anything else",
}


def traceback_files(block: str) -> list[str]:
    """The source files of a logged traceback's frames (not the log lines around it, which
    may name the page's URL, ``/explorer/ws?...``)."""
    return [ln.split('"')[1] for ln in block.splitlines()
            if ln.lstrip().startswith('File "') and ln.count('"') >= 2]


def traceback_kind(block: str) -> str:
    """Which of :data:`TRACEBACK_KINDS` a logged traceback is."""
    files = traceback_files(block)
    if any(("/explorer/" in f or "/core/" in f) and "site-packages" not in f for f in files):
        return "project"
    if any(f.endswith("bokeh/server/connection.py") for f in files) and \
            "AssertionError" in block:
        return "bokeh-detached"
    if "WebSocketClosedError" in block or "StreamClosedError" in block:
        return "panel-closed"
    return "other"


class Server:
    """``panel serve explorer`` on a free port (``args`` appended to its command line, e.g.
    ``"--args", "--journal", FILE``), its log in a temporary file."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/explorer"
        self.log_path = Path(tempfile.mkstemp(prefix="bench_explorer_", suffix=".log")[1])
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "explorer", "--address", "127.0.0.1",
             "--port", str(self.port), "--allow-websocket-origin", f"127.0.0.1:{self.port}",
             "--num-procs", "1", "--check-unused-sessions", "1000",
             "--unused-session-lifetime", "3000", *args],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 300  # a loaded machine: the first page builds slowly
        while time.time() < deadline:
            try:
                # waited for, not retried: each request builds a page (see explorer_testing)
                with urllib.request.urlopen(self.url, timeout=240):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()  # not left running
        raise RuntimeError("panel serve did not answer within 300 s")

    def main_thread_cpu(self) -> float:
        """CPU seconds of the server's event-loop thread (the main thread)."""
        pid = self.proc.pid
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def errors(self) -> list[str]:
        """Every error in the server log: one entry per traceback (a chained exception counts
        once), the entry being its last line."""
        if not self.log.closed:
            self.log.flush()
        out = []
        for block in self.log_path.read_text().split("Traceback (most recent call last):")[1:]:
            lines = [ln for ln in block.splitlines() if ln.strip()]
            tail = [ln for ln in lines if not ln.startswith((" ", "\t"))]
            if tail and tail[-1].startswith(("During handling of the above exception",
                                             "The above exception was the direct cause")):
                continue  # the next block ends this chain
            out.append(tail[0] if tail else "?")
        return out

    def closed_tab_writes(self) -> int:
        """Messages to or from a tab that had closed, reported in one line each by the
        explorer (``explorer.closed_tabs``: a write to the closed socket, or the tab's last
        messages read after Bokeh detached its connection) instead of a traceback."""
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text().count("a browser tab closed ")

    def traceback_kinds(self) -> list[str]:
        """One kind per traceback of :meth:`errors` (see :data:`TRACEBACK_KINDS`)."""
        if not self.log.closed:
            self.log.flush()
        out = []
        for block in self.log_path.read_text().split("Traceback (most recent call last):")[1:]:
            tail = [ln for ln in block.splitlines()
                    if ln.strip() and not ln.startswith((" ", "\t"))]
            if tail and tail[-1].startswith(("During handling of the above exception",
                                             "The above exception was the direct cause")):
                continue  # counted with the next block, as in errors()
            out.append(traceback_kind(block))
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.errors():
            print(f"(server log with its tracebacks kept at {self.log_path})", flush=True)
        else:
            self.log_path.unlink(missing_ok=True)


def open_page(context, url: str, query: str, wait: bool = True):
    page = context.new_page()
    page.goto(url + query, wait_until="commit", timeout=180_000)
    if wait:
        ready(page)
    return page


def ready(page) -> None:
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length > 0 && "
                           f"({STATUS_JS})().n >= 1", timeout=300_000)


def status(page) -> dict:
    return page.evaluate(STATUS_JS)


def settled_rss(server: Server, at_least: float = 8.0, quiet: float = 5.0,
                limit: float = 90.0) -> float:
    """The server's RSS once closed sessions are cleaned up: after ``at_least`` seconds
    (discard after 3 s unused, checked each second; memory release 2 s later), when it has not
    fallen by more than 1 MB for ``quiet`` seconds (at most ``limit`` seconds)."""
    t0 = time.perf_counter()
    time.sleep(at_least)
    low, low_at = server.rss_mb(), time.perf_counter()
    while time.perf_counter() - low_at < quiet and time.perf_counter() - t0 < limit:
        time.sleep(1.0)
        now = server.rss_mb()
        if now < low - 1.0:
            low, low_at = now, time.perf_counter()
    return server.rss_mb()


def open_round(browser, server: Server, n: int, query: str):
    """``n`` browser windows on ``query``, all loading at once, each ready: (contexts, pages)."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(n)]
    pages = [open_page(c, server.url, query, False) for c in contexts]
    for p in pages:
        ready(p)
    return contexts, pages


def hold_sessions(browser, server: Server, n: int, seconds: float,
                  warm: int = HELD_SESSIONS) -> dict[str, float]:
    """``n`` windows playing and looping for ``seconds``; memory before (after a warm-up
    round of ``warm`` windows on the same experiment), during, after (module docstring)."""
    query = "?budget=1000&speed=20&play=1&loop=true"
    contexts, pages = open_round(browser, server, warm, query)
    f0 = [status(p)["frame"] for p in pages]
    for p, f in zip(pages, f0, strict=True):  # the warm-up sessions animate, then close
        p.wait_for_function(f"() => ({STATUS_JS})().frame >= {f + 5}", timeout=300_000)
    for c in contexts:
        c.close()
    base = settled_rss(server)
    contexts, pages = open_round(browser, server, n, query)
    try:
        f0 = [status(p)["frame"] for p in pages]
        c0, t0 = server.main_thread_cpu(), time.perf_counter()
        time.sleep(seconds)
        f1 = [status(p)["frame"] for p in pages]
        c1, t1 = server.main_thread_cpu(), time.perf_counter()
        peak = server.rss_mb()
    finally:
        for c in contexts:
            c.close()
    after = settled_rss(server)
    fps = [(b - a) / (t1 - t0) for a, b in zip(f0, f1, strict=True)]
    frames = sum(f1) - sum(f0)
    return {"min_fps": min(fps), "mean_fps": statistics.mean(fps),
            "stalled": sum(1 for a, b in zip(f0, f1, strict=True) if b <= a),
            "cpu_ms_per_frame": (c1 - c0) * 1e3 / max(frames, 1),
            "rss_base": base, "rss_peak": peak, "rss_after": after, "errors": server.errors(),
            "closed_tab_writes": server.closed_tab_writes()}


def release_latency_browser(browser, server: Server, repeats: int = 5) -> dict[str, float]:
    import re

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = open_page(context, server.url, "?budget=150")
        title = page.locator(".bk-slider-title", has_text=re.compile("^Budget"))
        handle = page.locator(".bk-input-group", has=title).first.locator(".noUi-handle").first
        handle.focus()
        out = []
        budget = 150
        for _ in range(repeats):
            budget += 5
            t0 = time.perf_counter()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                f"() => {{ const s = ({STATUS_JS})(); return s.budget == {budget} && s.n >= 1; }}",
                polling=5, timeout=30_000,
            )
            out.append((time.perf_counter() - t0) * 1e3)
            time.sleep(0.3)
    finally:
        context.close()
    return {"median_ms": statistics.median(out), "max_ms": max(out)}


def ok(value: float, target: float, higher: bool = False) -> str:
    """"yes" when ``value`` meets ``target`` (at most it, or at least it if ``higher``)."""
    good = value >= target if higher else value <= target
    return "yes" if good else "NO"


def in_process_rows(rows: list, quick: bool) -> None:
    """Parts 1-3 in process (module docstring), appended to ``rows``."""
    cpu = frame_cpu_in_process(30 if quick else 60)
    rows.append((f"server CPU per played frame, in process ({cpu['points']} points, 128x128)",
                 f"{cpu['frame_ms']:.1f} ms median, {cpu['frame_ms_mean']:.1f} mean (p90 "
                 f"{cpu['frame_ms_p90']:.1f} ms, {cpu['kB']:.1f} kB sent per frame)",
                 f"<= {TARGET_CPU_MS:.0f} ms", ok(cpu["frame_ms_mean"], TARGET_CPU_MS)))
    fps = server_side_fps(10, 5.0 if quick else 15.0)
    rows.append(("frames per second per session, 10 sessions, server side (20 played)",
                 f"min {fps['min_fps']:.1f}, mean {fps['mean_fps']:.1f} "
                 f"({fps['cpu_ms_per_frame']:.1f} ms CPU/frame)",
                 f">= {TARGET_FPS:.0f}", ok(fps["min_fps"], TARGET_FPS, higher=True)))
    rel = release_latency_in_process()
    rows.append(("slider release -> first frame, in process (budget 120-300)",
                 f"{rel['median_ms']:.0f} ms (max {rel['max_ms']:.0f} ms)",
                 f"<= {TARGET_RELEASE_MS:.0f} ms", ok(rel["max_ms"], TARGET_RELEASE_MS)))


def held_session_rows(rows: list, browser, server: Server, args: argparse.Namespace) -> None:
    """Part 4, the sessions held in the browser, appended to ``rows``."""
    window = 30.0 if args.quick else 120.0
    r = hold_sessions(browser, server, HELD_SESSIONS, window, args.warm)
    errors = r["errors"]
    rows.append((f"{HELD_SESSIONS} sessions for {window:.0f} s: server errors, "
                 "stalled sessions",
                 f"{len(errors)} errors, {r['stalled']} stalled",
                 "0, 0", ok(len(errors) + r["stalled"], 0)))
    for line in sorted(set(errors)):
        print(f"    server error x{errors.count(line)}: {line[:150]}",
              flush=True)
    rows.append((f"{HELD_SESSIONS} sessions: messages of a closed tab, one log "
                 "line each (handled)", str(r["closed_tab_writes"]), "", ""))
    rows.append((f"{HELD_SESSIONS} sessions: steps shown per second per page",
                 f"min {r['min_fps']:.1f}, mean {r['mean_fps']:.1f} "
                 f"({r['cpu_ms_per_frame']:.1f} ms server CPU/frame)", "", ""))
    rows.append((f"{HELD_SESSIONS} sessions: server memory (RSS; before = after a "
                 "warm-up round)",
                 f"{r['rss_base']:.0f} MB before, {r['rss_peak']:.0f} during, "
                 f"{r['rss_after']:.0f} after closing",
                 "after <= before + 10 %",
                 ok(r["rss_after"], 1.1 * r["rss_base"])))


def browser_rows(rows: list, args: argparse.Namespace) -> None:
    """The browser part (slider release, then part 4), appended to ``rows``."""
    if not args.no_browser and not os.path.exists(CHROMIUM):
        print(f"(browser part skipped: no Chromium at {CHROMIUM})")
    elif not args.no_browser:
        from playwright.sync_api import sync_playwright

        server = Server()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                if not args.sessions_only:
                    rel = release_latency_browser(browser, server, 3 if args.quick else 6)
                    rows.append(("slider release -> first frame, browser (budget ~160)",
                                 f"{rel['median_ms']:.0f} ms (max {rel['max_ms']:.0f} ms)",
                                 f"<= {TARGET_RELEASE_MS:.0f} ms",
                                 ok(rel["median_ms"], TARGET_RELEASE_MS)))
                if not args.no_sessions:
                    held_session_rows(rows, browser, server, args)
                browser.close()
        finally:
            server.stop()


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter measuring windows")
    parser.add_argument("--no-browser", action="store_true", help="in-process figures only")
    parser.add_argument("--warm", type=int, default=HELD_SESSIONS,
                        help="windows of the warm-up round before the memory baseline")
    parser.add_argument("--sessions-only", action="store_true",
                        help=f"only part 4, the {HELD_SESSIONS} sessions held in the browser")
    parser.add_argument("--no-sessions", action="store_true",
                        help=f"skip part 4 (the {HELD_SESSIONS} browser windows take tens of "
                             "minutes on a small machine)")
    args = parser.parse_args(argv)
    if args.sessions_only and args.no_sessions:
        parser.error("--sessions-only and --no-sessions exclude each other")
    if args.sessions_only and args.no_browser:
        parser.error("--sessions-only needs the browser (it is part 4); drop --no-browser")
    rows: list[tuple[str, str, str, str]] = []

    class Rows(list):
        def append(self, row):  # printed as soon as measured (a later part may fail)
            print(" | ".join(row), flush=True)
            super().append(row)

    rows = Rows()

    if not args.sessions_only:
        in_process_rows(rows, args.quick)
    browser_rows(rows, args)

    load = os.getloadavg()[0]
    print(f"\nExplorer benchmark ({os.cpu_count()} cores, load average {load:.1f})\n")
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("measure", "result", "target", "met")
    w = [max(a, len(b)) for a, b in zip(w, head, strict=True)]
    print(" | ".join(h.ljust(x) for h, x in zip(head, w, strict=True)))
    print("-+-".join("-" * x for x in w))
    for r in rows:
        print(" | ".join(c.ljust(x) for c, x in zip(r, w, strict=True)))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
