"""Fault injection: bad input, files changing under the pipeline, kills, readers, parallel runs, privacy."""

from __future__ import annotations

import os
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

from fms_pipeline import cli, privacy, raw_files, stages, staging, warehouse, workers
from fms_pipeline_tests.conftest import SAMPLE, stage_folder

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
    # Not regular files, names that cannot be stored, a saved HTML page under a .txt name.
    os.mkfifo(raw / "named-pipe.txt")
    (raw / "loop-a").symlink_to(raw / "loop-b")
    (raw / "loop-b").symlink_to(raw / "loop-a")
    os.close(os.open(os.fsencode(raw) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY))  # Latin-1 bytes in the name
    (raw / "tab\tand\nnewline.txt").write_text(THREAD)
    (raw / "three...dots.txt").write_text(THREAD)
    (raw / "saved-page.txt").write_text(
        "<!DOCTYPE html><html><head><title>Pain notes</title></head><body><article><h1>Pain notes</h1>"
        "<p>Lyrica helped my fibromyalgia more than anything else I tried over the last two years.</p>"
        "<p>Gabapentin made me dizzy, so my doctor switched me to something else after a month.</p>"
        "</article></body></html>")
    return data_dir


def test_a_folder_of_bad_inputs(bad_folder: Path, dagster_home: Path, capsys):
    started = time.monotonic()
    assert cli.materialize(bad_folder) == 0  # one bad file never stops the others
    assert time.monotonic() - started < 600  # the named pipe did not block the run
    out = capsys.readouterr().out
    with warehouse.connect_read_only(bad_folder / "warehouse.duckdb") as con:
        rejected = dict(con.execute("SELECT source_file, reason FROM rejected_files").fetchall())
        assert {"empty.txt", "whitespace.txt", "binary.dat", "huge.txt", "link-outside.txt", "named-pipe.txt",
                "loop-a", "loop-b", "caf\\xe9.txt", "tab\\tand\\nnewline.txt"} <= set(rejected)
        assert "empty" in rejected["empty.txt"] and "white space" in rejected["whitespace.txt"]
        assert "52,428,800 bytes, over the" in rejected["huge.txt"]
        assert "outside the raw folder" in rejected["link-outside.txt"]
        assert "named pipe" in rejected["named-pipe.txt"] and "link loop" in rejected["loop-a"]
        assert "not valid UTF-8" in rejected["caf\\xe9.txt"] and "control characters" in rejected["tab\\tand\\nnewline.txt"]
        for name, reason in rejected.items():
            assert reason and f"{name}: " in out  # the summary lists every rejected file with its reason
        # The sample is complete, the rest parsed correctly.
        assert comments_of(con, SAMPLE.name) == 19
        for name in ("bom.txt", "crlf.txt", "cr.txt", "O'Brien's \"story\".txt", "café ü naïve.txt",
                     "Robert'); DROP TABLE comments;--.txt", "link-inside.txt", "three...dots.txt"):
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
        # A saved HTML page is read as HTML (its markup is not taken for text).
        assert con.execute("SELECT source_format, title, body LIKE '%<p>%' FROM documents "
                           "WHERE source_file = 'saved-page.txt'").fetchall() == [("html", "Pain notes", False)]
        assert con.execute("SELECT count(*) FROM source_files").fetchall()[0][0] == len(
            raw_files.scan(bad_folder / "raw"))


def test_a_bad_version_never_removes_the_good_one(sample_built: Path, data_dir: Path, dagster_home: Path):
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


def _parse(raw_dir: Path, name: str) -> stages.FileResult:
    entry = raw_files.scan(raw_dir)[name]
    return stages.parse_file(raw_dir, Path(raw_dir).parent / "work", name, "00", entry.fingerprint, entry.size_bytes)


def test_file_deleted_between_sensor_and_run(data_dir: Path, tmp_path: Path):
    raw = data_dir / "raw"
    (raw / "gone.txt").write_text(THREAD)
    seen = raw_files.scan(raw)  # what the sensor saw
    (raw / "gone.txt").unlink()
    result = stages.parse_file(raw, tmp_path / "work", "gone.txt", "00", seen["gone.txt"].fingerprint, 10)
    assert result.status == "rejected" and result.reason.startswith("the file was deleted before it could be read")
    assert _parse(raw, SAMPLE.name).status == "staged"


