"""Reddit submissions and comments one JSON object a line, as dump archives store them (plain or ``.zst``).

Read as a stream, in bounded memory: a record is yielded as its line comes, so a comment may come
before its submission, and its submission may be absent (``assemble_threads`` keeps such
comments under a document for that submission id). A line that is not valid JSON, or not a
submission or a comment, is a SkippedRecord; the other lines are kept.

A truncated ``.zst`` (a download cut short): the complete lines before the cut are kept and the
cut is reported as a SkippedRecord at the end, so nothing good is lost; only a stream that is
unreadable before its first complete line rejects the file.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard

from fms_pipeline.parsing.sources import reddit
from fms_pipeline.parsing.sources.common import ZSTD_MAGIC, TruncatedStream, raw_chunks, split_lines, zstd_chunks
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SkippedRecord, SourceFormat

FORMAT = SourceFormat("reddit_ndjson", streaming=True)
EXTENSIONS = {"", ".ndjson", ".jsonl", ".json", ".txt"}
_DECODER = json.JSONDecoder()
_FIRST_LINE = re.compile(r"^\s*(\{[^\n]*\})\s*(\n|$)")


def sniff(extension: str, head: str) -> bool:
    """The first line is a JSON object with a Reddit dump's fields (a subreddit and a creation time,
    and a title or a body)."""
    if extension not in EXTENSIONS:
        return False
    match = _FIRST_LINE.match(head)
    if not match:
        return False
    try:
        first = json.loads(match.group(1))
    except json.JSONDecodeError:
        return False
    return (isinstance(first, dict) and "subreddit" in first and "created_utc" in first
            and (reddit.is_comment(first) or reddit.is_submission(first)))


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    with open_binary() as stream:
        chunks = raw_chunks(stream)
        first = next(chunks, b"")
        chunks = itertools.chain([first], chunks)
        compressed = first.startswith(ZSTD_MAGIC)
        lines = split_lines(zstd_chunks(chunks) if compressed else chunks)
        number = 0
        try:
            for number, line in enumerate(lines, start=1):
                record = _record(line, number)
                if record is not None:
                    yield record
        except (TruncatedStream, zstandard.ZstdError) as error:
            problem = ("the .zst stream is truncated (the file ends inside a compressed frame)"
                       if isinstance(error, TruncatedStream) else f"the .zst stream is corrupt ({error})")
            if number == 0:
                raise RejectedSource(f"{problem}, before its first complete line") from None
            yield SkippedRecord(f"after line {number}", f"{problem}: the rest of the file is lost")


def _record(line: bytes, number: int) -> Record | None:
    if not line.strip():
        return None
    try:
        data = _DECODER.decode(line.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return SkippedRecord(f"line {number}", f"not valid JSON: {reason}")
    if not isinstance(data, dict):
        return SkippedRecord(f"line {number}", f"a JSON {type(data).__name__}, not an object")
    if reddit.is_comment(data):
        record = reddit.comment(data)
    elif reddit.is_submission(data):
        record = reddit.submission(data)
    else:
        return SkippedRecord(f"line {number}", "neither a submission (title) nor a comment (body, link_id)")
    if record.key is None:
        return SkippedRecord(f"line {number}", "no id")
    return record
