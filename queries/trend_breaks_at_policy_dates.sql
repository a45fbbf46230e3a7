-- Did the rate change at a policy date? Interrupted-time-series estimates for every drug, drug class
-- and outcome series with at least 24 months (level change in comments per 1,000 comments, 95% CI, p),
-- and the change points found without being told where to look.
SELECT kind, series, method, month, policy,
       round(rate_before, 2) AS rate_before, round(rate_after, 2) AS rate_after,
       round(level_change, 2) AS level_change, round(level_lower, 2) AS level_lower,
       round(level_upper, 2) AS level_upper, round(level_p, 4) AS level_p,
       round(slope_change, 3) AS slope_change, round(slope_p, 4) AS slope_p, significant
FROM trend_breaks
ORDER BY significant DESC, kind, series, month;
