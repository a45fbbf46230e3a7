"""The main job end to end: raw files -> Dagster runs -> a DuckDB warehouse in a temporary folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from fms_pipeline import cli, warehouse
from fms_pipeline_tests.test_parsing import EXPECTED_AUTHORS


def table_digest(path: Path) -> dict[str, str]:
    with warehouse.connect_read_only(path) as con:
        digests = {}
        for table in ("documents", "comments", "entity_mentions", "entity_counts", "drug_condition_pairs"):
            rows = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return digests


@pytest.fixture
def built(data_dir: Path, dagster_home: Path, capsys) -> Path:
    assert cli.materialize(data_dir) == 0
    return data_dir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def built_once(sample_run) -> Iterator[tuple[Path, str]]:
    """The session's one main-job run over the sample (conftest's ``sample_run``), shared by the tests
    that only read what it made: (the warehouse, what the run printed). DAGSTER_HOME is its instance
    while the module runs."""
    from fms_pipeline_tests.materialized import dagster_home_env

    with dagster_home_env(sample_run.dagster_home):
        yield sample_run.data_dir / "warehouse.duckdb", sample_run.output


def test_main_job_builds_the_warehouse(built_once):
    built, out = built_once
    assert "comments               19  (10 with an author name)" in out
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*), sum(comment_count) FROM documents").fetchall() == [(1, 19)]
        authors = dict(con.execute("SELECT position, author FROM comments WHERE author IS NOT NULL").fetchall())
        assert authors == EXPECTED_AUTHORS
        assert con.execute("SELECT min(position), max(position), count(*) FROM comments").fetchall() == [(1, 19, 19)]
        canon = set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
        for expected in [("DRUG", "oxycodone"), ("DRUG", "lorazepam"), ("DRUG", "gabapentin"), ("DRUG", "prednisone"),
                         ("DRUG", "methadone"), ("CONDITION", "fibromyalgia"), ("CONDITION", "atrial fibrillation"),
                         ("DRUG_CLASS", "opioid"), ("ORG", "national institutes of health"), ("ORG", "medscape")]:
            assert expected in canon
        # Mentions in the article body have no comment; in comments they point at their comment.
        article, in_comments = con.execute(
            "SELECT count(*) FILTER (comment_id IS NULL), count(*) FILTER (comment_id IS NOT NULL) FROM entity_mentions"
        ).fetchall()[0]
        assert article > 10 and in_comments > 100
        assert con.execute(
            "SELECT comment_id FROM entity_mentions WHERE text = 'Neurotin'").fetchall()[0][0].endswith(":c18")


def test_outcomes_sentiment_and_drugs_reach_the_warehouse(built_once):
    built, _ = built_once
    with warehouse.connect_read_only(built) as con:
        outcomes = set(con.execute("SELECT drug, outcome FROM drug_outcomes").fetchall())
        assert {("methadone", "access_loss"), ("lorazepam", "access_loss"), ("opioid", "effective"),
                ("opioid", "ineffective")} <= outcomes
        # drug_outcomes counts only asserted outcomes.
        assert con.execute("""
            SELECT count(*) FROM outcome_mentions
            WHERE drug IS NOT NULL AND NOT negated AND NOT hypothetical""").fetchall()[0][0] == \
            con.execute("SELECT sum(mentions) FROM drug_outcomes").fetchall()[0][0]
        assert con.execute("SELECT count(*) FROM comments WHERE sentiment IS NULL").fetchall()[0][0] == 0
        # Comment 11 ("NO PAIN MEDS WORK ON ME ANYMORE ...", can barely walk): its tone reads negative.
        assert con.execute("SELECT tone FROM comments WHERE position = 11").fetchall()[0][0] < 0
        assert con.execute("SELECT count(*) FROM sentences WHERE sentiment NOT BETWEEN -1 AND 1 "
                           "OR tone NOT BETWEEN -1 AND 1").fetchall()[0][0] == 0
        drugs = {r[0]: r[1:] for r in con.execute("SELECT drug, drug_class, drugbank_id FROM drugs").fetchall()}
        assert drugs["gabapentin"] == ("gabapentinoid", "DB00996") and drugs["oxycodone"][0] == "opioid"
        assert con.execute("SELECT count(*) FROM drug_sentiment WHERE mean_sentiment BETWEEN -1 AND 1").fetchall()[0][0] >= 10
        # Negated and hypothetical mentions stay in entity_mentions but not in drug_condition_pairs.
        negated = con.execute("SELECT count(*) FROM entity_mentions WHERE negated OR hypothetical").fetchall()[0][0]
        assert negated > 0
        pairs_from_all = con.execute("""
            SELECT count(*) FROM (SELECT DISTINCT d.comment_id, d.canonical, c.canonical FROM entity_mentions d
            JOIN entity_mentions c USING (comment_id)
            WHERE d.label IN ('DRUG', 'DRUG_CLASS') AND c.label = 'CONDITION')""").fetchall()[0][0]
        assert con.execute("SELECT sum(comments) FROM drug_condition_pairs").fetchall()[0][0] < pairs_from_all
        people = {r[0] for r in con.execute("SELECT canonical FROM entity_mentions WHERE label = 'PERSON'").fetchall()}
        assert "dr. ginevra liptan" in people


def test_runs_are_recorded_per_batch_partition(built_once):
    from fms_pipeline import staging

    bucket = staging.bucket_of("duke-stanford-opioid-fibromyalgia-study.txt")
    with dg.DagsterInstance.get() as instance:
        for key in (["source_files"], ["parsed_comments"], ["extracted_mentions"]):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == {bucket}
        event = instance.get_latest_materialization_event(dg.AssetKey(["parsed_comments"]))
        assert event.asset_materialization.metadata["dagster/row_count"].value == 19  # what the partition holds
        assert instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "drug_condition_pairs"]))


def test_dagster_events_per_run_do_not_grow_with_the_number_of_files(sample_built: Path, data_dir: Path,
                                                                      dagster_home: Path):
    """One file or sixty files: the same partitions, so about the same number of Dagster events."""
    def events_of_processing_run() -> tuple[int, int]:
        with dg.DagsterInstance.get() as instance:
            [run] = [r for r in instance.get_runs(limit=5) if r.job_name == "process_files"][:1]
            return len(instance.all_logs(run.run_id)), len(run.tags)

    one_file, _ = events_of_processing_run()  # the first run, over the sample alone (sample_built's copy)
    for n in range(80):
        (data_dir / "raw" / f"post-{n:03d}.txt").write_text(
            f"Post {n}\n\nI take gabapentin for fibro, day {n}.\n\nNotify of\nKim {n}\n\nLyrica helped me.\n")
    files = len(list((data_dir / "raw").iterdir()))
    assert cli.materialize(data_dir) == 0
    many_files, _ = events_of_processing_run()
    # Each run covers the buckets from the first to the last with work: at most 32 partitions.
    assert many_files < 12 * 32 and many_files < one_file * 12
    staged = list((data_dir / "staging" / "comments").glob("*.parquet"))
    assert len(staged) <= 32 < files  # one staged file per batch and table, not per raw file


def test_rerun_is_idempotent_and_changes_replace_rows(built: Path, data_dir: Path, capsys):
    first = table_digest(built)
    capsys.readouterr()
    assert cli.materialize(data_dir) == 0
    assert "nothing to do: the warehouse is up to date" in capsys.readouterr().out  # no run at all
    assert table_digest(built) == first
    # A run killed after publishing the warehouse but before the report: the next one renders it.
    report = data_dir / "reports" / "report.html"
    report.unlink()
    assert cli.materialize(data_dir) == 0
    assert "nothing to do" not in capsys.readouterr().out and report.exists()
    assert cli.materialize(data_dir, full=True) == 0
    assert "1 to process in 1 batch(es)" in capsys.readouterr().out
    assert table_digest(built) == first
    # Touched but not changed: the content hash says so, nothing is parsed again.
    os.utime(data_dir / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt")
    assert cli.materialize(data_dir) == 0
    assert "1 changed" in capsys.readouterr().out
    assert table_digest(built) == first

    # A new file is added; then changed; then deleted: rows follow the file, never accumulate.
    extra = data_dir / "raw" / "O'Brien's \"story\" ü....txt"
    extra.write_text("A post\n\nI take Tramadol for fibro.\n\nNotify of\nKim\n\nMethadone helped me.\n", encoding="utf-8")
    assert cli.materialize(data_dir) == 0
    assert "1 new, 0 changed, 0 deleted" in capsys.readouterr().out
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 20
        assert con.execute("SELECT author FROM comments JOIN documents USING (document_id) WHERE source_file = ?",
                           [extra.name]).fetchall() == [("Kim",)]
        assert ("DRUG", "tramadol") in set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
    # Same size and modification time as before, other words: still seen (ctime, then the content hash).
    stat = extra.stat()
    extra.write_text("A post\n\nI take Tramadol for fibro.\n\nNotify of\nKim\n\nMorphine helped me.\n", encoding="utf-8")
    os.utime(extra, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cli.materialize(data_dir) == 0
    with warehouse.connect_read_only(built) as con:
        assert ("DRUG", "morphine") in set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
    extra.write_text("A post\n\nNo drugs here.\n\nNotify of\nKim\n\nNothing helped.\n\n\nMe neither.\n", encoding="utf-8")
    assert cli.materialize(data_dir) == 0
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 21
        assert ("DRUG", "tramadol") not in set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
    extra.unlink()
    assert cli.materialize(data_dir) == 0
    assert "0 new, 0 changed, 1 deleted" in capsys.readouterr().out
    assert table_digest(built) == first


def test_bad_file_is_set_aside_and_good_data_stay(sample_built: Path, data_dir: Path, capsys):
    built = data_dir / "warehouse.duckdb"
    (data_dir / "raw" / "broken.bin").write_bytes(b"\x00\x01binary")
    (data_dir / "raw" / "blank.txt").write_text("  \n\n")
    assert cli.materialize(data_dir) == 0  # bad input is recorded, it does not fail the run
    out = capsys.readouterr().out
    assert "broken.bin: " in out and "blank.txt: " in out
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
        reasons = dict(con.execute("SELECT source_file, reason FROM rejected_files").fetchall())
        assert set(reasons) == {"broken.bin", "blank.txt"} and all(reasons.values())
        assert con.execute("SELECT source_file, status FROM source_files ORDER BY 1").fetchall() == [
            ("blank.txt", "rejected"), ("broken.bin", "rejected"),
            ("duke-stanford-opioid-fibromyalgia-study.txt", "staged")]


def test_ready_queries_run_through_the_query_command(built_once, capsys):
    data_dir = built_once[0].parent
    queries = sorted((Path(__file__).resolve().parents[1] / "queries").glob("*.sql"))
    assert queries
    for query in queries:
        assert cli.main(["--data-dir", str(data_dir), "query", f"@{query}"]) == 0
    out = capsys.readouterr().out
    assert "methadone" in out.lower() and "opioid" in out
    assert cli.main(["--data-dir", str(data_dir), "query", "DROP TABLE comments"]) == 1  # read-only


def test_html_report_matches_the_warehouse(built_once):
    built = built_once[0]
    data_dir = built.parent
    import re

    report = (data_dir / "reports" / "report.html").read_text(encoding="utf-8")
    shown = {name: int(value) for value, name in re.findall(r'<div data-name="[^"]+"><b>(\d+)</b>([^<]+)</div>', report)}
    with warehouse.connect_read_only(built) as con:
        assert shown["comments"] == con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
        assert shown["entity mentions"] == con.execute("SELECT count(*) FROM entity_mentions").fetchall()[0][0]
        assert shown["outcome mentions"] == con.execute("SELECT count(*) FROM outcome_mentions").fetchall()[0][0]
        document_id = con.execute("SELECT document_id FROM documents").fetchall()[0][0]
    assert shown["named authors"] == 10 and shown["documents"] == 1
    assert report.count("data:image/png;base64,") >= 4  # charts are inlined: the report works offline
    page = (data_dir / "reports" / "documents" / f"{document_id}.html").read_text(encoding="utf-8")
    assert '<mark class="drug" title="DRUG: gabapentin">Neurotin</mark>' in page
    assert page.count('class="comment" id="c') == 19 and "Hayden Hamby Jr." in page
