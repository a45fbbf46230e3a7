"""The scheduled path as production runs it: a real ``dagster-daemon`` and ``dagster-webserver`` on
the PostgreSQL instance of deploy/dagster-postgres.yaml (QueuedRunCoordinator, the monitored run
launcher, run monitoring and run retries on), the data folder on the S3-compatible server.

Raw files put into ``raw/`` are found by the sensor and processed in queued runs; the warehouse
automation starts the build. While the build holds the warehouse writers' pool slot, the daemon is
killed with SIGKILL together with what it started (its code server and the run's process: the
daemon's machine dies). Started again, the daemon marks the dead run failed, frees its slot and
starts a new run that finishes the build; the published warehouse equals a clean local build's.

Shares the PostgreSQL server, the moto server, the raw files and the reference build with
test_cluster.py (cluster_setup.py). About two minutes on a busy 2-core machine."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from fms_pipeline_tests import cluster_setup, servers
from fms_pipeline_tests.conftest import REPO

pytestmark = pytest.mark.slow

BUCKET, PREFIX = "fms-daemon-test", "fms"
WRITER_POOL = "fms_warehouse_writer"
BIN = Path(sys.executable).parent
IN_PROGRESS = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def _instance_yaml(home: Path) -> None:
    """deploy/dagster-postgres.yaml as it is, but run monitoring polling every 2 s and freeing a dead
    run's slots 2 s after it ends (30 s each in production), so the test does not wait a minute."""
    config = yaml.safe_load(cluster_setup.DAGSTER_POSTGRES_YAML.read_text())
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    config["run_monitoring"].update(poll_interval_seconds=2, free_slots_after_run_end_seconds=2)
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


