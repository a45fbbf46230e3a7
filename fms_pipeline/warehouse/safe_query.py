"""SQL typed by a person, run so that it can only read the warehouse.

Three locks, each enough for the attacks of issue 13 on its own and kept together on purpose:

* DuckDB parses the text (``duckdb.extract_statements``): exactly one statement, and it must be a
  read statement (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE all parse as SELECT).
  COPY, ATTACH, SET, PRAGMA, CALL, INSTALL, LOAD, EXPORT, CREATE, DROP ... are refused unrun.
* The connection is read-only, with external access disabled (no ``read_text``, ``glob``,
  ``read_csv``, ``COPY ... TO``, ``ATTACH``, no extension installs: nothing outside the warehouse
  file) and its configuration locked, so no statement can switch the access back on.
* Errors come back as one line naming what was refused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

READ_STATEMENTS = {duckdb.StatementType.SELECT}
_CONFIG = {"enable_external_access": False, "lock_configuration": True}


class RefusedQuery(ValueError):
    """The SQL was not run (or failed); the message is one line saying why."""


def read_statement(sql: str) -> str:
    """The one read statement in ``sql``, or RefusedQuery saying why not."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise RefusedQuery(f"refused: not valid SQL: {_first_line(error)}") from None
    if not statements:
        raise RefusedQuery("refused: no SQL statement given")
    if len(statements) > 1:
        raise RefusedQuery(f"refused: one statement per call, got {len(statements)}")
    statement = statements[0]
    if statement.type not in READ_STATEMENTS:
        kind = statement.type.name.replace("_", " ")
        raise RefusedQuery(f"refused: only read statements (SELECT, WITH, DESCRIBE, SHOW) run here, not {kind}")
    return statement.query


def connect(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection that cannot reach any file but the warehouse, nor be reconfigured."""
    if not Path(warehouse_path).is_file():
        raise RefusedQuery(f"{warehouse_path} does not exist yet: run `fms-pipeline materialize` first")
    try:
        return duckdb.connect(str(warehouse_path), read_only=True, config=_CONFIG)
    except duckdb.Error as error:
        raise RefusedQuery(f"cannot open {warehouse_path}: {_first_line(error)}") from None


def run_query(warehouse_path: Path, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of one read statement against the warehouse; RefusedQuery otherwise."""
    statement = read_statement(sql)
    with connect(warehouse_path) as con:
        try:
            relation = con.sql(statement)
            rows = relation.fetchmany(max_rows) if max_rows is not None else relation.fetchall()
            return list(relation.columns), rows
        except duckdb.Error as error:
            raise _failed(error) from None


def show_query(warehouse_path: Path, sql: str, max_rows: int = 40, max_width: int = 200) -> None:
    """Print the result of one read statement as DuckDB's table; RefusedQuery otherwise."""
    statement = read_statement(sql)
    with connect(warehouse_path) as con:
        try:
            con.sql(statement).show(max_rows=max_rows, max_width=max_width)
        except duckdb.Error as error:
            raise _failed(error) from None


def _failed(error: duckdb.Error) -> RefusedQuery:
    if isinstance(error, duckdb.PermissionException):
        return RefusedQuery(f"refused: only the warehouse's own tables can be read here ({_first_line(error)})")
    return RefusedQuery(f"query failed: {_first_line(error)}")


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
