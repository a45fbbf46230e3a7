"""The DuckDB warehouse, built from Parquet staging by SQL files in layers.

``sql/core/``       tables loaded from staging (source_files, documents, comments, entity_mentions, ...)
``sql/aggregates/`` tables computed from the core tables (entity_counts, drug_condition_pairs, ...)
``sql/checks/``     queries that return the rows breaking an invariant (none when the data are good)

Each table's SQL file has its declaration beside it (``NN_name.yml``, read by ``fms_pipeline.tables``;
the format is in ``CONTRACT.md``): the build runs the tables in declaration order, runs each
declared test and the checks before publishing, verifies the built columns against the
declaration and writes the descriptions as ``COMMENT ON TABLE/COLUMN``.

The build writes a new file beside the warehouse and renames it over the old one only when
every step and check passed, so readers never see a half-built warehouse and a failed build
leaves the previous one intact. When only some buckets' staged files changed since the last
build, the new file starts as a copy of the old one: the rows of those buckets' documents and
files are deleted and inserted again by the same core SQL, and the aggregates are recomputed
(an incremental build); ``_build_batches`` records each bucket's staged-file versions for that. The
checks run on the tables being built, before the swap. Staged files reach DuckDB as Parquet
views and Arrow tables registered on the connection: no SQL is assembled from file names or text.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from fms_pipeline import staging, storage, tables
from fms_pipeline.storage import AnyPath
from fms_pipeline.tables import ContractError, Table
from fms_pipeline.warehouse import contract

# DuckDB takes up to 80% of the machine's memory by default; the build and the checks run inside
# the pipeline's job, whose whole process tree should stay under 1.5 GB (issue 20: the build was
# the peak at 200,000 files). Past this DuckDB spills to a temporary folder (its operators that
# cannot spill still may exceed it).
DUCKDB_MEMORY_LIMIT = "768MB"


def _bounded(spill_dir: str | Path) -> dict[str, str]:
    """DuckDB's settings for the build and the checks: DUCKDB_MEMORY_LIMIT, spilling to ``spill_dir``."""
    return {"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill_dir)}

STAGED_TABLES = tables.STAGED_TABLES
# Tables with rows per document: an incremental build replaces the changed buckets' documents' rows.
PER_DOCUMENT_TABLES = tables.PER_DOCUMENT_TABLES
# Replaced by bucket in an incremental build (the per-document tables, and the files' state).
INCREMENTAL_TABLES = (*tables.PER_DOCUMENT_TABLES, "source_files")
# An incremental build when at most this share of buckets changed (else rebuilding is as fast),
# and a full one after this many incremental builds (deleted rows leave free blocks behind).
INCREMENTAL_MAX_SHARE = 0.5
INCREMENTAL_MAX_BUILDS = 50
CORE_TABLES = tables.CORE_TABLES
AGGREGATE_TABLES = tables.AGGREGATE_TABLES


def sql_files(layer: str) -> list[tuple[str, str]]:
    """[(file name, SQL)] of one layer, in file-name order."""
    directory = resources.files(__package__).joinpath("sql").joinpath(layer)
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in directory.iterdir() if f.name.endswith(".sql"))


def layer_tables(layer: str, catalog: dict[str, Table] | None = None) -> list[Table]:
    """The declared tables of one layer ("core" or "aggregates"), in build order."""
    return [t for t in (catalog or tables.TABLES).values() if t.layer == layer]


def check_descriptions() -> dict[str, tuple[str, str]]:
    """{check: (the asset it guards, description)} from each check file's header lines
    ``-- guards: <asset>`` and ``-- description: <text>``."""
    found = {}
    for name, sql in sql_files("checks"):
        header = dict(re.findall(r"^--\s*(guards|description):\s*(.+)$", sql, re.MULTILINE))
        if "guards" not in header or "description" not in header:
            raise ContractError(f"checks/{name}: needs '-- guards: <asset>' and '-- description: <text>' lines")
        found[name.removesuffix(".sql")] = (header["guards"].strip(), header["description"].strip())
    return found


class WarehouseCheckFailed(RuntimeError):
    def __init__(self, failures: dict[str, list[tuple[str, str]]]):
        self.failures = failures
        lines = [f"{name}: {len(rows)} row(s), e.g. {rows[0][0]}: {rows[0][1]}" for name, rows in failures.items()]
        super().__init__("staged data break warehouse invariants; the warehouse was not replaced:\n" + "\n".join(lines))


