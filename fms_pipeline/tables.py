"""The table contract: every warehouse table declared once, in a YAML file beside its SQL.

``warehouse/sql/<layer>/NN_name.sql`` builds the table; ``NN_name.yml`` beside it declares its
grain, description and, per column, the type, a description, the privacy class and the tests (the
format: ``warehouse/CONTRACT.md``). Everything else is derived from the declarations: the staged
Parquet schemas (columns marked ``staged``), the Dagster asset descriptions, column schemas and
checks, the lineage (the relations each SQL file reads, parsed with sqlglot), the share copy's
handling of each column, the warehouse's ``COMMENT ON`` statements and the README's column tables.

Layers:
- ``core``: loaded from staging (tables with ``staged_by``: written by the processing steps as
  Parquet, one file per batch and table) or derived from other core tables;
- ``aggregates``: computed from core tables.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib.abc import Traversable
from pathlib import Path

import polars as pl
import yaml

UTC_TIME = pl.Datetime("us", "UTC")
LAYERS = ("core", "aggregates")
PRIVACY_CLASSES = ("kept", "pseudonymised", "masked", "file", "host", "community")
COLUMN_TESTS = ("not_null", "unique", "accepted_values", "relationships")
TABLE_TESTS = ("unique_combination",)
_TABLE_KEYS = {"name", "grain", "description", "per_document", "staged_by", "python_views", "tests", "columns"}
_COLUMN_KEYS = {"name", "type", "description", "privacy", "staged", "tests"}
# DuckDB type (as duckdb_columns() spells it) -> the staged Parquet type polars writes.
_POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "BOOLEAN": pl.Boolean(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "DOUBLE": pl.Float64(),
    "DATE": pl.Date(),
    "TIMESTAMP WITH TIME ZONE": UTC_TIME,
    "VARCHAR[]": pl.List(pl.String()),
}
# The Dagster asset each processing step's staged tables belong to.
PARSE_ASSETS = ("parsed_documents", "parsed_comments")
NLP_ASSET = "extracted_mentions"


class ContractError(ValueError):
    """A declaration is missing, malformed, or disagrees with its SQL; the message names the file."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    privacy: str = "kept"
    staged: bool = False
    tests: tuple = ()


@dataclass(frozen=True)
class Table:
    name: str
    layer: str  # "core" or "aggregates"
    grain: str
    description: str
    columns: tuple[Column, ...]
    sql: str
    sql_file: str  # "core/03_comments.sql"
    per_document: bool = False
    staged_by: str | None = None  # the Dagster asset writing its staged Parquet
    python_views: tuple[str, ...] = ()  # relations the build registers from Python before the SQL runs
    tests: tuple = ()

    @property
    def reads(self) -> tuple[str, ...]:
        """The relations the SQL reads (parsed from the SQL itself, on first use)."""
        return sql_reads(self.sql)

    @property
    def staged_schema(self) -> dict[str, pl.DataType] | None:
        if self.staged_by is None:
            return None
        return {c.name: _POLARS_TYPES[c.type] for c in self.columns if c.staged}

    @property
    def upstream(self) -> tuple[str, ...]:
        """Asset keys the table is computed from ("warehouse/x" is the warehouse table x)."""
        keys = []
        for relation in self.reads:
            if relation == f"staged_{self.name}":
                keys.append(self.staged_by)
            elif relation not in self.python_views and relation != self.name:
                keys.append(f"warehouse/{relation}")
        return tuple(dict.fromkeys(keys))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# "CREATE TABLE name AS": enough to name a file's table without parsing it (sqlglot's import and
# parse of every file cost ~0.3 s, which every process paid at import; lineage is parsed on use).
CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(\w+)\s+AS\s", re.IGNORECASE | re.MULTILINE)


def created_table(sql: str) -> str | None:
    match = CREATE_TABLE.search(sql)
    return match.group(1) if match else None


