"""The DuckDB warehouse, built from Parquet staging by SQL files in layers.

``sql/core/``       tables loaded from staging (documents, comments, entity_mentions, rejected_files)
``sql/aggregates/`` tables computed from the core tables (entity_counts, drug_condition_pairs)
``sql/checks/``     queries that return the rows breaking an invariant (none when the data are good)

The build writes a new file beside the warehouse and renames it over the old one only when
every step and check passed, so readers never see a half-built warehouse and a failed build
leaves the previous one intact. When only some documents' staged files changed since the last
build, the new file starts as a copy of the old one: the changed documents' rows are deleted
and inserted again by the same core SQL, and the aggregates are recomputed (an incremental
build); ``_build_manifest`` records each document's staged-file fingerprint for that. The
checks run on the tables being built, before the swap. Staged files reach DuckDB as Parquet
views and Arrow tables registered on the connection: no SQL is assembled from file names or text.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from fms_pipeline import staging

STAGED_TABLES = ("documents", "comments", "entity_mentions", "rejected_files", "outcome_mentions", "sentences")
# Core tables with rows per document: an incremental build replaces the changed documents' rows.
PER_DOCUMENT_TABLES = ("documents", "comments", "entity_mentions", "outcome_mentions", "sentences")
# An incremental build when at most this share of documents changed (else rebuilding is as fast),
# and a full one after this many incremental builds (deleted rows leave free blocks behind).
INCREMENTAL_MAX_SHARE = 0.25
INCREMENTAL_MAX_BUILDS = 50
CORE_TABLES = ("documents", "comments", "entity_mentions", "rejected_files", "outcome_mentions", "sentences", "drugs")
AGGREGATE_TABLES = ("entity_counts", "drug_condition_pairs", "drug_outcomes", "drug_sentiment")


def sql_files(layer: str) -> list[tuple[str, str]]:
    """[(file name, SQL)] of one layer, in file-name order."""
    directory = resources.files(__package__).joinpath("sql").joinpath(layer)
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in directory.iterdir() if f.name.endswith(".sql"))


class WarehouseCheckFailed(RuntimeError):
    def __init__(self, failures: dict[str, list[tuple[str, str]]]):
        self.failures = failures
        lines = [f"{name}: {len(rows)} row(s), e.g. {rows[0][0]}: {rows[0][1]}" for name, rows in failures.items()]
        super().__init__("staged data break warehouse invariants; the warehouse was not replaced:\n" + "\n".join(lines))


def _register_staging(
    con: duckdb.DuckDBPyConnection, staging_dir: Path, prefix: str, document_ids: set[str] | None = None
) -> None:
    """Expose each staged table as a view (of the given documents only, if given; rejected
    files always whole); DuckDB reads the Parquet files itself, in parallel."""
    for table in STAGED_TABLES:
        files = staging.staged_files(staging_dir, table)
        if document_ids is not None and table != "rejected_files":
            files = [f for f in files if f.stem in document_ids]
        if files:
            con.read_parquet([str(f) for f in files]).create_view(f"{prefix}{table}")
        else:
            con.register(f"{prefix}{table}", staging.frame(table).to_arrow())


def _register_drug_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Class and ids of every drug the warehouse's mentions name, as the ``drug_reference`` view."""
    import polars as pl

    from fms_pipeline.nlp.drug_lexicon import drug_reference

    names = [r[0] for r in con.execute("SELECT DISTINCT canonical FROM entity_mentions WHERE label = 'DRUG'").fetchall()]
    schema = {"drug": pl.String, "drug_class": pl.String, "drugbank_id": pl.String, "mesh_id": pl.String}
    con.register("drug_reference", pl.DataFrame(drug_reference(names), schema=schema).to_arrow())


