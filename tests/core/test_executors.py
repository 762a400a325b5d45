"""Evaluation backends: serial, process pool (order, crashes, stop, sharing) and Dask."""

from __future__ import annotations

import functools
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from core.executors import (
    DaskExecutor,
    ProcessPool,
    SerialExecutor,
    executor_workers,
    make_executor,
)
from core.run import iterate, minimize
from core.space import Float, SearchSpace
from core.strategies import make_strategy

SPACE = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-1.0, 3.0)})


# objectives shipped to worker processes must be importable: module level
def quadratic(config: dict) -> float:
    return (config["x"] - 0.5) ** 2 + (config["y"] - 1.0) ** 2


def sleepy(config: dict) -> float:
    """Small x sleeps longest, so points asked early often finish late."""
    time.sleep(0.01 + 0.12 * (2.0 - config["x"]) / 4.0)
    return quadratic(config)


def crash_right(config: dict) -> float:
    """Kill the worker process for x > 1 (like a segfault in a native library)."""
    if config["x"] > 1.0:
        os._exit(3)
    return quadratic(config)


def slow(config: dict) -> float:
    time.sleep(0.25)
    return quadratic(config)


def very_slow(config: dict) -> float:
    time.sleep(30.0)
    return quadratic(config)


def marked(directory: str, seconds: float, config: dict) -> float:
    """``slow``/``very_slow`` that leave a file when they start and one when they end, so a
    test counts what ran instead of timing it (bind with ``functools.partial``)."""
    import uuid

    name = uuid.uuid4().hex
    open(os.path.join(directory, f"start-{name}"), "w").close()
    time.sleep(seconds)
    open(os.path.join(directory, f"end-{name}"), "w").close()
    return quadratic(config)


def count_marks(directory, kind: str) -> int:
    return sum(1 for f in os.listdir(directory) if f.startswith(kind + "-"))


def fail_some(config: dict) -> float:
    if config["x"] < -1.0:
        raise ValueError("left half diverges")
    return float("nan") if config["y"] > 2.5 else quadratic(config)


def thread_limits() -> tuple:
    from threadpoolctl import threadpool_info

    return os.environ.get("OMP_NUM_THREADS"), [i["num_threads"] for i in threadpool_info()]


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


@pytest.fixture(scope="module")
def pool():
    with ProcessPool(2) as p:
        yield p


def serial_reference(fun, n_evals: int, seed: int = 0, method: str = "random", **kw):
    return minimize(fun, SPACE, method, n_evals, seed=seed, **kw)


# -- serial and make_executor --------------------------------------------------------------------
def test_serial_executor_runs_inline_and_keeps_exceptions() -> None:
    with make_executor("serial") as ex:
        f = ex.submit(threading.get_ident)
        assert f.done() and f.result() == threading.get_ident()
        g = ex.submit(int, "nope")
        assert g.done() and isinstance(g.exception(), ValueError)

        def interrupt() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ex.submit(interrupt)
    with pytest.raises(RuntimeError, match="shutdown"):
        ex.submit(int, "1")
    assert executor_workers(ex) == 1 and isinstance(ex, SerialExecutor)


