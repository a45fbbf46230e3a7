"""A saved HTML page (a blog post with its comments, a forum thread, a Q&A page, as a browser or a
crawler saves it).

A forum thread or Q&A page (phpBB, vBulletin, XenForo, Discourse, Stack Exchange: ``forums.py``) is
read as its posts, each a comment. Any other page is an article with comments: the article (title,
byline, publication date, main text) comes from trafilatura, made for main-text extraction; the
comments come from the markup, from the extractor below that finds the most (ties: the first):

1. wpDiscuz (``div.wpd-comment``; id ``wpd-comm-<id>_<parent id>``, ``.wpd-comment-author``,
   ``.wpd-comment-date[title]``, ``.wpd-comment-text``; replies nested inside their parent);
2. WordPress's own comment list (``ol.comment-list li.comment``, ``.comment-author .fn``,
   ``time[datetime]``, ``.comment-content``; replies in ``ul.children``);
3. schema.org ``Comment`` in microdata (``itemtype=".../Comment"``, ``itemprop`` author/name,
   dateCreated, text), then in JSON-LD (``"@type": "Comment"``, nested ``comment`` for replies);
4. what comment systems share (any plugin or theme): blocks whose id is ``comment-NNN``/``post-NNN``
   or that carry a ``data-comment-id`` (or like) attribute, the most common kind of them (the outer
   one when two are as common), a block nested in another replying to it;
and, when none finds any, a structural fallback: a list of repeated sibling blocks (same tag and
class) each holding an author (an element whose class names an author, user or name, or ``<cite>``),
a date (``<time>`` or a date written out) and text.

A date is the machine-readable one (``datetime``, ``title``) when it parses, else the date as the
page writes it (``parsing/dates.py``: in the page's ``<html lang>``, relative dates counted from
the page's saved or published date). Comments are found in time linear in the page
(``html_blocks.py``); on a page over ``trim_comments_over_chars`` the article is read from the page
without its comments (trafilatura's metadata search is slow on huge comment lists).

Pingbacks and trackbacks are not comments. A page without a comment section is the article
alone. A page that is not an article (a login form, no main text) is rejected.
The selectors and words these rules use are in ``html_rules.json`` beside this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib import resources
from typing import BinaryIO
from urllib.parse import urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode

from fms_pipeline.parsing.dates import page_anchor
from fms_pipeline.parsing.sources import forums
from fms_pipeline.parsing.sources.common import (
    author_fields,
    decode_text,
    html_to_text,
    paragraphs_text,
    parse_timestamp,
    read_all,
)
from fms_pipeline.parsing.sources.html_blocks import Block, Comments, text_of
from fms_pipeline.parsing.sources.model import Record, RejectedSource, SourceComment, SourceDocument, SourceFormat

FORMAT = SourceFormat("html", streaming=False)
EXTENSIONS = {"", ".html", ".htm", ".xhtml", ".shtml", ".php", ".txt"}
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*(<\?xml[^>]*>\s*)?(<!doctype\s+html|<html|<head|<body)", re.I | re.S)


@cache
def rules() -> dict:
    return json.loads(resources.files(__package__).joinpath("html_rules.json").read_text(encoding="utf-8"))


def sniff(extension: str, head: str) -> bool:
    return extension in EXTENSIONS and _HTML_START.match(head[:4096]) is not None


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    page = decode_text(read_all(open_binary))
    tree = LexborHTMLParser(page)
    r = rules()
    is_login = tree.css_first(r["login_form"]) is not None
    section = tree.css_first(r["comment_section"]) is not None
    root = tree.css_first("html")
    lang = (root.attributes.get("lang") or root.attributes.get("xml:lang")) if root is not None else None
    thread = forums.thread(tree)
    if thread is not None:
        document, comments = forums.document(page, tree, thread, lang), thread.posts
    else:
        comments = _comments(tree)
        if len(page) > r["trim_comments_over_chars"] and comments:
            page = _without_comments(tree, comments)  # trafilatura's metadata search is slow on huge comment lists
        document = _article(page, tree, has_comments=bool(comments), is_login=is_login, has_section=section)
    yield document
    anchor = forums.page_date(page, tree) if thread is not None else page_anchor(page, document.published_at)
    for c in comments:
        author, anonymous = author_fields(c.author, anonymous=c.anonymous)
        published = forums.block_date(c, lang, anchor)
        yield SourceComment(
            document_key=None, key=c.key, parent_key=c.parent_key, author=author, author_is_anonymous=anonymous,
            body=c.body, published_at=published, score=c.score,
        )


def _without_comments(tree: LexborHTMLParser, comments: list[Block]) -> str:
    """The page without its comments (each top-level comment node taken out), for the article's reading."""
    for c in comments:
        if c.node is not None and c.parent_key is None:
            c.node.decompose()
    return tree.html or ""


# ---------------------------------------------------------------- the article

