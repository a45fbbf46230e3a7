"""The main job as it runs on a cluster: Dagster's run, event and schedule storage in a real
PostgreSQL server (deploy/dagster-postgres.yaml), and the data folder on an S3-compatible object
store (moto's standalone server). Both must give the warehouse a local run gives.

One PostgreSQL server, one moto server and one local reference run per test session
(cluster_setup.py, shared with test_daemon.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from fms_pipeline import cli, staging, tables
from fms_pipeline_tests import cluster_setup, servers
from fms_pipeline_tests.conftest import SAMPLE

# About three minutes on a busy 2-core machine (six Dagster runs of the main job, two servers);
# the default test command and CI run them.
pytestmark = pytest.mark.slow


def test_reference_run_has_data(reference_warehouse: Path, raw_files: Path):
    """The comparisons below are worth something only if the reference holds every file's rows."""
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        files = dict(con.execute("SELECT source_file, status FROM source_files").fetchall())
        assert files == {p.name: "staged" for p in raw_files.iterdir()}
        for table in ("documents", "comments", "entity_mentions", "outcome_mentions", "entity_counts"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table


def test_published_warehouse_has_no_views_into_staging(reference_warehouse: Path):
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                           "AND sql ILIKE '%parquet%'").fetchall()]
    assert views == []


# ---------------------------------------------------------------- PostgreSQL


def _runs(pg: servers.Postgres) -> list[tuple[str, str, str, str | None, str | None, str | None]]:
    """(run_id, job, status, partition, range start, range end) of every run in Postgres, oldest first."""
    with pg.connect() as con, con.cursor() as cur:
        cur.execute("""
            SELECT r.run_id, r.pipeline_name, r.status,
                   max(t.value) FILTER (WHERE t.key = 'dagster/partition'),
                   max(t.value) FILTER (WHERE t.key = 'dagster/asset_partition_range_start'),
                   max(t.value) FILTER (WHERE t.key = 'dagster/asset_partition_range_end')
            FROM runs AS r LEFT JOIN run_tags AS t ON t.run_id = r.run_id
            GROUP BY r.run_id, r.pipeline_name, r.status, r.id ORDER BY r.id""")
        return cur.fetchall()


def test_main_job_and_a_backfill_on_postgres_storage(postgres, raw_files, reference_warehouse, tmp_path,
                                                    monkeypatch):
    import dagster as dg
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from fms_pipeline.definitions import build_definitions
    from fms_pipeline.defs.automation import build_warehouse_job, partition_tags, process_files_job
    from fms_pipeline.defs.ingest import BACKFILL_POLICY, FULL_TAG

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(cluster_setup.DAGSTER_POSTGRES_YAML, home / "dagster.yaml")
    cluster_setup.isolate(monkeypatch, home)
    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FMS_WORKERS", "1")
    monkeypatch.setenv("FMS_BUCKETS_PER_RUN", "2")  # 3 batches with files: two processing runs
    data = cluster_setup.data_dir_with(raw_files, tmp_path / "data")

    assert cli.materialize(data) == 0

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert not list(home.rglob("*.db")), "no SQLite storage beside dagster.yaml"
    buckets = sorted({staging.bucket_of(p.name) for p in raw_files.iterdir()})
    runs = _runs(postgres)
    assert [(job, status) for _, job, status, *_ in runs] == [
        ("process_files", "SUCCESS"), ("process_files", "SUCCESS"), ("build_warehouse", "SUCCESS")]
    ranges = [(part or start, part or end) for _, job, _, part, start, end in runs if job == "process_files"]
    assert ranges == [(buckets[0], buckets[1]), (buckets[2], buckets[2])]
    rows = cluster_setup.assert_same_warehouse(data / "warehouse.duckdb", reference_warehouse)
    assert rows["documents"] == len(list(raw_files.iterdir()))

    # A backfill of every batch, re-processing every file, split into runs the way the assets'
    # multi-run backfill policy splits a backfill launched in the UI.
    per_run = BACKFILL_POLICY.max_partitions_per_run
    every = staging.all_buckets()
    defs = build_definitions(str(data))
    with dg.DagsterInstance.get() as instance:
        for start in range(0, len(every), per_run):
            group = every[start:start + per_run]
            result = defs.resolve_job_def(process_files_job.name).execute_in_process(
                instance=instance, tags={**partition_tags(group), FULL_TAG: "true"}, raise_on_error=False)
            assert result.success, group
        assert defs.resolve_job_def(build_warehouse_job.name).execute_in_process(instance=instance).success
        assert instance.get_materialized_partitions(dg.AssetKey("source_files")) == set(every)

    backfill = _runs(postgres)[len(runs):]
    assert [(job, status, start, end) for _, job, status, _, start, end in backfill] == [
        *(("process_files", "SUCCESS", every[i], every[i + per_run - 1]) for i in range(0, len(every), per_run)),
        ("build_warehouse", "SUCCESS", None, None)]
    with postgres.connect() as con, con.cursor() as cur:
        cur.execute("SELECT count(DISTINCT partition) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
                    "AND asset_key = %s AND run_id = ANY(%s)",
                    [dg.AssetKey("parsed_comments").to_string(), [r[0] for r in backfill]])
        assert cur.fetchone()[0] == len(every)
    cluster_setup.assert_same_warehouse(data / "warehouse.duckdb", reference_warehouse)


