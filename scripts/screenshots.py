"""Regenerate the explorer's screenshots (assets/screenshots/*.png) and assets/explorer.gif.

The one script a person runs on purpose to refresh the README's pictures (tests never write
them)::

    .venv/bin/python scripts/screenshots.py                  # every scene
    .venv/bin/python scripts/screenshots.py --only start gif # some scenes
    .venv/bin/python scripts/screenshots.py --list

It starts its own ``panel serve explorer`` on a free port of 127.0.0.1 and drives Debian's
Chromium (``/usr/bin/chromium``) with Playwright. Each :class:`Scene` opens a link, brings the
page into a state by waiting on conditions read from the page (never on elapsed time alone),
and saves one picture per window size. Add a scene by appending to :data:`SCENES`.
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import explore_scenes  # scripts/ is on sys.path when run

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SHOTS = ASSETS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: The projector sizes every classroom scene is taken at.
SIZES = ((1024, 768), (1280, 720))

STATUS_JS = """() => {
  const doc = Bokeh.documents[0];
  const m = doc.get_model_by_name('status');
  const t = m ? m.text : '';
  const ev = /evaluations: (\\d+)\\/(\\d+)/.exec(t);
  const st = /step (\\d+)\\/(\\d+)/.exec(t);
  return {n: ev ? +ev[1] : -1, step: st ? +st[1] : -1, last: st ? +st[2] : -1, text: t};
}"""
RACE_DONE_JS = """() => { const m = Bokeh.documents[0].get_model_by_name('results');
  return m && !m.text.includes('computing') && !m.text.includes('running'); }"""


def wait_status(page: Any, predicate_js: str, timeout: float = 120_000) -> dict:
    page.wait_for_function(
        f"() => {{ const s = ({STATUS_JS})(); return ({predicate_js})(s); }}", timeout=timeout)
    return page.evaluate(STATUS_JS)


def open_page(page: Any, url: str, query: str) -> None:
    """Open the page and wait until its plots are sized to the window."""
    page.goto(url + query)
    page.get_by_text("evaluations:").first.wait_for(timeout=120_000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0")


def finished(page: Any) -> None:
    """The run is over and the race is in: what a class sees at the end."""
    wait_status(page, "s => s.text.includes('finished')", 180_000)
    page.wait_for_function(RACE_DONE_JS, timeout=240_000)
    settle(page)


def first_frame(page: Any) -> None:
    wait_status(page, "s => s.n >= 1")
    page.wait_for_function(RACE_DONE_JS, timeout=240_000)
    settle(page)


def trained(page: Any) -> None:
    """A live training with a few finished trainings (minutes on two cores)."""
    wait_status(page, "s => s.n >= 9", 900_000)
    settle(page)


def settle(page: Any) -> None:
    """Let the page paint the shown step (its player stopped) and the server's last image."""
    page.wait_for_function("""() => { const d = Bokeh.documents[0];
        const p = Array.from(d.all_models).find(m => m.constructor.__name__ === 'Player');
        return d.get_model_by_name('shown-step') && (!p || p.direction === 0); }""",
        timeout=30_000)
    page.wait_for_timeout(800)  # the last surrogate image and the slow views


@dataclass
class Scene:
    """One picture: open ``query``, run ``ready(page)``, save ``name`` at each size.

    ``name`` may hold ``{w}`` and ``{h}``; ``sizes`` defaults to the projector sizes.
    """

    key: str
    name: str
    query: str
    ready: Callable[[Any], None]
    sizes: tuple[tuple[int, int], ...] = SIZES
    full_page: bool = False
    extra: dict = field(default_factory=dict)

    def take(self, browser: Any, url: str) -> list[Path]:
        out = []
        for w, h in self.sizes:
            context = browser.new_context(viewport={"width": w, "height": h})
            page = context.new_page()
            try:
                open_page(page, url, self.query)
                self.ready(page)
                path = SHOTS / self.name.format(w=w, h=h)
                page.screenshot(path=str(path), full_page=self.full_page)
                out.append(path)
            finally:
                context.close()
        return out


