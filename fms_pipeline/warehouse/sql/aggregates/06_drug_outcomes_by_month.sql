-- drug_outcomes by calendar month (UTC), for trends: outcomes linked to a drug, not negated, not
-- hypothetical. An outcome in a comment counts in the month of the comment's published_at, or of
-- its document's when the comment has none; one in the article body in its document's month.
-- Outcomes with no date at all (a copied-text page and its comments carry none) are left out here;
-- drug_outcomes counts them. month: the first day of the month, as a DATE. mentions_per_1000 and
-- comments_per_1000: per 1,000 comments dated that month (all communities; activity_by_month), NULL
-- when the month has no comment.
CREATE TABLE drug_outcomes_by_month AS
WITH dated AS (
    SELECT o.drug, o.outcome, o.comment_id,
           coalesce(c.published_at, d.published_at) AS published_at
    FROM outcome_mentions AS o
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON c.comment_id = o.comment_id
    WHERE o.drug IS NOT NULL AND NOT o.negated AND NOT o.hypothetical
),
counted AS (
    SELECT drug,
           outcome,
           CAST(date_trunc('month', timezone('UTC', published_at)) AS DATE) AS month,
           count(*) AS mentions,
           count(DISTINCT comment_id) AS comments
    FROM dated
    WHERE published_at IS NOT NULL
    GROUP BY drug, outcome, month
)
SELECT o.drug, o.outcome, o.month, o.mentions, o.comments,
       round(1000.0 * o.mentions / nullif(a.comments, 0), 4) AS mentions_per_1000,
       round(1000.0 * o.comments / nullif(a.comments, 0), 4) AS comments_per_1000
FROM counted AS o
LEFT JOIN activity_by_month AS a ON a.month = o.month AND a.community IS NULL
ORDER BY o.month, o.mentions DESC, o.drug, o.outcome;
