"""Per-file processing, no Dagster: raw file -> staged text -> parsed page -> entity mentions.

Each stage reads the previous stage's Parquet and writes its own, so a stage can be re-run
for one file without touching the others. A file that cannot be read, decoded or parsed is
recorded in ``rejected_files`` with the reason; what was staged for it before stays, so the
warehouse keeps its last good version until a good one replaces it.
"""

from __future__ import annotations

import bisect
import hashlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import polars as pl
from spacy.language import Language

from fms_pipeline import staging
from fms_pipeline.parsing.decode import UndecodableFile, decode_page
from fms_pipeline.parsing.thread_format import UnparseablePage, is_anonymous_author, parse_page

# A blog page with its comments is well under a megabyte; 20 MB leaves room for huge threads
# while a dump of a whole site (or a wrong file) is refused with a reason instead of stalling a run.
MAX_FILE_BYTES = 20 * 1024 * 1024


class RejectedFile(Exception):
    """A raw file that is set aside; ``str()`` names the file and the reason."""

    def __init__(self, source_file: str, reason: str):
        super().__init__(f"{source_file}: {reason}")
        self.source_file = source_file
        self.reason = reason

    def __reduce__(self):  # so that it crosses from a worker process intact
        return RejectedFile, (self.source_file, self.reason)


@cache
def pipeline_version() -> str:
    """A hash of the rules, vocabularies and model that shape the staged data; when it changes,
    files processed before are stale."""
    from importlib import metadata, resources

    digest = hashlib.sha256(metadata.version("fms-pipeline").encode())
    package = resources.files("fms_pipeline")
    for folder in ("parsing/rules", "nlp/vocab", "nlp/models"):
        for entry in sorted(package.joinpath(folder).iterdir(), key=lambda e: e.name):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:16]


def document_id(source_file: str) -> str:
    """Stable id of a raw file, from its path relative to the raw folder."""
    return hashlib.sha256(source_file.encode("utf-8")).hexdigest()[:16]


def comment_id(doc_id: str, position: int) -> str:
    return f"{doc_id}:c{position}"