def animated_gif(browser: Any, url: str) -> list[Path]:
    """``assets/explorer.gif``: a sparse-grid run on Himmelblau, step by step: the status line,
    the landscape and the surrogate, the symbol legend (the race sentence at the end)."""
    from PIL import Image

    # 800 px high: the symbol legend's second line is inside the window (the page's main
    # area scrolls on its own, so a full-page screenshot would not reach it)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        open_page(page, url, "?objective=himmelblau&gamma=0.85&budget=120")
        first_frame(page)
        step = page.get_by_role("button", name="Step", exact=True)
        canvases = [page.locator(".bk-Canvas").nth(i).bounding_box() for i in range(2)]
        x1 = max(b["x"] + b["width"] for b in canvases) + 8
        # the symbol legend under the plots wraps to a second line: keep it whole
        legend = page.get_by_text("surrogate below the best value seen").first.bounding_box()
        status_box = page.locator("text=evaluations:").first.bounding_box()
        x0 = min([b["x"] for b in canvases] + [status_box["x"], legend["x"]]) - 8
        y0 = status_box["y"] - 6
        y1 = max([b["y"] + b["height"] for b in canvases] + [legend["y"] + legend["height"]]) + 2
        clip = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
        last = page.evaluate(STATUS_JS)["last"]
        frames = []
        for k in range(last + 1):
            if k:
                step.click()
                wait_status(page, f"s => s.step == {k}")
            settle(page)
            frames.append(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"))
    finally:
        context.close()
    frames = [f.resize((f.width * 3 // 4, f.height * 3 // 4), Image.LANCZOS) for f in frames]
    palette = frames[-1].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    pal = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    out = ASSETS / "explorer.gif"
    pal[0].save(out, save_all=True, append_images=pal[1:],
                duration=[350] * (len(pal) - 1) + [2500], loop=0, optimize=True)
    return [out]


def lesson_ready(pattern: str, live: bool = False, show: str = "") -> Callable[[Any], None]:
    """Ready when the lesson caption matches ``pattern`` (a JS regex source) and, for a
    computed run, the run is finished and the race is in; a live training shows three
    finished trainings. ``show``: the title of a view to scroll to (below the fold at
    1024x768)."""

    def ready(page: Any) -> None:
        if live:
            wait_status(page, "s => s.n >= 3", 900_000)
            settle(page)
        else:
            finished(page)
        page.wait_for_function(
            "(p) => new RegExp(p).test(Bokeh.documents[0].get_model_by_name('lesson-caption')"
            ".text)", arg=pattern, timeout=240_000)
        if show:
            page.get_by_text(show).first.scroll_into_view_if_needed()
        settle(page)

    return ready


#: Lesson scenes (explorer/lesson.py): a classroom link each, with the caption it needs.
LESSON = {
    "grid_random": "random search tried",
    "sparse_grid": "refinements with",
    "gamma": "γ strip below",
    "surrogate": "in truth",
    "race": "lowest first",
    "neural_network": "trainings finished so far",
    "adaptive_random": "selected points",
}

#: The scenes, in order. Append to add one.
SCENES: list[Scene | tuple[str, Callable[[Any, str], list[Path]]]] = [
    Scene("start", "explorer_start_{w}x{h}.png", "", first_frame),
    Scene("finished", "explorer_finished_{w}x{h}.png", "?speed=60&play=1", finished),
    Scene("gamma0", "explorer_gamma0_{w}x{h}.png", "?gamma=0&speed=60&play=1", finished),
    Scene("gamma05", "explorer_gamma05_{w}x{h}.png", "?gamma=0.5&speed=60&play=1", finished),
    Scene("gamma1", "explorer_gamma1_{w}x{h}.png", "?gamma=1&speed=60&play=1", finished),
    Scene("readme", "explorer_run.png", "?optimizer=nelder_mead&speed=60&play=1", finished,
          sizes=((1280, 720),)),
    Scene("full", "explorer_full.png", "?optimizer=nelder_mead&speed=60&play=1", finished,
          sizes=((1280, 1180),)),
    Scene("3d", "explorer_3d.png", "?objective=rosenbrock_3d&budget=150&speed=60&play=1",
          finished, sizes=((1280, 720),)),
    Scene("training", "explorer_training_{w}x{h}.png", "?objective=mlp_regression_2d&budget=30"
          "&play=1", trained),
    ("gif", animated_gif),
]
SCENES.extend(explore_scenes.SCENES)  # explore(): your function, a journal, ARS variants
SCENES.extend(
    Scene(f"lesson_{key}", f"lesson_{key}_{{w}}x{{h}}.png",
          f"?scene={key}&controls=minimal&play=1"
          + ("" if key == "neural_network" else "&speed=60"),
          lesson_ready(pattern, live=key == "neural_network",
                       show="Results (same budget)" if key == "race" else ""),
          sizes=((1024, 768),))
    for key, pattern in LESSON.items()
)


def _key(scene: Any) -> str:
    return scene.key if isinstance(scene, Scene) else scene[0]


class Server:
    """``panel serve explorer`` on a free port of 127.0.0.1."""

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "explorer", "--address", "127.0.0.1",
             "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/explorer"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10):
                    return url
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("panel serve did not start")

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="scene keys to take (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scene keys")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(_key(s) for s in SCENES))
        return 0
    chosen = [s for s in SCENES if not args.only or _key(s) in args.only]
    unknown = set(args.only or ()) - {_key(s) for s in SCENES}
    if unknown:
        parser.error(f"unknown scene(s) {sorted(unknown)}; valid: {[_key(s) for s in SCENES]}")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with Server() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scene in chosen:
            t0 = time.time()
            paths = (scene.take(browser, url) if isinstance(scene, Scene)
                     else scene[1](browser, url))
            rel = ", ".join(str(pth.relative_to(ROOT)) for pth in paths)
            print(f"{_key(scene):10s} {time.time() - t0:6.1f} s  {rel}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
