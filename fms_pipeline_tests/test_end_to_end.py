"""The main job end to end: raw files -> Dagster runs -> a DuckDB warehouse in a temporary folder."""

from __future__ import annotations

import hashlib
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


def test_main_job_builds_the_warehouse(built: Path, capsys):
    out = capsys.readouterr().out
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


def test_outcomes_sentiment_and_drugs_reach_the_warehouse(built: Path):
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
        assert con.execute("SELECT sentiment FROM comments WHERE position = 11").fetchall()[0][0] < 0
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


def test_runs_are_recorded_per_file_partition(built: Path):
    with dg.DagsterInstance.get() as instance:
        for key in (["raw_documents"], ["parsed_comments"], ["extracted_mentions"]):
            partitions = instance.get_materialized_partitions(dg.AssetKey(key))
            assert partitions == {"duke-stanford-opioid-fibromyalgia-study.txt"}
        assert instance.get_latest_materialization_event(dg.AssetKey(["warehouse", "drug_condition_pairs"]))


def test_rerun_is_idempotent_and_changes_replace_rows(built: Path, data_dir: Path, capsys):
    first = table_digest(built)
    capsys.readouterr()
    assert cli.materialize(data_dir) == 0
    assert "0 to process, 1 unchanged" in capsys.readouterr().out  # nothing changed: no NLP run
    assert table_digest(built) == first
    assert cli.materialize(data_dir, full=True) == 0
    assert "1 to process, 0 unchanged" in capsys.readouterr().out
    assert table_digest(built) == first

    # A new file is added; then changed; then deleted: rows follow the file, never accumulate.
    extra = data_dir / "raw" / "O'Brien's \"story\" ü.txt"
    extra.write_text("A post\n\nI take Tramadol for fibro.\n\nNotify of\nKim\n\nMethadone helped me.\n", encoding="utf-8")
    assert cli.materialize(data_dir) == 0
    assert "1 new, 0 deleted, 1 to process, 1 unchanged" in capsys.readouterr().out
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 20
        assert con.execute("SELECT author FROM comments JOIN documents USING (document_id) WHERE source_file = ?",
                           [extra.name]).fetchall() == [("Kim",)]
        assert ("DRUG", "tramadol") in set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
    extra.write_text("A post\n\nNo drugs here.\n\nNotify of\nKim\n\nNothing helped.\n\n\nMe neither.\n", encoding="utf-8")
    assert cli.materialize(data_dir) == 0
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 21
        assert ("DRUG", "tramadol") not in set(con.execute("SELECT label, canonical FROM entity_counts").fetchall())
    extra.unlink()
    assert cli.materialize(data_dir) == 0
    assert table_digest(built) == first


def test_bad_file_is_set_aside_and_good_data_stay(built: Path, data_dir: Path, capsys):
    (data_dir / "raw" / "broken.bin").write_bytes(b"\x00\x01binary")
    (data_dir / "raw" / "blank.txt").write_text("  \n\n")
    assert cli.materialize(data_dir) == 0
    out = capsys.readouterr().out
    assert "broken.bin: binary file: it contains NUL bytes" in out
    with warehouse.connect_read_only(built) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
        assert dict(con.execute("SELECT source_file, reason FROM rejected_files").fetchall()) == {
            "broken.bin": "binary file: it contains NUL bytes",
            "blank.txt": "the file is empty or holds only white space",
        }


def test_a_single_file_run_fails_its_partition_with_the_reason(data_dir: Path, dagster_home: Path):
    from fms_pipeline.definitions import build_definitions

    (data_dir / "raw" / "broken.bin").write_bytes(b"\x00binary")
    defs = build_definitions(str(data_dir))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("raw_files", ["broken.bin"])
        result = defs.resolve_job_def("process_files").execute_in_process(
            instance=instance, partition_key="broken.bin", raise_on_error=False
        )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "Rejected broken.bin: binary file: it contains NUL bytes" in failure.event_specific_data.error.message


def test_ready_queries_run_through_the_query_command(built: Path, data_dir: Path, capsys):
    queries = sorted((Path(__file__).resolve().parents[1] / "queries").glob("*.sql"))
    assert queries
    for query in queries:
        assert cli.main(["--data-dir", str(data_dir), "query", f"@{query}"]) == 0
    out = capsys.readouterr().out
    assert "methadone" in out.lower() and "opioid" in out
    assert cli.main(["--data-dir", str(data_dir), "query", "DROP TABLE comments"]) == 1  # read-only


def test_html_report_matches_the_warehouse(built: Path, data_dir: Path):
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
