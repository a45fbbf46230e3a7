"""Stable ids of documents and comments (one place, used by every source format)."""

from __future__ import annotations

import hashlib


def document_id(source_file: str, key: str | None = None) -> str:
    """A raw file's document (``key`` None: the file is one page) or one of the documents a file
    holds (``key``: the source's own id, such as a Reddit submission id or a WordPress post id).
    Hashed from the path under the raw folder, so stable across runs and machines."""
    text = source_file if key is None else f"{source_file}\x00{key}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def comment_id(doc_id: str, position: int, key: str | None = None) -> str:
    """``<document_id>:c<position>`` for formats without comment ids (copied pages), else
    ``<document_id>:<the source's comment id>``, which stays put when replies are added."""
    return f"{doc_id}:c{position}" if key is None else f"{doc_id}:{key}"
