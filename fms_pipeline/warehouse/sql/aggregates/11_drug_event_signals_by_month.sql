-- drug_event_signals cumulated month by month ("when would we have known"): for each pair reported
-- by at least 3 dated units (comments or authors), grouping and unit, each month from the pair's
-- first dated report on (months with a dated report in the
-- grouping and unit), the 2×2 table over the units dated up to that month's end and every statistic
-- and flag on it (computed by fms_pipeline.signals with the build's GPS hyperparameters, registered
-- as drug_event_statistics_by_month before drug_event_signals is built). Undated reports are left out.
-- ebgm and eb05 are NULL where EB05 >= 2 is impossible (disproportionality.may_reach_eb05).
CREATE TABLE drug_event_signals_by_month AS
SELECT grouping, unit, drug, event, month,
       a, b, c, d, expected,
       prr, prr_lower, prr_upper, chi2,
       ror, ror_lower, ror_upper,
       ic, ic025, ic975, ebgm, eb05,
       signal_evans, signal_ror, signal_ic, signal_ebgm
FROM drug_event_statistics_by_month
ORDER BY grouping, unit, drug, event, month;
