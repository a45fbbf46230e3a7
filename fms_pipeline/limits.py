"""Every bound the pipeline puts on what one raw file may cost, in one place (issue 22).

What happens past each bound is written beside it, and in the README ("Bad input, crashes and
concurrent readers"). None of them stops a run: past a file bound the file is a rejected file with
the reason; past a record bound the record is a skipped record (file, line or item, reason) and
the rest of the file is kept.
"""

from __future__ import annotations

# A one-page format (a saved page, an export, a JSON file) is read whole: at most this many bytes,
# as stored and again once decompressed. Past it: the file is rejected ("over the ...-byte limit
# for one page"). Dump formats (Reddit NDJSON) are streamed and have no size limit.
MAX_PAGE_BYTES = 20 * 1024 * 1024

# How much of a file's start its format is recognised from (decompressed, for a compressed file).
SNIFF_BYTES = 64 * 1024
# How much of a compressed file's stored start is read to get SNIFF_BYTES of its content (a bzip2
# block decodes only once whole: up to 900 kB of text, far less compressed).
COMPRESSED_SNIFF_BYTES = 1024 * 1024

# Decompression (zstd, gzip, bzip2, xz) gives at most this many bytes per step, however much a few
# compressed bytes expand to (a "bomb" of GiBs in 100 kB): memory holds one step, never the whole.
DECOMPRESSED_CHUNK_BYTES = 1024 * 1024
# zstd's window (what a decompressor must hold): Reddit's dump archives are compressed with
# --long=31, a 2 GiB window. Past it: the file is rejected (zstd: "Frame requires too much memory").
ZSTD_MAX_WINDOW_BYTES = 1 << 31
# xz's dictionary (what its decompressor must hold; xz -9 uses 64 MiB). Past it: the file is rejected.
XZ_MEMORY_LIMIT_BYTES = 512 * 1024 * 1024

# A line of a dump (one submission or comment; Reddit's longest are under a megabyte). Past it the
# line is a skipped record ("longer than ... bytes") and is never held in memory: the reader skips
# to the next line end.
MAX_LINE_BYTES = 16 * 1024 * 1024

# JSON nesting read from a JSON file (a Reddit API thread nests 5 levels per reply, so 10,000 levels
# are 2,000 replies deep). Python's own parser stops at ~1,000 levels; past that the file is read
# by a parser without recursion, and a value nested deeper than this is left out: the record that
# holds it (a comment's replies) is a skipped record.
MAX_JSON_DEPTH = 10_000

# Wall-clock time for reading and parsing one file in a parse worker. Past it the file is rejected
# ("took longer than ... s"); the other files of the run go on. A worker stuck where it cannot be
# interrupted (inside a C library) is killed after PARSE_KILL_GRACE_SECONDS more and replaced.
PARSE_SECONDS_PER_FILE = 120
# ... plus this long per stored byte (a 10 GB dump streams for hours): 256 KiB a second.
PARSE_MIN_BYTES_PER_SECOND = 256 * 1024
PARSE_KILL_GRACE_SECONDS = 30
