"""The offline HTML report, rebuilt after every warehouse build."""

from pathlib import Path

import dagster as dg

from fms_pipeline import warehouse
from fms_pipeline.defs.resources import PipelinePaths
from fms_pipeline.reports.report import build_report


@dg.asset(
    deps=[dg.AssetKey(["warehouse", t]) for t in warehouse.CORE_TABLES + warehouse.AGGREGATE_TABLES],
    group_name="reports",
    kinds={"html"},
    owners=["team:fms-pipeline"],
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "data/reports/report.html: headline numbers, charts and tables of drugs, conditions and symptoms, "
        "their co-occurrence, outcomes and sentiment, and a page per document with its comments and "
        "highlighted entities. Opens offline in any browser."
    ),
)
def html_report(paths: PipelinePaths) -> dg.MaterializeResult:
    summary = build_report(paths.warehouse_path, Path(paths.data_dir) / "reports")
    return dg.MaterializeResult(
        metadata={
            "dagster/uri": str(summary.path),
            "path": dg.MetadataValue.path(str(summary.path)),
            "document_pages": summary.document_pages,
            "document_pages_rendered": summary.pages_written,
            **{name.replace(" ", "_"): value for name, value in summary.headline.items()},
        }
    )
