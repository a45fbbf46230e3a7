"""Issue 22 (items 1, 2, 5) and issue 19 (item 6): one bad record never stops a file or a run;
decompression, lines, JSON depth and time per file are bounded; compressed files of every kind
and format are read; the smaller defects of the readers.

The triggers the issue lists, each beside the sample in one ``materialize`` run, are in
``test_every_trigger_beside_the_sample_in_one_run``; property tests (hypothesis) put wrong types
and values into every field of every JSON and XML format.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
import zstandard

from fms_pipeline import limits, stages, workers
from fms_pipeline.parsing.sources import (
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    detect_format,
    read_source,
)
from fms_pipeline.parsing.sources import common, compression
from fms_pipeline.parsing.sources.xml_common import child_text, parse_xml
from fms_pipeline.parsing.threads import assemble_threads, record_batches

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DUMP_LINES = (FIXTURES / "reddit_dump.ndjson").read_text().splitlines()


def read_bytes(data: bytes, name: str):
    """(format, records) of a file called ``name`` holding ``data``, as a run reads it."""
    fmt = detect_format(name, data[: limits.COMPRESSED_SNIFF_BYTES])
    return fmt, list(read_source(fmt, lambda: io.BytesIO(data), name))


def staged(data: bytes, name: str) -> tuple[pl.DataFrame, pl.DataFrame, list[SkippedRecord]]:
    """What the file stages as: documents, comments and the records skipped (the whole way to the tables)."""
    fmt, records = read_bytes(data, name)
    batches = list(record_batches(records, fmt.name))
    docs, coms = assemble_threads(name, pl.concat([b[0] for b in batches]).lazy(),
                                  pl.concat([b[1] for b in batches]).lazy(), source_format=fmt.name)
    return docs.collect(), coms.collect(), [s for b in batches for s in b[2]]


def skipped_of(records) -> list[tuple[str, str]]:
    return [(r.where, r.reason) for r in records if isinstance(r, SkippedRecord)]


def zst(data: bytes, block: int = 100) -> bytes:
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False) as writer:
        for i in range(0, len(data), block):  # many small blocks, as a streaming compressor writes
            writer.write(data[i:i + block])
            writer.flush(zstandard.FLUSH_BLOCK)
    return out.getvalue()


COMPRESSORS = {"zstd": zst, "gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}
EXTENSION = {"zstd": ".zst", "gzip": ".gz", "bzip2": ".bz2", "xz": ".xz"}


# ---------------------------------------------------------------- one bad record (the triggers, unit level)

def _line(base: int = 0, **fields) -> str:
    """A line of the dump fixture (0: a comment, 1: the submission) with ``fields`` replaced."""
    record = json.loads(DUMP_LINES[base])
    record.update(fields)
    return json.dumps(record, allow_nan=True)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("score", float("nan"), "score is a number (nan), not a whole number"),
    ("score", float("inf"), "score is a number (inf), not a whole number"),  # what JSON's 1e999 reads as
    ("score", 10 ** 12, "score 1e+12 is out of range"),
    ("body", 12345, "body is a number (12345), not text"),
    ("body", ["a", "list"], "body is a list, not text"),
    ("author", 42, "author is a number (42), not text"),
    ("author", ["x"], "author is a list, not text"),
    ("subreddit", {"name": "Fibromyalgia"}, "subreddit is an object, not text"),  # of a submission
    ("title", ["x"], "title is a list, not text"),
    ("id", {"x": 1}, "id is an object, not an id"),
])
def test_a_dump_line_with_a_field_of_the_wrong_type_is_skipped(field, value, reason):
    submission = field in ("subreddit", "title")
    data = "\n".join([DUMP_LINES[0 if submission else 1], _line(1 if submission else 0, **{field: value}),
                      DUMP_LINES[2]]).encode()
    docs, comments, skipped = staged(data, "dump.ndjson")
    assert [(s.where, s.reason) for s in skipped] == [("line 2", reason)]
    assert len(comments) + (0 if submission else 1) == 2  # the good lines staged (a comment's submission
    assert docs["title"].to_list() == ([None] if submission else ["Tapered off oxycodone after 6 years"])  # or its stand-in)


def test_1e999_in_the_file_is_a_skipped_line():
    data = (DUMP_LINES[1] + "\n" + DUMP_LINES[0].replace('"score":8', '"score":1e999') + "\n").encode()
    _, records = read_bytes(data, "dump.ndjson")
    assert skipped_of(records) == [("line 2", "score is a number (inf), not a whole number")]


def _reddit_thread(depth: int, replies_data=None) -> bytes:
    """A Reddit API thread: a submission, then one chain of ``depth`` replies (each the only reply of
    the last), written as text (json.dumps itself stops at ~1,000 levels)."""
    prefixes, suffixes = [], []
    for n in range(1, depth + 1):
        fields = json.dumps({"id": f"c{n}", "name": f"t1_c{n}", "parent_id": f"t1_c{n - 1}" if n > 1 else "t3_s1",
                             "link_id": "t3_s1", "author": f"user{n}", "body": f"reply {n} about Lyrica",
                             "created_utc": 1706011200 + n, "score": 1})
        prefixes.append('{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": ' + fields[:-1]
                        + ', "replies": ')
        suffixes.append("}}]}}")
    innermost = json.dumps({"kind": "Listing", "data": replies_data}) if replies_data is not None else '""'
    chain = "".join(prefixes) + innermost + "".join(reversed(suffixes))
    submission = {"kind": "t3", "data": {"id": "s1", "name": "t3_s1", "title": "Deep", "selftext": "Lyrica?",
                                          "author": "op", "subreddit": "Fibromyalgia", "created_utc": 1706011200}}
    return ('[{"kind": "Listing", "data": {"children": [' + json.dumps(submission) + "]}}, " + chain + "]").encode()


def test_a_reddit_thread_hundreds_of_replies_deep_is_read_whole():
    docs, comments, skipped = staged(_reddit_thread(300), "thread.json")
    assert skipped == [] and len(docs) == 1 and len(comments) == 300
    assert comments["depth"].max() == 300 and comments.sort("position")["body"][-1] == "reply 300 about Lyrica"


def test_a_reddit_thread_nested_past_the_json_bound_keeps_what_is_above_it(monkeypatch):
    monkeypatch.setattr(limits, "MAX_JSON_DEPTH", 2_000)  # 5 levels a reply: ~400 replies
    _, records = read_bytes(_reddit_thread(600), "thread.json")
    comments = [r for r in records if isinstance(r, SourceComment)]
    assert 390 < len(comments) < 400
    (where, reason), = skipped_of(records)
    assert where == f"replies of comment t1_c{len(comments)}"
    assert reason == "replies nested deeper than 2,000 levels of JSON: not read"


def test_reddit_replies_data_a_list_skips_the_replies_and_keeps_the_comment():
    _, records = read_bytes(_reddit_thread(2, replies_data=[1, 2]), "thread.json")
    assert [r.key for r in records if isinstance(r, SourceComment)] == ["c1", "c2"]
    assert skipped_of(records) == [("replies of comment t1_c2", "replies.data is a list, not an object")]


def test_json_nested_100000_deep_is_no_crash():
    deep = "[" * 100_000 + "]" * 100_000
    value = common.load_json(deep.encode())
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    assert value is common.TOO_DEEP and depth == limits.MAX_JSON_DEPTH
    with pytest.raises(RejectedSource, match="not valid JSON: Expecting ',' delimiter"):
        common.load_json("[" * 2000 + "1 2" + "]" * 2000)
    # The parser without recursion reads what Python's reads.
    sample = json.loads((FIXTURES / "wordpress_post.json").read_text())
    assert common._load_deep(json.dumps(sample), 50) == sample


def test_an_html_page_with_json_ld_nested_100000_deep_keeps_its_article():
    page = ((FIXTURES / "html_wordpress_comments.html").read_text()
            .replace("</head>", '<script type="application/ld+json">' + '{"comment":' * 100_000 + "1"
                     + "}" * 100_000 + "</script></head>"))
    docs, comments, _ = staged(page.encode(), "page.html")
    assert len(docs) == 1 and len(comments) > 0


def test_wordpress_embedded_a_list_skips_that_post_only():
    posts = [json.loads((FIXTURES / "wordpress_post.json").read_text()) for _ in range(2)]
    posts[1]["id"] = 999
    posts[1]["_embedded"] = [{"author": "x"}]
    for c in posts[1]["comments"]:
        c["post"] = 999
    _, records = read_bytes(json.dumps(posts).encode(), "posts.json")
    assert skipped_of(records) == [("post 999", "_embedded is a list, not an object")]
    assert [r.key for r in records if isinstance(r, SourceDocument)] == [str(posts[0]["id"])]
    # The skipped post's comments stay (under a document for that post id, as comments without their post).
    assert sum(isinstance(r, SourceComment) and r.document_key == "999" for r in records) > 0


WXR = (FIXTURES / "wordpress_export.xml").read_text()


def _with_comment_ids(*comment_ids: str) -> str:
    """The fixture export with its comment ids replaced in order by ``comment_ids``."""
    import re

    ids = iter(comment_ids)

    def replace(match: re.Match) -> str:
        new = next(ids, None)
        return match.group(0) if new is None else f"<wp:comment_id>{new}</wp:comment_id>"

    return re.sub(r"<wp:comment_id>[^<]*</wp:comment_id>", replace, WXR)


@pytest.mark.parametrize(("bad_id", "reason"), [
    ("²", "comment_id '²' is not a WordPress id (a whole number)"),
    ("7" * 5000, f"comment_id '{'7' * 40}'... is not a WordPress id (a whole number)"),
    ("", "no comment_id"),
])
def test_wxr_comment_with_a_bad_id_is_skipped(bad_id, reason):
    _, before = read_bytes(WXR.encode(), "export.xml")
    _, records = read_bytes(_with_comment_ids(bad_id).encode(), "export.xml")
    (where, why), = skipped_of(records)
    assert why == reason and where.startswith("item ") and ", comment " in where
    assert sum(isinstance(r, SourceComment) for r in records) == sum(isinstance(r, SourceComment) for r in before) - 1


def test_wxr_items_and_comments_without_ids_are_skipped_not_merged():
    text = WXR.replace("<wp:post_id>", "<wp:post_id_gone>").replace("</wp:post_id>", "</wp:post_id_gone>")
    with_ids = read_bytes(WXR.encode(), "export.xml")[1]
    published = sum(isinstance(r, SourceDocument) for r in with_ids)
    _, records = read_bytes(text.encode(), "export.xml")
    assert not any(isinstance(r, SourceDocument | SourceComment) for r in records) and len(records) == published
    assert {reason for _, reason in skipped_of(records)} == {"no post_id"}
    # Comments without ids: each one skipped, none merged into another.
    _, records = read_bytes(_with_comment_ids("", "").encode(), "export.xml")
    assert [reason for _, reason in skipped_of(records)] == ["no comment_id", "no comment_id"]


def test_disqus_posts_and_threads_without_ids_are_skipped():
    text = (FIXTURES / "disqus_export.xml").read_text()
    first_post = text.index("<post dsq:id=")
    text = text[:first_post] + text[first_post:].replace("<post dsq:id=", "<post dsq:gone=", 1)
    _, records = read_bytes(text.encode(), "export.xml")
    (where, reason), = skipped_of(records)
    assert where.startswith("post ") and reason == "a post without a dsq:id"


# ---------------------------------------------------------------- the last resort

def test_a_reader_that_fails_rejects_its_file_naming_the_cause(monkeypatch):
    from fms_pipeline.parsing.sources import reddit

    def broken(data, document_key=None):  # a reader bug outside the per-record isolation
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("fms_pipeline.parsing.sources.reddit_json._thread",
                        lambda top, key: iter([reddit.comment(top["data"], key), broken(top)]))
    with pytest.raises(RejectedSource, match=r"^the reddit_json reader failed after 1 records: "
                                             r"ZeroDivisionError: division by zero$"):
        read_bytes(_reddit_thread(1), "thread.json")


def _parse_one(tmp_path: Path, name: str, data: bytes, **kwargs) -> stages.FileResult:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / name).write_bytes(data)
    return stages.parse_file(raw, tmp_path / "work", name, "00", "f", len(data), **kwargs)


def test_parse_file_never_raises_and_says_why(tmp_path: Path, monkeypatch, caplog):
    def explode(*_args, **_kwargs):
        raise KeyError("an unforeseen bug")

    monkeypatch.setattr("fms_pipeline.parsing.threads.assemble_threads", explode)
    result = _parse_one(tmp_path, "dump.ndjson", "\n".join(DUMP_LINES).encode())
    assert result.status == "rejected" and result.parts == {} and result.frames == {}
    assert result.reason == "could not be parsed (KeyError: 'an unforeseen bug'); nothing of it was kept"
    assert "parsing dump.ndjson failed" in caplog.text and "KeyError" in caplog.text  # logged, with its traceback


def test_a_runaway_file_is_rejected_after_its_time_limit(tmp_path: Path, monkeypatch):
    def endless(fmt, open_binary, source_file):
        while True:
            time.sleep(0.01)
            yield SkippedRecord("line 1", "still going")

    monkeypatch.setattr("fms_pipeline.parsing.sources.read_source", endless)
    started = time.monotonic()
    result = _parse_one(tmp_path, "page.txt", b"A title\n\nSome text.\n", seconds_per_file=0.5)
    assert time.monotonic() - started < 5
    assert result.status == "rejected" and result.reason.startswith("took longer than 0.5")
    assert stages.parse_seconds(10 * 1024 ** 3) > 10 * 3600  # a 10 GB dump gets hours, not minutes


# ---------------------------------------------------------------- compression: every kind, every format

@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_compressed_dumps_and_pages_of_every_kind_are_read(kind: str):
    dump = (FIXTURES / "reddit_dump.ndjson").read_bytes()
    plain = read_bytes(dump, "dump.ndjson")[1]
    fmt, records = read_bytes(COMPRESSORS[kind](dump), "RC_2024-01.ndjson" + EXTENSION[kind])
    assert fmt.name == "reddit_ndjson" and records == plain
    for fixture in ("wordpress_export.xml", "html_wpdiscuz.html", "reddit_thread.json"):
        data = (FIXTURES / fixture).read_bytes()
        fmt_plain, plain = read_bytes(data, fixture)
        fmt, records = read_bytes(COMPRESSORS[kind](data), fixture + EXTENSION[kind])
        assert fmt == fmt_plain and records == plain, fixture
    # A bzip2 file's first block decodes only when whole: the sniff reads more of a compressed file.
    big = COMPRESSORS[kind](_random_dump(1_200_000))
    assert len(big) > 4 * limits.SNIFF_BYTES
    assert detect_format("dump" + EXTENSION[kind], big[: limits.COMPRESSED_SNIFF_BYTES]).name == "reddit_ndjson"


def _random_dump(size: int) -> bytes:
    """Comment lines with random text (compressing to about half), ``size`` bytes in all."""
    lines, total, n = [], 0, 0
    while total < size:
        n += 1
        line = _line(id=f"r{n}", body=os.urandom(100).hex()).encode()
        lines.append(line)
        total += len(line) + 1
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_a_truncated_or_misnamed_compressed_file(kind: str):
    dump = _random_dump(1_500_000)  # more than one bzip2 block
    whole = COMPRESSORS[kind](dump) if kind != "zstd" else zst(dump, block=10_000)
    _, records = read_bytes(whole[: len(whole) * 2 // 3], "dump" + EXTENSION[kind])
    kept = [r for r in records if not isinstance(r, SkippedRecord)]
    assert 0 < len(kept) < dump.count(b"\n")
    assert [r.key for r in kept] == [f"r{n}" for n in range(1, len(kept) + 1)]
    assert skipped_of(records) == [(f"after line {len(kept)}", f"the {EXTENSION[kind]} stream is truncated (the file "
                                    "ends inside a compressed {}): the rest of the file is lost".format(
                                        "frame" if kind == "zstd" else "stream"))]
    # Cut before anything can be decompressed: rejected, and said so (not "empty").
    with pytest.raises(RejectedSource, match="truncated"):
        read_bytes(whole[:12], "dump" + EXTENSION[kind])
    with pytest.raises(RejectedSource, match=f"^named {EXTENSION[kind]} but not {kind}-compressed data$"):
        detect_format("dump" + EXTENSION[kind], dump)


def test_a_page_that_expands_past_the_page_limit_is_rejected(monkeypatch):
    monkeypatch.setattr(limits, "MAX_PAGE_BYTES", 1 << 20)
    page = b"<html><body><p>" + b"pain " * (1 << 19) + b"</p></body></html>"
    with pytest.raises(RejectedSource, match="over the 1,048,576-byte limit for one page once decompressed"):
        read_bytes(gzip.compress(page), "page.html.gz")


def test_a_tar_archive_is_named_as_such():
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("page.html")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"<p/>"))
    with pytest.raises(RejectedSource, match=r"a tar archive \(\.gz-compressed\); unpack it"):
        detect_format("pages.tar.gz", out.getvalue())


def test_decompression_gives_bounded_steps_and_the_head_costs_only_the_head(monkeypatch):
    bomb = zstandard.ZstdCompressor(level=1).compress(b"a" * (16 << 20))
    sizes = [len(c) for c in compression.decompressed_chunks("zstd", [bomb])]
    assert sum(sizes) == 16 << 20 and max(sizes) <= limits.DECOMPRESSED_CHUNK_BYTES
    for kind in ("gzip", "bzip2", "xz"):
        data = (b"a" * 1000 + os.urandom(8)) * 4000  # 4 MB in one small compressed input chunk
        sizes = [len(c) for c in compression.decompressed_chunks(kind, [COMPRESSORS[kind](data)])]
        assert sum(sizes) == len(data) and max(sizes) <= limits.DECOMPRESSED_CHUNK_BYTES, kind
    blocks = []
    real = compression._zstd_blocks

    def counted(compressed):
        for block in real(compressed):
            blocks.append(len(block))
            yield block

    monkeypatch.setattr(compression, "_zstd_blocks", counted)
    assert compression.decompressed_head("zstd", bomb) == b"a" * limits.SNIFF_BYTES
    assert sum(blocks) <= 128 << 10  # one block of the 16 MiB decompressed, not the whole head


def test_corrupt_zst_keeps_the_good_lines_of_the_damaged_chunk_and_says_where():
    dump = b"".join(f'{{"id":"c{n}","link_id":"t3_s","body":"comment {n} about Lyrica","subreddit":"x",'
                    f'"created_utc":1706011200}}\n'.encode() for n in range(2000))
    whole = bytearray(zst(dump, block=2000))  # many blocks in the first 1 MiB chunk
    middle = len(whole) // 2
    whole[middle:middle + 40] = b"\xff" * 40
    _, records = read_bytes(bytes(whole), "dump.zst")
    kept = [r for r in records if isinstance(r, SourceComment)]
    assert 800 < len(kept) < 1000  # the good lines before the damage, although all came in one chunk
    (where, reason), = skipped_of(records)
    assert where == f"after line {len(kept)}"
    assert reason.startswith("the .zst stream is corrupt (") and " at compressed byte " in reason


def test_a_damaged_zstd_frame_header_is_not_called_empty():
    data = bytearray(zst(b"\n".join(line.encode() for line in DUMP_LINES)))
    data[4] |= 0x08  # a reserved bit of the frame header descriptor
    with pytest.raises(RejectedSource, match=r"^the .zst stream is corrupt \(a reserved bit of the frame header "
                                             r"is set\) at compressed byte 4, before any of its content$"):
        detect_format("dump.zst", bytes(data))
    reserved_block = (1 | 3 << 1 | 10 << 3).to_bytes(3, "little") + b"x" * 10
    with pytest.raises(RejectedSource, match=r"^the .zst stream is corrupt \(a block of the reserved type\) at "
                                             r"compressed byte 6, before any of its content$"):
        detect_format("dump.zst", compression.ZSTD_MAGIC + b"\x00\x00" + reserved_block)
    # A good frame, then bytes that are no frame: the content before them is read, the rest reported.
    good = zst("\n".join(DUMP_LINES[:3]).encode() + b"\n")
    _, records = read_bytes(good + b"garbage, not a frame", "dump.zst")
    assert skipped_of(records) == [("after line 3", "the .zst stream is corrupt (not the start of a zstd frame) at "
                                    f"compressed byte {len(good):,}: the rest of the file is lost")]


# ---------------------------------------------------------------- long lines, memory

def test_split_lines_skips_a_line_over_the_bound_without_holding_it():
    chunks = [b"first\nsecond-", b"x" * 50, b"x" * 50, b"\nthird", b"\n" + b"y" * 300 + b"\nlast"]
    lines = list(common.split_lines(chunks, max_line=100))
    assert lines[0] == b"first" and len(lines) == 5
    assert isinstance(lines[1], common.OverlongLine) and lines[1].length == 107
    assert lines[2] == b"third" and isinstance(lines[3], common.OverlongLine) and lines[3].length == 300
    assert lines[4] == b"last"
    assert list(common.split_lines([b"a\nb", b"c\n", b"\n", b"d"], max_line=100)) == [b"a", b"bc", b"", b"d"]


def test_a_dump_line_over_the_bound_is_a_skipped_record(monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 10_000)
    monkeypatch.setattr(common.split_lines, "__defaults__", (10_000,))
    data = "\n".join([DUMP_LINES[0], _line(body="x" * 20_000), DUMP_LINES[2]]).encode()
    _, records = read_bytes(data, "dump.ndjson")
    (where, reason), = skipped_of(records)
    assert where == "line 2" and reason.startswith("a line of 20,") and "longer than the 10,000-byte limit" in reason
    assert sum(isinstance(r, SourceComment) for r in records) == 2


BOMB_SCRIPT = textwrap.dedent("""
    import io, json, resource, sys, time
    import zstandard
    from fms_pipeline.parsing.sources import detect_format, read_source, SkippedRecord

    gib = float(sys.argv[1])
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=1).stream_writer(out, closefd=False) as writer:  # a tiny fixture
        writer.write(sys.argv[2].encode() + b"\\n")
        block = b"a" * (1 << 20)
        for _ in range(int(gib * 1024)):
            writer.write(block)  # GiBs without a newline
    bomb = out.getvalue()
    started = time.monotonic()
    fmt = detect_format("bomb.zst", bomb[:1 << 20])
    records = list(read_source(fmt, lambda: io.BytesIO(bomb), "bomb.zst"))
    print(json.dumps({"compressed": len(bomb), "seconds": time.monotonic() - started,
                      # VmHWM: this process's own peak. ru_maxrss survives exec on Linux, so it would report
                      # the forking pytest process's size (1.3 GB late in a full run) instead.
                      "peak_rss": next(int(l.split()[1]) * 1024 for l in open("/proc/self/status")
                                       if l.startswith("VmHWM:")),
                      "kept": [r.key for r in records if not isinstance(r, SkippedRecord)],
                      "skipped": [[r.where, r.reason] for r in records if isinstance(r, SkippedRecord)]}))
