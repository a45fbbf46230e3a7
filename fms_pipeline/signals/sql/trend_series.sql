-- The monthly series trend_breaks analyses: per drug (generic name), drug class (its drugs and its
-- class words) and outcome (any drug), the comments that mention it each month, and the rate per
-- 1,000 comments dated that month (all communities, activity_by_month). Asserted mentions only (not
-- negated, not hypothetical); dated as mentions_by_month (the comment's date, else its document's).
-- Every month from the series' first to its last month is listed, 0 when nothing mentions it; months
-- without any comment have no rate and are left out.
WITH activity AS (
    SELECT month, comments FROM activity_by_month WHERE community IS NULL AND comments > 0
),
classes AS (
    SELECT drug, unnest(string_split(drug_class, '/')) AS drug_class FROM drugs WHERE coalesce(drug_class, '') <> ''
),
entity_series AS (
    SELECT 'drug' AS kind, m.canonical AS series, m.comment_id, m.document_id
    FROM entity_mentions AS m
    WHERE m.label = 'DRUG' AND m.comment_id IS NOT NULL AND NOT m.negated AND NOT m.hypothetical
    UNION ALL
    SELECT 'drug_class', coalesce(k.drug_class, m.canonical), m.comment_id, m.document_id
    FROM entity_mentions AS m
    LEFT JOIN classes AS k ON m.label = 'DRUG' AND k.drug = m.canonical
    WHERE m.label IN ('DRUG', 'DRUG_CLASS') AND m.comment_id IS NOT NULL AND NOT m.negated AND NOT m.hypothetical
      AND (m.label = 'DRUG_CLASS' OR k.drug_class IS NOT NULL)
    UNION ALL
    SELECT 'outcome', o.outcome, o.comment_id, o.document_id
    FROM outcome_mentions AS o
    WHERE o.comment_id IS NOT NULL AND NOT o.negated AND NOT o.hypothetical
),
counted AS (
    SELECT s.kind, s.series,
           CAST(date_trunc('month', timezone('UTC', coalesce(c.published_at, d.published_at))) AS DATE) AS month,
           count(DISTINCT s.comment_id) AS comments
    FROM entity_series AS s
    JOIN comments AS c USING (comment_id)
    JOIN documents AS d ON d.document_id = s.document_id
    WHERE coalesce(c.published_at, d.published_at) IS NOT NULL
    GROUP BY ALL
),
spans AS (
    SELECT kind, series, min(month) AS first, max(month) AS last FROM counted GROUP BY ALL
)
SELECT s.kind, s.series, a.month, coalesce(k.comments, 0) AS comments,
       1000.0 * coalesce(k.comments, 0) / a.comments AS rate
FROM spans AS s
JOIN activity AS a ON a.month BETWEEN s.first AND s.last
LEFT JOIN counted AS k ON k.kind = s.kind AND k.series = s.series AND k.month = a.month
ORDER BY s.kind, s.series, a.month;