def check_staging(
    staging_dir: Path, names: list[str] | None = None, document_ids: set[str] | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Run the checks (all, or those named) on the staged data (of the given documents, or all);
    {check: [(item, problem)]} for failures only."""
    with duckdb.connect(":memory:") as con:
        _register_staging(con, staging_dir, prefix="", document_ids=document_ids)
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
    documents_changed: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)


def sql_version() -> str:
    """A hash of every SQL file and staged schema: a warehouse built by other SQL is rebuilt whole."""
    digest = hashlib.sha256()
    for layer in ("core", "aggregates"):
        for name, sql in sql_files(layer):
            digest.update(name.encode() + sql.encode())
    digest.update(repr(sorted((t, sorted(map(str, s.items()))) for t, s in staging.SCHEMAS.items())).encode())
    return digest.hexdigest()[:16]


def staged_fingerprints(staging_dir: Path) -> dict[str, str]:
    """{document_id: size and modification time of each of its staged files}: it changes when
    any of the document's staged files is rewritten."""
    parts: dict[str, list[str]] = {}
    for table in STAGED_TABLES:
        directory = staging.table_dir(staging_dir, table)
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.endswith(".parquet") and not entry.name.startswith("."):
                    st = entry.stat()
                    parts.setdefault(entry.name.removesuffix(".parquet"), []).append(
                        f"{table}:{st.st_size}:{st.st_mtime_ns}")
    return {doc_id: "|".join(sorted(p)) for doc_id, p in parts.items()}


def _incremental_plan(warehouse_path: Path, fingerprints: dict[str, str]) -> tuple[set[str], set[str]] | None:
    """(changed or new documents, removed documents) since the warehouse was built, or None
    when it must be rebuilt whole."""
    if not warehouse_path.exists():
        return None
    try:
        with duckdb.connect(str(warehouse_path), read_only=True) as con:
            version, builds = con.execute("SELECT sql_version, incremental_builds FROM _build_info").fetchall()[0]
            built = dict(con.execute("SELECT document_id, fingerprint FROM _build_manifest").fetchall())
    except duckdb.Error:
        return None  # built before manifests existed, or unreadable: rebuild
    if version != sql_version() or builds >= INCREMENTAL_MAX_BUILDS:
        return None
    changed = {d for d, fp in fingerprints.items() if built.get(d) != fp}
    removed = set(built) - set(fingerprints)
    if len(changed) + len(removed) > INCREMENTAL_MAX_SHARE * max(len(fingerprints), 1):
        return None
    return changed, removed


_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(\w+)\s+AS\s", re.IGNORECASE | re.MULTILINE)


def _table_of(sql: str) -> str:
    match = _CREATE_TABLE.search(sql)
    if match is None:
        raise ValueError(f"expected 'CREATE TABLE <name> AS ...' in:\n{sql}")
    return match.group(1)


def _as_insert(sql: str) -> str:
    """``CREATE TABLE t AS SELECT ...`` -> ``INSERT INTO t SELECT ...`` (the same rows, appended)."""
    table = _table_of(sql)
    return _CREATE_TABLE.sub(f"INSERT INTO {table} ", sql, count=1)


def build_warehouse(staging_dir: Path, warehouse_path: Path, incremental: bool = True) -> BuildSummary:
    """Build the warehouse from staging into a new file, check it, and swap it in atomically.

    Incremental (see the module text) when allowed and worthwhile; ``incremental=False`` always
    rebuilds from every staged file.
    """
    fingerprints = staged_fingerprints(staging_dir)
    plan = _incremental_plan(warehouse_path, fingerprints) if incremental else None
    changed = plan[0] if plan else set(fingerprints)
    removed = plan[1] if plan else set()
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(warehouse_path)
    building = warehouse_path.with_name(f".{warehouse_path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    try:
        if plan:
            shutil.copyfile(warehouse_path, building)
        with duckdb.connect(str(building)) as con:
            _register_staging(con, staging_dir, prefix="staged_", document_ids=changed if plan else None)
            if plan:
                _replace_documents(con, changed | removed)
            for name, sql in sql_files("core"):
                table = _table_of(sql)
                if table == "drugs":
                    _register_drug_reference(con)
                if plan and table in PER_DOCUMENT_TABLES:
                    con.execute(_as_insert(sql))
                else:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                    con.execute(sql)
            # The checks run on the tables just built (the core SQL keeps orphans and bad offsets in
            # so that they show); a failure leaves the published warehouse as it was.
            failures = run_checks(con)
            if failures:
                raise WarehouseCheckFailed(failures)
            for _, sql in sql_files("aggregates"):
                con.execute(f"DROP TABLE IF EXISTS {_table_of(sql)}")
                con.execute(sql)
            _write_manifest(con, fingerprints, changed, removed, incremental=bool(plan))
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in CORE_TABLES + AGGREGATE_TABLES}
            con.execute("CHECKPOINT")
        os.replace(building, warehouse_path)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    return BuildSummary(warehouse_path, counts, incremental=bool(plan),
                        documents_changed=sorted(changed), documents_removed=sorted(removed))


def register_document_ids(con: duckdb.DuckDBPyConnection, name: str, document_ids: list[str]) -> None:
    """A one-column ``document_id`` table registered as ``name``, to filter with
    ``WHERE document_id IN (SELECT document_id FROM name)`` (no ids pasted into SQL)."""
    import polars as pl

    con.register(name, pl.DataFrame({"document_id": document_ids}, schema={"document_id": pl.String}).to_arrow())


def _replace_documents(con: duckdb.DuckDBPyConnection, document_ids: set[str]) -> None:
    """Delete the rows of these documents from the per-document tables (they are inserted again)."""
    register_document_ids(con, "replaced_documents", sorted(document_ids))
    for table in PER_DOCUMENT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE document_id IN (SELECT document_id FROM replaced_documents)")


def _write_manifest(con, fingerprints: dict[str, str], changed: set[str], removed: set[str], incremental: bool) -> None:
    import polars as pl

    if not incremental:
        con.execute("CREATE OR REPLACE TABLE _build_manifest (document_id VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
        con.execute("CREATE OR REPLACE TABLE _build_info (sql_version VARCHAR, incremental_builds INTEGER, built_at TIMESTAMPTZ)")
        con.execute("INSERT INTO _build_info VALUES (?, 0, now())", [sql_version()])
    else:
        con.execute("DELETE FROM _build_manifest WHERE document_id IN (SELECT document_id FROM replaced_documents)")
        con.execute("UPDATE _build_info SET incremental_builds = incremental_builds + 1, built_at = now()")
    rows = pl.DataFrame({"document_id": sorted(changed), "fingerprint": [fingerprints[d] for d in sorted(changed)]},
                        schema={"document_id": pl.String, "fingerprint": pl.String})
    con.register("new_manifest_rows", rows.to_arrow())
    con.execute("INSERT INTO _build_manifest SELECT document_id, fingerprint FROM new_manifest_rows")


def remove_abandoned_builds(warehouse_path: Path) -> list[Path]:
    """Delete half-built files left by builds that were killed (their process is gone)."""
    removed = []
    for path in warehouse_path.parent.glob(f".{warehouse_path.name}.building-*"):
        pid_text = path.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _process_alive(int(pid_text)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect_read_only(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, as analysts should open the warehouse."""
    return duckdb.connect(str(warehouse_path), read_only=True)
