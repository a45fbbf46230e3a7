"""A saved HTML page (a blog post with its comments, as a browser or a crawler saves it).

The article (title, byline, publication date, main text) comes from trafilatura, made for
main-text extraction. The comments come from the markup, by the first of these that finds any:

1. wpDiscuz (``div.wpd-comment``; id ``wpd-comm-<id>_<parent id>``, ``.wpd-comment-author``,
   ``.wpd-comment-date[title]``, ``.wpd-comment-text``; replies nested inside their parent);
2. WordPress's own comment list (``ol.comment-list li.comment``, ``.comment-author .fn``,
   ``time[datetime]``, ``.comment-content``; replies in ``ul.children``);
3. schema.org ``Comment`` in microdata (``itemtype=".../Comment"``, ``itemprop`` author/name,
   dateCreated, text), then in JSON-LD (``"@type": "Comment"``, nested ``comment`` for replies);
4. a structural fallback for other comment systems: a list of repeated sibling blocks (same tag
   and class) each holding an author (an element whose class names an author, user or name,
   or ``<cite>``), a date (``<time>`` or a date written out) and text.

Pingbacks and trackbacks are not comments. A page without a comment section is the article
alone. A page that is not an article (a login form, no main text) is rejected.
The selectors and words these rules use are in ``html_rules.json`` beside this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import BinaryIO
from urllib.parse import urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode

from fms_pipeline.parsing.sources.common import (
    author_fields,
    decode_text,
    html_to_text,
    paragraphs_text,
    parse_timestamp,
    read_all,
)
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SourceComment, SourceDocument, SourceFormat

FORMAT = SourceFormat("html", streaming=False)
EXTENSIONS = {"", ".html", ".htm", ".xhtml", ".shtml", ".php", ".txt"}
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*(<\?xml[^>]*>\s*)?(<!doctype\s+html|<html|<head|<body)", re.I | re.S)


@cache
def rules() -> dict:
    return json.loads(resources.files(__package__).joinpath("html_rules.json").read_text(encoding="utf-8"))


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and _HTML_START.match(head[:4096]) is not None


@dataclass
class _Comment:
    node: LexborNode | None
    key: str | None
    parent_key: str | None
    author: str | None
    published: str | None
    body: str
    anonymous: bool = False
    score: int | None = None


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    page = decode_text(read_all(open_binary))
    tree = LexborHTMLParser(page)
    comments = _comments(tree)
    document = _article(page, tree, has_comments=bool(comments))
    yield document
    for c in comments:
        author, anonymous = author_fields(c.author, anonymous=c.anonymous)
        yield SourceComment(
            document_key=None, key=c.key, parent_key=c.parent_key, author=author, author_is_anonymous=anonymous,
            body=c.body, published_at=parse_timestamp(c.published), score=c.score,
        )


# ---------------------------------------------------------------- the article

def _article(page: str, tree: LexborHTMLParser, *, has_comments: bool) -> SourceDocument:
    r = rules()
    extracted = trafilatura.bare_extraction(
        page, with_metadata=True, include_comments=False, include_tables=False, prune_xpath=r["prune_xpath"],
        date_extraction_params={"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True,
                                "extensive_search": False},
    )
    paragraphs = (extracted.text or "").split("\n") if extracted is not None else []
    if paragraphs and extracted.title and paragraphs[0].strip() == extracted.title.strip():
        paragraphs = paragraphs[1:]  # the headline, which trafilatura sometimes keeps in the text
    body = paragraphs_text(paragraphs)
    words = len(body.split())
    if tree.css_first(r["login_form"]) is not None and words < r["login_page_max_words"]:
        raise RejectedSource(f"not an article: a login page (a password field and {words} words of text)")
    if words < r["min_article_words"] and not has_comments:
        raise RejectedSource(f"not an article: no main text ({words} words) and no comments")
    url = extracted.url if extracted is not None else None
    has_section = has_comments or tree.css_first(r["comment_section"]) is not None
    return SourceDocument(
        key=None,
        title=extracted.title if extracted is not None else None,
        byline=extracted.author if extracted is not None else None,
        body=body,
        url=url,
        community=(urlsplit(url).hostname if url else None) or (extracted.hostname if extracted is not None else None),
        published_at=parse_timestamp(extracted.date) if extracted is not None else None,
        has_comment_section=has_section,
    )


# ---------------------------------------------------------------- the comments

def _comments(tree: LexborHTMLParser) -> list[_Comment]:
    for extract in (_wpdiscuz, _wordpress, _microdata, _json_ld, _structural):
        found = [c for c in extract(tree) if c.body]
        if found:
            return found
    return []


def _text(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    text = " ".join(node.text(deep=True, separator=" ").split())
    return text or None


def _body_text(node: LexborNode | None) -> str:
    return html_to_text(node.html or "") if node is not None else ""


def _is_ping(node: LexborNode) -> bool:
    classes = set((node.attributes.get("class") or "").split())
    return bool(classes & set(rules()["ping_classes"]))


def _own(node: LexborNode, selector: str, comments: set[int]) -> LexborNode | None:
    """The first match of ``selector`` inside ``node`` that belongs to node, not to a reply nested in it
    (``comments``: the mem_ids of the page's comment nodes)."""
    for found in node.css(selector):
        if found.mem_id == node.mem_id:
            continue
        enclosing = _enclosing(found, comments)
        if enclosing is not None and enclosing.mem_id == node.mem_id:
            return found
    return None


def _enclosing(node: LexborNode, comments: set[int]) -> LexborNode | None:
    """The nearest ancestor of ``node`` that is a comment."""
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.mem_id in comments:
            return ancestor
        ancestor = ancestor.parent
    return None


def _members(root: LexborNode | LexborHTMLParser, selector: str) -> tuple[list[LexborNode], set[int]]:
    nodes = root.css(selector)
    return nodes, {n.mem_id for n in nodes}


def _id_number(value: str | None, pattern: str) -> str | None:
    match = re.fullmatch(pattern, value or "")
    return match.group(1) if match else None


def _wpdiscuz(tree: LexborHTMLParser) -> Iterator[_Comment]:
    r = rules()["wpdiscuz"]
    nodes, comments = _members(tree, r["comment"])
    for node in nodes:
        if _is_ping(node) or node.css_matches(r["unapproved"]):
            continue
        ids = re.fullmatch(r"wpd-comm-(\d+)_(\d+)", node.attributes.get("id") or "")
        parent = ids.group(2) if ids else None
        if not ids and (enclosing := _enclosing(node, comments)) is not None:
            parent = _id_number(enclosing.attributes.get("id"), r"wpd-comm-(\d+)_\d+")
        date = _own(node, r["date"], comments)
        votes = _own(node, r["votes"], comments)
        score = _id_number(votes.attributes.get("title") if votes is not None else None, r"(-?\d+)")
        yield _Comment(
            node, ids.group(1) if ids else None, None if parent in (None, "0") else parent,
            _text(_own(node, r["author"], comments)),
            date.attributes.get("title") if date is not None else None,
            _body_text(_own(node, r["text"], comments)),
            score=int(score) if score is not None else None,
        )


def _wordpress(tree: LexborHTMLParser) -> Iterator[_Comment]:
    r = rules()["wordpress"]
    nodes, comments = _members(tree, r["comment"])
    for node in nodes:
        if _is_ping(node):
            continue
        enclosing = _enclosing(node, comments)
        time = _own(node, r["date"], comments)
        published = time.attributes.get("datetime") if time is not None and time.tag == "time" else _text(time)
        content = _own(node, r["text"], comments)
        if content is None:  # older themes: the paragraphs sit in .comment-body beside the meta
            content = _own(node, r["old_body"], comments)
            if content is not None:
                content = LexborHTMLParser(content.html or "").body
                for meta in content.css(r["old_body_not_text"]):
                    meta.decompose()
        yield _Comment(
            node, _id_number(node.attributes.get("id"), r"comment-(\d+)"),
            _id_number(enclosing.attributes.get("id"), r"comment-(\d+)") if enclosing is not None else None,
            _text(_own(node, r["author"], comments)), published, _body_text(content),
        )


def _microdata(tree: LexborHTMLParser) -> Iterator[_Comment]:
    r = rules()["microdata"]
    nodes, comments = _members(tree, r["comment"])
    keys: dict[int, str] = {}
    for number, node in enumerate(nodes, start=1):
        key = node.attributes.get("id") or node.attributes.get("itemid") or f"microdata-{number}"
        keys[node.mem_id] = key
        enclosing = _enclosing(node, comments)
        author = _own(node, r["author_name"], comments) or _own(node, r["author"], comments)
        date = _own(node, r["date"], comments)
        published = None
        if date is not None:
            published = date.attributes.get("datetime") or date.attributes.get("content") or _text(date)
        yield _Comment(node, key, keys.get(enclosing.mem_id) if enclosing is not None else None,
                       _text(author), published, _body_text(_own(node, r["text"], comments)))


def _json_ld(tree: LexborHTMLParser) -> Iterator[_Comment]:
    numbered = iter(range(1, 1 << 30))

    def walk(value: object, parent: str | None) -> Iterator[_Comment]:
        if isinstance(value, list):
            for item in value:
                yield from walk(item, parent)
            return
        if not isinstance(value, dict):
            return
        types = value.get("@type")
        is_comment = "Comment" in (types if isinstance(types, list) else [types])
        key = parent
        if is_comment:
            key = str(value.get("@id") or value.get("url") or f"jsonld-{next(numbered)}").rsplit("#", 1)[-1]
            author = value.get("author")
            if isinstance(author, list):
                author = author[0] if author else None
            name = author.get("name") if isinstance(author, dict) else author
            yield _Comment(None, key, parent, name if isinstance(name, str) else None,
                           value.get("dateCreated") or value.get("datePublished"),
                           html_to_text(str(value.get("text") or value.get("commentText") or "")))
        for field, child in value.items():
            if field in ("comment", "@graph", "mainEntity", "hasPart") or (field == "itemListElement"):
                yield from walk(child, key if is_comment else None)

    for script in tree.css('script[type="application/ld+json"]'):
        try:
            yield from walk(json.loads(script.text() or "null"), None)
        except (json.JSONDecodeError, RecursionError):  # a block nested too deep to read is no comments
            continue


_WRITTEN_DATE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}"
    r"|\d{1,2} (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4})\b",
    re.I,
)