def _register_staging(
    con: duckdb.DuckDBPyConnection, staging_dir: AnyPath, prefix: str, buckets: set[str] | None = None,
    download_dir: Path | None = None,
) -> None:
    """Expose each staged table as a view over its buckets' Parquet files (the given buckets only,
    if given); DuckDB reads them itself, in parallel. Files on an object store are downloaded to
    ``download_dir`` first (DuckDB's own S3 extension cannot be installed offline)."""
    for table in STAGED_TABLES:
        files = staging.staged_files(staging_dir, table)
        if buckets is not None:
            files = [f for f in files if f.name.removeprefix("bucket-").removesuffix(".parquet") in buckets]
        local = [str(_local_file(f, download_dir)) for f in files]
        if local:
            con.read_parquet(local).create_view(f"{prefix}{table}")
        else:
            con.register(f"{prefix}{table}", tables.empty_frame(table).to_arrow())


def _local_file(path: AnyPath, download_dir: Path | None) -> Path:
    if storage.is_local(path):
        return Path(path)
    if download_dir is None:
        raise ValueError("staged files on an object store need a download folder")
    target = download_dir / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    path.fs.get_file(path.path, str(target))
    return target


def _register_drug_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Class, ids and ingredients of every drug the warehouse's mentions name, as the ``drug_reference`` view."""
    import polars as pl

    from fms_pipeline.nlp.drug_lexicon import drug_reference

    names = [r[0] for r in con.execute("SELECT DISTINCT canonical FROM entity_mentions WHERE label = 'DRUG'").fetchall()]
    schema = {"drug": pl.String, "drug_class": pl.String, "drugbank_id": pl.String, "mesh_id": pl.String,
              "ingredients": pl.List(pl.String)}
    con.register("drug_reference", pl.DataFrame(drug_reference(names), schema=schema).to_arrow())


def _register_condition_reference(con: duckdb.DuckDBPyConnection) -> None:
    """ICD-10-CM code and description of every condition and symptom mentioned, and of every event an outcome
    reports (a condition is reported under its event term: ``events.condition_events``), as
    ``condition_reference``."""
    import polars as pl

    from fms_pipeline.nlp.icd10 import condition_reference

    names = [r[0] for r in con.execute(
        "SELECT canonical FROM entity_mentions WHERE label IN ('CONDITION', 'SYMPTOM') "
        "UNION SELECT unnest(events) FROM outcome_mentions").fetchall()]
    schema = {"condition": pl.String, "icd10_code": pl.String, "icd10_description": pl.String}
    con.register("condition_reference", pl.DataFrame(condition_reference(names), schema=schema).to_arrow())


def _register_signal_statistics(con: duckdb.DuckDBPyConnection) -> None:
    from fms_pipeline.signals import build

    build.register_drug_event_statistics(con)


def _register_signal_statistics_by_month(con: duckdb.DuckDBPyConnection) -> None:
    from fms_pipeline.signals import build

    build.register_drug_event_statistics(con, unless_registered="drug_event_statistics_by_month")


def _register_trend_breaks(con: duckdb.DuckDBPyConnection) -> None:
    from fms_pipeline.signals import build

    build.register_trend_breaks(con)


# Views the build registers from Python before a SQL file that declares them (``python_views``) runs.
PYTHON_VIEWS = {
    "drug_reference": _register_drug_reference, "condition_reference": _register_condition_reference,
    # Statistics of fms_pipeline.signals (one computation registers both drug_event_statistics views).
    "drug_event_statistics": _register_signal_statistics,
    "drug_event_statistics_by_month": _register_signal_statistics_by_month,
    "trend_break_estimates": _register_trend_breaks,
}


