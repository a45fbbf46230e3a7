"""What every source-format module yields: documents, comments and the records it had to skip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class RejectedSource(ValueError):
    """The file as a whole is unusable; ``str(error)`` says why (without the file name: the caller adds it)."""


@dataclass(frozen=True)
class SourceFormat:
    name: str  # "text", "html", "wordpress_json", "wordpress_wxr", "disqus_xml", "reddit_json", "reddit_ndjson", "table"
    streaming: bool  # read as a stream, exempt from the one-page size limit (dump formats)


@dataclass
class SourceDocument:
    key: str | None  # the source's own id (Reddit submission, WordPress post, Disqus thread); None for one-page formats
    title: str | None
    byline: str | None
    body: str  # plain text, paragraphs separated by "\n\n"
    url: str | None
    community: str | None  # the site's host name, or the subreddit
    published_at: datetime | None  # timezone-aware UTC; None when absent or implausible
    has_comment_section: bool


@dataclass
class SourceComment:
    document_key: str | None  # key of its SourceDocument (None for one-page formats)
    key: str | None  # the source's comment id; None when the format has none (copied text pages)
    parent_key: str | None  # key of the comment it replies to; None at top level
    author: str | None  # None for [deleted], [removed] or a lost name
    author_is_anonymous: bool
    body: str  # plain text; "" when the source removed it (assemble_threads drops those)
    published_at: datetime | None
    score: int | None
    # What a review table's row says it is about and how it rates it (tabular.py); None elsewhere.
    stated_drug: str | None = None  # the drug column: the lexicon's generic name, else the name as written
    stated_condition: str | None = None  # the condition column, as written
    rating: float | None = None  # the overall rating, a number
    ratings: list[dict] | None = None  # further ratings: {"name": column, "value": number or None, "label": text}


@dataclass
class SkippedRecord:
    where: str  # "line 17", "comment 123"
    reason: str  # "not valid JSON: Expecting ',' delimiter"


Record = SourceDocument | SourceComment | SkippedRecord
