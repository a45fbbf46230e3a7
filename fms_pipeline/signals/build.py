"""The warehouse's Python views: statistics DuckDB cannot compute, registered for the aggregate SQL files.

The counts stay in SQL (``sql/``: the units each 2×2 table counts, the 2×2 tables overall and
cumulated by month, the monthly rate series); this module reads them, computes the statistics with
``disproportionality`` and ``trends`` and registers the results on the connection as Arrow tables
(``warehouse.PYTHON_VIEWS``, named by the tables' ``python_views``):

``drug_event_statistics``           read by ``sql/aggregates/10_drug_event_signals.sql``
``drug_event_statistics_by_month``  read by ``sql/aggregates/11_drug_event_signals_by_month.sql``
``trend_break_estimates``           read by ``sql/aggregates/12_trend_breaks.sql``

The GPS hyperparameters are fitted once per build, per grouping and unit, on the overall tables, and
reused for every month.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import polars as pl

from fms_pipeline.signals import disproportionality as dp
from fms_pipeline.signals import trends

KEYS = ("grouping", "unit", "drug", "event")
CRITERIA_NAMES = ("evans", "ror", "ic", "ebgm")


def query(name: str) -> str:
    return resources.files(__package__).joinpath("sql").joinpath(name).read_text(encoding="utf-8")


def _statistics_frame(frame: pl.DataFrame, priors: dp.GpsPriors | None, screen_ebgm: bool = False) -> pl.DataFrame:
    values = dp.statistics(*(frame[x].to_numpy().astype(np.float64) for x in "abcd"), priors=priors,
                           screen_ebgm=screen_ebgm)
    return frame.with_columns(
        *[pl.Series(name, values[name], dtype=pl.Float64).fill_nan(None) for name in dp.STATISTICS],
        *[pl.Series(name, values[name], dtype=pl.Boolean) for name in dp.FLAGS],
    )


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema={**schema, **{s: pl.Float64 for s in dp.STATISTICS}, **{f: pl.Boolean for f in dp.FLAGS}})


def signal_statistics(counts: pl.DataFrame, by_month: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(overall, by month): the 2×2 frames with every statistic and flag; the overall one also with
    ``criteria_met`` (0-4), the month each criterion was first met (``first_month_<criterion>``) and the
    fitted GPS hyperparameters (``gps_priors``, the same for a grouping and unit)."""
    overall_parts, month_parts = [], []
    for (grouping, unit), part in counts.group_by(["grouping", "unit"], maintain_order=True):
        priors = dp.fit_gps_priors(*(part[x].to_numpy() for x in "abcd"))
        overall_parts.append(_statistics_frame(part, priors).with_columns(
            pl.lit(None if priors is None else ", ".join(f"{v:.6g}" for v in priors.as_array()),
                   dtype=pl.String).alias("gps_priors")))
        months = by_month.filter((pl.col("grouping") == grouping) & (pl.col("unit") == unit))
        if len(months):  # every month at once: the statistics are per row (EBGM under the build's priors)
            month_parts.append(_statistics_frame(months, priors, screen_ebgm=True))
    overall = pl.concat(overall_parts) if overall_parts else _empty(dict(counts.schema)).with_columns(
        pl.lit(None, dtype=pl.String).alias("gps_priors"))
    monthly = pl.concat(month_parts) if month_parts else _empty(dict(by_month.schema))
    overall = overall.with_columns(
        pl.sum_horizontal([pl.col(f).cast(pl.Int32) for f in dp.FLAGS]).cast(pl.Int32).alias("criteria_met"))
    firsts = monthly.group_by(list(KEYS)).agg(
        pl.col("month").filter(pl.col(f"signal_{c}")).min().alias(f"first_month_{c}") for c in CRITERIA_NAMES)
    overall = overall.join(firsts, on=list(KEYS), how="left")
    for c in CRITERIA_NAMES:  # a warehouse with no dated report has no first months
        if f"first_month_{c}" not in overall.columns:
            overall = overall.with_columns(pl.lit(None, dtype=pl.Date).alias(f"first_month_{c}"))
    return overall, monthly.sort([*KEYS, "month"])


def register_drug_event_statistics(con, unless_registered: str | None = None) -> None:
    """Register ``drug_event_statistics`` and ``drug_event_statistics_by_month`` (from ``drug_events``),
    both from one computation (the GPS hyperparameters are fitted once); nothing when
    ``unless_registered`` names a relation the connection already has (the other view's call did it)."""
    if unless_registered is not None and con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND temporary", [unless_registered]).fetchone()[0]:
        return
    con.execute(query("signal_units.sql"))
    counts = con.sql(query("drug_event_2x2.sql")).pl()
    by_month = con.sql(query("drug_event_2x2_by_month.sql")).pl()
    overall, monthly = signal_statistics(counts, by_month)
    con.register("drug_event_statistics", overall.to_arrow())
    con.register("drug_event_statistics_by_month", monthly.to_arrow())


TREND_SCHEMA = {
    "kind": pl.String, "series": pl.String, "method": pl.String, "month": pl.Date, "policy": pl.String,
    "rate_before": pl.Float64, "rate_after": pl.Float64, "level_change": pl.Float64, "level_lower": pl.Float64,
    "level_upper": pl.Float64, "level_p": pl.Float64, "slope_change": pl.Float64, "slope_lower": pl.Float64,
    "slope_upper": pl.Float64, "slope_p": pl.Float64, "significant": pl.Boolean, "months": pl.Int32,
}


def trend_break_rows(series: pl.DataFrame, policies: list[trends.PolicyDate]) -> pl.DataFrame:
    """``trend_breaks`` rows of every (kind, series) of the monthly series frame (kind, series, month,
    comments, rate) mentioned in at least ``trends.MIN_MONTHS`` months (a drug named once in 2014 and
    once in 2023 has no trend to break)."""
    rows = []
    for (kind, name), part in series.sort(["kind", "series", "month"]).group_by(["kind", "series"], maintain_order=True):
        if (part["comments"] > 0).sum() < trends.MIN_MONTHS:
            continue
        months, rates = part["month"].to_list(), part["rate"].to_numpy()
        for row in trends.breaks(months, rates, policies):
            rows.append({"kind": kind, "series": name, **row, "months": len(months)})
    return pl.DataFrame(rows, schema=TREND_SCHEMA)


def register_trend_breaks(con) -> None:
    """Register ``trend_break_estimates`` (from the by-month aggregates and the policy dates)."""
    series = con.sql(query("trend_series.sql")).pl()
    con.register("trend_break_estimates", trend_break_rows(series, trends.policy_dates()).to_arrow())


def signal_pairs(con) -> list[str]:
    """Every (grouping, unit, drug, event, criterion) met, as "grouping/unit: drug – event: criterion"
    strings: recorded on each materialization of drug_event_signals, so that its check can tell which
    pairs became signals since the previous one."""
    rows = con.execute(
        "SELECT grouping, unit, drug, event, signal_evans, signal_ror, signal_ic, signal_ebgm FROM drug_event_signals "
        "WHERE criteria_met > 0 ORDER BY grouping, unit, ic025 DESC, drug, event").fetchall()
    names = ("Evans", "ROR025>1", "IC025>0", "EB05>=2")
    return [f"{g}/{u}: {d} – {e}: {name}" for g, u, d, e, *flags in rows for name, met in zip(names, flags) if met]
