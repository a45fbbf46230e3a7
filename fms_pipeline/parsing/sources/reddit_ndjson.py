"""Reddit submissions and comments one JSON object a line, as dump archives store them (plain or ``.zst``).

Read as a stream, in bounded memory: a record is yielded as its line comes, so a comment may come
before its submission, and its submission may be absent (``assemble_threads`` keeps such
comments under a document for that submission id). A line that is not valid JSON, or not a
submission or a comment, is a SkippedRecord; the other lines are kept.

A line of the wrong shape (a field of the wrong type, a score of NaN) or longer than
``limits.MAX_LINE_BYTES`` is a SkippedRecord too. A truncated or damaged compressed file (a
download cut short): the complete lines before the damage are kept and the damage is reported as a
SkippedRecord at the end, so nothing good is lost; only a stream that is unreadable before its
first complete line rejects the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fms_pipeline.parsing.sources import reddit
from fms_pipeline.parsing.sources.common import OverlongLine, isolated, raw_chunks, split_lines
from fms_pipeline.parsing.sources.compression import DamagedStream
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
    """``open_binary`` gives the content (``read_source`` decompresses a compressed file)."""
    with open_binary() as stream:
        numbered = enumerate(split_lines(raw_chunks(stream)), start=1)
        last = 0

        def lines():
            nonlocal last
            for last, line in numbered:  # noqa: B007 - last: how far the file was read
                yield last, line

        try:
            yield from isolated(lines(), _record, lambda _n, item: f"line {item[0]}")
        except DamagedStream as error:
            if last == 0:
                raise RejectedSource(f"{error}, before its first complete line") from None
            yield SkippedRecord(f"after line {last}", f"{error}: the rest of the file is lost")


def _record(item: tuple[int, bytes | OverlongLine]) -> Record | None:
    number, line = item
    if isinstance(line, OverlongLine):
        return SkippedRecord(f"line {number}", line.reason())
    if not line.strip():
        return None
    try:
        data = _DECODER.decode(line.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        return SkippedRecord(f"line {number}", f"not valid JSON: {reason}")
    except RecursionError:
        return SkippedRecord(f"line {number}", "JSON nested too deeply to read")
    if not isinstance(data, dict):
        return SkippedRecord(f"line {number}", f"a JSON {type(data).__name__}, not an object")
    if reddit.is_comment(data):
        return reddit.keyed(reddit.comment(data))
    if reddit.is_submission(data):
        return reddit.keyed(reddit.submission(data))
    return SkippedRecord(f"line {number}", "neither a submission (title) nor a comment (body, link_id)")
