"""Attacks from issue 13: markup in the report, remote content in asset previews, typed SQL that
reaches the disk, CLI errors, text in unexpected encodings, a quadratic check."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

SCRIPT = "<script>alert('x')</script>"
IMAGE = "<img src=x onerror=alert(1)>"
PAYLOAD = f"{SCRIPT}{IMAGE}"


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, and its text as a browser would show it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def write_report_warehouse(path: Path, payload: str) -> None:
    """A warehouse with the tables and columns the report reads, every text holding ``payload``."""
    body = f"Lyrica helped. {payload} wrote this."
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE documents (document_id VARCHAR, source_file VARCHAR, title VARCHAR, byline VARCHAR, "
                    "body VARCHAR, comment_count INTEGER, has_comment_section BOOLEAN)")
        con.execute("INSERT INTO documents VALUES ('d1', ?, ?, ?, ?, 1, true)",
                    [f"{payload}.txt", f"Title {payload}", f"By {payload}", body])
        con.execute("CREATE TABLE comments (comment_id VARCHAR, document_id VARCHAR, position INTEGER, author VARCHAR, "
                    "body VARCHAR, author_is_anonymous BOOLEAN, sentiment DOUBLE)")
        con.execute("INSERT INTO comments VALUES ('c1', 'd1', 1, ?, ?, false, 0.5)", [f"Author {payload}", body])
        con.execute("CREATE TABLE entity_mentions (mention_id VARCHAR, document_id VARCHAR, comment_id VARCHAR, "
                    "label VARCHAR, text VARCHAR, canonical VARCHAR, start_char INTEGER, end_char INTEGER)")
        # One mention around the payload itself, so the highlighted span carries it too.
        start = body.index(payload)
        for mention_id, comment_id in (("m1", None), ("m2", "c1"), ("m3", None), ("m4", "c1")):
            span = (0, 6) if mention_id in ("m1", "m2") else (start, start + len(payload))
            con.execute("INSERT INTO entity_mentions VALUES (?, 'd1', ?, 'DRUG', ?, ?, ?, ?)",
                        [mention_id, comment_id, body[span[0]:span[1]], f"pregabalin{payload}", *span])
        con.execute("CREATE TABLE outcome_mentions (outcome_id VARCHAR, document_id VARCHAR, comment_id VARCHAR, "
                    "outcome VARCHAR, drug VARCHAR, text VARCHAR, start_char INTEGER, end_char INTEGER)")
        con.execute("INSERT INTO outcome_mentions VALUES ('o1', 'd1', 'c1', 'effective', ?, 'Lyrica helped', 0, 13)",
                    [payload])
        con.execute("CREATE TABLE rejected_files (source_file VARCHAR, reason VARCHAR, seen_at TIMESTAMP)")
        con.execute("INSERT INTO rejected_files VALUES (?, ?, now())", [f"bad {payload}.txt", f"binary {payload}"])
        con.execute("CREATE TABLE entity_counts (label VARCHAR, canonical VARCHAR, mentions BIGINT, comments BIGINT, "
                    "documents BIGINT)")
        for label in ("DRUG", "DRUG_CLASS", "CONDITION", "SYMPTOM"):
            con.execute("INSERT INTO entity_counts VALUES (?, ?, 2, 1, 1)", [label, f"{label} {payload}"])
        con.execute("CREATE TABLE drug_outcomes AS SELECT ? AS drug, 'effective' AS outcome, 1::BIGINT AS mentions",
                    [payload])
        con.execute("CREATE TABLE drug_condition_pairs AS SELECT ? AS drug, ? AS condition, 1::BIGINT AS comments, "
                    "1::BIGINT AS documents", [payload, payload])
        con.execute("CREATE TABLE drug_sentiment AS SELECT ? AS drug, 1::BIGINT AS mentions, 0.5 AS mean_sentiment",
                    [payload])
        con.execute("CREATE TABLE drugs AS SELECT ? AS drug, ? AS drug_class, ? AS drugbank_id, ? AS mesh_id, "
                    "1::BIGINT AS mentions", [payload, payload, payload, payload])


def test_report_escapes_markup_in_every_page(tmp_path: Path):
    from fms_pipeline.reports.report import build_report

    source = tmp_path / "w.duckdb"
    write_report_warehouse(source, PAYLOAD)
    summary = build_report(source, tmp_path / "reports")
    pages = [summary.path, *sorted((tmp_path / "reports" / "documents").glob("*.html"))]
    assert len(pages) == 2
    for page in pages:
        parsed = _parse(page.read_text(encoding="utf-8"))
        assert "script" not in [tag for tag, _ in parsed.tags], page.name
        assert [attrs for tag, attrs in parsed.tags if tag == "img" and "onerror" in attrs] == [], page.name
        assert not [attrs for _, attrs in parsed.tags if any(a.startswith("on") for a in attrs)], page.name
        # The markup is there, as text the reader sees.
        shown = "".join(parsed.text)
        assert shown.count(PAYLOAD) >= 3, (page.name, shown.count(PAYLOAD))
    document_page = "".join(_parse(pages[1].read_text(encoding="utf-8")).text)
    for written in (f"Title {PAYLOAD}", f"By {PAYLOAD}", f"Author {PAYLOAD}", f"{PAYLOAD} wrote this", f"{PAYLOAD}.txt"):
        assert written in document_page, written
    report_page = "".join(_parse(pages[0].read_text(encoding="utf-8")).text)
    for written in (f"Title {PAYLOAD}", f"{PAYLOAD}.txt", f"bad {PAYLOAD}.txt", f"binary {PAYLOAD}"):
        assert written in report_page, written


MARKDOWN_ATTACKS = [
    "![p](http://host/pixel.png)",
    "[click](http://host/x)",
    "<img src=http://host/pixel.png>",
    "<http://host/auto>",
    "`code` **bold** | cell | &#60;script&#62; [ref]: http://host/ref",
    SCRIPT,
    "![p]\n(http://host/split.png)",
]


def test_markdown_previews_render_as_plain_text():
    """A comment holding Markdown or HTML shows as its text on the asset page: no image, link
    or tag reaches the UI (rendered here with markdown-it's CommonMark and GFM tables)."""
    import polars as pl
    from markdown_it import MarkdownIt

    from fms_pipeline.defs.metadata import markdown_list, markdown_preview

    render = MarkdownIt("commonmark").enable("table").render
    frame = pl.DataFrame({"position": list(range(len(MARKDOWN_ATTACKS))), "body": MARKDOWN_ATTACKS,
                          "author": [f"![a](http://host/{i}.png)" for i in range(len(MARKDOWN_ATTACKS))]})
    for value in (markdown_preview(frame, width=200).value, markdown_list([(a, a) for a in MARKDOWN_ATTACKS]).value):
        html = render(value)
        for tag in ("<img", "<a ", "<script", "<code", "<strong", "<h1"):
            assert tag not in html, (tag, html)
        assert "http://host/pixel.png" in html  # shown as text, not dropped
    table = render(markdown_preview(frame, width=200).value)
    assert table.count("<tr>") == len(MARKDOWN_ATTACKS) + 1  # a "|" in a value does not add cells
    assert table.count("<td>") == 3 * len(MARKDOWN_ATTACKS)
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in table.replace("&#39;", "'")
