"""Span extension attributes keyed by the span's label and id as well as its offsets.

spaCy stores ``span._.x`` under (start, end) only, so an entity and an outcome over the same
words, or two outcomes over one cue linked to different drugs, would share values. These
getters and setters key by (start, end, label, id) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacy.tokens import Doc, Span

_DEFAULTS: dict[str, Any] = {}  # name -> default, of the extensions registered here


def _where(span: Span) -> tuple:
    return span.start_char, span.end_char, span.label, span.id


def _key(span: Span, name: str, where: tuple | None = None) -> tuple:
    """The doc.user_data key of a span's extension value (``where``: ``_where(span)``, when the
    caller reads several names of one span)."""
    return ("fms._.", name, *(where or _where(span)))


def register(name: str, default: Any) -> None:
    if Span.has_extension(name):
        return
    _DEFAULTS[name] = default
    Span.set_extension(
        name,
        getter=lambda span: span.doc.user_data.get(_key(span, name), default),
        setter=lambda span, value: span.doc.user_data.__setitem__(_key(span, name), value),
    )


def values(doc: Doc, span: Span, names: Sequence[str]) -> list[Any]:
    """``[span._.name for name in names]`` without spaCy's ``Underscore`` object per access (the
    rows of every span of a corpus are read this way: a fifth of the NLP's time went to it).
    A name not registered here is None, as ``x if span.has_extension(x) else None`` was."""
    data, where = doc.user_data, _where(span)
    return [data.get(_key(span, name, where), _DEFAULTS[name]) if name in _DEFAULTS else None for name in names]


def value(span: Span, name: str) -> Any:
    """``span._.name`` without the ``Underscore`` object (for the components' per-span loops)."""
    return span.doc.user_data.get(_key(span, name), _DEFAULTS[name])


def set_values(span: Span, **named: Any) -> None:
    """``span._.name = value`` for each name, the span's key computed once."""
    data, where = span.doc.user_data, _where(span)
    for name, item in named.items():
        if name not in _DEFAULTS:
            raise AttributeError(f"no span extension {name!r} registered in fms_pipeline.nlp.extensions")
        data[_key(span, name, where)] = item


def registered() -> list[str]:
    """The names of the extensions registered here."""
    return list(_DEFAULTS)


def default(name: str) -> Any:
    """The default value of an extension registered here."""
    return _DEFAULTS[name]
