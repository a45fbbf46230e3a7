"""Fault injection: bad input, files changing under the pipeline, kills, readers, parallel runs, privacy."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from fms_pipeline import cli, privacy, processing, staging, warehouse
from fms_pipeline_tests.conftest import SAMPLE

REPO = Path(__file__).resolve().parents[1]
THREAD = "A post about pain\n\nI take Lyrica for fibro.\n\nNotify of\nKim Lee\n\nMethadone helped me.\n"


def comments_of(con, source_file):
    return con.execute(
        "SELECT count(*) FROM comments JOIN documents USING (document_id) WHERE source_file = ?", [source_file]
    ).fetchall()[0][0]


@pytest.fixture
def bad_folder(data_dir: Path) -> Path:
    """The sample plus every kind of damaged or awkward file."""
    raw = data_dir / "raw"
    (raw / "empty.txt").write_bytes(b"")
    (raw / "whitespace.txt").write_bytes(b"  \n\t\n \r\n")
    (raw / "binary.dat").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (raw / "invalid-utf8.txt").write_bytes(b"Title\n\nbad \x81\x8d\x90 bytes\n")
    (raw / "windows-1252.txt").write_bytes(b"Title\n\nI don\x92t sleep \x93at all\x94.\n\nNotify of\nAnn B\n\nSame \x96 here.\n")
    (raw / "mojibake.txt").write_bytes("Title\n\nI donâ€™t sleep.\n".encode("utf-8"))
    (raw / "bom.txt").write_bytes(b"\xef\xbb\xbf" + THREAD.encode())
    (raw / "crlf.txt").write_bytes(THREAD.replace("\n", "\r\n").encode())
    (raw / "cr.txt").write_bytes(THREAD.replace("\n", "\r").encode())
    (raw / "article-only.txt").write_text("Title\n\nJust an article about fibromyalgia and Lyrica.\n")
    (raw / "comments-only.txt").write_text("Notify of\nKim Lee\n\nGabapentin made me dizzy.\n\n\nSame here.\n")
    with open(raw / "huge.txt", "wb") as f:  # 50 MB, sparse: costs no disk
        f.truncate(50 * 1024 * 1024)
    (raw / "long-line.txt").write_text(
        "Title\n\nNotify of\nKim Lee\n\n" + "I take oxycodone daily, " + "and then I wait " * 66000 + "\n")
    (raw / "O'Brien's \"story\".txt").write_text(THREAD)
    (raw / "café ü naïve.txt").write_text(THREAD)
    (raw / "Robert'); DROP TABLE comments;--.txt").write_text(THREAD)
    outside = data_dir.parent / "outside.txt"
    outside.write_text(THREAD)
    (raw / "link-outside.txt").symlink_to(outside)
    (raw / "link-inside.txt").symlink_to(raw / "bom.txt")
    return data_dir


def test_a_folder_of_bad_inputs(bad_folder: Path, dagster_home: Path, capsys):
    assert cli.materialize(bad_folder) == 0
    out = capsys.readouterr().out
    with warehouse.connect_read_only(bad_folder / "warehouse.duckdb") as con:
        rejected = dict(con.execute("SELECT source_file, reason FROM rejected_files").fetchall())
        assert set(rejected) == {"empty.txt", "whitespace.txt", "binary.dat", "invalid-utf8.txt", "huge.txt",
                                 "link-outside.txt"}
        assert "empty" in rejected["empty.txt"] and "white space" in rejected["whitespace.txt"]
        assert "binary" in rejected["binary.dat"]
        assert "not valid UTF-8" in rejected["invalid-utf8.txt"] and "Windows-1252" in rejected["invalid-utf8.txt"]
        assert "52,428,800 bytes, over the" in rejected["huge.txt"]
        assert "outside the raw folder" in rejected["link-outside.txt"]
        for name in rejected:
            assert f"{name}: " in out  # the summary lists every rejected file with its reason
        # The sample is complete, the rest parsed correctly.
        assert comments_of(con, SAMPLE.name) == 19
        for name in ("bom.txt", "crlf.txt", "cr.txt", "O'Brien's \"story\".txt", "café ü naïve.txt",
                     "Robert'); DROP TABLE comments;--.txt", "link-inside.txt"):
            assert con.execute(
                "SELECT title, author FROM documents JOIN comments USING (document_id) WHERE source_file = ?", [name]
            ).fetchall() == [("A post about pain", "Kim Lee")], name
        assert con.execute("SELECT comments.body FROM comments JOIN documents USING (document_id) "
                           "WHERE source_file = 'windows-1252.txt'").fetchall() == [("Same – here.",)]
        assert con.execute("SELECT body FROM documents WHERE source_file = 'windows-1252.txt'").fetchall() == [
            ("I don’t sleep “at all”.",)]
        assert con.execute("SELECT body FROM documents WHERE source_file = 'mojibake.txt'").fetchall() == [("I don’t sleep.",)]
        assert comments_of(con, "article-only.txt") == 0 and comments_of(con, "comments-only.txt") == 2
        assert con.execute("SELECT length(comments.body) > 1000000 FROM comments JOIN documents USING (document_id) "
                           "WHERE source_file = 'long-line.txt'").fetchall() == [(True,)]
        assert con.execute("SELECT count(*) FROM entity_mentions JOIN documents USING (document_id) "
                           "WHERE source_file = 'long-line.txt' AND canonical = 'oxycodone'").fetchall()[0][0] == 1


def test_a_bad_version_never_removes_the_good_one(data_dir: Path, dagster_home: Path):
    assert cli.materialize(data_dir) == 0
    sample = data_dir / "raw" / SAMPLE.name
    sample.write_bytes(b"\x00garbage")
    assert cli.materialize(data_dir) == 0
    with warehouse.connect_read_only(data_dir / "warehouse.duckdb") as con:
        assert comments_of(con, SAMPLE.name) == 19
        assert con.execute("SELECT source_file FROM rejected_files").fetchall() == [(SAMPLE.name,)]
    shutil.copy(SAMPLE, sample)
    assert cli.materialize(data_dir) == 0
    with warehouse.connect_read_only(data_dir / "warehouse.duckdb") as con:
        assert con.execute("SELECT count(*) FROM rejected_files").fetchall()[0][0] == 0


def test_file_deleted_between_sensor_and_run(data_dir: Path, tmp_path: Path):
    (data_dir / "raw" / "gone.txt").write_text(THREAD)
    keys = list(processing.scan_raw_files(data_dir / "raw"))  # what the sensor saw
    (data_dir / "raw" / "gone.txt").unlink()
    staging_dir = data_dir / "staging"
    results = {}
    for key in keys:
        try:
            results[key] = processing.stage_raw_document(data_dir / "raw", staging_dir, key)
        except processing.RejectedFile as error:
            results[key] = error.reason
    assert results["gone.txt"].startswith("the file no longer exists")
    assert isinstance(results[SAMPLE.name], processing.StagedRaw)


def test_file_rewritten_while_read_is_read_again(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "moving.txt"
    path.write_text(THREAD)
    original = Path.read_bytes
    calls = []

    def read_then_rewrite(self):
        data = original(self)
        if self == path.resolve() and not calls:
            calls.append(1)
            path.write_text(THREAD.replace("Kim Lee", "Kim Lee-Smith") + "More.\n")  # a writer finishing its write
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_rewrite)
    staged = processing.stage_raw_document(data_dir / "raw", data_dir / "staging", "moving.txt")
    assert staged.size_bytes == path.stat().st_size  # the second, complete version was read


def test_file_that_never_stops_changing_is_set_aside(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "busy.txt"
    path.write_text(THREAD)
    original = Path.read_bytes

    def always_rewritten(self):
        data = original(self)
        if self == path.resolve():
            path.write_text(THREAD + "x" * (len(data) % 7 + 1))
        return data

    monkeypatch.setattr(Path, "read_bytes", always_rewritten)
    with pytest.raises(processing.RejectedFile, match="kept changing"):
        processing.stage_raw_document(data_dir / "raw", data_dir / "staging", "busy.txt")


def test_unreadable_file_is_set_aside(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "locked.txt"
    path.write_text(THREAD)
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: inject the error the OS gives other users
        original = Path.read_bytes

        def denied(self):
            if self == path.resolve():
                raise PermissionError(13, "Permission denied", str(self))
            return original(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(processing.RejectedFile, match="permission denied"):
        processing.stage_raw_document(data_dir / "raw", data_dir / "staging", "locked.txt")
    assert processing.is_rejected(data_dir / "staging", processing.document_id("locked.txt"))


KILLABLE_BUILD = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from fms_pipeline import warehouse
    staging, target, pause = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if pause == "before-swap":
        real_replace = os.replace
        def stalled(src, dst):
            print("ready", flush=True)
            time.sleep(60)
            real_replace(src, dst)
        warehouse.os.replace = stalled
    else:
        print("ready", flush=True)
    while True:
        warehouse.build_warehouse(staging, target)
""")


