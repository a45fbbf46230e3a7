"""Finding and reading raw files, no Dagster.

Only regular files are read. Anything else found under the raw folder (a named pipe, a socket,
a device, a symlink loop, a link out of the folder, a name that is not UTF-8 or holds control
characters) is still listed, with the reason it cannot be read, so it lands in
``source_files``/``rejected_files`` instead of stalling or stopping a run.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fms_pipeline import limits, storage
from fms_pipeline.storage import AnyPath

# A blog page with its comments is well under a megabyte; 20 MB leaves room for huge threads
# while a wrong file is refused with a reason instead of stalling a run. Dump formats (Reddit
# NDJSON) are streamed and exempt. (All bounds: fms_pipeline/limits.py.)
MAX_PAGE_BYTES = limits.MAX_PAGE_BYTES
SNIFF_BYTES = limits.SNIFF_BYTES


class RejectedFile(Exception):
    """A raw file that is set aside; ``str()`` names the file and the reason."""

    def __init__(self, source_file: str, reason: str):
        super().__init__(f"{source_file}: {reason}")
        self.source_file = source_file
        self.reason = reason

    def __reduce__(self):  # so that it crosses from a worker process intact
        return RejectedFile, (self.source_file, self.reason)


@dataclass(frozen=True)
class RawEntry:
    source_file: str  # path under the raw folder, '/'-separated; escaped when the name is not UTF-8
    fingerprint: str  # changes whenever the file is rewritten (size, mtime and ctime, or an ETag)
    size_bytes: int
    problem: str | None = None  # why it cannot be read at all, found while scanning


_TYPE_NAMES = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory"}


def _escaped_name(relative: str) -> tuple[str, str | None]:
    """(a printable, stable name, the problem with the real name or None)."""
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        raw = relative.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace"), "the file name is not valid UTF-8; rename the file"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relative):
        printable = relative.encode("unicode_escape").decode("ascii")
        return printable, "the file name holds control characters (a tab or a line break); rename the file"
    return relative, None


def scan(raw_dir: AnyPath) -> dict[str, RawEntry]:
    """Every file under ``raw_dir`` (hidden files and folders skipped), without opening any; a
    table's mapping file is not a file of its own but part of its table (``attach_companions``)."""
    return attach_companions(_scan(raw_dir))


def attach_companions(found: dict[str, RawEntry]) -> dict[str, RawEntry]:
    """A mapping file beside its table (``reviews.csv.mapping.yml`` beside ``reviews.csv``) leaves the
    listing and joins its table's fingerprint, so that editing the mapping re-reads the table; one whose
    table is not there stays listed with that problem."""
    from dataclasses import replace

    from fms_pipeline.parsing.sources.tabular import MAPPING_SUFFIX

    for name in [n for n in found if n.endswith(MAPPING_SUFFIX)]:
        table = name[: -len(MAPPING_SUFFIX)]
        if table in found:
            mapping = found.pop(name)
            entry = found[table]
            found[table] = replace(entry, fingerprint=f"{entry.fingerprint}+mapping:{mapping.fingerprint}")
        elif found[name].problem is None:
            found[name] = replace(found[name], problem=f"a mapping file for {table.rsplit('/', 1)[-1]}, which is "
                                                       "not in the raw folder beside it")
    return found


def read_companion(raw_dir: AnyPath, source_file: str, name: str, limit: int = 1 << 20) -> bytes | None:
    """The bytes of the file ``name`` in ``source_file``'s folder (a table's mapping file), None when there
    is none; RejectedFile (for ``source_file``) when it exists but cannot be read or is over ``limit``."""
    folder = source_file.rsplit("/", 1)[0] + "/" if "/" in source_file else ""
    path = raw_dir / (folder + name)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RejectedFile(source_file, f"cannot read its mapping file {name}: {error.strerror or error}") from None
    if len(data) > limit:
        raise RejectedFile(source_file, f"its mapping file {name} is over {limit:,} bytes")
    return data


