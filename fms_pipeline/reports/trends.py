"""The trend and signal charts, drawn from the warehouse for the asset pages and the HTML report alike:
rates by month (per 1,000 comments that month, so a busier forum does not look like a trend), the
monthly rate of the series with breaks marked (policy dates dashed, detected change points red), and
a forest plot of the drug–event pairs' ROR confidence intervals. None when there is nothing to draw."""

from __future__ import annotations

from fms_pipeline.reports import charts

TOP_DRUGS = 6
RATE = "per 1,000 comments"


def has_table(con, name: str, column: str | None = None) -> bool:
    """A warehouse built before a table (or column) existed has none: no chart then, not an error."""
    if column is None:
        sql, args = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    else:
        sql, args = ("SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                     [name, column])
    return bool(con.execute(sql, args).fetchall()[0][0])


def drug_mentions_png(con, top: int = TOP_DRUGS) -> bytes | None:
    """Comments mentioning each of the ``top`` most mentioned drugs, per 1,000 comments, by month."""
    if not has_table(con, "mentions_by_month", "comments_per_1000"):
        return None
    rows = con.execute(
        "WITH top AS (SELECT canonical FROM mentions_by_month WHERE label = 'DRUG' GROUP BY canonical "
        "ORDER BY sum(comments) DESC, canonical LIMIT ?) "
        "SELECT canonical, month, comments_per_1000 FROM mentions_by_month "
        "WHERE label = 'DRUG' AND canonical IN (SELECT canonical FROM top) AND comments_per_1000 IS NOT NULL "
        "ORDER BY month, canonical", [top]).fetchall()
    return charts.trend_chart(rows, "Comments naming the most mentioned drugs, per 1,000 comments", max_series=top,
                              y_label=RATE, integer=False) if rows else None


def outcomes_png(con) -> bytes | None:
    """Comments with each outcome (all drugs together), per 1,000 comments, by month."""
    if not has_table(con, "drug_outcomes_by_month", "comments_per_1000"):
        return None
    rows = con.execute("SELECT outcome, month, sum(comments_per_1000) FROM drug_outcomes_by_month "
                       "WHERE comments_per_1000 IS NOT NULL GROUP BY outcome, month ORDER BY month, outcome").fetchall()
    if not rows:
        return None
    return charts.trend_chart(rows, "What patients say drugs did, per 1,000 comments, by month",
                              colours=charts.OUTCOME_COLOURS, y_label=RATE, integer=False)


def activity_png(con) -> bytes | None:
    """Comments by month (all communities): the denominator of every rate."""
    if not has_table(con, "activity_by_month"):
        return None
    rows = con.execute("SELECT 'comments', month, comments FROM activity_by_month WHERE community IS NULL "
                       "ORDER BY month").fetchall()
    return charts.trend_chart(rows, "Comments by month (all communities)") if rows else None


def signal_rows(con, grouping: str = "drug", unit: str = "comment", limit: int = 20) -> list[tuple]:
    """The pairs with the highest IC025: (drug, event, a, prr, prr_lower, prr_upper, ror, ror_lower, ror_upper,
    ic025, eb05, criteria_met)."""
    if not has_table(con, "drug_event_signals"):
        return []
    return con.execute(
        "SELECT drug, event, a, prr, prr_lower, prr_upper, ror, ror_lower, ror_upper, ic025, eb05, criteria_met "
        "FROM drug_event_signals WHERE grouping = ? AND unit = ? ORDER BY ic025 DESC, a DESC, drug, event LIMIT ?",
        [grouping, unit, limit]).fetchall()


def signals_forest_png(con, grouping: str = "drug", unit: str = "comment", limit: int = 15) -> bytes | None:
    """ROR with its 95% CI of the pairs with the highest IC025 (red: ROR025 > 1)."""
    rows = signal_rows(con, grouping, unit, limit)
    if not rows:
        return None
    label = "drug class" if grouping == "drug_class" else "drug"
    return charts.forest_chart([(f"{d} – {e} (a={a})", r, lo, hi) for d, e, a, _, _, _, r, lo, hi, *_ in rows],
                               f"Reporting odds ratios, top pairs by IC025 ({label}, per {unit})")


def break_pngs(con, limit: int = 4) -> list[tuple[str, bytes]]:
    """[(title, PNG)]: the monthly rate of the series with a detected change point or a significant
    policy-date level change first, then the longest, policy dates and change points marked."""
    if not has_table(con, "trend_breaks"):
        return []
    from fms_pipeline.signals import build, trends

    chosen = con.execute(
        "SELECT kind, series FROM trend_breaks GROUP BY kind, series "
        "ORDER BY bool_or(significant) DESC, max(months) DESC, kind, series LIMIT ?", [limit]).fetchall()
    if not chosen:
        return []
    series = con.sql(build.query("trend_series.sql")).pl()
    policies = trends.policy_dates()
    out = []
    for kind, name in chosen:
        part = series.filter((series["kind"] == kind) & (series["series"] == name))
        rows = [(name, m, r) for m, r in zip(part["month"].to_list(), part["rate"].to_list())]
        if not rows:
            continue
        marks = [(p.month, p.name, "policy") for p in policies]
        marks += [(m, "change point", "break") for (m,) in con.execute(
            "SELECT month FROM trend_breaks WHERE kind = ? AND series = ? AND method = 'pelt'", [kind, name]).fetchall()]
        title = f"{name} ({kind.replace('_', ' ')}): comments per 1,000, breaks marked"
        out.append((title, charts.trend_chart(rows, title, y_label=RATE, integer=False, marks=marks)))
    return out
