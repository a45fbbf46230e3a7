"""The table catalogue: every staged and warehouse table, declared once.

Staging schemas, the warehouse's table lists, the privacy module's tables and the Dagster
asset descriptions are all derived from ``TABLES``; adding a column or a table is an edit here
(and in the SQL file that builds it).

Layers:
- ``staged``: written by the processing steps as Parquet, one file per batch (bucket) and table,
  and loaded by ``warehouse/sql/core/`` into a warehouse table of the same name;
- ``core``: warehouse tables built from staged tables or derived from other core tables;
- ``aggregate``: warehouse tables computed from core tables by ``warehouse/sql/aggregates/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Table:
    name: str
    layer: str  # "core" or "aggregate" in the warehouse
    description: str
    # The staged Parquet schema; None for tables computed inside the warehouse.
    staged_schema: dict[str, pl.DataType] | None = None
    # Rows belong to documents (an incremental build replaces a changed batch's documents' rows).
    per_document: bool = False
    # Asset keys the table is computed from, for the lineage ("warehouse/x" is the warehouse table x).
    upstream: tuple[str, ...] = field(default_factory=tuple)


_TABLES = [
    Table(
        "source_files", "core",
        "One row per raw file: its fingerprint, batch, format, status (staged or rejected), the reason when "
        "rejected, how many documents and comments it gave, records skipped, and the rules version that made it.",
        staged_schema={
            "source_file": pl.String(),
            "bucket": pl.String(),
            "fingerprint": pl.String(),
            "sha256": pl.String(),
            "size_bytes": pl.Int64(),
            "source_format": pl.String(),
            "status": pl.String(),
            "reason": pl.String(),
            "documents": pl.Int32(),
            "comments": pl.Int32(),
            "skipped_records": pl.Int32(),
            "pipeline_version": pl.String(),
            "nlp_version": pl.String(),
            "processed_at": UTC_TIME,
        },
        upstream=("source_files",),
    ),
    Table(
        "documents", "core",
        "One row per document (a page, a post, a Reddit submission): source file and format, url, community "
        "(site host or subreddit), published_at (UTC), title, byline, body, comment_count.",
        staged_schema={
            "document_id": pl.String(),
            "source_file": pl.String(),
            "source_format": pl.String(),
            "url": pl.String(),
            "community": pl.String(),
            "published_at": UTC_TIME,
            "title": pl.String(),
            "byline": pl.String(),
            "body": pl.String(),
            "comment_count": pl.Int32(),
            "has_comment_section": pl.Boolean(),
        },
        per_document=True,
        upstream=("parsed_documents",),
    ),
    Table(
        "comments", "core",
        "One row per comment in thread order: position (1..n), parent_comment_id and depth (1 = top level), "
        "author (or NULL), published_at, score, body, sentiment and tone (means of its sentences').",
        staged_schema={
            "comment_id": pl.String(),
            "document_id": pl.String(),
            "position": pl.Int32(),
            "parent_comment_id": pl.String(),
            "depth": pl.Int32(),
            "author": pl.String(),
            "author_is_anonymous": pl.Boolean(),
            "published_at": UTC_TIME,
            "score": pl.Int32(),
            "body": pl.String(),
        },
        per_document=True,
        upstream=("parsed_comments",),
    ),
    Table(
        "entity_mentions", "core",
        "One row per entity: label, text, canonical, start_char/end_char into the body; comment_id NULL in the "
        "article; context flags; ICD-10-CM code of conditions and symptoms.",
        staged_schema={
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
            "icd10_code": pl.String(),
        },
        per_document=True,
        upstream=("extracted_mentions",),
    ),
    Table(
        "outcome_mentions", "core",
        "One row per drug outcome (effective, ineffective, adverse_effect, withdrawal, access_loss) with its drug.",
        staged_schema={
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
        per_document=True,
        upstream=("extracted_mentions",),
    ),
    Table(
        "sentences", "core",
        "One row per sentence: sentiment (-1..1, a regressor over VADER and the outcome classifier trained on "
        "DrugLib review ratings) and tone (VADER corrected for the domain, readable sentence by sentence).",
        staged_schema={
            "document_id": pl.String(),
            "comment_id": pl.String(),
            "sentence": pl.Int32(),
            "start_char": pl.Int32(),
            "end_char": pl.Int32(),
            "sentiment": pl.Float64(),
            "tone": pl.Float64(),
        },
        per_document=True,
        upstream=("extracted_mentions",),
    ),
    Table("rejected_files", "core", "Raw files set aside, with the reason and when (the rejected rows of source_files).",
          upstream=("warehouse/source_files",)),
    Table("drugs", "core", "Each drug mentioned: class (from its active ingredients; supplement, herbal, cannabinoid "
          "for those), DrugBank and MeSH ids, ingredients.", upstream=("warehouse/entity_mentions",)),
    Table("conditions", "core", "Each condition and symptom mentioned, with its ICD-10-CM code and description.",
          upstream=("warehouse/entity_mentions",)),
    Table("entity_counts", "aggregate", "Mentions, comments and documents per (label, canonical).",
          upstream=("warehouse/entity_mentions",)),
    Table("drug_condition_pairs", "aggregate",
          "Drugs and drug classes named in the same comment as a condition: comments and documents per pair.",
          upstream=("warehouse/entity_mentions",)),
    Table("drug_outcomes", "aggregate",
          "Per drug and outcome: mentions, comments, documents (negated and hypothetical outcomes left out).",
          upstream=("warehouse/outcome_mentions",)),
    Table("drug_sentiment", "aggregate", "Per drug: asserted mentions and the mean sentiment of their sentences.",
          upstream=("warehouse/entity_mentions", "warehouse/sentences")),
    Table("mentions_by_month", "aggregate",
          "Mentions, comments and documents per (label, canonical) and month (UTC; by the comment's date, the "
          "document's when it has none; undated mentions left out).",
          upstream=("warehouse/entity_mentions", "warehouse/comments", "warehouse/documents")),
    Table("drug_outcomes_by_month", "aggregate",
          "drug_outcomes per month (UTC; by the comment's date, the document's when it has none; undated "
          "outcomes left out): mentions and comments per drug, outcome and month.",
          upstream=("warehouse/outcome_mentions", "warehouse/comments", "warehouse/documents")),
]

TABLES: dict[str, Table] = {t.name: t for t in _TABLES}

STAGED_TABLES: tuple[str, ...] = tuple(t.name for t in _TABLES if t.staged_schema is not None)
PER_DOCUMENT_TABLES: tuple[str, ...] = tuple(t.name for t in _TABLES if t.per_document)
# The tables the NLP step writes (the rest of the staged tables are written by the parse step).
NLP_TABLES: tuple[str, ...] = ("entity_mentions", "outcome_mentions", "sentences")
PARSE_TABLES: tuple[str, ...] = ("documents", "comments")
CORE_TABLES: tuple[str, ...] = tuple(t.name for t in _TABLES if t.layer == "core")
AGGREGATE_TABLES: tuple[str, ...] = tuple(t.name for t in _TABLES if t.layer == "aggregate")


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