@functools.cache
def sql_reads(sql: str) -> tuple[str, ...]:
    """The relations a ``CREATE TABLE ... AS`` statement reads (its CTEs and itself left out), sorted."""
    import sqlglot
    from sqlglot import exp

    statement = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(statement, exp.Create):
        raise ContractError("expected one CREATE TABLE ... AS statement")
    created = statement.this.find(exp.Table).name
    ctes = {cte.alias for cte in statement.find_all(exp.CTE)}
    return tuple(sorted({t.name for t in statement.find_all(exp.Table)} - ctes - {created}))


def _sql_root() -> Path:
    # A path, not importlib.resources: that would import the warehouse package, which imports this.
    return Path(__file__).parent / "warehouse" / "sql"


def _fail(where: str, message: str):
    raise ContractError(f"{where}: {message}")


def _tests(where: str, raw, allowed: tuple[str, ...]) -> tuple:
    tests = []
    for test in raw or []:
        name = test if isinstance(test, str) else (next(iter(test)) if isinstance(test, dict) and len(test) == 1 else None)
        if name not in allowed:
            _fail(where, f"unknown test {test!r} (one of {', '.join(allowed)})")
        tests.append((name, None if isinstance(test, str) else test[name]))
    return tuple(tests)


def _column(where: str, raw: dict, staged_table: bool) -> Column:
    if not isinstance(raw, dict) or "name" not in raw:
        _fail(where, f"a column needs at least a name: {raw!r}")
    where = f"{where}, column {raw['name']}"
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_COLUMN_KEYS))})")
    for key in ("type", "description"):
        if not str(raw.get(key) or "").strip():
            _fail(where, f"'{key}' is required")
    privacy = raw.get("privacy", "kept")
    if privacy not in PRIVACY_CLASSES:
        _fail(where, f"privacy {privacy!r} is not one of {', '.join(PRIVACY_CLASSES)}")
    staged = bool(raw.get("staged", False))
    if staged and not staged_table:
        _fail(where, "'staged: true' in a table without staged_by")
    if staged and raw["type"] not in _POLARS_TYPES:
        _fail(where, f"type {raw['type']!r} cannot be staged (one of {', '.join(_POLARS_TYPES)})")
    return Column(raw["name"], raw["type"], " ".join(str(raw["description"]).split()), privacy, staged,
                  _tests(where, raw.get("tests"), COLUMN_TESTS))


def load_table(layer: str, sql_name: str, sql: str, declaration: str) -> Table:
    where = f"{layer}/{Path(sql_name).with_suffix('.yml').name}"
    raw = yaml.safe_load(declaration)
    if not isinstance(raw, dict):
        _fail(where, "expected a mapping with name, grain, description and columns")
    unknown = set(raw) - _TABLE_KEYS
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_TABLE_KEYS))})")
    for key in ("name", "grain", "description", "columns"):
        if not raw.get(key):
            _fail(where, f"'{key}' is required")
    created = created_table(sql)
    if created is None:
        _fail(f"{layer}/{sql_name}", "expected one 'CREATE TABLE <name> AS ...' statement")
    if created != raw["name"]:
        _fail(where, f"declares {raw['name']!r} but {sql_name} creates {created!r}")
    staged_by = raw.get("staged_by")
    columns = tuple(_column(where, c, staged_by is not None) for c in raw["columns"])
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        _fail(where, "a column is declared twice")
    table_tests = _tests(where, raw.get("tests"), TABLE_TESTS)
    for _, args in table_tests:
        missing = [c for c in args if c not in names]
        if missing:
            _fail(where, f"unique_combination names undeclared column(s) {missing}")
    return Table(
        name=raw["name"], layer=layer, grain=" ".join(str(raw["grain"]).split()),
        description=" ".join(str(raw["description"]).split()), columns=columns, sql=sql,
        sql_file=f"{layer}/{sql_name}", per_document=bool(raw.get("per_document", False)), staged_by=staged_by,
        python_views=tuple(raw.get("python_views") or ()), tests=table_tests,
    )


