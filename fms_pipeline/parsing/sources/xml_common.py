"""Safe XML parsing for the export formats (no entity expansion, no network)."""

from __future__ import annotations

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
    """The text of the first child called ``name`` (any namespace, or one whose URI contains ``namespace_part``)."""
    for child in element:
        if isinstance(child.tag, str) and local_name(child) == name:
            if namespace_part is None or namespace_part in (etree.QName(child).namespace or ""):
                return (child.text or "").strip()
    return ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str) and local_name(child) == name]
