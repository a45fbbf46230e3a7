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
from fms_pipeline.defs.checks import entity_counts_add_up, extracted_mentions_checks, parsed_comments_checks
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
        asset_checks=[parsed_comments_checks, extracted_mentions_checks, entity_counts_add_up],
        jobs=[process_files_job, build_warehouse_job],
        sensors=[raw_files_sensor, warehouse_automation_sensor],
        schedules=[daily_refresh_schedule],
        resources={
            "settings": settings_from_env(data_dir),
            "share_secret": ShareSecret(secret=dg.EnvVar("FMS_SHARE_SECRET")),
        },
        # Every step of a run in the run's one process, as `fms-pipeline materialize` runs them: the
        # default executor starts a Python process per step, and each one imports Dagster and the
        # project again (2-3 s of CPU a step on an idle core, 15-20 s on a busy one) for steps that
        # run one after another anyway. A run's parallelism is the parse step's worker processes.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
