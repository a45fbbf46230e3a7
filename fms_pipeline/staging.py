"""Per-file Parquet staging written with polars.

Each raw file has one Parquet file per staging table, named by its document id, so
files are processed independently (and in parallel) and re-processing a file replaces
its rows. Only the warehouse build reads them all; only it writes DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "raw_documents": {
        "document_id": pl.String(),
        "source_file": pl.String(),
        "sha256": pl.String(),
        "size_bytes": pl.Int64(),
        "text": pl.String(),
    },
    "documents": {
        "document_id": pl.String(),
        "source_file": pl.String(),
        "title": pl.String(),
        "byline": pl.String(),
        "body": pl.String(),
        "comment_count": pl.Int32(),
        "has_comment_section": pl.Boolean(),
    },
    "comments": {
        "comment_id": pl.String(),
        "document_id": pl.String(),
        "position": pl.Int32(),
        "author": pl.String(),
        "author_is_anonymous": pl.Boolean(),
        "body": pl.String(),
    },
    "entity_mentions": {
        "mention_id": pl.String(),
        "document_id": pl.String(),
        "comment_id": pl.String(),
        "label": pl.String(),
        "text": pl.String(),
        "canonical": pl.String(),
        "start_char": pl.Int32(),
        "end_char": pl.Int32(),
        "sentence": pl.Int32(),
        "negated": pl.Boolean(),
        "hypothetical": pl.Boolean(),
        "historical": pl.Boolean(),
        "experiencer": pl.String(),
    },
    "outcome_mentions": {
        "outcome_id": pl.String(),
        "document_id": pl.String(),
        "comment_id": pl.String(),
        "outcome": pl.String(),
        "drug": pl.String(),
        "symptom": pl.String(),
        "text": pl.String(),
        "start_char": pl.Int32(),
        "end_char": pl.Int32(),
        "sentence": pl.Int32(),
        "negated": pl.Boolean(),
        "hypothetical": pl.Boolean(),
    },
    "sentences": {
        "document_id": pl.String(),
        "comment_id": pl.String(),
        "sentence": pl.Int32(),
        "start_char": pl.Int32(),
        "end_char": pl.Int32(),
        "sentiment": pl.Float64(),
    },
    "rejected_files": {
        "document_id": pl.String(),
        "source_file": pl.String(),
        "reason": pl.String(),
        "seen_at": pl.Datetime("us", "UTC"),
    },
}


def table_dir(staging_dir: Path, table: str) -> Path:
    return staging_dir / table


def staged_path(staging_dir: Path, table: str, document_id: str) -> Path:
    return table_dir(staging_dir, table) / f"{document_id}.parquet"


def frame(table: str, rows: list[dict] | None = None) -> pl.DataFrame:
    """A frame with the table's exact schema (also when there are no rows)."""
    return pl.DataFrame(rows or [], schema=SCHEMAS[table])


def write_staged(staging_dir: Path, table: str, document_id: str, df: pl.DataFrame) -> Path:
    """Write one document's rows atomically: readers see the old file or the new one."""
    df = df.select([pl.col(c).cast(t) for c, t in SCHEMAS[table].items()])
    path = staged_path(staging_dir, table, document_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.write_parquet(tmp)
    os.replace(tmp, path)
    return path


def read_staged(staging_dir: Path, table: str, document_id: str) -> pl.DataFrame:
    return pl.read_parquet(staged_path(staging_dir, table, document_id))


def read_staged_sample(staging_dir: Path, table: str, document_ids: list[str], limit: int = 20) -> pl.DataFrame:
    """The rows of the first ``limit`` documents, for asset-page previews (empty with the schema if none)."""
    frames = [read_staged(staging_dir, table, d) for d in document_ids[:limit]]
    return pl.concat(frames) if frames else frame(table)


def remove_staged(staging_dir: Path, document_id: str, tables: list[str] | None = None) -> None:
    for table in tables or list(SCHEMAS):
        staged_path(staging_dir, table, document_id).unlink(missing_ok=True)


def staged_document_ids(staging_dir: Path, table: str) -> set[str]:
    directory = table_dir(staging_dir, table)
    if not directory.is_dir():
        return set()
    return {p.stem for p in directory.glob("*.parquet")}


def staged_files(staging_dir: Path, table: str) -> list[Path]:
    """Every staged Parquet file of a table, in a stable order."""
    directory = table_dir(staging_dir, table)
    return sorted(directory.glob("*.parquet")) if directory.is_dir() else []
