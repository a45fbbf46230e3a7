"""The offline HTML report, rebuilt after every warehouse build."""

import tempfile
from pathlib import Path

import dagster as dg

from fms_pipeline import storage, tables
from fms_pipeline.defs.resources import PipelineSettings
from fms_pipeline.defs.warehouse import WRITER_POOL
from fms_pipeline.reports.report import build_report


@dg.asset(
    deps=[dg.AssetKey(["warehouse", t]) for t in tables.CORE_TABLES + tables.AGGREGATE_TABLES],
    group_name="reports",
    kinds={"html"},
    owners=["team:fms-pipeline"],
    automation_condition=dg.AutomationCondition.eager(),
    pool=WRITER_POOL,
    description=(
        "data/reports/report.html: headline numbers, charts and tables of drugs, conditions and symptoms, "
        "their co-occurrence, outcomes and sentiment, and a page per document with its comments and "
        "highlighted entities. Opens offline in any browser."
    ),
)
def html_report(settings: PipelineSettings) -> dg.MaterializeResult:
    out = settings.reports_path
    with storage.local_copy(settings.warehouse_path) as warehouse_file:
        if storage.is_local(out):
            summary = build_report(warehouse_file, Path(out), settings.worker_count())
        else:  # rendered locally, then uploaded page by page
            with tempfile.TemporaryDirectory(prefix="fms-report-") as folder:
                summary = build_report(warehouse_file, Path(folder), settings.worker_count())
                storage.upload_tree(Path(folder), out)
    return dg.MaterializeResult(
        metadata={
            "dagster/uri": str(out / "report.html"),
            "path": dg.MetadataValue.path(str(out / "report.html")),
            "document_pages": summary.document_pages,
            "document_pages_rendered": summary.pages_written,
            **{name.replace(" ", "_"): value for name, value in summary.headline.items()},
        }
    )
