"""Disqus's comment export (``<disqus xmlns="http://disqus.com">``): a ``<thread dsq:id>`` per page
(``link``, ``title``, ``createdAt``) and a ``<post dsq:id>`` per comment (``message`` in HTML,
``createdAt``, ``author/name``, ``author/isAnonymous``, ``thread dsq:id``, ``parent dsq:id`` for a
reply). Deleted and spam posts (``isDeleted``, ``isSpam``) and deleted threads are left out; a
thread or post without its ``dsq:id`` is a SkippedRecord (never merged with another).
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

FORMAT = SourceFormat("disqus_xml", streaming=False)
EXTENSIONS = {".xml", ".txt", ""}
_DISQUS = re.compile(r"<disqus\b[^>]*xmlns=\"http://disqus\.com\"", re.DOTALL)
DSQ_ID = "{http://disqus.com/disqus-internals}id"


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and _DISQUS.search(after_prolog(head)[:8192]) is not None


def _true(element, name: str) -> bool:
    return child_text(element, name).lower() == "true"


def _ref(element, name: str) -> str | None:
    found = children(element, name)
    return found[0].get(DSQ_ID) if found else None


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    root = parse_xml(read_all(open_binary))
    if local_name(root) != "disqus":
        raise RejectedSource("not a Disqus export: the root element is not <disqus>")
    all_threads = children(root, "thread")
    threads = [t for t in all_threads if not _true(t, "isDeleted")]
    if not threads:
        raise RejectedSource("a Disqus export whose threads are all deleted" if all_threads
                             else "a Disqus export with no threads")
    deleted_threads = {t.get(DSQ_ID) for t in all_threads if _true(t, "isDeleted")}
    comments: dict[str | None, list[SourceComment]] = {}
    for record in isolated(children(root, "post"), lambda post: _post(post, deleted_threads),
                           lambda n, post: f"post {post.get(DSQ_ID) or f'{n} (no dsq:id)'}"):
        if isinstance(record, SourceComment):
            comments.setdefault(record.document_key, []).append(record)
        else:
            yield record
    for number, thread in enumerate(threads, start=1):
        documents = list(isolated([thread], _thread, lambda _n, t: f"thread {t.get(DSQ_ID) or f'{number} (no dsq:id)'}"))
        yield from documents
        if isinstance(documents[0], SourceDocument):
            yield from thread_order(comments.pop(documents[0].key, []))
    # Posts of a thread the export does not hold stay, under a document for that thread id (assemble_threads).
    for thread_comments in comments.values():
        yield from thread_order(thread_comments)


def _id(element, name: str) -> str:
    key = element.get(DSQ_ID)
    if not key or not key.strip():
        raise BadRecord(f"{name} without a dsq:id")
    return key


def _post(post, deleted_threads: set) -> SourceComment | None:
    thread_key = _ref(post, "thread")
    if _true(post, "isDeleted") or _true(post, "isSpam") or thread_key in deleted_threads:
        return None
    if not thread_key:
        raise BadRecord("a post without its thread's dsq:id")
    author = children(post, "author")
    name, anonymous = author_fields(child_text(author[0], "name") if author else None,
                                    anonymous=bool(author) and _true(author[0], "isAnonymous"))
    return SourceComment(
        document_key=thread_key,
        key=_id(post, "a post"),
        parent_key=_ref(post, "parent") or None,
        author=name,
        author_is_anonymous=anonymous,
        body=html_to_text(child_text(post, "message")),
        published_at=parse_timestamp(child_text(post, "createdAt")),
        score=None,
    )


def _thread(thread) -> SourceDocument:
    link = child_text(thread, "link") or None
    author = children(thread, "author")
    return SourceDocument(
        key=_id(thread, "a thread"),
        title=child_text(thread, "title") or None,
        byline=(child_text(author[0], "name") or None) if author else None,
        body=html_to_text(child_text(thread, "message")),
        url=link,
        community=(urlsplit(link).hostname or None) if link else None,
        published_at=parse_timestamp(child_text(thread, "createdAt")),
        has_comment_section=True,
    )
