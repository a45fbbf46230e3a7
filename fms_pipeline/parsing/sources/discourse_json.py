"""A Discourse topic as its JSON API returns it (``/t/<id>.json``, or ``/t/<slug>/<id>.json``;
add ``?print=true`` for up to 1,000 posts, else the first 20): ``id``, ``title``, ``created_at``,
``post_stream.posts`` (``post_number``, ``username``, ``created_at``, ``cooked`` HTML,
``reply_to_post_number``, ``post_type``, ``deleted_at``, ``hidden``, ``actions_summary``).

As the topic's page (``forums.py``): the topic is the document (no body of its own), every post a
comment keyed by its post number, in post order; a post replies to ``reply_to_post_number``, else to
the post it quotes (``aside.quote[data-post]`` in ``cooked``, quoted text left out of the body).
Small-action posts ("closed this topic", ``post_type`` 3), deleted and hidden posts are left out.
The JSON holds no site address: the document's url and community are NULL. The score is the
post's like count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from selectolax.lexbor import LexborHTMLParser

from fms_pipeline.parsing.sources.common import (
    author_fields,
    html_to_text,
    isolated,
    load_json,
    parse_timestamp,
    read_all,
)
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    SourceFormat,
)

FORMAT = SourceFormat("discourse_json", streaming=False)
EXTENSIONS = {"", ".json", ".txt"}
# The topic's own fields may come after 64 KiB of posts: the posts' fields are what the head holds.
_TOPIC_FIELD = re.compile(r'"(post_stream|post_number|cooked)"\s*:')
_SMALL_ACTION = 3
_LIKE = 2  # the id of a like in actions_summary


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and head.lstrip()[:1] == "{" and len(set(_TOPIC_FIELD.findall(head))) == 3


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    topic = load_json(read_all(open_binary))
    stream = topic.get("post_stream") if isinstance(topic, dict) else None
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(posts, list):
        raise RejectedSource("not a Discourse topic: no post_stream.posts list")
    key = str(topic.get("id")) if topic.get("id") is not None else None
    kept: list[SourceComment] = []
    skipped: list[SkippedRecord] = []
    numbers = {p.get("post_number") for p in posts if isinstance(p, dict)}

    def read_post(item: tuple[int, object]) -> SourceComment | SkippedRecord | None:
        index, post = item
        if not isinstance(post, dict) or not isinstance(post.get("post_number"), int):
            return SkippedRecord(f"post {index}", "not a post (no post_number)")
        if post.get("post_type") == _SMALL_ACTION or post.get("deleted_at") or post.get("hidden"):
            return None
        number = post["post_number"]
        cooked = post.get("cooked") if isinstance(post.get("cooked"), str) else ""
        body, quoted = _body_and_quote(cooked)
        parent = post.get("reply_to_post_number")
        if not isinstance(parent, int) or parent not in numbers:
            parent = quoted if quoted in numbers else None
        author, anonymous = author_fields(post.get("username") if isinstance(post.get("username"), str) else None)
        likes = next((a.get("count") for a in post.get("actions_summary") or []
                      if isinstance(a, dict) and a.get("id") == _LIKE and isinstance(a.get("count"), int)), None)
        return SourceComment(
            document_key=key, key=str(number), parent_key=str(parent) if parent and parent != number else None,
            author=author, author_is_anonymous=anonymous, body=body,
            published_at=parse_timestamp(post.get("created_at")), score=likes,
        )

    # One post that cannot be read is a skipped record, never the topic (common.isolated).
    for record in isolated(enumerate(posts, start=1), read_post, lambda _n, item: f"post {item[0]}"):
        (kept if isinstance(record, SourceComment) else skipped).append(record)
    if not kept:
        raise RejectedSource(f"a Discourse topic with no readable posts ({len(posts)} in post_stream)")
    title = topic.get("title") or topic.get("fancy_title")
    yield SourceDocument(
        key=key, title=title if isinstance(title, str) else None, byline=kept[0].author, body="", url=None,
        community=None, published_at=parse_timestamp(topic.get("created_at")) or kept[0].published_at,
        has_comment_section=True,
    )
    yield from kept
    yield from skipped


def _body_and_quote(cooked: str) -> tuple[str, int | None]:
    """The post's text without the quotes in it, and the number of the first post it quotes."""
    if "<aside" not in cooked:
        return html_to_text(cooked), None
    tree = LexborHTMLParser(f"<html><body>{cooked}</body></html>")
    quoted = None
    for aside in tree.css("aside.quote"):
        number = aside.attributes.get("data-post") or ""
        if quoted is None and number.isdigit():
            quoted = int(number)
        aside.decompose()
    return html_to_text(tree.body.html or "" if tree.body else ""), quoted
