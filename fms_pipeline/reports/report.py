"""The offline HTML report: headline numbers, charts, tables, and a page per document with its
comments and highlighted entities. Everything is in ``data/reports/`` (images inlined), so it
opens in a browser with no network and no server."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from fms_pipeline import warehouse
from fms_pipeline.reports import charts

_env = Environment(loader=PackageLoader("fms_pipeline.reports", "templates"), autoescape=select_autoescape())


@dataclass
class ReportSummary:
    path: Path
    headline: dict[str, int]
    document_pages: int


def highlight(text: str, mentions: list[tuple[int, int, str, str]]) -> Markup:
    """The text with each (start, end, label, canonical) mention wrapped in <mark>."""
    parts, last = [], 0
    for start, end, label, canonical in sorted(mentions):
        if start < last:
            continue
        parts.append(escape(text[last:start]))
        parts.append(Markup('<mark class="{}" title="{}: {}">{}</mark>').format(
            label.lower(), label, canonical, text[start:end]))
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def headline_numbers(con) -> dict[str, int]:
    one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
    return {
        "documents": one("SELECT count(*) FROM documents"),
        "comments": one("SELECT count(*) FROM comments"),
        "named authors": one("SELECT count(DISTINCT author) FROM comments WHERE author IS NOT NULL"),
        "entity mentions": one("SELECT count(*) FROM entity_mentions"),
        "drugs": one("SELECT count(DISTINCT canonical) FROM entity_mentions WHERE label = 'DRUG'"),
        "outcome mentions": one("SELECT count(*) FROM outcome_mentions"),
        "rejected files": one("SELECT count(*) FROM rejected_files"),
    }


def _top(con, label: str, limit: int = 15) -> list[tuple]:
    return con.execute(
        "SELECT canonical, mentions, comments, documents FROM entity_counts WHERE label = ? "
        "ORDER BY mentions DESC, canonical LIMIT ?", [label, limit]).fetchall()


def build_report(warehouse_path: Path, out_dir: Path) -> ReportSummary:
    """Write ``out_dir/report.html`` and ``out_dir/documents/*.html``; replaces the previous report."""
    building = out_dir.with_name(f".{out_dir.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    (building / "documents").mkdir(parents=True)
    with warehouse.connect_read_only(warehouse_path) as con:
        headline = headline_numbers(con)
        tables = {label: _top(con, label) for label in ("DRUG", "DRUG_CLASS", "CONDITION", "SYMPTOM")}
        images = {
            label: charts.as_data_uri(charts.bar_chart([r[0] for r in rows], [r[1] for r in rows],
                                                       f"Most mentioned: {label.lower().replace('_', ' ')}"))
            for label, rows in tables.items() if rows
        }
        outcomes = con.execute("SELECT drug, outcome, mentions FROM drug_outcomes").fetchall()
        if outcomes:
            images["OUTCOMES"] = charts.as_data_uri(charts.outcome_chart(outcomes))
        pairs = con.execute("SELECT drug, condition, comments, documents FROM drug_condition_pairs "
                            "ORDER BY comments DESC, drug, condition LIMIT 25").fetchall()
        sentiment = con.execute("SELECT drug, mentions, mean_sentiment FROM drug_sentiment "
                                "ORDER BY mentions DESC, drug LIMIT 20").fetchall()
        drugs = con.execute("SELECT drug, drug_class, drugbank_id, mesh_id, mentions FROM drugs "
                            "ORDER BY mentions DESC, drug").fetchall()
        rejected = con.execute("SELECT source_file, reason FROM rejected_files").fetchall()
        documents = con.execute("SELECT document_id, source_file, title, byline, body, comment_count FROM documents "
                                "ORDER BY source_file").fetchall()
        # One pass over mentions and comments for all pages (a query per document was quadratic).
        mentions_of: dict[str, dict[str | None, list]] = {}
        for document_id, cid, start, end, label, canonical in con.execute(
                "SELECT document_id, comment_id, start_char, end_char, label, canonical FROM entity_mentions").fetchall():
            mentions_of.setdefault(document_id, {}).setdefault(cid, []).append((start, end, label, canonical))
        comments_of: dict[str, list] = {}
        for row in con.execute("SELECT document_id, comment_id, position, author, body, sentiment FROM comments "
                               "ORDER BY document_id, position").fetchall():
            comments_of.setdefault(row[0], []).append(row[1:])
    for document_id, source_file, title, byline, body, comment_count in documents:
        by_owner = mentions_of.get(document_id, {})
        page = _env.get_template("document.html.j2").render(
            title=title or source_file, source_file=source_file, byline=byline,
            body=highlight(body or "", by_owner.get(None, [])),
            comments=[{"position": p, "author": a, "sentiment": s, "body": highlight(b, by_owner.get(c, []))}
                      for c, p, a, b, s in comments_of.get(document_id, [])],
        )
        (building / "documents" / f"{document_id}.html").write_text(page, encoding="utf-8")
    html = _env.get_template("report.html.j2").render(
        headline=headline, tables=tables, images=images, pairs=pairs, sentiment=sentiment, drugs=drugs,
        outcomes=outcomes, rejected=rejected,
        documents=[{"id": d[0], "source_file": d[1], "title": d[2] or d[1], "comments": d[5]} for d in documents],
    )
    (building / "report.html").write_text(html, encoding="utf-8")
    previous = out_dir.with_name(f".{out_dir.name}.previous-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(previous)
    building.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return ReportSummary(out_dir / "report.html", headline, len(documents))
