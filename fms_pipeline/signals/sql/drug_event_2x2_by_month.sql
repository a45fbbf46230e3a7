-- The 2×2 tables cumulated by month: for each pair reported by at least 3 dated units (Evans' a >= 3;
-- the month-by-month EB05 of the long tail of pairs seen once or twice would cost most of the build
-- and tell little), each month (with a dated report in its grouping and unit) from the pair's first
-- month on, the counts over the units dated up to that month's end. A unit enters a count in the
-- first month it reported the pair, the drug, the event, anything. Cumulative sums over dense
-- (drug × month), (event × month) and (unit × month) grids joined by equality (twice as fast as
-- as-of joins on the sparse sums).
WITH dated AS (
    SELECT * FROM signal_units WHERE month IS NOT NULL
),
months AS (
    SELECT DISTINCT grouping, unit, month FROM dated
),
first_unit AS (
    SELECT grouping, unit, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
first_drug AS (
    SELECT grouping, unit, drug, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, drug, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
first_event AS (
    SELECT grouping, unit, event, month, count(*) AS k
    FROM (SELECT grouping, unit, unit_id, event, min(month) AS month FROM dated GROUP BY ALL)
    GROUP BY ALL
),
first_pair AS (
    SELECT grouping, unit, drug, event, month, count(*) AS k FROM dated GROUP BY ALL
),
pairs AS (  -- reported by at least 3 dated units
    SELECT grouping, unit, drug, event, min(month) AS first FROM first_pair GROUP BY ALL HAVING sum(k) >= 3
),
units_by_month AS (
    SELECT m.grouping, m.unit, m.month,
           sum(coalesce(f.k, 0)) OVER (PARTITION BY m.grouping, m.unit ORDER BY m.month) AS n
    FROM months AS m LEFT JOIN first_unit AS f USING (grouping, unit, month)
),
drug_by_month AS (
    SELECT g.grouping, g.unit, g.drug, g.month,
           sum(coalesce(f.k, 0)) OVER (PARTITION BY g.grouping, g.unit, g.drug ORDER BY g.month) AS n_drug
    FROM (SELECT DISTINCT p.grouping, p.unit, p.drug, m.month FROM pairs AS p
          JOIN months AS m ON m.grouping = p.grouping AND m.unit = p.unit) AS g
    LEFT JOIN first_drug AS f USING (grouping, unit, drug, month)
),
event_by_month AS (
    SELECT g.grouping, g.unit, g.event, g.month,
           sum(coalesce(f.k, 0)) OVER (PARTITION BY g.grouping, g.unit, g.event ORDER BY g.month) AS n_event
    FROM (SELECT DISTINCT p.grouping, p.unit, p.event, m.month FROM pairs AS p
          JOIN months AS m ON m.grouping = p.grouping AND m.unit = p.unit) AS g
    LEFT JOIN first_event AS f USING (grouping, unit, event, month)
),
pair_by_month AS (
    SELECT p.grouping, p.unit, p.drug, p.event, m.month,
           sum(coalesce(f.k, 0)) OVER (PARTITION BY p.grouping, p.unit, p.drug, p.event ORDER BY m.month) AS a
    FROM pairs AS p
    JOIN months AS m ON m.grouping = p.grouping AND m.unit = p.unit AND m.month >= p.first
    LEFT JOIN first_pair AS f
      ON f.grouping = p.grouping AND f.unit = p.unit AND f.drug = p.drug AND f.event = p.event AND f.month = m.month
)
SELECT p.grouping, p.unit, p.drug, p.event, p.month,
       CAST(p.a AS BIGINT) AS a,
       CAST(r.n_drug - p.a AS BIGINT) AS b,
       CAST(e.n_event - p.a AS BIGINT) AS c,
       CAST(u.n - r.n_drug - e.n_event + p.a AS BIGINT) AS d
FROM pair_by_month AS p
JOIN drug_by_month AS r USING (grouping, unit, drug, month)
JOIN event_by_month AS e USING (grouping, unit, event, month)
JOIN units_by_month AS u USING (grouping, unit, month)
ORDER BY p.grouping, p.unit, p.drug, p.event, p.month;
