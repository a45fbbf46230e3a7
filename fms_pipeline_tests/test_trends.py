"""Trends by month: mentions_by_month, drug_outcomes_by_month and their charts on the asset pages.

The expected counts are computed here from the fixture's own created_utc fields (a comment's
month, its submission's when it has none, none when neither is a plausible date), never from the
warehouse's dates.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from fms_pipeline import ids, warehouse
from fms_pipeline_tests.materialized import dagster_home_env, latest_metadata, materialize_folder, raw_folder

TREND_FIXTURE = Path(__file__).parent / "fixtures" / "trends" / "chronicpain_2024.ndjson"
MONTHS = [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)]


def _month(created_utc) -> date | None:
    """The month of a Reddit created_utc, None when absent or not plausible (before 1995, in the future)."""
    if created_utc is None:
        return None
    when = datetime.fromtimestamp(int(created_utc), UTC)
    if when.year < 1995 or when > datetime.now(UTC) + timedelta(days=1):
        return None
    return date(when.year, when.month, 1)


def _fixture_months() -> tuple[dict[str, date | None], dict[str | None, date | None], list[tuple[date | None, str]]]:
    """(document_id -> month, comment_id -> month, [(month, text)] of every body) from the fixture alone."""
    records = [json.loads(line) for line in TREND_FIXTURE.read_text().splitlines()]
    name = TREND_FIXTURE.name
    submissions = {r["id"]: r for r in records if "title" in r}
    comments = [r for r in records if "body" in r]
    document_month = {ids.document_id(name, key): _month(r.get("created_utc")) for key, r in submissions.items()}
    comment_month: dict[str | None, date | None] = {}
    texts = [(_month(r.get("created_utc")), r["selftext"]) for r in submissions.values()]
    for r in comments:
        key = r["link_id"].removeprefix("t3_")
        parent = submissions.get(key, {})
        month = _month(r.get("created_utc")) or _month(parent.get("created_utc"))
        document_month.setdefault(ids.document_id(name, key), None)  # a submission the dump lacks: no date
        comment_month[ids.comment_id(ids.document_id(name, key), 0, r["id"])] = month
        texts.append((month, r["body"]))
    return document_month, comment_month, texts


@pytest.fixture(scope="module")
def trend_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trends")
    raw_folder(root, TREND_FIXTURE)
    with dagster_home_env(root / "dagster_home"):
        yield materialize_folder(root / "data")


def _expected(rows, document_month, comment_month, with_documents: bool) -> dict:
    """{(key..., month): (mentions, comments[, documents])} of (key, document_id, comment_id) rows."""
    mentions: Counter = Counter()
    comments, documents = defaultdict(set), defaultdict(set)
    for *key, document_id, comment_id in rows:
        month = document_month[document_id] if comment_id is None else comment_month[comment_id]
        if month is None:
            continue
        group = (*key, month)
        mentions[group] += 1
        if comment_id is not None:
            comments[group].add(comment_id)
        documents[group].add(document_id)
    return {g: (n, len(comments[g]), len(documents[g])) if with_documents else (n, len(comments[g]))
            for g, n in mentions.items()}


def test_mentions_by_month_counts_each_mention_in_its_comments_month(trend_warehouse: Path):
    document_month, comment_month, texts = _fixture_months()
    with warehouse.connect_read_only(trend_warehouse) as con:
        mentions = con.execute("SELECT label, canonical, document_id, comment_id FROM entity_mentions").fetchall()
        got = {(label, canonical, month): (n, c, d) for label, canonical, month, n, c, d in con.execute(
            "SELECT label, canonical, month, mentions, comments, documents FROM mentions_by_month").fetchall()}
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'mentions_by_month'").fetchall())
        undated_methadone = con.execute(
            "SELECT mentions FROM entity_counts WHERE label = 'DRUG' AND canonical = 'methadone'").fetchall()[0][0]
    assert types["month"] == "DATE" and types["mentions"] == "BIGINT"
    assert got == _expected(mentions, document_month, comment_month, with_documents=True)
    assert {month for _, _, month in got} == set(MONTHS)
    # The generic names as the fixture writes them, counted by month straight from its text.
    for drug in ("oxycodone", "gabapentin", "duloxetine", "methadone"):
        by_text = Counter()
        for month, text in texts:
            if month is not None:
                by_text[month] += len(re.findall(rf"\b{drug}\b", text, flags=re.IGNORECASE))
        assert {m: n for (label, canonical, m), (n, _, _) in got.items() if label == "DRUG" and canonical == drug} == \
            {m: n for m, n in by_text.items() if n}, drug
    # Methadone is named three times, twice where nothing has a date (left out) and once in April.
    assert undated_methadone == 3
    assert [(m, v) for (label, canonical, m), v in got.items() if canonical == "methadone"] == [(MONTHS[3], (1, 1, 1))]
    # The undated comment and the one dated 2100 count in their submission's month (January).
    january_gabapentin = got[("DRUG", "gabapentin", MONTHS[0])]
    assert january_gabapentin == (1, 1, 1)


def test_drug_outcomes_by_month_has_drug_outcomes_filters_and_the_same_months(trend_warehouse: Path):
    document_month, comment_month, _ = _fixture_months()
    with warehouse.connect_read_only(trend_warehouse) as con:
        outcomes = con.execute("SELECT drug, outcome, document_id, comment_id FROM outcome_mentions "
                               "WHERE drug IS NOT NULL AND NOT negated AND NOT hypothetical").fetchall()
        got = {(drug, outcome, month): (n, c) for drug, outcome, month, n, c in con.execute(
            "SELECT drug, outcome, month, mentions, comments FROM drug_outcomes_by_month").fetchall()}
    expected = _expected(outcomes, document_month, comment_month, with_documents=False)
    # Some counted outcomes are in rows with no date at all ("Methadone worked ..."): those are left out.
    assert any((document_month[d] if c is None else comment_month[c]) is None for *_, d, c in outcomes)
    assert got == expected
    assert len({month for _, _, month in got}) >= 3, got  # outcomes in several months
    assert ("oxycodone", "access_loss", MONTHS[2]) in got  # "The clinic cut me off oxycodone ..."


def test_trend_charts_show_on_the_asset_pages_when_dates_exist(trend_warehouse: Path):
    for asset in ("mentions_by_month", "drug_outcomes_by_month"):
        metadata = latest_metadata(["warehouse", asset])
        assert metadata["chart"].value.startswith("![") and "data:image/png;base64," in metadata["chart"].value, asset
        assert metadata["dagster/row_count"].value > 0


def test_no_trend_charts_without_dates(sample_run, monkeypatch):
    # The sample page (copied text) carries no dates: the by-month tables are empty and chartless.
    # (The session's one materialize of the sample alone, read in its Dagster instance.)
    monkeypatch.setenv("DAGSTER_HOME", str(sample_run.dagster_home))
    for asset in ("mentions_by_month", "drug_outcomes_by_month"):
        metadata = latest_metadata(["warehouse", asset])
        assert metadata["dagster/row_count"].value == 0 and "chart" not in metadata, asset
    assert "chart" in latest_metadata(["warehouse", "entity_counts"])  # the other charts still show


def test_months_are_utc_whatever_the_sessions_time_zone():
    sql = dict(warehouse.sql_files("aggregates"))
    for zone in ("Pacific/Kiritimati", "America/Los_Angeles"):
        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{zone}'")
        con.execute("CREATE TABLE documents (document_id VARCHAR, published_at TIMESTAMPTZ, community VARCHAR, "
                    "body VARCHAR)")
        con.execute("CREATE TABLE comments (comment_id VARCHAR, published_at TIMESTAMPTZ, document_id VARCHAR, "
                    "author VARCHAR, author_is_anonymous BOOLEAN, body VARCHAR)")
        con.execute("CREATE TABLE entity_mentions (label VARCHAR, canonical VARCHAR, document_id VARCHAR, "
                    "comment_id VARCHAR)")
        con.execute("CREATE TABLE outcome_mentions (drug VARCHAR, outcome VARCHAR, document_id VARCHAR, "
                    "comment_id VARCHAR, negated BOOLEAN, hypothetical BOOLEAN)")
        con.execute("INSERT INTO documents VALUES ('d', TIMESTAMPTZ '2024-03-31 23:59:00+00', 'r/x', 'a b')")
        con.execute("INSERT INTO comments VALUES ('late', TIMESTAMPTZ '2024-01-31 23:30:00+00', 'd', 'u', false, 'c'), "
                    "('early', TIMESTAMPTZ '2024-02-01 00:10:00+00', 'd', 'u', false, 'c'), "
                    "('undated', NULL, 'd', 'v', false, 'c')")
        con.execute("INSERT INTO entity_mentions VALUES ('DRUG', 'x', 'd', 'late'), ('DRUG', 'x', 'd', 'early'), "
                    "('DRUG', 'x', 'd', 'undated'), ('DRUG', 'x', 'd', NULL)")
        con.execute("INSERT INTO outcome_mentions VALUES ('x', 'effective', 'd', 'late', false, false), "
                    "('x', 'effective', 'd', 'early', false, false), ('x', 'effective', 'd', 'early', true, false), "
                    "('x', 'effective', 'd', 'undated', false, true)")
        con.execute(sql["00_activity_by_month.sql"])
        con.execute(sql["05_mentions_by_month.sql"])
        con.execute(sql["06_drug_outcomes_by_month.sql"])
        # The undated comment counts in its document's month (March), as its mentions do.
        assert con.execute("SELECT month, comments FROM activity_by_month WHERE community IS NULL "
                           "ORDER BY month").fetchall() == [
            (date(2024, 1, 1), 1), (date(2024, 2, 1), 1), (date(2024, 3, 1), 1)], zone
        assert con.execute("SELECT month, mentions, comments FROM mentions_by_month ORDER BY month").fetchall() == [
            (date(2024, 1, 1), 1, 1), (date(2024, 2, 1), 1, 1), (date(2024, 3, 1), 2, 1)], zone
        assert con.execute("SELECT month, mentions FROM drug_outcomes_by_month ORDER BY month").fetchall() == [
            (date(2024, 1, 1), 1), (date(2024, 2, 1), 1)], zone
        con.close()


def test_trend_chart_spans_every_month_between_the_first_and_the_last():
    from fms_pipeline.reports import charts

    assert charts.month_range(date(2023, 11, 1), date(2024, 2, 1)) == [
        date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]
    assert charts.month_range(date(2024, 3, 1), date(2024, 3, 1)) == [date(2024, 3, 1)]
    png = charts.trend_chart([("oxycodone", date(2023, 12, 1), 3), ("gabapentin", date(2024, 2, 1), 1)], "t")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="at least one"):
        charts.trend_chart([], "nothing dated")


def test_a_chart_of_the_same_rows_is_drawn_once_and_other_rows_anew(monkeypatch):
    """The warehouse's asset pages and the report draw the same charts; the second asks for a copy."""
    from fms_pipeline.reports import charts

    drawn = []
    original = charts._png
    monkeypatch.setattr(charts, "_png", lambda fig: drawn.append(fig) or original(fig))
    rows = [("pregabalin", "effective", 3), ("pregabalin", "adverse_effect", 2), ("duloxetine", "ineffective", 1)]
    first = charts.outcome_chart(list(rows))
    assert charts.outcome_chart(list(rows)) == first and len(drawn) == 1
    other = charts.outcome_chart(rows[:2])
    assert other != first and len(drawn) == 2
    assert charts.outcome_chart(rows, title="another title") != first and len(drawn) == 3


