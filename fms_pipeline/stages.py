"""The processing stages over batches (buckets) of raw files, no Dagster.

``parse_buckets``: read each file to process (only regular files; one-page formats up to the
size limit, dumps streamed), detect its format, parse it into documents and comments, and
rewrite the bucket's staged files with its new rows; removed files' rows leave. A file that
cannot be read or parsed is recorded as rejected with the reason; what was staged for it
before stays, so the warehouse keeps its last good version until a good one replaces it.

``nlp_buckets``: run the spaCy pipeline over the documents whose NLP is not current and
rewrite the bucket's NLP tables.

Both spread their files over worker processes (workers.py) and write a bucket's files only
after all of its work is done, each file atomically: a run killed at any moment leaves every
bucket either as it was or as it should be, and the next run finishes the work.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from fms_pipeline import limits, progress, raw_files, staging, storage, tables, workers
from fms_pipeline.batches import BucketPlan
from fms_pipeline.storage import AnyPath

if TYPE_CHECKING:
    from fms_pipeline.parsing.threads import PageRecords

# Rows held in memory before they go to a part file (a dump of millions of comments streams).
PART_ROWS = 50_000
# The NLP's rows wait as Python dicts, per table and worker: 50,000 of each table made the NLP step
# the job's peak at 200,000 files (1,595 MiB; 1,472 with 10,000).
NLP_PART_ROWS = 10_000

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    source_file: str
    bucket: str
    fingerprint: str
    size_bytes: int
    status: str  # "staged", "rejected" or "unchanged" (content hash as recorded: state refreshed only)
    reason: str | None = None
    sha256: str | None = None
    source_format: str | None = None
    documents: int = 0
    comments: int = 0
    skipped_records: int = 0
    words: int = 0
    parts: dict[str, list[str]] = field(default_factory=dict)  # table -> local Parquet part files
    # A one-page file's records, waiting to be assembled with other pages' (threads.assemble_pages:
    # a polars plan per small page cost more than parsing it) ...
    page: PageRecords | None = None
    # ... and its staged rows, in memory until its chunk writes them (with the other files' of its
    # bucket) to one part file: a Parquet round trip per small file cost more than parsing it.
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)


@dataclass
class BucketSummary:
    bucket: str
    files_processed: int = 0
    files_rejected: int = 0
    files_removed: int = 0
    documents: int = 0
    comments: int = 0
    mentions: int = 0
    outcomes: int = 0
    rejected: list[raw_files.RejectedFile] = field(default_factory=list)


# ---------------------------------------------------------------- parsing


def parse_buckets(raw_dir: AnyPath, staging_dir: AnyPath, plans: dict[str, BucketPlan], version: str,
                  n_workers: int = 1, full: bool = False) -> dict[str, BucketSummary]:
    """Parse the files each bucket's plan lists and rewrite the buckets' staged files."""
    storage.remove_abandoned_temp_files(staging_dir)
    states = {b: staging.read_bucket(staging_dir, "source_files", b) for b, p in plans.items() if p.has_work}
    items: list[tuple[str, str, str, int, str | None]] = []
    for bucket, p in plans.items():
        if not p.to_parse:
            continue
        recorded = dict(states[bucket].select("source_file", "sha256").iter_rows())
        versions = dict(states[bucket].select("source_file", "pipeline_version").iter_rows())
        for entry in p.to_parse:
            known_sha = None if full or versions.get(entry.source_file) != version else recorded.get(entry.source_file)
            items.append((entry.source_file, bucket, entry.fingerprint, entry.size_bytes, known_sha,
                          entry.problem))
    progress.start("parse", len(items), sum(i[3] for i in items))
    with tempfile.TemporaryDirectory(prefix="fms-parse-") as work:
        results: list[FileResult] = workers.map_chunks(
            _parse_chunk, items, n_workers, raw_dir, Path(work), limits.PARSE_SECONDS_PER_FILE,
            per_worker_min=workers.PARSE_ITEMS_PER_WORKER_MIN, describe=lambda item: item[0],
            recover=lambda chunks: _set_runaways_aside(Path(work), chunks),
            on_done=lambda chunk: progress.advance(len(chunk), sum(r.words for r in chunk),
                                                   sum(r.size_bytes for r in chunk)))
        progress.finish()
        by_bucket: dict[str, list[FileResult]] = {}
        for r in results:
            by_bucket.setdefault(r.bucket, []).append(r)
        return _each_bucket(lambda bucket: _publish_parsed(staging_dir, bucket, plans[bucket], states[bucket],
                                                           by_bucket.get(bucket, []), version), states, n_workers)


def _set_runaways_aside(work: Path, chunks: list[list[tuple]]) -> tuple[list[list[tuple]], list[FileResult]] | None:
    """After a parse worker died: the files its Watchdog killed it on become rejected results and
    leave the chunks still to do (None when no Watchdog explains the death)."""
    killed = workers.runaways(work)
    if not killed:
        return None
    results = [FileResult(item[0], item[1], item[2], item[3], "rejected", source_format=None,
                          reason=f"took longer than {killed[item[0]]:g} s and could not be interrupted: set aside "
                                 "(a runaway file; its worker was replaced)")
               for chunk in chunks for item in chunk if item[0] in killed]
    return [[item for item in chunk if item[0] not in killed] for chunk in chunks], results


# A chunk's parsed one-page files wait in memory for their part file; their small frames are
# concatenated every this many files (a few-row DataFrame costs ~25 kB per table: 25,000 forum
# pages of 50 words held as frames made one parse worker 1.9 GB).
COMPACT_FILES = 256


def _parse_chunk(job) -> list[FileResult]:
    """Parse a chunk of files; the one-page files' rows go to one part file per bucket and table
    (more when they exceed PART_ROWS), not one per file, written as the chunk goes."""
    raw_dir, work, seconds_per_file, items = job
    watchdog = workers.Watchdog(work)  # past the limit and a grace, where no signal gets through: the worker dies
    results = []
    pending: dict[str, _PendingRows] = {}

    def write(bucket: str) -> None:
        group = pending.pop(bucket, None)
        if group is None:
            return
        group.compact()
        if not group.frames["documents"]:  # every page of it failed to assemble: rejected
            return
        folder = Path(tempfile.mkdtemp(prefix=f"chunk-{bucket}-", dir=work))
        for table in tables.PARSE_TABLES:
            path = str(folder / f"{table}.parquet")  # one string for the chunk's files (200,000 results)
            pl.concat(group.frames[table]).write_parquet(path)
            for r in group.results:
                if r.status == "staged":
                    r.parts[table] = [path]

    for item in items:
        with watchdog.watch(item[0], parse_seconds(item[3], seconds_per_file) + limits.PARSE_KILL_GRACE_SECONDS):
            r = parse_file(raw_dir, work, *item, seconds_per_file=seconds_per_file, assemble=False)
        results.append(r)
        if r.page is not None:
            group = pending.setdefault(r.bucket, _PendingRows())
            if group.add(r) >= PART_ROWS:
                write(r.bucket)
    for bucket in list(pending):
        write(bucket)
    return results


@dataclass
class _PendingRows:
    """One bucket's parsed pages waiting for their part file: the files they came from, and per
    table a frame for every COMPACT_FILES pages (their staged rows, assembled together)."""

    results: list[FileResult] = field(default_factory=list)
    frames: dict[str, list[pl.DataFrame]] = field(default_factory=lambda: {t: [] for t in tables.PARSE_TABLES})
    rows: int = 0
    unassembled: list[FileResult] = field(default_factory=list)

    def add(self, r: FileResult) -> int:
        """Take the file's records; returns the rows now waiting."""
        self.results.append(r)
        self.unassembled.append(r)
        self.rows += len(r.page.documents) + len(r.page.comments)
        if len(self.unassembled) >= COMPACT_FILES:
            self.compact()
        return self.rows

    def compact(self) -> None:
        """Assemble the pages added since the last time into frames; the pages' records leave them."""
        if self.unassembled:
            for table, frame in assemble_page_results(self.unassembled).items():
                self.frames[table].append(frame)
            self.unassembled = []


