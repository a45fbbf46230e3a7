"""The DuckDB warehouse, built from Parquet staging by SQL files in layers.

``sql/core/``       tables loaded from staging (documents, comments, entity_mentions, rejected_files)
``sql/aggregates/`` tables computed from the core tables (entity_counts, drug_condition_pairs)
``sql/checks/``     queries that return the rows breaking an invariant (none when the data are good)

The build writes a new file beside the warehouse and renames it over the old one only when
every step and check passed, so readers never see a half-built warehouse and a failed build
leaves the previous one intact. Staged data reach DuckDB as Arrow tables registered on the
connection: no SQL is assembled from file names or text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from fms_pipeline import staging

STAGED_TABLES = ("documents", "comments", "entity_mentions", "rejected_files", "outcome_mentions", "sentences")
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


def _register_staging(con: duckdb.DuckDBPyConnection, staging_dir: Path, prefix: str) -> None:
    """Expose each staged table as a view; DuckDB reads the Parquet files itself, in parallel."""
    for table in STAGED_TABLES:
        files = staging.staged_files(staging_dir, table)
        if files:
            con.read_parquet([str(f) for f in files]).create_view(f"{prefix}{table}")
        else:
            con.register(f"{prefix}{table}", staging.frame(table).to_arrow())


def _register_drug_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Class and ids of every drug the staged mentions name, as the ``drug_reference`` view."""
    import polars as pl

    from fms_pipeline.nlp.drug_lexicon import drug_reference

    names = [r[0] for r in con.execute(
        "SELECT DISTINCT canonical FROM staged_entity_mentions WHERE label = 'DRUG'").fetchall()]
    schema = {"drug": pl.String, "drug_class": pl.String, "drugbank_id": pl.String, "mesh_id": pl.String}
    con.register("drug_reference", pl.DataFrame(drug_reference(names), schema=schema).to_arrow())


def check_staging(staging_dir: Path, names: list[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Run the checks (all, or those named) on the staged data; {check: [(item, problem)]} for failures only."""
    with duckdb.connect(":memory:") as con:
        _register_staging(con, staging_dir, prefix="")
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


def build_warehouse(staging_dir: Path, warehouse_path: Path) -> BuildSummary:
    """Build the warehouse from staging into a new file, check it, and swap it in atomically."""
    failures = check_staging(staging_dir)
    if failures:
        raise WarehouseCheckFailed(failures)
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(warehouse_path)
    building = warehouse_path.with_name(f".{warehouse_path.name}.building-{os.getpid()}")
    building.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(building)) as con:
            _register_staging(con, staging_dir, prefix="staged_")
            _register_drug_reference(con)
            # The checks passed on these same staged files above; the tables are built from them.
            for _, sql in sql_files("core") + sql_files("aggregates"):
                con.execute(sql)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in CORE_TABLES + AGGREGATE_TABLES}
            con.execute("CHECKPOINT")
        os.replace(building, warehouse_path)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    return BuildSummary(warehouse_path, counts)


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
