"""Entity mentions, outcomes and sentences found by the spaCy pipeline (one partition per bucket)."""

import dagster as dg

from fms_pipeline import batches, stages, staging
from fms_pipeline.defs.ingest import BACKFILL_POLICY, is_full_run
from fms_pipeline.defs.metadata import column_schema, markdown_preview
from fms_pipeline.defs.partitions import bucket_partitions
from fms_pipeline.defs.resources import PipelineSettings


@dg.asset(
    deps=["parsed_documents", "parsed_comments"],
    partitions_def=bucket_partitions,
    backfill_policy=BACKFILL_POLICY,
    # Rules, vocabularies and model: when they change, every bucket's mentions are out of date
    # (the UI shows them stale and the sensor re-processes them).
    code_version=batches.pipeline_version(),
    group_name="nlp",
    kinds={"spacy", "polars", "parquet"},
    owners=["team:fms-pipeline"],
    tags={"layer": "staging"},
    description=(
        "Drugs (with generic names), drug classes, conditions, symptoms and organisations found in "
        "article bodies and comments by fms_pipeline.nlp.load_nlp(): spaCy tokenizer, sentencizer, "
        "entity ruler from shipped vocabularies and the drug-named-entity-recognition dictionary, "
        "and a guarded fuzzy matcher for misspellings; context (negated, hypothetical, historical, "
        "experiencer), drug outcomes and sentence sentiment. No statistical model needed."
    ),
)
def extracted_mentions(context: dg.AssetExecutionContext, settings: PipelineSettings) -> dg.MaterializeResult:
    buckets = list(context.partition_keys)
    summaries = stages.nlp_buckets(settings.staging_dir, buckets, batches.pipeline_version(),
                                   n_workers=settings.worker_count(), full=is_full_run(context),
                                   spacy_model=settings.spacy_model)
    for bucket in buckets:
        s = summaries[bucket]
        context.add_asset_metadata(
            {"dagster/row_count": staging.row_count(settings.staging_dir, "entity_mentions", bucket),
             "documents_processed": s.documents, "mentions_found": s.mentions, "outcomes_found": s.outcomes},
            partition_key=bucket)
    touched = [b for b, s in summaries.items() if s.documents] or buckets
    mentions = staging.read_staged_sample(settings.staging_dir, "entity_mentions", touched)
    outcomes = staging.read_staged_sample(settings.staging_dir, "outcome_mentions", touched)
    return dg.MaterializeResult(
        metadata={
            "dagster/column_schema": column_schema("entity_mentions"),
            "documents_processed": sum(s.documents for s in summaries.values()),
            "mentions_found": sum(s.mentions for s in summaries.values()),
            "outcomes_found": sum(s.outcomes for s in summaries.values()),
            "mentions_by_label (sample)": dg.MetadataValue.json(
                dict(mentions.group_by("label").len().sort("len", descending=True).iter_rows())),
            "outcomes_by_label (sample)": dg.MetadataValue.json(
                dict(outcomes.group_by("outcome").len().sort("len", descending=True).iter_rows())),
            "preview": markdown_preview(mentions.select("label", "text", "canonical", "comment_id")),
        }
    )
