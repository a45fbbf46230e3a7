"""Asset checks: the warehouse invariants, run on staged data before the warehouse is built.

They are blocking: in a run that also builds the warehouse, a failure stops the build, and the
build itself refuses staged data that break them, so bad data never reach the warehouse.
"""

import dagster as dg

from fms_pipeline import processing, warehouse
from fms_pipeline.defs.partitions import raw_files_partitions
from fms_pipeline.defs.resources import PipelinePaths

# check SQL file -> (asset it guards, description)
CHECKS = {
    "comments_belong_to_documents": ("parsed_comments", "Every comment belongs to a parsed document."),
    "comment_positions_contiguous": ("parsed_comments", "Positions are 1..n without gaps, n = comment_count."),
    "comment_bodies_not_empty": ("parsed_comments", "No comment has an empty body."),
    "spans_inside_text": ("extracted_mentions", "Entity and outcome offsets lie inside their text and cut out its words."),
}


def _documents_of_run(context: dg.AssetCheckExecutionContext) -> set[str] | None:
    """Document ids of the files this run processed, or None (check everything) outside such a run.

    The files a run did not touch were checked by the run that processed them, so a run that
    adds one file to a large corpus checks that file, not the corpus."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        keys = [tags["dagster/partition"]]
    elif "dagster/asset_partition_range_start" in tags:
        registered = context.instance.get_dynamic_partitions(raw_files_partitions.name)
        start, end = tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
        if start not in registered or end not in registered:
            return None
        keys = registered[registered.index(start):registered.index(end) + 1]
    else:
        return None
    return {processing.document_id(k) for k in keys}


def _check_results(context: dg.AssetCheckExecutionContext, paths: PipelinePaths):
    names = [key.name for key in context.selected_asset_check_keys]
    documents = _documents_of_run(context)
    failures = warehouse.check_staging(paths.staging_dir, names, document_ids=documents)
    for spec_key in context.selected_asset_check_keys:
        rows = failures.get(spec_key.name, [])
        yield dg.AssetCheckResult(
            check_name=spec_key.name,
            asset_key=spec_key.asset_key,
            passed=not rows,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failing_rows": len(rows),
                "documents_checked": len(documents) if documents is not None else "all staged",
                "examples": dg.MetadataValue.md("\n".join(f"- `{i}`: {p}" for i, p in rows[:10]) or "none"),
            },
        )


def _specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset, description=description, blocking=True)
        for name, (checked, description) in CHECKS.items()
        if checked == asset
    ]


# One check step per staged asset, so the comment checks run before the NLP and can stop it.
@dg.multi_asset_check(specs=_specs("parsed_comments"), can_subset=True, name="parsed_comments_checks")
def parsed_comments_checks(context: dg.AssetCheckExecutionContext, paths: PipelinePaths):
    yield from _check_results(context, paths)


@dg.multi_asset_check(specs=_specs("extracted_mentions"), can_subset=True, name="extracted_mentions_checks")
def extracted_mentions_checks(context: dg.AssetCheckExecutionContext, paths: PipelinePaths):
    yield from _check_results(context, paths)


@dg.asset_check(asset=["warehouse", "entity_counts"], description="entity_counts adds up to entity_mentions.")
def entity_counts_add_up(paths: PipelinePaths) -> dg.AssetCheckResult:
    with warehouse.connect_read_only(paths.warehouse_path) as con:
        counted, listed = con.execute(
            "SELECT (SELECT coalesce(sum(mentions), 0) FROM entity_counts), (SELECT count(*) FROM entity_mentions)"
        ).fetchall()[0]
    return dg.AssetCheckResult(passed=counted == listed, metadata={"sum_of_counts": counted, "mentions": listed})
