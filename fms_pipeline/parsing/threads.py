"""Documents and comments as a source format yielded them -> the staged ``documents`` and ``comments``
tables: ids, thread order (``position``), ``depth`` and ``parent_comment_id``.

Rules (tested in fms_pipeline_tests/test_sources.py):

* Thread order: a parent before its replies. Siblings keep the file's order for page formats
  (the readers yield what the page shows, in its order); in dump formats (streaming, records in
  any order) siblings are ordered by ``published_at`` (undated last), then by key.
* A reply whose parent is not in the data is kept at depth 1 with ``parent_comment_id`` NULL
  (its own replies keep theirs under it).
* A comment whose body the source removed ("[removed]", "[deleted]", or nothing left) is not
  text: it is dropped, and its replies are treated like replies whose parent is missing
  (depth 1, parent NULL). So every reply is kept, no body is empty, nothing is re-parented.
* The same comment twice (same document and key: dumps repeat records) is kept once, the first.
* Comments whose document is not in the data are kept under a placeholder document for that
  key (title NULL, body "").

The tree is computed on the key columns only (collected: about 60 bytes a comment) with array
operations, one step per level of depth; bodies and the other wide columns stay lazy.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fms_pipeline import ids, tables
from fms_pipeline.parsing.sources import FORMATS, SkippedRecord, SourceComment, SourceDocument

UTC_MICROS = pl.Datetime("us", "UTC")
REMOVED_BODIES = ("", "[removed]", "[deleted]")

# The staged tables' columns, as the table contract declares them (warehouse/sql/core/*.yml).
DOCUMENT_SCHEMA = tables.staged_schema("documents")
COMMENT_SCHEMA = tables.staged_schema("comments")
# A review table's further ratings as SourceComment.ratings holds them: review_ratings' columns per comment.
RATINGS_TYPE = pl.List(pl.Struct({name: dtype for name, dtype in tables.staged_schema("review_ratings").items()
                                  if name in ("name", "value", "label")}))
# What a review table's row states (tables only; NULL for other sources): SourceComment's last fields.
REVIEW_FIELDS = {**{name: COMMENT_SCHEMA[name] for name in ("stated_drug", "stated_condition", "rating")},
                 "ratings": RATINGS_TYPE}
_STREAMING = {f.name for f in FORMATS if f.streaming}

# What read_source's records become as frames (the input of assemble_threads).
SOURCE_DOCUMENT_SCHEMA = {
    "key": pl.String, "title": pl.String, "byline": pl.String, "body": pl.String, "url": pl.String,
    "community": pl.String, "published_at": UTC_MICROS, "has_comment_section": pl.Boolean,
    "source_format": pl.String, "arrival": pl.Int64,
}
SOURCE_COMMENT_SCHEMA = {
    "document_key": pl.String, "key": pl.String, "parent_key": pl.String, "author": pl.String,
    "author_is_anonymous": pl.Boolean, "body": pl.String, "published_at": UTC_MICROS, "score": pl.Int32,
    **REVIEW_FIELDS, "arrival": pl.Int64,
}


# What record_rows says each record is: the index of the list its row goes to.
DOCUMENT, COMMENT, SKIPPED = 0, 1, 2


def record_rows(
    records: Iterable[SourceDocument | SourceComment | SkippedRecord],
) -> Iterator[tuple[int, tuple | SkippedRecord]]:
    """read_source's records as (DOCUMENT, row), (COMMENT, row) or (SKIPPED, the record), each row the
    SOURCE_*_SCHEMA fields but ``source_format``, ``arrival`` numbering the records."""
    doc_row = operator.attrgetter(*[f for f in SOURCE_DOCUMENT_SCHEMA if f not in ("source_format", "arrival")])
    comment_row = operator.attrgetter(*[f for f in SOURCE_COMMENT_SCHEMA if f != "arrival"])
    for arrival, record in enumerate(records):
        if isinstance(record, SourceComment):
            yield COMMENT, (*comment_row(record), arrival)
        elif isinstance(record, SourceDocument):
            yield DOCUMENT, (*doc_row(record), arrival)
        else:
            yield SKIPPED, record


def record_frames(docs: list[tuple], comments: list[tuple], source_format: str,
                  files: list[int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of ``record_rows`` as the frames assemble_threads takes; ``files``: with a ``file`` column
    (the rows' file numbers, documents' first, for assemble_threads over many files)."""
    doc_schema = {k: v for k, v in SOURCE_DOCUMENT_SCHEMA.items() if k != "source_format"}
    documents = (pl.DataFrame(docs, schema=doc_schema, orient="row")
                 .with_columns(pl.lit(source_format, pl.String).alias("source_format"))
                 .select(list(SOURCE_DOCUMENT_SCHEMA)))
    frame = pl.DataFrame(comments, schema=SOURCE_COMMENT_SCHEMA, orient="row")
    if files is not None:
        documents = documents.with_columns(pl.Series("file", files[:len(docs)], dtype=pl.Int64))
        frame = frame.with_columns(pl.Series("file", files[len(docs):], dtype=pl.Int64))
    return documents, frame


