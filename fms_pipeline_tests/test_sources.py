"""Source formats (fms_pipeline/parsing/sources/) and thread assembly (fms_pipeline/parsing/threads.py)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import zstandard

from fms_pipeline import ids
from fms_pipeline.parsing.decode import decode_page
from fms_pipeline.parsing.sources import (
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    detect_format,
    read_source,
)
from fms_pipeline.parsing.sources.common import html_to_text, parse_timestamp
from fms_pipeline.parsing.thread_format import is_anonymous_author, parse_page
from fms_pipeline.parsing.threads import COMMENT_SCHEMA, DOCUMENT_SCHEMA, assemble_threads, record_batches

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SAMPLE = REPO / "data" / "raw" / "duke-stanford-opioid-fibromyalgia-study.txt"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read(path: Path, name: str | None = None):
    name = name or path.name
    fmt = detect_format(name, path.read_bytes()[:65536])
    return fmt, list(read_source(fmt, lambda: path.open("rb"), name))


def staged(path: Path, name: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame, list[SkippedRecord]]:
    name = name or path.name
    fmt, records = read(path, name)
    batches = list(record_batches(records, fmt.name))
    documents = pl.concat([b[0] for b in batches]).lazy()
    comments = pl.concat([b[1] for b in batches]).lazy()
    docs, coms = assemble_threads(name, documents, comments, source_format=fmt.name)
    docs, coms = docs.collect(), coms.collect()
    assert docs.schema == pl.Schema(DOCUMENT_SCHEMA) and coms.schema == pl.Schema(COMMENT_SCHEMA)
    return docs, coms, [s for b in batches for s in b[2]]


def thread_rows(comments: pl.DataFrame, document_id: str) -> list[tuple]:
    """(position, depth, parent position, author, body start) of a document's comments."""
    doc = comments.filter(pl.col("document_id") == document_id).sort("position")
    position_of = dict(zip(doc["comment_id"], doc["position"], strict=True))
    return [(r["position"], r["depth"], position_of.get(r["parent_comment_id"]), r["author"], r["body"][:25])
            for r in doc.iter_rows(named=True)]


# ---------------------------------------------------------------- text (the copied-page format)

def test_the_sample_gives_exactly_what_the_text_parser_gave():
    fmt, records = read(SAMPLE)
    assert fmt.name == "text" and not fmt.streaming
    page = parse_page(decode_page(SAMPLE.read_bytes()))
    docs, comments, skipped = staged(SAMPLE, SAMPLE.name)
    assert skipped == []
    doc_id = ids.document_id(SAMPLE.name)
    assert docs.select("document_id", "title", "byline", "body", "comment_count", "has_comment_section").rows() == [
        (doc_id, page.title, page.byline, page.body, len(page.comments), page.has_comment_section)]
    assert len(page.comments) == 19
    assert comments.select("comment_id", "position", "author", "author_is_anonymous", "body", "depth").rows() == [
        (f"{doc_id}:c{c.position}", c.position, c.author, c.author is None or is_anonymous_author(c.author), c.body, 1)
        for c in page.comments]
    assert comments["parent_comment_id"].null_count() == 19 and comments["published_at"].null_count() == 19


def test_text_format_keeps_its_reasons_for_bad_files(tmp_path: Path):
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n")
    with pytest.raises(RejectedSource, match="^the file is empty or holds only white space$"):
        read(blank)
    binary = tmp_path / "broken.bin"
    binary.write_bytes(b"\x00\x01binary")
    with pytest.raises(RejectedSource, match="^binary file: it contains NUL bytes$"):
        read(binary)


# ---------------------------------------------------------------- Reddit

