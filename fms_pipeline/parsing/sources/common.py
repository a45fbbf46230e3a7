"""Helpers every source-format module shares: HTML to plain text, dates, authors, decoding, zstd streams."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import zstandard
from dateutil import parser as dateutil_parser
from selectolax.lexbor import LexborHTMLParser

from fms_pipeline.parsing.decode import UndecodableFile, decode_page
from fms_pipeline.parsing.sources.model import RejectedSource, SourceComment
from fms_pipeline.parsing.thread_format import is_anonymous_author

# ---------------------------------------------------------------- text

_PARAGRAPH = "\u2029"  # stand-ins that survive whitespace collapsing
_LINE = "\u2028"
_BLOCK_TAGS = ("p, div, li, ul, ol, blockquote, pre, h1, h2, h3, h4, h5, h6, table, tr, figure, figcaption, "
               "section, article, header, footer, aside, dl, dt, dd, hr")
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v\xa0]*\n\s*")


def paragraphs_text(paragraphs: Iterable[str]) -> str:
    """Paragraphs stripped, empty ones dropped, joined by one blank line (the body convention)."""
    return "\n\n".join(p for p in (p.strip() for p in paragraphs) if p)


def plain_text(text: str) -> str:
    """Plain text (a Reddit body in Markdown, an export's raw text): HTML entities resolved
    (Reddit writes &amp; &lt; &gt;), lines stripped, paragraphs separated by one blank line."""
    if "\n" not in text and "\r" not in text and "&" not in text:
        return text.strip()  # most comments: one paragraph, nothing to resolve
    text = html.unescape(text).replace("\r\n", "\n").replace("\r", "\n")
    return paragraphs_text(
        "\n".join(line.strip() for line in block.split("\n") if line.strip()) for block in _BLANK_LINES.split(text)
    )


def html_to_text(fragment: str, *, autop: bool = False) -> str:
    """HTML (a post's or a comment's markup) to plain text with its paragraphs kept.

    Block elements end a paragraph, ``<br>`` ends a line, other white space collapses as a
    browser shows it. ``autop``: the fragment is WordPress's stored text, where a blank line
    is a paragraph and a line break is a ``<br>`` (what ``wpautop`` does when WordPress shows it).
    Scripts, styles and forms are not text.
    """
    if not fragment or not fragment.strip():
        return ""
    if autop:
        fragment = _BLANK_LINES.sub(_PARAGRAPH, fragment.replace("\r\n", "\n")).replace("\n", _LINE)
    if "<" not in fragment and "&" not in fragment:
        text = fragment
    else:
        tree = LexborHTMLParser(f"<html><body>{fragment}</body></html>")
        for node in tree.css("script, style, noscript, template, form, button"):
            node.decompose()
        for node in tree.css("br"):
            node.replace_with(_LINE)
        for node in tree.css(_BLOCK_TAGS):
            node.insert_before(_PARAGRAPH)
            node.insert_after(_PARAGRAPH)
        text = tree.body.text(deep=True, separator="") if tree.body else ""
    text = _SPACES.sub(" ", text)
    return paragraphs_text(
        "\n".join(line.strip() for line in paragraph.split(_LINE) if line.strip())
        for paragraph in text.split(_PARAGRAPH)
    )


# ---------------------------------------------------------------- dates

EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
_EARLIEST_EPOCH = int(EARLIEST.timestamp())


def parse_timestamp(value: object) -> datetime | None:
    """A source's date as a timezone-aware UTC datetime, or None.

    Accepts Unix seconds (int, float or digits: Reddit's ``created_utc``), ISO 8601
    (``2024-01-05T10:00:00Z``, WordPress's ``2024-01-05 10:00:00``), RFC 2822 (RSS ``pubDate``)
    and the written dates pages show ("March 3, 2024 9:15 am"). A date without a zone is taken
    as UTC (the fields read are the sources' GMT ones). WordPress's "0000-00-00 00:00:00" (never
    published) is None. Dates before 1995 or more than a day in the future are not plausible
    dates of a post on the web: they become None and the record is kept.
    """
    parsed: datetime | None = None
    if type(value) is int and _EARLIEST_EPOCH <= value <= time.time() + 86400:
        return datetime.fromtimestamp(value, UTC)  # the common case in dumps, checked once
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        if not text or text.startswith("0000-00-00"):
            return None
        if re.fullmatch(r"\d+(\.\d+)?", text):
            parsed = _from_epoch(float(text))
        else:
            parsed = _from_text(text)
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed < EARLIEST or parsed > datetime.now(UTC) + timedelta(days=1):
        return None
    return parsed


def _from_epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_text(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if not re.search(r"\b(19|20)\d\d\b", text):
        return None  # no year written: dateutil would fill in today's
    try:
        return dateutil_parser.parse(text)
    except (ValueError, OverflowError, dateutil_parser.ParserError):
        return None


# ---------------------------------------------------------------- authors

_LOST_AUTHORS = {"", "[deleted]", "[removed]"}


def author_fields(name: str | None, *, anonymous: bool = False) -> tuple[str | None, bool]:
    """(author, author_is_anonymous): None for a lost or deleted name; anonymous also for names that
    name nobody ("Anonymous", "Do not print my name", by the text format's rules) or when the source says so."""
    name = html.unescape(name).strip() if name else ""
    if name in _LOST_AUTHORS:
        return None, True
    return name, anonymous or is_anonymous_author(name)


REMOVED_BODIES = ("[removed]", "[deleted]")


def comment_body(text: str) -> str:
    """A comment body whose text the source removed is "" (not text to count or analyse)."""
    return "" if text.strip() in REMOVED_BODIES else text


# ---------------------------------------------------------------- bytes

def read_all(open_binary: Callable[[], BinaryIO]) -> bytes:
    with open_binary() as stream:
        chunks = []
        while chunk := stream.read(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)


def decode_text(data: bytes) -> str:
    """Bytes of a page or an export as text (UTF-8 or Windows-1252, mojibake repaired)."""
    try:
        return decode_page(data)
    except UndecodableFile as error:
        raise RejectedSource(str(error)) from None


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Reddit dump archives are compressed with --long=31: a 2 GiB window.
ZSTD_MAX_WINDOW = 1 << 31


class TruncatedStream(Exception):
    """The compressed stream ended inside a frame."""


def zstd_chunks(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """Decompressed chunks of a zstd stream (one frame or several), in bounded memory.

    Raises TruncatedStream when the input ends inside a frame (zstandard's stream reader
    would just stop), zstandard.ZstdError when the data is corrupt."""
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    dobj = dctx.decompressobj()
    in_frame = False
    for raw in compressed:
        while raw:
            out = dobj.decompress(raw)
            in_frame = True
            if out:
                yield out
            if dobj.eof:
                raw = dobj.unused_data
                dobj = dctx.decompressobj()
                in_frame = False
            else:
                raw = b""
    if in_frame:
        raise TruncatedStream()


def raw_chunks(stream: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines (without their end) of a stream of chunks; a last line without a newline included."""
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def zstd_head(head: bytes, limit: int = 1 << 16) -> bytes:
    """The decompressed start of a zstd stream given its first bytes (the rest is missing: fine)."""
    dobj = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).decompressobj()
    try:
        return dobj.decompress(head)[:limit]
    except zstandard.ZstdError:
        return b""


# ---------------------------------------------------------------- threads

def thread_order(comments: list[SourceComment]) -> list[SourceComment]:
    """Comments of one document in the order a page shows them: oldest thread first, a parent before
    its replies, replies oldest first (WordPress's and Disqus's default order; exports store
    comments in any order). A reply whose parent is not among them is placed as a thread of its
    own (it keeps its parent_key: assemble_threads decides what a missing parent means)."""
    by_key = {c.key for c in comments if c.key is not None}
    children: dict[str | None, list[SourceComment]] = {}
    for c in comments:
        parent = c.parent_key if c.parent_key in by_key and c.parent_key != c.key else None
        children.setdefault(parent, []).append(c)

    def order(c: SourceComment) -> tuple:
        return (c.published_at is None, c.published_at or EARLIEST, _numeric_key(c.key))

    ordered: list[SourceComment] = []
    seen: set[int] = set()
    stack = sorted(children.get(None, []), key=order, reverse=True)
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        ordered.append(c)
        stack.extend(sorted(children.get(c.key, []), key=order, reverse=True))
    # Comments caught in a cycle of parents (corrupt data) come last rather than not at all.
    ordered.extend(c for c in comments if id(c) not in seen)
    return ordered


def _numeric_key(key: str | None) -> tuple:
    return (0, int(key), "") if key is not None and key.isdigit() else (1, 0, key or "")
