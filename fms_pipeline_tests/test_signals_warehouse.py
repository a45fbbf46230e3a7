"""The signal tables on a planted corpus: a Reddit dump of comments written for this test
(``signal_corpus``), run through parsing, the NLP and the warehouse build. Every 2×2 count and
statistic is checked against values computed here by hand from the corpus's design alone."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import vigipy
from scipy import stats

from fms_pipeline import warehouse
from fms_pipeline_tests.conftest import stage_folder
from fms_pipeline_tests.signal_corpus import (
    CLASS_WORDS, CLASSES, NOISE_DRUG, PLANTED_CLASS_SIGNALS, PLANTED_DRUG_SIGNALS, REPORTS, reddit_dump,
)

ANALYSES = [(g, u) for g in ("drug", "drug_class") for u in ("comment", "author")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("signals")
    (root / "raw").mkdir()
    (root / "raw" / "fibromyalgia_signals.ndjson").write_text(reddit_dump(), encoding="utf-8")
    stage_folder(root)
    warehouse.build_warehouse(root / "staging", root / "warehouse.duckdb")
    return root / "warehouse.duckdb"


@pytest.fixture(scope="module")
def con(built):
    with duckdb.connect(str(built), read_only=True) as connection:
        yield connection


# --- the hand computation, from the design --------------------------------------------------

def _units(grouping: str, unit: str, until: date | None = None) -> dict:
    """The units the 2×2 tables count, each a report about one drug (a comment's, or an author's, drug):
    (comment or author, drug or class) -> the set of (drug or class, event) it names (reports up to
    ``until``'s month)."""
    units: dict = defaultdict(set)
    for i, report in enumerate(REPORTS):
        if until is not None and report.month > until:
            continue
        for drug, event in report.pairs:
            if grouping == "drug" and drug in CLASS_WORDS:
                continue
            key = drug if grouping == "drug" else CLASSES[drug]
            units[(report.author if unit == "author" else i, key)].add((key, event))
    return units


def _two_by_two(units: dict) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    n = len(units)
    out = {}
    for pair in {p for pairs in units.values() for p in pairs}:
        a = sum(pair in pairs for pairs in units.values())
        about_drug = sum(drug == pair[0] for _, drug in units)
        naming_event = sum(any(e == pair[1] for _, e in pairs) for pairs in units.values())
        out[pair] = (a, about_drug - a, naming_event - a, n - about_drug - naming_event + a)
    return out


def _by_hand(a: int, b: int, c: int, d: int) -> dict[str, float]:
    n = a + b + c + d
    z = stats.norm.ppf(0.975)
    expected = (a + b) * (a + c) / n
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    chi2 = n * max(abs(a * d - b * c) - n / 2, 0) ** 2 / margins if margins else math.nan
    if 0 in (a, b, c, d):  # Haldane-Anscombe
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    prr = (a / (a + b)) / (c / (c + d))
    se_prr = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    ror = (a * d) / (b * c)
    se_ror = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    a0 = a if a == int(a) else a - 0.5  # the IC uses the raw count
    return {
        "expected": expected, "chi2": chi2,
        "prr": prr, "prr_lower": prr * math.exp(-z * se_prr), "prr_upper": prr * math.exp(z * se_prr),
        "ror": ror, "ror_lower": ror * math.exp(-z * se_ror), "ror_upper": ror * math.exp(z * se_ror),
        "ic": math.log2((a0 + 0.5) / (expected + 0.5)),
        "ic025": math.log2(stats.gamma.ppf(0.025, a0 + 0.5, scale=1 / (expected + 0.5))),
    }


def con_count(path: Path, query: str):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(query).fetchone()[0]


# --- the tests ------------------------------------------------------------------------------

def test_drug_events_are_the_planted_reports(con):
    found = Counter(con.execute(
        "SELECT c.author, e.month, e.drug, e.event FROM drug_events AS e JOIN comments AS c USING (comment_id)"
    ).fetchall())
    planted = Counter((r.author, r.month, d, e) for r in REPORTS for d, e in r.pairs)
    assert found == planted
    # One row per report: the comment is the unit, not the mention.
    assert con.execute("SELECT count(*) = count(DISTINCT (comment_id, drug, event)) FROM drug_events").fetchone()[0]
    # The indications named in the planted comments (fibromyalgia for Cymbalta, pain for Lyrica) are no events.
    assert not con.execute("SELECT count(*) FROM drug_events WHERE event IN ('fibromyalgia', 'pain')").fetchone()[0]
    classes = dict(con.execute("SELECT DISTINCT drug, drug_class FROM drug_events").fetchall())
    assert classes == {d: CLASSES[d] for d in classes}


@pytest.mark.parametrize(("grouping", "unit"), ANALYSES)
def test_every_statistic_equals_the_hand_computed_value(con, grouping, unit):
    rows = con.execute(
        "SELECT * FROM drug_event_signals WHERE grouping = ? AND unit = ?", [grouping, unit]).df()
    expected = _two_by_two(_units(grouping, unit))
    got = {(r.drug, r.event): (r.a, r.b, r.c, r.d) for r in rows.itertuples()}
    assert got == expected
    for r in rows.itertuples():
        hand = _by_hand(r.a, r.b, r.c, r.d)
        for name, value in hand.items():
            if math.isnan(value):
                assert pd.isna(getattr(r, name)), (r.drug, r.event, name)
            else:
                assert getattr(r, name) == pytest.approx(value, rel=1e-9, abs=1e-9), (r.drug, r.event, name)


@pytest.mark.parametrize(("grouping", "unit"), ANALYSES)
def test_ebgm_is_vigipys_gps_on_the_same_tables(con, grouping, unit):
    rows = con.execute("SELECT * FROM drug_event_signals WHERE grouping = ? AND unit = ?", [grouping, unit]).df()
    n = int((rows.a + rows.b + rows.c + rows.d).iloc[0])
    data = pd.DataFrame({"product_name": rows.drug + "|" + rows.event, "ae_name": rows.drug + "|" + rows.event,
                         "events": rows.a.astype(float), "product_aes": (rows.a + rows.b).astype(float),
                         "count_across_brands": (rows.a + rows.c).astype(float)})
    theirs = vigipy.gps(vigipy.DataContainer(data=data, N=n), min_events=1, decision_metric="rank").all_signals
    theirs = theirs.set_index("Product").loc[rows.drug + "|" + rows.event]
    assert np.allclose(rows.ebgm, theirs["EBGM"], rtol=1e-9)
    assert np.allclose(rows.eb05, theirs["LowerBound"], rtol=1e-9)


@pytest.mark.parametrize(("grouping", "unit"), ANALYSES)
def test_exactly_the_planted_pairs_are_signals(con, grouping, unit):
    planted = PLANTED_DRUG_SIGNALS if grouping == "drug" else PLANTED_CLASS_SIGNALS
    for flag in ("signal_evans", "signal_ror", "signal_ic", "signal_ebgm"):
        flagged = set(con.execute(
            f"SELECT drug, event FROM drug_event_signals WHERE grouping = ? AND unit = ? AND {flag}",
            [grouping, unit]).fetchall())
        assert flagged == planted, flag
    # The noise drug is named in more comments than any other and is no signal with anything.
    top = con.execute("SELECT canonical FROM entity_counts WHERE label = 'DRUG' ORDER BY comments DESC LIMIT 1").fetchone()
    assert top == (NOISE_DRUG,)
    assert not con.execute("SELECT count(*) FROM drug_event_signals WHERE drug = ? AND criteria_met > 0",
                           [NOISE_DRUG]).fetchone()[0]


def test_per_author_counts_a_prolific_poster_once(con):
    per = dict(con.execute("SELECT unit, a FROM drug_event_signals WHERE grouping = 'drug' "
                           "AND drug = 'duloxetine' AND event = 'nausea'").fetchall())
    assert per == {"comment": 8, "author": 7}  # pat reported it twice


def test_by_month_cumulates_to_the_overall_table_and_dates_the_first_signal(con):
    last = con.execute("""
        SELECT m.grouping, m.unit, m.drug, m.event, m.a, m.b, m.c, m.d, s.a, s.b, s.c, s.d
        FROM drug_event_signals_by_month AS m JOIN drug_event_signals AS s USING (grouping, unit, drug, event)
        QUALIFY m.month = max(m.month) OVER (PARTITION BY m.grouping, m.unit, m.drug, m.event)""").fetchall()
    assert last and all(r[4:8] == r[8:12] for r in last)  # every report is dated
    months = sorted({r.month for r in REPORTS if r.pairs})
    for grouping, unit in ANALYSES:
        first: dict = {}
        for month in months:
            for pair, (a, b, c, d) in _two_by_two(_units(grouping, unit, until=month)).items():
                hand = _by_hand(a, b, c, d)
                if pair not in first and hand["prr"] >= 2 and hand["chi2"] >= 4 and a >= 3:
                    first[pair] = month
        got = dict(((d, e), m) for d, e, m in con.execute(
            "SELECT drug, event, first_month_evans FROM drug_event_signals WHERE grouping = ? AND unit = ? "
            "AND first_month_evans IS NOT NULL", [grouping, unit]).fetchall())
        assert got == first, (grouping, unit)


def test_activity_and_rates(con):
    per_month = Counter(r.month for r in REPORTS)
    got = dict(con.execute("SELECT month, comments FROM activity_by_month WHERE community IS NULL").fetchall())
    assert got == dict(per_month)
    authors = dict(con.execute("SELECT month, authors FROM activity_by_month WHERE community = 'Fibromyalgia'").fetchall())
    assert authors == {m: len({r.author for r in REPORTS if r.month == m}) for m in per_month}
    rates = con.execute("""
        SELECT m.comments, m.comments_per_1000, a.comments FROM mentions_by_month AS m
        JOIN activity_by_month AS a ON a.month = m.month AND a.community IS NULL""").fetchall()
    assert rates and all(rate == pytest.approx(round(1000 * k / n, 4)) for k, rate, n in rates)
    outcome_rates = con.execute("SELECT count(*) FROM drug_outcomes_by_month WHERE comments_per_1000 IS NULL").fetchone()
    assert outcome_rates == (0,)


def test_trend_breaks_only_on_long_series(con):
    rows = con.execute("SELECT kind, series, method, month, months, significant FROM trend_breaks").fetchall()
    # Only the noise drug (named every month), its class and the adverse effects are mentioned in 24
    # months or more; the corpus (2015-07 .. 2018-06) has 8 months before the 2016 CDC guideline.
    assert {(k, s) for k, s, *_ in rows} == {("drug", "ibuprofen"), ("drug_class", "nsaid"), ("outcome", "adverse_effect")}
    its = [r for r in rows if r[2] == "its"]
    assert its and all(r[3] == date(2016, 3, 1) and r[4] == 36 for r in its)
    assert not any(r[5] for r in rows)  # a steady mention rate: no break


@pytest.mark.parametrize("declaration", [
    "aggregates/07_drug_events.yml", "aggregates/08_drug_event_shares.yml", "aggregates/00_activity_by_month.yml",
    "aggregates/10_drug_event_signals.yml",
    "aggregates/11_drug_event_signals_by_month.yml", "aggregates/12_trend_breaks.yml"])
def test_declared_columns_are_the_built_ones(con, declaration):
    import yaml

    spec = yaml.safe_load((Path(warehouse.__file__).parent / "sql" / declaration).read_text(encoding="utf-8"))
    built = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                        "ORDER BY ordinal_position", [spec["name"]]).fetchall()
    assert built == [(c["name"], c["type"]) for c in spec["columns"]]
    assert all(c["description"] and c["privacy"] == "kept" for c in spec["columns"])


