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
                    "body VARCHAR, author_is_anonymous BOOLEAN, sentiment DOUBLE, depth INTEGER, "
                    "parent_comment_id VARCHAR, published_at TIMESTAMPTZ)")
        con.execute("INSERT INTO comments VALUES ('c1', 'd1', 1, ?, ?, false, 0.5, 1, NULL, NULL)",
                    [f"Author {payload}", body])
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


@pytest.fixture
def query_data_dir(tmp_path: Path) -> Path:
    """A data folder with a warehouse, a staged Parquet file and another DuckDB file beside it."""
    data_dir = tmp_path / "data"
    (data_dir / "staging" / "comments").mkdir(parents=True)
    write_report_warehouse(data_dir / "warehouse.duckdb", "plain")
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT 'real' AS author) TO '{data_dir / 'staging' / 'comments' / 'd1.parquet'}'")
    with duckdb.connect(str(tmp_path / "other.duckdb")) as con:
        con.execute("CREATE TABLE kept AS SELECT 1 AS x")
    return data_dir


def _cli(data_dir: Path, capsys, *args: str) -> tuple[int, str, str]:
    from fms_pipeline import cli

    code = cli.main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_query_runs_one_read_statement(query_data_dir: Path, capsys):
    code, out, err = _cli(query_data_dir, capsys, "query", "SELECT title, comment_count FROM documents")
    assert code == 0 and "Title plain" in out and err == ""
    (query_data_dir / "q.sql").write_text("-- a saved query\nSELECT count(*) AS n FROM comments;\n")
    code, out, _ = _cli(query_data_dir, capsys, "query", f"@{query_data_dir / 'q.sql'}")
    assert code == 0 and "n" in out