def _rewriting_opener(path: Path, times: int):
    """raw_files.opener whose reads see a writer rewrite the file ``times`` times."""
    original = raw_files.opener
    calls = []

    def opener(raw_dir, source_file):
        open_binary = original(raw_dir, source_file)

        def open_and_rewrite():
            f = open_binary()
            if Path(raw_dir) / source_file == path and len(calls) < times:
                calls.append(1)
                data = f.read()
                path.write_text(THREAD.replace("Kim Lee", "Kim Lee-Smith") + "More." * len(calls) + "\n")
                return _Replay(data, f)
            return f
        return open_and_rewrite
    return opener


class _Replay:
    """A file whose content was read before the writer changed it (as a racing reader sees it)."""

    def __init__(self, data: bytes, f):
        self.data, self.f = data, f

    def read(self, n=-1):
        data, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return data

    def fileno(self):
        return self.f.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def test_file_rewritten_while_read_is_read_again(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "moving.txt"
    path.write_text(THREAD)
    monkeypatch.setattr(raw_files, "opener", _rewriting_opener(path, times=1))
    result = _parse(data_dir / "raw", "moving.txt")
    assert result.status == "staged"
    assert result.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()  # the complete version


def test_file_that_never_stops_changing_is_set_aside(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "busy.txt"
    path.write_text(THREAD)
    monkeypatch.setattr(raw_files, "opener", _rewriting_opener(path, times=100))
    result = _parse(data_dir / "raw", "busy.txt")
    assert result.status == "rejected" and "kept changing" in result.reason


def test_unreadable_file_is_set_aside(data_dir: Path, monkeypatch):
    path = data_dir / "raw" / "locked.txt"
    path.write_text(THREAD)
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: inject the error the OS gives other users
        original = os.open

        def denied(file, flags, *args, **kwargs):
            if os.fspath(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return original(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", denied)
    result = _parse(data_dir / "raw", "locked.txt")
    assert result.status == "rejected" and "permission denied" in result.reason


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


@pytest.fixture(scope="module")
def staged_once(tmp_path_factory, nlp) -> Path:
    """The sample parsed and run through the NLP once for the module's build tests."""
    data_dir = tmp_path_factory.mktemp("staged-once") / "data"
    (data_dir / "raw").mkdir(parents=True)
    shutil.copy(SAMPLE, data_dir / "raw" / SAMPLE.name)
    return stage_folder(data_dir)


@pytest.fixture
def staged(staged_once: Path, tmp_path: Path) -> Path:
    """A copy of the staged sample of the test's own (the tests write into it and kill builds reading it)."""
    return Path(shutil.copytree(staged_once, tmp_path / "data" / "staging"))


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


def test_reader_in_another_process_never_blocks_a_build(sample_built: Path, data_dir: Path, dagster_home: Path):
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


def test_batches_materialized_in_parallel_runs(data_dir: Path, dagster_home: Path):
    """Three runs at once, one batch each, through the dg CLI: no lock error, right totals."""
    raw = data_dir / "raw"
    names = [SAMPLE.name]
    n = 0
    while len({staging.bucket_of(f) for f in names}) < 3:  # files in three different batches
        name = f"copy-{n}.txt"
        n += 1
        if staging.bucket_of(name) not in {staging.bucket_of(f) for f in names}:
            shutil.copy(SAMPLE, raw / name)
            names.append(name)
    import dagster as dg

    with dg.DagsterInstance.get():  # the instance's SQLite files exist before three processes open them
        pass
    env = {**os.environ, "FMS_DATA_DIR": str(data_dir)}
    runs = [
        subprocess.Popen([str(Path(sys.executable).parent / "dg"), "launch", "--assets", "group:ingest or group:nlp",
                          "--partition", staging.bucket_of(name)],
                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for name in names
    ]
    outputs = [run.communicate(timeout=400)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-2000:]
        assert "could not set lock" not in output.lower() and "database is locked" not in output.lower()
        assert "emitted no result" not in output
    summary = warehouse.build_warehouse(data_dir / "staging", data_dir / "warehouse.duckdb")
    assert summary.row_counts["documents"] == 3 and summary.row_counts["comments"] == 57


def test_worker_processes_stage_what_one_process_stages(tmp_path, monkeypatch):
    """Parsing and the NLP in two worker processes give the same staged rows as one, and a
    rejected file comes back from a worker with its reason."""
    from benchmarks.corpus import write_corpus

    monkeypatch.setattr(workers, "NLP_ITEMS_PER_WORKER_MIN", 1)
    monkeypatch.setattr(workers, "PARSE_ITEMS_PER_WORKER_MIN", 1)
    write_corpus(tmp_path / "one" / "raw", 15_000)
    (tmp_path / "one" / "raw" / "empty.txt").write_bytes(b"")
    shutil.copytree(tmp_path / "one" / "raw", tmp_path / "two" / "raw")
    staged = {}
    for n_workers, folder in ((1, tmp_path / "one"), (2, tmp_path / "two")):
        staging_dir = stage_folder(folder, n_workers)
        state = staging.read_state(staging_dir)
        assert state.filter(pl.col("status") == "rejected")["source_file"].to_list() == ["empty.txt"]
        staged[n_workers] = {
            table: pl.read_parquet(staging.staged_files(staging_dir, table)).drop(
                "processed_at", "fingerprint", strict=False).sort(pl.all())
            for table in staging.tables.STAGED_TABLES
        }
        assert len(staged[n_workers]["entity_mentions"]) > 0
    for table, frame in staged[1].items():
        assert frame.equals(staged[2][table]), table


@pytest.fixture(scope="module")
def corpus_raw(tmp_path_factory) -> Path:
    """Enough pages that the NLP runs a few seconds in two workers (shared by the kill tests)."""
    from benchmarks.corpus import write_corpus

    raw = tmp_path_factory.mktemp("corpus") / "raw"
    write_corpus(raw, 300_000, seed=9)
    shutil.copy(SAMPLE, raw / SAMPLE.name)
    return raw


def _start_cli(data_dir: Path, dagster_home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "FMS_WORKERS": "2", "DAGSTER_HOME": str(dagster_home)}
    return subprocess.Popen([str(Path(sys.executable).parent / "fms-pipeline"), "--data-dir", str(data_dir),
                             "materialize", *args], env=env, cwd=data_dir.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_a_killed_worker_fails_the_run_and_nothing_is_published(corpus_raw: Path, sample_built: Path,
                                                                data_dir: Path, dagster_home: Path):
    """SIGKILL of an NLP worker: the run fails naming what it was doing, the CLI exits non-zero,
    the warehouse is not rebuilt from half-staged data, and the next run equals a clean one."""
    before = (data_dir / "warehouse.duckdb").read_bytes()
    for page in corpus_raw.iterdir():
        shutil.copy(page, data_dir / "raw" / page.name)
    run = _start_cli(data_dir, dagster_home)
    try:
        pool = _wait_for_workers(run.pid)
        worker = max(p for p in pool if p not in _children(run.pid))  # a worker, not the fork server
        os.kill(worker, signal.SIGKILL)
        output = run.communicate(timeout=300)[0]
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, output[-3000:]
    assert "a worker process failed on" in output and "nothing was published" in output
    assert (data_dir / "warehouse.duckdb").read_bytes() == before
    assert cli.materialize(data_dir) == 0  # the next run finishes the work ...
    clean = data_dir.parent / "clean"
    shutil.copytree(data_dir / "raw", clean / "raw")
    assert cli.materialize(clean) == 0
    assert _table_rows(data_dir / "warehouse.duckdb") == _table_rows(clean / "warehouse.duckdb")  # ... like a clean run


def _table_rows(path: Path) -> dict[str, list]:
    with warehouse.connect_read_only(path) as con:
        return {t: con.execute(f"SELECT * EXCLUDE (processed_at, fingerprint) FROM {t} ORDER BY ALL").fetchall()
                if t == "source_files" else con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("source_files", "documents", "comments", "entity_mentions", "outcome_mentions", "sentences")}


def test_killing_the_cli_stops_its_workers(corpus_raw: Path, data_dir: Path, dagster_home: Path):
    """SIGKILL (or SIGTERM) of `fms-pipeline materialize` while workers run: none is left behind."""
    for page in corpus_raw.iterdir():
        shutil.copy(page, data_dir / "raw" / page.name)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        cli_process = _start_cli(data_dir, dagster_home, "--full")
        try:
            workers_seen = _wait_for_workers(cli_process.pid)
            assert workers_seen, "no worker process started"
            cli_process.send_signal(sig)
            cli_process.wait(timeout=60)
        finally:
            if cli_process.poll() is None:
                cli_process.kill()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in workers_seen):
            time.sleep(0.5)
        assert not [p for p in workers_seen if _alive(p)], f"workers left running after {sig.name}"
        if sig == signal.SIGTERM:
            assert cli_process.returncode == 130


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _wait_for_workers(pid: int, timeout: float = 300) -> set[int]:
    """The descendants of ``pid`` once two workers run (they are the fork server's children,
    grandchildren of the CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _descendants(pid)
        if len(found - _children(pid)) >= 2:
            time.sleep(1)
            return _descendants(pid)
        time.sleep(0.2)
    return set()


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_writable_connection_left_open_never_locks_readers_out(staged: Path, tmp_path: Path):
    """Someone's writable connection that wrote and stays open during a build: no stale WAL
    beside the published file, readers and the next build work."""
    target = tmp_path / "w.duckdb"
    warehouse.build_warehouse(staged, target)
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
         "c.execute('CREATE TABLE notes AS SELECT 1 AS x'); print('wrote', flush=True); time.sleep(120)", str(target)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "wrote"
        assert Path(f"{target}.wal").exists()
        warehouse.build_warehouse(staged, target, incremental=False)
        assert not Path(f"{target}.wal").exists()
        with warehouse.connect_read_only(target) as con:
            assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19
    finally:
        writer.kill()
        writer.wait()
    # A WAL left behind by a writer that died is folded in or set aside by the next build.
    Path(f"{target}.wal").write_bytes(b"not a wal of this file")
    warehouse.build_warehouse(staged, target)
    with warehouse.connect_read_only(target) as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 19


def test_cli_errors_are_one_line_and_exit_non_zero(data_dir: Path, dagster_home: Path, monkeypatch, capsys):
    monkeypatch.setenv("FMS_WORKERS", "abc")
    assert cli.main(["--data-dir", str(data_dir), "materialize"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "fms-pipeline: FMS_WORKERS='abc': expected a whole number of processes, 1 or more"


def test_temporary_files_of_dead_writers_are_removed(staged: Path, tmp_path: Path):
    leftover = staging.staged_path(staged, "comments", "00").with_name(".bucket-00.parquet.writing-999999.tmp")
    leftover.write_bytes(b"half a file")
    mine = leftover.with_name(f".bucket-01.parquet.writing-{os.getpid()}.tmp")
    mine.write_bytes(b"being written")
    from fms_pipeline import storage

    assert storage.remove_abandoned_temp_files(staged) == [str(leftover)]
    assert mine.exists() and not leftover.exists()


def test_first_names_skip_titles_single_words_and_non_names():
    assert privacy.first_names({"Kathy C", "Dr. Ginevra Liptan", "Debbie Nickels Heck, MD", "Anonymous",
                                "dis may", "Ed Coghlan", "MS warrior"}) == {"Kathy", "Ginevra", "Debbie", "Ed"}
    text = "Thanks Kathy! kathy and KATHY are words here, Kathyanne is another name."
    pattern = privacy._first_name_pattern({"Kathy"})
    assert [m.group() for m in pattern.finditer(text)] == ["Kathy"]


KILLED_IN_BUILD = textwrap.dedent("""
    import sys, time
    import dagster as dg
    from fms_pipeline import cli, warehouse
    from fms_pipeline.definitions import build_definitions

    def stalled(*args, **kwargs):
        print("building", flush=True)
        time.sleep(300)

    warehouse.build_warehouse = stalled
    defs = build_definitions(sys.argv[1])
    with dg.DagsterInstance.get() as instance:
        defs.resolve_job_def("build_warehouse").execute_in_process(instance=instance, tags=cli._owner_tags())
""")


def test_a_cli_killed_during_the_build_does_not_lock_the_next_one_out(sample_built: Path, data_dir: Path,
                                                                    dagster_home: Path):
    """The build holds the warehouse writers' pool slot (limit 1); SIGKILL leaves its run
    'started' with the slot claimed. The next materialize marks it failed, frees the slot and builds."""
    (dagster_home / "dagster.yaml").write_text(cli.DAGSTER_YAML)  # the writer pool: limit 1
    killed = subprocess.Popen([sys.executable, "-c", KILLED_IN_BUILD, str(data_dir)], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, env={**os.environ, "DAGSTER_HOME": str(dagster_home)})
    try:
        assert killed.stdout.readline().strip() == "building"
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.wait(timeout=30)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        [stuck] = [r for r in instance.get_runs() if not r.is_finished]
        assert instance.event_log_storage.get_concurrency_info("fms_warehouse_writer").claimed_slots
    (data_dir / "raw" / "second.txt").write_text(THREAD)
    # In a process with a time bound: without the fix it waits for the dead run's slot for ever.
    done = subprocess.run([str(Path(sys.executable).parent / "fms-pipeline"), "--data-dir", str(data_dir),
                           "materialize"], env={**os.environ, "DAGSTER_HOME": str(dagster_home)}, cwd=data_dir.parent,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"run {stuck.run_id} of a killed fms-pipeline process" in done.stderr
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(stuck.run_id).status == dg.DagsterRunStatus.FAILURE
    with warehouse.connect_read_only(data_dir / "warehouse.duckdb") as con:
        assert con.execute("SELECT count(*) FROM comments").fetchall()[0][0] == 20