def test_report_shows_signals_and_marked_trend_charts(built, tmp_path):
    from fms_pipeline.reports import report

    summary = report.build_report(built, tmp_path / "reports")
    html = summary.path.read_text(encoding="utf-8")
    assert 'id="signals"' in html and 'alt="Reporting odds ratios of the top pairs" src="data:image/png;base64,' in html
    table = html.split('id="signals-drug"', 1)[1].split("</table>", 1)[0]
    rows = [r.split("<td>")[1:3] for r in table.split("<tr>")[2:]]
    top = {(d.removesuffix("</td>"), e.removesuffix("</td>")) for d, e in rows[:3]}
    assert top == PLANTED_DRUG_SIGNALS  # sorted by IC025: the planted pairs first
    assert 'id="trend-breaks"' in html and "change points found" in html
    # The events reported most, each with its denominator: duloxetine's nausea in 8 comments of those naming it.
    shares = html.split('id="event-shares"', 1)[1].split("</table>", 1)[0]
    naming = con_count(built, "SELECT naming_drug FROM drug_event_shares WHERE drug = 'duloxetine' AND event = 'nausea'")
    assert f"<td>duloxetine</td><td>nausea</td><td>8</td><td>{naming}</td>" in shares


def test_check_warns_with_the_pairs_that_became_signals(tmp_path):
    import dagster as dg

    from fms_pipeline.defs.checks import SIGNALS_KEY, new_drug_event_signals

    found = {"pairs": ["drug/comment: duloxetine – nausea: IC025>0"]}

    @dg.asset(key=SIGNALS_KEY)
    def drug_event_signals():
        return dg.MaterializeResult(metadata={"signal_pairs": dg.MetadataValue.json(found["pairs"])})

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        def run():
            result = dg.materialize([drug_event_signals, new_drug_event_signals], instance=instance)
            (evaluation,) = result.get_asset_check_evaluations()
            return evaluation

        first = run()
        assert not first.passed and first.severity == dg.AssetCheckSeverity.WARN
        assert first.metadata["new_signals"].value == 1
        assert run().passed  # nothing new since
        found["pairs"] = ["drug/comment: duloxetine – nausea: IC025>0", "drug/comment: pregabalin – weight gain: Evans"]
        third = run()
        assert not third.passed and third.metadata["new_signals"].value == 1
        assert "pregabalin" in third.metadata["new"].value and "duloxetine" not in third.metadata["new"].value


