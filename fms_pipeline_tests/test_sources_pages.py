"""Sources II (issue 19 items 2, 3, 5; issue 22 item 3): declared charsets, dates written as text,
WXR in every version and namespace form, comment extraction in linear time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fms_pipeline import ids
from fms_pipeline.parsing.decode import declared_encoding, decode_page
from fms_pipeline_tests.test_sources import FIXTURES, read, staged, thread_rows


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- declared charsets (WHATWG sniffing order)

@pytest.mark.parametrize(("head", "codec"), [
    (b'<html><head><meta charset="ISO-8859-1">', "cp1252"),  # browsers read ISO-8859-1 as Windows-1252
    (b"<meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>", "cp1251"),
    (b'<META HTTP-EQUIV=Content-Type CONTENT="text/html;charset=KOI8-R">', "koi8_r"),
    (b"<meta charset=utf-16>", "utf-8"),  # as in browsers: a page that can be read this far is ASCII-compatible
    (b"<!-- <meta charset=koi8-r> --><p>hi</p>", None),  # a commented-out declaration is none
    (b"<meta charset=no-such-thing>", None),
    (b" " * 1024 + b"<meta charset=koi8-r>", None),  # past the first 1,024 bytes
])
def test_declared_encoding_is_found_in_the_first_1024_bytes(head, codec):
    assert declared_encoding(head) == codec


def test_a_declared_charset_wins_over_detection_and_a_byte_order_mark_over_both():
    text = "<p>Привет, у меня фибромиалгия и боль в спине</p>"
    koi8 = ('<meta charset="koi8-r">' + text).encode("koi8-r")
    assert decode_page(koi8).endswith(text)  # detection alone would try Windows-1252/1250/1251 and misread it
    assert decode_page(b"\xef\xbb\xbf" + '<meta charset="koi8-r"><p>ß</p>'.encode()).endswith("<p>ß</p>")
    # A page saved as UTF-8 that kept its old declaration: UTF-8 wins.
    assert decode_page('<meta charset="iso-8859-1"><p>Müdigkeit</p>'.encode()).endswith("<p>Müdigkeit</p>")


def test_a_vbulletin_page_declaring_iso_8859_1_decodes_as_declared():
    data = (FIXTURES / "forum_vbulletin.html").read_bytes()
    assert b"m\xfcde" in data  # Latin-1 bytes, not UTF-8
    text = decode_page(data)
    assert "Ich bin so müde" in text and "Grüße" in text


# ---------------------------------------------------------------- WXR: every version, both namespace forms

def test_wordpress_export_1_0_without_author_list():
    fmt, _ = read(FIXTURES / "wordpress_export_wxr10.xml")
    assert fmt.name == "wordpress_wxr"
    docs, comments, _ = staged(FIXTURES / "wordpress_export_wxr10.xml")
    post = ids.document_id("wordpress_export_wxr10.xml", "12")
    assert docs.select("document_id", "title", "byline", "published_at", "comment_count").rows() == [
        (post, "Savella, week one", "marguerite", utc(2010, 3, 15, 20, 5), 2)]
    assert thread_rows(comments, post) == [
        (1, 1, None, "June", "Take it with food, the na"), (2, 2, 1, "marguerite", "I will try that, thank yo")]


@pytest.mark.parametrize(("scheme", "version"), [("http", "1.1"), ("https", "1.2"), ("https", "1.1"), ("https", "1.0")])
def test_wordpress_export_in_every_namespace_form(tmp_path: Path, scheme: str, version: str):
    text = (FIXTURES / "wordpress_export.xml").read_text()
    text = text.replace('xmlns:wp="http://wordpress.org/export/1.2/"', f'xmlns:wp="{scheme}://wordpress.org/export/{version}/"')
    text = text.replace("http://wordpress.org/export/1.2/excerpt/", f"{scheme}://wordpress.org/export/{version}/excerpt/")
    path = tmp_path / "export.xml"
    path.write_text(text)
    fmt, records = read(path)
    assert fmt.name == "wordpress_wxr"
    docs, comments, _ = staged(path)
    assert docs["comment_count"].to_list() == [3, 0] and comments.height == 3


def test_an_unknown_wxr_version_is_not_taken_for_wordpress(tmp_path: Path):
    from fms_pipeline.parsing.sources import RejectedSource

    text = (FIXTURES / "wordpress_export.xml").read_text().replace("wordpress.org/export/1.2/", "wordpress.org/export/9.9/")
    path = tmp_path / "export.xml"
    path.write_text(text)
    with pytest.raises(RejectedSource, match=r"^unrecognised format: markup with root element <rss>"):
        read(path)


# ---------------------------------------------------------------- dates written as text (parsing/dates.py)

from fms_pipeline.parsing.dates import language_settings, page_anchor, parse_written_date, saved_date  # noqa: E402

ANCHOR = utc(2019, 3, 7, 9, 12, 33)


@pytest.mark.parametrize(("text", "lang", "anchor", "expected"), [
    ("16. March, 2023 at 16:59", "en-US", None, utc(2023, 3, 16, 16, 59)),
    ("March 10, 2017 at 12:20 AM", "en", None, utc(2017, 3, 10, 0, 20)),
    ("5. März 2019", "de", None, utc(2019, 3, 5)),
    ("05.03.2019, 14:05", "de-DE", None, utc(2019, 3, 5, 14, 5)),
    ("03/05/2019", "en-US", None, utc(2019, 3, 5)),  # month first in US English
    ("03/05/2019", "en-GB", None, utc(2019, 5, 3)),  # day first in British English
    ("03/05/2019", "fr", None, utc(2019, 5, 3)),
    ("answered Feb 19, 2015 at 15:22", "en", None, utc(2015, 2, 19, 15, 22)),  # a leading word left out
    ("le 3 mars 2019 à 18h30", "fr", None, utc(2019, 3, 3, 18, 30)),
    ("Gestern, 14:05", "de", ANCHOR, utc(2019, 3, 6, 14, 5)),
    ("Gestern, 14:05", "de", None, None),  # relative, and no page date: never counted from today
    ("2 hours ago", "en", ANCHOR, utc(2019, 3, 7, 7, 12, 33)),
    ("March 5", "en", None, None),  # no year and no page date
    ("March 5", "en", ANCHOR, utc(2019, 3, 5)),
    ("comment_date", "en", None, None),
    ("Reply", "en", None, None),
    ("March 3, 1987", "en", None, None),  # before the web: implausible
    ("", "en", None, None),
    ("I took 50 mg of tramadol on March 3, 2019 and then another dose in the evening, which did not help", "en", None, None),
])
def test_written_dates(text, lang, anchor, expected):
    assert parse_written_date(text, lang=lang, anchor=anchor) == expected


def test_language_settings_and_the_page_date():
    assert language_settings("en") == (["en"], "MDY") and language_settings("en_AU") == (["en"], "DMY")
    assert language_settings("de-AT") == (["de", "en"], "DMY") and language_settings("ja") == (["ja", "en"], "YMD")
    assert language_settings(None) == (None, None) and language_settings("x-klingon") == (None, None)
    head = ("<!DOCTYPE html>\n<!--\n Page saved with SingleFile \n url: https://forum.example/t/1 \n"
            " saved date: Thu Mar 07 2019 10:12:33 GMT+0100 (Central European Standard Time)\n-->\n<html>")
    assert saved_date(head) == ANCHOR
    assert page_anchor(head, utc(2018, 1, 1)) == ANCHOR and page_anchor("<html>", utc(2018, 1, 1)) == utc(2018, 1, 1)


# ---------------------------------------------------------------- linear-time comment extraction (issue 22)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.html_threads import flat_page, nested_page  # noqa: E402


def _read_page(tmp_path: Path, page: str):
    path = tmp_path / "page.html"
    path.write_text(page)
    fmt, records = read(path)
    return records[0], records[1:]


def test_a_deeply_nested_wordpress_thread_keeps_every_parent(tmp_path: Path):
    # The time is measured by benchmarks/html_threads.py; here the structure of a 400-deep thread.
    _, comments = _read_page(tmp_path, nested_page(400))
    assert len(comments) == 400
    assert [(c.key, c.parent_key) for c in comments[:3]] == [("1", None), ("2", "1"), ("3", "2")]
    assert all(c.parent_key == str(int(c.key) - 1) for c in comments[1:])
    assert all(c.body.startswith(f"Comment {c.key}: gabapentin") and "Reply" not in c.body for c in comments)
    assert comments[399].author == f"Reader {400 % 97}" and comments[399].published_at == utc(2024, 3, 1 + 400 % 28, 10, 400 % 60)


def test_a_huge_comment_list_reads_the_article_without_its_comments(tmp_path: Path, monkeypatch):
    from fms_pipeline.parsing.sources import html_page

    page = flat_page(300)
    monkeypatch.setitem(html_page.rules(), "trim_comments_over_chars", len(page) // 2)
    document, comments = _read_page(tmp_path, page)
    assert len(comments) == 300 and all(c.parent_key is None for c in comments)
    assert document.title == "Living with it" and document.published_at == utc(2024, 3, 1, 9)
    assert document.body.startswith("I have lived with fibromyalgia") and "gabapentin" not in document.body


def test_own_text_leaves_out_nested_comments_and_named_nodes_and_keeps_inline_markup():
    from selectolax.lexbor import LexborHTMLParser

    from fms_pipeline.parsing.sources.html_blocks import Comments

    tree = LexborHTMLParser(
        '<div class="c" id="a"><div class="t"><span class="who">Ann</span> I took <b>Lyrica</b> today.'
        '<p>Second <i>paragraph</i>.</p><div class="c" id="b"><div class="t">A reply.</div></div></div></div>')
    comments = Comments(tree, tree.css("div.c"))
    outer, inner = comments.nodes
    text = comments.own(outer, ".t")
    assert comments.own(inner, ".t").text() == "A reply."
    assert comments.own_text(text, [comments.own(outer, ".who")]) == "I took Lyrica today.\n\nSecond paragraph."
    assert comments.own_text(text) == "Ann I took Lyrica today.\n\nSecond paragraph."
    assert comments.enclosing(inner) is not None and comments.enclosing(inner).attributes["id"] == "a"
