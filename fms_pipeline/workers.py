"""Using every core of one machine: work split over worker processes, no Dagster.

Workers come from a fork server that preloads the spaCy pipeline once, so they share it
(plain ``fork`` from a Dagster run, which has threads, deadlocked on a lock one of them held).
Workers die with the run: each watches the run's process and exits when it is gone, so killing
a run (even with SIGKILL) leaves no worker behind (and then the fork server exits too). A failed
or interrupted call stops the other workers at once.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait


def worker_processes(configured: str = "") -> int:
    """How many processes a run uses: ``configured`` (the ``FMS_WORKERS`` setting), else one per core."""
    configured = (configured or "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"FMS_WORKERS={configured!r}: expected a whole number of processes, 1 or more")
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Starting the workers costs a few seconds (their fork server loads the pipeline), which pays off
# from about this many items per worker: the NLP takes ~50 ms a page, parsing ~10 ms.
NLP_ITEMS_PER_WORKER_MIN = 50
PARSE_ITEMS_PER_WORKER_MIN = 250


def usable_workers(workers: int, items: int, per_worker_min: int | None = None) -> int:
    """Worker processes worth starting for this many items (1: run in this process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers, items // (per_worker_min or NLP_ITEMS_PER_WORKER_MIN)))


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fms_pipeline.nlp.preloaded"])
    return context


def _die_with(run_pid: int) -> None:
    """Worker initializer: exit as soon as the process that asked for the work (the run) is gone,
    even when it was SIGKILLed; Ctrl-C is the run's to handle, not ours.

    The worker's parent is the fork server, which outlives the run while any worker holds its
    pipe, so the kernel's parent-death signal does not help: a thread waits on the run's pidfd."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        try:
            fd = os.pidfd_open(run_pid)
        except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll
            while True:
                try:
                    os.kill(run_pid, 0)
                except ProcessLookupError:
                    os._exit(1)
                time.sleep(1)
        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-run", daemon=True).start()


def map_chunks(chunk_function: Callable, items: list, workers: int, *shared,
               per_worker_min: int | None = None, on_done: Callable | None = None,
               describe: Callable = str) -> list:
    """``chunk_function((*shared, chunk))`` over contiguous chunks of ``items`` in worker processes
    (in this one when too few items), results concatenated in order. ``on_done(result)`` is called
    with each chunk's result as it finishes (progress). A worker's failure (or death) stops the
    others and is raised as ``WorkerFailed`` naming the chunk's items (``describe(item)``)."""
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
    pool = ProcessPoolExecutor(max_workers=usable, mp_context=_context(), initializer=_die_with,
                               initargs=(os.getpid(),))
    try:
        futures = {pool.submit(chunk_function, job): n for n, job in enumerate(jobs)}
        results: list = [None] * len(jobs)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                try:
                    results[futures[future]] = future.result()
                except Exception as error:  # an error in a worker, or its death (BrokenProcessPool)
                    chunk = jobs[futures[future]][-1]
                    names = ", ".join(describe(item) for item in chunk[:3]) + (" ..." if len(chunk) > 3 else "")
                    raise WorkerFailed(f"a worker process failed on {names}: {type(error).__name__}: {error}") from error
                if on_done:
                    on_done(results[futures[future]])
        pool.shutdown(wait=True)
        return [r for part in results for r in part]
    except BaseException:
        _stop(pool)
        raise


class WorkerFailed(RuntimeError):
    """A worker process raised or died; the message names what it was working on."""


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop every worker now (an error or an interrupt): no chunk keeps running behind our back."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(timeout=5)
