"""Parse the text of a blog post with its comment thread, as a browser or scraper saves it.

The format (see data/raw/ for a real page):

* the article: its title (often repeated), paragraphs separated by blank lines, site
  boilerplate, and a byline such as "Authored by: NAME";
* a comment-section marker ("newest oldest", "Notify of", "12 Comments", ...);
* the comments in thread order. Each is an author line, a blank line, then the body.
  When the author was lost the author line is empty, so the comment starts after two
  or more blank lines. Paragraphs inside a body are separated by one blank line.

The rules (markers, boilerplate, byline, what a name looks like) are data files in
``rules/`` so that new sites are handled by editing data, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Comment:
    position: int  # 1..n in thread order
    author: str | None  # the name as written, or None when the page lost it
    body: str


@dataclass(frozen=True)
class ParsedPage:
    title: str | None
    byline: str | None
    body: str  # the article's paragraphs, "\n\n" between them
    comments: list[Comment] = field(default_factory=list)
    has_comment_section: bool = False


class UnparseablePage(ValueError):
    """The text is not a page of this kind; the message says why."""


def _rule_lines(name: str) -> list[str]:
    text = resources.files(__package__).joinpath("rules", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def _whole_line_regex(name: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in _rule_lines(name)), re.IGNORECASE)


@cache
def _byline_regexes() -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE) for p in _rule_lines("byline.txt")]


@cache
def _word_set(name: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _rule_lines(name))


def _matches(rule_file: str, line: str) -> bool:
    return _whole_line_regex(rule_file).fullmatch(line.strip()) is not None


def is_anonymous_author(line: str) -> bool:
    """True for author lines that name nobody ("Anonymous", "Do not print my name")."""
    return _matches("anonymous_authors.txt", line)


_NAME_TOKEN = re.compile(r"^[\w@.'’\-&]+$")


def looks_like_author_name(line: str) -> bool:
    """Could this short line be a commenter's name or handle?

    Names and handles: "Kathy C", "Debbie Nickels Heck, MD", "Hayden Hamby Jr.",
    "dis may", "Do not print my name". Not names: one-line sentences such as
    "Finally some good news." or "Exactly how I feel".
    """
    line = line.strip()
    if is_anonymous_author(line):
        return True
    if not 2 <= len(line) <= 50:
        return False
    words = line.replace(",", " ").split()
    if not 1 <= len(words) <= 5:
        return False
    if any(not _NAME_TOKEN.match(w) for w in words):
        return False  # ? ! : ; quotes, brackets, emoji: sentence material
    if "http" in line.lower() or "www." in line.lower():
        return False
    suffixes = _word_set("name_suffixes.txt")
    last = words[-1].lower()
    if line[-1] in ".…" and last not in suffixes:
        return False
    if words[0].lower().strip("'’") in _word_set("not_name_first_words.txt"):
        return False
    particles = _word_set("name_particles.txt")
    name_words = [w for w in words if w.lower() not in suffixes and w.lower() not in particles]
    if not name_words:
        return False
    if all(w[0].isupper() or w[0].isdigit() for w in name_words):
        return True  # "Kathy C", "James McCay", "Terry Ott"
    # A handle written in lower case ("dis may", "painwarrior_62").
    return line == line.lower() and len(words) <= 3


@dataclass
class _Block:
    lines: list[str]
    blanks_before: int  # blank lines between the previous block and this one


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    blanks = 0
    current: list[str] = []
    for line in lines:
        if line.strip():
            if not current:
                blocks.append(_Block(current, blanks))
            current.append(line.strip())
            blanks = 0
        else:
            if current:
                current = []
            blanks += 1
    return [_Block(b.lines, b.blanks_before) for b in blocks]


def _find_comment_marker(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if line.strip() and _matches("comment_section_markers.txt", line):
            return i
    return None


def _parse_article(lines: list[str]) -> tuple[str | None, str | None, str]:
    title: str | None = None
    byline: str | None = None
    paragraphs: list[str] = []
    for block in _blocks(lines):
        kept: list[str] = []
        for line in block.lines:
            if title is None:
                title = line
                continue
            if line == title or _matches("boilerplate.txt", line):
                continue
            byline_match = next((m for r in _byline_regexes() if (m := r.fullmatch(line))), None)
            if byline_match:
                byline = byline_match.group("name").strip()
                continue
            kept.append(line)
        if kept:
            paragraphs.append("\n".join(kept))
    return title, byline, "\n\n".join(paragraphs)


def _parse_thread(lines: list[str]) -> list[Comment]:
    blocks = [
        _Block([ln for ln in b.lines if not _matches("boilerplate.txt", ln)], b.blanks_before)
        for b in _blocks(lines)
    ]
    blocks = [b for b in blocks if b.lines]

    def is_author_block(i: int) -> bool:
        block = blocks[i]
        return (
            len(block.lines) == 1
            and i + 1 < len(blocks)
            and looks_like_author_name(block.lines[0])
            # Two name-like lines in a row: the first is a signature under the previous comment.
            and not (len(blocks[i + 1].lines) == 1 and looks_like_author_name(blocks[i + 1].lines[0])
                     and i + 2 < len(blocks))
        )

    comments: list[tuple[str | None, list[str]]] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        starts_comment = not comments or block.blanks_before >= 2 or is_author_block(i)
        if starts_comment and is_author_block(i):
            comments.append((block.lines[0], ["\n".join(blocks[i + 1].lines)]))
            i += 2
            continue
        if starts_comment:
            comments.append((None, ["\n".join(block.lines)]))
        else:
            comments[-1][1].append("\n".join(block.lines))
        i += 1
    return [
        Comment(position=n, author=author, body="\n\n".join(paragraphs))
        for n, (author, paragraphs) in enumerate(comments, start=1)
    ]


def parse_page(text: str) -> ParsedPage:
    """Split a saved page into its article and its comments."""
    if not text.strip():
        raise UnparseablePage("the file is empty or holds only white space")
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    marker = _find_comment_marker(lines)
    if marker is None:
        title, byline, body = _parse_article(lines)
        return ParsedPage(title=title, byline=byline, body=body)
    title, byline, body = _parse_article(lines[:marker])
    comments = _parse_thread(lines[marker + 1 :])
    return ParsedPage(title=title, byline=byline, body=body, comments=comments, has_comment_section=True)