def test_a_chart_is_the_png_a_tight_savefig_gives():
    """_png finds the tight box itself to draw each figure once; the PNG must stay the one savefig's
    bbox_inches="tight" gives, labels and a legend past the figure's edges included."""
    import io

    import matplotlib.pyplot as plt

    from fms_pipeline.reports import charts

    def figure():
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.barh([f"a drug with a very long name {i}" for i in range(4)], [3, 20, 7, 1000], label="mentions")
        ax.set_xscale("log")
        ax.set_title("a title", loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return fig

    tight = io.BytesIO()
    reference = figure()
    reference.savefig(tight, format="png", dpi=charts.DPI, bbox_inches="tight")
    plt.close(reference)
    assert charts._png(figure()) == tight.getvalue()


def test_the_outcome_chart_does_not_change_with_the_process():
    """Drugs tied on mentions were ordered by a set's iteration order, which Python's string hashing
    changes from one process to the next: the same warehouse gave another chart in each run."""
    import os
    import subprocess
    import sys

    script = ("import hashlib; from fms_pipeline.reports import charts; "
              "rows = [(d, o, 2) for d in ('pregabalin', 'duloxetine', 'tramadol', 'gabapentin', 'oxycodone') "
              "for o in ('effective', 'adverse_effect')]; "
              "print(hashlib.sha256(charts.outcome_chart(rows)).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(digests) == 1


def test_the_report_shows_trends_and_replies_under_their_parent(trend_warehouse: Path):
    """The report gets a "By month" section when rows are dated, and a document page indents a
    reply under the comment it answers, naming it."""
    reports = trend_warehouse.parent / "reports"
    report = (reports / "report.html").read_text(encoding="utf-8")
    assert 'id="trends"' in report and 'alt="Outcomes by month"' in report
    with warehouse.connect_read_only(trend_warehouse) as con:
        document_id, position, parent_position, depth = con.execute("""
            SELECT c.document_id, c.position, p.position, c.depth FROM comments c
            JOIN comments p ON p.comment_id = c.parent_comment_id
            ORDER BY c.depth DESC, c.comment_id LIMIT 1""").fetchall()[0]
    assert depth >= 2
    page = (reports / "documents" / f"{document_id}.html").read_text(encoding="utf-8")
    reply = re.search(rf'<div class="comment reply" id="c{position}" style="margin-left: (\d+)rem">(.*?)</span>',
                      page, re.S)
    assert reply and int(reply.group(1)) == 2 * (depth - 1)
    assert f'reply to <a href="#c{parent_position}">#{parent_position}</a>' in reply.group(2)
    assert re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d UTC", reply.group(2))  # the reply's own date
