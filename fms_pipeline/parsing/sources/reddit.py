"""Reddit's submission (``t3``) and comment (``t1``) objects, shared by the API-thread and the dump readers.

Field names are Reddit's own (the API's ``data`` of a ``t3``/``t1`` thing, and the dump archives,
which store the same objects one per line): ``id``, ``name``, ``link_id`` ("t3_<submission id>"),
``parent_id`` ("t1_<comment id>" for a reply, "t3_<submission id>" at top level), ``author``,
``created_utc``, ``title``, ``selftext``, ``body``, ``subreddit``, ``score``, ``permalink``.
"""

from __future__ import annotations

from fms_pipeline.parsing.sources.common import (
    BadRecord,
    author_fields,
    comment_body,
    id_field,
    parse_timestamp,
    plain_text,
    text_field,
    whole_number,
)
from fms_pipeline.parsing.sources.model import SourceComment, SourceDocument

SITE = "https://www.reddit.com"


def strip_prefix(fullname: object) -> str | None:
    """"t3_abc" -> "abc" (ids without their kind prefix, as in ``id``)."""
    if not isinstance(fullname, str) or not fullname:
        return None
    kind, sep, rest = fullname.partition("_")
    return rest if sep and kind in ("t1", "t3") else fullname


def is_comment(data: dict) -> bool:
    return "body" in data or "link_id" in data


def is_submission(data: dict) -> bool:
    return "title" in data and not is_comment(data)


def _key(data: dict) -> str | None:
    return id_field(data, "id") or strip_prefix(text_field(data, "name"))


def submission(data: dict) -> SourceDocument:
    """A ``t3``'s fields; a field of the wrong type (a number for a text, a list, an object) raises BadRecord."""
    author, _ = author_fields(text_field(data, "author"))
    permalink = text_field(data, "permalink")
    return SourceDocument(
        key=_key(data),
        title=plain_text(text_field(data, "title") or "") or None,
        byline=author,
        body=comment_body(plain_text(text_field(data, "selftext") or "")),
        url=SITE + permalink if permalink and permalink.startswith("/") else permalink or None,
        community=text_field(data, "subreddit") or None,
        published_at=parse_timestamp(data.get("created_utc")),
        has_comment_section=True,
    )


def comment(data: dict, document_key: str | None = None) -> SourceComment:
    """A ``t1``'s fields; a field of the wrong type, or a score that is not a whole number (NaN, 1e999), raises BadRecord."""
    author, anonymous = author_fields(text_field(data, "author"))
    parent = text_field(data, "parent_id")
    link = text_field(data, "link_id")
    return SourceComment(
        document_key=strip_prefix(link) or document_key,
        key=_key(data),
        parent_key=strip_prefix(parent) if parent and parent.startswith("t1_") else None,
        author=author,
        author_is_anonymous=anonymous,
        body=comment_body(plain_text(text_field(data, "body") or "")),
        published_at=parse_timestamp(data.get("created_utc")),
        score=whole_number(data.get("score"), "score"),
    )


def keyed(record: SourceDocument | SourceComment) -> SourceDocument | SourceComment:
    if record.key is None:
        raise BadRecord("no id")
    return record