def _tail(log: Path, n: int = 3000) -> str:
    return log.read_text(errors="replace")[-n:] if log.exists() else "(no log)"


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(base + "/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = json.load(answer)
    assert "errors" not in body, body
    return body["data"]


def test_sensor_queue_and_a_killed_daemon(postgres, s3_server, raw_files, reference_warehouse, tmp_path, monkeypatch):
    import dagster as dg
    from dagster._core.events import DagsterEventType

    # Dagster's own state in a database of its own on the shared server; data on the S3 server.
    pg = postgres.new_database("dagster_daemon_test")
    home = tmp_path / "dagster_home"
    _instance_yaml(home)
    cluster_setup.isolate(monkeypatch, home)
    for name, value in {**pg.env(), **s3_server.env()}.items():
        monkeypatch.setenv(name, value)
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    names = sorted(p.name for p in raw_files.iterdir())
    for name in names:
        client.upload_file(str(raw_files / name), BUCKET, f"{PREFIX}/raw/{name}")
    env = {**os.environ, "FMS_DATA_DIR": f"s3://{BUCKET}/{PREFIX}", "FMS_WORKERS": "1",
           "FMS_BUCKETS_PER_RUN": "2"}  # 3 batches with files: two processing runs in the queue
    logs = {"webserver": tmp_path / "webserver.log", "daemon": tmp_path / "daemon.log"}
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    workspace = str(REPO / "workspace.yaml")
    webserver = servers.start_in_own_group(
        [str(BIN / "dagster-webserver"), "-w", workspace, "-h", "127.0.0.1", "-p", str(port)],
        env=env, cwd=REPO, log=logs["webserver"])
    daemon = servers.start_in_own_group([str(BIN / "dagster-daemon"), "run", "-w", workspace],
                                        env=env, cwd=REPO, log=logs["daemon"])
    instance = dg.DagsterInstance.get()

    def runs() -> list[dg.DagsterRun]:
        return list(reversed(instance.get_runs()))  # oldest first

    def wait_for(what: str, condition, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in (("webserver", webserver), ("daemon", daemon)):
                assert process.poll() is None, f"{name} exited with {process.returncode}:\n{_tail(logs[name])}"
            if value := condition():
                return value
            time.sleep(0.25)
        summary = [(r.job_name, r.status.value, r.tags.get("dagster/parent_run_id")) for r in runs()]
        pytest.fail(f"no {what} within {timeout:.0f} s; runs: {summary}\ndaemon log:\n{_tail(logs['daemon'])}")

    def building_run() -> str | None:
        """The run holding the writers' slot (the warehouse automation's build), if any."""
        claimed = {s.run_id for s in instance.event_log_storage.get_concurrency_info(WRITER_POOL).claimed_slots}
        return next((r.run_id for r in runs() if r.run_id in claimed and r.status == dg.DagsterRunStatus.STARTED),
                    None)

    try:
        # 1. The sensor finds the files; its runs go through the queue; the automation starts a build.
        killed_id = wait_for("build holding the writers' pool slot", building_run, timeout=400)
        before = runs()
        processing = [r for r in before if r.job_name == "process_files"]
        assert processing and all(r.tags.get("dagster/sensor_name") == "raw_files_sensor" for r in processing)
        for r in before:  # every run went through the queue (the sensor's and the automation's)
            if r.status != dg.DagsterRunStatus.NOT_STARTED:  # not one being created right now
                kinds = {e.dagster_event.event_type_value for e in instance.all_logs(r.run_id) if e.dagster_event}
                assert DagsterEventType.RUN_ENQUEUED.value in kinds, (r.job_name, r.status, sorted(kinds))

        # 2. The daemon's machine dies: the daemon, its code server and the build's process at once.
        os.killpg(daemon.pid, signal.SIGKILL)
        wait_for_gone = time.monotonic() + 10
        while servers.group_members(daemon) and time.monotonic() < wait_for_gone:
            time.sleep(0.1)
        assert not servers.group_members(daemon), "the daemon's processes outlived SIGKILL"
        assert instance.get_run_by_id(killed_id).status == dg.DagsterRunStatus.STARTED  # nobody told Dagster
        dead = {r.run_id for r in runs() if r.status in (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)}
        assert building_run() == killed_id  # and the slot stays claimed by the dead run

        # 3. Started again: the dead run is marked failed, its slot freed, a retry finishes the build.
        daemon = servers.start_in_own_group([str(BIN / "dagster-daemon"), "run", "-w", workspace],
                                            env=env, cwd=REPO, log=logs["daemon"])
        wait_for("dead run marked failed",
                 lambda: instance.get_run_by_id(killed_id).status == dg.DagsterRunStatus.FAILURE, timeout=120)
        failure = instance.all_logs(killed_id, of_type=DagsterEventType.RUN_FAILURE)
        assert "code server" in failure[-1].message, failure[-1].message  # said by the monitored launcher
        retry = wait_for("retry of the dead run",
                         lambda: next((r for r in runs() if r.tags.get("dagster/parent_run_id") == killed_id), None),
                         timeout=60)
        wait_for("retry finished", lambda: instance.get_run_by_id(retry.run_id).is_finished, timeout=300)
        assert instance.get_run_by_id(retry.run_id).status == dg.DagsterRunStatus.SUCCESS, _tail(logs["daemon"])
        assert killed_id not in {s.run_id for s in
                                 instance.event_log_storage.get_concurrency_info(WRITER_POOL).claimed_slots}

        # 4. When every run is done (another build may follow the retry), the published warehouse is a
        # clean build's, and the webserver shows the same runs and healthy daemons.
        wait_for("all runs finished", lambda: not any(r.status.value in IN_PROGRESS for r in runs()), timeout=300)
        local = tmp_path / "warehouse.duckdb"
        client.download_file(BUCKET, f"{PREFIX}/warehouse.duckdb", str(local))
        rows = cluster_setup.assert_same_warehouse(local, reference_warehouse)
        assert rows["source_files"] == len(names)
        # The runs that died with the daemon (the build, and processing runs still going) failed and
        # were retried with success; every other run succeeded.
        final = runs()
        failed = {r.run_id for r in final if r.status == dg.DagsterRunStatus.FAILURE}
        assert killed_id in failed and failed <= dead, (failed, dead)
        retried = {r.tags.get("dagster/parent_run_id"): r.status for r in final if "dagster/parent_run_id" in r.tags}
        assert all(retried.get(run_id) == dg.DagsterRunStatus.SUCCESS for run_id in failed), retried
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in final if r.run_id not in failed)

        data = wait_for("webserver answering", lambda: _try_graphql(base), timeout=60)
        statuses = {d["daemonType"]: d["healthy"] for d in data["instance"]["daemonHealth"]["allDaemonStatuses"]
                    if d["required"]}
        # The sensors, the queue, run monitoring and the run retries (the event log consumer) ran.
        assert {"SENSOR", "ASSET", "QUEUED_RUN_COORDINATOR", "MONITORING", "EVENT_LOG_CONSUMER"} <= set(statuses), \
            statuses
        assert {r["runId"]: r["status"] for r in data["runsOrError"]["results"]} == {
            r.run_id: r.status.value for r in runs()}
    finally:
        instance.dispose()
        for process in (daemon, webserver):
            servers.stop_group(process)


def _try_graphql(base: str) -> dict | None:
    try:
        return _graphql(base, "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } "
                              "runsOrError { ... on Runs { results { runId status } } } }")
    except OSError:
        return None
