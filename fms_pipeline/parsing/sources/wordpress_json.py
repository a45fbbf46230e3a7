"""WordPress REST API JSON: a post (``/wp-json/wp/v2/posts/<id>``: ``id``, ``date_gmt``, ``link``,
``title.rendered``, ``content.rendered``, with ``_embedded.author`` when saved with ``?_embed``)
holding its comments (``/wp-json/wp/v2/comments?post=<id>``: ``id``, ``post``, ``parent``,
``author_name``, ``date_gmt``, ``content.rendered``, ``status``, ``type``) in a ``comments``
array; a list of such posts; or a comments array alone. Comments whose ``status`` is not
"approved" (spam, trash, held) and pingbacks or trackbacks are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from fms_pipeline.parsing.sources.common import (
    author_fields,
    html_to_text,
    parse_timestamp,
    read_all,
    thread_order,
)
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SourceComment, SourceDocument, SourceFormat

FORMAT = SourceFormat("wordpress_json", streaming=False)
EXTENSIONS = {"", ".json", ".txt"}
_REST_FIELD = re.compile(r'"(rendered|author_name|date_gmt)"\s*:')


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and head.lstrip()[:1] in ("{", "[") and _REST_FIELD.search(head) is not None


def _rendered(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _is_post(value: object) -> bool:
    return isinstance(value, dict) and "id" in value and ("content" in value or "title" in value)


def _is_comment(value: object) -> bool:
    return isinstance(value, dict) and "id" in value and "post" in value and "content" in value


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    try:
        value = json.loads(read_all(open_binary))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RejectedSource(f"not valid JSON: {error}") from None
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
    for post in posts:
        document = _document(post)
        yield document
        comments = post.get("comments") or []
        if not isinstance(comments, list):
            raise RejectedSource(f"post {document.key}: 'comments' is not a list")
        yield from thread_order([c for c in (_comment(c, document.key) for c in comments if _is_comment(c)) if c])
    by_post: dict[str, list[dict]] = {}
    for c in loose:
        by_post.setdefault(str(c["post"]), []).append(c)
    for post_key, comments in by_post.items():
        # Comments saved without their post: the post is known by its id and address only.
        link = next((c.get("link") for c in comments if isinstance(c.get("link"), str)), None)
        url = link.split("#", 1)[0] if link else None
        yield SourceDocument(key=post_key, title=None, byline=None, body="", url=url,
                             community=_host(url), published_at=None, has_comment_section=True)
        yield from thread_order([c for c in (_comment(c, post_key) for c in comments) if c])


def _host(url: str | None) -> str | None:
    return (urlsplit(url).hostname or None) if url else None


def _document(post: dict) -> SourceDocument:
    embedded_authors = (post.get("_embedded") or {}).get("author") or []
    byline = embedded_authors[0].get("name") if embedded_authors and isinstance(embedded_authors[0], dict) else None
    link = post.get("link") if isinstance(post.get("link"), str) else None
    return SourceDocument(
        key=str(post["id"]),
        title=html_to_text(_rendered(post.get("title"))) or None,
        byline=byline or None,
        body=html_to_text(_rendered(post.get("content"))),
        url=link,
        community=_host(link),
        published_at=parse_timestamp(post.get("date_gmt")),
        has_comment_section=post.get("comment_status") == "open" or bool(post.get("comments")),
    )


def _comment(comment: dict, post_key: str) -> SourceComment | None:
    if comment.get("status", "approved") != "approved" or comment.get("type", "comment") in ("pingback", "trackback"):
        return None
    parent = comment.get("parent")
    author, anonymous = author_fields(comment.get("author_name"))
    return SourceComment(
        document_key=post_key,
        key=str(comment["id"]),
        parent_key=str(parent) if parent not in (None, 0, "0", "") else None,
        author=author,
        author_is_anonymous=anonymous,
        body=html_to_text(_rendered(comment.get("content"))),
        published_at=parse_timestamp(comment.get("date_gmt")),
        score=None,
    )
