"""Source formats: each module reads one kind of file into documents and comments.

A module has ``FORMAT`` (a SourceFormat), ``sniff(extension, head_text) -> bool`` and
``read(open_binary, source_file) -> Iterator[Record]``; adding a format is adding a module
(and its fixture) and listing it in ``_MODULES``. A file's format is found from its name and
a sniff of its first bytes, never from the extension alone.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import BinaryIO

from fms_pipeline.parsing.decode import UndecodableFile, decode_page
from fms_pipeline.parsing.sources import (
    discourse_json,
    disqus_xml,
    html_page,
    reddit_json,
    reddit_ndjson,
    stackexchange_dump,
    tabular,
    text,
    wordpress_json,
    wordpress_wxr,
)
from fms_pipeline.parsing.sources import compression
from fms_pipeline.parsing.sources.common import guarded
from fms_pipeline.parsing.sources.xml_common import after_prolog
from fms_pipeline.parsing.sources.model import (
    Record,
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    SourceFormat,
)

__all__ = [
    "FORMATS", "Record", "RejectedSource", "SkippedRecord", "SourceComment", "SourceDocument", "SourceFormat",
    "detect_format", "format_named", "read_source",
]

# Tried in this order: the specific shapes first, the copied-text format last.
_MODULES: tuple[ModuleType, ...] = (
    wordpress_wxr, disqus_xml, stackexchange_dump, html_page, reddit_json, reddit_ndjson, discourse_json,
    tabular, wordpress_json, text,
)
# Formats that are archives: asked before a ZIP is turned away as "a ZIP archive".
_ARCHIVE_MODULES: tuple[ModuleType, ...] = (stackexchange_dump,)
_BY_NAME = {module.FORMAT.name: module for module in _MODULES}
FORMATS: tuple[SourceFormat, ...] = tuple(module.FORMAT for module in _MODULES)

HEAD_BYTES = 1 << 16  # how much of a file's content detect_format looks at (limits.SNIFF_BYTES)

# Files people may drop in by mistake, named by their magic number for a clear reason.
_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or a Word, Excel or OpenDocument file)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!\x1a\x07": "a RAR archive",
}
_XML_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


def format_named(name: str) -> SourceFormat:
    return _BY_NAME[name].FORMAT


def detect_format(name: str, head: bytes) -> SourceFormat:
    """The format of the file called ``name`` whose first bytes are ``head`` (as stored: up to 64 KiB,
    or ``limits.COMPRESSED_SNIFF_BYTES`` of a compressed file, whose start is decompressed here: a
    zstd, gzip, bzip2 or xz file holds any format). Raises RejectedSource for anything else."""
    lower = name.lower()
    compressed = compression.compression_of(head)
    named = compression.EXTENSIONS.get(posixpath.splitext(lower)[1])
    if named:
        if compressed != named:
            raise RejectedSource(f"named {compression.label(named)} but not {named}-compressed data")
        lower = posixpath.splitext(lower)[0]
    if compressed:
        try:
            head = compression.decompressed_head(compressed, head, HEAD_BYTES)
        except compression.DamagedStream as error:
            raise RejectedSource(f"{error}, before any of its content") from None
        if b"ustar" in head[257:263]:
            raise RejectedSource(f"unrecognised format: a tar archive ({compression.label(compressed)}-compressed); "
                                 "unpack it into the raw folder")
    if not head.strip():
        raise RejectedSource("the file is empty or holds only white space")
    extension = posixpath.splitext(posixpath.basename(lower))[1]
    for module in _ARCHIVE_MODULES:
        if not compressed and module.sniff_archive(lower, head):
            return module.FORMAT
    for module in _MODULES:  # binary formats (Parquet, workbooks) before the magic numbers below
        if not compressed and hasattr(module, "sniff_bytes") and module.sniff_bytes(extension, head):
            return module.FORMAT
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise RejectedSource(f"unrecognised format: {what}")
    head_text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for module in _MODULES:
        if module.sniff(extension, head_text):
            return module.FORMAT
    try:
        decode_page(head)
    except UndecodableFile as error:
        raise RejectedSource(str(error)) from None  # "binary file: ...", as for any page
    raise RejectedSource(f"unrecognised format: {_describe(extension, head_text)}")


def _describe(extension: str, head_text: str) -> str:
    start = head_text.lstrip()[:1]
    if start in ("{", "["):
        return ("JSON that is neither WordPress REST (a post or comments with content.rendered), a Discourse "
                "topic (post_stream) nor a Reddit thread (Listings) or dump (one submission or comment a line)")
    if start == "<":
        root = _XML_ROOT.match(after_prolog(head_text))
        return (f"markup with root element <{root.group(1) if root else '?'}>, neither an HTML page nor a "
                "WordPress (WXR) or Disqus export")
    what = f"a {extension} file" if extension else "a file without an extension"
    return (f"{what}; readable formats are copied page text (.txt), saved HTML pages, WordPress REST JSON "
            "or WXR exports, Disqus exports, Discourse topic JSON, the Stack Exchange dump (.zip), Reddit "
            "JSON or NDJSON and tables (.csv, .tsv, .jsonl, .ndjson, .parquet, .xlsx), each but the .zip, "
            ".parquet and .xlsx also compressed (.zst, .gz, .bz2, .xz)")


def read_source(fmt: SourceFormat, open_binary: Callable[[], BinaryIO], source_file: str,
                read_companion: Callable[[str], bytes | None] | None = None) -> Iterator[Record]:
    """Documents, comments and skipped records of one file, as ``fmt`` reads it.

    One-page formats read the whole file (the caller checked its size) and yield each document
    followed by its comments in thread order. Streaming formats read ``open_binary()`` as a
    stream (``.read(n)`` only) and yield records as they come. Raises RejectedSource when the
    file as a whole is unusable. ``read_companion(name)``: the bytes of the file ``name`` in the same
    folder, or None (a table's mapping file, ``tabular.MAPPING_SUFFIX``).

    A compressed file (zstd, gzip, bzip2, xz) is read decompressed, as a stream; one bad record is
    a SkippedRecord and a reader's failure a RejectedSource naming the cause (``common.guarded``)."""
    if fmt.name == tabular.FORMAT.name:
        return guarded(tabular.read(compression.decompressing(open_binary), source_file, read_companion), fmt.name)
    return guarded(_BY_NAME[fmt.name].read(compression.decompressing(open_binary), source_file), fmt.name)
