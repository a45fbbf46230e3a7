-- The 2×2 tables cumulated by month: for each pair, each month (with a dated report in its grouping
-- and unit) from the pair's first month on, the counts over the units dated up to that month's end.
-- A unit enters a count in the first month it reported the pair, the drug, the event, anything.
WITH dated AS (
    SELECT * FROM signal_units WHERE month IS NOT NULL
),
months AS (
    SELECT DISTINCT grouping, unit, month FROM dated
),
new_units AS (
    SELECT grouping, unit, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
new_drug AS (
    SELECT grouping, unit, drug, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, drug, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
new_event AS (
    SELECT grouping, unit, event, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, event, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
new_pair AS (
    SELECT grouping, unit, drug, event, month, count(*) AS k FROM dated GROUP BY ALL
),
cum_units AS (
    SELECT grouping, unit, month, sum(k) OVER (PARTITION BY grouping, unit ORDER BY month) AS n FROM new_units
),
cum_drug AS (
    SELECT grouping, unit, drug, month, sum(k) OVER (PARTITION BY grouping, unit, drug ORDER BY month) AS n_drug
    FROM new_drug
),
cum_event AS (
    SELECT grouping, unit, event, month, sum(k) OVER (PARTITION BY grouping, unit, event ORDER BY month) AS n_event
    FROM new_event
),
cum_pair AS (
    SELECT grouping, unit, drug, event, month,
           sum(k) OVER (PARTITION BY grouping, unit, drug, event ORDER BY month) AS a
    FROM new_pair
),
grid AS (
    SELECT f.grouping, f.unit, f.drug, f.event, m.month
    FROM (SELECT grouping, unit, drug, event, min(month) AS first FROM new_pair GROUP BY ALL) AS f
    JOIN months AS m ON m.grouping = f.grouping AND m.unit = f.unit AND m.month >= f.first
)
SELECT g.grouping, g.unit, g.drug, g.event, g.month,
       CAST(p.a AS BIGINT) AS a,
       CAST(r.n_drug - p.a AS BIGINT) AS b,
       CAST(e.n_event - p.a AS BIGINT) AS c,
       CAST(u.n - r.n_drug - e.n_event + p.a AS BIGINT) AS d
FROM grid AS g
ASOF JOIN cum_pair AS p
  ON p.grouping = g.grouping AND p.unit = g.unit AND p.drug = g.drug AND p.event = g.event AND p.month <= g.month
ASOF JOIN cum_drug AS r
  ON r.grouping = g.grouping AND r.unit = g.unit AND r.drug = g.drug AND r.month <= g.month
ASOF JOIN cum_event AS e
  ON e.grouping = g.grouping AND e.unit = g.unit AND e.event = g.event AND e.month <= g.month
ASOF JOIN cum_units AS u
  ON u.grouping = g.grouping AND u.unit = g.unit AND u.month <= g.month
ORDER BY g.grouping, g.unit, g.drug, g.event, g.month;
