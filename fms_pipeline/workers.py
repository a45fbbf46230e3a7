"""Using every core of one machine: work split over worker processes, no Dagster.

Workers come from a fork server that preloads the spaCy pipeline once, so they share it
(plain ``fork`` from a Dagster run, which has threads, deadlocked on a lock one of them held).
Workers die with the run: each watches the run's process and exits when it is gone, so killing
a run (even with SIGKILL) leaves no worker behind (and then the fork server exits too). A failed
or interrupted call stops the other workers at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path


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


# What the fork server imports before it forks a worker: the spaCy pipeline, loaded once and
# shared by every NLP worker (~2.8 CPU s and ~350 MB). Work that needs no pipeline (the report's
# pages) names its own modules: waiting for the pipeline cost more than its whole work.
NLP_PRELOAD = ("fms_pipeline.nlp.preloaded",)


def _context(preload: tuple[str, ...] = NLP_PRELOAD):
    """The fork server's context, preloading ``preload``; a server started with other modules is
    stopped first (one runs per process), so NLP workers always find the pipeline preloaded. (Only
    this function sets the preload list, so the list a running server was started with is the one
    multiprocessing holds.)"""
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if server._forkserver_pid is not None and server._preload_modules != list(preload):
        stop_fork_server()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


IN_WORKER = False  # True in a worker process of map_chunks (set by its initializer)


def _die_with(run_pid: int) -> None:
    """Worker initializer: exit as soon as the process that asked for the work (the run) is gone,
    even when it was SIGKILLed; Ctrl-C is the run's to handle, not ours.

    The worker's parent is the fork server, which outlives the run while any worker holds its
    pipe, so the kernel's parent-death signal does not help: a thread waits on the run's pidfd."""
    global IN_WORKER
    IN_WORKER = True
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


def start_fork_server(preload: tuple[str, ...] = NLP_PRELOAD) -> None:
    """Start the fork server now, without waiting for it (it imports ``preload`` meanwhile): a pool
    created later with the same ``preload`` forks its workers from it at once."""
    from multiprocessing import forkserver

    _context(preload)
    forkserver.ensure_running()


def stop_fork_server() -> None:
    """Stop this process's fork server, if it runs: it holds a loaded spaCy pipeline (~350 MB that
    no worker shares once the NLP is done), which the checks after the NLP and a warehouse build in
    the same process (the CLI's runs) added to their peaks (1,599 and 1,682 MiB at 200,000 files,
    the issue's limit 1.5 GB). A later pool starts a new one (~3 s: it loads the pipeline)."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # CPython's own (its tests use it); harmless when none runs


def map_chunks(chunk_function: Callable, items: list, workers: int, *shared,
               per_worker_min: int | None = None, on_done: Callable | None = None,
               describe: Callable = str, recover: Callable | None = None,
               preload: tuple[str, ...] = NLP_PRELOAD) -> list:
    """``chunk_function((*shared, chunk))`` over contiguous chunks of ``items`` in worker processes
    (in this one when too few items), results concatenated in order. ``on_done(result)`` is called
    with each chunk's result as it finishes (progress). A worker's failure (or death) stops the
    others and is raised as ``WorkerFailed`` naming the chunk's items (``describe(item)``).

    ``recover(unfinished_chunks) -> (chunks, results) | None``: when a worker died (a Watchdog
    killed it on a runaway item), the chunks not finished are handed to ``recover``, which gives
    them back without the items it explains (their ``results`` added to the output); new workers
    replace the dead and go on with those. Without ``recover``, or when it explains nothing, the
    death is a WorkerFailed. ``preload``: the modules the workers' fork server imports first."""
    usable = usable_workers(workers, len(items), per_worker_min)
    if not items:
        return []
    if usable == 1:
        result = chunk_function((*shared, items))
        if on_done:
            on_done(result)
        return result
    chunks = guided_chunks(items, usable)
    results: list = [None] * len(chunks)
    recovered: list = []
    unfinished = set(range(len(chunks)))
    while unfinished:
        died = _run_pool(chunk_function, shared, chunks, unfinished, results, usable, on_done, describe,
                         can_recover=recover is not None, preload=preload)
        if died is None:
            break
        order = sorted(unfinished)
        answer = recover([chunks[n] for n in order])
        if answer is None:
            raise died
        new_chunks, extra = answer
        for n, chunk in zip(order, new_chunks, strict=True):
            chunks[n] = chunk
        recovered.extend(extra)
        if on_done and extra:
            on_done(extra)
    return [r for part in results for r in part] + recovered


def guided_chunks(items: list, usable: int) -> list[list]:
    """Contiguous chunks that shrink as the work runs out (guided self-scheduling): each takes a quarter
    of what is left per worker, at most 1/4 of a worker's share (the chunk size before) and at least
    1/32 of it. The chunks finishing last are small, so a core waits for the other's last chunk about
    1/32 of a worker's share at most (at 10M words the NLP's last chunk had kept one core idle ~2.5 s, the
    parse's ~1.7 s)."""
    n = len(items)
    largest = -(-n // (usable * 4))
    smallest = -(-n // (usable * 32))
    chunks, start = [], 0
    while start < n:
        size = min(largest, max(smallest, -(-(n - start) // (usable * 2))))
        chunks.append(items[start:start + size])
        start += size
    return chunks


def _run_pool(chunk_function, shared, chunks, unfinished: set, results: list, usable: int, on_done, describe,
              *, can_recover: bool, preload: tuple[str, ...]) -> WorkerFailed | None:
    """Run the unfinished chunks in a new pool; finished ones leave ``unfinished``. Returns the
    WorkerFailed of a worker's death when it may be recovered from (the pool is then stopped)."""
    pool = ProcessPoolExecutor(max_workers=usable, mp_context=_context(preload), initializer=_die_with,
                               initargs=(os.getpid(),))
    try:
        futures = {pool.submit(chunk_function, (*shared, chunks[n])): n for n in sorted(unfinished)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                n = futures[future]
                try:
                    results[n] = future.result()
                except Exception as error:  # an error in a worker, or its death (BrokenProcessPool)
                    chunk = chunks[n]
                    names = ", ".join(describe(item) for item in chunk[:3]) + (" ..." if len(chunk) > 3 else "")
                    failed = WorkerFailed(f"a worker process failed on {names}: {type(error).__name__}: {error}")
                    failed.__cause__ = error
                    if can_recover and isinstance(error, BrokenProcessPool):
                        _stop(pool)
                        return failed
                    raise failed from error
                unfinished.discard(n)
                if on_done:
                    on_done(results[n])
        pool.shutdown(wait=True)
        return None
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


# ---------------------------------------------------------------- a time limit per item


class TookTooLong(BaseException):
    """Raised inside the work on one item when its time limit passed (a BaseException, so that the
    readers' per-record isolation, which catches Exception, does not take it for a bad record)."""

    def __init__(self, seconds: float):
        super().__init__(f"took longer than {seconds:g} s")
        self.seconds = seconds


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise TookTooLong in the body once ``seconds`` of wall-clock time have passed (SIGALRM: the
    body is interrupted the next time it runs Python code). Without a limit, or outside the main
    thread (where no signal can be handled), the body runs unlimited."""
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise TookTooLong(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


RUNAWAY_EXIT_CODE = 75


class Watchdog:
    """In a worker process: kill the worker when one item runs past its hard limit, as where a signal
    cannot interrupt it (C code of a library). Before dying it writes ``runaway-<pid>.txt`` in
    ``marker_dir`` (the item's name, the limit), which map_chunks' ``recover`` reads to set the item
    aside and go on with new workers. Outside a worker process (``IN_WORKER`` false) it does nothing:
    it never kills a run.

    One watching thread per worker process looks at the item being watched every
    ``WATCH_POLL_SECONDS``; watching an item only records it. (A ``threading.Timer`` per item started
    and cancelled a thread per file: 40,000 small pages took 126.0 CPU s with it and 110.4 without,
    ~0.4 ms a file, about as much as parsing a 50-word page.)"""

    def __init__(self, marker_dir: Path):
        self.marker_dir = Path(marker_dir)

    @contextlib.contextmanager
    def watch(self, name: str, seconds: float):
        if not IN_WORKER:
            yield
            return
        _start_watching()
        _watched[0] = watched = (name, seconds, time.monotonic() + seconds, self.marker_dir)
        try:
            yield
        finally:
            if _watched[0] is watched:
                _watched[0] = None


WATCH_POLL_SECONDS = 0.25
_watched: list = [None]  # the item this worker is on: (name, limit, deadline, marker dir), or None
_watcher: list = [None]  # the watching thread, with the pid it was started in


def _start_watching() -> None:
    if _watcher[0] is not None and _watcher[0][1] == os.getpid():
        return
    thread = threading.Thread(target=_watch_forever, name="fms-watchdog", daemon=True)
    _watcher[0] = (thread, os.getpid())
    thread.start()


def _watch_forever() -> None:
    while True:
        item = _watched[0]
        if item is not None and time.monotonic() >= item[2] and _watched[0] is item:
            name, seconds, _, marker_dir = item
            marker = Path(marker_dir) / f"runaway-{os.getpid()}.txt"
            marker.write_text(f"{name}\n{seconds:g}\n", encoding="utf-8", errors="surrogateescape")
            os._exit(RUNAWAY_EXIT_CODE)
        time.sleep(WATCH_POLL_SECONDS)


def runaways(marker_dir: Path) -> dict[str, float]:
    """The items Watchdogs killed their workers on (name -> limit in seconds); their markers removed."""
    found = {}
    for marker in Path(marker_dir).glob("runaway-*.txt"):
        name, seconds = marker.read_text(encoding="utf-8", errors="surrogateescape").split("\n")[:2]
        found[name] = float(seconds)
        marker.unlink()
    return found
