-- drug_outcomes by calendar month (UTC), for trends: outcomes linked to a drug, not negated, not
-- hypothetical. An outcome in a comment counts in the month of the comment's published_at, or of
-- its document's when the comment has none; one in the article body in its document's month.
-- Outcomes with no date at all (a copied-text page and its comments carry none) are left out here;
-- drug_outcomes counts them. month: the first day of the month, as a DATE.
CREATE TABLE drug_outcomes_by_month AS
WITH dated AS (
    SELECT o.drug, o.outcome, o.comment_id,
           coalesce(c.published_at, d.published_at) AS published_at
    FROM outcome_mentions AS o
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON c.comment_id = o.comment_id
    WHERE o.drug IS NOT NULL AND NOT o.negated AND NOT o.hypothetical
)
SELECT drug,
       outcome,
       CAST(date_trunc('month', timezone('UTC', published_at)) AS DATE) AS month,
       count(*) AS mentions,
       count(DISTINCT comment_id) AS comments
FROM dated
WHERE published_at IS NOT NULL
GROUP BY drug, outcome, month
ORDER BY month, mentions DESC, drug, outcome;