def _article(page: str, tree: LexborHTMLParser, *, has_comments: bool, is_login: bool,
             has_section: bool) -> SourceDocument:
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
    if is_login and words < r["login_page_max_words"]:
        raise RejectedSource(f"not an article: a login page (a password field and {words} words of text)")
    if words < r["min_article_words"] and not has_comments:
        raise RejectedSource(f"not an article: no main text ({words} words) and no comments")
    url = extracted.url if extracted is not None else None
    has_section = has_comments or has_section
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

def _comments(tree: LexborHTMLParser) -> list[Block]:
    """The comments of the extractor that finds the most (ties: the earlier one, the more specific);
    the structural fallback only when none finds any."""
    best: list[Block] = []
    for extract in (_wpdiscuz, _wordpress, _microdata, _json_ld):
        found = [c for c in extract(tree) if c.body]
        if len(found) > len(best):
            best = found
    found = [c for c in _anchored(tree, more_than=len(best)) if c.body]
    if len(found) > len(best):
        best = found
    return best or [c for c in _structural(tree) if c.body]


def _body_text(node: LexborNode | None) -> str:
    return html_to_text(node.html or "") if node is not None else ""


def _is_ping(node: LexborNode) -> bool:
    classes = set((node.attributes.get("class") or "").split())
    return bool(classes & set(rules()["ping_classes"]))


def _id_number(value: str | None, pattern: str) -> str | None:
    match = re.fullmatch(pattern, value or "")
    return match.group(1) if match else None


def _wpdiscuz(tree: LexborHTMLParser) -> Iterator[Block]:
    r = rules()["wpdiscuz"]
    comments = Comments(tree, tree.css(r["comment"]))
    for node in comments.nodes:
        if _is_ping(node) or node.css_matches(r["unapproved"]):
            continue
        ids = re.fullmatch(r"wpd-comm-(\d+)_(\d+)", node.attributes.get("id") or "")
        parent = ids.group(2) if ids else None
        if not ids and (enclosing := comments.enclosing(node)) is not None:
            parent = _id_number(enclosing.attributes.get("id"), r"wpd-comm-(\d+)_\d+")
        date = comments.own(node, r["date"])
        votes = comments.own(node, r["votes"])
        score = _id_number(votes.attributes.get("title") if votes is not None else None, r"(-?\d+)")
        yield Block(
            node, ids.group(1) if ids else None, None if parent in (None, "0") else parent,
            text_of(comments.own(node, r["author"])),
            date.attributes.get("title") if date is not None else None,
            comments.own_text(comments.own(node, r["text"])),
            score=int(score) if score is not None else None, written=text_of(date),
        )


def _wordpress(tree: LexborHTMLParser) -> Iterator[Block]:
    r = rules()["wordpress"]
    comments = Comments.within(tree, r["comment_list"], r["comment"])
    for node in comments.nodes:
        if _is_ping(node):
            continue
        enclosing = comments.enclosing(node)
        time = comments.own(node, r["date"])
        published = time.attributes.get("datetime") if time is not None and time.tag == "time" else None
        content = comments.own(node, r["text"])
        text = comments.own_text(content)
        if content is None:  # older themes: the paragraphs sit in .comment-body beside the meta
            content = comments.own(node, r["old_body"])
            if content is not None:
                copy = LexborHTMLParser(comments.own_html(content)).body
                for meta in copy.css(r["old_body_not_text"]):
                    meta.decompose()
                text = _body_text(copy)
        yield Block(
            node, _id_number(node.attributes.get("id"), r"comment-(\d+)"),
            _id_number(enclosing.attributes.get("id"), r"comment-(\d+)") if enclosing is not None else None,
            text_of(comments.own(node, r["author"])), published, text, written=text_of(time),
        )


def _microdata(tree: LexborHTMLParser) -> Iterator[Block]:
    r = rules()["microdata"]
    comments = Comments(tree, tree.css(r["comment"]))
    keys: dict[int, str] = {}
    for number, node in enumerate(comments.nodes, start=1):
        key = node.attributes.get("id") or node.attributes.get("itemid") or f"microdata-{number}"
        keys[node.mem_id] = key
        enclosing = comments.enclosing(node)
        author = comments.own(node, r["author_name"]) or comments.own(node, r["author"])
        date = comments.own(node, r["date"])
        published = None
        if date is not None:
            published = date.attributes.get("datetime") or date.attributes.get("content")
        yield Block(node, key, keys.get(enclosing.mem_id) if enclosing is not None else None,
                    text_of(author), published, comments.own_text(comments.own(node, r["text"])),
                    written=text_of(date))


def _json_ld(tree: LexborHTMLParser) -> Iterator[Block]:
    numbered = iter(range(1, 1 << 30))

    def walk(value: object, parent: str | None) -> Iterator[Block]:
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
            date = value.get("dateCreated") or value.get("datePublished")
            yield Block(None, key, parent, name if isinstance(name, str) else None,
                        date if isinstance(date, str) else None,
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
    r"|\d{1,2}\.? (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*,? \d{4})\b",
    re.I,
)


