"""``fms-pipeline watch``: a real process kept loaded, files dropped into raw/, the warehouse read."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest

from fms_pipeline import warehouse, watching
from fms_pipeline.settings import Settings
from fms_pipeline_tests.conftest import REPO

POST = "Months on Lyrica\n\nI started Lyrica for my fibromyalgia in May. Lyrica made me gain 20 lbs and lose my hair.\n"


class Lines:
    """The watching process's output, read by a thread so that waiting for a line can time out."""

    def __init__(self, process: subprocess.Popen):
        self.seen: list[str] = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(line) for line in process.stdout], daemon=True).start()

    def wait_for(self, text: str, timeout: float = 180) -> str:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {timeout} s; output:\n" + "".join(self.seen)) from None
            self.seen.append(line)
            if text in line:
                return line


def _documents(data: Path, source_file: str) -> list[tuple]:
    with warehouse.connect_read_only(data / "warehouse.duckdb") as con:
        return con.execute(
            "SELECT d.document_id, list_sort(list_distinct(list(m.canonical) FILTER (m.label = 'DRUG'))) "
            "FROM documents d LEFT JOIN entity_mentions m USING (document_id) "
            "WHERE d.source_file = ? GROUP BY d.document_id", [source_file]).fetchall()


def _runs(pid: int) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.get() as instance:  # DAGSTER_HOME is the test's dagster_home
        return list(instance.get_runs(dg.RunsFilter(tags={"fms/cli_pid": str(pid)})))


def test_files_dropped_in_reach_the_warehouse_and_leave_it(sample_built: Path, dagster_home: Path):
    data = sample_built
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "FMS_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fms_pipeline.cli", "--data-dir", str(data), "watch", "--interval", "0.3"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = Lines(process)
    try:
        lines.wait_for("watching")
        initial = {r.run_id for r in _runs(process.pid)}  # the copied sample looked changed: checked
        report = data / "reports" / "report.html"
        before = report.stat().st_mtime_ns

        (data / "raw" / "new-post.txt").write_text(POST, encoding="utf-8")
        assert "done" in lines.wait_for("update ")
        assert [drugs for _, drugs in _documents(data, "new-post.txt")] == [["pregabalin"]]
        assert report.stat().st_mtime_ns > before  # the report was rendered again

        (data / "raw" / "new-post.txt").unlink()
        assert "done" in lines.wait_for("update ")
        assert _documents(data, "new-post.txt") == []

        # The runs are Dagster runs of this instance, as the CLI's are: two per update.
        ours = [r for r in _runs(process.pid) if r.run_id not in initial]
        assert sorted(r.job_name for r in ours) == ["build_warehouse"] * 2 + ["process_files"] * 2
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in ours)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    assert code == 130 and "stopped watching" in lines.wait_for("stopped watching", timeout=10)


class Restarted(Exception):
    pass


def test_rules_changed_on_disk_restart_the_process_before_anything_is_processed(tmp_path, monkeypatch):
    """The loaded pipeline must be the one processed files are stamped with."""
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    settings = Settings.from_env(tmp_path / "data")
    runs: list[list[str]] = []
    monkeypatch.setattr(watching, "load", lambda settings: None)

    def run() -> int:
        runs.append(sorted(p.name for p in raw.iterdir()))
        (raw / "a.txt").write_text("a" * len(runs))  # a change during the run (another size): seen next
        return 0

    def restart():
        raise Restarted

    assert watching.watch(settings, run, interval=0.01, updates=1, say=lambda _: None) == 0
    assert runs == [[], ["a.txt"]]

    loaded = watching.current_version()
    monkeypatch.setattr(watching, "current_version", iter([loaded, "other rules"]).__next__)
    (raw / "b.txt").write_text("b")
    runs.clear()
    with pytest.raises(Restarted):
        watching.watch(settings, run, interval=0.01, restart=restart, updates=1, say=lambda _: None)
    assert runs == [["a.txt", "b.txt"]]  # the first run only: the change found after it restarted first


def test_a_failed_update_is_tried_again_and_watching_goes_on(tmp_path, monkeypatch):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    settings = Settings.from_env(tmp_path / "data")
    monkeypatch.setattr(watching, "load", lambda settings: None)
    said: list[str] = []
    outcomes = iter([0, RuntimeError("database is locked"), 1, 0])

    def run() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    (raw / "a.txt").write_text("a")  # nothing changes after the first run: the failures alone retry
    monkeypatch.setattr(watching, "listing", lambda raw_dir, calls=iter(range(10**6)): ("a",) if next(calls) else ())
    assert watching.watch(settings, run, interval=0.01, updates=3, say=said.append) == 0
    assert any("database is locked" in line for line in said)
    assert [line.split(" (")[0].split(" in ")[0] for line in said if line.startswith("update ")] == [
        "update failed", "update failed", "update done"]


def test_a_process_that_grew_past_its_limit_starts_again_before_the_next_update(tmp_path, monkeypatch):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    settings = Settings.from_env(tmp_path / "data")
    monkeypatch.setattr(watching, "load", lambda settings: None)
    sizes = iter([100, 100 + watching.GROWTH_LIMIT + 1])
    monkeypatch.setattr(watching, "resident_bytes", lambda: next(sizes))
    runs: list[int] = []

    def run() -> int:
        runs.append(1)
        (raw / "a.txt").write_text("a" * len(runs))
        return 0

    said: list[str] = []
    with pytest.raises(Restarted):
        watching.watch(settings, run, interval=0.01, restart=lambda: (_ for _ in ()).throw(Restarted()), updates=1,
                       say=said.append)
    assert runs == [1] and any("grew by" in line for line in said)


def test_an_interval_that_is_no_positive_number_is_one_clear_line(tmp_path, capsys):
    from fms_pipeline import cli

    assert cli.main(["--data-dir", str(tmp_path), "watch", "--interval", "0"]) == 2
    assert capsys.readouterr().err.strip() == "fms-pipeline watch: --interval 0: expected a number of seconds above 0"
