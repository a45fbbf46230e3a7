"""Entity mentions found by the spaCy pipeline (one partition per file)."""

import dagster as dg

from fms_pipeline import processing, staging
from fms_pipeline.defs.ingest import accepted_documents
from fms_pipeline.defs.metadata import column_schema, markdown_preview
from fms_pipeline.defs.partitions import raw_files_partitions
from fms_pipeline.defs.resources import PipelinePaths


@dg.asset(
    deps=["parsed_documents", "parsed_comments"],
    partitions_def=raw_files_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    # Rules, vocabularies and model: when they change, every file's mentions are out of date
    # (the UI shows them stale and the daily schedule re-processes them).
    code_version=processing.pipeline_version(),
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
def extracted_mentions(context: dg.AssetExecutionContext, paths: PipelinePaths) -> dg.MaterializeResult:
    doc_ids = [
        d for d in accepted_documents(context, paths)
        if staging.staged_path(paths.staging_dir, "documents", d).exists()
    ]
    workers = processing.usable_workers(processing.worker_processes(), len(doc_ids))
    counts = processing.stage_entity_mentions(paths.staging_dir, doc_ids, workers=workers)
    mentions = staging.read_staged_sample(paths.staging_dir, "entity_mentions", doc_ids)
    by_label = mentions.group_by("label").len().sort("len", descending=True)
    outcomes = staging.read_staged_sample(paths.staging_dir, "outcome_mentions", doc_ids)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "dagster/column_schema": column_schema("entity_mentions"),
            "documents_processed": len(doc_ids),
            "nlp_worker_processes": workers,
            "mentions_by_label (first 20 files)": dg.MetadataValue.json(dict(by_label.iter_rows())),
            "outcomes_by_label (first 20 files)": dg.MetadataValue.json(
                dict(outcomes.group_by("outcome").len().sort("len", descending=True).iter_rows())
            ),
            "preview": markdown_preview(mentions.select("label", "text", "canonical", "comment_id")),
        }
    )