@pytest.fixture
def staged(data_dir: Path, nlp) -> Path:
    staging_dir = data_dir / "staging"
    raw = processing.stage_raw_document(data_dir / "raw", staging_dir, SAMPLE.name)
    processing.stage_parsed_page(staging_dir, raw.document_id)
    processing.stage_entity_mentions(staging_dir, [raw.document_id], nlp)
    return staging_dir


@pytest.mark.parametrize("moment", ["before-swap", 0.05, 0.3, 0.8, 1.5])
def test_sigkill_during_a_build_leaves_the_previous_warehouse(staged: Path, tmp_path: Path, moment):
    target = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, target)
    before = target.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLABLE_BUILD, str(staged), str(target), str(moment)],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert child.stdout.readline().strip() == "ready"
        if moment != "before-swap":
            time.sleep(float(moment))
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    with duckdb.connect(str(target), read_only=True) as con:  # intact and queryable
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
    if moment == "before-swap":
        assert target.read_bytes() == before
        assert list(tmp_path.glob(".w.duckdb.building-*"))  # the half-built file it left
    warehouse.build_warehouse(staged, target)  # the next run completes and clears what was left
    assert not list(tmp_path.glob(".w.duckdb.building-*"))


def test_reader_in_another_process_never_blocks_a_build(data_dir: Path, dagster_home: Path):
    assert cli.materialize(data_dir) == 0
    target = data_dir / "warehouse.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1], read_only=True); "
         "print(c.execute('SELECT count(*) FROM comments').fetchall()[0][0], flush=True); time.sleep(120)", str(target)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "19"
        (data_dir / "raw" / "second.txt").write_text(THREAD)
        assert cli.materialize(data_dir) == 0  # no lock error while the analyst's connection is open
        with warehouse.connect_read_only(target) as con:  # reconnecting shows the new data
            assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 20
    finally:
        reader.kill()
        reader.wait()