def _scan(raw_dir: AnyPath) -> dict[str, RawEntry]:
    if not storage.is_local(raw_dir):
        return _scan_object_store(raw_dir)
    raw_dir = Path(raw_dir)
    found: dict[str, RawEntry] = {}
    if not raw_dir.is_dir():
        return found
    for folder, subfolders, names in os.walk(raw_dir, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            relative, name_problem = _escaped_name(path.relative_to(raw_dir).as_posix())
            entry = _entry(raw_dir, path, relative, name_problem)
            if entry is not None:
                found[relative] = entry
    return found


def _entry(raw_dir: Path, path: Path, relative: str, name_problem: str | None) -> RawEntry | None:
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return None  # deleted while we looked
    fingerprint = f"{lst.st_size}:{lst.st_mtime_ns}:{lst.st_ctime_ns}"
    problem = name_problem
    size = lst.st_size
    if problem is None and stat.S_ISLNK(lst.st_mode):
        try:
            target = path.resolve(strict=True)
        except RuntimeError:
            problem = "a symbolic link loop"
        except FileNotFoundError:
            problem = "a broken symbolic link (its target does not exist)"
        except OSError as error:
            problem = f"cannot resolve the link: {error.strerror}"
        else:
            if not target.is_relative_to(raw_dir.resolve()):
                problem = f"a link that points outside the raw folder, to {target}"
            else:
                st = os.stat(target)
                size = st.st_size
                fingerprint = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{lst.st_mtime_ns}"
                if stat.S_ISDIR(st.st_mode):
                    return None  # a linked folder is not walked into (loops); nothing to read
                if not stat.S_ISREG(st.st_mode):
                    problem = f"a link to {_TYPE_NAMES.get(stat.S_IFMT(st.st_mode), 'a special file')}, not a regular file"
    elif problem is None and not stat.S_ISREG(lst.st_mode):
        problem = f"{_TYPE_NAMES.get(stat.S_IFMT(lst.st_mode), 'a special file')}, not a regular file"
    return RawEntry(relative, fingerprint, size, problem)


def _scan_object_store(raw_dir) -> dict[str, RawEntry]:
    found: dict[str, RawEntry] = {}
    try:
        listing = raw_dir.fs.find(raw_dir.path, detail=True)
    except FileNotFoundError:
        return found
    base = raw_dir.path.rstrip("/") + "/"
    for key, info in sorted(listing.items()):
        relative = key[len(base):] if key.startswith(base) else key
        if not relative or any(part.startswith(".") for part in relative.split("/")) or info.get("type") == "directory":
            continue
        version = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime")
        found[relative] = RawEntry(relative, f"{info.get('size')}:{version}", int(info.get("size") or 0))
    return found


class HashingReader(storage.WrappedReader):
    """A binary stream that hashes what is read through it (a dump is hashed while it is parsed)."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.sha256.update(data)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def opener(raw_dir: AnyPath, source_file: str) -> Callable[[], BinaryIO]:
    """A function that opens the raw file for reading, refusing anything but a regular file."""
    path = raw_dir / source_file

    def open_local() -> BinaryIO:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: a FIFO swapped in never hangs us
        except FileNotFoundError:
            raise RejectedFile(source_file, "the file was deleted before it could be read") from None
        except PermissionError:
            raise RejectedFile(source_file, "permission denied: the pipeline may not read this file") from None
        except OSError as error:
            raise RejectedFile(source_file, f"cannot open the file: {error.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RejectedFile(source_file, "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def open_remote() -> BinaryIO:
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise RejectedFile(source_file, "the file was deleted before it could be read") from None

    return open_local if storage.is_local(raw_dir) else open_remote


def read_head(open_binary: Callable[[], BinaryIO]) -> bytes:
    """The file's first bytes as stored: ``SNIFF_BYTES``, or up to ``limits.COMPRESSED_SNIFF_BYTES``
    of a compressed file (whose format is sniffed on its decompressed start)."""
    from fms_pipeline.parsing.sources.compression import compression_of

    with open_binary() as f:
        head = f.read(SNIFF_BYTES)
        if compression_of(head):
            head += f.read(limits.COMPRESSED_SNIFF_BYTES - len(head))
        return head


def read_page_bytes(open_binary: Callable[[], BinaryIO], source_file: str, size_hint: int) -> bytes:
    """The whole content of a one-page file, refused over ``MAX_PAGE_BYTES``; re-read when the file
    was rewritten while it was read."""
    if size_hint > MAX_PAGE_BYTES:
        raise RejectedFile(source_file, f"{size_hint:,} bytes, over the {MAX_PAGE_BYTES:,}-byte limit for one page")
    for _attempt in range(3):
        with open_binary() as f:
            data = f.read(MAX_PAGE_BYTES + 1)
            before = _size_of(f)
        if len(data) > MAX_PAGE_BYTES:
            raise RejectedFile(source_file, f"over the {MAX_PAGE_BYTES:,}-byte limit for one page")
        if before is None or before == len(data):
            return data
    raise RejectedFile(source_file, "the file kept changing while it was read; it will be read again next time")


def _size_of(f) -> int | None:
    try:
        return os.fstat(f.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None
