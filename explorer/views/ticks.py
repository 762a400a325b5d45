"""Native-unit axis ticks (computed in :mod:`explorer.engine.ticks`; re-exported for views)."""

from __future__ import annotations

from explorer.engine.ticks import format_value, native_ticks

__all__ = ["format_value", "native_ticks"]
