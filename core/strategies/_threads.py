"""One BLAS thread around small dense linear algebra (STACK.md: threads only add overhead).

``threadpoolctl.threadpool_limits`` rescans the loaded libraries on every call (0.3-2 ms, more
than a whole GP proposal step at small n); a cached :class:`~threadpoolctl.ThreadpoolController`
limits in about 0.05 ms. The controller is created on first use, after numpy and scipy loaded
their BLAS libraries.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache

from threadpoolctl import ThreadpoolController

__all__ = ["single_blas_thread"]


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    import scipy.linalg  # noqa: F401  - make sure scipy's BLAS is loaded and seen

    return ThreadpoolController()


def single_blas_thread() -> AbstractContextManager:
    """Context manager limiting every BLAS library to one thread."""
    return _controller().limit(limits=1, user_api="blas")
