"""Using every core of one machine: work split over worker processes, no Dagster.

Workers come from a fork server that preloads the spaCy pipeline once, so they share it
(plain ``fork`` from a Dagster run, which has threads, deadlocked on a lock one of them held).
Workers die with their parent: each asks the kernel for SIGKILL when the fork server exits, and
the fork server exits when the process that started it is gone, so killing a run (even with
SIGKILL) leaves no worker behind. A failed or interrupted call stops the other workers at once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait


def worker_processes(configured: str | None = None) -> int:
    """How many processes a run uses: ``configured`` (``FMS_WORKERS``), else one per core."""
    configured = (configured if configured is not None else os.environ.get("FMS_WORKERS", "")).strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"FMS_WORKERS={configured!r}: expected a whole number of processes, 1 or more")
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Starting the workers costs a few seconds (their fork server loads the pipeline), which pays off
# from about this many items per worker: the NLP takes ~50 ms a page, parsing ~10 ms.
NLP_ITEMS_PER_WORKER_MIN = 50
PARSE_ITEMS_PER_WORKER_MIN = 250


def usable_workers(workers: int, items: int, per_worker_min: int = NLP_ITEMS_PER_WORKER_MIN) -> int:
    """Worker processes worth starting for this many items (1: run in this process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers, items // per_worker_min))


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fms_pipeline.nlp.preloaded"])
    return context


def start_early(workers: int, items: int) -> None:
    """Start the fork server now if this many items will use workers: it loads the pipeline
    while this process does other work."""
    if usable_workers(workers, items) > 1:
        from multiprocessing import forkserver

        _context()
        forkserver.ensure_running()


def _die_with_parent() -> None:
    """Worker initializer: SIGKILL when the fork server (our parent) exits; Ctrl-C is the parent's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the pool's own shutdown still stops us
        pass
    if os.getppid() == 1:  # the parent died before we asked
        os._exit(1)


def map_chunks(chunk_function: Callable, items: list, workers: int, *shared,
               per_worker_min: int = NLP_ITEMS_PER_WORKER_MIN, on_done: Callable | None = None) -> list:
    """``chunk_function((*shared, chunk))`` over contiguous chunks of ``items`` in worker processes
    (in this one when too few items), results concatenated in order. ``on_done(result)`` is called
    with each chunk's result as it finishes (progress)."""
    usable = usable_workers(workers, len(items), per_worker_min)
    if not items:
        return []
    if usable == 1:
        result = chunk_function((*shared, items))
        if on_done:
            on_done(result)
        return result
    # Several chunks per worker, so that one slow chunk does not leave the other cores idle.
    step = -(-len(items) // (usable * 4))
    jobs = [(*shared, items[i:i + step]) for i in range(0, len(items), step)]
    pool = ProcessPoolExecutor(max_workers=usable, mp_context=_context(), initializer=_die_with_parent)
    try:
        futures = {pool.submit(chunk_function, job): n for n, job in enumerate(jobs)}
        results: list = [None] * len(jobs)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                results[futures[future]] = future.result()  # a worker's error (or death) is raised here
                if on_done:
                    on_done(results[futures[future]])
        pool.shutdown(wait=True)
        return [r for part in results for r in part]
    except BaseException:
        _stop(pool)
        raise


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now (an error or an interrupt): no chunk keeps running behind our back."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)
