"""Compressed files (zstd, gzip, bzip2, xz), read as streams in bounded memory, for every format.

A file is compressed when its first bytes are one of these formats' magic numbers (never by its
name alone). ``decompressing(open_binary)`` gives an opener whose streams are the decompressed
content; every step of decompression gives at most ``limits.DECOMPRESSED_CHUNK_BYTES``, however
much a few compressed bytes expand to, so a "bomb" (GiBs from kilobytes) costs time, not memory.

A stream that ends inside a compressed frame (a download cut short) or is damaged raises
``DamagedStream`` after the content before the damage was given out: the readers keep what came
before and say where the damage was (``where`` counts compressed bytes).

zstd is decompressed one block at a time (a block decodes to at most 128 KiB: RFC 8878 3.1.1.2),
the frame walked here to find the blocks: zstandard's stream readers neither bound the output of
one input chunk nor report a truncated frame.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import zstandard

from fms_pipeline import limits
from fms_pipeline.storage import WrappedReader

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"

# name -> (magic number, file name extension, how the user knows it)
FORMATS = {
    "zstd": (ZSTD_MAGIC, ".zst", ".zst"),
    "gzip": (GZIP_MAGIC, ".gz", ".gz"),
    "bzip2": (BZIP2_MAGIC, ".bz2", ".bz2"),
    "xz": (XZ_MAGIC, ".xz", ".xz"),
}
EXTENSIONS = {extension: name for name, (_magic, extension, _label) in FORMATS.items()}
MAGIC_BYTES = max(len(magic) for magic, _e, _l in FORMATS.values())


class DamagedStream(Exception):
    """The compressed stream is cut short or corrupt; ``str()`` says which and where."""


class TruncatedStream(DamagedStream):
    """The compressed stream ended inside a frame (a file cut short)."""


def compression_of(head: bytes) -> str | None:
    """The compression whose magic number ``head`` starts with, or None."""
    for name, (magic, _extension, _label) in FORMATS.items():
        if head.startswith(magic):
            return name
    return None


def label(name: str) -> str:
    return FORMATS[name][2]


def decompressed_chunks(name: str, compressed: Iterable[bytes],
                        chunk_bytes: int = limits.DECOMPRESSED_CHUNK_BYTES) -> Iterator[bytes]:
    """The decompressed content of a stream of compressed chunks, in pieces of at most ``chunk_bytes``
    (one frame or member after another). Raises DamagedStream when the stream is cut or corrupt."""
    if name == "zstd":
        yield from _zstd(compressed, chunk_bytes)
    else:
        yield from _stdlib(name, compressed, chunk_bytes)


def _stdlib(name: str, compressed: Iterable[bytes], chunk_bytes: int) -> Iterator[bytes]:
    what = label(name)
    new, errors = {
        "gzip": (lambda: _Zlib(zlib.decompressobj(16 + zlib.MAX_WBITS)), (zlib.error,)),
        "bzip2": (bz2.BZ2Decompressor, (OSError, ValueError)),
        "xz": (lambda: lzma.LZMADecompressor(memlimit=limits.XZ_MEMORY_LIMIT_BYTES), (lzma.LZMAError,)),
    }[name]
    decompressor = new()
    fed = 0  # compressed bytes read so far, for "where"
    started = False  # the current member has been given input
    for raw in compressed:
        fed += len(raw)
        data = raw
        while True:
            if decompressor.eof:
                rest = decompressor.unused_data + data
                decompressor, started, data = new(), False, b""
                if not rest.strip(b"\x00"):  # xz and some gzip writers pad with zero bytes
                    break
                data = rest
            if not data and decompressor.needs_input:
                break
            try:
                out = decompressor.decompress(data, chunk_bytes)
            except errors as error:
                raise DamagedStream(f"the {what} stream is corrupt ({error}) within its first {fed:,} compressed "
                                    "bytes") from None
            started, data = True, b""
            if out:
                yield out
            elif decompressor.needs_input and not decompressor.eof:
                break
    if started and not decompressor.eof:
        raise TruncatedStream(f"the {what} stream is truncated (the file ends inside a compressed stream)")


class _Zlib:
    """zlib's decompressobj with the interface of bz2's and lzma's decompressors (max_length, needs_input)."""

    def __init__(self, inner):
        self.inner = inner

    @property
    def needs_input(self) -> bool:
        return not self.inner.unconsumed_tail and not self.inner.eof

    @property
    def eof(self) -> bool:
        return self.inner.eof

    @property
    def unused_data(self) -> bytes:
        return self.inner.unused_data

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self.inner.decompress(self.inner.unconsumed_tail + data, max_length)


