"""Forum threads and Q&A pages, read from saved HTML (placeholder: filled in below)."""

from __future__ import annotations


def thread(tree):
    return None


def document(page, tree, thread):
    raise NotImplementedError