def test_partitions_materialized_in_parallel_runs(data_dir: Path, dagster_home: Path):
    """Three runs at once, one file each, through Dagster's own CLI: no lock error, right totals."""
    raw = data_dir / "raw"
    for name in ("b.txt", "c.txt"):
        shutil.copy(SAMPLE, raw / name)
    import dagster as dg

    keys = sorted(processing.scan_raw_files(raw))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("raw_files", keys)
    env = {**os.environ, "FMS_DATA_DIR": str(data_dir)}
    runs = [
        subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                          "fms_pipeline.definitions", "--select", "group:ingest or group:nlp", "--partition", key],
                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for key in keys
    ]
    outputs = [run.communicate(timeout=240)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-2000:]
        assert "could not set lock" not in output.lower() and "database is locked" not in output.lower()
        assert "emitted no result" not in output
    summary = warehouse.build_warehouse(data_dir / "staging", data_dir / "warehouse.duckdb")
    assert summary.row_counts["documents"] == 3 and summary.row_counts["comments"] == 57


def test_shareable_copy_hides_authors_and_people(data_dir: Path, dagster_home: Path):
    (data_dir / "raw" / "second.txt").write_text(
        "A post\n\nDr. Jane Roe told me about Kathy C and her Lyrica.\n\nNotify of\nAnonymous\n\nKathy C is right.\n"
        "\nJames McCay\n\nThanks Kathy, and Ginevra too. Debbie, ask Hayden.\n")
    assert cli.materialize(data_dir) == 0
    source, shared = data_dir / "warehouse.duckdb", data_dir / "share" / "w.duckdb"
    privacy.write_shareable_copy(source, shared, b"secret-1")
    with warehouse.connect_read_only(source) as con:
        names = {r[0] for r in con.execute(
            "SELECT author FROM comments WHERE author IS NOT NULL UNION SELECT byline FROM documents "
            "WHERE byline IS NOT NULL UNION SELECT text FROM entity_mentions WHERE label = 'PERSON'").fetchall()}
    assert {"Kathy C", "Do not print my name", "Ed Coghlan", "Dr. Ginevra Liptan", "Dr. Jane Roe"} <= names
    with warehouse.connect_read_only(shared) as con:
        everything = []
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            everything += [str(v) for row in con.execute(f"SELECT * FROM {table}").fetchall() for v in row]
        dump = "\n".join(everything).lower()
        assert [n for n in names if n.lower() in dump] == []
        # First names alone, as people address each other, are masked too.
        left = {"kathy", "ginevra", "debbie", "hayden", "james"} & set(re.findall(r"\w+", dump))
        assert not left, [line for line in dump.splitlines() if set(re.findall(r"\w+", line)) & left][:5]
        authors = dict(con.execute("SELECT position, author FROM comments JOIN documents USING (document_id) "
                                   "WHERE source_file = ?", [SAMPLE.name]).fetchall())
        assert authors[5] is None  # "Do not print my name"
        assert authors[4].startswith("person-") and authors[1] != authors[4]
        # Offsets still cut out their text after masking.
        for table in ("entity_mentions", "outcome_mentions"):
            assert con.execute(f"""
                SELECT count(*) FROM {table} m LEFT JOIN comments c USING (comment_id)
                JOIN documents d ON d.document_id = m.document_id
                WHERE substring(CASE WHEN m.comment_id IS NULL THEN d.body ELSE c.body END,
                                m.start_char + 1, m.end_char - m.start_char) <> m.text""").fetchall()[0][0] == 0
    # Same secret, same pseudonyms; another secret, other pseudonyms.
    privacy.write_shareable_copy(source, data_dir / "share" / "again.duckdb", b"secret-1")
    privacy.write_shareable_copy(source, data_dir / "share" / "other.duckdb", b"secret-2")
    pseudonyms = {}
    for name in ("w", "again", "other"):
        with warehouse.connect_read_only(data_dir / "share" / f"{name}.duckdb") as con:
            pseudonyms[name] = con.execute("SELECT author FROM comments ORDER BY comment_id").fetchall()
    assert pseudonyms["w"] == pseudonyms["again"] != pseudonyms["other"]
    with pytest.raises(privacy.MissingSecret):
        privacy.write_shareable_copy(source, data_dir / "share" / "x.duckdb", b"")


