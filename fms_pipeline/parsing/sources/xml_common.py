"""Safe XML parsing for the export formats (no entity expansion, no network)."""

from __future__ import annotations

import re

from lxml import etree

from fms_pipeline.parsing.sources.model import RejectedSource


def parse_xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        raise RejectedSource(f"not well-formed XML: {error}") from None


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def child_text(element: etree._Element, name: str, namespace_part: str | None = None) -> str:
    """The text of the first child called ``name`` (any namespace, or one whose URI contains ``namespace_part``):
    all of it, with the text of elements inside it (HTML written unescaped) and entities left unexpanded
    (``&name;`` as written)."""
    for child in element:
        if isinstance(child.tag, str) and local_name(child) == name:
            if namespace_part is None or namespace_part in (etree.QName(child).namespace or ""):
                return "".join(child.itertext()).strip()  # text after a child element or an entity too
    return ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str) and local_name(child) == name]


_PROLOG_PART = re.compile(
    r"""\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE\s[^\[>]*(\[(?:[^\]"']|"[^"]*"|'[^']*')*\])?\s*>""",
    re.DOTALL | re.IGNORECASE)


def after_prolog(text: str) -> str:
    """``text`` from its root element on: the XML declaration, comments, processing instructions and a
    DOCTYPE (with its internal subset, however long) skipped."""
    pos = 1 if text.startswith("\ufeff") else 0
    while match := _PROLOG_PART.match(text, pos):
        if match.end() == pos:
            break
        pos = match.end()
    return text[pos:]
