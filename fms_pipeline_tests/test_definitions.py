"""The Dagster definitions load and wire what the UI shows."""

from __future__ import annotations

import dagster as dg

from fms_pipeline import cli
from fms_pipeline.definitions import build_definitions


def test_definitions_load_with_lineage_groups_and_automation(tmp_path):
    from fms_pipeline import tables

    defs = build_definitions(str(tmp_path))
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "source_files", "parsed_documents", "parsed_comments", "extracted_mentions",
        *(f"warehouse/{t}" for t in tables.CORE_TABLES + tables.AGGREGATE_TABLES),
        "outcome_label_quality", "shareable_warehouse", "html_report",
    }
    assert {"warehouse/documents", "warehouse/source_files", "warehouse/rejected_files"} <= keys
    parents = lambda key: {p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}
    assert parents("extracted_mentions") == {"parsed_documents", "parsed_comments"}
    assert parents("warehouse/entity_mentions") == {"extracted_mentions"}
    assert parents("warehouse/source_files") == {"source_files"}
    assert parents("warehouse/rejected_files") == {"warehouse/source_files"}
    assert parents("warehouse/drug_condition_pairs") == {"warehouse/entity_mentions"}
    assert parents("warehouse/drug_outcomes") == {"warehouse/outcome_mentions"}
    for key in ("source_files", "parsed_comments", "extracted_mentions"):
        node = graph.get(dg.AssetKey.from_user_string(key))
        # A fixed set of batch partitions, whatever the number of files; a backfill is several runs.
        assert node.partitions_def.get_partition_keys() == [f"{i:02d}" for i in range(32)]
        assert node.backfill_policy == dg.BackfillPolicy.multi_run(max_partitions_per_run=8)
    assert graph.get(dg.AssetKey(["warehouse", "documents"])).partitions_def is None
    for writer in ("warehouse/documents", "html_report", "shareable_warehouse"):
        assert graph.get(dg.AssetKey.from_user_string(writer)).pools == {"fms_warehouse_writer"}
    assert {s.name for s in defs.sensors} == {"raw_files_sensor", "warehouse_automation"}
    assert [s.cron_schedule for s in defs.schedules] == ["0 3 * * *"]
    checks = {k.name for k in graph.asset_check_keys}
    from fms_pipeline.warehouse import contract

    # One check per table for its declared tests (each check costs events in every build run).
    declared = {f"{table.name}_declared_tests" for table in tables.TABLES.values() if contract.test_queries(table)}
    assert {"comment_positions_contiguous", "comment_bodies_not_empty", "comments_belong_to_documents",
            "spans_inside_text", "entity_counts_add_up", "new_drug_event_signals"} | declared == checks
    assert "comments_declared_tests" in checks and "outcome_mentions_declared_tests" in checks
    assert len(declared) == len(tables.TABLES)
    # Lineage comes from the SQL: mentions_by_month reads mentions, comments and documents (and the
    # month's activity, for its rates).
    assert parents("warehouse/mentions_by_month") == {"warehouse/entity_mentions", "warehouse/comments",
                                                      "warehouse/documents", "warehouse/activity_by_month"}
    # Every warehouse asset shows its declared columns, each with a description, before any run.
    for name, table in tables.TABLES.items():
        spec = graph.get(dg.AssetKey(["warehouse", name]))
        schema = spec.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == [c.name for c in table.columns]
        assert all(c.description for c in schema.columns), name
    assert defs.resolve_job_def("process_files") and defs.resolve_job_def("build_warehouse")
    assert "outcome_label_quality" not in {k.to_user_string() for k in defs.resolve_job_def("process_files").asset_layer.executable_asset_keys}
    # The settings are one resource, shown in the UI with the values read from the environment.
    assert defs.resources["settings"].data_dir == str(tmp_path)


def test_dg_checks_the_definitions(tmp_path):
    """`dg check defs`, as Dagster 1.13 projects are checked, loads the project from [tool.dg]."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    dg_cli = Path(sys.executable).with_name("dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "FMS_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "dagster.yaml").write_text(cli.DAGSTER_YAML)
    done = subprocess.run([str(dg_cli), "check", "defs"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


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

    # The @dg.definitions function is what workspace.yaml, `dg dev` and `dagster dev` load.
    loaded = dg.Definitions.merge(module.defs())
    assert {s.name for s in loaded.sensors} == {"raw_files_sensor", "warehouse_automation"}


def test_a_local_instance_syncs_its_sqlite_files_at_checkpoints_only(tmp_path):
    """Loading the definitions makes Dagster's SQLite connections skip the fsync per commit (the
    ~10 s of waiting of a one-file update); the runs and events are still written and read back."""
    import fms_pipeline.definitions  # noqa: F401 - its import installs the setting

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with instance.run_storage.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (FULL is 2)

        @dg.asset
        def one() -> int:
            return 1

        result = dg.materialize([one], instance=instance)
        assert result.success
        assert instance.get_latest_materialization_event(dg.AssetKey("one")) is not None