def test_make_executor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown executor kind 'gpu'.*serial, process, dask"):
        make_executor("gpu")
    with pytest.raises(ValueError, match="serial executor takes no options"):
        make_executor("serial", n_workers=4)
    with pytest.raises(ValueError, match="needs kind='dask'"):
        make_executor("process", address="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="n_workers"):
        ProcessPool(0)
    with pytest.raises(ValueError, match="fork is not torch-safe"):
        ProcessPool(1, context="fork")


@pytest.mark.processes
def test_workers_run_with_one_compute_thread(pool: ProcessPool) -> None:
    omp, blas = pool.submit(thread_limits).result(timeout=60)
    assert omp == "1" and all(n == 1 for n in blas)


@pytest.mark.processes
@pytest.mark.torch
def test_torch_in_a_worker_uses_one_thread(pool: ProcessPool) -> None:
    pytest.importorskip("torch")
    assert pool.submit(torch_threads).result(timeout=120) == 1


# -- process pool through the driver -------------------------------------------------------------
@pytest.mark.processes
def test_history_is_in_asked_order_when_later_tasks_finish_first(pool: ProcessPool) -> None:
    completion = []
    strategy = make_strategy("random", 2, 16, seed=5)
    records = list(
        iterate(sleepy, SPACE, strategy, executor=pool, on_evaluation=completion.append)
    )
    history = [ev for r in records for ev in r.evaluations]
    assert [ev.index for ev in history] == list(range(16))
    assert [ev.index for ev in completion] != list(range(16))  # they did finish out of order
    ref = serial_reference(quadratic, 16, seed=5)
    np.testing.assert_array_equal([ev.value for ev in history], ref.values)
    np.testing.assert_array_equal(np.stack([ev.u for ev in history]), ref.U)


@pytest.mark.processes
def test_minimize_gives_the_same_result_on_every_backend(pool: ProcessPool) -> None:
    ref = serial_reference(quadratic, 20, seed=1, method="sparse_grid")
    par = minimize(quadratic, SPACE, "sparse_grid", 20, seed=1, executor=pool)
    np.testing.assert_array_equal(par.values, ref.values)
    np.testing.assert_array_equal(par.U, ref.U)
    assert par.x == ref.x and par.nit == ref.nit
    # the shared pool was not shut down by the driver
    assert pool.submit(abs, -3).result(timeout=30) == 3


@pytest.mark.processes
def test_failures_inside_workers_are_recorded(pool: ProcessPool) -> None:
    res = minimize(fail_some, SPACE, "random", 16, seed=2, executor=pool)
    ref = serial_reference(fail_some, 16, seed=2)
    assert [ev.status for ev in res.history] == [ev.status for ev in ref.history]
    assert [ev.error for ev in res.history] == [ev.error for ev in ref.history]
    assert res.n_failed > 0 and any("left half" in (ev.error or "") for ev in res.history)


@pytest.mark.processes
def test_a_dying_worker_fails_only_its_evaluation_and_the_run_goes_on(pool: ProcessPool) -> None:
    restarts = pool.restarts
    res = minimize(crash_right, SPACE, "random", 10, seed=1, executor=pool)
    ref = serial_reference(quadratic, 10, seed=1)
    np.testing.assert_array_equal(res.U, ref.U)
    crashed = ref.U[:, 0] > 0.75  # x > 1 on [-2, 2]
    assert crashed.sum() == 2
    assert res.nfev == 10
    for ev, dies, expected in zip(res.history, crashed, ref.values, strict=True):
        if dies:
            assert ev.status == "failed" and "WorkerDied" in ev.error
        else:
            assert ev.status == "ok" and ev.value == expected
    assert pool.restarts > restarts
    assert pool.submit(abs, -2).result(timeout=30) == 2  # the pool works afterwards


@pytest.mark.processes
def test_a_plain_process_pool_executor_that_breaks_stops_the_run_with_a_hint() -> None:
    import multiprocessing

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as ex:
        with pytest.raises(RuntimeError, match="make_executor"):
            minimize(crash_right, SPACE, "random", 8, seed=4, executor=ex)


@pytest.mark.processes
def test_stop_cancels_pending_work_on_a_pool(pool: ProcessPool, tmp_path) -> None:
    stop = threading.Event()
    seen = []

    def on_eval(ev) -> None:
        seen.append(ev)
        stop.set()

    strategy = make_strategy("random", 2, 20, seed=0)
    fun = functools.partial(marked, str(tmp_path), 0.25)
    records = list(iterate(fun, SPACE, strategy, executor=pool, stop=stop, on_evaluation=on_eval))
    assert records[-1].stop_reason == "stopped" and not records[-1].complete
    assert 1 <= len(records[-1].evaluations) <= 4 and len(seen) == len(records[-1].evaluations)
    assert strategy.stop_reason == "stopped"
    # the pool answers in order: had the pending evaluations not been cancelled, all 20 would
    # have run before this one
    assert pool.submit(abs, -1).result(timeout=60) == 1
    assert count_marks(tmp_path, "start") < 20


@pytest.mark.processes
def test_an_error_in_the_consumer_cancels_pending_work(pool: ProcessPool, tmp_path) -> None:
    def explode(ev) -> None:
        raise RuntimeError("consumer bug")

    strategy = make_strategy("random", 2, 40, seed=0)
    fun = functools.partial(marked, str(tmp_path), 0.25)
    with pytest.raises(RuntimeError, match="consumer bug"):
        list(iterate(fun, SPACE, strategy, executor=pool, on_evaluation=explode))
    assert pool.submit(abs, -4).result(timeout=60) == 4
    assert count_marks(tmp_path, "start") < 40  # the rest was cancelled, not run


@pytest.mark.processes
def test_an_owned_pool_is_terminated_after_a_stop(tmp_path) -> None:
    stop = threading.Event()
    fun = functools.partial(marked, str(tmp_path), 600.0)

    def stop_once_running() -> None:  # stop when an evaluation has started
        while not count_marks(tmp_path, "start") and not stop.is_set():
            time.sleep(0.02)
        stop.set()

    watcher = threading.Thread(target=stop_once_running, daemon=True)
    watcher.start()
    res = minimize(fun, SPACE, "random", 4, seed=0, n_workers=2, stop=stop)
    stop.set()
    watcher.join()
    assert res.stop_reason == "stopped" and res.nfev == 0
    # running 600 s evaluations were abandoned, not awaited
    assert count_marks(tmp_path, "start") >= 1 and count_marks(tmp_path, "end") == 0


@pytest.mark.processes
def test_lambdas_travel_to_worker_processes_by_value(pool: ProcessPool) -> None:
    offset = 0.25
    res = minimize(lambda c: c["x"] ** 2 + offset, SPACE, "random", 6, seed=0, executor=pool)
    assert res.n_failed == 0 and res.fun >= offset
    assert list(res.values) == [ev.config["x"] ** 2 + offset for ev in res.history]


# -- Dask ----------------------------------------------------------------------------------------
def dask_crash_right(config: dict) -> float:
    if config["x"] > 1.0:
        os._exit(3)
    time.sleep(0.02)
    return quadratic(config)


def dask_crash_once(config: dict, marker: str) -> float:
    """Kill the worker the first time only (a worker lost mid-task that Dask retries)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return quadratic(config)
    os.close(fd)
    os._exit(3)


class CrashOnce:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, config: dict) -> float:
        return dask_crash_once(config, self.marker)


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    import dask

    assert distributed  # imported first: its config defaults must exist before config.set
    # no Dask-side retry (the default is 3): the driver re-runs blamed tasks alone itself
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        ex = make_executor("dask", n_workers=2)
    try:
        yield ex
    finally:
        ex.shutdown()


def malloc_trim_setting(_: object = None) -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.dask
def test_dask_workers_and_parent_keep_default_malloc_trimming(
    dask_executor: DaskExecutor,
) -> None:
    """Dask's nanny default (MALLOC_TRIM_THRESHOLD_=65536) slows torch ~1.9x; it is not set."""
    workers = {dask_executor.submit(malloc_trim_setting).result() for _ in range(4)}
    assert workers == {None}


@pytest.mark.dask
def test_starting_a_local_cluster_leaves_the_parent_environment_alone() -> None:
    before = malloc_trim_setting()  # other code (a bare LocalCluster) may have leaked it
    with make_executor("dask", n_workers=1) as ex:
        assert ex.submit(malloc_trim_setting).result() is None
        assert malloc_trim_setting() == before
    assert malloc_trim_setting() == before


@pytest.mark.dask
def test_dask_local_cluster_matches_the_serial_run(dask_executor: DaskExecutor) -> None:
    assert dask_executor.n_workers == 2
    ref = serial_reference(fail_some, 16, seed=3, method="sparse_grid")
    res = minimize(fail_some, SPACE, "sparse_grid", 16, seed=3, executor=dask_executor)
    np.testing.assert_array_equal(res.U, ref.U)
    np.testing.assert_array_equal(res.values, ref.values)
    assert [ev.error for ev in res.history] == [ev.error for ev in ref.history]


@pytest.mark.dask
def test_dask_history_order_and_stop(dask_executor: DaskExecutor) -> None:
    completion = []
    strategy = make_strategy("random", 2, 12, seed=5)
    records = list(iterate(sleepy, SPACE, strategy, executor=dask_executor,
                           on_evaluation=completion.append))
    assert [ev.index for r in records for ev in r.evaluations] == list(range(12))
    stop = threading.Event()
    strategy = make_strategy("random", 2, 30, seed=0)
    records = list(iterate(slow, SPACE, strategy, executor=dask_executor, stop=stop,
                           on_evaluation=lambda ev: stop.set()))
    # the run ends with the first results, not after the 30 it was given
    assert records[-1].stop_reason == "stopped" and len(records[-1].evaluations) <= 4


@pytest.mark.dask
def test_a_dask_worker_lost_mid_task(dask_executor: DaskExecutor, tmp_path) -> None:
    # lost once: the task (and any task queued on that worker) is re-run, nothing is lost
    res = minimize(CrashOnce(str(tmp_path / "died")), SPACE, "random", 4, seed=0,
                   executor=dask_executor)
    assert res.n_failed == 0 and res.nfev == 4 and (tmp_path / "died").exists()
    # lost every time: recorded as failed, the rest of the run goes on unharmed
    res = minimize(dask_crash_right, SPACE, "random", 8, seed=2, executor=dask_executor)
    ref = serial_reference(quadratic, 8, seed=2)
    crashed = ref.U[:, 0] > 0.75
    assert crashed.sum() == 1 and res.nfev == 8
    for ev, dies, expected in zip(res.history, crashed, ref.values, strict=True):
        if dies:
            assert ev.status == "failed" and "KilledWorker" in ev.error
        else:
            assert ev.value == expected


# -- local by default ----------------------------------------------------------------------------
def _listening(pids: set[int]) -> list[tuple[int, str, int]]:
    import psutil

    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            found.append((conn.pid, conn.laddr.ip, conn.laddr.port))
    return found


def _run_tree() -> set[int]:
    import psutil

    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.children(recursive=True))}