def test_reddit_thread_json():
    fmt, records = read(FIXTURES / "reddit_thread.json")
    assert fmt.name == "reddit_json"
    submission = records[0]
    assert isinstance(submission, SourceDocument) and submission.key == "1a2b3c"
    assert submission.title == "Gabapentin vs Lyrica for fibro nerve pain?" and submission.byline == "spoonie_dana"
    assert submission.body.split("\n\n")[1] == "The dizziness is the price. Anyone else switch to Lyrica?"
    assert submission.community == "Fibromyalgia" and submission.published_at == utc(2024, 1, 10, 12)
    assert submission.url == "https://www.reddit.com/r/Fibromyalgia/comments/1a2b3c/gabapentin_vs_lyrica_for_fibro_nerve_pain/"
    comments = [r for r in records if isinstance(r, SourceComment)]
    # Page order, "more" stubs left out; removed body is "" and a deleted author None.
    assert [(c.key, c.parent_key, c.author) for c in comments] == [
        ("kf1aa01", None, "mossy_fern"), ("kf1aa02", "kf1aa01", "spoonie_dana"), ("kf1aa03", "kf1aa02", "mossy_fern"),
        ("kf1aa04", None, None), ("kf1aa05", "kf1aa04", "quiet_owl"), ("kf1aa06", None, None)]
    assert comments[0].body == ("Lyrica worked better for me than gabapentin & the dizziness faded after two weeks."
                                "\n\nWeight gain though.")
    assert comments[3].body == "" and comments[5].author_is_anonymous and comments[0].score == 17

    docs, staged_comments, _ = staged(FIXTURES / "reddit_thread.json")
    doc_id = ids.document_id("reddit_thread.json", "1a2b3c")
    assert docs.rows(named=True)[0] | {"body": None} == {
        "document_id": doc_id, "source_file": "reddit_thread.json", "source_format": "reddit_json",
        "url": submission.url, "community": "Fibromyalgia", "published_at": utc(2024, 1, 10, 12),
        "title": submission.title, "byline": "spoonie_dana", "body": None, "comment_count": 5,
        "has_comment_section": True}
    # The removed comment is dropped; its reply stays, at the top level.
    assert thread_rows(staged_comments, doc_id) == [
        (1, 1, None, "mossy_fern", "Lyrica worked better for m"[:25]),
        (2, 2, 1, "spoonie_dana", "How much weight, if you d"),
        (3, 3, 2, "mossy_fern", "About ten pounds over a y"),
        (4, 1, None, "quiet_owl", "Tramadol never did anythi"),
        (5, 1, None, None, "Low dose naltrexone is wo")]
    assert staged_comments["comment_id"][0] == ids.comment_id(doc_id, 1, "kf1aa01")
    assert staged_comments["parent_comment_id"][1] == ids.comment_id(doc_id, 1, "kf1aa01")


def _check_reddit_dump(name: str, docs: pl.DataFrame, comments: pl.DataFrame, skipped: list[SkippedRecord]):
    assert [(s.where, s.reason.split(":")[0]) for s in skipped] == [("line 5", "not valid JSON")]
    submission = ids.document_id(name, "2d4e6f")
    missing = ids.document_id(name, "9z9z9z")
    assert docs.select("document_id", "title", "community", "published_at", "comment_count", "body").rows() == [
        (submission, "Tapered off oxycodone after 6 years", "ChronicPain", utc(2024, 1, 23, 12), 4,
         "My doctor tapered me from oxycodone to tramadol over three months.\n\n"
         "The withdrawal was rough but my pain is about the same."),
        # The comment whose submission the dump does not hold, under a placeholder document.
        (missing, None, None, None, 1, "")]
    assert docs["source_format"].to_list() == ["reddit_ndjson", "reddit_ndjson"]
    # Thread order by date, whatever the order of the lines; the orphan reply at depth 1; removed body dropped;
    # a date in 2100 is NULL and the comment kept (undated comments last among their siblings).
    assert thread_rows(comments, submission) == [
        (1, 1, None, "nerve_nell", "Good for you. Did the tra"),
        (2, 2, 1, "heat_pad_hero", "Same. Oxycodone only took"),
        (3, 1, None, "orphaned_reply", "Replying to a comment the"),
        (4, 1, None, "time_traveller", "A comment dated in 2100: ")]
    dated = comments.filter(pl.col("document_id") == submission).sort("position")["published_at"].to_list()
    assert dated == [utc(2024, 1, 29, 12), utc(2024, 2, 6, 12), utc(2024, 3, 7, 12), None]
    assert thread_rows(comments, missing) == [(1, 1, None, "fibro_fran", "Lyrica gave me my sleep b")]


def test_reddit_ndjson_dump():
    path = FIXTURES / "reddit_dump.ndjson"
    fmt, records = read(path)
    assert fmt.name == "reddit_ndjson" and fmt.streaming
    _check_reddit_dump(path.name, *staged(path))


