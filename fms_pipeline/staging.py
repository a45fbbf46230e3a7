"""Parquet staging written with polars: one file per batch (bucket) and table.

A raw file belongs to one of ``BUCKETS`` stable hash buckets of its path; each bucket has one
Parquet file per staged table (``staging/<table>/bucket-NN.parquet``), so the number of staged
objects is fixed however many raw files there are. Re-processing a file replaces its rows in
its bucket's files: the bucket's other rows are copied across. Only the warehouse build reads
every bucket; only it writes DuckDB. Staged files can live on an object store (see storage.py).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable

import polars as pl

from fms_pipeline import storage, tables
from fms_pipeline.storage import AnyPath

# Fixed, so a file's bucket never moves. 32 buckets of a million pages are ~31k pages each:
# small enough that a changed file rewrites little, enough to spread over 32 machines.
BUCKETS = 32


def bucket_of(source_file: str) -> str:
    """The stable bucket of a raw file (its path under the raw folder)."""
    return f"{int(hashlib.sha256(source_file.encode('utf-8', 'surrogateescape')).hexdigest()[:8], 16) % BUCKETS:02d}"


def all_buckets() -> list[str]:
    return [f"{i:02d}" for i in range(BUCKETS)]


def table_dir(staging_dir: AnyPath, table: str) -> AnyPath:
    return staging_dir / table


def staged_path(staging_dir: AnyPath, table: str, bucket: str) -> AnyPath:
    return table_dir(staging_dir, table) / f"bucket-{bucket}.parquet"


def read_bucket(staging_dir: AnyPath, table: str, bucket: str, columns: list[str] | None = None) -> pl.DataFrame:
    """The bucket's rows of a table (an empty frame with the schema when it has none yet)."""
    path = staged_path(staging_dir, table, bucket)
    try:
        with path.open("rb") as f:
            df = pl.read_parquet(f, columns=columns)
    except FileNotFoundError:
        df = tables.empty_frame(table)
        return df.select(columns) if columns else df
    return df


def write_bucket(staging_dir: AnyPath, table: str, bucket: str, df: pl.DataFrame | pl.LazyFrame) -> AnyPath:
    """Write a bucket's rows of a table atomically (readers see the old file or the new one)."""
    path = staged_path(staging_dir, table, bucket)
    conformed = tables.conform(table, df)
    with storage.atomic_write(path) as tmp:
        if isinstance(conformed, pl.LazyFrame):
            conformed.sink_parquet(tmp)
        else:
            conformed.write_parquet(tmp)
    return path


def replace_rows(
    staging_dir: AnyPath, table: str, bucket: str, drop_documents: Iterable[str],
    new_parts: list | None = None, key: str = "document_id",
) -> None:
    """Rewrite a bucket's table: its rows whose ``key`` is in ``drop_documents`` leave, the rows of
    ``new_parts`` (frames or local Parquet files) join. Streams, so memory holds no whole bucket."""
    drop = sorted(set(drop_documents))
    path = staged_path(staging_dir, table, bucket)
    frames: list[pl.LazyFrame] = []
    with storage.local_copy(path) if _exists(path) else contextlib.nullcontext(None) as old:
        if old is not None:
            frames.append(pl.scan_parquet(old).filter(~pl.col(key).is_in(drop)))
        for part in new_parts or []:
            if isinstance(part, pl.DataFrame):
                frames.append(tables.conform(table, part).lazy())
            else:
                frames.append(tables.conform(table, pl.scan_parquet(part)))
        combined = pl.concat([tables.conform(table, f) for f in frames]) if frames else tables.empty_frame(table).lazy()
        write_bucket(staging_dir, table, bucket, combined)


def _exists(path: AnyPath) -> bool:
    return storage.file_version(path) is not None


def staged_files(staging_dir: AnyPath, table: str) -> list[AnyPath]:
    """Every bucket's staged Parquet file of a table, in bucket order (one listing)."""
    listed = storage.file_versions(table_dir(staging_dir, table))
    return [staged_path(staging_dir, table, b) for b in all_buckets() if f"bucket-{b}.parquet" in listed]


def read_state(staging_dir: AnyPath) -> pl.DataFrame:
    """Every raw file's recorded state (``source_files`` of all buckets)."""
    frames = [read_bucket(staging_dir, "source_files", p.name.removeprefix("bucket-").removesuffix(".parquet"))
              for p in staged_files(staging_dir, "source_files")]
    return pl.concat(frames) if frames else tables.empty_frame("source_files")


def read_staged_sample(staging_dir: AnyPath, table: str, buckets: list[str], limit: int = 200) -> pl.DataFrame:
    """Up to ``limit`` rows of the given buckets, for asset-page previews."""
    frames = []
    for bucket in buckets:
        frames.append(read_bucket(staging_dir, table, bucket).head(limit))
        if sum(len(f) for f in frames) >= limit:
            break
    return pl.concat(frames).head(limit) if frames else tables.empty_frame(table)


def bucket_versions(staging_dir: AnyPath) -> dict[str, str]:
    """{bucket: the versions of its staged files}: it changes when any of them is rewritten.
    One listing of the staging folder (on an object store a request per file cost ~450)."""
    listed = storage.file_versions(staging_dir)
    versions: dict[str, str] = {}
    for bucket in all_buckets():
        parts = [f"{t}={v}" for t in tables.STAGED_TABLES
                 if (v := listed.get(f"{t}/bucket-{bucket}.parquet")) is not None]
        if parts:
            versions[bucket] = "|".join(parts)
    return versions


def row_count(staging_dir: AnyPath, table: str, bucket: str) -> int:
    """Rows a bucket's staged table holds (read from the Parquet footer)."""
    import pyarrow.parquet as pq

    path = staged_path(staging_dir, table, bucket)
    try:
        with path.open("rb") as f:
            return pq.ParquetFile(f).metadata.num_rows
    except FileNotFoundError:
        return 0