def assemble_page_results(results: list[FileResult]) -> dict[str, pl.DataFrame]:
    """The staged rows of the pages parse_file left unassembled (``assemble=False``), in one plan;
    sets each result's counts and takes its records. Should that fail, each page is assembled
    alone, and one that still fails is rejected as parse_file rejects it: one file, never the others."""
    try:
        return _assembled(results)
    except Exception as error:  # noqa: BLE001 - which page? each alone says
        if len(results) == 1:
            _reject_unforeseen(results[0], error)
            return {}
    frames = [f for f in (assemble_page_results([r]) for r in results) if f]
    return {t: pl.concat([f[t] for f in frames]) for t in tables.PARSE_TABLES} if frames else {}


def _assembled(results: list[FileResult]) -> dict[str, pl.DataFrame]:
    from fms_pipeline.parsing.threads import assemble_pages

    staged_documents, staged_comments = assemble_pages([r.page for r in results])
    documents, comments = pl.collect_all([tables.conform("documents", staged_documents),
                                          tables.conform("comments", staged_comments)])
    words = _WORDS.sum().alias("words")
    of_documents = documents.group_by("source_file").agg(pl.len().alias("n"), words)
    of_comments = (comments.select("document_id", "body").join(documents.select("document_id", "source_file"),
                                                                on="document_id")
                   .group_by("source_file").agg(pl.len().alias("n"), words))
    counts = {f: (n, w or 0) for f, n, w in of_documents.iter_rows()}
    comment_counts = {f: (n, w or 0) for f, n, w in of_comments.iter_rows()}
    for r in results:
        (r.documents, doc_words), (r.comments, comment_words) = (counts.get(r.source_file, (0, 0)),
                                                                 comment_counts.get(r.source_file, (0, 0)))
        r.words, r.page = int(doc_words) + int(comment_words), None
    # Pages have no ratings (review_ratings come from tables, a streaming format).
    return {"documents": documents, "comments": comments, "review_ratings": tables.empty_frame("review_ratings")}