def check_staging(
    staging_dir: AnyPath, names: list[str] | None = None, buckets: set[str] | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Run the checks (all, or those named) on the staged data (of the given buckets, or all);
    {check: [(item, problem)]} for failures only."""
    with tempfile.TemporaryDirectory(prefix="fms-check-") as download, duckdb.connect(
            ":memory:", config=_bounded(download)) as con:
        _register_staging(con, staging_dir, prefix="", buckets=buckets, download_dir=Path(download))
        return run_checks(con, names)


def run_checks(con: duckdb.DuckDBPyConnection, names: list[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    failures: dict[str, list[tuple[str, str]]] = {}
    for name, sql in sql_files("checks"):
        if names is not None and name.removesuffix(".sql") not in names:
            continue
        rows = con.sql(sql).fetchall()
        if rows:
            failures[name.removesuffix(".sql")] = [(str(item), str(problem)) for item, problem in rows]
    return failures


@dataclass
class BuildSummary:
    path: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    incremental: bool = False
    buckets_changed: list[str] = field(default_factory=list)
    documents_changed: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)


def sql_version() -> str:
    """A hash of every SQL file and staged schema: a warehouse built by other SQL is rebuilt whole."""
    digest = hashlib.sha256()
    for table in tables.TABLES.values():
        digest.update(repr(table).encode())
    return digest.hexdigest()[:16]


def _incremental_plan(warehouse_file: Path | None, versions: dict[str, str]) -> tuple[set[str], set[str]] | None:
    """(changed or new buckets, removed buckets) since the warehouse was built, or None when it
    must be rebuilt whole."""
    if warehouse_file is None or not warehouse_file.exists():
        return None
    try:
        with duckdb.connect(str(warehouse_file), read_only=True) as con:
            version, builds = con.execute("SELECT sql_version, incremental_builds FROM _build_info").fetchall()[0]
            built = dict(con.execute("SELECT bucket, fingerprint FROM _build_batches").fetchall())
    except duckdb.Error:
        return None  # built before manifests existed, or unreadable: rebuild
    if version != sql_version() or builds >= INCREMENTAL_MAX_BUILDS:
        return None
    changed = {b for b, fp in versions.items() if built.get(b) != fp}
    removed = set(built) - set(versions)
    if len(changed) + len(removed) > INCREMENTAL_MAX_SHARE * max(len(versions), 1):
        return None
    return changed, removed


def _as_insert(sql: str) -> str:
    """``CREATE TABLE t AS SELECT ...`` -> ``INSERT INTO t SELECT ...`` (the same rows, appended)."""
    return tables.CREATE_TABLE.sub(f"INSERT INTO {tables.created_table(sql)} ", sql, count=1)


class ContractBroken(WarehouseCheckFailed):
    """The built tables differ from their declarations or break their declared tests."""


def build_tables(con: duckdb.DuckDBPyConnection, layer_list: list[Table], insert: frozenset[str] = frozenset()) -> None:
    """Run the tables' SQL in order (``INSERT`` for those in ``insert``, else drop and create)."""
    for table in layer_list:
        for view in table.python_views:
            PYTHON_VIEWS[view](con)
        if table.name in insert:
            con.execute(_as_insert(table.sql))
        else:
            con.execute(f"DROP TABLE IF EXISTS {table.name}")
            con.execute(table.sql)


def enforce_contract(con: duckdb.DuckDBPyConnection, layer_list: list[Table]) -> None:
    """Raise ContractBroken when a built table's columns or declared tests break its declaration;
    else write its descriptions as comments."""
    failures: dict[str, list[tuple[str, str]]] = {}
    for table in layer_list:
        if problems := contract.column_mismatches(con, table):
            failures[f"{table.name}.columns"] = [(table.sql_file, p) for p in problems]
    failures |= contract.run_tests(con, layer_list)
    if failures:
        raise ContractBroken(failures)
    with _transaction(con):  # ~300 statements: a commit each cost 0.24 s at 1M words, 0.07 s in one
        for table in layer_list:
            for statement in contract.comment_statements(table):
                con.execute(statement)


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection):
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def build_warehouse(staging_dir: AnyPath, warehouse_path: AnyPath, incremental: bool = True,
                    catalog: dict[str, Table] | None = None) -> BuildSummary:
    """Build the warehouse from staging into a new file, check it, and publish it atomically.

    Incremental (see the module text) when allowed and worthwhile; ``incremental=False`` always
    rebuilds from every staged file. ``warehouse_path`` may be on an object store: the file is
    built locally and uploaded in one PUT. ``catalog`` (default: the package's declarations) is
    for tests that add a table.
    """
    tables.lineage_errors(catalog or tables.TABLES, raise_first=True)  # a SQL file reading an unknown relation
    core, aggregates = layer_tables("core", catalog), layer_tables("aggregates", catalog)
    staging_dir = storage.as_path(staging_dir)
    warehouse_path = storage.as_path(warehouse_path)
    versions = staging.bucket_versions(staging_dir)
    if storage.is_local(warehouse_path):
        warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned_builds(warehouse_path)
        recover_wal(warehouse_path)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fms-build-")))
        previous = _previous_build(warehouse_path, scratch)
        plan = _incremental_plan(previous, versions) if incremental else None
        changed = plan[0] if plan else set(versions)
        removed = plan[1] if plan else set()
        building = stack.enter_context(storage.atomic_write(warehouse_path, tag="building"))
        if plan:
            shutil.copyfile(previous, building)
        with duckdb.connect(str(building), config=_bounded(scratch / "spill")) as con:
            _register_staging(con, staging_dir, prefix="staged_", buckets=changed if plan else None,
                              download_dir=scratch / "staging")
            if plan:
                _replace_buckets(con, changed | removed)
            build_tables(con, core, insert=frozenset(INCREMENTAL_TABLES) if plan else frozenset())
            # The checks run on the tables just built (the core SQL keeps orphans and bad offsets in
            # so that they show); a failure leaves the published warehouse as it was. They are
            # per-document invariants: an incremental build checks only the documents it replaced or
            # loaded rows of (0.14 s -> 0.04 s at 1M words); the others passed when they were loaded.
            with _checked_documents(con) if plan else contextlib.nullcontext():
                failures = run_checks(con)
            if failures:
                raise WarehouseCheckFailed(failures)
            enforce_contract(con, core)
            build_tables(con, aggregates)
            enforce_contract(con, aggregates)
            _write_manifest(con, versions, changed, removed, incremental=bool(plan))
            counts = {t.name: con.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0] for t in core + aggregates}
            documents_changed = [r[0] for r in con.execute(
                "SELECT document_id FROM documents WHERE document_id IN (SELECT document_id FROM replaced_documents) "
                "ORDER BY 1").fetchall()] if plan else [r[0] for r in con.execute(
                    "SELECT document_id FROM documents ORDER BY 1").fetchall()]
            documents_removed = [r[0] for r in con.execute(
                "SELECT document_id FROM replaced_documents EXCEPT SELECT document_id FROM documents ORDER BY 1"
            ).fetchall()] if plan else []
            for table in STAGED_TABLES:  # the build's views of staging must not be published with it
                con.execute(f"DROP VIEW IF EXISTS staged_{table}")
            con.execute("CHECKPOINT")
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    if storage.is_local(warehouse_path):
        # A WAL beside the published file belongs to the file it replaced (a writer that kept a
        # connection open): left there, every reader would fail with "WAL does not match".
        Path(f"{warehouse_path}.wal").unlink(missing_ok=True)
    return BuildSummary(warehouse_path, counts, incremental=bool(plan), buckets_changed=sorted(changed | removed),
                        documents_changed=documents_changed, documents_removed=documents_removed)