""")


def test_a_zstd_bomb_stays_under_1_gib():
    """One good line, then 2 GiB without a newline (in a ~100 kB file): the good line and a skipped record,
    the peak memory of the process far under a GiB."""
    gib = 2
    run = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(gib), DUMP_LINES[0]], capture_output=True,
                         text=True, timeout=600, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    print(f"zstd bomb: {result['compressed']:,} bytes -> {gib} GiB; peak RSS {result['peak_rss'] / 2 ** 20:.0f} MiB; "
          f"{result['seconds']:.1f} s")
    assert result["compressed"] < 1 << 20
    assert result["peak_rss"] < 1 << 30
    assert result["kept"] == [json.loads(DUMP_LINES[0])["id"]]
    assert result["skipped"] == [["line 2", f"a line of {gib << 30:,} bytes, longer than the "
                                            f"{limits.MAX_LINE_BYTES:,}-byte limit: not read"]]


# ---------------------------------------------------------------- XML text, sniffing

def test_child_text_keeps_text_after_a_child_or_an_entity():
    root = parse_xml(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY site "x">]>'
                     b"<r><c>Lyrica <b>helped</b> a lot &amp; &site; more</c></r>")
    assert child_text(root, "c") == "Lyrica helped a lot & &site; more"


def test_a_dtd_that_pushes_the_root_past_the_sniff_window_is_recognised():
    dtd = "<!DOCTYPE rss [\n" + "".join(f'<!ENTITY e{n} "value with a > and ] inside">\n' for n in range(400)) + "]>\n"
    assert len(dtd) > 16_000
    wxr = WXR.replace("<rss ", dtd + "<rss ", 1)
    fmt, records = read_bytes(wxr.encode(), "export.xml")
    assert fmt.name == "wordpress_wxr" and sum(isinstance(r, SourceDocument) for r in records) > 0
    with pytest.raises(RejectedSource, match="root element <feed>"):
        detect_format("atom.xml", ('<?xml version="1.0"?>\n' + dtd.replace("rss", "feed") + "<feed></feed>").encode())


# ---------------------------------------------------------------- workers

def _chunk_stuck_on_3(job):
    """A chunk function whose item 3 hangs where no signal gets through (as C code of a library)."""
    import signal

    marker_dir, chunk = job
    watchdog = workers.Watchdog(marker_dir)
    out = []
    for item in chunk:
        with watchdog.watch(f"item {item}", 1.0):
            if item == 3:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})
                time.sleep(600)
            out.append(item * 10)
    return out


def test_a_worker_stuck_on_one_item_is_killed_and_replaced(tmp_path: Path):
    def recover(chunks):
        killed = workers.runaways(tmp_path)
        if not killed:
            return None
        return [[i for i in c if f"item {i}" not in killed] for c in chunks], [("set aside", *kv) for kv in killed.items()]

    started = time.monotonic()
    out = workers.map_chunks(_chunk_stuck_on_3, list(range(8)), 2, tmp_path, per_worker_min=1, recover=recover)
    assert time.monotonic() - started < 300
    assert sorted(x for x in out if isinstance(x, int)) == [0, 10, 20, 40, 50, 60, 70]
    assert [x for x in out if isinstance(x, tuple)] == [("set aside", "item 3", 1.0)]
    # Without a way to recover, a dead worker fails the call, naming what it was on.
    with pytest.raises(workers.WorkerFailed, match="a worker process failed on 3: BrokenProcessPool"):
        workers.map_chunks(_chunk_stuck_on_3, list(range(8)), 2, tmp_path, per_worker_min=1)


def _threads_while_watching(job):
    """The names of the threads that were not there before, seen while each item of the chunk is watched."""
    import threading

    marker_dir, chunk = job
    watchdog = workers.Watchdog(marker_dir)
    before = set(threading.enumerate())
    names = set()
    for item in chunk:
        with watchdog.watch(f"item {item}", 60.0):
            names |= {t.name for t in set(threading.enumerate()) - before}
    return [sorted(names)]


def test_one_watching_thread_serves_every_item_of_a_worker(tmp_path: Path):
    """Watching an item only records it: no thread started per file (a Timer per file cost ~0.4 ms
    of CPU a file: 40,000 small pages 126.0 vs 110.4 CPU s)."""
    out = workers.map_chunks(_threads_while_watching, list(range(300)), 2, tmp_path, per_worker_min=1)
    # The first chunk of each worker starts its watching thread; no item starts another.
    assert all(names in ([], ["fms-watchdog"]) for names in out), out
    assert ["fms-watchdog"] in out
    assert not workers.runaways(tmp_path)


def test_parse_sets_a_runaway_file_aside_and_keeps_the_others_of_its_chunk(tmp_path: Path):
    (tmp_path / f"runaway-{os.getpid()}.txt").write_text("b.html\n150\n")
    chunks = [[("a.txt", "00", "f", 10, None, None), ("b.html", "00", "f", 20, None, None)],
              [("c.txt", "01", "f", 30, None, None)]]
    new_chunks, results = stages._set_runaways_aside(tmp_path, chunks)
    assert new_chunks == [[chunks[0][0]], chunks[1]]
    (result,) = results
    assert (result.source_file, result.bucket, result.status) == ("b.html", "00", "rejected")
    assert result.reason.startswith("took longer than 150 s and could not be interrupted")
    assert stages._set_runaways_aside(tmp_path, chunks) is None  # the marker was read once

def test_time_limit_does_nothing_outside_the_main_thread():
    import threading

    done = []

    def body():
        with workers.time_limit(0.01):
            time.sleep(0.05)
        done.append(True)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert done == [True]


# ---------------------------------------------------------------- every trigger beside the sample, one run

def _post_list_with_embedded_list() -> bytes:
    posts = [json.loads((FIXTURES / "wordpress_post.json").read_text()) for _ in range(2)]
    posts[1]["id"] = 999
    posts[1]["_embedded"] = []
    for c in posts[1]["comments"]:
        c["post"] = 999
    return json.dumps(posts).encode()


def _dump_with(bad_line: str) -> bytes:
    return "\n".join([DUMP_LINES[1], bad_line, DUMP_LINES[2]]).encode()


# raw file name -> (its bytes, the first skipped record's place and reason as source_files.reason shows it)
TRIGGERS: dict[str, tuple] = {
    "score-nan.ndjson": (lambda: _dump_with(DUMP_LINES[0].replace('"score":8', '"score":NaN')),
                         "line 2: score is a number (nan), not a whole number"),
    "score-1e999.ndjson": (lambda: _dump_with(DUMP_LINES[0].replace('"score":8', '"score":1e999')),
                           "line 2: score is a number (inf), not a whole number"),
    "body-number.ndjson": (lambda: _dump_with(_line(body=12345)), "line 2: body is a number (12345), not text"),
    "body-list.ndjson": (lambda: _dump_with(_line(body=["a"])), "line 2: body is a list, not text"),
    "author-number.ndjson": (lambda: _dump_with(_line(author=7)), "line 2: author is a number (7), not text"),
    "author-list.ndjson": (lambda: _dump_with(_line(author=["x", "y"])), "line 2: author is a list, not text"),
    "subreddit-object.ndjson": (lambda: "\n".join([DUMP_LINES[0], _line(1, subreddit={"a": 1}), DUMP_LINES[2]])
                                .encode(), "line 2: subreddit is an object, not text"),
    "replies-data-list.json": (lambda: _reddit_thread(3, replies_data=[1]),
                               "replies of comment t1_c3: replies.data is a list, not an object"),
    "embedded-list.json": (_post_list_with_embedded_list, "post 999: _embedded is a list, not an object"),
    "comment-id-superscript.xml": (lambda: _with_comment_ids("²").encode(),
                                   "comment ²: comment_id '²' is not a WordPress id (a whole number)"),
    "comment-id-5000-digits.xml": (lambda: _with_comment_ids("9" * 5000).encode(),
                                   "is not a WordPress id (a whole number)"),
    "deep-thread.json": (lambda: _reddit_thread(250), None),  # read whole: nothing to skip
    "deep-json-ld.html": (lambda: (FIXTURES / "html_wordpress_comments.html").read_text().replace(
        "</head>", '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script></head>")
        .encode(), None),
    "bomb.ndjson.zst": (lambda: zstandard.ZstdCompressor(level=1).compress(
        (DUMP_LINES[0] + "\n").encode() + b"a" * (64 << 20)), "line 2: a line of 67,108,864 bytes"),
}


@pytest.fixture(scope="module")
def triggers_warehouse(tmp_path_factory) -> Path:
    from fms_pipeline_tests.conftest import SAMPLE
    from fms_pipeline_tests.materialized import dagster_home_env, materialize_folder, raw_folder

    root = tmp_path_factory.mktemp("triggers")
    raw = raw_folder(root, SAMPLE)
    for name, (make, _reason) in TRIGGERS.items():
        (raw / name).write_bytes(make())
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRIGGERS))
def test_every_trigger_beside_the_sample_in_one_run(triggers_warehouse: Path, name: str, monkeypatch):
    """Issue 22's triggers, each a file beside the sample, one ``materialize``: the run ends, the sample
    and each file's good records are in the warehouse, the bad record is a skipped record named by its
    file (the row) and its line or item (the reason)."""
    from fms_pipeline import warehouse
    from fms_pipeline_tests.conftest import SAMPLE

    expected_reason = TRIGGERS[name][1]
    with warehouse.connect_read_only(triggers_warehouse) as con:
        assert con.execute("SELECT count(*) FROM comments JOIN documents USING (document_id) WHERE source_file = ?",
                           [SAMPLE.name]).fetchone()[0] == 19
        status, skipped, reason = con.execute(
            "SELECT status, skipped_records, reason FROM source_files WHERE source_file = ?", [name]).fetchone()
        comments = con.execute("SELECT count(*) FROM comments JOIN documents USING (document_id) "
                               "WHERE source_file = ?", [name]).fetchone()[0]
    assert status == "staged" and comments > 0
    if expected_reason is None:
        assert skipped == 0 and reason is None
    else:
        assert skipped == 1 and reason.startswith("1 record(s) skipped, the rest kept; first: ")
        assert expected_reason in reason
    if name == "deep-thread.json":
        assert comments == 250