def parse_seconds(size_bytes: int, seconds_per_file: float | None = None) -> float:
    """The wall-clock limit for parsing a file of ``size_bytes`` (a dump streams for longer)."""
    base = limits.PARSE_SECONDS_PER_FILE if seconds_per_file is None else seconds_per_file
    return base + size_bytes / limits.PARSE_MIN_BYTES_PER_SECOND


def parse_file(raw_dir: AnyPath, work: Path, source_file: str, bucket: str, fingerprint: str, size: int,
               known_sha: str | None = None, problem: str | None = None, *,
               seconds_per_file: float | None = None, assemble: bool = True) -> FileResult:
    """Read, detect and parse one raw file into part files under ``work``; never raises for bad input.

    A file that cannot be used is ``rejected`` with the reason; so is one whose parsing takes longer
    than its time limit (``parse_seconds``: "took longer than N s"), and, as a last resort, one whose
    parsing failed in a way no reader foresaw (the reason names the error; its traceback is logged).
    ``assemble=False``: a one-page file's records stay in ``page`` for ``assemble_page_results``."""
    result = FileResult(source_file, bucket, fingerprint, size, "staged")
    seconds = parse_seconds(size, seconds_per_file)
    try:
        with workers.time_limit(seconds):
            if problem:
                raise raw_files.RejectedFile(source_file, problem)
            _parse_into(result, raw_dir, work, known_sha)
            if assemble and result.page is not None:
                result.frames = assemble_page_results([result])
    except raw_files.RejectedFile as rejected:
        result.status, result.reason, result.parts, result.frames = "rejected", rejected.reason, {}, {}
    except OSError as error:
        result.status, result.parts, result.frames = "rejected", {}, {}
        result.reason = f"cannot read the file: {error.strerror or error}"
    except workers.TookTooLong as error:
        result.status, result.parts, result.frames = "rejected", {}, {}
        result.reason = f"{error}: set aside (a runaway file; the limit is in fms_pipeline/limits.py)"
    except Exception as error:  # noqa: BLE001 - the last resort: one file, never the run
        _reject_unforeseen(result, error)
    if result.status == "rejected":
        result.page = None
    return result


def _reject_unforeseen(result: FileResult, error: Exception) -> None:
    """A file whose parsing failed in a way no reader foresaw: rejected, the error named, its traceback logged."""
    from fms_pipeline.parsing.sources.common import reason_of

    log.error("parsing %s failed", result.source_file, exc_info=error)
    result.status, result.parts, result.frames, result.page = "rejected", {}, {}, None
    result.reason = f"could not be parsed ({reason_of(error)}); nothing of it was kept"


