"""Settings are read once (fms_pipeline.settings) and every command honours them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fms_pipeline import cli, warehouse
from fms_pipeline.settings import Settings
from fms_pipeline_tests.conftest import SAMPLE, stage_folder


@pytest.fixture(scope="module")
def data(tmp_path_factory, nlp) -> Path:
    """A data folder elsewhere than ./data, with a built warehouse."""
    data = tmp_path_factory.mktemp("settings") / "elsewhere"
    (data / "raw").mkdir(parents=True)
    shutil.copy(SAMPLE, data / "raw" / SAMPLE.name)
    warehouse.build_warehouse(stage_folder(data), data / "warehouse.duckdb")
    return data


def test_settings_layout_and_variables(tmp_path: Path):
    env = {"FMS_DATA_DIR": str(tmp_path / "d"), "FMS_SHARE_PATH": str(tmp_path / "s.duckdb"),
           "FMS_REPORTS_DIR": str(tmp_path / "r"), "FMS_WORKERS": "3", "FMS_BUCKETS_PER_RUN": "8",
           "FMS_AUTOMATION": "stopped"}
    s = Settings.from_env(env=env)
    assert (s.raw_dir, s.warehouse_path) == (tmp_path / "d" / "raw", tmp_path / "d" / "warehouse.duckdb")
    assert s.shareable_path == tmp_path / "s.duckdb" and s.reports_path == tmp_path / "r"
    assert (s.workers, s.buckets_per_run, s.automation_stopped) == ("3", 8, True)
    # --data-dir wins over FMS_DATA_DIR.
    assert Settings.from_env(tmp_path / "other", env=env).warehouse_path == tmp_path / "other" / "warehouse.duckdb"
    with pytest.raises(ValueError, match="FMS_BUCKETS_PER_RUN='x'"):
        Settings.from_env(env={"FMS_BUCKETS_PER_RUN": "x"})


def test_share_honours_data_dir_and_share_path(data: Path, tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "shared" / "copy.duckdb"
    monkeypatch.setenv("FMS_SHARE_PATH", str(out))
    monkeypatch.setenv("FMS_SHARE_SECRET", "a-secret-of-more-than-sixteen-bytes")
    monkeypatch.delenv("FMS_DATA_DIR", raising=False)
    assert cli.main(["--data-dir", str(data), "share"]) == 0
    assert out.is_file() and not (data / "share").exists()
    assert str(out) in capsys.readouterr().out
    # --out still wins over FMS_SHARE_PATH.
    explicit = tmp_path / "explicit.duckdb"
    assert cli.main(["--data-dir", str(data), "share", "--out", str(explicit)]) == 0
    assert explicit.is_file()


def test_query_honours_data_dir_and_fms_data_dir(data: Path, monkeypatch, capsys):
    monkeypatch.delenv("FMS_DATA_DIR", raising=False)
    assert cli.main(["--data-dir", str(data), "query", "SELECT 'comments=' || count(*) AS n FROM comments"]) == 0
    assert "comments=19" in capsys.readouterr().out
    monkeypatch.setenv("FMS_DATA_DIR", str(data))
    assert cli.main(["query", "SELECT 'documents=' || count(*) AS n FROM documents"]) == 0
    assert "documents=1" in capsys.readouterr().out
    monkeypatch.setenv("FMS_DATA_DIR", str(data.parent / "nowhere"))
    assert cli.main(["query", "SELECT 1"]) == 1


def test_evaluate_reads_the_psytar_file_of_the_data_dir(tmp_path: Path, capsys):
    bad = tmp_path / "psytar" / "sentences_dev.tsv"
    bad.parent.mkdir()
    bad.write_text("not a PsyTAR file\n", encoding="utf-8")
    assert cli.main(["--data-dir", str(tmp_path), "evaluate"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"fms-pipeline evaluate: {bad}: expected a tab-separated file with a 'sentences' column")
