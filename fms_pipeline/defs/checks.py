"""Asset checks: the warehouse invariants, run on staged data before the warehouse is built.

They are blocking: in a run that also builds the warehouse, a failure stops the build, and the
build itself refuses staged data that break them, so bad data never reach the warehouse.
"""

import dagster as dg

from fms_pipeline import warehouse
from fms_pipeline.defs.metadata import markdown_list
from fms_pipeline.defs.resources import PipelineSettings

# check SQL file -> (asset it guards, description)
CHECKS = {
    "comments_belong_to_documents": ("parsed_comments", "Every comment belongs to a parsed document."),
    "comment_positions_contiguous": ("parsed_comments", "Positions are 1..n without gaps, n = comment_count."),
    "comment_bodies_not_empty": ("parsed_comments", "No comment has an empty body."),
    "spans_inside_text": ("extracted_mentions", "Entity and outcome offsets lie inside their text and cut out its words."),
}


def _buckets_of_run(context: dg.AssetCheckExecutionContext) -> set[str] | None:
    """The buckets this run processed, or None (check everything) outside such a run: the others
    were checked by the runs that processed them."""
    tags = context.run.tags
    if "dagster/partition" in tags:
        return {tags["dagster/partition"]}
    if "dagster/asset_partition_range_start" in tags:
        from fms_pipeline import staging

        every = staging.all_buckets()
        start, end = tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]
        if start in every and end in every:
            return set(every[every.index(start):every.index(end) + 1])
    return None


def _check_results(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
    names = [key.name for key in context.selected_asset_check_keys]
    buckets = _buckets_of_run(context)
    failures = warehouse.check_staging(settings.staging_dir, names, buckets=buckets)
    for spec_key in context.selected_asset_check_keys:
        rows = failures.get(spec_key.name, [])
        yield dg.AssetCheckResult(
            check_name=spec_key.name,
            asset_key=spec_key.asset_key,
            passed=not rows,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failing_rows": len(rows),
                "buckets_checked": len(buckets) if buckets is not None else "all",
                "examples": markdown_list(rows[:10]),
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
def parsed_comments_checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
    yield from _check_results(context, settings)


@dg.multi_asset_check(specs=_specs("extracted_mentions"), can_subset=True, name="extracted_mentions_checks")
def extracted_mentions_checks(context: dg.AssetCheckExecutionContext, settings: PipelineSettings):
    yield from _check_results(context, settings)


@dg.asset_check(asset=["warehouse", "entity_counts"], description="entity_counts adds up to entity_mentions.")
def entity_counts_add_up(settings: PipelineSettings) -> dg.AssetCheckResult:
    from fms_pipeline import storage

    with storage.local_copy(settings.warehouse_path) as path, warehouse.connect_read_only(path) as con:
        counted, listed = con.execute(
            "SELECT (SELECT coalesce(sum(mentions), 0) FROM entity_counts), (SELECT count(*) FROM entity_mentions)"
        ).fetchall()[0]
    return dg.AssetCheckResult(passed=counted == listed, metadata={"sum_of_counts": counted, "mentions": listed})


SIGNALS_KEY = dg.AssetKey(["warehouse", "drug_event_signals"])


@dg.asset_check(
    asset=SIGNALS_KEY, blocking=False,
    description="Drug–event pairs that became signals (any of Evans, ROR025 > 1, IC025 > 0, EB05 >= 2, per "
                "grouping and unit) since the previous materialization. Warns, never blocks: new signals are news.",
)
def new_drug_event_signals(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    records = context.instance.fetch_materializations(SIGNALS_KEY, limit=2).records

    def pairs(record) -> list[str]:
        value = record.asset_materialization.metadata.get("signal_pairs") if record.asset_materialization else None
        return list(value.value) if value is not None else []

    current = pairs(records[0]) if records else []
    previous = pairs(records[1]) if len(records) > 1 else []
    new = [p for p in current if p not in set(previous)]
    gone = [p for p in previous if p not in set(current)]
    return dg.AssetCheckResult(
        passed=not new,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(new)} new signal(s) since the previous materialization" if new else "no new signal",
        metadata={
            "new_signals": len(new),
            "no_longer_signals": len(gone),
            "signals": len(current),
            "first_materialization": len(records) < 2,
            "new": markdown_list([(p.split(": ", 1)[0], p.split(": ", 1)[1]) for p in new[:50]]),
        },
    )
