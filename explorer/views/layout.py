"""Sizes of the page's parts for the browser window's width, so every plot fits beside the
sidebar without horizontal scrolling (a projector at 1024x768 or 1280x720 included).

The page reports its width once it is ready and whenever it is resized (the ``viewport``
source, see :func:`viewport_source`); :class:`Sizes` turns that width into plot sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bokeh.models import ColumnDataSource, CustomJS

__all__ = ["SIDEBAR", "Sizes", "viewport_js", "viewport_source"]

#: Width of the template's sidebar (px).
SIDEBAR = 280
#: Room the template takes besides the sidebar: margins, a scroll bar (px).
_CHROME = 50
#: Room around the three plots of the top row besides their frames: axes, tick labels, the
#: colour bar and margins (px).
_TOP_EXTRA = 310


@dataclass(frozen=True)
class Sizes:
    """Pixel sizes for a window ``width`` px wide (see the module docstring)."""

    width: int

    @property
    def main(self) -> int:
        """Width of the main area beside the sidebar."""
        return max(self.width - SIDEBAR - _CHROME, 300)

    @property
    def plot(self) -> int:
        """Frame size of each of the three top plots (square)."""
        return int(min(max((self.main - _TOP_EXTRA) // 3, 120), 250))

    @property
    def text(self) -> int:
        """Width of the intro, status line and legend."""
        return min(self.main - 10, 940)

    @property
    def strip(self) -> int:
        """Frame size of each γ-strip plot."""
        return int(min(max((min(self.main, 460) - 50) // 3, 90), 136))


def viewport_source() -> ColumnDataSource:
    """The page's window size, written by the page (:func:`viewport_js`)."""
    return ColumnDataSource({"width": [0], "height": [0]}, name="viewport")


def viewport_js(source: ColumnDataSource) -> CustomJS:
    """Reports the window size into ``source`` now and after every resize."""
    return CustomJS(args={"src": source}, code="""
const report = () => {
  const w = window.innerWidth, h = window.innerHeight;
  if (src.data.width[0] !== w || src.data.height[0] !== h) {
    src.data = {width: [w], height: [h]};
  }
};
report();
if (!window._explorer_resize) {
  window._explorer_resize = true;
  let t = null;
  window.addEventListener('resize', () => { clearTimeout(t); t = setTimeout(report, 150); });
}
""")
