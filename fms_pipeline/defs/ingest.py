"""Raw files -> parsed documents and comments, and each file's state (one partition per bucket)."""

import dagster as dg

from fms_pipeline import batches, stages, staging
from fms_pipeline.defs.metadata import column_schema, markdown_list, markdown_preview
from fms_pipeline.defs.partitions import bucket_partitions
from fms_pipeline.defs.resources import PipelineSettings

# A UI backfill of every bucket becomes runs of this many buckets, each of which a run launcher
# (Kubernetes, Docker, ECS) can place on its own machine.
BACKFILL_POLICY = dg.BackfillPolicy.multi_run(max_partitions_per_run=8)
FULL_TAG = "fms/full"


def is_full_run(context) -> bool:
    """A run tagged ``fms/full=true`` re-processes every file of its buckets, changed or not."""
    return context.run.tags.get(FULL_TAG) == "true"


def rejected_metadata(rejected) -> dict:
    return {
        "rejected_files": len(rejected),
        "rejected": markdown_list([(e.source_file, e.reason) for e in rejected[:50]]),
    }


def _spec(key: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        code_version=batches.pipeline_version(),
        description=description,
        kinds={"polars", "parquet"},
        group_name="ingest",
        owners=["team:fms-pipeline"],
        tags={"layer": "staging"},
    )


@dg.multi_asset(
    specs=[
        _spec("source_files", "Each raw file's state: fingerprint, format, status (staged or rejected) and the reason, "
                              "documents and comments it gave. Bad files are set aside here, never stop a run."),
        _spec("parsed_documents", "One row per document (page, post, submission): title, byline, date, url, body."),
        _spec("parsed_comments",
              "One row per comment in thread order: position, parent and depth, author or null, date, score, body."),
    ],
    partitions_def=bucket_partitions,
    backfill_policy=BACKFILL_POLICY,
)
def parsed_sources(context: dg.AssetExecutionContext, settings: PipelineSettings):
    """Read and parse the new, changed and outdated files of this run's buckets; drop deleted ones."""
    buckets = list(context.partition_keys)
    full = is_full_run(context)
    scan, plans = batches.plan_from_storage(settings.raw_dir, settings.staging_dir, full=full, buckets=buckets)
    n_workers = settings.worker_count()
    summaries = stages.parse_buckets(settings.raw_dir, settings.staging_dir, plans, batches.pipeline_version(),
                                     n_workers=n_workers, full=full)
    rejected = [e for s in summaries.values() for e in s.rejected]
    for error in rejected:
        context.log.info(f"set aside {error}")
    if rejected:
        context.log.warning(f"{len(rejected)} file(s) set aside, e.g. {rejected[0]}; all are in rejected_files")
    for source_file in (f for p in plans.values() for f in p.to_remove):
        context.log.info(f"{source_file} is no longer in the raw folder; its rows leave")
    for bucket in buckets:
        s = summaries.get(bucket)
        context.add_asset_metadata(
            {"dagster/row_count": staging.row_count(settings.staging_dir, "source_files", bucket),
             "files_processed": s.files_processed if s else 0, "files_rejected": s.files_rejected if s else 0,
             "files_removed": s.files_removed if s else 0},
            asset_key="source_files", partition_key=bucket)
        context.add_asset_metadata(
            {"dagster/row_count": staging.row_count(settings.staging_dir, "documents", bucket),
             "documents_parsed": s.documents if s else 0}, asset_key="parsed_documents", partition_key=bucket)
        context.add_asset_metadata(
            {"dagster/row_count": staging.row_count(settings.staging_dir, "comments", bucket),
             "comments_parsed": s.comments if s else 0}, asset_key="parsed_comments", partition_key=bucket)
    touched = [b for b, s in summaries.items() if s.files_processed or s.files_removed]
    comments = staging.read_staged_sample(settings.staging_dir, "comments", touched or buckets, limit=10)
    yield dg.MaterializeResult(asset_key="source_files", metadata={
        "dagster/column_schema": column_schema("source_files"),
        "files_on_disk_in_these_buckets": sum(1 for f in scan if staging.bucket_of(f) in set(buckets)),
        "files_processed": sum(s.files_processed for s in summaries.values()),
        **rejected_metadata(rejected),
    })
    yield dg.MaterializeResult(asset_key="parsed_documents", metadata={
        "dagster/column_schema": column_schema("documents"),
        "documents_parsed": sum(s.documents for s in summaries.values()),
    })
    yield dg.MaterializeResult(asset_key="parsed_comments", metadata={
        "dagster/column_schema": column_schema("comments"),
        "comments_parsed": sum(s.comments for s in summaries.values()),
        "preview": markdown_preview(comments.select("position", "depth", "author", "body")),
    })
