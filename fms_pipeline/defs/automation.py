"""Jobs, the sensor that tracks raw files, the daily refresh and the warehouse automation."""

import json
import os

import dagster as dg

from fms_pipeline import processing
from fms_pipeline.defs.partitions import is_valid_partition_key, raw_files_partitions
from fms_pipeline.defs.resources import PipelinePaths

PER_FILE_GROUPS = ("ingest", "nlp")

# FMS_AUTOMATION=stopped starts the sensors and the schedule switched off (they can be switched
# on in the UI); useful on a machine that should only run what a person launches.
_DEFAULT_SENSOR_STATUS = (
    dg.DefaultSensorStatus.STOPPED if os.environ.get("FMS_AUTOMATION") == "stopped" else dg.DefaultSensorStatus.RUNNING
)
_DEFAULT_SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.STOPPED if os.environ.get("FMS_AUTOMATION") == "stopped" else dg.DefaultScheduleStatus.RUNNING
)

process_files_job = dg.define_asset_job(
    "process_files",
    selection=dg.AssetSelection.groups(*PER_FILE_GROUPS),
    description="Decode, parse and extract entities for the selected raw files (staging only).",
)

build_warehouse_job = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.groups("warehouse", "reports"),
    description="Rebuild data/warehouse.duckdb from staging and swap it in, then the HTML report.",
)


def range_tags(keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover the partitions first..last (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def plan_partition_sync(on_disk: dict[str, str], registered: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(new keys, deleted keys, invalid names) for the files under data/raw/ against the partitions."""
    valid = [k for k in on_disk if is_valid_partition_key(k)]
    invalid = [k for k in on_disk if not is_valid_partition_key(k)]
    known = set(registered)
    new = [k for k in valid if k not in known]
    deleted = [k for k in registered if k not in on_disk]
    return new, deleted, invalid


@dg.sensor(
    jobs=[process_files_job, build_warehouse_job],
    minimum_interval_seconds=30,
    default_status=_DEFAULT_SENSOR_STATUS,
    description=(
        "Registers a partition for every new file under data/raw/ and processes it; re-processes files "
        "whose size or modification time changed; drops partitions of deleted files and rebuilds the warehouse."
    ),
)
def raw_files_sensor(context: dg.SensorEvaluationContext, paths: PipelinePaths) -> dg.SensorResult:
    on_disk = processing.scan_raw_files(paths.raw_dir)
    registered = context.instance.get_dynamic_partitions(raw_files_partitions.name)
    new, deleted, invalid = plan_partition_sync(on_disk, registered)
    for key in invalid:
        context.log.warning(f"{key}: file name cannot be a partition key (control character or '...'); skipped")
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = [k for k in registered if k in on_disk and previous.get(k) not in (None, on_disk[k])]
    runs: list[dg.RunRequest] = []
    if new:
        # New partitions are appended in this order, so they form one range: one run for all of them.
        runs.append(
            dg.RunRequest(
                job_name=process_files_job.name,
                run_key=f"new:{new[0]}:{new[-1]}:{on_disk[new[-1]]}",
                tags=range_tags(new),
            )
        )
    for key in changed:
        runs.append(dg.RunRequest(job_name=process_files_job.name, partition_key=key, run_key=f"changed:{key}:{on_disk[key]}"))
    if deleted:
        runs.append(dg.RunRequest(job_name=build_warehouse_job.name, run_key=f"deleted:{json.dumps(sorted(deleted))}"))
    return dg.SensorResult(
        run_requests=runs,
        cursor=json.dumps({k: v for k, v in on_disk.items() if k not in invalid}),
        dynamic_partitions_requests=[
            raw_files_partitions.build_add_request(new),
            raw_files_partitions.build_delete_request(deleted),
        ],
    )


def files_to_refresh(instance: dg.DagsterInstance, keys: list[str], version: str) -> list[str]:
    """The registered files whose entity mentions were never materialized, or were made by other
    rules, vocabularies or model (their code version differs from ``version``)."""
    asset_key = dg.AssetKey("extracted_mentions")
    latest = instance.get_latest_storage_id_by_partition(asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION)
    storage_ids = [latest[k] for k in keys if k in latest]
    current: set[str] = set()
    for i in range(0, len(storage_ids), 1000):
        chunk = storage_ids[i:i + 1000]
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=chunk), limit=len(chunk)
        ).records
        current.update(r.partition_key for r in records
                       if r.asset_materialization and r.asset_materialization.tags.get("dagster/code_version") == version)
    return [k for k in keys if k not in current]


@dg.schedule(
    job=process_files_job,
    cron_schedule="0 3 * * *",
    default_status=_DEFAULT_SCHEDULE_STATUS,
    description=(
        "Every day at 03:00: re-process the files whose mentions are missing or were made by older "
        "rules, vocabularies or model (all of them after such a change; none on an ordinary day, "
        "when the sensor has already processed new and changed files); the warehouse follows."
    ),
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext):
    keys = context.instance.get_dynamic_partitions(raw_files_partitions.name)
    if not keys:
        return dg.SkipReason("no raw files registered yet")
    stale = files_to_refresh(context.instance, keys, processing.pipeline_version())
    if not stale:
        return dg.SkipReason(f"all {len(keys)} files are processed with the current rules, vocabularies and model")
    # One run over the range that holds them (partition keys are in the order files arrived).
    first, last = keys.index(stale[0]), keys.index(stale[-1])
    return dg.RunRequest(run_key=None, tags=range_tags(keys[first:last + 1]))


warehouse_automation_sensor = dg.AutomationConditionSensorDefinition(
    "warehouse_automation",
    target=dg.AssetSelection.groups("warehouse", "reports"),
    default_status=_DEFAULT_SENSOR_STATUS,
    minimum_interval_seconds=30,
    description="Rebuilds the warehouse after files were processed (by the sensor, the schedule or a backfill), "
    "then the HTML report.",
)
