"""A Reddit thread as the API returns it (and a browser saves ``/comments/<id>.json``): a Listing holding
the ``t3`` submission, then a Listing of ``t1`` comments whose ``replies`` nest further Listings.
``more`` stubs (comments not loaded) are not comments. A single Listing (a subreddit's page of
submissions, or of comments) is read too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fms_pipeline.parsing.sources import reddit
from fms_pipeline.parsing.sources.common import read_all
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SkippedRecord, SourceFormat

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
    try:
        value = json.loads(read_all(open_binary))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RejectedSource(f"not valid JSON: {error}") from None
    listings = value if isinstance(value, list) else [value]
    if not listings:
        raise RejectedSource("JSON of the wrong shape for a Reddit thread: an empty array")
    things = [thing for i, listing in enumerate(listings) for thing in _listing_children(listing, f"item {i + 1}")]
    submission_key = None  # comments follow their submission (a thread) or carry link_id (a comment listing)
    for thing in things:
        if not isinstance(thing, dict) or not isinstance(thing.get("data"), dict):
            yield SkippedRecord("a Listing child", "not a Reddit thing (no kind and data)")
            continue
        if thing.get("kind") == "t3":
            document = reddit.submission(thing["data"])
            submission_key = document.key
            yield document
        elif thing.get("kind") == "t1":
            yield from _thread(thing, submission_key)
        elif thing.get("kind") != "more":
            yield SkippedRecord(f"thing {thing['data'].get('name', '?')}",
                                f"kind {thing.get('kind')!r} is not a submission or a comment")


def _thread(top: dict, submission_key: str | None) -> Iterator[Record]:
    """The comment and its replies in page order (a parent before its replies); no recursion limit."""
    stack = [top]
    while stack:
        thing = stack.pop()
        if not isinstance(thing, dict) or thing.get("kind") != "t1" or not isinstance(thing.get("data"), dict):
            continue  # "more" stubs and anything else
        data = thing["data"]
        yield reddit.comment(data, submission_key)
        replies = data.get("replies")
        if isinstance(replies, dict):
            children = (replies.get("data") or {}).get("children") or []
            stack.extend(reversed(children))
