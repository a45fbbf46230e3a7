"""The offline HTML report: headline numbers, charts, tables, and a page per document with its
comments and highlighted entities. Everything is in ``data/reports/`` (images inlined), so it
opens in a browser with no network and no server."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC
from importlib import resources
from pathlib import Path

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from fms_pipeline import labels, warehouse, workers
from fms_pipeline.reports import access, charts, trends

# Every template escapes what it is given: titles, names, bodies and file names are written by
# strangers. (``select_autoescape()`` would not: it goes by extension, and ours end in ``.j2``.)
_env = Environment(loader=PackageLoader("fms_pipeline.reports", "templates"), autoescape=True)
# The entity highlight colours, from labels.yml.
_env.globals["entity_colours"] = labels.colours("entity")


@dataclass
class ReportSummary:
    path: Path
    headline: dict[str, int]
    document_pages: int
    pages_written: int = 0


# Which warehouse version of each document its page shows; pages whose document did not change
# since are kept (hard links into the new report) instead of rendered again.
MANIFEST = ".pages.json"
# The pages rendered from one set of queries: each query scans its whole table (1.2M mentions at
# 200,000 files: ~25 ms), so a few hundred pages a query spent more on scans than on pages; as many
# as fit in PAGE_TEXT_PER_QUERY bytes of text (bodies and comments), so memory holds that much,
# whatever the pages' sizes.
PAGES_PER_QUERY = 4000
PAGE_TEXT_PER_QUERY = 8_000_000


def templates_version() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for entry in sorted(resources.files("fms_pipeline.reports").joinpath("templates").iterdir(), key=lambda e: e.name):
        digest.update(entry.name.encode() + entry.read_bytes())
    return digest.hexdigest()[:16]


def _previous_pages(out_dir: Path) -> dict[str, str]:
    """{document_id: fingerprint} of the pages in the current report made by these templates."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest.get("pages", {}) if manifest.get("templates") == templates_version() else {}


# markupsafe.escape's replacements, as one str.translate: escape() builds a Markup object per
# piece, and Markup.format per mention before it went through string.Formatter (4,085 pages:
# 2.16 -> 1.37 CPU s; 200,000 pages took 90 s of a run).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def _escape(value) -> str:
    return str(value).translate(_ESCAPES)


def highlight(text: str, mentions: list[tuple[int, int, str, str]]) -> Markup:
    """The text with each (start, end, label, canonical) mention wrapped in <mark>; every piece
    escaped here and joined once."""
    parts, last = [], 0
    for start, end, label, canonical in sorted(mentions):
        if start < last:
            continue
        parts.append(_escape(text[last:start]))
        parts.append(f'<mark class="{_escape(label.lower())}" title="{_escape(label)}: {_escape(canonical)}">'
                     f'{_escape(text[start:end])}</mark>')
        last = end
    parts.append(_escape(text[last:]))
    return Markup("".join(parts))


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


