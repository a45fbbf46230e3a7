"""What the table declarations (``fms_pipeline.tables``) ask of a built warehouse: its columns,
its tests and its comments.

* ``column_mismatches``: the built columns must equal the declared ones, in order and type.
* ``test_queries``: each declared test as a query returning the rows that break it (``(item,
  problem)`` pairs, as the files in ``sql/checks/`` do), run before the new file is published.
* ``comment_statements``: ``COMMENT ON TABLE/COLUMN`` from the descriptions, so SQL users see them
  in ``duckdb_columns()`` and ``duckdb_tables()``.
"""

from __future__ import annotations

import duckdb

from fms_pipeline import labels
from fms_pipeline.tables import Table


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def built_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "ORDER BY column_index", [table]).fetchall()


def column_mismatches(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """How the built table differs from its declaration (empty when it matches)."""
    built = built_columns(con, table.name)
    declared = [(c.name, c.type) for c in table.columns]
    if built == declared:
        return []
    problems = []
    built_names, declared_names = [n for n, _ in built], [n for n, _ in declared]
    if missing := [n for n in declared_names if n not in built_names]:
        problems.append(f"declared but not built: {', '.join(missing)}")
    if extra := [n for n in built_names if n not in declared_names]:
        problems.append(f"built but not declared: {', '.join(extra)}")
    if not missing and not extra and built_names != declared_names:
        problems.append(f"order: built {built_names}, declared {declared_names}")
    types = dict(built)
    for name, declared_type in declared:
        if name in types and types[name] != declared_type:
            problems.append(f"{name}: built {types[name]}, declared {declared_type}")
    return problems


def _accepted(args: dict) -> list[str]:
    if "labels" in args:
        return list(labels.names(args["labels"]))
    return [str(v) for v in args["values"]]


def test_queries(table: Table) -> dict[str, str]:
    """{test name: query returning (item, problem) rows that break it} for the table's declared tests."""
    queries: dict[str, str] = {}
    t = _ident(table.name)
    for column in table.columns:
        c = _ident(column.name)
        for test, args in column.tests:
            name = f"{table.name}.{column.name}.{test}"
            if test == "not_null":
                queries[name] = (f"SELECT 'row ' || CAST(rowid AS VARCHAR), '{column.name} is NULL' FROM {t} "
                                 f"WHERE {c} IS NULL LIMIT 100")
            elif test == "unique":
                queries[name] = (f"SELECT CAST({c} AS VARCHAR), CAST(count(*) AS VARCHAR) || ' rows' FROM {t} "
                                 f"WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1 LIMIT 100")
            elif test == "accepted_values":
                values = ", ".join(_quote_literal(v) for v in _accepted(args))
                queries[name] = (f"SELECT CAST({c} AS VARCHAR), 'not one of the accepted values' FROM {t} "
                                 f"WHERE {c} IS NOT NULL AND {c} NOT IN ({values}) GROUP BY {c} LIMIT 100")
            elif test == "relationships":
                to, field = _ident(args["to"]), _ident(args["field"])
                queries[name] = (f"SELECT CAST({c} AS VARCHAR), 'not in {args['to']}.{args['field']}' FROM {t} "
                                 f"WHERE {c} IS NOT NULL AND {c} NOT IN (SELECT {field} FROM {to} "
                                 f"WHERE {field} IS NOT NULL) GROUP BY {c} LIMIT 100")
    for test, args in table.tests:
        if test == "unique_combination":
            cols = ", ".join(_ident(c) for c in args)
            shown = " || ' / ' || ".join(f"coalesce(CAST({_ident(c)} AS VARCHAR), 'NULL')" for c in args)
            queries[f"{table.name}.{test}"] = (
                f"SELECT {shown}, CAST(count(*) AS VARCHAR) || ' rows' FROM {t} GROUP BY {cols} "
                f"HAVING count(*) > 1 LIMIT 100")
    return queries


def failing_rows(con: duckdb.DuckDBPyConnection, queries: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """The rows each test query finds (tests that find none are left out), from one statement: the
    ~170 declared tests one query each cost ~1 ms of DuckDB's per-statement work apiece, twice per
    build (the build enforces them, the checks show them)."""
    if not queries:
        return {}
    union = " UNION ALL ".join(
        f"SELECT {_quote_literal(name)}, CAST(item AS VARCHAR), CAST(problem AS VARCHAR) "
        f"FROM ({query}) AS found(item, problem)" for name, query in queries.items())
    failures: dict[str, list[tuple[str, str]]] = {}
    for name, item, problem in con.execute(union).fetchall():
        failures.setdefault(name, []).append((str(item), str(problem)))
    return failures


def run_tests(con: duckdb.DuckDBPyConnection, tables: list[Table]) -> dict[str, list[tuple[str, str]]]:
    return failing_rows(con, {name: query for table in tables for name, query in test_queries(table).items()})


def comment_statements(table: Table) -> list[str]:
    grain = table.grain[0].upper() + table.grain[1:]
    statements = [f"COMMENT ON TABLE {_ident(table.name)} IS {_quote_literal(f'{grain}. {table.description}')}"]
    for column in table.columns:
        statements.append(f"COMMENT ON COLUMN {_ident(table.name)}.{_ident(column.name)} IS "
                          f"{_quote_literal(column.description)}")
    return statements


README_START = "<!-- tables: generated from the declarations by `python -m fms_pipeline.warehouse.contract` -->"
README_END = "<!-- end of tables -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def readme_tables(catalog: dict[str, Table] | None = None) -> str:
    """The README's table reference: per table its grain and description, per column its type,
    privacy class and description."""
    from fms_pipeline import tables as declared

    parts = [README_START, ""]
    for table in (catalog or declared.TABLES).values():
        parts += [f"#### `{table.name}`", "", f"One row: {_cell(table.grain)}. {_cell(table.description)}", "",
                  "| column | type | share copy | description |", "|---|---|---|---|"]
        parts += [f"| `{c.name}` | {c.type} | {c.privacy} | {_cell(c.description)} |" for c in table.columns]
        parts.append("")
    parts.append(README_END)
    return "\n".join(parts)


def write_readme(readme_path) -> bool:
    """Replace the README's generated block (True when it changed)."""
    from pathlib import Path

    path = Path(readme_path)
    text = path.read_text(encoding="utf-8")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    new = text[:start] + readme_tables() + text[end:]
    path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2] / "README.md"
    print(f"{readme}: {'updated' if write_readme(readme) else 'already up to date'}")