def _parse_into(result: FileResult, raw_dir: AnyPath, work: Path, known_sha: str | None) -> None:
    from fms_pipeline.parsing import sources
    from fms_pipeline.parsing.threads import (
        SOURCE_COMMENT_SCHEMA,
        SOURCE_DOCUMENT_SCHEMA,
        assemble_threads,
        record_batches,
        review_ratings,
    )

    source_file = result.source_file
    open_binary = raw_files.opener(raw_dir, source_file)
    try:
        fmt = sources.detect_format(Path(source_file).name, raw_files.read_head(open_binary))
    except sources.RejectedSource as error:
        raise raw_files.RejectedFile(source_file, str(error)) from None
    except OSError as error:
        raise raw_files.RejectedFile(source_file, f"cannot read the file: {error.strerror or error}") from None
    result.source_format = fmt.name
    hashing: raw_files.HashingReader | None = None
    if fmt.streaming:
        def open_for_parse():
            nonlocal hashing
            hashing = raw_files.HashingReader(open_binary())
            return hashing
    else:
        data = raw_files.read_page_bytes(open_binary, source_file, result.size_bytes)
        result.sha256 = hashlib.sha256(data).hexdigest()
        if known_sha is not None and known_sha == result.sha256:
            result.status = "unchanged"
            return

        def open_for_parse():
            return io.BytesIO(data)

    if not fmt.streaming:
        _parse_page_in_memory(result, sources, fmt, open_for_parse)
        return
    folder = work / hashlib.sha256(source_file.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    document_parts: list[Path] = []
    comment_parts: list[Path] = []
    skipped: list[str] = []
    try:
        records = sources.read_source(fmt, open_for_parse, source_file,
                                      lambda name: raw_files.read_companion(raw_dir, source_file, name))
        for n, (documents, comments, skipped_now) in enumerate(record_batches(records, fmt.name, PART_ROWS)):
            skipped.extend(f"{r.where}: {r.reason}" for r in skipped_now)
            for frame, parts, kind in ((documents, document_parts, "documents"), (comments, comment_parts, "comments")):
                if len(frame):
                    parts.append(folder / f"raw-{kind}-{n:05d}.parquet")
                    frame.write_parquet(parts[-1])
    except sources.RejectedSource as error:
        raise raw_files.RejectedFile(source_file, str(error)) from None
    except raw_files.RejectedFile:
        raise
    except (OSError, EOFError) as error:
        raise raw_files.RejectedFile(source_file, f"cannot read the file: {error}") from None
    if hashing is not None:
        result.sha256 = hashing.sha256.hexdigest()
    _no_records_is_a_rejection(source_file, bool(document_parts or comment_parts), skipped)
    documents = pl.scan_parquet(document_parts) if document_parts else pl.LazyFrame(schema=SOURCE_DOCUMENT_SCHEMA)
    comments = pl.scan_parquet(comment_parts) if comment_parts else pl.LazyFrame(schema=SOURCE_COMMENT_SCHEMA)
    spill = folder / "spill"  # a dump's thread tree is built a part at a time, in bounded memory
    spill.mkdir(exist_ok=True)
    staged_documents, staged_comments = assemble_threads(source_file, documents, comments, source_format=fmt.name,
                                                         spill_dir=spill, carry=("ratings",))
    doc_path, comment_path = folder / "documents.parquet", folder / "comments.parquet"
    ratings_path = folder / "review_ratings.parquet"
    tables.conform("documents", staged_documents).sink_parquet(doc_path)
    tables.conform("comments", staged_comments).sink_parquet(comment_path)
    tables.conform("review_ratings", review_ratings(staged_comments)).sink_parquet(ratings_path)
    # Streamed: the bodies of a dump or a big table are never in memory at once.
    doc_counts = pl.scan_parquet(doc_path).select(pl.len(), _WORDS.sum()).collect(engine="streaming").row(0)
    comment_counts = pl.scan_parquet(comment_path).select(pl.len(), _WORDS.sum()).collect(engine="streaming").row(0)
    result.documents, result.comments = doc_counts[0], comment_counts[0]
    result.words = int(doc_counts[1] or 0) + int(comment_counts[1] or 0)
    _note_skipped(result, skipped)
    result.parts = {"documents": [str(doc_path)], "comments": [str(comment_path)],
                    "review_ratings": [str(ratings_path)]}


_WORDS = pl.col("body").str.count_matches(r"\S+")


def _no_records_is_a_rejection(source_file: str, found: bool, skipped: list[str]) -> None:
    if not found:
        reason = "no documents or comments found in the file"
        raise raw_files.RejectedFile(source_file, reason + (f" ({len(skipped)} records skipped, e.g. {skipped[0]})"
                                                            if skipped else ""))


def _note_skipped(result: FileResult, skipped: list[str]) -> None:
    result.skipped_records = len(skipped)
    if skipped:
        result.reason = f"{len(skipped)} record(s) skipped, the rest kept; first: {skipped[0]}"


def _parse_page_in_memory(result: FileResult, sources, fmt, open_for_parse) -> None:
    """A one-page format: its records as rows in memory (``page``), for assemble_page_results."""
    from fms_pipeline.parsing.threads import PageRecords, record_rows

    source_file = result.source_file
    documents, comments, skipped_records = rows = ([], [], [])  # threads.DOCUMENT, COMMENT, SKIPPED
    try:
        for kind, row in record_rows(sources.read_source(fmt, open_for_parse, source_file)):
            rows[kind].append(row)
    except sources.RejectedSource as error:
        raise raw_files.RejectedFile(source_file, str(error)) from None
    skipped = [f"{r.where}: {r.reason}" for r in skipped_records]
    _no_records_is_a_rejection(source_file, bool(documents or comments), skipped)
    _note_skipped(result, skipped)
    result.page = PageRecords(source_file, fmt.name, documents, comments)


def _publish_parsed(staging_dir: AnyPath, bucket: str, plan: BucketPlan, state: pl.DataFrame,
                    results: list[FileResult], version: str) -> BucketSummary:
    """Rewrite one bucket: replaced and removed files' rows out, new rows in, then its state."""
    summary = BucketSummary(bucket)
    now = datetime.now(UTC)
    staged = [r for r in results if r.status == "staged"]
    replaced_files = {r.source_file for r in staged} | set(plan.to_remove)
    old_documents = staging.read_bucket(staging_dir, "documents", bucket, columns=["document_id", "source_file"])
    replaced_docs = set(old_documents.filter(pl.col("source_file").is_in(sorted(replaced_files)))["document_id"])
    if replaced_files:
        for table in tables.PARSE_TABLES:
            parts = sorted({p for r in staged for p in r.parts.get(table, [])})  # a chunk's part serves many files
            staging.replace_rows(staging_dir, table, bucket, replaced_docs, parts)
        for table in tables.NLP_TABLES:  # re-parsed documents get their NLP again; no stale offsets meanwhile
            if replaced_docs:
                staging.replace_rows(staging_dir, table, bucket, replaced_docs)
    # The state: one row per file still on disk.
    previous = {row["source_file"]: row for row in state.iter_rows(named=True)}
    rows = {f: row for f, row in previous.items() if f not in plan.to_remove}
    for r in results:
        old = previous.get(r.source_file, {})
        if r.status == "unchanged":
            rows[r.source_file] = {**old, "fingerprint": r.fingerprint, "processed_at": now}
            continue
        row = {
            "source_file": r.source_file, "bucket": bucket, "fingerprint": r.fingerprint, "sha256": r.sha256,
            "size_bytes": r.size_bytes, "source_format": r.source_format, "status": r.status, "reason": r.reason,
            "documents": r.documents, "comments": r.comments, "skipped_records": r.skipped_records,
            "pipeline_version": version, "nlp_version": None, "processed_at": now,
        }
        if r.status == "rejected":  # the last good version's rows stay, and so do its counts
            row.update(documents=old.get("documents") or 0, comments=old.get("comments") or 0,
                       nlp_version=old.get("nlp_version"))
            summary.rejected.append(raw_files.RejectedFile(r.source_file, r.reason))
            summary.files_rejected += 1
        else:
            summary.files_processed += 1
            summary.documents += r.documents
            summary.comments += r.comments
        rows[r.source_file] = row
    summary.files_removed = len(plan.to_remove)
    if results or plan.to_remove:
        staging.write_bucket(staging_dir, "source_files", bucket, tables.frame("source_files", list(rows.values())))
    return summary


# ---------------------------------------------------------------- NLP


def nlp_buckets(staging_dir: AnyPath, buckets: list[str], version: str, n_workers: int = 1,
                full: bool = False, spacy_model: str = "") -> dict[str, BucketSummary]:
    """Run the NLP over each bucket's documents whose NLP is not current (all of them with
    ``full``) and rewrite the buckets' NLP tables and state. ``spacy_model``: a statistical model
    layered under the rules (the workers get it as an argument)."""
    items: list[tuple[str, str]] = []
    states: dict[str, pl.DataFrame] = {}
    for bucket in buckets:
        state = staging.read_bucket(staging_dir, "source_files", bucket)
        pending = state.filter((pl.col("status") == "staged") & (full | (pl.col("nlp_version").is_null()
                                                                       | (pl.col("nlp_version") != version))))
        if len(pending) == 0:
            continue
        states[bucket] = state
        documents = staging.read_bucket(staging_dir, "documents", bucket, columns=["document_id", "source_file"])
        doc_ids = documents.filter(pl.col("source_file").is_in(pending["source_file"].to_list()))["document_id"]
        items.extend((bucket, d) for d in doc_ids.sort())
    summaries = {b: BucketSummary(b) for b in buckets}
    if not states:
        return summaries
    progress.start("nlp", len(items), 0)
    with tempfile.TemporaryDirectory(prefix="fms-nlp-") as work:
        results = workers.map_chunks(_nlp_chunk, items, n_workers, staging_dir, Path(work), spacy_model,
                                     describe=lambda item: f"document {item[1]} of batch {item[0]}",
                                     on_done=lambda chunk: progress.advance(
                                         sum(r[2] for r in chunk), sum(r[3] for r in chunk)))
        progress.finish()
        workers.stop_fork_server()  # the NLP is done: its pipeline leaves before the checks that follow
        parts: dict[str, dict[str, list[str]]] = {}
        for bucket, table_parts, _docs, _words, counts in results:
            for table, paths in table_parts.items():
                parts.setdefault(bucket, {}).setdefault(table, []).extend(paths)
            summaries[bucket].mentions += counts["entity_mentions"]
            summaries[bucket].outcomes += counts["outcome_mentions"]
        now = datetime.now(UTC)
        docs_of: dict[str, list[str]] = {}
        for b, d in items:
            docs_of.setdefault(b, []).append(d)

        def publish(bucket: str) -> None:
            state, done_docs = states[bucket], docs_of.get(bucket, [])
            for table in tables.NLP_TABLES:
                staging.replace_rows(staging_dir, table, bucket, done_docs, parts.get(bucket, {}).get(table, []))
            pending_files = state.filter(pl.col("status") == "staged")["source_file"].to_list()
            state = state.with_columns(
                pl.when(pl.col("source_file").is_in(pending_files)).then(pl.lit(version)).otherwise(pl.col("nlp_version"))
                .alias("nlp_version"),
                pl.when(pl.col("source_file").is_in(pending_files)).then(pl.lit(now)).otherwise(pl.col("processed_at"))
                .alias("processed_at"),
            )
            staging.write_bucket(staging_dir, "source_files", bucket, state)
            summaries[bucket].files_processed = len(pending_files)
            summaries[bucket].documents = len(done_docs)

        _each_bucket(publish, states, n_workers)
    return summaries


def _each_bucket(publish, buckets, n_workers: int) -> dict:
    """{bucket: publish(bucket)}, buckets published by ``n_workers`` threads: reading, filtering and
    writing Parquet with polars release the GIL (each bucket's files are its own)."""
    buckets = list(buckets)
    if n_workers <= 1 or len(buckets) <= 1:
        return {bucket: publish(bucket) for bucket in buckets}
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="publish") as pool:
        return dict(zip(buckets, pool.map(publish, buckets), strict=True))