def scan_raw_files(raw_dir: Path) -> dict[str, str]:
    """{source_file: fingerprint} for the files under ``raw_dir``; hidden files are skipped.

    The fingerprint (size and modification time) changes when a file is rewritten.
    """
    found: dict[str, str] = {}
    if not raw_dir.is_dir():
        return found
    for path in sorted(raw_dir.rglob("*")):
        relative = path.relative_to(raw_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        try:
            st = path.stat()
        except OSError:
            st = path.lstat() if path.is_symlink() else None  # a dangling link is still a file to report
            if st is None:
                continue
        if path.is_dir():
            continue
        found[relative.as_posix()] = f"{st.st_size}:{st.st_mtime_ns}"
    return found


def _read_raw_bytes(raw_dir: Path, source_file: str) -> bytes:
    path = raw_dir / source_file
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        raise RejectedFile(source_file, "the file no longer exists (deleted or a broken link)") from None
    except OSError as error:
        raise RejectedFile(source_file, f"cannot resolve the path: {error.strerror}") from None
    if not resolved.is_relative_to(raw_dir.resolve()):
        raise RejectedFile(source_file, f"a link that points outside the raw folder, to {resolved}")
    try:
        before = resolved.stat()
        if before.st_size > MAX_FILE_BYTES:
            raise RejectedFile(
                source_file, f"{before.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for one page"
            )
        for _attempt in range(3):
            data = resolved.read_bytes()
            after = resolved.stat()
            if after.st_size == before.st_size == len(data) and after.st_mtime_ns == before.st_mtime_ns:
                return data
            before = after  # rewritten while we read it: read the new version
        raise RejectedFile(source_file, "the file kept changing while it was read; it will be read again next time")
    except PermissionError:
        raise RejectedFile(source_file, "permission denied: the pipeline may not read this file") from None
    except FileNotFoundError:
        raise RejectedFile(source_file, "the file was deleted before it could be read") from None
    except IsADirectoryError:
        raise RejectedFile(source_file, "a directory, not a file") from None


def record_rejection(staging_dir: Path, source_file: str, reason: str) -> None:
    row = {
        "document_id": document_id(source_file),
        "source_file": source_file,
        "reason": reason,
        "seen_at": datetime.now(UTC),
    }
    staging.write_staged(staging_dir, "rejected_files", row["document_id"], staging.frame("rejected_files", [row]))


def is_rejected(staging_dir: Path, doc_id: str) -> bool:
    return staging.staged_path(staging_dir, "rejected_files", doc_id).exists()


@dataclass(frozen=True)
class StagedRaw:
    source_file: str
    document_id: str
    size_bytes: int
    sha256: str


def stage_raw_document(raw_dir: Path, staging_dir: Path, source_file: str) -> StagedRaw:
    """Read and decode one raw file into ``raw_documents`` staging; raises RejectedFile."""
    try:
        data = _read_raw_bytes(raw_dir, source_file)
        try:
            text = decode_page(data)
        except UndecodableFile as error:
            raise RejectedFile(source_file, str(error)) from None
        if not text.strip():
            raise RejectedFile(source_file, "the file is empty or holds only white space")
    except RejectedFile as rejected:
        record_rejection(staging_dir, source_file, rejected.reason)
        raise
    doc_id = document_id(source_file)
    digest = hashlib.sha256(data).hexdigest()
    row = {"document_id": doc_id, "source_file": source_file, "sha256": digest, "size_bytes": len(data), "text": text}
    staging.write_staged(staging_dir, "raw_documents", doc_id, staging.frame("raw_documents", [row]))
    staging.remove_staged(staging_dir, doc_id, ["rejected_files"])
    return StagedRaw(source_file, doc_id, len(data), digest)


@dataclass(frozen=True)
class StagedPage:
    source_file: str
    document_id: str
    comments: int
    named_authors: int
    has_comment_section: bool


def stage_parsed_page(staging_dir: Path, doc_id: str) -> StagedPage:
    """Parse one staged raw document into ``documents`` and ``comments``; raises RejectedFile."""
    raw = staging.read_staged(staging_dir, "raw_documents", doc_id).row(0, named=True)
    try:
        page = parse_page(raw["text"])
    except UnparseablePage as error:
        record_rejection(staging_dir, raw["source_file"], str(error))
        raise RejectedFile(raw["source_file"], str(error)) from None
    document = {
        "document_id": doc_id,
        "source_file": raw["source_file"],
        "title": page.title,
        "byline": page.byline,
        "body": page.body,
        "comment_count": len(page.comments),
        "has_comment_section": page.has_comment_section,
    }
    comments = [
        {
            "comment_id": comment_id(doc_id, c.position),
            "document_id": doc_id,
            "position": c.position,
            "author": c.author,
            "author_is_anonymous": c.author is None or is_anonymous_author(c.author),
            "body": c.body,
        }
        for c in page.comments
    ]
    staging.write_staged(staging_dir, "documents", doc_id, staging.frame("documents", [document]))
    staging.write_staged(staging_dir, "comments", doc_id, staging.frame("comments", comments))
    return StagedPage(
        raw["source_file"], doc_id, len(comments), sum(c["author"] is not None for c in comments), page.has_comment_section
    )


def _texts_of(staging_dir: Path, doc_ids: Iterable[str]) -> Iterator[tuple[str, tuple[str, str | None]]]:
    """(text, (document_id, comment_id)) for each document body and comment, one file at a time."""
    for doc_id in doc_ids:
        document = staging.read_staged(staging_dir, "documents", doc_id)
        yield document["body"][0] or "", (doc_id, None)
        comments = staging.read_staged(staging_dir, "comments", doc_id)
        for cid, body in comments.select("comment_id", "body").iter_rows():
            yield body, (doc_id, cid)


NLP_TABLES = ("entity_mentions", "outcome_mentions", "sentences")


def worker_processes() -> int:
    """How many processes decode, parse and run the NLP over a run's files: ``FMS_WORKERS``,
    else one per core."""
    configured = os.environ.get("FMS_WORKERS", "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"FMS_WORKERS={configured!r}: expected a whole number of processes, 1 or more")
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Starting the workers costs ~5 s (their fork server builds the pipeline), which pays off from
# about this many files per worker: the NLP takes ~50 ms a page, decoding and parsing ~10 ms.
NLP_FILES_PER_WORKER_MIN = 50
PARSE_FILES_PER_WORKER_MIN = 250


def usable_workers(workers: int, files: int, files_per_worker_min: int | None = None) -> int:
    """Worker processes worth starting for this many files (1: run in this process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(workers, files // (files_per_worker_min or NLP_FILES_PER_WORKER_MIN)))


def _worker_context():
    # Not plain fork: the calling process (a Dagster run) has threads, and a child forked from a
    # threaded process can deadlock on a lock one of them held (it did, in a run). A fork server
    # starts clean, preloads the pipeline once and forks the workers from itself: they share it.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fms_pipeline.nlp.preloaded"])
    return context


def start_workers_early(workers: int, files: int) -> None:
    """Start the fork server now if the NLP of this many files will use workers: it builds the
    pipeline (~5 s of one core) while this process decodes and parses."""
    if usable_workers(workers, files) > 1:
        from multiprocessing import forkserver

        _worker_context()
        forkserver.ensure_running()


def _in_workers(chunk_function, items: list, workers: int, *shared, per_worker_min: int | None = None) -> list:
    """``chunk_function((*shared, chunk))`` over contiguous chunks of ``items`` in worker
    processes (in this one when too few items for ``workers``), results concatenated in order."""
    usable = usable_workers(workers, len(items), per_worker_min)
    if usable == 1:
        return chunk_function((*shared, items)) if items else []
    # Several chunks per worker, so that one slow chunk does not leave the other cores idle.
    step = -(-len(items) // (usable * 4))
    jobs = [(*shared, items[i:i + step]) for i in range(0, len(items), step)]
    with ProcessPoolExecutor(max_workers=usable, mp_context=_worker_context()) as pool:
        return [result for part in pool.map(chunk_function, jobs) for result in part]


def stage_raw_documents(
    raw_dir: Path, staging_dir: Path, source_files: list[str], workers: int = 1
) -> tuple[list[StagedRaw], list[RejectedFile]]:
    """``stage_raw_document`` for each file (in ``workers`` processes): (staged, rejected)."""
    results = _in_workers(_stage_raw_chunk, source_files, workers, raw_dir, staging_dir,
                          per_worker_min=PARSE_FILES_PER_WORKER_MIN)
    return [r for r in results if isinstance(r, StagedRaw)], [r for r in results if isinstance(r, RejectedFile)]


def _each_or_rejection(stage, items: list) -> list:
    """``stage(item)`` for each item, or the RejectedFile it raised."""
    results = []
    for item in items:
        try:
            results.append(stage(item))
        except RejectedFile as error:
            results.append(error)
    return results


def _stage_raw_chunk(job: tuple[Path, Path, list[str]]) -> list[StagedRaw | RejectedFile]:
    raw_dir, staging_dir, source_files = job
    return _each_or_rejection(lambda source_file: stage_raw_document(raw_dir, staging_dir, source_file), source_files)


def stage_parsed_pages(
    staging_dir: Path, doc_ids: list[str], workers: int = 1
) -> tuple[list[StagedPage], list[RejectedFile]]:
    """``stage_parsed_page`` for each document (in ``workers`` processes): (parsed, rejected)."""
    results = _in_workers(_stage_parsed_chunk, doc_ids, workers, staging_dir, per_worker_min=PARSE_FILES_PER_WORKER_MIN)
    return [r for r in results if isinstance(r, StagedPage)], [r for r in results if isinstance(r, RejectedFile)]


def _stage_parsed_chunk(job: tuple[Path, list[str]]) -> list[StagedPage | RejectedFile]:
    staging_dir, doc_ids = job
    return _each_or_rejection(lambda doc_id: stage_parsed_page(staging_dir, doc_id), doc_ids)


def stage_entity_mentions(
    staging_dir: Path, doc_ids: list[str], nlp: Language | None = None, batch_size: int = 256, workers: int = 1
) -> dict[str, int]:
    """Run the NLP over the given documents; write one file per document and table
    (entity_mentions, outcome_mentions, sentences). Returns {document_id: entity mention count}.

    With ``workers`` > 1 the documents are split into contiguous chunks processed by worker
    processes running ``shared_nlp()`` (each document's files are written by exactly one of
    them); a failure in any worker fails the whole call, as it would in one process. Without
    ``nlp``, ``shared_nlp()`` is used, and built in this process only if it runs the NLP itself.
    """
    if usable_workers(workers, len(doc_ids)) == 1:
        if nlp is None:
            from fms_pipeline.nlp import shared_nlp

            nlp = shared_nlp()
        return _stage_entity_mentions(staging_dir, doc_ids, nlp, batch_size)
    return dict(_in_workers(_stage_chunk, doc_ids, workers, staging_dir, batch_size))


def _stage_chunk(job: tuple[Path, int, list[str]]) -> list[tuple[str, int]]:
    from fms_pipeline.nlp import shared_nlp

    staging_dir, batch_size, doc_ids = job
    return list(_stage_entity_mentions(staging_dir, doc_ids, shared_nlp(), batch_size).items())


def _stage_entity_mentions(staging_dir: Path, doc_ids: list[str], nlp: Language, batch_size: int) -> dict[str, int]:
    """Texts of all documents stream through one ``nlp.pipe``; a document's rows are written
    as soon as its last text has been processed, so memory holds one document's rows."""
    counts: dict[str, int] = {}
    current: str | None = None
    rows: dict[str, list[dict]] = {table: [] for table in NLP_TABLES}

    def flush() -> None:
        if current is not None:
            for table in NLP_TABLES:
                staging.write_staged(staging_dir, table, current, staging.frame(table, rows[table]))
            counts[current] = len(rows["entity_mentions"])

    for doc, (doc_id, cid) in nlp.pipe(_texts_of(staging_dir, doc_ids), as_tuples=True, batch_size=batch_size):
        if doc_id != current:
            flush()
            current, rows = doc_id, {table: [] for table in NLP_TABLES}
        for table, new_rows in doc_rows(doc, doc_id, cid).items():
            rows[table].extend(new_rows)
    flush()
    return counts


def doc_rows(doc, doc_id: str, cid: str | None) -> dict[str, list[dict]]:
    """The staging rows of one processed text (an article body or a comment)."""
    owner = cid or f"{doc_id}:a"
    sentence_starts = [s.start_char for s in doc.sents]
    mentions = [
        {
            "mention_id": f"{owner}:{ent.start_char}",
            "document_id": doc_id,
            "comment_id": cid,
            "label": ent.label_,
            "text": ent.text,
            "canonical": ent.ent_id_ or " ".join(ent.text.lower().split()),
            "start_char": ent.start_char,
            "end_char": ent.end_char,
            "sentence": _sentence_index(sentence_starts, ent.start_char),
            "negated": ent._.negated,
            "hypothetical": ent._.hypothetical,
            "historical": ent._.historical,
            "experiencer": ent._.experiencer,
        }
        for ent in doc.ents
    ]
    outcomes = [
        {
            "outcome_id": f"{owner}:{span.start_char}:{span.label_}:{span._.drug or ''}",
            "document_id": doc_id,
            "comment_id": cid,
            "outcome": span.label_,
            "drug": span._.drug,
            "symptom": span._.symptom,
            "text": span.text,
            "start_char": span.start_char,
            "end_char": span.end_char,
            "sentence": _sentence_index(sentence_starts, span.start_char),
            "negated": span._.negated,
            "hypothetical": span._.hypothetical,
        }
        for span in doc.spans.get("outcomes", [])
    ]
    sentences = [
        {
            "document_id": doc_id,
            "comment_id": cid,
            "sentence": number,
            "start_char": sentence.start_char,
            "end_char": sentence.end_char,
            "sentiment": sentence._.sentiment,
        }
        for number, sentence in enumerate(doc.sents)
    ]
    return {"entity_mentions": mentions, "outcome_mentions": outcomes, "sentences": sentences}


def _sentence_index(sentence_starts: list[int], char: int) -> int:
    return max(bisect.bisect_right(sentence_starts, char) - 1, 0)


def prune_deleted_files(staging_dir: Path, current_files: Iterable[str]) -> list[str]:
    """Remove staged rows of raw files that no longer exist; return their source files."""
    keep = {document_id(f) for f in current_files}
    removed: list[str] = []
    staged = staging.staged_document_ids(staging_dir, "raw_documents") | staging.staged_document_ids(
        staging_dir, "rejected_files"
    ) | staging.staged_document_ids(staging_dir, "documents")
    for doc_id in sorted(staged - keep):
        for table in ("raw_documents", "rejected_files"):
            path = staging.staged_path(staging_dir, table, doc_id)
            if path.exists():
                removed.append(pl.read_parquet(path, columns=["source_file"])["source_file"][0])
                break
        staging.remove_staged(staging_dir, doc_id)
    return removed


__all__ = [
    "RejectedFile",
    "StagedPage",
    "StagedRaw",
    "comment_id",
    "document_id",
    "is_rejected",
    "prune_deleted_files",
    "scan_raw_files",
    "stage_entity_mentions",
    "stage_parsed_page",
    "stage_parsed_pages",
    "stage_raw_document",
    "stage_raw_documents",
    "start_workers_early",
    "worker_processes",
]
