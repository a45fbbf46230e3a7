-- The 2×2 table of every drug–event pair reported at least once, per grouping and unit, over the
-- reports about a drug (signal_units: a comment's, or an author's, report about one drug): a = reports
-- about the drug naming the event, b = about the drug without it, c = about other drugs naming it,
-- d = about other drugs without it.
WITH n AS (
    SELECT grouping, unit, count(DISTINCT unit_id) AS n FROM signal_units GROUP BY ALL
),
per_drug AS (
    SELECT grouping, unit, drug, count(DISTINCT unit_id) AS n_drug FROM signal_units GROUP BY ALL
),
per_event AS (
    SELECT grouping, unit, event, count(DISTINCT unit_id) AS n_event FROM signal_units GROUP BY ALL
),
pairs AS (
    SELECT grouping, unit, drug, event, count(*) AS a FROM signal_units GROUP BY ALL
)
SELECT p.grouping, p.unit, p.drug, p.event,
       p.a,
       r.n_drug - p.a AS b,
       e.n_event - p.a AS c,
       n.n - r.n_drug - e.n_event + p.a AS d
FROM pairs AS p
JOIN per_drug AS r USING (grouping, unit, drug)
JOIN per_event AS e USING (grouping, unit, event)
JOIN n USING (grouping, unit)
ORDER BY p.grouping, p.unit, p.drug, p.event;