def _nlp_chunk(job) -> list[tuple[str, dict[str, list[str]], int, int, dict[str, int]]]:
    """Worker: the NLP of a chunk of (bucket, document_id), written to part files per bucket."""
    from fms_pipeline.nlp import shared_nlp

    staging_dir, work, spacy_model, items = job
    nlp = shared_nlp(spacy_model or None)
    by_bucket: dict[str, list[str]] = {}
    for bucket, doc_id in items:
        by_bucket.setdefault(bucket, []).append(doc_id)
    out = []
    for bucket, doc_ids in by_bucket.items():
        out.append(_nlp_of_bucket(staging_dir, work, bucket, doc_ids, nlp))
    return out


def _nlp_of_bucket(staging_dir, work: Path, bucket: str, doc_ids: list[str], nlp, batch_size: int = 256):
    from fms_pipeline.nlp.rows import doc_rows

    folder = Path(tempfile.mkdtemp(prefix=f"{bucket}-", dir=work))
    rows: dict[str, list[dict]] = {t: [] for t in tables.NLP_TABLES}
    parts: dict[str, list[str]] = {t: [] for t in tables.NLP_TABLES}
    counts = {t: 0 for t in tables.NLP_TABLES}
    words = 0

    def spill(table: str) -> None:
        if rows[table]:
            path = folder / f"{table}-{len(parts[table]):05d}.parquet"
            tables.frame(table, rows[table]).write_parquet(path)
            parts[table].append(str(path))
            counts[table] += len(rows[table])
            rows[table] = []

    long_texts: list[tuple[str, tuple[str, str | None], str | None]] = []

    def with_subject(text: str, stated_drug: str | None):
        """A review table's row: the drug it states is the subject of outcomes naming no drug (outcomes.py)."""
        if not stated_drug:
            return text
        doc = nlp.make_doc(text)
        doc._.stated_drug = stated_drug
        return doc

    def short_texts():
        for text, (doc_id, cid, stated_drug) in _texts_of(staging_dir, bucket, doc_ids):
            if len(text) > MAX_PIECE_CHARS:
                long_texts.append((text, (doc_id, cid), stated_drug))  # later, a piece at a time
            else:
                yield with_subject(text, stated_drug), (doc_id, cid)

    def add(doc, doc_id, cid, offset=0, sentences_before=0) -> int:
        nonlocal words
        words += len(doc)
        piece_rows = doc_rows(doc, doc_id, cid, char_offset=offset, sentence_offset=sentences_before)
        for table, new_rows in piece_rows.items():
            rows[table].extend(new_rows)
            if len(rows[table]) >= NLP_PART_ROWS:
                spill(table)
        return len(piece_rows["sentences"])

    for doc, (doc_id, cid) in nlp.pipe(short_texts(), as_tuples=True, batch_size=batch_size):
        add(doc, doc_id, cid)
    # A text of megabytes goes through in pieces, one at a time: memory holds one piece's entities.
    for text, (doc_id, cid), stated_drug in long_texts:
        sentences_before = 0
        pieces = ((with_subject(piece, stated_drug), offset) for piece, offset in _pieces(text))
        for doc, offset in nlp.pipe(pieces, as_tuples=True, batch_size=1):
            sentences_before += add(doc, doc_id, cid, offset, sentences_before)
    for table in tables.NLP_TABLES:
        spill(table)
    return bucket, parts, len(doc_ids), words, counts


