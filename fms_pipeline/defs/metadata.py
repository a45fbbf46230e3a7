"""Metadata helpers so each asset page shows row counts, schema and a preview."""

import re

import dagster as dg
import polars as pl

from fms_pipeline import tables

# Every ASCII punctuation character may be backslash-escaped in CommonMark and GFM, and an
# escaped one is plain text: no image, link, autolink, HTML tag, entity, code span or table cell
# can start from it. Text from pages (comments, names, file names) goes through this, so a comment
# holding ![p](http://host/pixel.png) or <img src=...> cannot make the UI fetch anything.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def markdown_text(value: object, width: int | None = None) -> str:
    """``value`` as Markdown that renders as exactly its text, on one line, cut to ``width``."""
    text = " ".join(str(value).split())
    if width is not None:
        text = text[:width]
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def markdown_list(items: list[tuple[object, object]]) -> dg.MetadataValue:
    """A bullet list of (name, detail) pairs, both escaped; "none" when empty."""
    return dg.MetadataValue.md("\n".join(f"- {markdown_text(k)}: {markdown_text(v)}" for k, v in items) or "none")


def column_schema(table: str) -> dg.TableSchema:
    """A staged table's Parquet columns, with their declared descriptions."""
    declared = tables.TABLES[table]
    return dg.TableSchema(columns=[
        dg.TableColumn(name, str(dtype), description=declared.column(name).description)
        for name, dtype in tables.staged_schema(table).items()
    ])


def declared_schema(table: tables.Table) -> dg.TableSchema:
    """A warehouse table's declared columns (the build verifies the built ones equal them)."""
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.type, description=c.description,
                       constraints=dg.TableColumnConstraints(nullable=("not_null", None) not in c.tests,
                                                             unique=("unique", None) in c.tests))
        for c in table.columns
    ])


def markdown_preview(df: pl.DataFrame, rows: int = 10, width: int = 80) -> dg.MetadataValue:
    """A small markdown table of the first rows, every value escaped; long strings are cut so the
    page stays readable."""
    head = df.head(rows)
    header = "| " + " | ".join(markdown_text(c) for c in head.columns) + " |"
    rule = "| " + " | ".join("---" for _ in head.columns) + " |"
    body = ["| " + " | ".join("" if v is None else markdown_text(v, width) for v in row) + " |"
            for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join([header, rule, *body]))