def load_catalog(root: Traversable | Path | None = None, check_lineage: bool = True) -> dict[str, Table]:
    """Every table declared under ``root`` (default: the package's ``warehouse/sql``), in build
    order (layer, then file name). A SQL file without its declaration, a declaration without its
    SQL, or (``check_lineage``) a relation read that is neither a table nor a staged table nor a
    declared Python view is a ContractError naming the file."""
    root = _sql_root() if root is None else root
    catalog: dict[str, Table] = {}
    for layer in LAYERS:
        directory = root.joinpath(layer)
        files = {f.name: f for f in directory.iterdir()} if directory.is_dir() else {}
        sql_names = sorted(n for n in files if n.endswith(".sql"))
        yml_names = sorted(n for n in files if n.endswith((".yml", ".yaml")))
        for name in yml_names:
            if f"{name.rsplit('.', 1)[0]}.sql" not in files:
                _fail(f"{layer}/{name}", "a declaration without its SQL file")
        for name in sql_names:
            stem = name.removesuffix(".sql")
            declaration = files.get(f"{stem}.yml") or files.get(f"{stem}.yaml")
            if declaration is None:
                _fail(f"{layer}/{name}", f"no declaration: write {stem}.yml beside it (see warehouse/CONTRACT.md)")
            table = load_table(layer, name, files[name].read_text(encoding="utf-8"),
                               declaration.read_text(encoding="utf-8"))
            if table.name in catalog:
                _fail(f"{layer}/{name}", f"table {table.name} is declared twice")
            catalog[table.name] = table
    for table in catalog.values():
        for column in table.columns:
            for test, args in column.tests:
                if test == "relationships" and args.get("to") not in catalog:
                    _fail(table.sql_file, f"{column.name}: relationships to unknown table {args.get('to')!r}")
    if check_lineage:
        lineage_errors(catalog, raise_first=True)
    return catalog


def lineage_errors(catalog: dict[str, Table], raise_first: bool = False) -> list[str]:
    """Relations a table's SQL reads that are neither a declared table, a staged table nor one of
    its ``python_views`` (parses every SQL file: done by the build, the Dagster definitions and the
    tests, not at import)."""
    staged = {f"staged_{t.name}" for t in catalog.values() if t.staged_by}
    errors = []
    for table in catalog.values():
        try:
            reads = table.reads
        except Exception as error:  # sqlglot's errors, or not a CREATE TABLE
            reads, message = (), f"{table.sql_file}: cannot read the SQL: {error}"
            errors.append(message)
        for relation in reads:
            if relation not in catalog and relation not in staged and relation not in table.python_views:
                errors.append(f"{table.sql_file}: reads {relation!r}, which is no declared table, staged table "
                              "or python_views entry")
        if errors and raise_first:
            raise ContractError(errors[0])
    return errors


# The package's declarations; their lineage is checked where it is used (warehouse build, Dagster
# definitions, tests), so importing this module parses no SQL.
TABLES: dict[str, Table] = load_catalog(check_lineage=False)

STAGED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.staged_by is not None)
PER_DOCUMENT_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.per_document)
# The tables each processing step writes.
PARSE_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.staged_by in PARSE_ASSETS)
NLP_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.staged_by == NLP_ASSET)
CORE_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.layer == "core")
AGGREGATE_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES.values() if t.layer == "aggregates")


def staged_schema(table: str) -> dict[str, pl.DataType]:
    schema = TABLES[table].staged_schema
    if schema is None:
        raise KeyError(f"{table} is not a staged table")
    return schema


def empty_frame(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=staged_schema(table))


def frame(table: str, rows: list[dict] | None = None) -> pl.DataFrame:
    """A frame with the table's exact staged schema (also when there are no rows)."""
    return pl.DataFrame(rows or [], schema=staged_schema(table))


def conform(table: str, df: pl.DataFrame | pl.LazyFrame):
    """The table's columns, in order and cast to their staged types (missing columns are NULL)."""
    names = df.collect_schema().names() if isinstance(df, pl.LazyFrame) else df.columns
    return df.select([
        (pl.col(c) if c in names else pl.lit(None)).cast(t).alias(c) for c, t in staged_schema(table).items()
    ])
