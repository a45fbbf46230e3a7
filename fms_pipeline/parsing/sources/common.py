"""Helpers every source-format module shares: HTML to plain text, dates, authors, decoding, streams, lines,
JSON of any depth, and the isolation of one bad record (``isolated``, ``guarded``)."""

from __future__ import annotations

import html
import json
import logging
import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, TypeVar

from dateutil import parser as dateutil_parser
from selectolax.lexbor import LexborHTMLParser

from fms_pipeline import limits
from fms_pipeline.parsing.decode import UndecodableFile, decode_page
from fms_pipeline.parsing.sources import compression
from fms_pipeline.parsing.sources.compression import ZSTD_MAGIC, TruncatedStream  # noqa: F401 - their old home
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
)
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

T = TypeVar("T")

_LOST_AUTHORS = {"", "[deleted]", "[removed]"}


def author_fields(name: str | None, *, anonymous: bool = False) -> tuple[str | None, bool]:
    """(author, author_is_anonymous): None for a lost or deleted name; anonymous also for names that
    name nobody ("Anonymous", "Do not print my name", by the text format's rules) or when the source says so."""
    if name is not None and not isinstance(name, str):
        raise BadRecord(f"the author is {kind_of(name)}, not a name")
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
    """The whole content of a one-page file (decompressed when it is compressed), refused over
    ``limits.MAX_PAGE_BYTES``."""
    with open_binary() as stream:
        chunks = []
        size = 0
        while chunk := stream.read(1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > limits.MAX_PAGE_BYTES:
                raise RejectedSource(f"over the {limits.MAX_PAGE_BYTES:,}-byte limit for one page once decompressed")
    return b"".join(chunks)


def decode_text(data: bytes) -> str:
    """Bytes of a page or an export as text (UTF-8 or Windows-1252, mojibake repaired)."""
    try:
        return decode_page(data)
    except UndecodableFile as error:
        raise RejectedSource(str(error)) from None


def zstd_chunks(compressed: Iterable[bytes]) -> Iterator[bytes]:
    """Decompressed chunks of a zstd stream in bounded memory (``compression.decompressed_chunks``)."""
    return compression.decompressed_chunks("zstd", compressed)


def raw_chunks(stream: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


class OverlongLine:
    """A line longer than the bound, in place of its bytes (which were never held)."""

    __slots__ = ("length",)

    def __init__(self, length: int):
        self.length = length

    def reason(self) -> str:
        return f"a line of {self.length:,} bytes, longer than the {limits.MAX_LINE_BYTES:,}-byte limit: not read"


def split_lines(chunks: Iterable[bytes], max_line: int = limits.MAX_LINE_BYTES) -> Iterator[bytes | OverlongLine]:
    """Lines (without their end) of a stream of chunks; a last line without a newline included.

    A line longer than ``max_line`` bytes is an OverlongLine: its bytes are dropped as they come
    (memory holds at most ``max_line`` bytes of a line and one chunk, however long the line)."""
    parts: list[bytes] = []  # the start of the current line
    size = 0
    overlong = 0  # > 0: bytes of a too-long line seen so far (not kept)
    for chunk in chunks:
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if lines:
            first = lines[0]
            if overlong:
                yield OverlongLine(overlong + len(first))
            elif size + len(first) > max_line:
                yield OverlongLine(size + len(first))
            elif parts:
                parts.append(first)
                yield b"".join(parts)
            else:
                yield first
            parts, size, overlong = [], 0, 0
            if len(chunk) <= max_line:  # no line inside the chunk can be too long
                yield from lines[1:]
            else:
                for line in lines[1:]:
                    yield line if len(line) <= max_line else OverlongLine(len(line))
        if overlong:
            overlong += len(tail)
        elif size + len(tail) > max_line:
            parts, size, overlong = [], 0, size + len(tail)
        elif tail:
            parts.append(tail)
            size += len(tail)
    if overlong:
        yield OverlongLine(overlong)
    elif parts:
        yield b"".join(parts)


def zstd_head(head: bytes, limit: int = limits.SNIFF_BYTES) -> bytes:
    """The decompressed start of a zstd stream given its first bytes (``compression.decompressed_head``)."""
    return compression.decompressed_head("zstd", head, limit)


# ---------------------------------------------------------------- JSON

class TooDeep:
    """In place of a JSON value nested deeper than ``limits.MAX_JSON_DEPTH`` (left out, not parsed)."""

    def __repr__(self) -> str:
        return f"<JSON nested deeper than {limits.MAX_JSON_DEPTH:,} levels>"


TOO_DEEP = TooDeep()


def load_json(data: bytes | str):
    """A JSON document, however deeply nested: Python's parser, and where it stops (about 1,000
    levels) a parser without recursion that leaves values nested deeper than
    ``limits.MAX_JSON_DEPTH`` out (``TOO_DEEP`` in their place). Raises RejectedSource when the
    document is not valid JSON."""
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RejectedSource(f"not valid JSON: {error}") from None
    except RecursionError:
        pass
    if isinstance(data, bytes | bytearray):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    try:
        return _load_deep(data.removeprefix("\ufeff"), limits.MAX_JSON_DEPTH)
    except json.JSONDecodeError as error:
        raise RejectedSource(f"not valid JSON: {error}") from None


_WHITE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {"null": None, "true": True, "false": False, "NaN": float("nan"), "Infinity": float("inf"),
              "-Infinity": float("-inf")}
_STRUCTURE = re.compile(r'["\[\]{}]')


def _load_deep(s: str, max_depth: int):
    """JSON without recursion (an explicit stack of open containers)."""
    from json.decoder import scanstring

    def white(pos: int) -> int:
        return _WHITE.match(s, pos).end()

    def key_at(pos: int) -> tuple[str, int]:
        if s[pos:pos + 1] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", s, pos)
        key, pos = scanstring(s, pos + 1, True)
        pos = white(pos)
        if s[pos:pos + 1] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", s, pos)
        return key, white(pos + 1)

    def skip(pos: int) -> int:
        """The end of the container starting at ``pos``, its content not kept."""
        depth = 0
        while True:
            found = _STRUCTURE.search(s, pos)
            if found is None:
                raise json.JSONDecodeError("Unterminated container", s, pos)
            pos = found.end()
            mark = found.group()
            if mark == '"':
                _, pos = scanstring(s, pos, True)
            elif mark in "[{":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return pos

    stack: list[list] = []  # [container, key] of each open container
    pos = white(0)
    while True:
        char = s[pos:pos + 1]
        if char in ("{", "["):
            if len(stack) >= max_depth:
                value, pos = TOO_DEEP, skip(pos)
            else:
                container: dict | list = {} if char == "{" else []
                pos = white(pos + 1)
                if s[pos:pos + 1] == ("}" if char == "{" else "]"):
                    value, pos = container, pos + 1
                elif char == "{":
                    key, pos = key_at(pos)
                    stack.append([container, key])
                    continue
                else:
                    stack.append([container, None])
                    continue
        elif char == '"':
            value, pos = scanstring(s, pos + 1, True)
        else:
            number = _NUMBER.match(s, pos)
            if number:
                integer, fraction, exponent = number.groups()
                value = float(integer + (fraction or "") + (exponent or "")) if fraction or exponent else int(integer)
                pos = number.end()
            else:
                for word, constant in _CONSTANTS.items():
                    if s.startswith(word, pos):
                        value, pos = constant, pos + len(word)
                        break
                else:
                    raise json.JSONDecodeError("Expecting value", s, pos)
        while True:  # a value is complete: into its container, then what follows it
            if not stack:
                pos = white(pos)
                if pos != len(s):
                    raise json.JSONDecodeError("Extra data", s, pos)
                return value
            top = stack[-1]
            container = top[0]
            if isinstance(container, dict):
                container[top[1]] = value
            else:
                container.append(value)
            pos = white(pos)
            char = s[pos:pos + 1]
            if char == ",":
                pos = white(pos + 1)
                if isinstance(container, dict):
                    top[1], pos = key_at(pos)
                break
            if char == ("}" if isinstance(container, dict) else "]"):
                stack.pop()
                value, pos = container, pos + 1
                continue
            raise json.JSONDecodeError("Expecting ',' delimiter", s, pos)


# ---------------------------------------------------------------- one bad record never stops a file

class BadRecord(ValueError):
    """One record of a file is unusable; ``str(error)`` says why (the caller adds where)."""


def kind_of(value: object) -> str:
    """How a wrong value is named in a reason: "a number", "a list", "an object", ..."""
    if isinstance(value, TooDeep):
        return f"nested deeper than {limits.MAX_JSON_DEPTH:,} levels"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"a number ({value!r:.40})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def text_field(data: dict, name: str) -> str | None:
    """``data[name]`` when it is text or absent (None); a record holding anything else there is bad."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise BadRecord(f"{name} is {kind_of(value)}, not text")


def id_field(data: dict, name: str) -> str | None:
    """An id: text or a whole number (as text), None when absent; anything else makes the record bad."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value if value is None or value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadRecord(f"{name} is {kind_of(value)}, not an id")


INT32 = (-(1 << 31), (1 << 31) - 1)


def whole_number(value: object, name: str) -> int | None:
    """A count or a score: None when absent; a whole number within a 32-bit integer; anything else
    (NaN, 1e999, text, a list) makes the record bad."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRecord(f"{name} is {kind_of(value)}, not a whole number")
    if not INT32[0] <= value <= INT32[1]:
        raise BadRecord(f"{name} {value:.3g} is out of range" if abs(value) < 10 ** 300
                        else f"{name} is out of range")
    return value


_TEXT_FIELDS = {
    SourceDocument: ("key", "title", "byline", "url", "community"),
    SourceComment: ("document_key", "key", "parent_key", "author"),
}


_TEXT_VALUES = {kind: operator.attrgetter(*names, "body") for kind, names in _TEXT_FIELDS.items()}


def check_record(record: Record) -> None:
    """Every field of a document or comment of the type the tables hold; text that cannot be stored
    (lone surrogates from a JSON escape) repaired. Raises BadRecord naming the field otherwise.
    (Called once or twice for every record of a dump: the usual record is checked in one pass.)"""
    kind = type(record)
    if kind is SkippedRecord:
        return
    for value in _TEXT_VALUES[kind](record):
        if value is not None and (value.__class__ is not str or not value.isascii()):
            break
    else:
        if (record.published_at is None or record.published_at.__class__ is datetime) and (
                kind is SourceDocument and record.has_comment_section.__class__ is bool
                or kind is SourceComment and record.author_is_anonymous.__class__ is bool
                and (record.score is None or record.score.__class__ is int and INT32[0] <= record.score <= INT32[1])):
            return
    _check_slowly(record)


def _check_slowly(record: Record) -> None:
    for name in _TEXT_FIELDS[type(record)]:
        value = getattr(record, name)
        if value is not None and type(value) is not str:
            raise BadRecord(f"{name} is {kind_of(value)}, not text")
    if type(record.body) is not str:
        raise BadRecord(f"body is {kind_of(record.body)}, not text")
    if record.published_at is not None and not isinstance(record.published_at, datetime):
        raise BadRecord(f"published_at is {kind_of(record.published_at)}, not a date")
    if isinstance(record, SourceComment):
        if type(record.author_is_anonymous) is not bool:
            raise BadRecord("author_is_anonymous is not true/false")
        if record.score is not None:
            record.score = whole_number(record.score, "score")
    elif type(record.has_comment_section) is not bool:
        raise BadRecord("has_comment_section is not true/false")
    for name in (*_TEXT_FIELDS[type(record)], "body"):
        value = getattr(record, name)
        if value is not None and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                setattr(record, name, value.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def reason_of(error: BaseException) -> str:
    """A skipped record's reason from the error its conversion raised."""
    if isinstance(error, BadRecord | RejectedSource):
        return str(error)
    if isinstance(error, RecursionError):
        return "nested too deeply to read"
    text = str(error)
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return reason if len(reason) <= 300 else reason[:297] + "..."


def isolated(items: Iterable[T], convert: Callable[[T], object],
             where: Callable[[int, T], str]) -> Iterator[Record]:
    """``convert(item)`` of each item (a record, an iterable of records, or None), every record
    checked (``check_record``): an item whose conversion or check fails is a SkippedRecord at
    ``where(number, item)`` (number counts from 1) with the reason, and the next item goes on."""
    for number, item in enumerate(items, start=1):
        try:
            out = convert(item)
            if out is None:
                continue
            records = (out,) if out.__class__ in _RECORD_TYPES else list(out)
            for record in records:
                check_record(record)
        except Exception as error:  # noqa: BLE001 - any failure of one record is that record's
            try:
                place = where(number, item)
            except Exception:  # noqa: BLE001 - the item is too broken to name
                place = f"item {number}"
            yield SkippedRecord(place, reason_of(error))
            continue
        yield from records


_RECORD_TYPES = (SourceDocument, SourceComment, SkippedRecord)
log = logging.getLogger(__name__)


def guarded(records: Iterable[Record], format_name: str) -> Iterator[Record]:
    """A reader's records with the last-resort guard every reader gets (``read_source``): each record
    checked (a bad one is skipped, numbered by its place among the records); a compressed stream
    cut short or damaged keeps the records before it and ends with a SkippedRecord saying where
    (a file with none is rejected); any other failure of the reader rejects the file with the
    cause (and is logged with its traceback: a reader should not fail so)."""
    number = 0
    try:
        for record in records:
            number += 1
            try:
                check_record(record)
            except BadRecord as error:
                yield SkippedRecord(f"record {number}", str(error))
                continue
            yield record
    except (RejectedSource, OSError, EOFError):
        raise
    except compression.DamagedStream as error:
        if number == 0:
            raise RejectedSource(str(error)) from None
        yield SkippedRecord(f"after record {number}", f"{error}: the rest of the file is lost")
    except RecursionError:
        raise RejectedSource(f"nested too deeply to read (the {format_name} reader gave up after {number} "
                             "records)") from None
    except Exception as error:  # noqa: BLE001 - the reader's own failure: the file, not the run
        log.warning("the %s reader failed after %d records", format_name, number, exc_info=True)
        raise RejectedSource(f"the {format_name} reader failed after {number} records: {reason_of(error)}") from None


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
    """Ids that are numbers sort as numbers (by length, then digits: no int() of 5,000 digits),
    others after them as text."""
    if key is not None and key.isascii() and key.isdigit():
        digits = key.lstrip("0")
        return (0, len(digits), digits)
    return (1, 0, key or "")
