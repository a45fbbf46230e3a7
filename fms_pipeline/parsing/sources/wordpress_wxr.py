"""WordPress's export (Tools > Export: WXR, an RSS file with ``wp:`` elements): every published post or
page (``<item>`` with ``wp:post_type`` post or page and ``wp:status`` publish) with its approved
comments (``<wp:comment>``: ``comment_approved`` 1; spam, trash, held comments, pingbacks and
trackbacks left out). Versions 1.0 to 1.2, the namespace in its http or https form (WordPress.com);
1.0 has no ``wp:author`` list, so the byline is then the ``dc:creator`` login. The post's text is
``content:encoded`` as WordPress stores it (blank lines are paragraphs). An item or a comment without
its id, or whose id is not a whole number as WordPress writes them, is a SkippedRecord (never merged
with another).
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
    isolated,
    parse_timestamp,
    read_all,
    thread_order,
)
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SourceComment, SourceDocument, SourceFormat
from fms_pipeline.parsing.sources.xml_common import after_prolog, child_text, children, local_name, parse_xml

FORMAT = SourceFormat("wordpress_wxr", streaming=False)
EXTENSIONS = {".xml", ".wxr", ".txt", ""}
# Every WXR version WordPress has written (1.0, 1.1, 1.2), with the namespace in either scheme: WordPress.com
# writes xmlns:wp="https://wordpress.org/export/1.2/", self-hosted WordPress the http form.
_WXR = re.compile(r"<rss\b[^>]*xmlns:wp=[\"']https?://wordpress\.org/export/1\.[0-2]/[\"']", re.DOTALL)
_PUBLISHED_TYPES = {"post", "page"}


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and _WXR.search(after_prolog(head)[:8192]) is not None


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    root = parse_xml(read_all(open_binary))
    channel = children(root, "channel")
    if local_name(root) != "rss" or not channel:
        raise RejectedSource("not a WordPress export: no <rss><channel>")
    channel = channel[0]
    items = children(channel, "item")
    if not items:
        raise RejectedSource("a WordPress export with no items (no posts or pages in it)")
    display_names = {
        child_text(author, "author_login"): child_text(author, "author_display_name")
        for author in children(channel, "author")
    }
    published = [item for item in items
                 if child_text(item, "post_type") in _PUBLISHED_TYPES and child_text(item, "status") == "publish"]
    if not published:
        raise RejectedSource(f"a WordPress export whose {len(items)} items hold no published post or page")
    for number, item in enumerate(published, start=1):
        documents = list(isolated([item], lambda i: _document(i, display_names), lambda _n, i: _where("item", i, number)))
        yield from documents
        if not isinstance(documents[0], SourceDocument):
            continue  # its comments have no post to go under
        key = documents[0].key
        good: list[SourceComment] = []
        for record in isolated(children(item, "comment"), lambda element: _comment(element, key),
                               lambda n, element: f"{_where('item', item, number)}, comment "
                                                  f"{child_text(element, 'comment_id')[:40] or f'(item {n})'}"):
            if isinstance(record, SourceComment):
                good.append(record)
            else:
                yield record
        yield from thread_order(good)


def _where(what: str, item, number: int) -> str:
    post_id = child_text(item, "post_id")
    return f"{what} {post_id[:40]}" if post_id else f"{what} {number} (no post_id)"


def _number(value: str, name: str) -> str:
    """A WordPress id: a whole number of at most 20 digits (an unsigned 64-bit integer)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise BadRecord(f"{name} {value[:40]!r}{'...' if len(value) > 40 else ''} is not a WordPress id "
                        "(a whole number)" if value else f"no {name}")
    return value


def _document(item, display_names: dict[str, str]) -> SourceDocument:
    key = _number(child_text(item, "post_id"), "post_id")
    link = child_text(item, "link") or None
    creator = child_text(item, "creator")
    return SourceDocument(
        key=key,
        title=html_to_text(child_text(item, "title")) or None,
        byline=display_names.get(creator) or creator or None,
        body=html_to_text(child_text(item, "encoded", "purl.org/rss/1.0/modules/content"), autop=True),
        url=link,
        community=(urlsplit(link).hostname or None) if link else None,
        published_at=(parse_timestamp(child_text(item, "post_date_gmt"))
                      or parse_timestamp(child_text(item, "pubDate"))),
        has_comment_section=child_text(item, "comment_status") == "open" or bool(children(item, "comment")),
    )


def _comment(element, post_key: str) -> SourceComment | None:
    if child_text(element, "comment_approved") != "1":
        return None
    if child_text(element, "comment_type") in ("pingback", "trackback"):
        return None
    key = _number(child_text(element, "comment_id"), "comment_id")
    parent = child_text(element, "comment_parent")
    author, anonymous = author_fields(child_text(element, "comment_author"))
    return SourceComment(
        document_key=post_key,
        key=key,
        parent_key=_number(parent, "comment_parent") if parent not in ("", "0") else None,
        author=author,
        author_is_anonymous=anonymous,
        body=html_to_text(child_text(element, "comment_content"), autop=True),
        published_at=parse_timestamp(child_text(element, "comment_date_gmt")),
        score=None,
    )
