"""The cached BLAS thread limiter used by the surrogate, the GP and sparse grid search."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

import core.surrogate as surrogate_module
from core._threads import blas_threads, single_blas_thread
from core.strategies._threads import single_blas_thread as reexported


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_limit_applies_inside_and_is_restored():
    before = _blas_threads()
    assert before  # numpy's BLAS is loaded
    with single_blas_thread():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
    with blas_threads(None):  # no limit: nothing changes
        assert _blas_threads() == before
    assert reexported is single_blas_thread


def test_fit_and_slice_do_not_rescan_the_thread_pools():
    """threadpoolctl.threadpool_limits rescans every loaded library (ms per call, more than a
    128x128 slice takes); the surrogate must use the cached controller instead."""
    assert not hasattr(surrogate_module, "threadpool_limits")
    levels = np.array([[1, 1], [2, 1], [2, 1], [1, 2], [1, 2]])
    indices = np.array([[1, 1], [1, 1], [3, 1], [1, 1], [1, 3]])
    s = surrogate_module.fit_surrogate(levels, indices, [1.0, 2.0, 0.5, 1.5, 3.0])
    _, _, Z = s.evaluate_slice((0, 1), resolution=16)
    assert Z.shape == (16, 16) and np.all(np.isfinite(Z))
