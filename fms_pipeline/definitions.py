"""Dagster definitions of fms_pipeline (``workspace.yaml`` points here)."""

from __future__ import annotations

import dagster as dg

from fms_pipeline.defs.automation import (
    build_warehouse_job,
    daily_refresh_schedule,
    process_files_job,
    raw_files_sensor,
    warehouse_automation_sensor,
)
from fms_pipeline.defs.checks import entity_counts_add_up, extracted_mentions_checks, parsed_comments_checks
from fms_pipeline.defs.ingest import parsed_pages, raw_documents
from fms_pipeline.defs.models import outcome_label_quality
from fms_pipeline.defs.nlp import extracted_mentions
from fms_pipeline.defs.reports import html_report
from fms_pipeline.defs.resources import PipelinePaths, default_data_dir
from fms_pipeline.defs.share import ShareSecret, shareable_warehouse
from fms_pipeline.defs.warehouse import warehouse_tables


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_documents, parsed_pages, extracted_mentions, warehouse_tables, outcome_label_quality, shareable_warehouse,
                html_report],
        asset_checks=[parsed_comments_checks, extracted_mentions_checks, entity_counts_add_up],
        jobs=[process_files_job, build_warehouse_job],
        sensors=[raw_files_sensor, warehouse_automation_sensor],
        schedules=[daily_refresh_schedule],
        resources={
            "paths": PipelinePaths(data_dir=data_dir or default_data_dir()),
            "share_secret": ShareSecret(secret=dg.EnvVar("FMS_SHARE_SECRET")),
        },
    )


defs = build_definitions()
