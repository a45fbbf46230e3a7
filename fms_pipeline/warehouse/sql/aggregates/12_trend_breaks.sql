-- Breaks in the monthly rate (comments mentioning it per 1,000 comments that month) of every drug,
-- drug class and outcome series mentioned in at least 24 months (fms_pipeline/signals/sql/trend_series.sql),
-- computed by fms_pipeline.signals.trends and registered as trend_break_estimates before this file runs.
-- method 'pelt': a change point (ruptures PELT, modified-BIC penalty): month is the first month of the
--   new level, rate_before/rate_after the segments' mean rates, level_change their difference;
-- method 'its': an interrupted time series at a policy date (policy; policy_dates.csv and
--   $FMS_POLICY_DATES): segmented regression with AR(1) errors; level_change (95% CI, p) is the jump
--   at the policy's month, slope_change (95% CI, p) the change of the monthly trend; rate_before is
--   the pre-policy line at that month; significant: the level change's CI excludes 0 (always true
--   for 'pelt'). months: the series' length.
CREATE TABLE trend_breaks AS
SELECT kind, series, method, month, policy,
       rate_before, rate_after, level_change, level_lower, level_upper, level_p,
       slope_change, slope_lower, slope_upper, slope_p, significant, months
FROM trend_break_estimates
ORDER BY kind, series, month, method;
