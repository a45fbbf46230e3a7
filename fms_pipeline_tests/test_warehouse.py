"""The warehouse build from staging: contract, checks, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from fms_pipeline import processing, staging, warehouse

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
