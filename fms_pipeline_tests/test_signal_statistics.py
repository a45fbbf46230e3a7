"""The disproportionality statistics and the trend breaks, on published worked examples, against
vigipy and scipy where they compute the same thing, and on simulated monthly series."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
import vigipy
from scipy.stats import chi2_contingency

from fms_pipeline.signals import disproportionality as dp
from fms_pipeline.signals import trends

# Published worked examples (PRR and ROR with 95% CIs, to two decimals).
WORKED = [
    # a, b, c, d, PRR (lower, upper), ROR (lower, upper)
    (28, 942, 17, 31435, (53.41, 29.33, 97.24), (54.96, 29.98, 100.76)),
    (122, 1320, 381, 31341, (7.04, 5.78, 8.58), (7.60, 6.16, 9.39)),
]


@pytest.mark.parametrize(("a", "b", "c", "d", "expected_prr", "expected_ror"), WORKED)
def test_prr_and_ror_match_published_worked_examples(a, b, c, d, expected_prr, expected_ror):
    assert tuple(np.round(np.concatenate(dp.prr(a, b, c, d)), 2)) == expected_prr
    assert tuple(np.round(np.concatenate(dp.ror(a, b, c, d)), 2)) == expected_ror


def test_chi2_is_scipys_yates_corrected_chi2():
    tables = [(28, 942, 17, 31435), (122, 1320, 381, 31341), (3, 10, 4, 40), (1, 20, 30, 500), (5, 5, 5, 5)]
    ours = dp.chi2_yates(*np.array(tables).T)
    for value, (a, b, c, d) in zip(ours, tables):
        assert value == pytest.approx(chi2_contingency([[a, b], [c, d]], correction=True)[0], rel=1e-12, abs=1e-12)
    assert ours[-1] == 0.0  # |ad - bc| < N/2: the correction stops at 0


def test_zero_cells():
    # c = 0: the event reported with this drug only; Haldane-Anscombe gives a finite PRR and ROR.
    p, p_low, _ = dp.prr(4, 6, 0, 90)
    assert p[0] == pytest.approx((4.5 / 11) / (0.5 / 91), rel=1e-12)
    assert np.isfinite(p_low[0]) and p_low[0] > 1
    r, _, _ = dp.ror(4, 0, 6, 90)
    assert r[0] == pytest.approx(4.5 * 90.5 / (0.5 * 6.5), rel=1e-12)
    # Every report has the event: no comparison, no chi-square, no Evans signal.
    s = dp.statistics([3], [0], [5], [0])
    assert np.isnan(s["chi2"][0]) and not s["signal_evans"][0]
    # a = 0: IC below 0, nothing flagged.
    s = dp.statistics([0], [10], [10], [80])
    assert s["ic"][0] == pytest.approx(np.log2(0.5 / (10 * 10 / 100 + 0.5)), rel=1e-12)
    assert not any(s[f][0] for f in dp.FLAGS)
    with pytest.raises(ValueError, match="counts"):
        dp.statistics([-1], [1], [1], [1])


def test_information_component_and_its_lower_bound():
    a, b, c, d = 28, 942, 17, 31435
    expected = (a + b) * (a + c) / (a + b + c + d)
    ic, ic025, ic975 = dp.information_component(a, expected)
    assert ic[0] == pytest.approx(np.log2((a + 0.5) / (expected + 0.5)), rel=1e-12)
    assert ic025[0] < ic[0] < ic975[0]
    # Norén et al. 2013's closed form approximates the gamma quantile to within 0.05 for a >= 1.
    counts = np.array([1, 2, 3, 5, 10, 30, 100, 1000], dtype=float)
    ic, ic025, _ = dp.information_component(counts, np.full(len(counts), 1.3))
    approx = ic - 3.3 * (counts + 0.5) ** -0.5 - 2 * (counts + 0.5) ** -1.5
    assert np.max(np.abs(ic025 - approx)) < 0.05


@pytest.fixture(scope="module")
def one_drug_one_event_reports():
    """Reports with one drug and one event each, so vigipy's contingency totals are the 2x2 margins:
    (drug, event, reports), with zero cells (pairs never reported) among them."""
    rng = np.random.default_rng(7)
    drugs, events = [f"drug{i}" for i in range(8)], [f"event{j}" for j in range(10)]
    rows = [(dr, ev, int(rng.poisson(2 + 25 * (i == j)))) for i, dr in enumerate(drugs) for j, ev in enumerate(events)]
    rows.append(("rare drug", "rare event", 2))  # b = c = 0
    frame = pd.DataFrame(rows, columns=["name", "AE", "count"])
    return frame[frame["count"] > 0].reset_index(drop=True)


def _our_tables(frame: pd.DataFrame):
    n = frame["count"].sum()
    drug_totals = frame.groupby("name")["count"].sum()
    event_totals = frame.groupby("AE")["count"].sum()
    a = frame["count"].to_numpy(float)
    b = drug_totals[frame["name"]].to_numpy(float) - a
    c = event_totals[frame["AE"]].to_numpy(float) - a
    return a, b, c, n - a - b - c


@pytest.mark.parametrize(("method", "ours"), [(vigipy.prr, dp.prr), (vigipy.ror, dp.ror)])
def test_prr_and_ror_equal_vigipys(one_drug_one_event_reports, method, ours):
    frame = one_drug_one_event_reports
    result = method(vigipy.convert(frame), min_events=1, decision_metric="rank").all_signals
    theirs = result.set_index(["Product", "Adverse Event"])
    a, b, c, d = _our_tables(frame)
    value, lower, upper = ours(a, b, c, d)
    column = "PRR" if method is vigipy.prr else "ROR"
    keys = list(zip(frame["name"], frame["AE"]))
    assert np.allclose(value, theirs.loc[keys, column].to_numpy(), rtol=1e-12)
    assert np.allclose(lower, theirs.loc[keys, "CI Lower"].to_numpy(), rtol=1e-12)
    assert np.allclose(upper, theirs.loc[keys, "CI Upper"].to_numpy(), rtol=1e-12)
    assert ((b == 0) | (c == 0)).any()  # the zero-cell correction was exercised


def test_ebgm_equals_vigipys_gps(one_drug_one_event_reports):
    frame = one_drug_one_event_reports
    theirs = vigipy.gps(vigipy.convert(frame), min_events=1, decision_metric="rank").all_signals
    theirs = theirs.set_index(["Product", "Adverse Event"])
    a, b, c, d = _our_tables(frame)
    priors = dp.fit_gps_priors(a, b, c, d)
    ebgm, eb05 = dp.ebgm(a, b, c, d, priors)
    keys = list(zip(frame["name"], frame["AE"]))
    assert np.allclose(ebgm, theirs.loc[keys, "EBGM"].to_numpy(), rtol=1e-6)
    assert np.allclose(eb05, theirs.loc[keys, "LowerBound"].to_numpy(), rtol=1e-6)
    # The planted diagonal (drug i with event i, ~27 reports against ~2) is what GPS flags.
    flagged = {(dr, ev) for (dr, ev), e in zip(keys, eb05) if e >= 2}
    assert flagged == {(f"drug{i}", f"event{i}") for i in range(8)}
    # The priors, once fitted, are reused: the same EBGM from a subset of the pairs.
    sub_ebgm, _ = dp.ebgm(a[:5], b[:5], c[:5], d[:5], priors)
    assert np.allclose(sub_ebgm, ebgm[:5], rtol=1e-12)


def test_signal_criteria():
    # a = 2 with a large PRR: no Evans signal (a >= 3) and IC025 shrinks it below 0; ROR025 > 1 flags it.
    s = dp.statistics([2, 3], [1, 1], [2, 3], [500, 500])
    assert list(s["signal_evans"]) == [False, True]
    assert list(s["signal_ic"]) == [False, True]
    assert list(s["signal_ror"]) == [True, True]
    assert np.isnan(s["eb05"]).all() and not s["signal_ebgm"].any()  # no priors given


# --- trend breaks -------------------------------------------------------------------------------

MONTHS = [date(2013 + i // 12, i % 12 + 1, 1) for i in range(84)]  # 2013-01 .. 2019-12
CDC_2016 = date(2016, 3, 1)


def _series(rng, shift_at: date | None = None, comments: int = 2000, p: float = 0.02) -> np.ndarray:
    """A rate per 1,000 comments: binomial counts, +50% from ``shift_at`` on."""
    prob = np.array([p * (1.5 if shift_at and m >= shift_at else 1.0) for m in MONTHS])
    return 1000 * rng.binomial(comments, prob) / comments


def test_policy_dates_shipped_and_added(tmp_path, monkeypatch):
    shipped = trends.policy_dates(extra=[])
    assert [d.day for d in shipped] == [date(2016, 3, 15), date(2019, 4, 9), date(2022, 11, 4)]
    assert all(d.source for d in shipped)
    extra = tmp_path / "mine.csv"
    extra.write_text("date,name,source\n2017-10-26,Opioid public health emergency,HHS declaration\n", encoding="utf-8")
    monkeypatch.setenv(trends.POLICY_DATES_ENV, str(extra))
    assert [d.name for d in trends.policy_dates()][1] == "Opioid public health emergency"
    extra.write_text("date,name,source\n26/10/2017,x,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mine.csv: row 2"):
        trends.policy_dates()


def test_planted_level_shift_is_found_at_the_policy_month():
    rng = np.random.default_rng(11)
    rates = _series(rng, shift_at=CDC_2016)
    rows = trends.breaks(MONTHS, rates, trends.policy_dates(extra=[]))
    pelt = [r for r in rows if r["method"] == "pelt"]
    assert len(pelt) == 1 and abs(trends.month_number(pelt[0]["month"]) - trends.month_number(CDC_2016)) <= 1
    its = {r["policy"]: r for r in rows if r["method"] == "its"}
    cdc = its["CDC opioid prescribing guideline"]
    assert cdc["level_lower"] > 0 and cdc["significant"]
    assert cdc["level_change"] == pytest.approx(10.0, abs=3.0)  # 20 -> 30 per 1,000 comments


def test_false_alarm_rate_on_null_series():
    rng = np.random.default_rng(2026)
    policies = trends.policy_dates(extra=[])
    pelt_alarms = its_alarms = its_tests = 0
    for _ in range(200):
        rows = trends.breaks(MONTHS, _series(rng), policies)
        pelt_alarms += any(r["method"] == "pelt" for r in rows)
        its_rows = [r for r in rows if r["method"] == "its"]
        its_tests += len(its_rows)
        its_alarms += sum(r["significant"] for r in its_rows)
    print(f"\nnull series: PELT break in {pelt_alarms}/200 series ({pelt_alarms / 2:.1f}%); "
          f"ITS level change significant in {its_alarms}/{its_tests} tests ({100 * its_alarms / its_tests:.1f}%)")
    assert pelt_alarms / 200 < 0.10
    assert its_alarms / its_tests < 0.10


def test_short_series_are_not_analysed():
    rng = np.random.default_rng(3)
    assert trends.breaks(MONTHS[:23], _series(rng)[:23], trends.policy_dates(extra=[])) == []


# --- the reference set and the ranking measure ----------------------------------------------

def test_reference_set_names_known_drugs_and_events():
    from fms_pipeline.nlp.drug_lexicon import drug_lexicon, read_vocabulary
    from fms_pipeline.signals import evaluation

    rows = evaluation.reference_set()
    canonicals = {e.canonical for e in drug_lexicon().values()}
    events = set(read_vocabulary("adverse_events.tsv")) | set(read_vocabulary("conditions.tsv"))
    assert rows and all(d in canonicals and e in events for d, e, _ in rows)
    assert len({(d, e) for d, e, _ in rows}) == len(rows)  # no pair both known and a control
    assert {k for _, _, k in rows} == {True, False}
    assert evaluation.generic_name("effexor-xr") == "venlafaxine"
    assert evaluation.generic_name("adipex-p") == "phentermine"
    assert evaluation.generic_name("no-such-drug") is None


def test_auc():
    from fms_pipeline.signals.evaluation import auc

    assert auc([3, 2], [1, 0]) == 1.0
    assert auc([0], [1]) == 0.0
    assert auc([1, 1], [1, 1]) == 0.5
    assert auc([2, 0.5], [1]) == 0.5


def test_ebgm_screen_never_drops_a_table_that_reaches_the_criterion():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 40, 3000).astype(float)
    b, c = rng.integers(0, 200, 3000).astype(float), rng.integers(0, 200, 3000).astype(float)
    d = np.full(3000, 5000.0)
    priors = dp.GpsPriors(0.2, 0.06, 1.4, 1.8, 0.1)
    _, eb05 = dp.ebgm(a, b, c, d, priors)
    kept = dp.may_reach_eb05(a, dp.expected_count(a, b, c, d), priors, 2.0)
    assert (eb05 >= 2).any() and not (eb05[~kept] >= 2).any()
    assert kept.mean() < 0.8  # it does screen
    screened = dp.statistics(a, b, c, d, priors, screen_ebgm=True)
    assert np.array_equal(screened["signal_ebgm"], eb05 >= 2)
    assert np.allclose(screened["eb05"][kept], eb05[kept], rtol=1e-12) and np.isnan(screened["eb05"][~kept]).all()


def test_two_by_two_cells_partition_the_reports_about_a_drug():
    """On random reports (several drugs and events per comment, prolific authors), the SQL's 2×2 cells are
    counts of disjoint sets of (report, drug) units, equal to a brute-force count."""
    import duckdb
    import polars as pl

    from fms_pipeline.signals import build

    rng = np.random.default_rng(9)
    rows = []
    for comment in range(400):
        author = f"u{rng.integers(0, 60)}"
        for drug in rng.choice(["d1", "d2", "d3", "d4"], size=rng.integers(1, 3), replace=False):
            for event in rng.choice(["e1", "e2", "e3", "e4", "e5"], size=rng.integers(1, 3), replace=False):
                rows.append((f"c{comment}", author, str(drug), str(event)))
    frame = pl.DataFrame(rows, schema=["comment_id", "author", "drug", "event"], orient="row").unique()
    with duckdb.connect() as con:
        con.register("drug_events", frame.select(
            "comment_id", pl.lit("doc").alias("document_id"), "drug", pl.lit("DRUG").alias("drug_label"),
            pl.lit("x").alias("drug_class"), "event", pl.lit(None, dtype=pl.Date).alias("month")).to_arrow())
        con.register("documents", pl.DataFrame({"document_id": ["doc"], "community": ["c"], "byline": [None]},
                                               schema={"document_id": pl.String, "community": pl.String,
                                                       "byline": pl.String}).to_arrow())
        con.register("comments", frame.select("comment_id", "author", pl.lit(False).alias("author_is_anonymous"))
                     .unique().to_arrow())
        con.execute(build.query("signal_units.sql"))
        counts = con.sql(build.query("drug_event_2x2.sql")).pl().filter(pl.col("grouping") == "drug")
    for unit, key in (("comment", "comment_id"), ("author", "author")):
        reports: dict = {}
        for r in frame.iter_rows(named=True):
            reports.setdefault((r[key], r["drug"]), set()).add(r["event"])
        part = counts.filter(pl.col("unit") == unit)
        for drug, event, a, b, c, d in part.select("drug", "event", "a", "b", "c", "d").iter_rows():
            expected = (sum(dr == drug and event in ev for (_, dr), ev in reports.items()),
                        sum(dr == drug and event not in ev for (_, dr), ev in reports.items()),
                        sum(dr != drug and event in ev for (_, dr), ev in reports.items()),
                        sum(dr != drug and event not in ev for (_, dr), ev in reports.items()))
            assert (a, b, c, d) == expected, (unit, drug, event)
        assert set((part["a"] + part["b"] + part["c"] + part["d"]).to_list()) == {len(reports)}