_SKIPPABLE_MAGIC_MASK = 0xFFFFFFF0
_SKIPPABLE_MAGIC = 0x184D2A50


def _zstd(compressed: Iterable[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """zstd frames block by block: each decompressor call gets one whole block (at most 128 KiB out),
    what was decompressed before a damage given out before the damage is raised."""
    pending: list[bytes] = []
    size = 0
    try:
        for out in _zstd_blocks(compressed):
            pending.append(out)
            size += len(out)
            if size > chunk_bytes - (128 << 10):
                yield b"".join(pending)
                pending, size = [], 0
    except DamagedStream:
        if pending:
            yield b"".join(pending)
        raise
    if pending:
        yield b"".join(pending)


def _zstd_blocks(compressed: Iterable[bytes]) -> Iterator[bytes]:
    dctx = zstandard.ZstdDecompressor(max_window_size=limits.ZSTD_MAX_WINDOW_BYTES)
    buffer = bytearray()
    offset = 0  # compressed bytes consumed before buffer[0]
    source = iter(compressed)
    exhausted = False

    def need(n: int) -> bool:
        """At least n bytes in the buffer (False: the input ended first)."""
        nonlocal exhausted
        while len(buffer) < n and not exhausted:
            raw = next(source, None)
            if raw is None:
                exhausted = True
            else:
                buffer.extend(raw)
        return len(buffer) >= n

    def take(n: int) -> bytes:
        nonlocal offset
        piece = bytes(buffer[:n])
        del buffer[:n]
        offset += n
        return piece

    def corrupt(reason: str, where: int) -> DamagedStream:
        return DamagedStream(f"the .zst stream is corrupt ({reason}) at compressed byte {where:,}")

    while need(1):
        frame_start = offset
        if not need(4):
            raise TruncatedStream("the .zst stream is truncated (the file ends inside a compressed frame)")
        magic = int.from_bytes(buffer[:4], "little")
        if magic & _SKIPPABLE_MAGIC_MASK == _SKIPPABLE_MAGIC:
            if not need(8):
                raise TruncatedStream("the .zst stream is truncated (the file ends inside a skippable frame)")
            size = int.from_bytes(buffer[4:8], "little")
            take(8)
            while size:
                if not need(1):
                    raise TruncatedStream("the .zst stream is truncated (the file ends inside a skippable frame)")
                size -= len(take(min(size, len(buffer))))
            continue
        if bytes(buffer[:4]) != ZSTD_MAGIC:
            raise corrupt("not the start of a zstd frame", frame_start)
        if not need(5):
            raise TruncatedStream("the .zst stream is truncated (the file ends inside a frame header)")
        descriptor = buffer[4]
        fcs_flag, single_segment, checksum, dict_flag = descriptor >> 6, descriptor >> 5 & 1, descriptor >> 2 & 1, descriptor & 3
        if descriptor & 0x08:
            raise corrupt("a reserved bit of the frame header is set", frame_start + 4)
        header_size = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_flag] + (
            (1 if single_segment else 0), 2, 4, 8)[fcs_flag]
        if not need(header_size):
            raise TruncatedStream("the .zst stream is truncated (the file ends inside a frame header)")
        decompressor = dctx.decompressobj()
        pending = take(header_size)
        try:
            decompressor.decompress(pending)  # the header alone: checks the window size and parameters
        except zstandard.ZstdError as error:
            raise corrupt(_zstd_reason(error), frame_start) from None
        last = False
        while not last:
            block_start = offset
            if not need(3):
                raise TruncatedStream("the .zst stream is truncated (the file ends inside a compressed frame)")
            block_header = int.from_bytes(buffer[:3], "little")
            last, block_type, block_size = bool(block_header & 1), block_header >> 1 & 3, block_header >> 3
            if block_type == 3:
                raise corrupt("a block of the reserved type", block_start)
            length = 3 + (1 if block_type == 1 else block_size) + (4 if last and checksum else 0)
            if not need(length):
                raise TruncatedStream("the .zst stream is truncated (the file ends inside a compressed frame)")
            try:
                out = decompressor.decompress(take(length))
            except zstandard.ZstdError as error:
                raise corrupt(_zstd_reason(error), block_start) from None
            if out:
                yield out


def _zstd_reason(error: zstandard.ZstdError) -> str:
    return str(error).removeprefix("zstd decompress error: ").removeprefix("zstd decompressor error: ")


def decompressed_head(name: str, head: bytes, limit: int = limits.SNIFF_BYTES) -> bytes:
    """The decompressed start (at most ``limit`` bytes) of a compressed file given its stored start
    (the rest missing is fine). Decompresses no more than it returns. Raises DamagedStream when
    nothing can be decompressed (the data is damaged, or cut before its first block)."""
    got: list[bytes] = []
    size = 0
    try:
        for chunk in decompressed_chunks(name, [head], chunk_bytes=min(limit, limits.DECOMPRESSED_CHUNK_BYTES)):
            got.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except DamagedStream:  # only the start was given: truncated is expected once something came out
        if not got:
            raise
    return b"".join(got)[:limit]


class DecompressingReader(WrappedReader):
    """A binary stream (``read(n)``) of the decompressed content of ``raw`` (itself read in bounded chunks)."""

    def __init__(self, name: str, raw: BinaryIO):
        self.name = name
        self._raw = raw
        self._chunks = decompressed_chunks(name, _raw_chunks(raw))
        self._buffer = b""
        self._position = 0
        self._damage: DamagedStream | None = None

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._buffer, *self._chunks]
            self._buffer = b""
            data = b"".join(parts)
        else:
            while len(self._buffer) < n and self._damage is None:
                try:
                    chunk = next(self._chunks, None)
                except DamagedStream as error:  # what came before the damage is read first
                    self._damage = error
                    break
                if chunk is None:
                    break
                self._buffer = self._buffer + chunk if self._buffer else chunk
            if not self._buffer and self._damage is not None:
                raise self._damage
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        self._position += len(data)
        return data

    def close(self) -> None:
        self._chunks.close()
        super().close()


class _Prefixed(WrappedReader):
    """A raw stream whose first bytes were already read (to look at the magic number)."""

    def __init__(self, head: bytes, raw: BinaryIO):
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._raw.read(n)



def _raw_chunks(stream: BinaryIO, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(chunk_size):
        yield chunk


def decompressing(open_binary: Callable[[], BinaryIO]) -> Callable[[], BinaryIO]:
    """An opener like ``open_binary`` whose streams give a compressed file's content decompressed
    (and anything else as stored)."""

    def open_content() -> BinaryIO:
        raw = open_binary()
        head = b""
        try:
            while len(head) < MAGIC_BYTES:
                more = raw.read(MAGIC_BYTES - len(head))
                if not more:
                    break
                head += more
        except BaseException:
            raw.close()
            raise
        stream = _Prefixed(head, raw)
        name = compression_of(head)
        return DecompressingReader(name, stream) if name else stream

    return open_content
