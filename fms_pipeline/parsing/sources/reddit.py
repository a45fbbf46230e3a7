"""Reddit's submission (``t3``) and comment (``t1``) objects, shared by the API-thread and the dump readers.

Field names are Reddit's own (the API's ``data`` of a ``t3``/``t1`` thing, and the dump archives,
which store the same objects one per line): ``id``, ``name``, ``link_id`` ("t3_<submission id>"),
``parent_id`` ("t1_<comment id>" for a reply, "t3_<submission id>" at top level), ``author``,
``created_utc``, ``title``, ``selftext``, ``body``, ``subreddit``, ``score``, ``permalink``.
"""

from __future__ import annotations

from fms_pipeline.parsing.sources.common import author_fields, comment_body, parse_timestamp, plain_text
from fms_pipeline.parsing.sources.model import SourceComment, SourceDocument

SITE = "https://www.reddit.com"


def strip_prefix(fullname: object) -> str | None:
    """"t3_abc" -> "abc" (ids without their kind prefix, as in ``id``)."""
    if not isinstance(fullname, str) or not fullname:
        return None
    kind, sep, rest = fullname.partition("_")
    return rest if sep and kind in ("t1", "t3") else fullname


def _score(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def is_comment(data: dict) -> bool:
    return "body" in data or "link_id" in data


def is_submission(data: dict) -> bool:
    return "title" in data and not is_comment(data)


def submission(data: dict) -> SourceDocument:
    author, _ = author_fields(data.get("author"))
    permalink = data.get("permalink")
    return SourceDocument(
        key=str(data["id"]) if data.get("id") is not None else strip_prefix(data.get("name")),
        title=plain_text(data.get("title") or "") or None,
        byline=author,
        body=comment_body(plain_text(data.get("selftext") or "")),
        url=SITE + permalink if isinstance(permalink, str) and permalink.startswith("/") else permalink or None,
        community=data.get("subreddit") or None,
        published_at=parse_timestamp(data.get("created_utc")),
        has_comment_section=True,
    )


def comment(data: dict, document_key: str | None = None) -> SourceComment:
    author, anonymous = author_fields(data.get("author"))
    parent = data.get("parent_id")
    return SourceComment(
        document_key=strip_prefix(data.get("link_id")) or document_key,
        key=str(data["id"]) if data.get("id") is not None else strip_prefix(data.get("name")),
        parent_key=strip_prefix(parent) if isinstance(parent, str) and parent.startswith("t1_") else None,
        author=author,
        author_is_anonymous=anonymous,
        body=comment_body(plain_text(data.get("body") or "")),
        published_at=parse_timestamp(data.get("created_utc")),
        score=_score(data.get("score")),
    )
