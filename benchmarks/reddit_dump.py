"""A deterministic Reddit dump (NDJSON of submissions and comments, zstd-compressed, in the archives'
field shape and time order) at a chosen size, and the measurement of reading it.

    uv run --frozen python benchmarks/reddit_dump.py --comments 1000000

writes the dump to a temporary folder, then in a fresh process streams it through
``read_source`` and ``record_batches`` into Parquet batches, ``assemble_threads`` over those
and ``sink_parquet`` of the result, and prints comments/s and the peak memory of that process.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zstandard

from benchmarks.corpus import FIRST, HANDLES, LAST, _sentences, sentence_pool

SUBREDDITS = ["Fibromyalgia", "ChronicPain", "Opioid", "Pain"]
START = 1704067200  # 2024-01-01T00:00:00Z
SPAN = 120 * 86400  # four months, so by-month aggregates have something to show
COMMENTS_PER_SUBMISSION = 50
SUBMISSIONS_PER_BLOCK = 200  # what the generator holds in memory at once


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _author(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return "[deleted]"
    if rng.random() < 0.2:
        return rng.choice(HANDLES).replace(" ", "_")
    return f"{rng.choice(FIRST)}_{rng.choice(LAST).replace(' ', '').replace('.', '')}{rng.randrange(100)}"


def write_reddit_dump(path: Path, comments: int, seed: int = 7) -> dict:
    """Write ``comments`` comments over ``comments / 50`` submissions to ``path`` (.zst), in bounded memory:
    submissions are made a block at a time and each block's records written in time order, as a
    monthly dump interleaves threads. 3% of bodies are "[removed]", 5% of authors "[deleted]";
    replies nest (60% of comments answer an earlier comment of their thread)."""
    rng = random.Random(seed)
    pool = sentence_pool()
    submissions = max(1, comments // COMMENTS_PER_SUBMISSION)
    written = {"submissions": 0, "comments": 0, "bytes": 0}
    compressor = zstandard.ZstdCompressor(level=3, threads=-1)
    with path.open("wb") as raw, compressor.stream_writer(raw) as out:
        comment_number = 0
        for block_start in range(0, submissions, SUBMISSIONS_PER_BLOCK):
            records: list[tuple[int, dict]] = []
            block = range(block_start, min(block_start + SUBMISSIONS_PER_BLOCK, submissions))
            for s in block:
                sid = _base36(36 ** 5 + s)
                subreddit = rng.choice(SUBREDDITS)
                created = START + int(SPAN * (s + rng.random()) / submissions)
                records.append((created, {
                    "id": sid, "name": f"t3_{sid}", "author": _author(rng), "created_utc": created,
                    "title": _sentences(rng, pool, 1)[:180], "selftext": _sentences(rng, pool, rng.randint(1, 6)),
                    "subreddit": subreddit, "score": rng.randrange(500), "num_comments": 0,
                    "permalink": f"/r/{subreddit}/comments/{sid}/",
                    "url": f"https://www.reddit.com/r/{subreddit}/comments/{sid}/",
                }))
                n = comments // submissions + (1 if s < comments % submissions else 0)
                thread: list[tuple[str, int]] = []
                for _ in range(n):
                    cid = _base36(36 ** 6 + comment_number)
                    comment_number += 1
                    if thread and rng.random() < 0.6:
                        parent, parent_created = rng.choice(thread)
                        parent_id = f"t1_{parent}"
                    else:
                        parent_id, parent_created = f"t3_{sid}", created
                    at = parent_created + int(rng.expovariate(1 / 7200)) + 1
                    thread.append((cid, at))
                    body = "[removed]" if rng.random() < 0.03 else _sentences(rng, pool, rng.randint(1, 4))
                    records.append((at, {
                        "id": cid, "name": f"t1_{cid}", "link_id": f"t3_{sid}", "parent_id": parent_id,
                        "author": _author(rng), "created_utc": at, "body": body, "subreddit": subreddit,
                        "score": rng.randrange(-5, 200),
                    }))
            records.sort(key=lambda r: r[0])
            for _, record in records:
                line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
                out.write(line)
                written["bytes"] += len(line)
                written["comments" if "link_id" in record else "submissions"] += 1
    written["compressed_bytes"] = path.stat().st_size
    return written


def _measure_in_this_process(dump: Path, out: Path, comments_per_part: int = 0) -> dict:
    """Stream the dump through read_source and assemble_threads into Parquet; time and peak memory."""
    import polars as pl

    from fms_pipeline.parsing.sources import detect_format, read_source
    from fms_pipeline.parsing.threads import assemble_threads, record_batches

    started = time.perf_counter()
    with dump.open("rb") as f:
        fmt = detect_format(dump.name, f.read(1 << 16))
    (out / "in_documents").mkdir(parents=True)
    (out / "in_comments").mkdir()
    comments = skipped = 0
    records = read_source(fmt, lambda: dump.open("rb"), dump.name)
    for number, (documents, batch, skips) in enumerate(record_batches(records, fmt.name)):
        documents.write_parquet(out / "in_documents" / f"{number:05d}.parquet")
        batch.write_parquet(out / "in_comments" / f"{number:05d}.parquet")
        comments += batch.height
        skipped += len(skips)
    read_seconds = time.perf_counter() - started
    read_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spill = {}
    if comments_per_part:
        (out / "spill").mkdir()
        spill = {"spill_dir": out / "spill", "comments_per_part": comments_per_part}
    documents, staged = assemble_threads(
        dump.name, pl.scan_parquet(out / "in_documents" / "*.parquet"),
        pl.scan_parquet(out / "in_comments" / "*.parquet"), source_format=fmt.name, **spill)
    documents.sink_parquet(out / "documents.parquet")
    staged.sink_parquet(out / "comments.parquet")
    total = time.perf_counter() - started
    staged_comments = pl.scan_parquet(out / "comments.parquet").select(pl.len()).collect().item()
    staged_documents = pl.scan_parquet(out / "documents.parquet").select(pl.len()).collect().item()
    return {
        "comments_read": comments, "skipped": skipped, "staged_comments": staged_comments,
        "staged_documents": staged_documents, "read_seconds": round(read_seconds, 1),
        "assemble_seconds": round(total - read_seconds, 1), "total_seconds": round(total, 1),
        "comments_per_second": round(comments / total), "read_comments_per_second": round(comments / read_seconds),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "read_peak_rss_mib": round(read_peak),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure(comments: int, work: Path, seed: int = 7, comments_per_part: int = 0) -> dict:
    dump = work / f"RC_synthetic_{comments}.zst"
    started = time.perf_counter()
    written = write_reddit_dump(dump, comments, seed)
    generate_seconds = time.perf_counter() - started
    # A fresh process, so its peak memory is that of reading alone.
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.reddit_dump", "--measure", str(dump), str(work / "staged"),
         "--comments-per-part", str(comments_per_part)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    return {**written, "generate_seconds": round(generate_seconds, 1), **json.loads(result.stdout.splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--comments-per-part", type=int, default=0,
                        help="assemble threads a part of the documents at a time (spill_dir); 0: all at once")
    parser.add_argument("--work", type=Path,
                        help="folder for the dump and the staged Parquet (default: a temporary one)")
    parser.add_argument("--measure", nargs=2, type=Path, metavar=("DUMP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure_in_this_process(*args.measure, args.comments_per_part)))
        return
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(measure(args.comments, args.work, args.seed, args.comments_per_part), indent=2))
        return
    with tempfile.TemporaryDirectory() as work:
        print(json.dumps(measure(args.comments, Path(work), args.seed, args.comments_per_part), indent=2))


if __name__ == "__main__":
    main()
