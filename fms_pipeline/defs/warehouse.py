"""The DuckDB warehouse: the one asset that writes data/warehouse.duckdb."""

import dagster as dg

from fms_pipeline import processing, warehouse
from fms_pipeline.defs.metadata import markdown_preview
from fms_pipeline.reports import charts
from fms_pipeline.defs.partitions import raw_files_partitions
from fms_pipeline.defs.resources import PipelinePaths

_TABLE_DOCS = {
    "documents": ("One row per file: document_id, source_file, title, byline, body, comment_count.", ["parsed_documents"]),
    "comments": ("One row per comment: comment_id, document_id, position (1..n), author (or NULL), body.", ["parsed_comments"]),
    "entity_mentions": (
        "One row per entity: label, text, canonical, start_char/end_char into the body; comment_id NULL in the article.",
        ["extracted_mentions"],
    ),
    "rejected_files": ("Raw files set aside, with the reason and when.", ["raw_documents"]),
    "outcome_mentions": (
        "One row per drug outcome (effective, ineffective, adverse_effect, withdrawal, access_loss) with its drug.",
        ["extracted_mentions"],
    ),
    "sentences": ("One row per sentence with its domain-corrected VADER sentiment.", ["extracted_mentions"]),
    "drugs": ("Each drug mentioned: class, DrugBank and MeSH ids.", [["warehouse", "entity_mentions"]]),
    "entity_counts": ("Mentions, comments and documents per (label, canonical).", [["warehouse", "entity_mentions"]]),
    "drug_condition_pairs": (
        "Drugs and drug classes named in the same comment as a condition: comments and documents per pair.",
        [["warehouse", "entity_mentions"]],
    ),
    "drug_outcomes": (
        "Per drug and outcome: mentions, comments, documents (negated and hypothetical outcomes left out).",
        [["warehouse", "outcome_mentions"]],
    ),
    "drug_sentiment": (
        "Per drug: asserted mentions and the mean sentiment of their sentences.",
        [["warehouse", "entity_mentions"], ["warehouse", "sentences"]],
    ),
}

# Build when upstream files were processed, also while some other file is still missing or rejected.
_build_when_upstream_updates = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["warehouse", table],
            description=description,
            deps=deps,
            group_name="warehouse",
            kinds={"duckdb"},
            owners=["team:fms-pipeline"],
            tags={"layer": "aggregate" if table in warehouse.AGGREGATE_TABLES else "core"},
            automation_condition=_build_when_upstream_updates,
        )
        for table, (description, deps) in _TABLE_DOCS.items()
    ],
    can_subset=False,
)
def warehouse_tables(context: dg.AssetExecutionContext, paths: PipelinePaths):
    """Prune files that left data/raw/, then build the warehouse from staging (only the changed
    documents' rows when few changed) and swap the file in."""
    on_disk = processing.scan_raw_files(paths.raw_dir)
    removed = processing.prune_deleted_files(paths.staging_dir, on_disk)
    for source_file in removed:
        context.log.info(f"{source_file} is no longer in {paths.raw_dir}; its rows leave the warehouse")
    summary = warehouse.build_warehouse(paths.staging_dir, paths.warehouse_path)
    with warehouse.connect_read_only(paths.warehouse_path) as con:
        for table in _TABLE_DOCS:
            yield dg.MaterializeResult(
                asset_key=["warehouse", table],
                metadata={
                    "dagster/row_count": summary.row_counts[table],
                    "dagster/uri": str(paths.warehouse_path),
                    "dagster/table_name": table,
                    "dagster/column_schema": _column_schema(con, table),
                    "preview": _preview(con, table),
                    "files_removed_since_last_build": len(removed),
                    "build": "incremental" if summary.incremental else "full",
                    "documents_rebuilt": len(summary.documents_changed) + len(summary.documents_removed),
                    **_charts(con, table),
                },
            )


def _column_schema(con, table: str) -> dg.TableSchema:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name, dtype) for name, dtype in rows])


def _preview(con, table: str) -> dg.MetadataValue:
    return markdown_preview(con.sql(f"SELECT * FROM {table} LIMIT 10").pl())


def _charts(con, table: str) -> dict:
    """The aggregate tables carry a chart, shown on their asset page."""
    if table == "entity_counts":
        rows = con.execute(
            "SELECT label, canonical, mentions FROM entity_counts WHERE label IN ('DRUG', 'CONDITION') "
            "ORDER BY mentions DESC, canonical LIMIT 15").fetchall()
        if rows:
            png = charts.bar_chart([f"{c} ({l.lower()})" for l, c, _ in rows], [n for _, _, n in rows],
                                   "Most mentioned drugs and conditions")
            return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "top drugs and conditions"))}
    if table == "drug_outcomes":
        rows = con.execute("SELECT drug, outcome, mentions FROM drug_outcomes").fetchall()
        if rows:
            return {"chart": dg.MetadataValue.md(charts.as_markdown_image(charts.outcome_chart(rows), "drugs by outcome"))}
    return {}


__all__ = ["raw_files_partitions", "warehouse_tables"]
