"""The text of a page as a browser copies it (``parsing/thread_format.py``): one document, then its
comments in page order."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fms_pipeline.parsing.sources.common import decode_text, read_all
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SourceComment,
    SourceDocument,
    SourceFormat,
)
from fms_pipeline.parsing.thread_format import UnparseablePage, is_anonymous_author, parse_page

FORMAT = SourceFormat("text", streaming=False)
EXTENSIONS = {"", ".txt", ".text"}


_MARKUP_OR_JSON = re.compile(r"^\s*(<\?xml|<!doctype|<html|<rss|<feed|<disqus|[\[{]\s*[\"\[{])", re.I)


def sniff(extension: str, head: str) -> bool:
    """A text file that does not start as markup or JSON (those formats are tried first, and markup or
    JSON none of them reads is rejected with its own reason, not read as a page)."""
    return extension in EXTENSIONS and _MARKUP_OR_JSON.match(head) is None


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    try:
        page = parse_page(decode_text(read_all(open_binary)))
    except UnparseablePage as error:
        raise RejectedSource(str(error)) from None
    yield SourceDocument(
        key=None, title=page.title, byline=page.byline, body=page.body, url=None, community=None,
        published_at=None, has_comment_section=page.has_comment_section,
    )
    for comment in page.comments:
        yield SourceComment(  # the author exactly as the page wrote it, as before source formats existed
            document_key=None, key=None, parent_key=None, author=comment.author,
            author_is_anonymous=comment.author is None or is_anonymous_author(comment.author),
            body=comment.body, published_at=None, score=None,
        )
