"""Span extension attributes keyed by the span's label and id as well as its offsets.

spaCy stores ``span._.x`` under (start, end) only, so an entity and an outcome over the same
words, or two outcomes over one cue linked to different drugs, would share values. These
getters and setters key by (start, end, label, id) instead.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Span


def _key(span: Span, name: str) -> tuple:
    return ("fms._.", name, span.start_char, span.end_char, span.label, span.id)


def register(name: str, default: Any) -> None:
    if Span.has_extension(name):
        return
    Span.set_extension(
        name,
        getter=lambda span: span.doc.user_data.get(_key(span, name), default),
        setter=lambda span, value: span.doc.user_data.__setitem__(_key(span, name), value),
    )
