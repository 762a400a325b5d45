"""One BLAS thread around small dense linear algebra, where extra threads only add overhead.

See docs/architecture.md, 'Small dense linear algebra'.

``threadpoolctl.threadpool_limits`` rescans the loaded libraries on every call, which can cost
more than the small GP proposal step or surrogate slice it wraps; a cached
:class:`~threadpoolctl.ThreadpoolController` limits at a small fraction of that cost. The
controller is created on first use, after numpy and scipy loaded their BLAS libraries; a BLAS
loaded later (e.g. torch's) is not limited, which is fine for the numpy/scipy work done here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads", "single_blas_thread"]


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    import scipy.linalg  # noqa: F401  - make sure scipy's BLAS is loaded and seen

    return ThreadpoolController()


def blas_threads(limit: int | None) -> AbstractContextManager:
    """Context manager limiting every BLAS library to ``limit`` threads (``None``: no limit)."""
    if limit is None:
        return nullcontext()
    return _controller().limit(limits=limit, user_api="blas")


def single_blas_thread() -> AbstractContextManager:
    """Context manager limiting every BLAS library to one thread."""
    return blas_threads(1)
