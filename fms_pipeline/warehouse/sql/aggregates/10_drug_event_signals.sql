-- Disproportionality of every drug–event pair reported at least once (drug_events), per grouping
-- ('drug': generic drugs; 'drug_class') and unit ('comment': reports; 'author': people, one prolific
-- poster counting once). a, b, c, d: the 2×2 table over the reports about a drug (a comment's, or an
-- author's, report about one drug: a comment about two drugs is two reports), counted in DuckDB
-- (fms_pipeline/signals/sql/); the statistics and flags are computed in Python by
-- fms_pipeline.signals and registered as drug_event_statistics just before this file runs:
-- PRR (95% CI) and Yates' χ², ROR (95% CI), IC and its 95% credibility interval, EBGM and EB05
-- (vigipy's GPS, hyperparameters fitted once per build per grouping and unit: gps_priors).
-- signal_evans: PRR >= 2, χ² >= 4, a >= 3; signal_ror: ROR025 > 1; signal_ic: IC025 > 0;
-- signal_ebgm: EB05 >= 2; criteria_met: how many of the four; first_month_<criterion>: the first
-- month the pair met it on the reports dated up to then (drug_event_signals_by_month: pairs with at
-- least 3 dated reports; NULL for the others).
CREATE TABLE drug_event_signals AS
SELECT s.grouping, s.unit, s.drug, s.event, k.event_code,
       s.a, s.b, s.c, s.d, s.expected,
       s.prr, s.prr_lower, s.prr_upper, s.chi2,
       s.ror, s.ror_lower, s.ror_upper,
       s.ic, s.ic025, s.ic975, s.ebgm, s.eb05,
       s.signal_evans, s.signal_ror, s.signal_ic, s.signal_ebgm, s.criteria_met,
       s.first_month_evans, s.first_month_ror, s.first_month_ic, s.first_month_ebgm,
       s.gps_priors
FROM drug_event_statistics AS s
LEFT JOIN (SELECT event, min(event_code) AS event_code FROM drug_events GROUP BY event) AS k USING (event)
ORDER BY s.grouping, s.unit, s.ic025 DESC, s.drug, s.event;
