"""Jobs, the sensor that tracks raw files, the daily refresh and the warehouse automation.

The sensor, the schedule and ``fms-pipeline materialize`` plan with the same code
(``batches.plan``) against the same state (``source_files`` in staging), and each run plans its
own buckets again when it starts, so a backfill launched by hand does the same work.
"""

import hashlib

import dagster as dg

from fms_pipeline import batches
from fms_pipeline.defs.ingest import FULL_TAG
from fms_pipeline.defs.resources import PipelineSettings
from fms_pipeline.settings import Settings

PER_FILE_GROUPS = ("ingest", "nlp")

# FMS_AUTOMATION=stopped starts the sensors and the schedule switched off (they can be switched
# on in the UI); useful on a machine that should only run what a person launches.
_STOPPED = Settings.from_env().automation_stopped
_DEFAULT_SENSOR_STATUS = dg.DefaultSensorStatus.STOPPED if _STOPPED else dg.DefaultSensorStatus.RUNNING
_DEFAULT_SCHEDULE_STATUS = dg.DefaultScheduleStatus.STOPPED if _STOPPED else dg.DefaultScheduleStatus.RUNNING

process_files_job = dg.define_asset_job(
    "process_files",
    selection=dg.AssetSelection.groups(*PER_FILE_GROUPS),
    description="Parse and run the NLP over the new, changed and outdated files of the selected batches "
    "(staging only); deleted files' rows leave.",
)

build_warehouse_job = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.groups("warehouse", "reports"),
    description="Rebuild the warehouse from staging and publish it, then the HTML report.",
)


def partition_tags(group: list[str]) -> dict[str, str]:
    """Tags that make one run cover the buckets of the group (its first to its last)."""
    if len(group) == 1:
        return {"dagster/partition": group[0]}
    return {
        "dagster/asset_partition_range_start": group[0],
        "dagster/asset_partition_range_end": group[-1],
    }


# A run of these states still has its batches' work ahead of it.
_ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def busy_buckets(instance: dg.DagsterInstance) -> set[str]:
    """Batches a queued or running ``process_files`` run covers. The sensor and the schedule leave
    them to that run: its progress changes their plan (so the run key), and a second run would do
    the same files' work again beside it. A run that dies is retried (``run_retries``) or, once it
    is marked failed, its batches are planned again."""
    busy: set[str] = set()
    for run in instance.get_runs(dg.RunsFilter(job_name=process_files_job.name, statuses=_ACTIVE)):
        tags = run.tags
        if "dagster/partition" in tags:
            busy.add(tags["dagster/partition"])
        elif "dagster/asset_partition_range_start" in tags:
            busy.update(batches.bucket_range([tags["dagster/asset_partition_range_start"],
                                              tags["dagster/asset_partition_range_end"]]))
    return busy


def planned_runs(settings: PipelineSettings, full: bool = False,
                 busy: set[str] = frozenset()) -> tuple[dict, dict, list[dg.RunRequest]]:
    """(the raw folder's files, every bucket's plan, one run request per group of buckets with work
    and no run already on it)."""
    scan, plans = batches.plan_from_storage(settings.raw_dir, settings.staging_dir, full=full)
    free = {b: p for b, p in plans.items() if b not in busy}
    requests = [
        dg.RunRequest(
            job_name=process_files_job.name,
            run_key=batches.run_key(plans, group),
            tags={**partition_tags(batches.bucket_range(group)), **({FULL_TAG: "true"} if full else {})},
        )
        for group in batches.run_groups(free, settings.buckets_per_run)
    ]
    return scan, plans, requests


@dg.sensor(
    jobs=[process_files_job],
    minimum_interval_seconds=30,
    default_status=_DEFAULT_SENSOR_STATUS,
    description=(
        "Every 30 s: compares data/raw/ with each file's recorded state and runs the batches that have "
        "new, changed, deleted or outdated files (one run per group of batches). The warehouse follows."
    ),
)
def raw_files_sensor(context: dg.SensorEvaluationContext, settings: PipelineSettings):
    busy = busy_buckets(context.instance)
    scan, plans, requests = planned_runs(settings, busy=busy)
    # The cursor is a hash of what the folder held (the state itself lives in staging): small.
    cursor = hashlib.sha256("|".join(f"{f}={e.fingerprint}" for f, e in scan.items()).encode()).hexdigest()[:16]
    summary = batches.summarize(plans, scan)
    if not requests:
        waiting = sum(p.has_work for b, p in plans.items() if b in busy)
        return dg.SkipReason(f"{summary['files']} files, nothing new, changed or deleted"
                             + (f" outside the {waiting} batch(es) runs already work on" if waiting else ""))
    return dg.SensorResult(run_requests=requests, cursor=cursor)


@dg.schedule(
    job=process_files_job,
    cron_schedule="0 3 * * *",
    default_status=_DEFAULT_SCHEDULE_STATUS,
    description=(
        "Every day at 03:00: the same plan as the sensor, as a safety net (files whose mentions are missing "
        "or were made by older rules, vocabularies or model; none on an ordinary day); the warehouse follows."
    ),
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext, settings: PipelineSettings):
    scan, plans, requests = planned_runs(settings, busy=busy_buckets(context.instance))
    if not requests:
        return dg.SkipReason(f"all {len(scan)} files are processed with the current rules, vocabularies and model")
    return requests


warehouse_automation_sensor = dg.AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=dg.AssetSelection.groups("warehouse", "reports"),
    default_status=_DEFAULT_SENSOR_STATUS,
    minimum_interval_seconds=30,
    description="Rebuilds the warehouse after files were processed (by the sensor, the schedule or a backfill), "
    "then the HTML report.",
)
