"""The workers' fork server: stopped once the NLP is done (the CLI's warehouse build in the same
process must not carry its loaded pipeline, ~350 MB), started again by a later pool."""

from __future__ import annotations

import os
from multiprocessing import forkserver

import pytest

from fms_pipeline import workers


def _squares(job):
    (chunk,) = job
    return [n * n for n in chunk]


def test_the_fork_server_stops_and_a_later_pool_starts_another():
    assert workers.map_chunks(_squares, list(range(6)), 2, per_worker_min=1) == [n * n for n in range(6)]
    server = forkserver._forkserver._forkserver_pid
    assert server is not None
    os.kill(server, 0)  # it runs
    workers.stop_fork_server()
    with pytest.raises(ProcessLookupError):
        os.kill(server, 0)
    workers.stop_fork_server()  # none running: nothing to do, no error
    assert workers.map_chunks(_squares, list(range(6)), 2, per_worker_min=1) == [n * n for n in range(6)]
    assert forkserver._forkserver._forkserver_pid not in (None, server)


def _pipelines_loaded(job):
    from fms_pipeline.nlp.pipeline import _shared_nlp, shared_nlp

    (chunk,) = job
    before = _shared_nlp.cache_info()
    same = shared_nlp(None) is shared_nlp() is shared_nlp("")
    return [(before.currsize, _shared_nlp.cache_info().currsize, same) for _ in chunk]


def test_nlp_workers_use_the_pipeline_the_fork_server_preloaded():
    """A worker asks for shared_nlp(None) (stages._nlp_chunk); the fork server preloaded
    shared_nlp(): one pipeline, loaded once before the fork, not a second one per worker."""
    workers.stop_fork_server()
    try:
        found = workers.map_chunks(_pipelines_loaded, list(range(4)), 2, per_worker_min=1)
    finally:
        workers.stop_fork_server()
    assert found == [(1, 1, True)] * 4


def test_a_pool_preloading_other_modules_leaves_nlp_workers_their_pipeline():
    """The report's page workers come from a fork server that imports the report, not the pipeline;
    the NLP workers after it must not find that server (each would load a pipeline of its own)."""
    workers.stop_fork_server()
    try:
        assert workers.map_chunks(_squares, list(range(4)), 2, per_worker_min=1, preload=("json",)) == [0, 1, 4, 9]
        light = forkserver._forkserver._forkserver_pid
        found = workers.map_chunks(_pipelines_loaded, list(range(4)), 2, per_worker_min=1)
        assert forkserver._forkserver._forkserver_pid != light
    finally:
        workers.stop_fork_server()
    assert found == [(1, 1, True)] * 4


def test_a_fork_server_started_ahead_serves_the_pool_that_follows():
    workers.stop_fork_server()
    try:
        workers.start_fork_server(("json",))
        started = forkserver._forkserver._forkserver_pid
        assert started is not None
        assert workers.map_chunks(_squares, list(range(4)), 2, per_worker_min=1, preload=("json",)) == [0, 1, 4, 9]
        assert forkserver._forkserver._forkserver_pid == started
    finally:
        workers.stop_fork_server()


@pytest.mark.parametrize("n, usable", [(1, 2), (8, 2), (300, 2), (20_410, 2), (200_000, 3)])
def test_chunks_shrink_as_the_work_runs_out(n, usable):
    """Guided chunks: every item once and in order; none larger than a quarter of a worker's share
    (the even split's chunk); the last ones at most 1/32 of it, so the core that finishes first waits
    little for the other's last chunk."""
    items = list(range(n))
    chunks = workers.guided_chunks(items, usable)
    assert [i for c in chunks for i in c] == items
    share = n / usable
    assert max(map(len, chunks)) <= -(-n // (usable * 4))
    assert all(len(c) <= max(1, -(-n // (usable * 32))) for c in chunks[-usable:])
    assert [len(c) for c in chunks[:-1]] == sorted((len(c) for c in chunks[:-1]), reverse=True)
    assert len(chunks) <= 40 or share < 40