def _zst(data: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    compressor = zstandard.ZstdCompressor(level=3)
    out = io.BytesIO()
    with compressor.stream_writer(out, closefd=False) as writer:
        for i in range(0, len(data), 100):  # many small blocks, as a streaming compressor writes
            writer.write(data[i:i + 100])
            writer.flush(zstandard.FLUSH_BLOCK)
    path.write_bytes(out.getvalue())
    return path


def test_reddit_zst_dump_is_read_as_a_stream(tmp_path: Path):
    path = _zst((FIXTURES / "reddit_dump.ndjson").read_bytes(), tmp_path, "RC_2024-01.zst")
    fmt = detect_format(path.name, path.read_bytes()[:65536])
    assert fmt.name == "reddit_ndjson" and fmt.streaming

    class ReadOnly(io.RawIOBase):  # what an fsspec file gives: read(n), no seeking
        def __init__(self):
            self.inner = path.open("rb")
            self.calls = 0

        def readable(self):
            return True

        def read(self, n=-1):
            assert n > 0, "the reader must read in bounded chunks"
            self.calls += 1
            return self.inner.read(n)

        def seekable(self):
            return False

        def close(self):
            self.inner.close()
            super().close()

    records = list(read_source(fmt, ReadOnly, path.name))
    assert sum(isinstance(r, SourceComment) for r in records) == 6
    _check_reddit_dump(path.name, *staged(path))


def test_truncated_zst_keeps_the_complete_lines_and_says_where_it_was_cut(tmp_path: Path):
    whole = _zst((FIXTURES / "reddit_dump.ndjson").read_bytes(), tmp_path, "whole.ndjson.zst").read_bytes()
    cut = tmp_path / "cut.ndjson.zst"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    fmt, records = read(cut)
    assert fmt.name == "reddit_ndjson"
    comments = [r for r in records if isinstance(r, SourceComment)]
    assert 1 <= len(comments) < 6 and comments[0].key == "kf2bb02"
    assert isinstance(records[-1], SkippedRecord) and records[-1].reason.startswith(
        "the .zst stream is truncated (the file ends inside a compressed frame)")
    # Cut before the first line ends: nothing to keep, the file is rejected.
    stub = tmp_path / "stub.zst"
    stub.write_bytes(whole[:30])
    with pytest.raises(RejectedSource, match="truncated.*before its first complete line"):
        list(read_source(fmt, lambda: stub.open("rb"), stub.name))


def test_json_line_that_does_not_parse_is_skipped_and_the_others_kept(tmp_path: Path):
    lines = (FIXTURES / "reddit_dump.ndjson").read_text().splitlines()
    path = tmp_path / "dump.ndjson"
    path.write_text("\n".join([lines[0], "{not json", "[1, 2]", lines[2]]) + "\n")
    _, records = read(path)
    assert [(r.where, r.reason) for r in records if isinstance(r, SkippedRecord)] == [
        ("line 2", "not valid JSON: Expecting property name enclosed in double quotes"),
        ("line 3", "a JSON list, not an object")]
    assert [r.key for r in records if not isinstance(r, SkippedRecord)] == ["kf2bb02", "kf2bb01"]


# ---------------------------------------------------------------- WordPress REST JSON

def test_wordpress_rest_post_with_comments():
    fmt, records = read(FIXTURES / "wordpress_post.json")
    assert fmt.name == "wordpress_json"
    post = records[0]
    assert post.key == "318" and post.title == "Living with fibromyalgia in winter – what helped me"
    assert post.byline == "Maren Holt" and post.published_at == utc(2024, 1, 15, 14, 30)
    assert post.community == "painjournal.example.org"
    assert post.body == ("Cold mornings are the worst for my fibromyalgia. My rheumatologist started me on gabapentin "
                         "in November.\n\nIt took the edge off the nerve pain,\nbut the brain fog was real.\n\n"
                         "warm baths\n\ngentle stretching")
    # Spam, held and pingback comments left out; oldest thread first, a reply under its parent.
    docs, comments, _ = staged(FIXTURES / "wordpress_post.json")
    doc_id = ids.document_id("wordpress_post.json", "318")
    assert thread_rows(comments, doc_id) == [
        (1, 1, None, "Ruth P.", "Lyrica helped my fibromyal"[:25]),
        (2, 2, 1, "Maren Holt", "Thank you Ruth – I will a"),
        (3, 1, None, "Anonymous", "Tramadol made me nauseous")]
    assert comments["body"][0] == ("Lyrica helped my fibromyalgia more than gabapentin did.\n\n"
                                   "The swelling in my ankles was the downside.")
    assert comments["author_is_anonymous"].to_list() == [False, False, True]
    assert comments["published_at"].to_list() == [utc(2024, 2, 10, 13, 15), utc(2024, 3, 2, 16), utc(2024, 2, 21, 0, 40)]
    assert docs["comment_count"].to_list() == [3]


def test_wordpress_rest_list_of_posts(tmp_path: Path):
    post = json.loads((FIXTURES / "wordpress_post.json").read_text())
    second = {"id": 320, "date_gmt": "2024-03-01T10:00:00", "link": "https://painjournal.example.org/2024/03/spring/",
              "title": {"rendered": "Spring"}, "content": {"rendered": "<p>Lyrica and long walks.</p>"}, "comments": []}
    path = tmp_path / "posts.json"
    path.write_text(json.dumps([post, second]))
    docs, comments, _ = staged(path)
    assert docs.select("title", "comment_count", "published_at").rows() == [
        ("Living with fibromyalgia in winter – what helped me", 3, utc(2024, 1, 15, 14, 30)), ("Spring", 0, utc(2024, 3, 1, 10))]


def test_wordpress_rest_comments_alone():
    docs, comments, _ = staged(FIXTURES / "wordpress_comments.json")
    assert docs.select("title", "url", "community", "body").rows() == [
        (None, "https://clinicnotes.example.com/opioids-and-fibro/", "clinicnotes.example.com", "")]
    assert comments.select("position", "author", "author_is_anonymous", "published_at").rows() == [
        (1, None, True, utc(2024, 3, 28, 16)), (2, "Denise K", False, utc(2024, 4, 4, 1, 5))]


# ---------------------------------------------------------------- saved HTML pages

def _html(name: str) -> tuple[dict, list[tuple]]:
    docs, comments, skipped = staged(FIXTURES / name)
    assert skipped == [] and docs.height == 1
    doc = docs.row(0, named=True)
    assert doc["document_id"] == ids.document_id(name) and doc["source_format"] == "html"
    assert doc["comment_count"] == comments.height
    rows = [(p, d, parent, author, published, body)
            for (p, d, parent, author, _), published, body in zip(
                thread_rows(comments, doc["document_id"]), comments["published_at"], comments["body"], strict=True)]
    return doc, rows


def test_html_wordpress_comment_list():
    doc, rows = _html("html_wordpress_comments.html")
    assert (doc["title"], doc["byline"], doc["published_at"], doc["url"], doc["community"]) == (
        "Why I stopped tramadol", "Iris Calder", utc(2024, 2, 5, 16, 20),
        "https://softjoints.example.org/2024/02/why-i-stopped-tramadol/", "softjoints.example.org")
    paragraphs = doc["body"].split("\n\n")
    assert len(paragraphs) == 3 and paragraphs[0].startswith("For two years tramadol")
    assert "Lena" not in doc["body"] and "Leave a Reply" not in doc["body"]  # comments are not the article
    # The pingback is left out; the reply in ul.children is under its parent.
    assert rows == [
        (1, 1, None, "Lena Ortiz", utc(2024, 2, 6, 9, 14),
         "The interaction with antidepressants is real. I had the same foggy afternoons on tramadol.\n\n"
         "Gabapentin has been kinder to me."),
        (2, 2, 1, "Iris Calder", utc(2024, 3, 1, 18, 2), "Thank you Lena. Did gabapentin make you dizzy at first?"),
        (3, 1, None, "Anonymous", utc(2024, 4, 10, 7, 30), "My rheumatologist wanted me on oxycodone instead. I said no.")]


def test_html_wpdiscuz_thread():
    doc, rows = _html("html_wpdiscuz.html")
    assert (doc["title"], doc["byline"], doc["published_at"], doc["has_comment_section"]) == (
        "Low-dose naltrexone: a reader survey", "Priya Nandakumar", utc(2024, 1, 18, 12), True)
    assert "newest" not in doc["body"] and "Carmen" not in doc["body"]
    # In the page's order (newest first, as shown), the reply under its parent, the pingback left out.
    assert rows == [
        (1, 1, None, "Carmen Ruiz", utc(2024, 4, 2, 8, 40),
         "Four months on LDN. My pain is maybe 30% lower and I sleep through the night."),
        (2, 1, None, "Do not print my name", utc(2024, 2, 9, 22, 5),
         "LDN gave me nightmares for three weeks.\n\nThen they stopped and the fibro fog lifted a little."),
        (3, 2, 2, "Priya Nandakumar", utc(2024, 3, 3, 7, 15),
         "Several readers said taking it in the morning helped with the dreams.")]
    _, records = read(FIXTURES / "html_wpdiscuz.html")
    assert [(c.key, c.score, c.author_is_anonymous) for c in records[1:]] == [
        ("733", 6, False), ("702", 2, True), ("715", 0, False)]


def test_html_schema_org_comments_in_microdata_and_json_ld():
    doc, rows = _html("html_microdata.html")
    assert (doc["title"], doc["byline"], doc["published_at"].date()) == (
        "Cold weather and widespread pain", "Hal Brennan", utc(2024, 1, 3).date())
    assert rows == [
        (1, 1, None, "Mina", utc(2024, 1, 4, 19, 30), "The walking helps me too, even ten minutes."),
        (2, 2, 1, "Hal Brennan", utc(2024, 2, 1, 10), "Ten minutes is where I started as well."),
        (3, 1, None, "Olu", utc(2024, 3, 12, 7), "Duloxetine made my sweating worse, so I stopped.")]
    doc, rows = _html("html_jsonld.html")
    assert (doc["title"], doc["byline"], doc["published_at"]) == (
        "My first pain clinic visit", "Reese Okafor", utc(2024, 2, 2, 9))
    assert doc["body"].startswith("I waited five months")  # the headline is not repeated in the body
    assert rows == [
        (1, 1, None, "Tamsin", utc(2024, 2, 3, 12), "My clinic wanted me off oxycodone before they would see me."),
        (2, 2, 1, "Reese Okafor", utc(2024, 3, 4, 12), "That sounds frightening. Did they offer anything instead?"),
        (3, 1, None, "Walt", utc(2024, 4, 5, 12), "Physical therapy and Lyrica, in my case.")]


def test_html_other_comment_systems_by_structure():
    doc, rows = _html("html_other_comments.html")
    assert doc["title"] == "Pacing, and what it taught me" and doc["community"] == "quietdays.example.net"
    assert rows == [
        (1, 1, None, "Ines", utc(2024, 3, 2), "A notebook changed things for me too. I write down every dose of tramadol."),
        (2, 2, 1, "Quiet Days", utc(2024, 3, 20), "Writing the doses down is a good idea, thank you."),
        (3, 1, None, "Bo", utc(2024, 4, 8), "I still crash after busy days, even with pacing.")]


def test_html_without_comments_is_the_article_alone():
    doc, rows = _html("html_no_comments.html")
    assert rows == [] and doc["has_comment_section"] is False and doc["comment_count"] == 0
    assert doc["title"] == "Notes from a fibromyalgia support group" and doc["published_at"] == utc(2024, 3, 14, 18)
    assert doc["body"].split("\n\n")[0] == ("Eight of us met at the library on Thursday. Most of the evening went on "
                                           "sleep: who sleeps, who does not, and what helps.")


def test_html_that_is_not_an_article_is_rejected(tmp_path: Path):
    with pytest.raises(RejectedSource, match=r"^not an article: a login page \(a password field"):
        read(FIXTURES / "html_login.html")
    empty = tmp_path / "menu.html"
    empty.write_text("<!DOCTYPE html><html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(RejectedSource, match=r"^not an article: no main text \(\d+ words\) and no comments$"):
        read(empty)


# ---------------------------------------------------------------- WordPress WXR export

def test_wordpress_export():
    fmt, records = read(FIXTURES / "wordpress_export.xml")
    assert fmt.name == "wordpress_wxr"
    docs, comments, _ = staged(FIXTURES / "wordpress_export.xml")
    post, page = ids.document_id("wordpress_export.xml", "41"), ids.document_id("wordpress_export.xml", "2")
    # Published posts and pages; the draft is left out. The byline is the author's display name.
    assert docs.select("document_id", "title", "byline", "published_at", "comment_count", "has_comment_section",
                       "community").rows() == [
        (post, "Three months on Lyrica", "Tessa Marsh", utc(2024, 1, 8, 15), 3, True, "flarenotes.example.net"),
        (page, "About this blog", "Tessa Marsh", utc(2023, 12, 31, 12), 0, False, "flarenotes.example.net")]
    assert docs["body"].to_list() == [
        "My fibromyalgia pain has eased since I started Lyrica in October.\n\n"
        "The swelling in my feet is the part nobody warned me about.",
        "I write about fibromyalgia, chronic fatigue and the medicines I have tried.\n\n"
        "No comments here, just the story of the blog."]
    # Spam, held and pingback comments left out; the reply under its parent.
    assert thread_rows(comments, post) == [
        (1, 1, None, "Bea", "Gabapentin gave me the sam"[:25]),
        (2, 2, 1, "Tessa Marsh", "Thank you, I will ask abo"),
        (3, 1, None, "Do not print my name", "Tramadol and Lyrica toget")]
    assert comments["body"][0] == "Gabapentin gave me the same swelling.\nMy doctor lowered the dose.\n\nIt went away in a week."
    assert comments["author_is_anonymous"].to_list() == [False, False, True]
    assert comments["published_at"].to_list() == [utc(2024, 2, 3, 14, 12), utc(2024, 3, 1, 13), utc(2024, 4, 13, 0, 30)]


def test_wordpress_export_with_no_items_is_rejected(tmp_path: Path):
    text = (FIXTURES / "wordpress_export.xml").read_text()
    path = tmp_path / "empty-export.xml"
    path.write_text(text[: text.index("\t<item>")] + "</channel>\n</rss>\n")
    with pytest.raises(RejectedSource, match="^a WordPress export with no items"):
        read(path)
    path.write_text(text[: text.index("</channel>")][:-200])
    with pytest.raises(RejectedSource, match="^not well-formed XML"):
        read(path)


# ---------------------------------------------------------------- Disqus export

def test_disqus_export():
    fmt, records = read(FIXTURES / "disqus_export.xml")
    assert fmt.name == "disqus_xml"
    docs, comments, _ = staged(FIXTURES / "disqus_export.xml")
    thread = ids.document_id("disqus_export.xml", "8800112233")
    # The deleted thread and its posts are left out.
    assert docs.select("document_id", "title", "url", "published_at", "comment_count").rows() == [
        (thread, "When the clinic cut my oxycodone", "https://painpost.example.com/2024/01/opioid-tapers/",
         utc(2024, 1, 20, 18), 4)]
    # Deleted and spam posts left out; a reply to the deleted post is kept at the top level.
    assert thread_rows(comments, thread) == [
        (1, 1, None, "June Alder", "My clinic tapered my oxyc"),
        (2, 2, 1, "Guest", "Same here. I was switched"),
        (3, 3, 2, "June Alder", "Lyrica at night, and I fi"),
        (4, 1, None, "Nora B", "Replying to a comment tha")]
    assert comments["body"][0] == "My clinic tapered my oxycodone by half in one month.\n\nThe withdrawal and the pain came back together."
    assert comments["author_is_anonymous"].to_list() == [False, True, False, False]
    assert comments["comment_id"][1] == ids.comment_id(thread, 2, "4100000002")


# ---------------------------------------------------------------- detection and bad input

def test_detection_is_by_content_not_by_extension(tmp_path: Path):
    wp = (FIXTURES / "wordpress_post.json").read_bytes()
    assert detect_format("saved.txt", wp).name == "wordpress_json"
    assert detect_format("thread", (FIXTURES / "reddit_thread.json").read_bytes()).name == "reddit_json"
    assert detect_format("notes.txt", b"A title\n\nSome text about Lyrica.\n").name == "text"
    assert detect_format("thanks.txt", b"<3 to everyone here\n\n[edit] and Lyrica helps\n").name == "text"
    with pytest.raises(RejectedSource, match="^unrecognised format: JSON that is neither"):
        detect_format("saved.txt", b'{"data": [1, 2]}')
    html = (FIXTURES / "html_wpdiscuz.html").read_bytes()
    assert detect_format("saved page.txt", html).name == "html"
    assert detect_format("page.htm", b"\xef\xbb\xbf  <!-- saved -->\n<html><body><p>x</p></body></html>").name == "html"
    assert detect_format("export.xml", (FIXTURES / "disqus_export.xml").read_bytes()).name == "disqus_xml"
    assert detect_format("blog.WordPress.2024-05-06.xml", (FIXTURES / "wordpress_export.xml").read_bytes()).name == "wordpress_wxr"
    with pytest.raises(RejectedSource, match="^unrecognised format: markup with root element <feed>"):
        detect_format("atom.xml", b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    with pytest.raises(RejectedSource, match="^unrecognised format: JSON that is neither WordPress REST"):
        detect_format("export.json", json.dumps({"users": [{"name": "x"}]}).encode())
    with pytest.raises(RejectedSource, match="^unrecognised format: a PDF document"):
        detect_format("paper.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    with pytest.raises(RejectedSource, match="^unrecognised format: a .dat file"):
        detect_format("drugs.dat", b"drug,count\ngabapentin,3\n")
    assert detect_format("drugs.csv", b"drug,count\ngabapentin,3\n").name == "table"  # test_sources_tabular.py
    for name in ("empty.json", "blank.txt", "nothing.zst"):
        with pytest.raises(RejectedSource, match="^the file is empty or holds only white space$"):
            detect_format(name, b"" if name != "nothing.zst" else zstandard.ZstdCompressor().compress(b"\n \n"))
    with pytest.raises(RejectedSource, match="^named .zst but not zstd-compressed data$"):
        detect_format("dump.zst", b'{"id": "x"}\n')
    # Any format may be compressed (issue 19): the content is sniffed once decompressed.
    assert detect_format("post.json.zst", zstandard.ZstdCompressor().compress(wp)).name == "wordpress_json"


def test_json_of_the_wrong_shape_is_rejected_with_a_reason(tmp_path: Path):
    path = tmp_path / "listing.json"
    path.write_text(json.dumps([{"kind": "Listing", "data": {"children": []}}, {"kind": "t3"}]))
    with pytest.raises(RejectedSource, match="wrong shape for a Reddit thread: item 2 is not a Listing"):
        read(path)
    path = tmp_path / "post.json"
    path.write_text(json.dumps({"title": {"rendered": "no id, no content"}}))
    with pytest.raises(RejectedSource, match="^JSON of the wrong shape for WordPress"):
        read(path)


def test_dates_outside_the_plausible_range_become_null():
    assert parse_timestamp("2024-03-05T10:00:00+01:00") == utc(2024, 3, 5, 9)
    assert parse_timestamp(1709640000) == utc(2024, 3, 5, 12)
    assert parse_timestamp("Tue, 05 Mar 2024 12:00:00 +0000") == utc(2024, 3, 5, 12)
    assert parse_timestamp("1994-12-31T23:59:59Z") is None and parse_timestamp("1995-01-01") == utc(1995, 1, 1)
    assert parse_timestamp(4102444800) is None  # 2100
    assert parse_timestamp("0000-00-00 00:00:00") is None and parse_timestamp("soon") is None


def test_html_bodies_become_plain_text_with_paragraphs():
    assert html_to_text("<p>One  <em>two</em>\nthree.</p><p>Four<br/>five &amp; six</p>") == (
        "One two three.\n\nFour\nfive & six")
    assert html_to_text("Line one\nline two\n\nNext paragraph", autop=True) == "Line one\nline two\n\nNext paragraph"
    assert html_to_text("<script>alert(1)</script><p>Kept</p>") == "Kept"


# ---------------------------------------------------------------- assemble_threads

def test_assemble_threads_with_missing_parents_missing_submission_removed_bodies_and_duplicates():
    def comment(key, parent, body, day, document="s1"):
        return SourceComment(document, key, parent, f"user_{key}", False, body, utc(2024, 2, day), 1)

    records = [
        comment("c3", "c1", "reply to c1", 3),
        comment("c1", None, "first", 2),
        comment("c2", None, "[removed]", 1),
        comment("c4", "c2", "reply to a removed comment", 4),
        comment("c5", "gone", "reply to a comment not in the dump", 5),
        comment("c6", "c3", "reply to the reply", 6),
        comment("c1", None, "first, repeated by the dump", 2),
        comment("c7", "c7", "its own parent", 7),
        comment("x1", "x2", "cycle a", 8), comment("x2", "x1", "cycle b", 9),
        comment("k1", None, "under a submission the dump lacks", 1, document="s2"),
        SourceDocument("s1", "Title", "op", "Body", None, "ChronicPain", utc(2024, 2, 1), True),
    ]
    (documents, comments, _), = record_batches(records, "reddit_ndjson")
    docs, coms = assemble_threads("dump.ndjson", documents.lazy(), comments.lazy())
    docs, coms = docs.collect(), coms.collect()
    s1, s2 = ids.document_id("dump.ndjson", "s1"), ids.document_id("dump.ndjson", "s2")
    assert docs.select("document_id", "title", "body", "comment_count").rows() == [
        (s1, "Title", "Body", 8), (s2, None, "", 1)]
    # Siblings by date; the duplicate kept once; the removed comment dropped and its reply at the top level;
    # a reply to a missing comment, a comment that names itself as parent and a cycle of parents: top level.
    assert [(p, d, parent, body) for p, d, parent, _, body in thread_rows(coms, s1)] == [
        (1, 1, None, "first"), (2, 2, 1, "reply to c1"), (3, 3, 2, "reply to the reply"),
        (4, 1, None, "reply to a removed commen"), (5, 1, None, "reply to a comment not in"),
        (6, 1, None, "its own parent"), (7, 1, None, "cycle a"), (8, 1, None, "cycle b")]
    assert (coms["body"].str.strip_chars() != "").all()
    assert coms.filter(pl.col("document_id") == s2)["comment_id"].to_list() == [f"{s2}:k1"]


def test_assemble_threads_in_parts_gives_the_same_tables(tmp_path: Path):
    """With spill_dir, the tree is computed a part of the documents at a time (bounded memory for big dumps)."""
    path = _zst((FIXTURES / "reddit_dump.ndjson").read_bytes() + (FIXTURES / "reddit_dump.ndjson").read_bytes()
                .replace(b"2d4e6f", b"3e5f7a").replace(b'"id":"kf', b'"id":"kg').replace(b"t1_kf", b"t1_kg"),
                tmp_path, "two.ndjson.zst")
    fmt, records = read(path)
    (documents, comments, skipped), = record_batches(records, fmt.name)
    whole = [f.collect() for f in assemble_threads(path.name, documents.lazy(), comments.lazy())]
    spill = tmp_path / "spill"
    spill.mkdir()
    parts = [f.collect() for f in assemble_threads(path.name, documents.lazy(), comments.lazy(),
                                                   spill_dir=spill, comments_per_part=4, spill_rows=3)]
    assert len(list(spill.glob("comments-*.parquet"))) == 4  # 10 comments, 3 a file
    assert whole[0].equals(parts[0])
    assert whole[1].sort("comment_id").equals(parts[1].sort("comment_id"))
    assert whole[1].height == 10 and whole[0]["comment_count"].sum() == 10


def test_many_pages_assembled_at_once_equal_each_page_assembled_alone():
    """assemble_pages (one polars plan for a parse chunk's pages) gives each page exactly what
    assemble_threads gives it alone, with the same comment keys and key-less pages in several files
    kept apart, and pages of several formats in one call."""
    from fms_pipeline.parsing.threads import COMMENT, DOCUMENT, PageRecords, assemble_pages, record_rows

    def comment(document, key, parent, body, day):
        return SourceComment(document, key, parent, f"user_{key}", False, body, utc(2024, 2, day), 1)

    pages = {
        "a.json": ("wordpress_json", [SourceDocument("7", "Post", "me", "Body a", None, None, utc(2024, 1, 1), True),
                                      comment("7", "c1", None, "first", 2), comment("7", "c2", "c1", "reply", 3)]),
        "b.json": ("wordpress_json", [SourceDocument("7", "Same key, other file", None, "Body b", None, None, None,
                                                     True),
                                      comment("7", "c1", None, "same comment key", 2),
                                      comment("8", "c9", "c1", "under a post the file lacks", 4)]),
        "c.txt": ("text", [SourceDocument(None, "A page", None, "Text", None, None, None, True),
                           comment(None, None, None, "copied comment", 1),
                           comment(None, None, None, "[removed]", 2)]),
        "d.txt": ("text", [SourceDocument(None, "Another page", None, "Other text", None, None, None, False)]),
    }
    alone_docs, alone_comments, records = [], [], []
    for name, (fmt, page) in pages.items():
        (documents, comments, _), = record_batches(page, fmt)
        d, c = assemble_threads(name, documents.lazy(), comments.lazy(), source_format=fmt)
        alone_docs.append(d.collect())
        alone_comments.append(c.collect())
        rows = list(record_rows(page))
        records.append(PageRecords(name, fmt, [r for k, r in rows if k == DOCUMENT],
                                   [r for k, r in rows if k == COMMENT]))
    together_docs, together_comments = (f.collect() for f in assemble_pages(records))
    assert together_docs.sort("document_id").equals(pl.concat(alone_docs).sort("document_id"))
    assert together_comments.sort("comment_id").equals(pl.concat(alone_comments).sort("comment_id"))
    assert together_docs["document_id"].n_unique() == 5 and together_comments.height == 5
    assert together_docs.filter(pl.col("source_file") == "b.json")["comment_count"].sort().to_list() == [1, 1]
