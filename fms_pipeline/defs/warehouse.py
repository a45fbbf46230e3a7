"""The DuckDB warehouse: the one asset that writes data/warehouse.duckdb."""

import dagster as dg

from fms_pipeline import storage, tables, warehouse
from fms_pipeline.defs.metadata import declared_schema, markdown_preview
from fms_pipeline.defs.resources import PipelineSettings
from fms_pipeline.reports import access, charts, trends

# Build when upstream files were processed, also while some other file is still missing or rejected.
_build_when_upstream_updates = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())

# One writer at a time for the warehouse, the report and the shareable copy (dagster.yaml sets
# the pool's limit to 1), whichever run, sensor or person starts them.
WRITER_POOL = "fms_warehouse_writer"


def asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(name.split("/"))


WAREHOUSE_TABLES = tables.CORE_TABLES + tables.AGGREGATE_TABLES


def asset_specs(catalog: dict[str, tables.Table] | None = None) -> list[dg.AssetSpec]:
    """One asset per declared table: description, grain, lineage and described columns from its declaration."""
    tables.lineage_errors(catalog or tables.TABLES, raise_first=True)
    return [
        dg.AssetSpec(
            ["warehouse", table.name],
            description=f"{table.description}\n\nGrain: {table.grain}. Declared in `{table.sql_file[:-4]}.yml`.",
            deps=[asset_key(u) for u in table.upstream],
            group_name="warehouse",
            kinds={"duckdb"},
            owners=["team:fms-pipeline"],
            tags={"layer": table.layer},
            metadata={"dagster/column_schema": declared_schema(table)},
            automation_condition=_build_when_upstream_updates,
        )
        for table in (catalog or tables.TABLES).values()
    ]


@dg.multi_asset(specs=asset_specs(), can_subset=False, pool=WRITER_POOL)
def warehouse_tables(context: dg.AssetExecutionContext, settings: PipelineSettings):
    """Build the warehouse from staging (only the changed batches' rows when few changed) and
    publish the file atomically."""
    summary = warehouse.build_warehouse(settings.staging_dir, settings.warehouse_path)
    context.log.info(f"warehouse build: {'incremental' if summary.incremental else 'full'}, "
                     f"{len(summary.buckets_changed)} batch(es), {len(summary.documents_changed)} document(s) loaded, "
                     f"{len(summary.documents_removed)} removed")
    with storage.local_copy(settings.warehouse_path) as local, warehouse.connect_read_only(local) as con:
        for table in WAREHOUSE_TABLES:
            yield dg.MaterializeResult(
                asset_key=["warehouse", table],
                metadata={
                    "dagster/row_count": summary.row_counts[table],
                    "dagster/uri": str(settings.warehouse_path),
                    "dagster/table_name": table,
                    "dagster/column_schema": declared_schema(tables.TABLES[table]),
                    "preview": _preview(con, table),
                    "build": "incremental" if summary.incremental else "full",
                    "batches_rebuilt": len(summary.buckets_changed),
                    "documents_loaded": len(summary.documents_changed),
                    "documents_removed": len(summary.documents_removed),
                    **_charts(con, table),
                },
            )


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
    # The by-month tables hold only dated rows: none (copied-text pages only), no trend chart.
    if table == "mentions_by_month" and (png := trends.drug_mentions_png(con)):
        return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "drug mentions by month"))}
    if table == "drug_outcomes_by_month" and (png := trends.outcomes_png(con)):
        return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "outcomes by month"))}
    if table == "access_loss_events" and (png := access.mechanisms_png(con)):
        return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "access loss by mechanism"))}
    if table == "access_loss_by_month" and (png := access.rate_by_month_png(con)):
        return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "access loss per 1,000 comments by month"))}
    if table == "activity_by_month" and (png := trends.activity_png(con)):
        return {"chart": dg.MetadataValue.md(charts.as_markdown_image(png, "comments by month"))}
    if table == "drug_event_signals":
        from fms_pipeline.signals import build as signals_build

        found = {"signal_pairs": dg.MetadataValue.json(signals_build.signal_pairs(con))}
        if png := trends.signals_forest_png(con):
            found["chart"] = dg.MetadataValue.md(charts.as_markdown_image(png, "reporting odds ratios"))
        return found
    if table == "trend_breaks" and (pngs := trends.break_pngs(con)):
        return {"chart": dg.MetadataValue.md("\n\n".join(charts.as_markdown_image(png, title) for title, png in pngs))}
    return {}


__all__ = ["warehouse_tables"]
