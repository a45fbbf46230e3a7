"""One file of every source format plus the sample page through ONE ``fms-pipeline materialize``.

Per format: the documents, the comments (authors, dates, parents, depths) and the drugs and
fibromyalgia mentions each fixture holds, as read off the fixture files by hand (see
fixtures/sources/); and the sample gives what it gives alone.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from fms_pipeline import ids, warehouse
from fms_pipeline_tests.conftest import SAMPLE, stage_folder
from fms_pipeline_tests.materialized import dagster_home_env, latest_metadata, materialize_folder, raw_folder
from fms_pipeline_tests.test_parsing import EXPECTED_AUTHORS
from fms_pipeline_tests.test_sources import FIXTURES, _zst


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Doc:
    key: str | None  # the source's id (None: the file is one page)
    title: str | None
    community: str | None
    published_at: datetime | None
    article_drugs: set[str]
    # (depth, parent position, author, published_at, body start, drugs named in it)
    comments: list[tuple] = field(default_factory=list)


@dataclass
class Fixture:
    source: str  # the fixture file (or, for the dump, the file compressed into raw_name)
    source_format: str
    skipped_records: int
    documents: list[Doc]
    reason: str | None = None  # source_files.reason: why records were skipped


EXPECTED: dict[str, Fixture] = {
    "html_wordpress_comments.html": Fixture("html_wordpress_comments.html", "html", 0, [
        Doc(None, "Why I stopped tramadol", "softjoints.example.org", utc(2024, 2, 5, 16, 20),
            {"tramadol", "amitriptyline"}, [
                (1, None, "Lena Ortiz", utc(2024, 2, 6, 9, 14), "The interaction with antidepressants",
                 {"tramadol", "gabapentin"}),
                (2, 1, "Iris Calder", utc(2024, 3, 1, 18, 2), "Thank you Lena. Did gabapentin", {"gabapentin"}),
                # The pingback between them is not a comment.
                (1, None, "Anonymous", utc(2024, 4, 10, 7, 30), "My rheumatologist wanted me on oxycodone",
                 {"oxycodone"}),
            ])]),
    "wordpress_post.json": Fixture("wordpress_post.json", "wordpress_json", 0, [
        Doc("318", "Living with fibromyalgia in winter – what helped me", "painjournal.example.org",
            utc(2024, 1, 15, 14, 30), {"gabapentin"}, [
                (1, None, "Ruth P.", utc(2024, 2, 10, 13, 15), "Lyrica helped my fibromyalgia",
                 {"pregabalin", "gabapentin"}),
                (2, 1, "Maren Holt", utc(2024, 3, 2, 16), "Thank you Ruth – I will ask about Lyrica", {"pregabalin"}),
                # Spam, held and pingback comments are left out.
                (1, None, "Anonymous", utc(2024, 2, 21, 0, 40), "Tramadol made me nauseous", {"tramadol"}),
            ])]),
    "wordpress_export.xml": Fixture("wordpress_export.xml", "wordpress_wxr", 0, [
        Doc("41", "Three months on Lyrica", "flarenotes.example.net", utc(2024, 1, 8, 15), {"pregabalin"}, [
            (1, None, "Bea", utc(2024, 2, 3, 14, 12), "Gabapentin gave me the same swelling", {"gabapentin"}),
            (2, 1, "Tessa Marsh", utc(2024, 3, 1, 13), "Thank you, I will ask about a lower dose of Lyrica",
             {"pregabalin"}),
            (1, None, "Do not print my name", utc(2024, 4, 13, 0, 30), "Tramadol and Lyrica together",
             {"tramadol", "pregabalin"}),
        ]),
        # The page without comments; the draft is left out.
        Doc("2", "About this blog", "flarenotes.example.net", utc(2023, 12, 31, 12), set()),
    ]),
    "disqus_export.xml": Fixture("disqus_export.xml", "disqus_xml", 0, [
        # The deleted thread and its post, the deleted post and the spam post are left out.
        Doc("8800112233", "When the clinic cut my oxycodone", "painpost.example.com", utc(2024, 1, 20, 18), set(), [
            (1, None, "June Alder", utc(2024, 1, 21, 9, 30), "My clinic tapered my oxycodone", {"oxycodone"}),
            (2, 1, "Guest", utc(2024, 2, 11, 14), "Same here. I was switched to tramadol", {"tramadol"}),
            (3, 2, "June Alder", utc(2024, 4, 5, 7, 45), "Lyrica at night", {"pregabalin"}),
            # Its parent was deleted: top level.
            (1, None, "Nora B", utc(2024, 3, 15, 12), "Replying to a comment that was deleted", {"gabapentin"}),
        ])]),
    "reddit_thread.json": Fixture("reddit_thread.json", "reddit_json", 0, [
        Doc("1a2b3c", "Gabapentin vs Lyrica for fibro nerve pain?", "Fibromyalgia", utc(2024, 1, 10, 12),
            {"gabapentin", "pregabalin"}, [
                (1, None, "mossy_fern", utc(2024, 2, 14, 12), "Lyrica worked better for me than gabapentin",
                 {"pregabalin", "gabapentin"}),
                (2, 1, "spoonie_dana", utc(2024, 3, 5, 12), "How much weight", set()),
                (3, 2, "mossy_fern", utc(2024, 4, 2, 12), "About ten pounds over a year", set()),
                # Its parent's body was removed: top level. "more" stubs are not comments.
                (1, None, "quiet_owl", utc(2024, 2, 16, 12), "Tramadol never did anything", {"tramadol"}),
                (1, None, None, datetime.fromtimestamp(1711000000, UTC), "Low dose naltrexone is worth asking",
                 {"low-dose naltrexone"}),
            ])]),
    "RC_2024-01.zst": Fixture("reddit_dump.ndjson", "reddit_ndjson", 1, [  # line 5 is not valid JSON
        Doc("2d4e6f", "Tapered off oxycodone after 6 years", "ChronicPain", utc(2024, 1, 23, 12),
            {"oxycodone", "tramadol"}, [
                (1, None, "nerve_nell", utc(2024, 1, 29, 12), "Good for you. Did the tramadol", {"tramadol"}),
                (2, 1, "heat_pad_hero", utc(2024, 2, 6, 12), "Same. Oxycodone only took", {"oxycodone"}),
                (1, None, "orphaned_reply", utc(2024, 3, 7, 12), "Replying to a comment the dump does not hold",
                 set()),
                # The [removed] comment is left out; the date in 2100 is NULL.
                (1, None, "time_traveller", None, "A comment dated in 2100", set()),
            ]),
        # Its submission is not in the dump: a placeholder document.
        Doc("9z9z9z", None, None, None, set(), [
            (1, None, "fibro_fran", utc(2024, 4, 4, 12), "Lyrica gave me my sleep back", {"pregabalin"}),
        ]),
    ], reason="1 record(s) skipped, the rest kept; first: line 5: not valid JSON: Expecting ',' delimiter"),
}
FIBROMYALGIA = re.compile(r"\b(fibromyalgia|fibro)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def formats_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    raw = raw_folder(root, SAMPLE)
    for raw_name, fixture in EXPECTED.items():
        if raw_name.endswith(".zst"):
            _zst((FIXTURES / fixture.source).read_bytes(), raw, raw_name)
        else:
            shutil.copy(FIXTURES / fixture.source, raw / raw_name)
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


def test_every_format_is_detected_and_staged(formats_warehouse: Path):
    with warehouse.connect_read_only(formats_warehouse) as con:
        files = {r[0]: r[1:] for r in con.execute(
            "SELECT source_file, source_format, status, reason, documents, comments, skipped_records FROM source_files"
        ).fetchall()}
    expected = {name: (f.source_format, "staged", f.reason, len(f.documents), sum(len(d.comments) for d in f.documents),
                       f.skipped_records) for name, f in EXPECTED.items()}
    expected[SAMPLE.name] = ("text", "staged", None, 1, 19, 0)
    assert files == expected


@pytest.mark.parametrize("raw_name", list(EXPECTED))
def test_documents_comments_and_mentions_of_each_format(formats_warehouse: Path, raw_name: str):
    fixture = EXPECTED[raw_name]
    with warehouse.connect_read_only(formats_warehouse) as con:
        documents = con.execute(
            "SELECT document_id, source_format, title, community, published_at, comment_count FROM documents "
            "WHERE source_file = ? ORDER BY document_id", [raw_name]).fetchall()
        assert sorted(documents) == sorted(
            (ids.document_id(raw_name, d.key), fixture.source_format, d.title, d.community, d.published_at,
             len(d.comments))
            for d in fixture.documents), raw_name
        for doc in fixture.documents:
            document_id = ids.document_id(raw_name, doc.key)
            rows = con.execute("""
                SELECT c.comment_id, c.position, c.depth, p.position, c.author, c.published_at, c.body
                FROM comments AS c LEFT JOIN comments AS p ON p.comment_id = c.parent_comment_id
                WHERE c.document_id = ? ORDER BY c.position""", [document_id]).fetchall()
            drugs = _names(con, document_id, "DRUG")
            conditions = _names(con, document_id, "CONDITION")
            got = [(depth, parent, author, published, body[:len(expected[4])], drugs.get(comment_id, set()))
                   for (comment_id, _, depth, parent, author, published, body), expected in zip(rows, doc.comments)]
            assert [r[1] for r in rows] == list(range(1, len(rows) + 1)), (raw_name, doc.key)
            assert got == doc.comments and len(rows) == len(doc.comments), (raw_name, doc.key)
            assert drugs.get(None, set()) == doc.article_drugs, (raw_name, doc.key, "article")
            # Fibromyalgia is found wherever the fixture writes it (fibro, FIBROMYALGIA, ...), and only there.
            article = con.execute("SELECT body FROM documents WHERE document_id = ?", [document_id]).fetchall()[0][0]
            written = {cid for cid, *_, body in rows if FIBROMYALGIA.search(body)} | (
                {None} if FIBROMYALGIA.search(article) else set())
            assert {k for k, names in conditions.items() if "fibromyalgia" in names} == written, (raw_name, doc.key)


def _names(con: duckdb.DuckDBPyConnection, document_id: str, label: str) -> dict[str | None, set[str]]:
    """comment_id (None: the article) -> canonicals of the label found there."""
    found: dict[str | None, set[str]] = {}
    for comment_id, canonical in con.execute(
            "SELECT comment_id, canonical FROM entity_mentions WHERE document_id = ? AND label = ?",
            [document_id, label]).fetchall():
        found.setdefault(comment_id, set()).add(canonical)
    return found


def test_the_sample_gives_what_it_gives_alone(formats_warehouse: Path, tmp_path: Path):
    alone = tmp_path / "data"
    (alone / "raw").mkdir(parents=True)
    shutil.copy(SAMPLE, alone / "raw" / SAMPLE.name)
    staging = stage_folder(alone)
    staged_mentions = pl.read_parquet(staging / "entity_mentions" / "*.parquet")
    staged_comments = pl.read_parquet(staging / "comments" / "*.parquet")
    document_id = ids.document_id(SAMPLE.name)
    with warehouse.connect_read_only(formats_warehouse) as con:
        authors = dict(con.execute("SELECT position, author FROM comments WHERE document_id = ? AND author IS NOT NULL",
                                   [document_id]).fetchall())
        comments = con.execute("SELECT comment_id, position, depth, parent_comment_id, author, body, published_at "
                               "FROM comments WHERE document_id = ? ORDER BY position", [document_id]).fetchall()
        mentions = con.execute(
            "SELECT comment_id, label, canonical, start_char, end_char, negated, hypothetical, historical, experiencer "
            "FROM entity_mentions WHERE document_id = ?", [document_id]).fetchall()
    assert len(comments) == 19 and len(authors) == 10 and authors == EXPECTED_AUTHORS
    columns = ("comment_id", "position", "depth", "parent_comment_id", "author", "body", "published_at")
    assert comments == staged_comments.select(columns).sort("position").rows()
    assert _sorted(mentions) == _sorted(staged_mentions.select(
        "comment_id", "label", "canonical", "start_char", "end_char", "negated", "hypothetical", "historical",
        "experiencer").rows())
    assert len(mentions) > 150


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((value is None, value) for value in row))


def test_trend_charts_show_for_the_dated_formats(formats_warehouse: Path):
    with warehouse.connect_read_only(formats_warehouse) as con:
        months = {r[0] for r in con.execute("SELECT DISTINCT month FROM mentions_by_month").fetchall()}
    assert {m.strftime("%Y-%m") for m in months} == {"2023-12", "2024-01", "2024-02", "2024-03", "2024-04"}
    for asset in ("mentions_by_month", "drug_outcomes_by_month"):
        assert "data:image/png;base64," in latest_metadata(["warehouse", asset])["chart"].value, asset