@pytest.mark.dask
def test_a_dask_run_listens_on_loopback_only() -> None:
    """Every socket a run's LocalCluster listens on (scheduler, dashboard, workers, nannies)."""
    pytest.importorskip("distributed")
    before = {(ip, port) for _, ip, port in _listening(_run_tree())}
    seen: list[tuple[int, str, int]] = []

    def during_the_run(batch) -> None:
        seen.extend(s for s in _listening(_run_tree()) if (s[1], s[2]) not in before)

    res = minimize(quadratic, SPACE, "random", 4, seed=0, executor="dask", n_workers=1,
                   max_batch=2, callback=during_the_run)
    assert res.nfev == 4
    assert len({port for _, _, port in seen}) >= 2  # at least the scheduler and its dashboard
    exposed = sorted({(ip, port) for _, ip, port in seen if ip not in ("127.0.0.1", "::1")})
    assert not exposed, f"listening beyond loopback: {exposed}"


@pytest.mark.processes
def test_process_pool_run_opens_no_network_socket() -> None:
    before = {(ip, port) for _, ip, port in _listening(_run_tree())}
    seen: list[tuple[int, str, int]] = []

    def during_the_run(batch) -> None:
        seen.extend(s for s in _listening(_run_tree()) if (s[1], s[2]) not in before)

    minimize(quadratic, SPACE, "random", 4, seed=0, n_workers=2, max_batch=2,
             callback=during_the_run)
    assert seen == []