# ---------------------------------------------------------------- object storage


def _keys(client, bucket: str, prefix: str) -> dict[str, tuple[int, str, object]]:
    """{key: (size, ETag, LastModified)} under the prefix (LastModified changes with every PUT)."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {o["Key"]: (o["Size"], o["ETag"], o["LastModified"]) for page in pages for o in page.get("Contents", [])}


def test_main_job_on_an_s3_compatible_store(s3_server, raw_files, reference_warehouse, tmp_path, monkeypatch):
    from fms_pipeline import workers

    cluster_setup.isolate(monkeypatch, tmp_path / "dagster_home")
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    # Two worker processes even for a handful of files (they start from about 50 files per worker),
    # so that forked workers read raw and staged objects from the store too.
    monkeypatch.setenv("FMS_WORKERS", "2")
    monkeypatch.setattr(workers, "usable_workers", lambda n, items, per_worker_min=0: max(1, min(n, items)))
    client = s3_server.client()
    client.create_bucket(Bucket="fms-cluster-test")
    url = "s3://fms-cluster-test/fms"
    names = sorted(p.name for p in raw_files.iterdir())
    late = next(n for n in names if n.startswith("page-") and n not in ("page-00000.txt", "page-00001.txt"))
    for name in names:
        if name != late:
            client.upload_file(str(raw_files / name), "fms-cluster-test", f"fms/raw/{name}")
    from benchmarks.corpus import write_corpus

    write_corpus(tmp_path / "gone", words=1, seed=8, start=900)  # a page deleted before the second run
    client.upload_file(str(tmp_path / "gone" / "page-00900.txt"), "fms-cluster-test", "fms/raw/page-00900.txt")

    assert cli.materialize(url) == 0
    first = _keys(client, "fms-cluster-test", "fms/reports/")
    # Other machines add a file to a batch that already holds one and delete another; this process
    # (its object-store client and what it cached) goes on running.
    client.upload_file(str(raw_files / late), "fms-cluster-test", f"fms/raw/{late}")
    client.delete_object(Bucket="fms-cluster-test", Key="fms/raw/page-00900.txt")
    assert cli.materialize(url) == 0

    keys = _keys(client, "fms-cluster-test", "fms/")
    staged = sorted(k.removeprefix("fms/staging/") for k in keys if k.startswith("fms/staging/"))
    buckets = sorted({staging.bucket_of(n) for n in names})
    assert staged == sorted(f"{t}/bucket-{b}.parquet" for t in tables.STAGED_TABLES for b in buckets)
    assert len(buckets) < len(names)  # one object per batch and table, not per file
    assert all(size > 0 for size, *_ in keys.values())
    unexpected = [k for k in keys if not re.match(r"fms/(raw|staging|reports)/|fms/warehouse\.duckdb$", k)]
    assert not unexpected, f"objects left behind: {unexpected}"

    local = tmp_path / "downloaded.duckdb"
    client.download_file("fms-cluster-test", "fms/warehouse.duckdb", str(local))
    rows = cluster_setup.assert_same_warehouse(local, reference_warehouse)
    assert rows["source_files"] == len(names)

    with duckdb.connect(str(local), read_only=True) as con:
        document_ids = {r[0] for r in con.execute("SELECT document_id FROM documents").fetchall()}
        sample_id = con.execute("SELECT document_id FROM documents WHERE source_file = ?", [SAMPLE.name]).fetchone()[0]
    pages = {k.removeprefix("fms/reports/documents/").removesuffix(".html") for k in keys
             if k.startswith("fms/reports/documents/")}
    assert pages == document_ids  # the deleted page's document page went too
    report = client.get_object(Bucket="fms-cluster-test", Key="fms/reports/report.html")["Body"].read().decode()
    assert all(f"documents/{d}.html" in report for d in document_ids)
    sample_page = f"fms/reports/documents/{sample_id}.html"
    assert keys[sample_page] == first[sample_page]  # an unchanged page is not uploaded again

    # Nothing new: the run finds the warehouse current (versions of the staged objects read back).
    assert cli.materialize(url) == 0
    assert _keys(client, "fms-cluster-test", "fms/staging/") == {k: v for k, v in keys.items()
                                                                 if k.startswith("fms/staging/")}


def test_one_listing_gives_the_versions_of_every_file(s3_server, tmp_path, monkeypatch):
    """storage.file_versions (one LIST on a store) agrees with file_version per file, locally and on S3,
    and changes when a file is rewritten."""
    from fms_pipeline import storage

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    client = s3_server.client()
    client.create_bucket(Bucket="fms-versions-test")
    files = {"documents/bucket-00.parquet": b"one", "documents/bucket-07.parquet": b"two two",
             "comments/bucket-00.parquet": b"three", "odd name é.parquet": b"four"}
    local = tmp_path / "staging"
    for name, content in files.items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(content)
        client.put_object(Bucket="fms-versions-test", Key=f"fms/staging/{name}", Body=content)
    for folder in (storage.as_path(local), storage.as_path("s3://fms-versions-test/fms/staging")):
        versions = storage.file_versions(folder)
        assert versions == {name: storage.file_version(folder / name) for name in files}, folder
        assert storage.file_versions(folder / "no-such-folder") == {}
        with storage.atomic_write(folder / "documents" / "bucket-07.parquet") as tmp:
            tmp.write_bytes(b"rewritten")
        rewritten = storage.file_versions(folder)
        assert rewritten["documents/bucket-07.parquet"] != versions["documents/bucket-07.parquet"]
        assert {k: v for k, v in rewritten.items() if k != "documents/bucket-07.parquet"} == {
            k: v for k, v in versions.items() if k != "documents/bucket-07.parquet"}


def test_uploading_a_report_replaces_the_previous_one(s3_server, tmp_path, monkeypatch):
    """storage.upload_tree leaves the store holding exactly the new folder: a page no longer rendered is
    removed, an unchanged one is not sent again."""
    from fms_pipeline import storage

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    client = s3_server.client()
    client.create_bucket(Bucket="fms-report-test")
    dest = storage.as_path("s3://fms-report-test/fms/reports")

    def render(folder: Path, pages: dict[str, str], index: str) -> Path:
        (folder / "documents").mkdir(parents=True)
        for name, text in pages.items():
            (folder / "documents" / f"{name}.html").write_text(text)
        (folder / "report.html").write_text(index)
        return folder

    first = storage.upload_tree(render(tmp_path / "one", {"a": "page a", "b": "page b"}, "index 1"), dest)
    assert first == {"uploaded": 3, "unchanged": 0, "removed": 0}
    before = _keys(client, "fms-report-test", "fms/reports/")
    second = storage.upload_tree(render(tmp_path / "two", {"b": "page b", "c": "page c"}, "index 2"), dest)
    after = _keys(client, "fms-report-test", "fms/reports/")
    assert sorted(after) == ["fms/reports/documents/b.html", "fms/reports/documents/c.html", "fms/reports/report.html"]
    assert second == {"uploaded": 2, "unchanged": 1, "removed": 1}
    assert after["fms/reports/documents/b.html"] == before["fms/reports/documents/b.html"]
    assert client.get_object(Bucket="fms-report-test", Key="fms/reports/report.html")["Body"].read() == b"index 2"
