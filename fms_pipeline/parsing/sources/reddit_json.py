"""A Reddit thread as the API returns it (and a browser saves ``/comments/<id>.json``): a Listing holding
the ``t3`` submission, then a Listing of ``t1`` comments whose ``replies`` nest further Listings.
``more`` stubs (comments not loaded) are not comments. A single Listing (a subreddit's page of
submissions, or of comments) is read too. A thing of the wrong shape is a SkippedRecord; a thread
of any depth is read (JSON nested deeper than ``limits.MAX_JSON_DEPTH`` is left out, as skipped).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fms_pipeline import limits
from fms_pipeline.parsing.sources import reddit
from fms_pipeline.parsing.sources.common import BadRecord, TooDeep, isolated, kind_of, load_json, read_all
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SkippedRecord, SourceDocument, SourceFormat

FORMAT = SourceFormat("reddit_json", streaming=False)
EXTENSIONS = {"", ".json", ".txt"}
_LISTING = re.compile(r'^\s*[\[{][^"]{0,20}"kind"\s*:\s*"Listing"')


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and _LISTING.search(head[:1024]) is not None


def _listing_children(value: object, where: str) -> list:
    if not (isinstance(value, dict) and value.get("kind") == "Listing" and isinstance(value.get("data"), dict)
            and isinstance(value["data"].get("children"), list)):
        raise RejectedSource(f"JSON of the wrong shape for a Reddit thread: {where} is not a Listing with children")
    return value["data"]["children"]


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    value = load_json(read_all(open_binary))
    listings = value if isinstance(value, list) else [value]
    if not listings:
        raise RejectedSource("JSON of the wrong shape for a Reddit thread: an empty array")
    things = [thing for i, listing in enumerate(listings) for thing in _listing_children(listing, f"item {i + 1}")]
    submission_key = None  # comments follow their submission (a thread) or carry link_id (a comment listing)
    for number, thing in enumerate(things, start=1):
        if not isinstance(thing, dict) or not isinstance(thing.get("data"), dict):
            yield SkippedRecord(f"Listing child {number}", "not a Reddit thing (no kind and data)")
            continue
        kind = thing.get("kind")
        if kind == "t3":
            for record in isolated([thing["data"]], lambda data: reddit.keyed(reddit.submission(data)),
                                   lambda _n, data: _where("submission", data, number)):
                if isinstance(record, SourceDocument):
                    submission_key = record.key
                yield record
        elif kind == "t1":
            yield from _thread(thing, submission_key)
        elif kind != "more":
            yield SkippedRecord(_where("thing", thing["data"], number),
                                f"kind {kind!r:.40} is not a submission or a comment")


def _where(what: str, data: dict, number: int | None) -> str:
    name = data.get("name") or data.get("id")
    if isinstance(name, str | int) and not isinstance(name, bool):
        return f"{what} {str(name)[:40]}"
    return f"{what} (Listing child {number})" if number else f"{what} without an id"


def _thread(top: dict, submission_key: str | None) -> Iterator[Record]:
    """The comment and its replies in page order (a parent before its replies); no recursion, so no
    limit on depth. A comment of the wrong shape is a SkippedRecord; its replies are still read."""
    stack = [top]

    def replies_of(data: dict) -> list:
        replies = data.get("replies")
        if replies in (None, ""):  # Reddit writes "" for no replies
            return []
        listing = replies.get("data") if isinstance(replies, dict) else None
        children = listing.get("children") if isinstance(listing, dict) else None
        if any(isinstance(v, TooDeep) for v in (replies, listing, children)) or (isinstance(children, list) and any(
                isinstance(c, TooDeep) or isinstance(c, dict) and isinstance(c.get("data"), TooDeep)
                for c in children)):
            raise BadRecord(f"replies nested deeper than {limits.MAX_JSON_DEPTH:,} levels of JSON: not read")
        if not isinstance(replies, dict):
            raise BadRecord(f"replies is {kind_of(replies)}, not a Listing")
        if not isinstance(listing, dict):
            raise BadRecord(f"replies.data is {kind_of(listing)}, not an object")
        if children is None:
            return []
        if not isinstance(children, list):
            raise BadRecord(f"replies.data.children is {kind_of(children)}, not a list")
        return children

    while stack:
        thing = stack.pop()
        if not isinstance(thing, dict) or thing.get("kind") != "t1" or not isinstance(thing.get("data"), dict):
            continue  # "more" stubs and anything else
        data = thing["data"]
        yield from isolated([data], lambda d: reddit.keyed(reddit.comment(d, submission_key)),
                            lambda _n, d: _where("comment", d, None))
        yield from isolated([data], lambda d: stack.extend(reversed(replies_of(d))),
                            lambda _n, d: _where("replies of comment", d, None))