def _previous_build(warehouse_path: AnyPath, scratch: Path) -> Path | None:
    """The last published warehouse as a local file (downloaded from an object store), or None."""
    if storage.is_local(warehouse_path):
        return Path(warehouse_path) if Path(warehouse_path).exists() else None
    if storage.file_version(warehouse_path) is None:
        return None
    local = scratch / "previous.duckdb"
    warehouse_path.fs.get_file(warehouse_path.path, str(local))
    return local


def recover_wal(warehouse_path: Path) -> str | None:
    """Fold a write-ahead log left beside the warehouse by another writer into it (or set it aside
    when it does not belong to this file), so readers and the next build can open it."""
    wal = Path(f"{warehouse_path}.wal")
    if not wal.exists() or not warehouse_path.exists():
        return None
    try:
        with duckdb.connect(str(warehouse_path)) as con:
            con.execute("CHECKPOINT")
        return "checkpointed"
    except duckdb.Error as error:
        if "lock" in str(error).lower():
            return "held by another process"
        aside = wal.with_name(f"{wal.name}.stale-{os.getpid()}")
        os.replace(wal, aside)
        return f"set aside as {aside.name}: {error}"


def register_document_ids(con: duckdb.DuckDBPyConnection, name: str, document_ids: list[str]) -> None:
    """A one-column ``document_id`` table registered as ``name``, to filter with
    ``WHERE document_id IN (SELECT document_id FROM name)`` (no ids pasted into SQL)."""
    import polars as pl

    con.register(name, pl.DataFrame({"document_id": document_ids}, schema={"document_id": pl.String}).to_arrow())


