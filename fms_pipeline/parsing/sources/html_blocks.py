"""Comment blocks of a saved page, found in time linear in the page (issue 22): the helpers the HTML
reader (``html_page.py``) and the forum and Q&A readers (``forums.py``) share.

A comment's own author, date and text are the first matches of a selector that belong to it and
not to a reply nested inside it. Each selector is matched once over the whole page, and each match
is given to the comment that encloses it by walking up from the match only until the nearest comment
(a few levels), so a thread 3,000 replies deep costs what 3,000 flat comments cost.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from fms_pipeline.parsing.sources.common import html_to_text


@dataclass
class Block:
    """One comment as a page shows it, before its date is read."""
    node: LexborNode | None
    key: str | None
    parent_key: str | None
    author: str | None
    published: str | None  # a machine-readable date (an ISO datetime attribute, Unix seconds)
    body: str
    anonymous: bool = False
    score: int | None = None
    written: str | None = None  # the date as the page writes it, read when ``published`` is missing or does not parse


def unique(nodes: list[LexborNode]) -> list[LexborNode]:
    """``nodes`` without repeats (lexbor gives a node once per alternative of a selector list it matches)."""
    seen: set[int] = set()
    return [n for n in nodes if not (n.mem_id in seen or seen.add(n.mem_id))]


def first_match(root: LexborNode | LexborHTMLParser | None, selector: str) -> LexborNode | None:
    """The first match of the first alternative of ``selector`` that matches (not the first in page order)."""
    if root is None or not selector:
        return None
    for alternative in selector.split(","):
        if (found := root.css_first(alternative.strip())) is not None:
            return found
    return None


def text_of(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    text = " ".join(node.text(deep=True, separator=" ").split())
    return text or None


class Comments:
    """The comment nodes of a page (``nodes``, in page order) and what belongs to each."""

    @classmethod
    def within(cls, root: LexborNode | LexborHTMLParser, containers: str, selector: str) -> Comments:
        """The matches of ``selector`` inside the matches of ``containers`` (faster than the selector
        "container comment", whose every candidate looks through all its ancestors)."""
        nodes: list[LexborNode] = []
        seen: set[int] = set()
        for container in root.css(containers):
            for node in container.css(selector):
                if node.mem_id not in seen:
                    seen.add(node.mem_id)
                    nodes.append(node)
        return cls(root, nodes)

    def __init__(self, root: LexborNode | LexborHTMLParser, nodes: list[LexborNode]):
        self.root = root
        self.nodes = unique(nodes)
        self.ids = {n.mem_id for n in self.nodes}
        self._first: dict[str, dict[int, LexborNode]] = {}
        self._below: set[int] | None = None

    def enclosing(self, node: LexborNode) -> LexborNode | None:
        """The nearest comment that is an ancestor of ``node``."""
        ancestor = node.parent
        while ancestor is not None:
            if ancestor.mem_id in self.ids:
                return ancestor
            ancestor = ancestor.parent
        return None

    def own(self, comment: LexborNode, selector: str) -> LexborNode | None:
        """The first match of ``selector`` in ``comment`` that is not in a reply nested in it; the
        alternatives of a selector list are tried in their order (the first one that matches wins).
        A descendant combinator costs the depth of the page per candidate in lexbor, so the next
        alternative is only looked for while some comment has no match."""
        table = self._first.get(selector)
        if table is None:
            table = {}
            for alternative in (s.strip() for s in selector.split(",")):
                if len(table) >= len(self.nodes):
                    break  # every comment has its match: the later alternatives are not looked for
                for found in self.root.css(alternative):
                    if found.mem_id in self.ids:
                        continue  # a comment is not a part of another
                    owner = self.enclosing(found)
                    if owner is not None and owner.mem_id not in table:
                        table[owner.mem_id] = found
            self._first[selector] = table
        return table.get(comment.mem_id)

    def all_own(self, comment: LexborNode, selector: str) -> list[LexborNode]:
        """Every match of ``selector`` that belongs to ``comment`` (matched once per page, as ``own``)."""
        key = "\x00all\x00" + selector
        table = self._first.get(key)
        if table is None:
            groups: dict[int, list[LexborNode]] = {}
            for found in self.root.css(selector):
                owner = self.enclosing(found) if found.mem_id not in self.ids else None
                if owner is not None:
                    groups.setdefault(owner.mem_id, []).append(found)
            table = groups  # type: ignore[assignment]
            self._first[key] = table
        return table.get(comment.mem_id, [])  # type: ignore[return-value]

    def own_html(self, node: LexborNode, leave_out: list[LexborNode] = ()) -> str:  # type: ignore[assignment]
        """The markup of ``node`` without the comments nested in it (and without the nodes ``leave_out``).
        Only the elements on the way to what is left out are rebuilt (by their tag name); the rest is
        copied as it is."""
        if self._below is None:
            below: set[int] = set()
            for comment in self.nodes:
                ancestor = comment.parent
                while ancestor is not None and ancestor.mem_id not in below:
                    below.add(ancestor.mem_id)
                    ancestor = ancestor.parent
            self._below = below
        skip = {n.mem_id for n in leave_out}
        holding: set[int] = set()  # the ancestors of a left-out node, up to ``node``
        for left in leave_out:  # the walk up stops at ``node`` or at a comment (then ``left`` is not in node)
            path: list[int] = []
            ancestor = left.parent
            while (ancestor is not None and ancestor.mem_id != node.mem_id and ancestor.mem_id not in self.ids
                   and ancestor.mem_id not in holding):
                path.append(ancestor.mem_id)
                ancestor = ancestor.parent
            if ancestor is not None and (ancestor.mem_id == node.mem_id or ancestor.mem_id in holding):
                holding.update(path)
        return self._rebuilt(node, skip, holding)

    def _rebuilt(self, node: LexborNode, skip: set[int], holding: set[int]) -> str:
        assert self._below is not None
        if node.mem_id not in self._below and node.mem_id not in holding and not skip:
            return node.html or ""
        parts: list[str] = []
        child = node.child
        while child is not None:
            if child.mem_id in self.ids or child.mem_id in skip:
                pass
            elif not child.is_element_node:
                if child.tag == "-text":
                    parts.append(html.escape(child.text_content or ""))
            elif child.mem_id in self._below or child.mem_id in holding:
                parts.append(f"<{child.tag}>{self._rebuilt(child, skip, holding)}</{child.tag}>")
            else:
                parts.append(child.html or "")
            child = child.next
        return "".join(parts)

    def own_text(self, node: LexborNode | None, leave_out: list[LexborNode] = ()) -> str:  # type: ignore[assignment]
        """Plain text of ``node`` (paragraphs kept) without nested comments or the nodes ``leave_out``."""
        return html_to_text(self.own_html(node, leave_out)) if node is not None else ""