def test_ready_queries(con):
    queries = Path(__file__).resolve().parents[1] / "queries"
    top = con.execute((queries / "drug_event_signals.sql").read_text(encoding="utf-8")).fetchall()
    assert {(r[0], r[1]) for r in top} == PLANTED_DRUG_SIGNALS
    first = con.execute((queries / "when_signals_appeared.sql").read_text(encoding="utf-8")).fetchall()
    assert {(r[0], r[1]) for r in first} == PLANTED_DRUG_SIGNALS and all(r[3] for r in first)
    for name in ("drug_rates_by_month.sql", "trend_breaks_at_policy_dates.sql"):
        assert con.execute((queries / name).read_text(encoding="utf-8")).fetchall(), name


@pytest.mark.slow
def test_dagster_shows_the_signals_and_warns_about_new_ones(tmp_path):
    """One `materialize` of the corpus: the asset pages carry the charts and the signal pairs, and the
    check warns (never blocks) listing the pairs that became signals (all, on a first build)."""
    import dagster as dg

    from fms_pipeline.defs.checks import SIGNALS_KEY
    from fms_pipeline_tests.materialized import dagster_home_env, latest_metadata, materialize_folder

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "fibromyalgia_signals.ndjson").write_text(reddit_dump(), encoding="utf-8")
    with dagster_home_env(tmp_path / "dagster_home"):
        materialize_folder(tmp_path / "data")
        metadata = latest_metadata(["warehouse", "drug_event_signals"])
        pairs = metadata["signal_pairs"].value
        assert {p.split(": ")[1] for p in pairs if p.startswith("drug/comment")} == {
            f"{d} – {e}" for d, e in PLANTED_DRUG_SIGNALS}
        assert metadata["chart"].value.startswith("![reporting odds ratios](data:image/png;base64,")
        for table in ("activity_by_month", "mentions_by_month", "drug_outcomes_by_month", "trend_breaks"):
            assert "data:image/png;base64," in latest_metadata(["warehouse", table])["chart"].value, table
        with dg.DagsterInstance.get() as instance:
            record = instance.get_latest_asset_check_evaluation_record(
                dg.AssetCheckKey(SIGNALS_KEY, "new_drug_event_signals"))
        evaluation = record.event.dagster_event.event_specific_data
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.metadata["new_signals"].value == len(pairs) == 48  # 3 pairs x 4 criteria x 4 analyses
        assert "duloxetine – nausea" in evaluation.metadata["new"].value