def build_report(warehouse_path: Path, out_dir: Path, n_workers: int = 1) -> ReportSummary:
    """Write ``out_dir/report.html`` and ``out_dir/documents/*.html``; replaces the previous report.

    Pages of documents unchanged since the previous report are carried over, not rendered again;
    the others are rendered by up to ``n_workers`` processes (``workers.map_chunks``) when there
    are enough of them.
    """
    building = out_dir.with_name(f".{out_dir.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    (building / "documents").mkdir(parents=True)
    previous_pages = _previous_pages(out_dir)
    with warehouse.connect_read_only(warehouse_path) as con:
        documents = con.execute("SELECT document_id, source_file, title, byline, comment_count FROM documents "
                                "ORDER BY source_file").fetchall()
        fingerprints = _built_fingerprints(con)
        # File names as strings, listed once: a Path and a stat per page cost more than the links.
        previous_folder, new_folder = str(out_dir / "documents"), str(building / "documents")
        present = set(os.listdir(previous_folder)) if os.path.isdir(previous_folder) else set()
        kept = {d for d, *_ in documents
                if fingerprints.get(d) is not None and previous_pages.get(d) == fingerprints[d]
                and f"{d}.html" in present}
        to_render = [d for d, *_ in documents if d not in kept]
        page_workers = workers.usable_workers(n_workers, len(to_render), PAGES_PER_WORKER_MIN)
        if page_workers > 1:
            # Its modules import while this process draws the charts (no pipeline: see workers.py).
            workers.start_fork_server(PAGE_WORKER_PRELOAD)
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
        access_section = access.section(con)
        # Trend charts only when rows are dated (copied-text pages carry no dates).
        for key, png in (("DRUG_TREND", trends.drug_mentions_png(con)), ("OUTCOME_TREND", trends.outcomes_png(con)),
                         ("ACCESS", access.mechanisms_png(con)), ("ACCESS_TREND", access.rate_by_month_png(con))):
            if png is not None:
                images[key] = charts.as_data_uri(png)
        event_shares = con.execute(
            "SELECT drug, event, reports, naming_drug, share, share_lower, share_upper FROM drug_event_shares "
            "ORDER BY reports DESC, naming_drug DESC, drug, event LIMIT 25"
        ).fetchall() if trends.has_table(con, "drug_event_shares") else []
        signals = {grouping: trends.signal_rows(con, grouping, "comment", limit=25) for grouping in ("drug", "drug_class")}
        if png := trends.signals_forest_png(con):
            images["SIGNALS_FOREST"] = charts.as_data_uri(png)
        breaks = [(title, charts.as_data_uri(png)) for title, png in trends.break_pngs(con)]
        break_rows = con.execute(
            "SELECT kind, series, method, month, policy, rate_before, rate_after, level_change, level_lower, "
            "level_upper, level_p FROM trend_breaks ORDER BY significant DESC, kind, series, month LIMIT 60"
        ).fetchall() if trends.has_table(con, "trend_breaks") else []
        pairs = con.execute("SELECT drug, condition, comments, documents FROM drug_condition_pairs "
                            "ORDER BY comments DESC, drug, condition LIMIT 25").fetchall()
        sentiment = con.execute("SELECT drug, mentions, mean_sentiment FROM drug_sentiment "
                                "ORDER BY mentions DESC, drug LIMIT 20").fetchall()
        drugs = con.execute("SELECT drug, drug_class, drugbank_id, mesh_id, mentions FROM drugs "
                            "ORDER BY mentions DESC, drug").fetchall()
        rejected = con.execute("SELECT source_file, reason FROM rejected_files").fetchall()
    workers.map_chunks(_write_pages, to_render, n_workers, Path(warehouse_path), building / "documents",
                       per_worker_min=PAGES_PER_WORKER_MIN, describe=lambda d: f"the page of document {d}",
                       preload=PAGE_WORKER_PRELOAD)
    if page_workers > 1:
        workers.stop_fork_server()  # its ~100 MB of imports would stay to the end of the run
    for document_id in kept:
        os.link(f"{previous_folder}/{document_id}.html", f"{new_folder}/{document_id}.html")
    html = _env.get_template("report.html.j2").render(
        headline=headline, tables=tables, images=images, pairs=pairs, sentiment=sentiment, drugs=drugs,
        outcomes=outcomes, rejected=rejected, access=access_section, signals=signals, breaks=breaks,
        event_shares=event_shares,
        break_rows=break_rows,
        documents=[{"id": d[0], "source_file": d[1], "title": d[2] or d[1], "comments": d[4]} for d in documents],
    )
    (building / "report.html").write_text(html, encoding="utf-8")
    (building / MANIFEST).write_text(json.dumps({
        "templates": templates_version(),
        "pages": {d: fingerprints.get(d) for d, *_ in documents},
    }), encoding="utf-8")
    previous = out_dir.with_name(f".{out_dir.name}.previous-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(previous)
    building.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return ReportSummary(out_dir / "report.html", headline, len(documents), pages_written=len(to_render))


# A page takes ~0.8 ms with its queries and its file (4,086 in 3.1 s in one process) and page workers
# ~1.1 s to start (their fork server imports this module): below this many pages per worker this
# process renders them alone.
PAGES_PER_WORKER_MIN = 2_000
PAGE_WORKER_PRELOAD = ("fms_pipeline.reports.report",)


def _write_pages(job) -> list[int]:
    """Render and write the pages of a chunk of documents (in a worker process, or in this one)."""
    warehouse_path, folder, document_ids = job
    with warehouse.connect_read_only(warehouse_path) as con:
        for group in _query_groups(con, document_ids):
            for document_id, page in _document_pages(con, group).items():
                (folder / f"{document_id}.html").write_text(page, encoding="utf-8")
    return [len(document_ids)]


def _query_groups(con, document_ids: list[str]) -> list[list[str]]:
    """The documents in order, cut into groups of at most PAGES_PER_QUERY documents and (unless one
    document alone is longer) PAGE_TEXT_PER_QUERY bytes of body and comments."""
    warehouse.register_document_ids(con, "pages_to_size", document_ids)
    sizes = dict(con.execute(
        "SELECT d.document_id, coalesce(strlen(d.body), 0) + coalesce(c.text, 0) FROM documents AS d "
        "LEFT JOIN (SELECT document_id, sum(strlen(body)) AS text FROM comments "
        "           WHERE document_id IN (SELECT document_id FROM pages_to_size) GROUP BY document_id) AS c "
        "USING (document_id) WHERE d.document_id IN (SELECT document_id FROM pages_to_size)").fetchall())
    groups, group, text = [], [], 0
    for document_id in document_ids:
        size = sizes.get(document_id, 0)
        if group and (len(group) >= PAGES_PER_QUERY or text + size > PAGE_TEXT_PER_QUERY):
            groups.append(group)
            group, text = [], 0
        group.append(document_id)
        text += size
    return groups + [group] if group else groups


def _built_fingerprints(con) -> dict[str, str]:
    """{document_id: version} from the warehouse's build manifest; empty (every page is rendered)
    for a warehouse without one, such as a shareable copy."""
    import duckdb

    try:
        return dict(con.execute("SELECT document_id, fingerprint FROM _build_manifest").fetchall())
    except duckdb.CatalogException:
        return {}


def _document_pages(con, document_ids: list[str]) -> dict[str, str]:
    """{document_id: HTML page} with the article, comments and highlighted entities."""
    if not document_ids:
        return {}
    warehouse.register_document_ids(con, "pages_to_render", document_ids)
    # One pass over mentions and comments for all pages (a query per document was quadratic).
    mentions_of: dict[str, dict[str | None, list]] = {}
    for document_id, cid, start, end, label, canonical in con.execute(
            "SELECT document_id, comment_id, start_char, end_char, label, canonical FROM entity_mentions "
            "WHERE document_id IN (SELECT document_id FROM pages_to_render)").fetchall():
        mentions_of.setdefault(document_id, {}).setdefault(cid, []).append((start, end, label, canonical))
    comments_of: dict[str, list] = {}
    for row in con.execute("SELECT document_id, comment_id, position, author, body, sentiment, depth, "
                           "parent_comment_id, published_at FROM comments "
                           "WHERE document_id IN (SELECT document_id FROM pages_to_render) "
                           "ORDER BY document_id, position").fetchall():
        comments_of.setdefault(row[0], []).append(row[1:])
    pages = {}
    template = _env.get_template("document.html.j2")  # once: get_template checks the file's time on every call
    for document_id, source_file, title, byline, body in con.execute(
            "SELECT document_id, source_file, title, byline, body FROM documents "
            "WHERE document_id IN (SELECT document_id FROM pages_to_render)").fetchall():
        by_owner = mentions_of.get(document_id, {})
        position_of = {c: p for c, p, *_ in comments_of.get(document_id, [])}
        pages[document_id] = template.render(
            title=title or source_file, source_file=source_file, byline=byline,
            body=highlight(body or "", by_owner.get(None, [])),
            comments=[{"position": p, "author": a, "sentiment": s, "body": highlight(b, by_owner.get(c, [])),
                       # Replies indented under their parent (thread order puts a reply after it); capped.
                       "indent": min(depth or 1, 8) - 1, "parent": position_of.get(parent),
                       "published": published.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if published else None}
                      for c, p, a, b, s, depth, parent, published in comments_of.get(document_id, [])],
        )
    return pages