def _anchored(tree: LexborHTMLParser, more_than: int = 0) -> Iterator[Block]:
    """Comment blocks by what comment systems share rather than by one plugin's names: an element whose
    id is ``comment-NNN`` / ``post-NNN`` (and the like) or that carries a ``data-comment-id`` (and the
    like) attribute, repeated, each with text. The blocks of the most common kind (tag and first class)
    are the comments; of two kinds as common, the outer one (it holds the replies); a block nested in
    another replies to it. Nothing when there are no more such blocks than ``more_than`` (the comments
    another extractor found: the tie goes to it)."""
    r = rules()["anchored"]
    body = tree.body
    if body is None:
        return
    id_pattern = re.compile(r["id"], re.I)
    groups: dict[tuple, list[tuple[LexborNode, str]]] = {}
    not_posts = set(r["not_post_classes"])
    for node in body.css(r["candidates"]):
        if node.tag in r["not_blocks"] or not_posts & set((node.attributes.get("class") or "").split()):
            continue
        key = _id_number(node.attributes.get("id"), id_pattern.pattern) if node.attributes.get("id") else None
        if key is None:
            key = next((v for a, v in node.attributes.items() if a in r["id_attributes"] and v and v.isdigit()), None)
        if key is not None:
            groups.setdefault(_signature(node), []).append((node, key))
    candidates = [g for g in groups.values() if len(g) >= r["min_blocks"]]
    if not candidates:
        return
    most = max(len(g) for g in candidates)
    tied = [g for g in candidates if len(g) == most]
    chosen = tied[0]
    for group in tied[1:]:  # the outer kind: its first block holds the other's first block
        if _is_ancestor(group[0][0], chosen[0][0]):
            chosen = group
    holding_heading: set[int] = set()  # a block holding the page's own heading is the page, not a comment
    for heading in body.css("h1"):
        ancestor = heading.parent
        while ancestor is not None:
            holding_heading.add(ancestor.mem_id)
            ancestor = ancestor.parent
    chosen = [(node, key) for node, key in chosen if node.mem_id not in holding_heading]
    if len(chosen) <= more_than:  # cannot find more comments than another extractor found
        return
        return
    keys = {node.mem_id: key for node, key in chosen}
    comments = Comments(body, [node for node, _ in chosen])
    for node in comments.nodes:
        if _is_ping(node) or any(_is_ping(a) for a in _ancestors(node, 3)):
            continue
        enclosing = comments.enclosing(node)
        parent = keys.get(enclosing.mem_id) if enclosing is not None else None
        if parent is None:
            parent = next((v for a, v in node.attributes.items() if a in r["parent_attributes"] and v and v.isdigit()
                           and v != "0"), None)
        author = next((a for a in comments.all_own(node, r["author"])
                       if (t := text_of(a)) and len(t.split()) <= r["max_author_words"]), None)
        time = next((t for t in comments.all_own(node, "time")), None)
        date_node = time or comments.own(node, r["date"])
        published, written = None, None
        if date_node is not None:
            published = date_node.attributes.get("datetime") or date_node.attributes.get("data-time")
            written = date_node.attributes.get("title") or text_of(date_node)
        leave_out = [n for n in (author, date_node) if n is not None] + comments.all_own(node, r["not_text"])
        text_node = comments.own(node, r["text"]) or node
        text = comments.own_text(text_node, leave_out)
        if written is None:
            found = _WRITTEN_DATE.search(text)
            written = found.group(0) if found else None
        text = paragraphs_text(p for p in text.split("\n\n") if _WRITTEN_DATE.fullmatch(p.strip()) is None)
        if len(text.split()) < r["min_words"]:
            continue
        yield Block(node, keys[node.mem_id], parent, text_of(author), published, text, written=written)


def _ancestors(node: LexborNode, levels: int) -> Iterator[LexborNode]:
    parent = node.parent
    while parent is not None and levels > 0:
        yield parent
        parent, levels = parent.parent, levels - 1


def _is_ancestor(ancestor: LexborNode, node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id == ancestor.mem_id:
            return True
        parent = parent.parent
    return False


def _structural(tree: LexborHTMLParser) -> Iterator[Block]:
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
    comments = Comments(body, body.css(_selector(_signature(best[0]))))
    keys: dict[int, str] = {}
    for number, block in enumerate(comments.nodes, start=1):
        key = block.attributes.get("id") or f"block-{number}"
        keys[block.mem_id] = key
        enclosing = comments.enclosing(block)
        author_node = comments.own(block, r["author"])
        time = comments.own(block, "time")
        date = time.attributes.get("datetime") if time is not None else None
        text_node = comments.own(block, r["text"])
        leave_out: list[LexborNode] = []
        if text_node is None:  # the text sits beside the author and the date: take those out
            leave_out = [n for n in (author_node, time) if n is not None]
            text_node = block
        text = comments.own_text(text_node, leave_out)
        written = text_of(time)
        if date is None and written is None:
            found = _WRITTEN_DATE.search(block.text(deep=True, separator=" ") if text_node is not block else text)
            written = found.group(0) if found else None
        if text_node is block:
            text = paragraphs_text(p for p in text.split("\n\n") if _WRITTEN_DATE.fullmatch(p.strip()) is None)
        yield Block(block, key, keys.get(enclosing.mem_id) if enclosing is not None else None,
                    text_of(author_node), date, text, written=written)


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