def test_event_shares_carry_their_denominator_and_wilson_intervals(con):
    """drug_event_shares: every drug_events pair, out of the reports naming the drug, with the Wilson
    interval statsmodels computes; the ready query reads it."""
    from statsmodels.stats.proportion import proportion_confint

    rows = con.execute("SELECT drug, event, reports, naming_drug, share, share_lower, share_upper "
                       "FROM drug_event_shares").fetchall()
    pairs = con.execute("SELECT count(*) FROM (SELECT DISTINCT drug, event FROM drug_events)").fetchone()[0]
    assert len(rows) == pairs > 0
    by_pair = {(r[0], r[1]): r for r in rows}
    _, _, reports, naming, share, lower, upper = by_pair[("duloxetine", "nausea")]
    assert reports == 8 and naming >= reports
    low, high = proportion_confint(reports, naming, alpha=0.05, method="wilson")
    assert (share, lower, upper) == (round(reports / naming, 3), round(low, 3), round(high, 3))
    assert all(0 <= r[5] <= r[4] <= r[6] <= 1 for r in rows)
    query = (Path(__file__).resolve().parents[1] / "queries" / "adverse_events_by_drug.sql").read_text()
    assert ("duloxetine", "nausea") in {(r[0], r[1]) for r in con.execute(query).fetchall()}