def _structural(tree: LexborHTMLParser) -> Iterator[_Comment]:
    """Repeated sibling blocks with an author, a date and text, wherever they are (the largest such list
    wins); a block's replies are the blocks of a list nested inside it."""
    r = rules()["structural"]
    body = tree.body
    if body is None:
        return
    best: list[LexborNode] = []
    for parent in body.css("*"):
        groups: dict[tuple, list[LexborNode]] = {}
        for child in _element_children(parent):
            groups.setdefault(_signature(child), []).append(child)
        for blocks in groups.values():
            if len(blocks) >= 2 and len(blocks) > len(best) and all(_looks_like_comment(b) for b in blocks):
                best = blocks
    if not best:
        return
    selector = _selector(_signature(best[0]))
    _, blocks = _members(body, selector)

    def comment(block: LexborNode, parent_key: str | None, number: list[int]) -> Iterator[_Comment]:
        number[0] += 1
        key = block.attributes.get("id") or f"block-{number[0]}"
        replies = [b for b in block.css(selector)
                   if (enclosing := _enclosing(b, blocks)) is not None and enclosing.mem_id == block.mem_id]
        own = LexborHTMLParser(block.html or "").css_first(selector)  # a copy, without the replies
        _, copies = _members(own, selector)
        for nested in own.css(selector):
            if (enclosing := _enclosing(nested, copies)) is not None and enclosing.mem_id == own.mem_id:
                nested.decompose()
        author_node = own.css_first(r["author"])
        author = _text(author_node)
        time = own.css_first("time")
        date = time.attributes.get("datetime") if time is not None else None
        if date is None:
            found = _WRITTEN_DATE.search(own.text(deep=True, separator=" "))
            date = found.group(0) if found else None
        text_node = next((n for n in own.css(r["text"]) if n.mem_id != own.mem_id), None)
        if text_node is None:  # the text sits beside the author and the date: take those out
            for node in (author_node, time):
                if node is not None:
                    node.decompose()
            text_node = own
        text = _body_text(text_node)
        if text_node is own:
            text = paragraphs_text(p for p in text.split("\n\n") if _WRITTEN_DATE.fullmatch(p.strip()) is None)
        yield _Comment(block, key, parent_key, author, date, text)
        for reply in replies:
            yield from comment(reply, key, number)

    number = [0]
    for block in best:
        yield from comment(block, None, number)


def _element_children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        if child.is_element_node:
            yield child
        child = child.next


def _signature(node: LexborNode) -> tuple:
    classes = sorted(c for c in (node.attributes.get("class") or "").split() if not re.search(r"\d", c))
    return (node.tag, classes[0] if classes else None)


def _selector(signature: tuple) -> str:
    tag, first_class = signature
    return f"{tag}.{first_class}" if first_class else tag


def _looks_like_comment(block: LexborNode) -> bool:
    r = rules()["structural"]
    if block.css_first(r["author"]) is None:
        return False
    text = block.text(deep=True, separator=" ")
    if block.css_first("time") is None and _WRITTEN_DATE.search(text) is None:
        return False
    return len(text.split()) >= r["min_words"]
