"""The local DAGSTER_HOME's storage (defs/sqlite_storage.py): the same runs and events as Dagster's
own SQLite storage, written over kept connections and visible to other processes at once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from fms_pipeline import cli
from fms_pipeline.defs.sqlite_storage import KeptConnectionsEventLogStorage


@dg.asset
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(deps=[counted])
def summed() -> None:
    dg.get_dagster_logger().info("summed")


JOB = dg.Definitions(assets=[counted, summed], jobs=[dg.define_asset_job("both")]).resolve_job_def("both")


def _home(path: Path, config: str) -> Path:
    path.mkdir()
    (path / "dagster.yaml").write_text(config)
    return path


def _events(home: Path, monkeypatch, runs: int) -> tuple[list[list[str]], object]:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        ids = [JOB.execute_in_process(instance=instance).run_id for _ in range(runs)]
        kinds = [[e.dagster_event.event_type_value for e in instance.all_logs(i) if e.is_dagster_event] for i in ids]
        storage = type(instance.event_log_storage)
        # Read by another process while this one's connections are open: every event is committed.
        read = subprocess.run(
            [sys.executable, "-c", "import dagster as dg, sys\n"
             "with dg.DagsterInstance.get() as i:\n"
             "    print(sum(len(i.all_logs(r)) for r in sys.argv[1:]),"
             " i.get_latest_materialization_event(dg.AssetKey('counted')).run_id)", *ids],
            capture_output=True, text=True, env={**__import__("os").environ}, timeout=120)
        assert read.returncode == 0, read.stderr
        total, latest = read.stdout.split()
        assert int(total) == sum(len(instance.all_logs(i)) for i in ids)
        assert latest == ids[-1]
    return kinds, storage


def test_the_clis_instance_records_what_dagsters_own_storage_records(tmp_path, monkeypatch):
    runs = KeptConnectionsEventLogStorage.KEPT_SHARDS + 3  # more run files than connections kept
    ours, storage = _events(_home(tmp_path / "ours", cli.DAGSTER_YAML), monkeypatch, runs)
    theirs, default = _events(_home(tmp_path / "default", "telemetry:\n  enabled: false\n"), monkeypatch, 1)
    assert storage is KeptConnectionsEventLogStorage and default is not KeptConnectionsEventLogStorage
    assert all(kinds == theirs[0] for kinds in ours), (ours[0], theirs[0])
    assert "ASSET_MATERIALIZATION" in theirs[0] and "PIPELINE_SUCCESS" in theirs[0]


def test_connections_are_kept_per_file_and_closed_with_the_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(_home(tmp_path / "home", cli.DAGSTER_YAML)))
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        for _ in range(KeptConnectionsEventLogStorage.KEPT_SHARDS + 2):
            JOB.execute_in_process(instance=instance)
        pools = [engine.pool for engine in storage._engines.values()]
        assert len(pools) == KeptConnectionsEventLogStorage.KEPT_SHARDS  # the index and the latest runs
        assert sum(pool.checkedin() for pool in pools) == len(pools)  # each holds its open connection
    assert not storage._engines and sum(pool.checkedin() for pool in pools) == 0  # closed with the instance


def test_a_wiped_instance_records_new_events_in_new_files(tmp_path, monkeypatch):
    """``wipe`` deletes the run files: a connection kept to one must not take later events with it."""
    monkeypatch.setenv("DAGSTER_HOME", str(_home(tmp_path / "home", cli.DAGSTER_YAML)))
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(JOB.execute_in_process(instance=instance).run_id)
        instance.wipe()
        instance.report_engine_event("after the wipe", run)  # the run's file: deleted, then written again
        with dg.DagsterInstance.get() as reader:  # another instance: other connections
            assert [e.message for e in reader.all_logs(run.run_id)] == ["after the wipe"]


def test_the_ui_follows_a_running_runs_events(tmp_path, monkeypatch):
    """The webserver streams a run's events by watching its file; commits go to the ``-wal`` file."""
    monkeypatch.setenv("DAGSTER_HOME", str(_home(tmp_path / "home", cli.DAGSTER_YAML)))
    with dg.DagsterInstance.get() as writer, dg.DagsterInstance.get() as viewer:
        run = writer.get_run_by_id(JOB.execute_in_process(instance=writer).run_id)
        seen: list[str] = []
        viewer.event_log_storage.watch(run.run_id, None, lambda entry, cursor: seen.append(entry.message))
        time.sleep(0.5)  # the observer thread starts
        for i in range(20):
            writer.report_engine_event(f"event {i}", run)
            time.sleep(0.02)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "event 19" not in seen:
            time.sleep(0.1)
        assert [m for m in seen if m.startswith("event ")] == [f"event {i}" for i in range(20)]
