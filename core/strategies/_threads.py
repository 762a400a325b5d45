"""Re-export of :mod:`core._threads` (the strategies' historical import path)."""

from __future__ import annotations

from core._threads import single_blas_thread

__all__ = ["single_blas_thread"]