def _replace_buckets(con: duckdb.DuckDBPyConnection, buckets: set[str]) -> None:
    """Delete the rows of these buckets' documents and files (they are inserted again from staging)."""
    import polars as pl

    con.register("replaced_buckets", pl.DataFrame({"bucket": sorted(buckets)}, schema={"bucket": pl.String}).to_arrow())
    con.execute("""
        CREATE TEMP TABLE replaced_documents AS
        SELECT d.document_id FROM documents AS d JOIN source_files AS s USING (source_file)
        WHERE s.bucket IN (SELECT bucket FROM replaced_buckets)
        UNION SELECT document_id FROM staged_documents""")
    for table in PER_DOCUMENT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE document_id IN (SELECT document_id FROM replaced_documents)")
    con.execute("DELETE FROM source_files WHERE bucket IN (SELECT bucket FROM replaced_buckets)")


@contextlib.contextmanager
def _checked_documents(con: duckdb.DuckDBPyConnection):
    """The per-document tables shadowed by temporary views of the rows of the documents an
    incremental build replaced (``replaced_documents``) or loaded rows of (any staged row's
    document, so that a row of an unknown document shows), for the checks."""
    loaded = " UNION ".join(f"SELECT document_id FROM staged_{t}" for t in PER_DOCUMENT_TABLES if t in STAGED_TABLES)
    con.execute(f"CREATE TEMP TABLE checked_documents AS SELECT document_id FROM replaced_documents UNION {loaded}")
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    for table in PER_DOCUMENT_TABLES:  # a temporary view is found before the table of the same name
        con.execute(f'CREATE TEMP VIEW {table} AS SELECT * FROM "{database}".main.{table} '
                    "WHERE document_id IN (SELECT document_id FROM checked_documents)")
    try:
        yield
    finally:
        for table in PER_DOCUMENT_TABLES:
            con.execute(f"DROP VIEW temp.main.{table}")
        con.execute("DROP TABLE checked_documents")


def _write_manifest(con, versions: dict[str, str], changed: set[str], removed: set[str], incremental: bool) -> None:
    import polars as pl

    if not incremental:
        con.execute("CREATE OR REPLACE TABLE _build_batches (bucket VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
        # What made each document's rows (its file's content and the rules): the report renders
        # again only the pages whose fingerprint changed.
        con.execute("""
            CREATE OR REPLACE VIEW _build_manifest AS
            SELECT d.document_id, concat_ws(':', s.sha256, s.pipeline_version, s.nlp_version) AS fingerprint
            FROM documents AS d JOIN source_files AS s USING (source_file)""")
        con.execute("CREATE OR REPLACE TABLE _build_info (sql_version VARCHAR, incremental_builds INTEGER, built_at TIMESTAMPTZ)")
        con.execute("INSERT INTO _build_info VALUES (?, 0, now())", [sql_version()])
    else:
        con.execute("DELETE FROM _build_batches WHERE bucket IN (SELECT bucket FROM replaced_buckets)")
        con.execute("UPDATE _build_info SET incremental_builds = incremental_builds + 1, built_at = now()")
    rows = pl.DataFrame({"bucket": sorted(changed), "fingerprint": [versions[b] for b in sorted(changed)]},
                        schema={"bucket": pl.String, "fingerprint": pl.String})
    con.register("new_manifest_rows", rows.to_arrow())
    con.execute("INSERT INTO _build_batches SELECT bucket, fingerprint FROM new_manifest_rows")


def remove_abandoned_builds(warehouse_path: Path) -> list[str]:
    """Delete half-built files left by builds that were killed (their process is gone)."""
    return storage.remove_abandoned_temp_files(warehouse_path.parent)


def connect_read_only(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, as analysts should open the warehouse."""
    return duckdb.connect(str(warehouse_path), read_only=True)


def is_current(staging_dir: AnyPath, warehouse_path: AnyPath) -> bool:
    """True when the published warehouse was built by this SQL from exactly the staged files
    there are now (nothing to rebuild)."""
    staging_dir, warehouse_path = storage.as_path(staging_dir), storage.as_path(warehouse_path)
    if storage.file_version(warehouse_path) is None:
        return False
    try:
        with storage.local_copy(warehouse_path) as local, connect_read_only(local) as con:
            version = con.execute("SELECT sql_version FROM _build_info").fetchall()[0][0]
            built = dict(con.execute("SELECT bucket, fingerprint FROM _build_batches").fetchall())
    except duckdb.Error:
        return False
    return version == sql_version() and built == staging.bucket_versions(staging_dir)
