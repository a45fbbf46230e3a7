"""The trend charts (mentions of the top drugs by month; outcomes by month), drawn from the
by-month aggregates for the asset pages and the HTML report alike. None when no row is dated."""

from __future__ import annotations

from fms_pipeline.reports import charts

TOP_DRUGS = 6


def _has_table(con, name: str) -> bool:
    """A warehouse built before the by-month tables existed has none: no trend then, not an error."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0])


def drug_mentions_png(con, top: int = TOP_DRUGS) -> bytes | None:
    """Mentions by month of the ``top`` most mentioned drugs (over the dated months)."""
    if not _has_table(con, "mentions_by_month"):
        return None
    rows = con.execute(
        "WITH top AS (SELECT canonical FROM mentions_by_month WHERE label = 'DRUG' GROUP BY canonical "
        "ORDER BY sum(mentions) DESC, canonical LIMIT ?) "
        "SELECT canonical, month, mentions FROM mentions_by_month "
        "WHERE label = 'DRUG' AND canonical IN (SELECT canonical FROM top) ORDER BY month, canonical",
        [top]).fetchall()
    return charts.trend_chart(rows, "Mentions of the most mentioned drugs by month", max_series=top) if rows else None


def outcomes_png(con) -> bytes | None:
    """Outcomes (all drugs together) by month."""
    if not _has_table(con, "drug_outcomes_by_month"):
        return None
    rows = con.execute("SELECT outcome, month, sum(mentions) FROM drug_outcomes_by_month "
                       "GROUP BY outcome, month ORDER BY month, outcome").fetchall()
    if not rows:
        return None
    return charts.trend_chart(rows, "What patients say drugs did, by month", colours=charts.OUTCOME_COLOURS)