def test_query_refuses_what_reaches_the_disk(query_data_dir: Path, capsys):
    tmp = query_data_dir.parent
    staged = query_data_dir / "staging" / "comments" / "d1.parquet"
    before = staged.read_bytes()
    attacks = {
        "SELECT * FROM read_text('/etc/passwd')": "only the warehouse's own tables",
        "SELECT * FROM glob('/root/*')": "only the warehouse's own tables",
        "SELECT * FROM read_csv('/etc/passwd')": "only the warehouse's own tables",
        f"COPY (SELECT author, body FROM comments) TO '{tmp / 'out.csv'}'": "not COPY",
        f"ATTACH '{tmp / 'other.duckdb'}' AS other (READ_WRITE)": "not ATTACH",
        f"ATTACH '{tmp / 'other.duckdb'}' AS other (READ_WRITE); DROP TABLE other.kept": "one statement per call, got 2",
        "SELECT 1; SELECT 2": "one statement per call, got 2",
        f"COPY (SELECT 'forged' AS author) TO '{staged}' (FORMAT parquet)": "not COPY",
        "SET enable_external_access = true": "not SET",
        "INSTALL httpfs": "not LOAD",
        "DROP TABLE comments": "not DROP",
        "": "no SQL statement given",
    }
    for sql, reason in attacks.items():
        code, out, err = _cli(query_data_dir, capsys, "query", sql)
        assert code == 1 and out == "", sql
        assert err.count("\n") == 1 and reason in err and "Traceback" not in err, (sql, err)
    assert not (tmp / "out.csv").exists()
    assert staged.read_bytes() == before
    with duckdb.connect(str(tmp / "other.duckdb"), read_only=True) as con:
        assert con.execute("SELECT x FROM kept").fetchall() == [(1,)]
    with duckdb.connect(str(query_data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall() == [(1,)]


def test_query_connection_stays_locked_without_the_statement_check(query_data_dir: Path):
    """The connection itself refuses files and reconfiguration, should a statement slip through."""
    from fms_pipeline.warehouse import safe_query

    tmp = query_data_dir.parent
    with safe_query.connect(query_data_dir / "warehouse.duckdb") as con:
        for sql in (f"COPY comments TO '{tmp / 'x.csv'}'", f"ATTACH '{tmp / 'other.duckdb'}' AS o",
                    "SELECT * FROM read_text('/etc/passwd')"):
            with pytest.raises(duckdb.PermissionException):
                con.execute(sql)
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE t AS SELECT 1")
    assert not (tmp / "x.csv").exists()
    assert safe_query.run_query(query_data_dir / "warehouse.duckdb", "SELECT position, author FROM comments") == (
        ["position", "author"], [(1, "Author plain")])


def test_query_errors_are_one_line(query_data_dir: Path, tmp_path: Path, capsys):
    cases = [
        ((query_data_dir, "query", f"@{tmp_path / 'missing.sql'}"), "cannot read the query file"),
        ((query_data_dir, "query", "SELECT * FROM no_such_table"), "query failed: Catalog Error"),
        ((query_data_dir, "query", "SELEC 1"), "not valid SQL"),
        ((tmp_path / "empty", "query", "SELECT 1"), "does not exist yet"),
    ]
    for (data_dir, *args), message in cases:
        code, _, err = _cli(data_dir, capsys, *args)
        assert code == 1 and err.count("\n") == 1 and message in err and "Traceback" not in err, (args, err)


POLISH = "Mieszkam w Łodzi. Łódź to piękne miasto, ale zimą boli mnie całe ciało i źle śpię po Lyrice."
RUSSIAN = "У меня фибромиалгия, и лирика мне совсем не помогла. Врач сказал терпеть."


@pytest.mark.parametrize("text, encoding", [
    (f"Title\n\n{POLISH}\n", "iso8859_2"),
    (f"Title\n\n{POLISH}\n", "cp1250"),
    ("Title\n\nI live in Łódź and my fibromyalgia is worse in winter.\n", "iso8859_2"),
    (f"Title\n\n{RUSSIAN}\n", "cp1251"),
    ("Привет, Мир", "cp1251"),
    ("J'ai très mal, le médecin a dit ça passera. Lyrica® 98°F £5 ½ «non» don’t – Grüße aus München", "cp1252"),
    ("Title\n\nŁódź, Привет, don’t 😀\r\n", "utf-16"),
    ("Title\n\nŁódź, Привет, don’t 😀\r\n", "utf-16-be"),
    ("Title\n\nŁódź, Привет, don’t 😀\r\n", "utf-32"),
    ("Title\n\nŁódź, Привет, don’t 😀\r\n", "utf-32-be"),
])
def test_decode_legacy_and_byte_order_marked_encodings(text: str, encoding: str):
    from fms_pipeline.parsing.decode import decode_page

    data = text.encode(encoding)
    if encoding in ("utf-16-be", "utf-32-be"):  # Python writes no mark for these: add it.
        data = ("\ufeff" + text).encode(encoding)
    assert decode_page(data) == text.replace("\r\n", "\n")


@pytest.mark.parametrize("data, reason", [
    (b"Title\n\nbad \x81\x8d\x90 bytes\n", "none reads it as plain text"),
    (b"Title\n\nabc\xd7\xf7def and \xa4\xa6x\n", "none reads it as plain text"),
    # Czech "škola" in Latin-2 reads as "ąkola" in Windows-1250: two readings, no way to tell.
    ("Šla škola a šaty.".encode("iso8859_2"), "read it as different text"),
    (b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8", "not valid UTF-16"),
    (b"\xff\xfe" + "\x01\x02x".encode("utf-16-le") * 100, "control characters"),
])
def test_decode_sets_aside_text_of_unclear_encoding(data: bytes, reason: str):
    from fms_pipeline.parsing.decode import UndecodableFile, decode_page

    with pytest.raises(UndecodableFile, match=reason) as caught:
        decode_page(data)
    if b"\xff\xfe" not in data[:2]:
        assert str(caught.value).startswith("encoding unclear: not valid UTF-8")


def _spans_warehouse(words: int) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """One long page (as an article body and as a comment) with a mention on every word, spans
    across the check's 1,024-character chunks, long spans, and wrong spans of every kind; returns
    the connection and the ids of the wrong spans."""
    import random

    import polars as pl

    rnd = random.Random(13)
    page = " ".join(rnd.choice(["pain", "Lyrica", "fibro", "Łódź", "and", "😀ok"]) for _ in range(words))
    starts, position = [], 0
    for word in page.split(" "):
        starts.append((position, position + len(word)))
        position += len(word) + 1
    spans = [(f"m{i}", "d1", None if i % 2 else "c1", s, e, page[s:e]) for i, (s, e) in enumerate(starts)]
    right = [("long", "d1", None, 5, 3000, page[5:3000]), ("across-chunks", "d1", "c1", 1020, 1030, page[1020:1030]),
             ("last", "d1", None, len(page) - 3, len(page), page[-3:]), ("short-comment", "d1", "c2", 6, 12, "Lyrica")]
    wrong = [("long-shifted", "d1", "c1", 5, 3000, page[6:3001]), ("shifted", "d1", "c1", 1020, 1030, page[1021:1031]),
             ("other-text", "d1", "c1", 0, 4, "xxxx"), ("past-end", "d1", None, len(page) + 5, len(page) + 9, "oops"),
             ("negative", "d1", None, -1, 3, "pai"), ("empty", "d1", None, 4, 4, ""),
             ("empty-document", "d2", None, 0, 1, "x"), ("no-document", "nope", None, 0, 1, "x"),
             ("no-comment", "d1", "missing", 0, 4, page[:4])]
    columns = ["mention_id", "document_id", "comment_id", "start_char", "end_char", "text"]
    mentions = pl.DataFrame(spans + right + wrong[:5], schema=columns, orient="row")
    outcomes = pl.DataFrame(spans[:50] + wrong[5:], schema=["outcome_id", *columns[1:]], orient="row")
    con = duckdb.connect()
    con.execute("CREATE TABLE documents AS SELECT * FROM (VALUES ('d1', ?), ('d2', '')) t(document_id, body)", [page])
    con.execute("CREATE TABLE comments AS SELECT * FROM (VALUES ('c1', 'd1', ?), ('c2', 'd1', 'short Lyrica')) "
                "t(comment_id, document_id, body)", [page])
    con.execute("CREATE TABLE entity_mentions AS SELECT * FROM mentions")
    con.execute("CREATE TABLE outcome_mentions AS SELECT * FROM outcomes")
    return con, {w[0] for w in wrong}


def test_spans_check_finds_every_wrong_span_in_linear_time():
    import time

    from fms_pipeline import warehouse

    con, wrong = _spans_warehouse(3_000)
    assert {item for item, _ in warehouse.run_checks(con, ["spans_inside_text"])["spans_inside_text"]} == wrong
    # 200k words (1 MB) with a mention on every word: the quadratic version took minutes here.
    con, wrong = _spans_warehouse(200_000)
    started = time.perf_counter()
    found = warehouse.run_checks(con, ["spans_inside_text"])["spans_inside_text"]
    assert {item for item, _ in found} == wrong
    assert time.perf_counter() - started < 10
