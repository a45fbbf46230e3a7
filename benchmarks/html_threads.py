"""Time of the HTML reader on long comment threads (issue 22 item 3): WordPress comment lists with
replies nested N deep, and flat lists of N comments, generated in WordPress's own markup.

    .venv/bin/python benchmarks/html_threads.py --nested 500,1000,3000 --flat 57000

Prints one line per page (comments, size, seconds to read, comments found) and the figures as JSON last.
The structure of the same pages is asserted by fms_pipeline_tests/test_sources_pages.py (small sizes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARTICLE = ("<p>" + "I have lived with fibromyalgia for eleven years and tried most of what my doctors offered. " * 8
           + "</p>") * 3


def _comment(n: int, inner: str = "") -> str:
    day = 1 + n % 28
    return (
        f'<li id="comment-{n}" class="comment depth-1"><article id="div-comment-{n}" class="comment-body">'
        f'<footer class="comment-meta"><div class="comment-author vcard"><b class="fn">Reader {n % 97}</b> '
        f'<span class="says">says:</span></div><div class="comment-metadata"><a href="#comment-{n}">'
        f'<time datetime="2024-03-{day:02d}T10:{n % 60:02d}:00+00:00">March {day}, 2024</time></a></div></footer>'
        f'<div class="comment-content"><p>Comment {n}: gabapentin made me dizzy for a week, then it helped '
        f'with the burning in my feet.</p></div>'
        f'<div class="reply"><a class="comment-reply-link" href="#comment-{n}" data-commentid="{n}">Reply</a></div>'
        f'</article>{inner}</li>'
    )


def _page(comments: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>Living with it - Blog</title>'
        '<link rel="canonical" href="https://blog.example.org/2024/03/living-with-it/">'
        '<meta property="article:published_time" content="2024-03-01T09:00:00+00:00"></head><body>'
        '<article class="post"><h1 class="entry-title">Living with it</h1>'
        f'<div class="entry-content">{ARTICLE}</div></article>'
        f'<div id="comments" class="comments-area"><ol class="comment-list">{comments}</ol></div></body></html>'
    )


def nested_page(depth: int) -> str:
    """One thread: comment 1, its reply 2, that one's reply 3, ... ``depth`` deep (``ul.children`` in each)."""
    inner = ""
    for n in range(depth, 0, -1):
        inner = _comment(n, f'<ul class="children">{inner}</ul>' if inner else "")
    return _page(inner)


def flat_page(count: int) -> str:
    return _page("".join(_comment(n) for n in range(1, count + 1)))


def _time(page: str) -> tuple[float, int]:
    from fms_pipeline.parsing.sources import detect_format, read_source
    from fms_pipeline.parsing.sources.model import SourceComment

    data = page.encode("utf-8")
    started = time.perf_counter()
    fmt = detect_format("page.html", data[:65536])
    records = list(read_source(fmt, lambda: __import__("io").BytesIO(data), "page.html"))
    return time.perf_counter() - started, sum(isinstance(r, SourceComment) for r in records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nested", default="500,1000,3000")
    parser.add_argument("--flat", default="57000")
    args = parser.parse_args()
    figures = []
    for kind, sizes, make in (("nested", args.nested, nested_page), ("flat", args.flat, flat_page)):
        for size in (int(s) for s in sizes.split(",") if s):
            page = make(size)
            seconds, found = _time(page)
            figures.append({"kind": kind, "comments": size, "bytes": len(page.encode()), "seconds": round(seconds, 2),
                            "found": found})
            print(f"{kind:6} {size:>7} comments {len(page.encode()) / 1e6:6.1f} MB  {seconds:7.2f} s  found {found}",
                  flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