# A comment of megabytes (a pasted log, one word repeated) goes through the NLP in pieces of about
# this many characters, cut at white space: memory stays bounded whatever a page holds.
MAX_PIECE_CHARS = 20_000


def _pieces(text: str):
    """(piece, offset of the piece in the text): pieces of at most MAX_PIECE_CHARS, cut at white space."""
    start = 0
    while start < len(text):
        end = min(start + MAX_PIECE_CHARS, len(text))
        if end < len(text):  # a paragraph break, else a sentence end, else a space in the piece's second half
            half = start + (end - start) // 2
            for mark in ("\n\n", "\n", ". ", " "):
                cut = text.rfind(mark, half, end)
                if cut > start:
                    end = cut + len(mark)
                    break
        yield text[start:end], start
        start = end


def _texts_of(staging_dir, bucket: str, doc_ids: list[str]
              ) -> Iterator[tuple[str, tuple[str, str | None, str | None]]]:
    """(text, (document_id, comment_id, stated drug)) of each document body and comment, document by
    document (the stated drug: a review table's drug column, else None)."""
    wanted = list(doc_ids)
    documents = staging.read_bucket(staging_dir, "documents", bucket, columns=["document_id", "body"]).filter(
        pl.col("document_id").is_in(wanted)).sort("document_id")
    columns = ["comment_id", "document_id", "position", "body", "stated_drug"]
    try:
        comments = staging.read_bucket(staging_dir, "comments", bucket, columns=columns)
    except pl.exceptions.ColumnNotFoundError:  # staged before comments had stated_drug
        comments = staging.read_bucket(staging_dir, "comments", bucket, columns=columns[:-1]).with_columns(
            pl.lit(None, pl.String).alias("stated_drug"))
    comments = comments.filter(pl.col("document_id").is_in(wanted)).sort("document_id", "position")
    by_document: dict[str, list[tuple[str, str, str | None]]] = {}
    for cid, doc_id, _position, body, stated_drug in comments.iter_rows():
        by_document.setdefault(doc_id, []).append((cid, body, stated_drug))
    for doc_id, body in documents.iter_rows():
        yield body or "", (doc_id, None, None)
        for cid, comment_body, stated_drug in by_document.pop(doc_id, []):
            yield comment_body, (doc_id, cid, stated_drug)


