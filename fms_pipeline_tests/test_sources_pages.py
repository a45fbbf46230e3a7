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
