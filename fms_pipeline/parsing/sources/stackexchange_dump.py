"""The Stack Exchange data dump (each site's ``Posts.xml``, ``Comments.xml``, ``Users.xml``, … as the
network publishes them, one ``<row …/>`` per post, comment or user).

One source is **a ZIP archive holding the site's files** (``Posts.xml`` required, ``Comments.xml`` and
``Users.xml`` read when present, at any folder depth; the other files are ignored). The network ships
each site as a ``.7z``; make the ZIP with ``7z x health.stackexchange.com.7z Posts.xml Comments.xml
Users.xml && zip health.stackexchange.com.zip Posts.xml Comments.xml Users.xml``. Name the archive
after the site (as the network names its files) and the documents get the site's address.
A ``Posts.xml`` alone (a folder of the unpacked dump) is read too, without comments; a
``Comments.xml`` alone is rejected with that advice, as its comments belong to posts it does not hold.

As a question page (``forums.py``): each question is a document (title, ``https://<site>/questions/<id>``,
no body of its own) whose first comment is the question itself (``post-<id>``); each answer
(``PostTypeId`` 2) replies to it; each comment replies to its post (``comment-<id>``). Other post types
(tag wikis, moderator nominations) are not conversation and are left out. Authors are the users'
display names from ``Users.xml`` (``OwnerDisplayName``/``UserDisplayName`` for deleted accounts),
else "user<id>" as the sites show an unknown account. Scores are kept. Read as a stream: the
archive is spooled to a temporary file (ZIP needs to seek), the XML parsed row by row.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from lxml import etree

from fms_pipeline.parsing.sources.common import author_fields, html_to_text, parse_timestamp, plain_text
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    SourceFormat,
)

FORMAT = SourceFormat("stackexchange_dump", streaming=True)
EXTENSIONS = {".xml", ".txt", ""}
DUMP_FILES = {"posts.xml", "comments.xml", "users.xml", "badges.xml", "posthistory.xml", "postlinks.xml",
              "tags.xml", "votes.xml"}
ZIP_MAGIC = b"PK\x03\x04"
_ROWS = re.compile(r"^\s*(<\?xml[^>]*>\s*)?<(posts|comments)>\s*<row\s[^>]*\b(PostTypeId|PostId)=\"", re.S)
_QUESTION, _ANSWER = "1", "2"
_HOST = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")


def sniff(extension: str, head: str) -> bool:
    """A Posts.xml or Comments.xml of the dump (its root and its first row's fields)."""
    return extension in EXTENSIONS and _ROWS.match(head[:4096]) is not None


def sniff_archive(name: str, head: bytes) -> bool:
    """A ZIP archive whose first file (after any folder entries) is one of the dump's files."""
    offset = 0
    for _ in range(8):
        if head[offset:offset + 4] != ZIP_MAGIC or len(head) < offset + 30:
            return False
        size = int.from_bytes(head[offset + 18:offset + 22], "little")
        name_length = int.from_bytes(head[offset + 26:offset + 28], "little")
        extra_length = int.from_bytes(head[offset + 28:offset + 30], "little")
        entry = head[offset + 30:offset + 30 + name_length].decode("utf-8", "replace")
        if not entry.endswith("/"):
            return posixpath.basename(entry).lower() in DUMP_FILES
        offset += 30 + name_length + extra_length + size
    return False


def read(open_binary: Callable[[], BinaryIO], source_file: str) -> Iterator[Record]:
    host = _site(source_file)
    with open_binary() as stream, tempfile.TemporaryFile() as spooled:
        start = stream.read(4)
        if start != ZIP_MAGIC:
            yield from _read_posts_file(start, stream, host)
            return
        spooled.write(start)
        shutil.copyfileobj(stream, spooled, 1 << 20)
        spooled.seek(0)
        try:
            archive = zipfile.ZipFile(spooled)
        except zipfile.BadZipFile as error:
            raise RejectedSource(f"a ZIP archive that cannot be read: {error}") from None
        try:
            with archive:
                yield from _read_archive(archive, host)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise RejectedSource(f"a damaged ZIP archive: {error}") from None


def _read_archive(archive: zipfile.ZipFile, host: str | None) -> Iterator[Record]:
    members = {posixpath.basename(n).lower(): n for n in archive.namelist() if not n.endswith("/")}
    if "posts.xml" not in members:
        raise RejectedSource("a Stack Exchange dump archive without Posts.xml (it holds "
                             f"{', '.join(sorted(members)) or 'no files'})")
    users: dict[str, str] = {}
    if "users.xml" in members:
        with archive.open(members["users.xml"]) as f:
            for item in _rows(f, "Users.xml", "users"):
                if isinstance(item, SkippedRecord):
                    yield item
                elif item[1].get("Id") and item[1].get("DisplayName"):
                    users[item[1]["Id"]] = item[1]["DisplayName"]
    question_of: dict[str, str] = {}
    with archive.open(members["posts.xml"]) as f:
        yield from _posts(_rows(f, "Posts.xml", "posts"), host, users, question_of)
    if "comments.xml" in members:
        with archive.open(members["comments.xml"]) as f:
            yield from _comments(_rows(f, "Comments.xml", "comments"), users, question_of)


class _Joined:
    """A stream with its first bytes put back."""

    def __init__(self, start: bytes, rest: BinaryIO):
        self.start, self.rest = start, rest

    def read(self, n: int = -1) -> bytes:
        if self.start:
            data, self.start = self.start, b""
            return data if n < 0 else data + self.rest.read(max(0, n - len(data)))
        return self.rest.read(n)


def _read_posts_file(start: bytes, stream: BinaryIO, host: str | None) -> Iterator[Record]:
    rows = _rows(_Joined(start, stream), "the file", None)
    first = next(rows, None)
    if first is None:
        raise RejectedSource("a Stack Exchange dump file with no rows")
    root, row = first
    if root == "comments":
        raise RejectedSource("a Stack Exchange Comments.xml alone: its comments belong to posts in Posts.xml; put "
                             "Posts.xml, Comments.xml (and Users.xml) in one .zip (see parsing/sources/README.md)")

    def again() -> Iterator:
        yield first
        yield from rows

    yield from _posts(again(), host, {}, {})


def _rows(f, name: str, expected_root: str | None) -> Iterator[tuple[str, dict] | SkippedRecord]:
    """(root element, attributes) of each ``<row>``, in bounded memory; a break in the XML after some
    rows is a SkippedRecord (the rows before it are kept), before any row a RejectedSource."""
    parser = etree.iterparse(f, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=True,
                             remove_comments=True, remove_pis=True)
    root = None
    count = 0
    try:
        for event, element in parser:
            if event == "start":
                if root is None:
                    root = element.tag
                    if expected_root is not None and root != expected_root:
                        raise RejectedSource(f"{name} is not the dump's {name}: its root element is <{root}>")
                    if root not in ("posts", "comments", "users"):
                        raise RejectedSource(f"not a Stack Exchange dump file: root element <{root}>")
                continue
            if element.tag == "row":
                count += 1
                yield root, dict(element.attrib)
                element.clear()
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as error:
        if count == 0:
            raise RejectedSource(f"not well-formed XML in {name}: {error}") from None
        yield SkippedRecord(f"{name} after row {count}", f"the XML breaks there ({error}); the rows before it are kept")


def _author(row: dict, id_field: str, name_field: str, users: dict[str, str]) -> tuple[str | None, bool]:
    user = row.get(id_field)
    name = row.get(name_field) or (users.get(user) if user else None) or (f"user{user}" if user else None)
    return author_fields(name)


def _score(value: str | None) -> int | None:
    return int(value) if value and re.fullmatch(r"-?\d{1,9}", value) else None


def _posts(rows, host: str | None, users: dict[str, str], question_of: dict[str, str]) -> Iterator[Record]:
    for item in rows:
        if isinstance(item, SkippedRecord):
            yield item
            continue
        _, row = item
        post_id, kind = row.get("Id"), row.get("PostTypeId")
        if not post_id or kind not in (_QUESTION, _ANSWER):
            continue
        question = post_id if kind == _QUESTION else row.get("ParentId")
        if not question:
            yield SkippedRecord(f"post {post_id}", "an answer without a ParentId")
            continue
        question_of[post_id] = question
        author, anonymous = _author(row, "OwnerUserId", "OwnerDisplayName", users)
        published = parse_timestamp(row.get("CreationDate"))
        if kind == _QUESTION:
            yield SourceDocument(
                key=post_id, title=row.get("Title") or None, byline=author, body="",
                url=f"https://{host}/questions/{post_id}" if host else None, community=host,
                published_at=published, has_comment_section=True,
            )
        yield SourceComment(
            document_key=question, key=f"post-{post_id}", parent_key=None if kind == _QUESTION else f"post-{question}",
            author=author, author_is_anonymous=anonymous, body=html_to_text(row.get("Body") or ""),
            published_at=published, score=_score(row.get("Score")),
        )


def _comments(rows, users: dict[str, str], question_of: dict[str, str]) -> Iterator[Record]:
    for item in rows:
        if isinstance(item, SkippedRecord):
            yield item
            continue
        _, row = item
        post = row.get("PostId")
        question = question_of.get(post or "")
        if question is None:
            yield SkippedRecord(f"comment {row.get('Id')}", f"its post {post} is not a question or answer in Posts.xml")
            continue
        author, anonymous = _author(row, "UserId", "UserDisplayName", users)
        yield SourceComment(
            document_key=question, key=f"comment-{row.get('Id')}", parent_key=f"post-{post}", author=author,
            author_is_anonymous=anonymous, body=plain_text(row.get("Text") or ""),
            published_at=parse_timestamp(row.get("CreationDate")), score=_score(row.get("Score")),
        )


def _site(source_file: str) -> str | None:
    """The site's host from the archive's name ("health.stackexchange.com.zip") or the folder of a Posts.xml."""
    path = source_file.replace("\\", "/").lower()
    name = posixpath.basename(path)
    for candidate in (re.sub(r"\.(zip|xml)$", "", name), posixpath.basename(posixpath.dirname(path))):
        if _HOST.match(candidate) and candidate not in DUMP_FILES:
            return candidate
    return None
