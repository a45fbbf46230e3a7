"""WordPress REST API JSON: a post (``/wp-json/wp/v2/posts/<id>``: ``id``, ``date_gmt``, ``link``,
``title.rendered``, ``content.rendered``, with ``_embedded.author`` when saved with ``?_embed``)
holding its comments (``/wp-json/wp/v2/comments?post=<id>``: ``id``, ``post``, ``parent``,
``author_name``, ``date_gmt``, ``content.rendered``, ``status``, ``type``) in a ``comments``
array; a list of such posts; or a comments array alone. Comments whose ``status`` is not
"approved" (spam, trash, held) and pingbacks or trackbacks are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from fms_pipeline.parsing.sources.common import (
    BadRecord,
    author_fields,
    html_to_text,
    id_field,
    isolated,
    kind_of,
    load_json,
    parse_timestamp,
    read_all,
    text_field,
    thread_order,
)
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    SourceFormat,
)

FORMAT = SourceFormat("wordpress_json", streaming=False)
EXTENSIONS = {"", ".json", ".txt"}
_REST_FIELD = re.compile(r'"(rendered|author_name|date_gmt)"\s*:')


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and head.lstrip()[:1] in ("{", "[") and _REST_FIELD.search(head) is not None


def _rendered(value: object, name: str) -> str:
    """``{"rendered": "..."}`` (or the text itself): "" when absent; a record holding anything else is bad."""
    if isinstance(value, dict):
        value = value.get("rendered")
        name += ".rendered"
    if value is None or isinstance(value, str):
        return value or ""
    raise BadRecord(f"{name} is {kind_of(value)}, not text")


def _is_post(value: object) -> bool:
    return isinstance(value, dict) and "id" in value and ("content" in value or "title" in value)


def _is_comment(value: object) -> bool:
    return isinstance(value, dict) and "id" in value and "post" in value and "content" in value


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    value = load_json(read_all(open_binary))
    if _is_post(value) and not _is_comment(value):
        posts, loose = [value], []
    elif isinstance(value, list) and value and all(_is_comment(v) for v in value):
        posts, loose = [], value
    elif isinstance(value, list) and value and all(_is_post(v) for v in value):
        posts, loose = value, []
    else:
        raise RejectedSource(
            "JSON of the wrong shape for WordPress: expected a post (id, title, content), "
            "a list of posts, or a list of comments (id, post, content)"
        )
    for number, post in enumerate(posts, start=1):
        documents = list(isolated([post], _document, lambda _n, p: _where("post", p, number)))
        yield from documents
        key = documents[0].key if isinstance(documents[0], SourceDocument) else _id(post, "id")
        comments = post.get("comments") or []
        if not isinstance(comments, list):
            yield SkippedRecord(_where("comments of post", post, number), f"comments is {kind_of(comments)}, not a list")
            continue
        yield from _thread(comments, key, lambda c: _is_comment(c))
    by_post: dict[str, list[dict]] = {}
    for c in loose:
        by_post.setdefault(_id(c, "post") or "", []).append(c)
    for post_key, comments in by_post.items():
        # Comments saved without their post: the post is known by its id and address only.
        link = next((c.get("link") for c in comments if isinstance(c.get("link"), str)), None)
        url = link.split("#", 1)[0] if link else None
        yield SourceDocument(key=post_key or None, title=None, byline=None, body="", url=url,
                             community=_host(url), published_at=None, has_comment_section=True)
        yield from _thread(comments, post_key or None, lambda c: True)


def _where(what: str, value: dict, number: int) -> str:
    key = value.get("id")
    return f"{what} {key}" if isinstance(key, str | int) and not isinstance(key, bool) else f"{what} (item {number})"


def _id(value: dict, name: str) -> str | None:
    try:
        return id_field(value, name)
    except BadRecord:
        return None


def _thread(comments: list, post_key: str | None, wanted) -> Iterator[Record]:
    """A post's comments in thread order; one of the wrong shape is a SkippedRecord."""
    good: list[SourceComment] = []
    for record in isolated(comments, lambda c: _comment(c, post_key) if wanted(c) else None,
                           lambda n, c: _where("comment", c, n) if isinstance(c, dict) else f"comment (item {n})"):
        if isinstance(record, SourceComment):
            good.append(record)
        else:
            yield record
    yield from thread_order(good)


def _host(url: str | None) -> str | None:
    try:
        return (urlsplit(url).hostname or None) if url else None
    except ValueError:  # "http://[bad" is not an address
        return None


def _document(post: dict) -> SourceDocument:
    embedded = post.get("_embedded")
    if embedded is not None and not isinstance(embedded, dict):
        raise BadRecord(f"_embedded is {kind_of(embedded)}, not an object")
    embedded_authors = (embedded or {}).get("author") or []
    if not isinstance(embedded_authors, list):
        raise BadRecord(f"_embedded.author is {kind_of(embedded_authors)}, not a list")
    byline = embedded_authors[0].get("name") if embedded_authors and isinstance(embedded_authors[0], dict) else None
    if byline is not None and not isinstance(byline, str):
        raise BadRecord(f"_embedded.author's name is {kind_of(byline)}, not text")
    link = text_field(post, "link")
    key = id_field(post, "id")
    if key is None:
        raise BadRecord("no id")
    return SourceDocument(
        key=key,
        title=html_to_text(_rendered(post.get("title"), "title")) or None,
        byline=byline or None,
        body=html_to_text(_rendered(post.get("content"), "content")),
        url=link,
        community=_host(link),
        published_at=parse_timestamp(post.get("date_gmt")),
        has_comment_section=post.get("comment_status") == "open" or bool(post.get("comments")),
    )


def _comment(comment: dict, post_key: str | None) -> SourceComment | None:
    if comment.get("status", "approved") != "approved" or comment.get("type", "comment") in ("pingback", "trackback"):
        return None
    parent = id_field(comment, "parent")
    key = id_field(comment, "id")
    if key is None:
        raise BadRecord("no id")
    author, anonymous = author_fields(text_field(comment, "author_name"))
    return SourceComment(
        document_key=post_key,
        key=key,
        parent_key=parent if parent not in (None, "0") else None,
        author=author,
        author_is_anonymous=anonymous,
        body=html_to_text(_rendered(comment.get("content"), "content")),
        published_at=parse_timestamp(comment.get("date_gmt")),
        score=None,
    )
