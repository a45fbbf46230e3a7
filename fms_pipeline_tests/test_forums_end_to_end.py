"""The forum, Q&A and dump formats (issue 19) through one ``fms-pipeline materialize``: the warehouse
holds what the readers give (files staged with their format, posts as comments with their parents and
dates), beside the sample page."""

from __future__ import annotations

import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fms_pipeline import warehouse
from fms_pipeline_tests.conftest import SAMPLE
from fms_pipeline_tests.materialized import dagster_home_env, materialize_folder, raw_folder
from fms_pipeline_tests.test_sources import FIXTURES

PAGES = ["forum_phpbb.html", "forum_vbulletin.html", "forum_xenforo.html", "forum_discourse.html",
         "qa_stackexchange.html", "html_comment_plugin.html", "html_time_text.html", "discourse_topic.json",
         "wordpress_export_wxr10.xml"]
DUMP = "health.stackexchange.example.zip"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def forums_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("forums")
    raw = raw_folder(root, SAMPLE)
    for name in PAGES:
        shutil.copy(FIXTURES / name, raw / name)
    with zipfile.ZipFile(raw / DUMP, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in ("Posts.xml", "Comments.xml", "Users.xml"):
            archive.write(FIXTURES / "stackexchange_dump" / member, member)
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


@pytest.mark.slow
def test_forums_and_dumps_in_the_warehouse(forums_warehouse: Path):
    with warehouse.connect_read_only(forums_warehouse) as con:
        files = dict(con.execute("SELECT source_file, source_format || '/' || status || '/' || documents || '/' || "
                                 "comments || '/' || skipped_records FROM source_files").fetchall())
        threads = con.execute(
            "SELECT d.source_file, c.position, c.depth, p.position, c.author, c.published_at "
            "FROM comments c JOIN documents d USING (document_id) "
            "LEFT JOIN comments p ON p.comment_id = c.parent_comment_id "
            "WHERE d.source_file IN ('forum_vbulletin.html', 'qa_stackexchange.html') "
            "ORDER BY d.source_file, c.position").fetchall()
    assert {name: files[name] for name in [*PAGES, DUMP]} == {
        "forum_phpbb.html": "html/staged/1/3/0", "forum_vbulletin.html": "html/staged/1/3/0",
        "forum_xenforo.html": "html/staged/1/2/0", "forum_discourse.html": "html/staged/1/3/0",
        "qa_stackexchange.html": "html/staged/1/6/0", "html_comment_plugin.html": "html/staged/1/13/0",
        "html_time_text.html": "html/staged/1/2/0", "discourse_topic.json": "discourse_json/staged/1/3/0",
        "wordpress_export_wxr10.xml": "wordpress_wxr/staged/1/2/0",
        DUMP: "stackexchange_dump/staged/2/7/1"}
    assert [(t[1:5], t[5]) for t in threads] == [
        ((1, 1, None, "Sonnenblume"), utc(2019, 3, 5, 8, 30)),
        ((2, 2, 1, "Waldweg"), utc(2019, 3, 6, 14, 5)),
        ((3, 1, None, "Kiesel"), utc(2019, 3, 5, 19, 45)),
        ((1, 1, None, "user unknown"), utc(2015, 2, 19, 15, 22, 3)),
        ((2, 2, 1, "Marlowe"), utc(2015, 2, 19, 16, 40, 10)),
        ((3, 2, 1, "Dr Iona Bell"), utc(2015, 2, 19, 18, 3, 47)),
        ((4, 3, 3, "user unknown"), utc(2015, 3, 5, 7, 12, 55)),
        ((5, 3, 3, "Dr Iona Bell"), utc(2015, 3, 5, 9, 30)),
        ((6, 2, 1, "wren"), utc(2016, 7, 1, 12))]
