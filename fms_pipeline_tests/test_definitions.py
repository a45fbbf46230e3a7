"""The Dagster definitions load and wire what the UI shows."""

from __future__ import annotations

import dagster as dg

from fms_pipeline.definitions import build_definitions


def test_definitions_load_with_lineage_groups_and_automation(tmp_path):
    defs = build_definitions(str(tmp_path))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "raw_documents", "parsed_documents", "parsed_comments", "extracted_mentions",
        "warehouse/documents", "warehouse/comments", "warehouse/entity_mentions", "warehouse/rejected_files",
        "warehouse/entity_counts", "warehouse/drug_condition_pairs", "warehouse/outcome_mentions",
        "warehouse/sentences", "warehouse/drugs", "warehouse/drug_outcomes", "warehouse/drug_sentiment",
        "outcome_label_quality", "shareable_warehouse", "html_report",
    }
    parents = lambda key: {p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}
    assert parents("parsed_comments") == {"raw_documents"}
    assert parents("extracted_mentions") == {"parsed_documents", "parsed_comments"}
    assert parents("warehouse/entity_mentions") == {"extracted_mentions"}
    assert parents("warehouse/drug_condition_pairs") == {"warehouse/entity_mentions"}
    assert parents("warehouse/drug_outcomes") == {"warehouse/outcome_mentions"}
    for key in ("raw_documents", "parsed_comments", "extracted_mentions"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert isinstance(node.partitions_def, dg.DynamicPartitionsDefinition)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert graph.get(dg.AssetKey(["warehouse", "documents"])).partitions_def is None
    assert {s.name for s in defs.sensors} == {"raw_files_sensor", "warehouse_automation"}
    assert [s.cron_schedule for s in defs.schedules] == ["0 3 * * *"]
    checks = {k.name for k in graph.asset_check_keys}
    assert {"comment_positions_contiguous", "comment_bodies_not_empty", "comments_belong_to_documents",
            "spans_inside_text", "entity_counts_add_up"} == checks
    assert defs.resolve_job_def("process_files") and defs.resolve_job_def("build_warehouse")
    assert "outcome_label_quality" not in {k.to_user_string() for k in defs.resolve_job_def("process_files").asset_layer.executable_asset_keys}


def test_outcome_quality_asset_records_scores(tmp_path):
    import shutil
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    (tmp_path / "psytar").mkdir()
    shutil.copy(repo / "data" / "psytar" / "sentences_dev.tsv", tmp_path / "psytar")
    defs = build_definitions(str(tmp_path))
    result = dg.materialize([defs.resolve_assets_def("outcome_label_quality")])
    [event] = result.asset_materializations_for_node("outcome_label_quality")
    assert event.metadata["f1_adverse_effect"].value > 0.7
    assert "| withdrawal |" in event.metadata["scores"].value


def test_workspace_module_loads():
    import fms_pipeline.definitions as module

    assert isinstance(module.defs, dg.Definitions)
