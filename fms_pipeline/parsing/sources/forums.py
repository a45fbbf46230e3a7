"""Forum threads and Q&A pages, read from saved HTML: phpBB, vBulletin (3 and 4), XenForo (1 and 2),
Discourse (the server-rendered page) and Stack Exchange question pages.

Every post is a comment, in the page's order (the unit every count counts); the document is the thread:
its title, its address, the first post's author and date, and no body of its own (the opening post is
the first comment, not counted twice). A post that quotes another one where the platform marks whose
post it quotes (phpBB ``data-post-id``, vBulletin's "Originally Posted by" link to ``#postNNN``,
XenForo ``data-source="post: NNN"``, Discourse ``aside.quote[data-post]``) replies to it, and the quoted
text is left out of its body (it is the other post's text). Signatures, user cards (titles, post counts,
reputation and badges) are not the author nor the text.

On a Stack Exchange page the question is the first comment, each answer replies to it, and each comment
under a post replies to that post. Keys are ``post-NNN`` and ``comment-NNN`` (two id spaces).

The selectors are in ``html_rules.json`` (``forums``); a platform is recognised by its markup
(``detect``), never by the site's address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from fms_pipeline.parsing.dates import parse_written_date, saved_date
from fms_pipeline.parsing.sources.common import parse_timestamp
from fms_pipeline.parsing.sources.html_blocks import Block, Comments, first_match, text_of, unique
from fms_pipeline.parsing.sources.model import SourceDocument


@dataclass
class Thread:
    platform: str
    title: str | None
    posts: list[Block]


def _rules() -> dict:
    from fms_pipeline.parsing.sources.html_page import rules

    return rules()["forums"]


def thread(tree: LexborHTMLParser) -> Thread | None:
    """The thread a forum or Q&A page holds, None when the page is none of the platforms known."""
    for platform, spec in _rules().items():
        if platform.startswith("_") or tree.css_first(spec["detect"]) is None:
            continue
        posts = _stack_exchange(tree, spec) if platform == "stack_exchange" else _posts(tree, spec)
        posts = [p for p in posts if p.body]
        if posts:
            title = (_first_text(tree, spec.get("title", "")) or _meta(tree, "og:title")
                     or text_of(tree.css_first("title")))
            return Thread(platform, title, posts)
    return None


def document(page: str, tree: LexborHTMLParser, found: Thread, lang: str | None) -> SourceDocument:
    url = None
    for selector, attribute in (("link[rel='canonical']", "href"), ("meta[property='og:url']", "content")):
        node = tree.css_first(selector)
        if node is not None and (node.attributes.get(attribute) or "").startswith(("http://", "https://")):
            url = node.attributes.get(attribute)
            break
    first = found.posts[0]
    return SourceDocument(
        key=None, title=found.title, byline=first.author, body="", url=url,
        community=urlsplit(url).hostname if url else None,
        published_at=block_date(first, lang, page_date(page, tree)), has_comment_section=True,
    )


def page_date(page: str, tree: LexborHTMLParser) -> datetime | None:
    """The date a thread page's relative dates count from: the day it was saved, else the date the page
    says it was published on (never its first post's: "yesterday" is the day before the page was shown)."""
    return saved_date(page) or parse_timestamp(_meta(tree, "article:published_time"))


def block_date(block: Block, lang: str | None, anchor: datetime | None) -> datetime | None:
    """A post's date: its machine-readable date when that parses, else the date its text writes."""
    published = parse_timestamp(block.published) if block.published else None
    if published is None:
        published = parse_written_date(block.written or block.published, lang=lang, anchor=anchor)
    return published


def _meta(tree: LexborHTMLParser, name: str) -> str | None:
    node = tree.css_first(f"meta[property='{name}'], meta[name='{name}']")
    return (node.attributes.get("content") or None) if node is not None else None


def _first_text(tree: LexborHTMLParser, selector: str) -> str | None:
    return text_of(first_match(tree, selector))


def _number(value: str | None, pattern: str) -> str | None:
    found = re.search(pattern, value or "")
    return found.group(1) if found else None


def _key(node: LexborNode, spec: dict) -> str | None:
    for attribute, pattern in spec["key"]:
        if (key := _number(node.attributes.get(attribute), pattern)) is not None:
            return key
    return None


def _posts(tree: LexborHTMLParser, spec: dict) -> list[Block]:
    comments = Comments(tree, [n for n in tree.css(spec["post"]) if _key(n, spec) is not None])
    keys = {n.mem_id: _key(n, spec) for n in comments.nodes}
    known = set(keys.values())
    posts: list[Block] = []
    for node in comments.nodes:
        key = keys[node.mem_id]
        author = node.attributes.get(spec["author_attribute"]) if spec.get("author_attribute") else None
        if not author:
            author = text_of(comments.own(node, spec["author"]))
        date = comments.own(node, spec["date"])
        published = written = None
        if date is not None:
            published = next((date.attributes[a] for a in ("datetime", "data-time") if date.attributes.get(a)), None)
            written = date.attributes.get("title") or text_of(date)
        if published is None and written is None and spec.get("date_text"):
            written = text_of(comments.own(node, spec["date_text"]))
            if written and "»" in written:  # phpBB: "by name » Sat Mar 02, 2019 9:15 am"
                written = written.rsplit("»", 1)[1].strip()
        parent = None
        for link in comments.all_own(node, spec["quote"]):
            quoted = next((q for attribute, pattern in spec["quote_key"]
                           if (q := _number(link.attributes.get(attribute), pattern)) is not None), None)
            if quoted is not None and quoted != key and quoted in known:
                parent = quoted
                break
        leave_out = comments.all_own(node, spec["not_text"])
        text_node = comments.own(node, spec["text"])
        posts.append(Block(node, key, parent, author, published, comments.own_text(text_node, leave_out),
                           written=written))
    return posts


def _stack_exchange(tree: LexborHTMLParser, spec: dict) -> list[Block]:
    question = tree.css_first(spec["question"])
    if question is None:
        return []
    post_nodes = [question, *tree.css(spec["answer"])]
    comment_nodes = tree.css(spec["comment"])
    comments = Comments(tree, post_nodes + comment_nodes)
    question_key = f"post-{question.attributes.get('data-questionid')}"
    blocks: dict[int, Block] = {}
    for node in post_nodes:
        post_id = node.attributes.get("data-questionid") or node.attributes.get("data-answerid")
        signatures = [s for s in comments.all_own(node, spec["signature"])
                      if not (text_of(s.css_first(spec["action"])) or "").lower().startswith(spec["edited"])]
        signature = signatures[-1] if signatures else None  # the author's, after any editor's
        author = date = None
        if signature is not None:
            author = text_of(first_match(signature, spec["signature_author"]))
            date = signature.css_first(spec["signature_date"])
        score = node.attributes.get("data-score")
        blocks[node.mem_id] = Block(
            node, f"post-{post_id}", None if node is question else question_key, author,
            date.attributes.get("title") if date is not None else None,
            comments.own_text(comments.own(node, spec["post_text"])),
            score=int(score) if score and re.fullmatch(r"-?\d+", score) else None,
            written=text_of(date),
        )
    for node in comment_nodes:
        enclosing = comments.enclosing(node)
        date = comments.own(node, spec["comment_date"])
        score = node.attributes.get("data-comment-score")
        blocks[node.mem_id] = Block(
            node, f"comment-{node.attributes.get('data-comment-id')}",
            blocks[enclosing.mem_id].key if enclosing is not None and enclosing.mem_id in blocks else question_key,
            text_of(comments.own(node, spec["comment_author"])),
            (date.attributes.get("title") or "").split(",")[0] or None if date is not None else None,
            comments.own_text(comments.own(node, spec["comment_text"])),
            score=int(score) if score and re.fullmatch(r"-?\d+", score) else None,
            written=text_of(date),
        )
    # In the page's order: the question, its comments, then each answer with its comments.
    in_page_order = unique(tree.css(f"{spec['question']}, {spec['answer']}, {spec['comment']}"))
    return [blocks[n.mem_id] for n in in_page_order if n.mem_id in blocks]
