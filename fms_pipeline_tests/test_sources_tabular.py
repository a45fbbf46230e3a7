"""Tables as a source (fms_pipeline/parsing/sources/tabular.py): CSV, TSV, JSON Lines, Parquet, workbooks.

The fixtures are written here in each format's shape (a forum export as CSV, a review table in
DrugLib's columns, a semicolon survey in Windows-1252 with its mapping file, a JSON Lines comment
dump); the Parquet and workbook files are written by the tests. The real DrugLib training table
(../shared/corpus/druglib, Gräßer et al. 2018, UCI ML Repository, CC BY 4.0) is read whole.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl
import pytest
import zstandard

from fms_pipeline import raw_files
from fms_pipeline.parsing.sources import (
    RejectedSource,
    SkippedRecord,
    SourceComment,
    SourceDocument,
    detect_format,
    read_source,
    tabular,
)
from fms_pipeline.parsing.threads import COMMENT_SCHEMA, assemble_threads, record_batches, review_ratings

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DRUGLIB = Path("/work/shared/corpus/druglib/reviews_train.tsv")
if not DRUGLIB.exists():
    DRUGLIB = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "druglib" / "reviews_train.tsv"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read(path: Path, name: str | None = None, data: bytes | None = None):
    """(documents, comments, skipped) of a table file, its mapping file (if any) read from beside it."""
    data = path.read_bytes() if data is None else data
    name = name or path.name
    fmt = detect_format(name, data[:65536])
    assert fmt.name == "table"

    def companion(other: str) -> bytes | None:
        beside = path.parent / other
        return beside.read_bytes() if beside.exists() else None

    records = list(read_source(fmt, lambda: io.BytesIO(data), name, companion))
    return ([r for r in records if isinstance(r, SourceDocument)], [r for r in records if isinstance(r, SourceComment)],
            [r for r in records if isinstance(r, SkippedRecord)])


def staged(path: Path, name: str | None = None, data: bytes | None = None):
    data = path.read_bytes() if data is None else data
    name = name or path.name
    fmt = detect_format(name, data[:65536])
    batches = list(record_batches(read_source(fmt, lambda: io.BytesIO(data), name), fmt.name))
    docs, coms = assemble_threads(name, pl.concat([b[0] for b in batches]).lazy(),
                                  pl.concat([b[1] for b in batches]).lazy(), source_format=fmt.name, carry=("ratings",))
    coms = coms.collect()
    return docs.collect(), coms.select(list(COMMENT_SCHEMA)), review_ratings(coms.lazy()).collect()


# ---------------------------------------------------------------- CSV, TSV, JSON Lines

def test_forum_csv_reads_threads_dates_authors_and_reports_bad_rows_by_line():
    documents, comments, skipped = read(FIXTURES / "table_forum.csv")
    assert [d.key for d in documents] == ["https://forum.example.org/t/lyrica-and-sleep/77",
                                          "https://forum.example.org/t/tramadol-questions/80"]
    assert documents[0].community == "forum.example.org" and documents[0].url == documents[0].key
    assert [c.key for c in comments] == ["101", "102", "103", "201", "202"]
    assert [c.parent_key for c in comments] == [None, "101", "102", None, "201"]
    assert [c.author for c in comments] == ["fibro_fran", "Nerve Pain Ned", "fibro_fran", "Guest", "chronic_carla"]
    assert comments[3].author_is_anonymous and not comments[0].author_is_anonymous
    assert [c.published_at for c in comments] == [utc(2023, 3, 16, 16, 59), utc(2023, 3, 17, 9, 15),
                                                  utc(2023, 3, 17, 10, 2), utc(2023, 3, 28, 10, 40),
                                                  utc(2023, 3, 29)]
    assert comments[1].body == "Same here.\n\nI stopped after six months because of the dizziness."
    assert comments[4].body == 'It takes the edge off, "most days", for me.'
    # The quoted field of row 102 spans lines 3-5: the bad rows after it are named by their own lines.
    assert [(s.where, s.reason) for s in skipped] == [
        ("line 7", "8 fields where the header has 6"), ("line 8", "no text in comment")]


def test_forum_csv_staged_threads():
    documents, comments, ratings = staged(FIXTURES / "table_forum.csv")
    assert ratings.is_empty()
    assert documents["comment_count"].to_list() == [3, 2]
    by_key = {cid.rsplit(":", 1)[1]: row for cid, row in zip(comments["comment_id"], comments.iter_rows(named=True))}
    assert by_key["103"]["depth"] == 3 and by_key["103"]["parent_comment_id"].endswith(":102")
    assert by_key["202"]["depth"] == 2


@pytest.mark.parametrize("column, generic", [
    ("Effexor-XR", "venlafaxine"), ("wellbutrin-sr", "bupropion"), ("ventolin-hfa", "albuterol"),
    ("lithium-carbonate", "lithium"), ("Zyrtec-D", "cetirizine/pseudoephedrine"), ("meridia", "sibutramine"),
    ("dilantin", "phenytoin"), ("ortho-tri-cyclen-lo", "ethinylestradiol/norgestimate"),
    ("Yaz", "ethinylestradiol/drospirenone"), ("Armour-Thyroid", "desiccated thyroid"), ("climara", "estradiol"),
    ("benicar-hct", "olmesartan/hydrochlorothiazide"), ("Lyrica", "pregabalin"),
    ("Unheard-of Remedy XR", "unheard-of remedy xr"),
])
def test_drug_column_names_a_generic_without_its_release_form(column, generic):
    """A drug column's brand with a release-form suffix is its generic ("-XR", "-HFA" dropped); a suffix naming a
    second ingredient ("-D", "-HCT") is part of the name; an unknown name stays as written."""
    from fms_pipeline.nlp.drug_lexicon import canonical_drug

    assert canonical_drug(column) == generic


def test_review_table_in_druglib_shape():
    documents, comments, skipped = read(FIXTURES / "table_reviews.tsv")
    # Grouped by the drug column, by generic name: "lyrica" and "Lyrica" are one document, pregabalin.
    assert [d.title for d in documents] == ["pregabalin", "duloxetine", "tramadol"]
    assert [c.key for c in comments] == ["9001", "9002", "9003", "9005"]
    assert [c.stated_drug for c in comments] == ["pregabalin", "duloxetine", "tramadol", "pregabalin"]
    assert [c.stated_condition for c in comments] == ["fibromyalgia", "fibromyalgia", "chronic back pain",
                                                     "fibromyalgia and neuropathy"]
    assert [c.rating for c in comments] == [8.0, 3.0, 10.0, 6.0]
    assert comments[0].ratings == [
        {"name": "effectiveness", "value": None, "label": "Considerably Effective"},
        {"name": "sideEffects", "value": None, "label": "Moderate Side Effects"}]
    assert comments[1].body == ("Benefits review: Slightly less aching in the mornings.\n\n"
                                "Side effects review: Nausea for a month,\n\nthen night sweats that never stopped.\n\n"
                                "Comments review: I tapered off after four months.")
    assert comments[2].body.endswith("Side effects review: None that I noticed.")
    assert [(s.where, s.reason) for s in skipped] == [
        ("line 7", "no text in benefitsReview, sideEffectsReview, commentsReview")]


def test_jsonl_flattens_nested_fields_and_skips_bad_lines():
    documents, comments, skipped = read(FIXTURES / "table_comments.jsonl")
    assert [(d.key, d.title, d.community) for d in documents] == [
        ("https://blog.example.com/my-fibro-year", "My fibro year", "blog.example.com"),
        ("https://blog.example.com/pacing", None, "blog.example.com")]
    assert [(c.key, c.parent_key, c.author, c.score) for c in comments] == [
        ("c1", None, "Dana", 4), ("c2", "c1", "Lee", 1), ("c3", None, "Dana", None)]
    assert [c.published_at for c in comments] == [utc(2023, 11, 14, 22, 13, 20), utc(2023, 11, 14, 23, 13, 20),
                                                  utc(2023, 11, 20, 7)]
    assert [s.where for s in skipped] == ["line 3", "line 4", "line 6"]
    assert skipped[0].reason.startswith("not valid JSON") and skipped[1].reason == "a JSON list, not an object"


def test_reddit_dump_lines_stay_with_the_reddit_reader():
    line = b'{"id": "c9", "subreddit": "Fibromyalgia", "created_utc": 1700000000, "body": "hi", "link_id": "t3_x"}\n'
    assert detect_format("dump.ndjson", line).name == "reddit_ndjson"
    assert detect_format("comments.ndjson", b'{"text": "hi", "created_utc": 1700000000}\n').name == "table"


def test_zstd_compressed_csv(tmp_path):
    data = zstandard.ZstdCompressor().compress((FIXTURES / "table_forum.csv").read_bytes())
    _, comments, skipped = read(tmp_path / "forum.csv.zst", data=data)
    assert len(comments) == 5 and len(skipped) == 2


def test_reader_streams_in_blocks_with_line_numbers_across_blocks(monkeypatch):
    """A table is read a block at a time: the first rows come out before most of the file is read,
    and line numbers stay right across blocks cut between multi-line rows."""
    monkeypatch.setattr(tabular, "BLOCK_BYTES", 4096)
    rows = ["id,author,date,text"]
    for i in range(2000):
        text = f'"row {i} first line\nrow {i} second line"' if i % 3 == 0 else ("" if i == 1501 else f"row {i}")
        rows.append(f"{i},user{i % 7},2024-01-{i % 28 + 1:02d},{text}")
    data = "\n".join(rows).encode() + b"\n"

    class Counting(io.BytesIO):
        high = 0

        def read(self, n=-1):
            out = super().read(n)
            Counting.high = self.tell()
            return out

    fmt = detect_format("big.csv", data[:65536])
    monkeypatch.setattr(tabular, "raw_chunks", lambda stream: iter(lambda: stream.read(1024), b""))
    records = read_source(fmt, lambda: Counting(data), "big.csv")
    first = next(r for r in records if isinstance(r, SourceComment))
    assert first.key == "0" and Counting.high < len(data) / 4
    rest = list(records)
    comments = [first] + [r for r in rest if isinstance(r, SourceComment)]
    assert len(comments) == 1999
    # Row i starts on line 2 + i + (multi-line rows before it: every third): row 1501 has no text.
    assert [(s.where, s.reason) for s in rest if isinstance(s, SkippedRecord)] == [
        (f"line {2 + 1501 + 501}", "no text in text")]


# ---------------------------------------------------------------- mapping files

def test_mapping_file_overrides_recognition():
    # Without its mapping the survey has no column recognised as text: rejected, naming its columns.
    with pytest.raises(RejectedSource, match=r"no text column \(its columns: Respondent, Submitted, Diagnosis, "
                                             r"Current medication, What helps your pain most\?, Anything else\?\)"):
        read(FIXTURES / "table_survey.csv", data=(FIXTURES / "table_survey.csv").read_bytes(), name="other.csv")
    documents, comments, skipped = read(FIXTURES / "table_survey.csv")
    assert [c.key for c in comments] == ["R1", "R2"]
    assert [c.author for c in comments] == [None, None]  # author: null turns recognition of Respondent off
    assert [c.published_at for c in comments] == [utc(2024, 3, 5), utc(2024, 3, 6)]  # day first, as mapped
    assert comments[0].body == ("Helps: Warm baths and pacing; duloxetine helps a little.\n\n"
                                "Other: Café visits are hard.")  # Windows-1252 read as such
    assert comments[1].body == "Helps: Nothing really works."
    assert [c.stated_drug for c in comments] == ["duloxetine", "milnacipran"]  # still recognised
    assert [c.stated_condition for c in comments] == ["Fibromyalgie", "fibromyalgia"]
    assert [s.where for s in skipped] == ["line 4"]


@pytest.mark.parametrize(("mapping", "message"), [
    ("autor: name\n", r"mapping file t\.csv\.mapping\.yml: unknown key 'autor' \(known keys: id, parent_id"),
    ("author: usr\n", r"mapping file t\.csv\.mapping\.yml: key 'author': no column 'usr' in the table "
                      r"\(its columns: name, words\)"),
    ("text: [1, 2]\n", r"key 'text': expected a column name, a list of column names or \{heading: column\}"),
    ("date_format: dmy\n", r"key 'date_format': expected a strptime format"),
    ("- text\n", r"expected keys and values \(a YAML mapping\), found a list"),
    ("text: [words\n", r"not valid YAML"),
])
def test_bad_mapping_file_is_a_clear_rejection(tmp_path, mapping, message):
    (tmp_path / "t.csv").write_text("name,words\nann,hello there\n")
    (tmp_path / "t.csv.mapping.yml").write_text(mapping)
    with pytest.raises(RejectedSource, match=message):
        read(tmp_path / "t.csv")


def test_mapping_file_joins_its_table_in_the_raw_listing(tmp_path):
    (tmp_path / "t.csv").write_text("name,words\nann,hello there\n")
    (tmp_path / "t.csv.mapping.yml").write_text("author: name\n")
    (tmp_path / "gone.csv.mapping.yml").write_text("author: name\n")
    before = raw_files.scan(tmp_path)
    assert sorted(before) == ["gone.csv.mapping.yml", "t.csv"]
    assert "which is not in the raw folder" in before["gone.csv.mapping.yml"].problem
    (tmp_path / "t.csv.mapping.yml").write_text("author: null\n# edited\n")
    assert raw_files.scan(tmp_path)["t.csv"].fingerprint != before["t.csv"].fingerprint  # re-read on edit
    assert raw_files.read_companion(tmp_path, "t.csv", "t.csv.mapping.yml") == b"author: null\n# edited\n"
    assert raw_files.read_companion(tmp_path, "t.csv", "x.mapping.yml") is None


# ---------------------------------------------------------------- Parquet and workbooks

def test_parquet_read_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "PARQUET_BATCH_ROWS", 2)
    frame = pl.DataFrame({
        "review_id": [1, 2, 3, 4, 5],
        "drug_name": ["Savella", "Tramadol", None, "Savella", "Gabapentin"],
        "condition": ["Fibromyalgia", "Pain", None, "Fibromyalgia", "Neuropathy"],
        "review": ["Less pain by week three.", "It dulls the pain.", "No drug named.", None, "Foggy."],
        "rating": [9.0, 7.0, None, 2.0, 4.5],
        "date": [date(2012, 5, 20), date(2013, 1, 2), None, date(2014, 7, 1), date(2015, 3, 3)],
        "useful_count": [12, 0, 3, 1, None],
    })
    path = tmp_path / "reviews.parquet"
    frame.write_parquet(path, row_group_size=2)
    documents, comments, skipped = read(path)
    assert [c.key for c in comments] == ["1", "2", "3", "5"]
    assert [c.stated_drug for c in comments] == ["milnacipran", "tramadol", None, "gabapentin"]
    assert [c.rating for c in comments] == [9.0, 7.0, None, 4.5]
    assert [c.score for c in comments] == [12, 0, 3, None]
    assert [c.published_at for c in comments] == [utc(2012, 5, 20), utc(2013, 1, 2), None, utc(2015, 3, 3)]
    assert [d.key for d in documents] == ["milnacipran", "tramadol", None, "gabapentin"]
    assert [(s.where, s.reason) for s in skipped] == [("row 4", "no text in review")]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> None:
    """A minimal workbook as Excel writes it (Office Open XML): inline strings, numbers, and dates as
    serial day numbers with the built-in date format (numFmtId 14)."""
    def cell(ref: str, value) -> str:
        if isinstance(value, date):
            serial = (value - date(1899, 12, 30)).days
            return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'

    def sheet_xml(rows: list[list]) -> str:
        body = "".join(
            f'<row r="{i}">' + "".join(cell(f"{chr(65 + j)}{i}", v) for j, v in enumerate(row) if v is not None)
            + "</row>" for i, row in enumerate(rows, start=1))
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.'
                f'org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>')

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    names = list(sheets)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.styles+xml"/>' + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(names) + 1)) + "</Types>"))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>' + "".join(
                f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1))
            + "</sheets></workbook>"))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships">' + "".join(
                f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(names) + 1))
            + f'<Relationship Id="rId{len(names) + 1}" Type="{rel}/styles" Target="styles.xml"/></Relationships>'))
        z.writestr("xl/styles.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}"><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
            '</cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
            '</styleSheet>'))
        for i, n in enumerate(names, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", sheet_xml(sheets[n]))


def test_workbook_sheets(tmp_path):
    path = tmp_path / "survey.xlsx"
    write_xlsx(path, {
        "Responses": [["Name", "Date", "Medication", "Comment", "Rating"],
                      ["Ann", date(2024, 2, 1), "Cymbalta", "It helps with the aching.", 7],
                      ["Bo", date(2024, 2, 3), "none", "", 3],
                      ["Cy", date(2024, 2, 4), None, "Exercise works best for me.", None]],
        "Codes": [["Code", "Meaning"], ["A", "aching"]],
    })
    documents, comments, skipped = read(path)
    # Grouped by the drug column; rows naming none are the sheet's document.
    assert [d.key for d in documents] == ["duloxetine", "Responses"]
    assert [(c.author, c.published_at, c.stated_drug, c.rating, c.body) for c in comments] == [
        ("Ann", utc(2024, 2, 1), "duloxetine", 7.0, "It helps with the aching."),
        ("Cy", utc(2024, 2, 4), None, None, "Exercise works best for me.")]
    assert [(s.where, s.reason) for s in skipped] == [
        ("sheet 'Responses' row 3", "no text in Comment"),
        ("workbook", "sheet 'Codes' has no text column (its columns: Code, Meaning); name the text column in a "
                     "mapping file (key 'text')")]


def test_wrong_shapes_are_clear_rejections(tmp_path):
    with pytest.raises(RejectedSource, match=r"no text column \(its columns: drug, rating\)"):
        read(tmp_path / "n.csv", data=b"drug,rating\nlyrica,5\n")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(RejectedSource, match=r"not a readable \.xlsx workbook"):
        read(bad)
    with pytest.raises(RejectedSource, match=r"not a readable Parquet file"):
        read(tmp_path / "x.parquet", data=b"PAR1 truncated")
    with pytest.raises(RejectedSource, match="ZIP archive"):
        detect_format("notes.zip", b"PK\x03\x04rest")


# ---------------------------------------------------------------- the real DrugLib table

@pytest.fixture(scope="module")
def druglib():
    return staged(DRUGLIB)


def test_druglib_training_table_is_one_comment_per_review(druglib):
    documents, comments, ratings = druglib
    assert len(comments) == 3107  # every review (its README: 3,107)
    assert comments["comment_id"].n_unique() == 3107
    assert comments["rating"].is_between(1, 10).all()
    assert comments["stated_drug"].null_count() == 0 and comments["stated_condition"].null_count() < 10
    lyrica = comments.filter(pl.col("comment_id").str.ends_with(":1146"))  # its third row, a Ponstel review
    assert lyrica["stated_drug"].item() == "mefenamic acid" and lyrica["rating"].item() == 10
    # Reviews of Lyrica are pregabalin's whether or not their text names it.
    assert comments.filter(pl.col("stated_drug") == "pregabalin").height > 0
    # DrugLib's two further ratings, as the categories written, for every review.
    assert ratings.group_by("name").len().sort("name").rows() == [("effectiveness", 3107), ("sideEffects", 3107)]
    assert set(ratings.filter(pl.col("name") == "effectiveness")["label"]) == {
        "Highly Effective", "Considerably Effective", "Moderately Effective", "Marginally Effective", "Ineffective"}
    assert ratings["value"].null_count() == len(ratings)
    assert set(ratings["comment_id"]) == set(comments["comment_id"])
    assert documents["comment_count"].sum() == 3107


# ---------------------------------------------------------------- the stated drug in the NLP

def test_stated_drug_is_the_subject_of_outcomes_naming_no_other_drug(nlp):
    text = "Weight gain was awful. Cymbalta gave me nausea."
    plain = nlp(text)
    assert [(s.label_, s._.drug) for s in plain.spans["outcomes"]] == [
        ("adverse_effect", None), ("adverse_effect", "duloxetine")]
    doc = nlp.make_doc(text)
    doc._.stated_drug = "pregabalin"  # a review of Lyrica (stages._nlp_of_bucket sets it from the row)
    doc = nlp(doc)
    assert [(s.label_, s._.drug, s.id_) for s in doc.spans["outcomes"]] == [
        ("adverse_effect", "pregabalin", "pregabalin"), ("adverse_effect", "duloxetine", "duloxetine")]


# ---------------------------------------------------------------- through the pipeline into the warehouse

@pytest.fixture(scope="module")
def tables_warehouse(tmp_path_factory) -> Path:
    from fms_pipeline_tests.materialized import dagster_home_env, materialize_folder, raw_folder

    root = tmp_path_factory.mktemp("tables")
    raw = raw_folder(root, FIXTURES / "table_reviews.tsv", FIXTURES / "table_survey.csv",
                     FIXTURES / "table_survey.csv.mapping.yml")
    (raw / "orphan.csv.mapping.yml").write_text("text: body\n")
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


@pytest.mark.slow
def test_review_tables_in_the_warehouse(tables_warehouse):
    from fms_pipeline import warehouse

    with warehouse.connect_read_only(tables_warehouse) as con:
        files = dict(con.execute("SELECT source_file, status || ' ' || coalesce(source_format, '') || ' ' || "
                                 "comments || ' ' || skipped_records FROM source_files").fetchall())
        # The mapping file is part of its table, not a file of its own; one without its table is rejected.
        assert files == {"table_reviews.tsv": "staged table 4 1", "table_survey.csv": "staged table 2 1",
                         "orphan.csv.mapping.yml": "rejected  0 0"}
        rows = con.execute("""
            SELECT split_part(comment_id, ':', 2), stated_drug, stated_condition, rating FROM comments
            JOIN documents USING (document_id) WHERE source_file = 'table_reviews.tsv' ORDER BY 1""").fetchall()
        assert rows == [("9001", "pregabalin", "fibromyalgia", 8.0), ("9002", "duloxetine", "fibromyalgia", 3.0),
                        ("9003", "tramadol", "chronic back pain", 10.0),
                        ("9005", "pregabalin", "fibromyalgia and neuropathy", 6.0)]
        assert con.execute("""
            SELECT split_part(comment_id, ':', 2), name, value, label FROM review_ratings
            WHERE comment_id LIKE '%:9001'""").fetchall() == [
            ("9001", "effectiveness", None, "Considerably Effective"),
            ("9001", "sideEffects", None, "Moderate Side Effects")]
        # Review 9001 never names Lyrica: its adverse effect is still pregabalin's (the row's drug).
        outcomes = con.execute("""
            SELECT o.outcome, o.drug FROM outcome_mentions o WHERE o.comment_id LIKE '%:9001'
            AND o.outcome = 'adverse_effect'""").fetchall()
        assert outcomes and all(drug == "pregabalin" for _, drug in outcomes)
        assert con.execute("SELECT count(*) FROM entity_mentions WHERE comment_id LIKE '%:9001' "
                           "AND canonical = 'pregabalin'").fetchone() == (0,)
        # The README's query over a review table runs.
        query = (Path(__file__).resolve().parents[1] / "queries" / "review_ratings_by_drug.sql").read_text()
        assert con.execute(query.replace(">= 20", ">= 1")).fetchall()[0][:3] == ("tramadol", 1, 10.0)