def record_batches(
    records: Iterable[SourceDocument | SourceComment | SkippedRecord], source_format: str, batch_rows: int = 20_000
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, list[SkippedRecord]]]:
    """read_source's records as (documents, comments, skipped) frames of at most ``batch_rows`` records
    each, with ``arrival`` numbering the records across batches (so a dump can be written to Parquet
    batch by batch and scanned lazily into assemble_threads)."""
    rows: tuple[list, list, list] = ([], [], [])  # DOCUMENT, COMMENT, SKIPPED
    docs, comments, skipped = rows

    def flush() -> tuple[pl.DataFrame, pl.DataFrame, list[SkippedRecord]]:
        batch = (*record_frames(docs, comments, source_format), list(skipped))
        for kept in rows:
            kept.clear()
        return batch

    for n, (kind, row) in enumerate(record_rows(records), start=1):
        rows[kind].append(row)
        if n % batch_rows == 0:
            yield flush()
    yield flush()


@dataclass
class PageRecords:
    """A one-page file's records as rows (``record_rows``), waiting to be assembled with other pages'."""

    source_file: str
    source_format: str
    documents: list[tuple]
    comments: list[tuple]


def assemble_pages(pages: list[PageRecords]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The staged (documents, comments) of many one-page files, as assemble_threads makes them for
    each file alone, in one polars plan per source format: a plan per page cost ~10 ms of CPU,
    more than reading a forum page of 50 words."""
    by_format: dict[str, list[PageRecords]] = {}
    for page in pages:
        by_format.setdefault(page.source_format, []).append(page)
    documents, comments = [], []
    for source_format, group in by_format.items():
        docs = [row for page in group for row in page.documents]
        coms = [row for page in group for row in page.comments]
        files = ([n for n, page in enumerate(group) for _ in page.documents]
                 + [n for n, page in enumerate(group) for _ in page.comments])
        d, c = record_frames(docs, coms, source_format, files)
        d, c = assemble_threads([page.source_file for page in group], d.lazy(), c.lazy(), source_format=source_format)
        documents.append(d)
        comments.append(c)
    if len(documents) == 1:
        return documents[0], comments[0]
    return pl.concat(documents), pl.concat(comments)


# Many files at once (assemble_pages): document keys are scoped by their file's number, "<n>\x1f<key>",
# and "<n>\x1e" for the file's key-less document (the page itself); arrival is n * 2**32 + arrival.
_SCOPED, _UNKEYED = "\x1f", "\x1e"


def _scoped(column: str) -> pl.Expr:
    file = pl.col("file").cast(pl.String)
    return (pl.when(pl.col(column).is_null()).then(pl.concat_str(file, pl.lit(_UNKEYED)))
            .otherwise(pl.concat_str(file, pl.lit(_SCOPED), pl.col(column).cast(pl.String))).alias(column))


def _unscoped(key: str) -> tuple[int, str | None]:
    """(file number, key) of a scoped document key."""
    digits = len(key) - len(key.lstrip("0123456789"))
    return int(key[:digits]), None if key[digits] == _UNKEYED else key[digits + 1:]


def assemble_threads(
    source_file: str | Sequence[str],
    documents: pl.LazyFrame,
    comments: pl.LazyFrame,
    *,
    source_format: str | None = None,
    spill_dir: Path | None = None,
    comments_per_part: int = 1_000_000,
    spill_rows: int = 100_000,
    carry: tuple[str, ...] = (),
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(documents, comments) with exactly the columns of DOCUMENT_SCHEMA and COMMENT_SCHEMA (and after
    them the source comments' columns named in ``carry``, e.g. ``ratings`` for ``review_ratings``).

    ``documents``: the SourceDocument fields, ``source_format`` and ``arrival`` (order in the file);
    ``comments``: the SourceComment fields and ``arrival``. ``source_file``: the file's name, or the
    names of many files (``assemble_pages``): then both frames have a ``file`` column, the number of
    the row's file in that list, and each file's threads are assembled as if it were alone.
    ``source_format`` names the file's format
    when ``documents`` may be empty (a dump of comments only); by default it is read from ``documents``.

    Memory: the thread tree of the whole file is computed at once (about 300 bytes a comment at its
    peak) unless ``spill_dir`` is given: then the comments are split by document into parts of about
    ``comments_per_part``, each part's tree is computed (its place in the thread kept: 17 bytes a
    comment), and the staged comments are written to ``spill_dir`` (which must outlive the returned
    frames) ``spill_rows`` at a time in the order they came, each slice read from ``comments`` by its
    ``arrival`` range (Parquet parts written in arrival order are skipped by their statistics), so the
    bodies pass a slice at a time and are never joined whole; the comments frame scans those files.
    """
    many = not isinstance(source_file, str)
    if many:  # each file's document keys apart from the others'; its records in order after the previous file's
        scope = [pl.col("arrival") + pl.col("file") * 2**32]
        documents = documents.with_columns(_scoped("key"), *scope).drop("file")
        comments = comments.with_columns(_scoped("document_key"), *scope).drop("file")
    documents = documents.with_columns(
        pl.col("key").cast(pl.String), pl.col("published_at").cast(UTC_MICROS), pl.col("arrival").cast(pl.Int64)
    )
    if source_format is None:
        found = documents.select(pl.col("source_format").drop_nulls().first()).collect()
        source_format = found.item() if found.height else None
    documents = documents.sort("arrival").unique(subset=["key"], keep="first", maintain_order=True)

    comments = comments.with_columns(
        pl.col("document_key").cast(pl.String), pl.col("key").cast(pl.String), pl.col("parent_key").cast(pl.String),
        pl.col("published_at").cast(UTC_MICROS), pl.col("arrival").cast(pl.Int64),
        pl.col("score").cast(pl.Int32, strict=False),
    )
    kept = comments.filter(~pl.col("body").str.strip_chars().is_in(REMOVED_BODIES) & pl.col("body").is_not_null())

    # Document ids: a hash per document (a Python call per document, never per comment).
    keys = pl.concat([
        documents.select("key", "arrival"),
        kept.group_by("document_key").agg(pl.col("arrival").min()).rename({"document_key": "key"}),
    ]).group_by("key").agg(pl.col("arrival").min().alias("document_order")).sort("document_order")
    keys = keys.collect(engine="streaming")
    if many:
        owners = [_unscoped(k) for k in keys["key"].to_list()]
        doc_ids = keys.with_columns(
            pl.Series("document_id", [ids.document_id(source_file[n], k) for n, k in owners], dtype=pl.String),
            pl.Series("source_file", [source_file[n] for n, _ in owners], dtype=pl.String),
        ).lazy()
    else:
        doc_ids = keys.with_columns(
            pl.Series("document_id", [ids.document_id(source_file, k) for k in keys["key"].to_list()],
                      dtype=pl.String),
            pl.lit(source_file, pl.String).alias("source_file"),
        ).lazy()

    parts = 1
    if spill_dir is not None:
        total = kept.select(pl.len()).collect(engine="streaming").item()
        parts = max(1, -(-total // comments_per_part))
    streaming = source_format in _STREAMING
    counts: list[pl.DataFrame] = []
    part_frames: list[pl.LazyFrame] = []
    placements: list[pl.DataFrame] = []
    for part in range(parts):
        part_kept = kept if parts == 1 else kept.filter(
            pl.col("document_key").fill_null("").hash(seed=1) % parts == part)
        tree = _thread_tree(part_kept, streaming=streaming)
        counts.append(tree.group_by("document_key").agg(pl.len().cast(pl.Int32).alias("comment_count")))
        placement = tree.select("arrival", "position", "depth", "has_parent")
        del tree
        if spill_dir is None:
            part_frames.append(_staged_comments(part_kept, placement, doc_ids, carry))
        else:
            placements.append(placement)
    if spill_dir is not None:
        part_frames = _spill_staged_comments(kept, pl.concat(placements).sort("arrival"), doc_ids, Path(spill_dir),
                                             spill_rows, carry)
    staged_comments = (part_frames[0] if len(part_frames) == 1 else pl.concat(part_frames)) if part_frames else (
        pl.LazyFrame(schema={**COMMENT_SCHEMA, **{c: SOURCE_COMMENT_SCHEMA[c] for c in carry}}))
    comment_counts = pl.concat(counts).lazy()

    placeholders = (
        comment_counts.select(pl.col("document_key").alias("key"))
        .join(documents.select("key"), on="key", how="anti", nulls_equal=True)
        .with_columns(
            pl.lit(source_format, pl.String).alias("source_format"),
            pl.lit(None, pl.String).alias("url"), pl.lit(None, pl.String).alias("community"),
            pl.lit(None, UTC_MICROS).alias("published_at"), pl.lit(None, pl.String).alias("title"),
            pl.lit(None, pl.String).alias("byline"), pl.lit("", pl.String).alias("body"),
            pl.lit(True).alias("has_comment_section"),
        )
    )
    staged_documents = (
        pl.concat([documents.select(placeholders.collect_schema().names()), placeholders], how="vertical_relaxed")
        .join(doc_ids, on="key", how="left", nulls_equal=True)
        .join(comment_counts, left_on="key", right_on="document_key", how="left", nulls_equal=True)
        .sort("document_order")
        .with_columns(
            pl.col("source_format").fill_null(pl.lit(source_format, pl.String)),
            pl.col("comment_count").fill_null(0),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in DOCUMENT_SCHEMA.items()])
    )
    return staged_documents, staged_comments


def _spill_staged_comments(kept: pl.LazyFrame, placement: pl.DataFrame, doc_ids: pl.LazyFrame, spill_dir: Path,
                           rows: int, carry: tuple[str, ...]) -> list[pl.LazyFrame]:
    """The staged comments written to ``spill_dir`` ``rows`` at a time, in arrival order: each slice of
    ``placement`` (sorted by arrival) joined with the comments of its arrival range alone."""
    frames = []
    for number, start in enumerate(range(0, placement.height, rows)):
        piece = placement.slice(start, rows)
        first, last = piece["arrival"][0], piece["arrival"][-1]
        path = spill_dir / f"comments-{number:05d}.parquet"
        _staged_comments(kept.filter(pl.col("arrival").is_between(first, last)), piece, doc_ids, carry).collect(
        ).write_parquet(path)
        frames.append(pl.scan_parquet(path))
    return frames


def _staged_comments(kept: pl.LazyFrame, tree: pl.DataFrame, doc_ids: pl.LazyFrame,
                     carry: tuple[str, ...] = ()) -> pl.LazyFrame:
    """The kept comments with their place in the thread and their ids. The wide columns (bodies) stream
    past the small tree (four numbers a comment); rows stay in file order (position is thread order)."""
    return (
        kept.join(tree.lazy(), on="arrival", how="inner", maintain_order="left")
        .join(doc_ids.select(pl.col("key").alias("document_key"), "document_id"),
              on="document_key", how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            pl.when(pl.col("key").is_null())
            .then(pl.concat_str(pl.col("document_id"), pl.lit(":c"), pl.col("position").cast(pl.String)))
            .otherwise(pl.concat_str(pl.col("document_id"), pl.lit(":"), pl.col("key")))
            .alias("comment_id"),  # fms_pipeline.ids.comment_id, as an expression
            pl.when(pl.col("has_parent"))
            .then(pl.concat_str(pl.col("document_id"), pl.lit(":"), pl.col("parent_key")))
            .alias("parent_comment_id"),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in COMMENT_SCHEMA.items()] + [pl.col(c) for c in carry])
    )


def review_ratings(comments: pl.LazyFrame) -> pl.LazyFrame:
    """The staged ``review_ratings`` rows of staged comments that carry ``ratings``: one per comment and rating."""
    return (comments.select("comment_id", "document_id", "ratings")
            .filter(pl.col("ratings").list.len() > 0)
            .explode("ratings").unnest("ratings"))


def _thread_tree(kept: pl.LazyFrame, *, streaming: bool) -> pl.DataFrame:
    """arrival, document_key, position, depth and has_parent (its parent is a kept comment) of every kept
    comment (a repeat of an earlier one is left out).

    Keys are matched by 64-bit hashes with numpy sorts and searches (polars joins and windows on
    string keys cost several times the memory of the data at millions of rows); a match is
    confirmed on the text, so a hash collision never links the wrong comments."""
    # Streaming: the bodies are read (for the removed-body filter) a morsel at a time, never all at once.
    nodes = kept.select("arrival", "document_key", "key", "parent_key", "published_at").collect(engine="streaming")
    if not nodes["arrival"].is_sorted():
        nodes = nodes.sort("arrival")
    own = _hashes(nodes, "key")
    first = _first_occurrences(nodes, own)
    if not first.all():
        nodes, own = nodes.filter(pl.Series(first)), own[first]
    parent = _parent_index(nodes, own, _hashes(nodes, "parent_key"))
    depth, cut = _depths(parent)
    while cut.any():  # a cycle of parents (corrupt data): its members become top level
        parent[cut] = -1
        depth, cut = _depths(parent)

    # Siblings side by side, in their order; top-level comments of a document are siblings too.
    n = len(parent)
    _, document = np.unique(_hashes(nodes, "document_key"), return_inverse=True)
    if streaming:
        published = nodes["published_at"].dt.epoch("us").fill_null(np.iinfo(np.int64).max).to_numpy()
        key_rank = nodes["key"].rank("dense").fill_null(0).to_numpy()
        order = np.lexsort((nodes["arrival"].to_numpy(), key_rank, published, parent, document))
    else:
        order = np.lexsort((nodes["arrival"].to_numpy(), parent, document))
    new_index = np.empty(n, dtype=np.int64)
    new_index[order] = np.arange(n)
    parent_sorted = np.where(parent[order] >= 0, new_index[np.maximum(parent[order], 0)], -1)
    group_of = np.where(parent_sorted >= 0, parent_sorted, -1 - document[order])
    group = np.r_[0, np.cumsum(group_of[1:] != group_of[:-1])] if n else np.zeros(0, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    position[order] = _preorder(parent_sorted, depth[order], group) + 1
    return nodes.select(
        "arrival", "document_key",
        pl.Series("position", position, dtype=pl.Int32),
        pl.Series("depth", depth, dtype=pl.Int32),
        pl.Series("has_parent", parent >= 0),
    )


def _hashes(nodes: pl.DataFrame, key_column: str) -> np.ndarray:
    """A 64-bit hash of (document_key, key_column) per row; null keys hash alike (callers mask them)."""
    return nodes.select(
        pl.concat_str(pl.col("document_key").fill_null(""), pl.lit("\x00"), pl.col(key_column).fill_null("\x00"))
        .hash(seed=0)
    ).to_series().to_numpy()


def _same(nodes: pl.DataFrame, rows: np.ndarray, column: str, others: np.ndarray, other_column: str) -> np.ndarray:
    """(document_key, column) of ``rows`` equals (document_key, other_column) of ``others``, as text."""
    same = ((nodes["document_key"].gather(rows) == nodes["document_key"].gather(others)).fill_null(True)
            & (nodes[column].gather(rows) == nodes[other_column].gather(others)).fill_null(False))
    return same.to_numpy()


def _first_occurrences(nodes: pl.DataFrame, own: np.ndarray) -> np.ndarray:
    """Mask of the rows that do not repeat an earlier (document_key, key) (dumps repeat records; the
    first one counts). Rows without a key are all kept."""
    keep = np.ones(len(own), dtype=bool)
    keyed = np.flatnonzero(nodes["key"].is_not_null().to_numpy())
    if not len(keyed):
        return keep
    ordered = np.sort(own[keyed])
    if not (ordered[1:] == ordered[:-1]).any():
        return keep  # no repeats: the usual case, one sort
    del ordered
    _, first, inverse = np.unique(own[keyed], return_index=True, return_inverse=True)
    repeat = np.flatnonzero(first[inverse] != np.arange(len(keyed)))
    if len(repeat):
        rows, earlier = keyed[repeat], keyed[first[inverse[repeat]]]
        keep[rows[_same(nodes, rows, "key", earlier, "key")]] = False
    return keep


def _parent_index(nodes: pl.DataFrame, own: np.ndarray, parent_hash: np.ndarray) -> np.ndarray:
    """Row of each comment's parent (a kept comment of the same document, not itself), else -1."""
    parent = np.full(len(own), -1, dtype=np.int64)
    keyed = np.flatnonzero(nodes["key"].is_not_null().to_numpy())
    replies = np.flatnonzero(nodes["parent_key"].is_not_null().to_numpy())
    if not len(keyed) or not len(replies):
        return parent
    by_hash = keyed[np.argsort(own[keyed], kind="stable")]
    sorted_hashes = own[by_hash]
    at = np.minimum(np.searchsorted(sorted_hashes, parent_hash[replies]), len(by_hash) - 1)
    found = sorted_hashes[at] == parent_hash[replies]
    candidates, rows = by_hash[at[found]], replies[found]
    confirmed = _same(nodes, rows, "parent_key", candidates, "key") & (candidates != rows)
    parent[rows[confirmed]] = candidates[confirmed]
    return parent


def _depths(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(depth of each node, 1 = top level; mask of nodes in or under a cycle of parents), by pointer
    jumping: log2(depth) array steps."""
    n = len(parent)
    ancestor = parent.copy()
    depth = np.ones(n, dtype=np.int64)
    for _step in range(int(np.ceil(np.log2(n + 1))) + 1):
        has = ancestor >= 0
        if not has.any():
            break
        depth[has] += depth[ancestor[has]]
        ancestor[has] = ancestor[ancestor[has]]
    return depth, ancestor >= 0


def _preorder(parent: np.ndarray, depth: np.ndarray, group: np.ndarray) -> np.ndarray:
    """0-based rank of each node in its document's thread order, given nodes sorted so that siblings
    are contiguous and in order (``group`` numbers the sibling groups; top-level comments of a
    document form one group). One array step per level of depth."""
    n = len(parent)
    size = np.ones(n, dtype=np.int64)
    by_depth = np.argsort(depth, kind="stable")  # keeps the sibling order within a level
    bounds = np.searchsorted(depth[by_depth], np.arange(1, depth.max(initial=1) + 2))
    levels = [by_depth[bounds[d]:bounds[d + 1]] for d in range(len(bounds) - 1)]
    for level in reversed(levels[1:]):
        np.add.at(size, parent[level], size[level])
    start = np.zeros(n, dtype=np.int64)
    for d, level in enumerate(levels):
        if not len(level):
            continue
        sizes = size[level]
        before = np.cumsum(sizes) - sizes  # subtree sizes of earlier nodes of this level...
        first = np.r_[True, group[level][1:] != group[level][:-1]]
        before -= np.maximum.accumulate(np.where(first, before, 0))  # ...within the same sibling group
        start[level] = before if d == 0 else start[parent[level]] + 1 + before
    return start
