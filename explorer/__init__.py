"""The explorer: the sparse-grid search and its rivals, animated in a Panel page.

``from explorer import explore`` is the entry point for your own objective or a journal
(:mod:`explorer.explore`); ``panel serve explorer`` serves the page (``explorer/main.py``).
Bokeh executes this file when it loads the directory app: it only re-exports ``explore``,
whose module imports nothing heavy at load.
"""

from explorer.explore import explore

__all__ = ["explore"]
