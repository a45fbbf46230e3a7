"""Where data lives: a local folder or an object store (``s3://...``) through universal-pathlib,
and the one way files are published there.

Every file the pipeline writes (staged Parquet, the warehouse, report pages, the shareable copy)
goes through ``atomic_write``: it is written completely to a temporary file first and then
published in one step (a rename on a local disk, a single PUT on an object store), so a reader
sees the old file or the new one and a crash leaves no half-written file behind. Temporary files
of writers that died are removed by ``remove_abandoned_temp_files``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from upath import UPath

AnyPath = Path | UPath

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def as_path(location: str | os.PathLike) -> AnyPath:
    """A local ``Path`` (resolved) for a folder, a ``UPath`` for an fsspec URL such as ``s3://bucket/data``.

    Object-store credentials and endpoint come from the usual environment variables
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for a non-AWS server).

    fsspec's listings cache is off: other machines add and rewrite files under the same prefix,
    and a cached listing made a long-lived process (the sensor's, a second ``materialize``) reject
    a new raw file as deleted and fail on a rewritten one (``FileExpired``)."""
    if isinstance(location, UPath):
        return location
    text = os.fspath(location)
    if _URL.match(text) and not text.lower().startswith("file://"):
        return UPath(text, use_listings_cache=False)
    return Path(text.removeprefix("file://")).resolve()


def is_local(path: AnyPath) -> bool:
    return not isinstance(path, UPath) or path.protocol in ("", "file", "local")


def _tmp_name(dest: AnyPath, tag: str) -> str:
    return f".{dest.name}.{tag}-{os.getpid()}.tmp"


@contextlib.contextmanager
def atomic_write(dest: AnyPath, tag: str = "writing") -> Iterator[Path]:
    """Yield a local temporary path to write ``dest``'s new content to; publish it when the block
    ends without an error, remove it otherwise.

    On a local disk the temporary file sits beside ``dest`` (same file system, so the rename is
    atomic and a reader never sees a partial file); for an object store it is a local temporary
    file uploaded in one PUT."""
    if is_local(dest):
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(_tmp_name(dest, tag))
        try:
            yield tmp
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        with tempfile.TemporaryDirectory(prefix="fms-upload-") as folder:
            tmp = Path(folder) / dest.name
            yield tmp
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.fs.put_file(str(tmp), dest.path)


def remove_abandoned_temp_files(folder: AnyPath) -> list[str]:
    """Delete temporary files under ``folder`` left by writers whose process is gone (a killed
    run, a full disk)."""
    removed: list[str] = []
    if not is_local(folder) or not Path(folder).is_dir():
        return removed
    pattern = re.compile(r"^\..+-(\d+)\.tmp(\.wal)?$")  # DuckDB leaves a .wal beside a killed build
    for path in Path(folder).rglob(".*.tmp*"):
        match = pattern.match(path.name)
        if match and int(match.group(1)) != os.getpid() and not process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(str(path))
    return removed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def local_copy(path: AnyPath) -> Iterator[Path]:
    """A local file with ``path``'s content: the file itself on a local disk, a temporary download
    from an object store."""
    if is_local(path):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="fms-download-") as folder:
        local = Path(folder) / path.name
        path.fs.get_file(path.path, str(local))
        yield local


def upload_tree(local_folder: Path, dest: AnyPath) -> dict[str, int]:
    """Make ``dest`` hold what the locally rendered folder (the report) holds, file by file, each
    published atomically: files in subfolders (the pages) before the top-level ones that link to
    them, a file whose content the store already has (its ETag is the MD5 of a one-PUT object) is
    not sent again, and files the folder no longer has (the page of a deleted document) are
    removed last. Returns {"uploaded", "unchanged", "removed"}."""
    import hashlib

    existing = file_versions(dest)
    etags = {name: version.split(":", 1)[1].strip('"') for name, version in existing.items()} if not is_local(dest) else {}
    files = sorted((p for p in local_folder.rglob("*") if p.is_file()),
                   key=lambda p: (len(p.relative_to(local_folder).parts) == 1, p.as_posix()))
    counts = {"uploaded": 0, "unchanged": 0, "removed": 0}
    for source in files:
        name = source.relative_to(local_folder).as_posix()
        if name in etags and etags[name] == hashlib.md5(source.read_bytes(), usedforsecurity=False).hexdigest():
            counts["unchanged"] += 1
            continue
        with atomic_write(dest.joinpath(*name.split("/"))) as tmp:
            shutil.copyfile(source, tmp)
        counts["uploaded"] += 1
    kept = {source.relative_to(local_folder).as_posix() for source in files}
    for name in sorted(set(existing) - kept):
        target = dest.joinpath(*name.split("/"))
        if is_local(dest):
            Path(target).unlink(missing_ok=True)
        else:
            target.fs.rm_file(target.path)
        counts["removed"] += 1
    return counts


def file_version(path: AnyPath) -> str | None:
    """Size and modification time (an ETag on object stores) of a file, or None if it is absent:
    it changes whenever the file is rewritten."""
    try:
        if is_local(path):
            return _local_version(os.stat(path))
        info = path.fs.info(path.path)
    except FileNotFoundError:
        return None
    return _object_version(info)


def file_versions(folder: AnyPath) -> dict[str, str]:
    """{path under ``folder`` ('/'-separated): its ``file_version``} for every file below it. On an
    object store this is one listing, where ``file_version`` per file costs a request or two each
    (a missing object: two)."""
    if is_local(folder):
        root = Path(folder)
        versions: dict[str, str] = {}
        for directory, _subfolders, names in os.walk(root):
            for name in names:
                path = Path(directory) / name
                try:
                    versions[path.relative_to(root).as_posix()] = _local_version(os.stat(path))
                except FileNotFoundError:  # removed while we looked
                    continue
        return versions
    try:
        listing = folder.fs.find(folder.path, detail=True)
    except FileNotFoundError:
        return {}
    base = folder.path.rstrip("/") + "/"
    return {key[len(base):]: _object_version(info) for key, info in listing.items()
            if key.startswith(base) and info.get("type") != "directory"}


def _local_version(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}"


def _object_version(info: dict) -> str:
    return f"{info.get('size')}:{info.get('ETag') or info.get('etag') or info.get('LastModified') or info.get('mtime')}"


class WrappedReader:
    """The part every read-only wrapper of a binary stream shares: readable, closes what it wraps
    (``self._raw``), a context manager. Subclasses define ``read``."""

    _raw: object

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
