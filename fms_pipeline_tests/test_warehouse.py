"""The warehouse build from staging: contract, checks, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from fms_pipeline import ids, staging, warehouse
from fms_pipeline_tests.conftest import stage_folder
from fms_pipeline.reports import report as report_module
from fms_pipeline.reports.report import build_report

CONTRACT = {
    "source_files": ["source_file", "bucket", "status", "reason", "source_format", "documents", "comments",
                     "skipped_records"],
    "documents": ["document_id", "source_file", "source_format", "url", "community", "published_at", "title", "byline",
                  "body", "comment_count"],
    "comments": ["comment_id", "document_id", "position", "parent_comment_id", "depth", "author", "body"],
    "entity_mentions": ["mention_id", "document_id", "comment_id", "label", "text", "canonical", "start_char", "end_char",
                        "sentence", "negated", "hypothetical", "historical", "experiencer", "icd10_code"],
    "entity_counts": ["label", "canonical", "mentions", "comments", "documents"],
    "drug_condition_pairs": ["drug", "condition", "comments", "documents"],
    "rejected_files": ["source_file", "reason", "seen_at"],
    "drug_outcomes": ["drug", "outcome", "mentions", "comments", "documents"],
    "drug_sentiment": ["drug", "mentions", "mean_sentiment"],
    "drugs": ["drug", "drug_class", "drugbank_id", "mesh_id", "ingredients"],
    "conditions": ["condition", "icd10_code", "icd10_description", "mentions", "comments"],
}


@pytest.fixture
def staged(data_dir: Path, nlp) -> Path:
    return stage_folder(data_dir)


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
    [bucket] = {p.stem.removeprefix("bucket-") for p in staging.staged_files(staged, "comments")}
    staging.write_bucket(staged, "comments", bucket, corrupt(staging.read_bucket(staged, "comments", bucket)))
    with pytest.raises(warehouse.WarehouseCheckFailed) as failed:
        warehouse.build_warehouse(staged, target)
    assert failing_check in failed.value.failures
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".w.duckdb.building*"))


@pytest.fixture(scope="module")
def staged_batches(tmp_path_factory, nlp) -> Path:
    """A data folder of a small generated corpus staged in several batches, built once: one batch
    changed is then built incrementally."""
    from benchmarks.corpus import write_corpus

    data_dir = tmp_path_factory.mktemp("batches")
    write_corpus(data_dir / "raw", 8_000)
    stage_folder(data_dir)
    warehouse.build_warehouse(data_dir / "staging", data_dir / "w.duckdb")
    return data_dir


@pytest.fixture
def batches(staged_batches: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(staged_batches, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _batch_of_other_documents(data_dir: Path) -> tuple[str, pl.DataFrame, str]:
    """(a batch with comments, its comments, a document of another batch)."""
    buckets = sorted(p.stem.removeprefix("bucket-") for p in staging.staged_files(data_dir / "staging", "comments"))
    assert len(buckets) >= 3, "the incremental build needs at most half the batches changed"
    comments = staging.read_bucket(data_dir / "staging", "comments", buckets[0])
    other = staging.read_bucket(data_dir / "staging", "documents", buckets[1])["document_id"][0]
    return buckets[0], comments, other


def test_an_incremental_build_checks_only_the_documents_it_loads(batches: Path, monkeypatch):
    """The checks are per-document invariants: an incremental build runs them on the replaced and
    loaded documents only (a document left as it was passed them when it was loaded)."""
    target = batches / "w.duckdb"
    bucket, comments, other = _batch_of_other_documents(batches)
    with duckdb.connect(str(target)) as con:  # a row no check looks at again: its document is not reloaded
        con.execute("UPDATE comments SET body = '' WHERE document_id = ?", [other])
    staging.write_bucket(batches / "staging", "comments", bucket,
                         comments.with_columns(pl.lit("someone else").alias("author")))
    summary = warehouse.build_warehouse(batches / "staging", target)
    assert summary.incremental and other not in summary.documents_changed
    with warehouse.connect_read_only(target) as con:
        assert con.execute("SELECT count(*) FROM comments WHERE author = 'someone else'").fetchall()[0][0] == len(comments)
        # the check of every document finds the row
        assert warehouse.run_checks(con, ["comment_bodies_not_empty"])["comment_bodies_not_empty"]


@pytest.mark.parametrize(
    ("corrupt", "failing_check"),
    [
        (lambda df, _: df.with_columns(pl.when(pl.col("position") == 2).then(7).otherwise(pl.col("position"))
                                       .alias("position")), "comment_positions_contiguous"),
        (lambda df, _: df.with_columns(pl.when(pl.col("position") == 1).then(pl.lit(" ")).otherwise(pl.col("body"))
                                       .alias("body")), "comment_bodies_not_empty"),
        (lambda df, _: df.with_columns(pl.lit("no-such-document").alias("document_id")), "comments_belong_to_documents"),
        # a comment moved to a document of a batch that is not loaded again
        (lambda df, other: df.with_columns(pl.when(pl.col("position") == 1).then(pl.lit(other))
                                           .otherwise(pl.col("document_id")).alias("document_id")),
         "comment_positions_contiguous"),
        (lambda df, _: df.with_columns(pl.col("body").str.slice(0, 3)), "spans_inside_text"),
    ],
)
def test_an_incremental_build_checks_the_batch_it_loads(batches: Path, monkeypatch, corrupt, failing_check):
    target = batches / "w.duckdb"
    before = target.read_bytes()
    scoped = []
    original = warehouse._checked_documents
    monkeypatch.setattr(warehouse, "_checked_documents", lambda con: scoped.append(con) or original(con))
    bucket, comments, other = _batch_of_other_documents(batches)
    staging.write_bucket(batches / "staging", "comments", bucket, corrupt(comments, other))
    with pytest.raises(warehouse.WarehouseCheckFailed) as failed:
        warehouse.build_warehouse(batches / "staging", target)
    assert scoped and failing_check in failed.value.failures
    assert target.read_bytes() == before


def test_mention_offsets_check(staged: Path):
    [bucket] = {p.stem.removeprefix("bucket-") for p in staging.staged_files(staged, "entity_mentions")}
    mentions = staging.read_bucket(staged, "entity_mentions", bucket)
    staging.write_bucket(staged, "entity_mentions", bucket, mentions.with_columns(pl.col("end_char") + 100000))
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


def test_incremental_build_equals_a_full_build(tmp_path: Path, nlp, monkeypatch):
    from benchmarks.corpus import write_corpus

    raw_dir, staging_dir = tmp_path / "raw", tmp_path / "staging"
    files, _ = write_corpus(raw_dir, 60_000)  # ~25 files, so 3 changes stay under the incremental share
    names = sorted(p.name for p in raw_dir.iterdir())
    stage_folder(tmp_path)
    incremental_path = tmp_path / "incremental.duckdb"
    first = warehouse.build_warehouse(staging_dir, incremental_path)
    assert not first.incremental and first.row_counts["documents"] == files
    report_dir = tmp_path / "reports"
    assert build_report(incremental_path, report_dir).pages_written == files
    # Pages rendered by worker processes are the pages this process renders.
    monkeypatch.setattr(report_module, "PAGES_PER_WORKER_MIN", 5)
    by_workers = build_report(incremental_path, tmp_path / "reports-by-workers", n_workers=2)
    assert by_workers.pages_written == files
    written = {p.relative_to(report_dir): p.read_bytes() for p in report_dir.rglob("*") if p.is_file()}
    assert len(written) == files + 2 and written == {
        p.relative_to(by_workers.path.parent): p.read_bytes() for p in by_workers.path.parent.rglob("*") if p.is_file()}
    # Pages rendered from smaller query groups (a text limit that puts every document alone; 3 a query)
    # are the same pages; the groups keep the documents' order and the limits.
    for per_query, text in ((3, 10**9), (4000, 1)):
        monkeypatch.setattr(report_module, "PAGES_PER_QUERY", per_query)
        monkeypatch.setattr(report_module, "PAGE_TEXT_PER_QUERY", text)
        grouped = build_report(incremental_path, tmp_path / f"reports-{per_query}-{text}")
        assert {p.relative_to(grouped.path.parent): p.read_bytes()
                for p in grouped.path.parent.rglob("*") if p.is_file()} == written
        with warehouse.connect_read_only(incremental_path) as con:
            ids_ = [r[0] for r in con.execute("SELECT document_id FROM documents ORDER BY 1").fetchall()]
            groups = report_module._query_groups(con, ids_)
        assert [d for g in groups for d in g] == ids_
        assert max(map(len, groups)) == (3 if per_query == 3 else 1)
    monkeypatch.undo()

    # One file rewritten, one deleted, one added.
    changed, deleted = names[1], names[2]
    (raw_dir / changed).write_text((raw_dir / names[3]).read_text(encoding="utf-8"), encoding="utf-8")
    (raw_dir / deleted).unlink()
    write_corpus(raw_dir, 1, seed=99, start=files)
    [added] = sorted({p.name for p in raw_dir.iterdir()} - set(names))
    stage_folder(tmp_path)

    second = warehouse.build_warehouse(staging_dir, incremental_path)
    assert second.incremental and len(second.buckets_changed) <= 3
    # Only the changed batches' documents are loaded again.
    assert {ids.document_id(changed), ids.document_id(added)} <= set(second.documents_changed)
    assert len(second.documents_changed) < files / 2
    assert second.documents_removed == [ids.document_id(deleted)]
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
    assert report.pages_written == 2 and report.document_pages == files  # the changed and the added page
    pages = {p.stem for p in (report_dir / "documents").glob("*.html")}
    assert ids.document_id(deleted) not in pages and set(second.documents_changed) <= pages
    page = (report_dir / "documents" / f"{ids.document_id(changed)}.html").read_text(encoding="utf-8")
    assert page == build_report(tmp_path / "full.duckdb", tmp_path / "full-report").path.with_name("documents").joinpath(
        f"{ids.document_id(changed)}.html").read_text(encoding="utf-8")

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
        con.execute("DROP VIEW _build_manifest")  # as in a shareable copy or an older warehouse
    for _ in range(2):
        assert build_report(path, tmp_path / "reports").pages_written == 1
