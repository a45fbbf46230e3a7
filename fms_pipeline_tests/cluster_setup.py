"""Set-up the cluster tests share (test_cluster.py, test_daemon.py): one PostgreSQL server, one
moto S3 server, one folder of raw files and one local reference run per test session (conftest
imports the fixtures), and the table-by-table comparison of two warehouses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from fms_pipeline import cli, staging, tables
from fms_pipeline_tests import servers
from fms_pipeline_tests.conftest import REPO, SAMPLE

DAGSTER_POSTGRES_YAML = REPO / "deploy" / "dagster-postgres.yaml"

# Columns that say when or on which file system a file was processed, not what it holds: a run
# elsewhere gives other values by design (a local fingerprint is size:mtime:ctime, on S3 size:ETag).
RUN_SPECIFIC_COLUMNS = {
    "source_files": {"processed_at", "fingerprint"},
    "rejected_files": {"seen_at"},
    "_build_batches": {"fingerprint"},  # versions (mtime or ETag) of the staged files
    "_build_info": {"built_at", "incremental_builds"},
}


# ---------------------------------------------------------------- shared set-up


def page_in_bucket(bucket: str, avoid: set[str]) -> int:
    """The number of a generated page whose file name falls in ``bucket`` (so that two raw files share
    a batch and the staged objects are visibly per batch, not per file)."""
    return next(n for n in range(10, 10_000)
                if staging.bucket_of(f"page-{n:05d}.txt") == bucket and f"page-{n:05d}.txt" not in avoid)


@pytest.fixture(scope="session")
def raw_files(tmp_path_factory) -> Path:
    """The sample page and three generated pages, one of which shares a batch with another file."""
    from benchmarks.corpus import write_corpus

    raw = tmp_path_factory.mktemp("cluster-raw")
    shutil.copy(SAMPLE, raw / SAMPLE.name)
    for n, seed in ((0, 3), (1, 4)):
        write_corpus(raw, words=1, seed=seed, start=n)  # one page each
    shared = page_in_bucket(staging.bucket_of("page-00000.txt"), {p.name for p in raw.iterdir()})
    write_corpus(raw, words=1, seed=5, start=shared)
    names = sorted(p.name for p in raw.iterdir())
    assert len(names) == 4 and len({staging.bucket_of(n) for n in names}) == 3, names
    return raw


def data_dir_with(raw: Path, folder: Path) -> Path:
    shutil.copytree(raw, folder / "raw")
    return folder


@pytest.fixture(scope="session")
def reference_warehouse(raw_files: Path, tmp_path_factory) -> Path:
    """The warehouse of a plain local run: a folder and Dagster's default SQLite instance, one process."""
    root = tmp_path_factory.mktemp("reference")
    data = data_dir_with(raw_files, root / "data")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root / "dagster_home")
        (root / "dagster_home").mkdir()
        (root / "dagster_home" / "dagster.yaml").write_text(cli.DAGSTER_YAML)
        mp.setenv("FMS_WORKERS", "1")
        assert cli.materialize(data) == 0
    return data / "warehouse.duckdb"


def isolate(mp: pytest.MonkeyPatch, dagster_home: Path) -> None:
    """No setting of the machine's environment leaks into a run."""
    for name in [n for n in os.environ if n.startswith(("FMS_", "FMS_PG_", "AWS_"))]:
        mp.delenv(name)
    mp.setenv("DAGSTER_HOME", str(dagster_home))


@pytest.fixture(scope="session")
def postgres():
    with servers.postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server():
    with servers.moto_s3_server() as server:
        yield server


# ---------------------------------------------------------------- comparing warehouses


def relations(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    """Tables and views of the warehouse."""
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main'",
        [catalog]).fetchall()}


def assert_same_warehouse(actual: Path, expected: Path) -> dict[str, int]:
    """Every table and view holds the same rows (as multisets: EXCEPT ALL both ways), apart from
    RUN_SPECIFIC_COLUMNS; returns {table: rows}."""
    with duckdb.connect(":memory:") as con:
        con.execute("ATTACH ? AS actual (READ_ONLY)", [str(actual)])
        con.execute("ATTACH ? AS expected (READ_ONLY)", [str(expected)])
        names = relations(con, "expected")
        assert relations(con, "actual") == names
        assert set(tables.CORE_TABLES + tables.AGGREGATE_TABLES) <= names
        rows: dict[str, int] = {}
        differences: dict[str, tuple[int, int]] = {}
        for name in sorted(names):
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'expected' "
                "AND table_name = ? ORDER BY ordinal_position", [name]).fetchall()]
            kept = ", ".join(f'"{c}"' for c in columns if c not in RUN_SPECIFIC_COLUMNS.get(name, set()))
            missing = con.execute(f"SELECT count(*) FROM (SELECT {kept} FROM expected.{name} "
                                  f"EXCEPT ALL SELECT {kept} FROM actual.{name})").fetchone()[0]
            extra = con.execute(f"SELECT count(*) FROM (SELECT {kept} FROM actual.{name} "
                                f"EXCEPT ALL SELECT {kept} FROM expected.{name})").fetchone()[0]
            if missing or extra:
                differences[name] = (missing, extra)
            rows[name] = con.execute(f"SELECT count(*) FROM expected.{name}").fetchone()[0]
        assert not differences, f"(rows missing, rows extra) per table: {differences}"
    return rows


