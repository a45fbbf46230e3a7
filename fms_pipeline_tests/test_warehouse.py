"""The warehouse build from staging: contract, checks, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from fms_pipeline import processing, staging, warehouse
from fms_pipeline.reports.report import build_report

CONTRACT = {
    "documents": ["document_id", "source_file", "title", "byline", "body", "comment_count"],
    "comments": ["comment_id", "document_id", "position", "author", "body"],
    "entity_mentions": ["mention_id", "document_id", "comment_id", "label", "text", "canonical", "start_char", "end_char",
                        "sentence", "negated", "hypothetical", "historical", "experiencer"],
    "entity_counts": ["label", "canonical", "mentions", "comments", "documents"],
    "drug_condition_pairs": ["drug", "condition", "comments", "documents"],
    "rejected_files": ["source_file", "reason", "seen_at"],
    "drug_outcomes": ["drug", "outcome", "mentions", "comments", "documents"],
    "drug_sentiment": ["drug", "mentions", "mean_sentiment"],
    "drugs": ["drug", "drug_class", "drugbank_id", "mesh_id"],
}


@pytest.fixture
def staged(data_dir: Path, nlp) -> Path:
    staging_dir = data_dir / "staging"
    for source_file in processing.scan_raw_files(data_dir / "raw"):
        raw = processing.stage_raw_document(data_dir / "raw", staging_dir, source_file)
        processing.stage_parsed_page(staging_dir, raw.document_id)
        processing.stage_entity_mentions(staging_dir, [raw.document_id], nlp)
    return staging_dir


def columns(con, table):
    return [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                      "ORDER BY ordinal_position", [table]).fetchall()]


def test_build_fills_the_contract_tables(staged: Path, tmp_path: Path):
    summary = warehouse.build_warehouse(staged, tmp_path / "w.duckdb")
    assert summary.row_counts["documents"] == 1 and summary.row_counts["comments"] == 19
    with warehouse.connect_read_only(tmp_path / "w.duckdb") as con:
        for table, expected in CONTRACT.items():
            assert columns(con, table)[: len(expected)] == expected
        assert con.execute("SELECT sum(mentions) FROM entity_counts").fetchall()[0][0] == summary.row_counts["entity_mentions"]
        # Offsets index into the stored bodies.
        bad = con.execute("""
            SELECT count(*) FROM entity_mentions m
            LEFT JOIN comments c USING (comment_id) JOIN documents d ON d.document_id = m.document_id
            WHERE substring(CASE WHEN m.comment_id IS NULL THEN d.body ELSE c.body END,
                            m.start_char + 1, m.end_char - m.start_char) <> m.text""").fetchall()[0][0]
        assert bad == 0
        pairs = dict(((d, c), n) for d, c, n in con.execute(
            "SELECT drug, condition, comments FROM drug_condition_pairs").fetchall())
        # Comment 18 names Lyrica, Neurotin and Cymbalta beside FMS and A Fib.
        assert pairs[("pregabalin", "fibromyalgia")] == 1
        assert pairs[("gabapentin", "atrial fibrillation")] == 1
        assert pairs[("opioid", "fibromyalgia")] >= 3


@pytest.mark.parametrize(
    ("corrupt", "failing_check"),
    [
        (lambda df: df.with_columns(pl.when(pl.col("position") == 2).then(7).otherwise(pl.col("position")).alias("position")),
         "comment_positions_contiguous"),
        (lambda df: df.with_columns(pl.when(pl.col("position") == 3).then(pl.lit("  ")).otherwise(pl.col("body")).alias("body")),
         "comment_bodies_not_empty"),
        (lambda df: df.with_columns(pl.lit("no-such-document").alias("document_id")), "comments_belong_to_documents"),
    ],
)
def test_a_failing_check_keeps_the_previous_warehouse(staged: Path, tmp_path: Path, corrupt, failing_check):
    target = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, target)
    before = target.read_bytes()
    doc_id = next(iter(staging.staged_document_ids(staged, "comments")))
    staging.write_staged(staged, "comments", doc_id, corrupt(staging.read_staged(staged, "comments", doc_id)))
    with pytest.raises(warehouse.WarehouseCheckFailed) as failed:
        warehouse.build_warehouse(staged, target)
    assert failing_check in failed.value.failures
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".w.duckdb.building*"))


def test_mention_offsets_check(staged: Path):
    doc_id = next(iter(staging.staged_document_ids(staged, "entity_mentions")))
    mentions = staging.read_staged(staged, "entity_mentions", doc_id)
    staging.write_staged(staged, "entity_mentions", doc_id, mentions.with_columns(pl.col("end_char") + 100000))
    assert "spans_inside_text" in warehouse.check_staging(staged)


def test_reader_holding_the_warehouse_open_does_not_block_a_build(staged: Path, tmp_path: Path):
    target = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, target)
    reader = duckdb.connect(str(target), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
        warehouse.build_warehouse(staged, target)  # no lock error
        assert reader.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
    finally:
        reader.close()
    with warehouse.connect_read_only(target) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchall()[0][0] == 1


def test_empty_staging_builds_empty_tables(tmp_path: Path):
    summary = warehouse.build_warehouse(tmp_path / "staging", tmp_path / "w.duckdb")
    assert set(summary.row_counts.values()) == {0}


def _stage_all(raw_dir: Path, staging_dir: Path, nlp, files: list[str]) -> None:
    for source_file in files:
        raw = processing.stage_raw_document(raw_dir, staging_dir, source_file)
        processing.stage_parsed_page(staging_dir, raw.document_id)
        processing.stage_entity_mentions(staging_dir, [raw.document_id], nlp)


def test_incremental_build_equals_a_full_build(tmp_path: Path, nlp):
    from benchmarks.corpus import write_corpus

    raw_dir, staging_dir = tmp_path / "raw", tmp_path / "staging"
    files, _ = write_corpus(raw_dir, 60_000)  # ~25 files, so 3 changes stay under the incremental share
    names = sorted(processing.scan_raw_files(raw_dir))
    _stage_all(raw_dir, staging_dir, nlp, names)
    incremental_path = tmp_path / "incremental.duckdb"
    first = warehouse.build_warehouse(staging_dir, incremental_path)
    assert not first.incremental and first.row_counts["documents"] == files
    report_dir = tmp_path / "reports"
    assert build_report(incremental_path, report_dir).pages_written == files

    # One file rewritten, one deleted, one added.
    changed, deleted = names[1], names[2]
    (raw_dir / changed).write_text((raw_dir / names[3]).read_text(encoding="utf-8"), encoding="utf-8")
    (raw_dir / deleted).unlink()
    write_corpus(raw_dir, 1, seed=99, start=files)
    on_disk = processing.scan_raw_files(raw_dir)
    processing.prune_deleted_files(staging_dir, on_disk)
    _stage_all(raw_dir, staging_dir, nlp, [changed, *sorted(set(on_disk) - set(names))])

    second = warehouse.build_warehouse(staging_dir, incremental_path)
    assert second.incremental
    assert len(second.documents_changed) == 2 and second.documents_removed == [processing.document_id(deleted)]
    full = warehouse.build_warehouse(staging_dir, tmp_path / "full.duckdb", incremental=False)
    assert not full.incremental and second.row_counts == full.row_counts
    with duckdb.connect(str(incremental_path), read_only=True) as con:
        con.execute(f"ATTACH '{tmp_path / 'full.duckdb'}' AS full_build (READ_ONLY)")
        for table in warehouse.CORE_TABLES + warehouse.AGGREGATE_TABLES:
            differing = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM full_build.{table}) "
                f"UNION ALL (SELECT * FROM full_build.{table} EXCEPT ALL SELECT * FROM {table}))").fetchall()[0][0]
            assert differing == 0, table
        assert con.execute("SELECT count(*) FROM documents WHERE source_file = ?", [deleted]).fetchall()[0][0] == 0

    # The report renders the two changed pages again, keeps the others and drops the deleted one.
    report = build_report(incremental_path, report_dir)
    assert report.pages_written == 2 and report.document_pages == files
    pages = {p.stem for p in (report_dir / "documents").glob("*.html")}
    assert processing.document_id(deleted) not in pages and set(second.documents_changed) <= pages
    page = (report_dir / "documents" / f"{processing.document_id(changed)}.html").read_text(encoding="utf-8")
    assert page == build_report(tmp_path / "full.duckdb", tmp_path / "full-report").path.with_name("documents").joinpath(
        f"{processing.document_id(changed)}.html").read_text(encoding="utf-8")

    # Nothing changed: still incremental, and nothing is rebuilt.
    third = warehouse.build_warehouse(staging_dir, incremental_path)
    assert third.incremental and third.documents_changed == [] and third.row_counts == full.row_counts
    assert build_report(incremental_path, report_dir).pages_written == 0


def test_a_warehouse_built_by_other_sql_is_rebuilt_whole(staged: Path, tmp_path: Path, monkeypatch):
    path = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, path)
    assert warehouse.build_warehouse(staged, path).incremental
    monkeypatch.setattr(warehouse, "sql_version", lambda: "other")
    assert not warehouse.build_warehouse(staged, path).incremental


def test_report_of_a_warehouse_without_build_manifest_renders_every_page(staged: Path, tmp_path: Path):
    path = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, path)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE _build_manifest")  # as in a shareable copy or an older warehouse
    for _ in range(2):
        assert build_report(path, tmp_path / "reports").pages_written == 1
