"""Dagster definitions of fms_pipeline (``workspace.yaml``, ``dg`` and ``[tool.dg]`` point here)."""

from __future__ import annotations

import dagster as dg

from fms_pipeline.defs.automation import (
    build_warehouse_job,
    daily_refresh_schedule,
    process_files_job,
    raw_files_sensor,
    warehouse_automation_sensor,
)
from fms_pipeline.defs.checks import (
    STAGED_CHECKS,
    entity_counts_add_up,
    new_drug_event_signals,
    warehouse_contract_tests,
)
from fms_pipeline.defs.ingest import parsed_sources
from fms_pipeline.defs.models import outcome_label_quality
from fms_pipeline.defs.nlp import extracted_mentions
from fms_pipeline.defs.reports import html_report
from fms_pipeline.defs.resources import settings_from_env
from fms_pipeline.defs.share import ShareSecret, shareable_warehouse
from fms_pipeline.defs.warehouse import warehouse_tables


def build_definitions(data_dir: str | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[parsed_sources, extracted_mentions, warehouse_tables, outcome_label_quality, shareable_warehouse,
                html_report],
        asset_checks=[*STAGED_CHECKS, entity_counts_add_up, warehouse_contract_tests, new_drug_event_signals],
        jobs=[process_files_job, build_warehouse_job],
        sensors=[raw_files_sensor, warehouse_automation_sensor],
        schedules=[daily_refresh_schedule],
        resources={
            "settings": settings_from_env(data_dir),
            "share_secret": ShareSecret(secret=dg.EnvVar("FMS_SHARE_SECRET")),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
