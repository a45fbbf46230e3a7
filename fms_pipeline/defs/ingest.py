"""Raw files -> staged text -> parsed documents and comments (one partition per file)."""

import dagster as dg

from fms_pipeline import processing, staging
from fms_pipeline.defs.metadata import column_schema, markdown_preview
from fms_pipeline.defs.partitions import raw_files_partitions
from fms_pipeline.defs.resources import PipelinePaths


def fail_if_single_file_rejected(context: dg.AssetExecutionContext, rejected: list[processing.RejectedFile]) -> None:
    """A run for one file fails when that file is bad; a run over many files sets bad ones aside."""
    for error in rejected:
        context.log.error(f"rejected {error}")
    if rejected and len(context.partition_keys) == 1:
        raise dg.Failure(
            description=f"Rejected {rejected[0].source_file}: {rejected[0].reason}",
            metadata={"source_file": rejected[0].source_file, "reason": rejected[0].reason},
            allow_retries=False,
        )


def rejected_metadata(rejected: list[processing.RejectedFile]) -> dict:
    return {
        "rejected_files": len(rejected),
        "rejected": dg.MetadataValue.md(
            "\n".join(f"- `{e.source_file}`: {e.reason}" for e in rejected) or "none"
        ),
    }


def accepted_documents(context: dg.AssetExecutionContext, paths: PipelinePaths) -> list[str]:
    """Document ids of this run's files that are not set aside as rejected."""
    ids = [processing.document_id(key) for key in context.partition_keys]
    return [i for i in ids if not processing.is_rejected(paths.staging_dir, i)
            and staging.staged_path(paths.staging_dir, "raw_documents", i).exists()]


@dg.asset(
    partitions_def=raw_files_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    code_version=processing.pipeline_version(),
    group_name="ingest",
    kinds={"polars", "parquet"},
    owners=["team:fms-pipeline"],
    tags={"layer": "staging"},
    description=(
        "The text of each raw file under data/raw/, decoded (UTF-8 or Windows-1252, mojibake repaired) "
        "and staged as Parquet with its SHA-256. Files that cannot be read or decoded are set aside "
        "in rejected_files with the reason."
    ),
)
def raw_documents(context: dg.AssetExecutionContext, paths: PipelinePaths) -> dg.MaterializeResult:
    processing.start_workers_early(processing.worker_processes(), len(context.partition_keys))
    staged, rejected = processing.stage_raw_documents(
        paths.raw_dir, paths.staging_dir, list(context.partition_keys), workers=processing.worker_processes()
    )
    fail_if_single_file_rejected(context, rejected)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(staged),
            "dagster/column_schema": column_schema("raw_documents"),
            "files_staged": len(staged),
            "bytes_read": sum(s.size_bytes for s in staged),
            **rejected_metadata(rejected),
        }
    )


def _parsed_spec(key: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key,
        deps=[raw_documents],
        code_version=processing.pipeline_version(),
        description=description,
        kinds={"polars", "parquet"},
        group_name="ingest",
        owners=["team:fms-pipeline"],
        tags={"layer": "staging"},
    )


@dg.multi_asset(
    specs=[
        _parsed_spec("parsed_documents", "One row per file: title, byline and article body, boilerplate removed."),
        _parsed_spec(
            "parsed_comments",
            "One row per comment in thread order: position 1..n, author as written or null, body.",
        ),
    ],
    partitions_def=raw_files_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def parsed_pages(context: dg.AssetExecutionContext, paths: PipelinePaths):
    pages, rejected = processing.stage_parsed_pages(
        paths.staging_dir, accepted_documents(context, paths), workers=processing.worker_processes()
    )
    fail_if_single_file_rejected(context, rejected)
    comments = staging.read_staged_sample(paths.staging_dir, "comments", [p.document_id for p in pages])
    yield dg.MaterializeResult(
        asset_key="parsed_documents",
        metadata={
            "dagster/row_count": len(pages),
            "dagster/column_schema": column_schema("documents"),
            "documents_without_comment_section": sum(not p.has_comment_section for p in pages),
            **rejected_metadata(rejected),
        },
    )
    yield dg.MaterializeResult(
        asset_key="parsed_comments",
        metadata={
            "dagster/row_count": sum(p.comments for p in pages),
            "dagster/column_schema": column_schema("comments"),
            "comments_parsed": sum(p.comments for p in pages),
            "authors_named": sum(p.named_authors for p in pages),
            "preview": markdown_preview(comments.select("position", "author", "body")),
        },
    )
