"""Metadata helpers so each asset page shows row counts, schema and a preview."""

import dagster as dg
import polars as pl

from fms_pipeline import staging


def column_schema(table: str) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in staging.SCHEMAS[table].items()]
    )


def markdown_preview(df: pl.DataFrame, rows: int = 10, width: int = 80) -> dg.MetadataValue:
    """A small markdown table; long strings are cut so the page stays readable."""
    head = df.head(rows).with_columns(
        pl.col(pl.String).str.replace_all(r"[\n|]", " ").str.slice(0, width)
    )
    header = "| " + " | ".join(head.columns) + " |"
    rule = "| " + " | ".join("---" for _ in head.columns) + " |"
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join([header, rule, *body]))