def test_worker_processes_stage_what_one_process_stages(tmp_path, monkeypatch):
    """Decoding, parsing and the NLP in two worker processes give the same staged rows as one,
    and a rejected file comes back from a worker with its reason."""
    from benchmarks.corpus import write_corpus

    monkeypatch.setattr(processing, "NLP_FILES_PER_WORKER_MIN", 1)
    monkeypatch.setattr(processing, "PARSE_FILES_PER_WORKER_MIN", 1)
    raw_dir = tmp_path / "raw"
    write_corpus(raw_dir, 15_000)
    (raw_dir / "empty.txt").write_bytes(b"")
    names = sorted(processing.scan_raw_files(raw_dir))
    staged = {}
    for workers in (1, 2):
        staging_dir = tmp_path / f"staging-{workers}"
        raws, rejected = processing.stage_raw_documents(raw_dir, staging_dir, names, workers=workers)
        assert [r.source_file for r in rejected] == ["empty.txt"] and "empty" in rejected[0].reason
        pages, rejected = processing.stage_parsed_pages(staging_dir, [r.document_id for r in raws], workers=workers)
        assert not rejected and len(pages) == len(names) - 1
        counts = processing.stage_entity_mentions(staging_dir, [p.document_id for p in pages], workers=workers)
        assert len(counts) == len(pages) and sum(counts.values()) > 0
        staged[workers] = {
            table: pl.read_parquet(staging.staged_files(staging_dir, table)).drop("seen_at", strict=False).sort(pl.all())
            for table in ("raw_documents", "documents", "comments", "entity_mentions", "outcome_mentions", "sentences",
                          "rejected_files")
        }
    for table, frame in staged[1].items():
        assert frame.equals(staged[2][table]), table


def test_first_names_skip_titles_single_words_and_non_names():
    assert privacy.first_names({"Kathy C", "Dr. Ginevra Liptan", "Debbie Nickels Heck, MD", "Anonymous",
                                "dis may", "Ed Coghlan", "MS warrior"}) == {"Kathy", "Ginevra", "Debbie", "Ed"}
    text = "Thanks Kathy! kathy and KATHY are words here, Kathyanne is another name."
    pattern = privacy._first_name_pattern({"Kathy"})
    assert [m.group() for m in pattern.finditer(text)] == ["Kathy"]
