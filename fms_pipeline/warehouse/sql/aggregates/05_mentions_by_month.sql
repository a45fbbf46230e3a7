-- Mentions per entity and calendar month (UTC), for trends. A mention in a comment counts in the
-- month of the comment's published_at, or of its document's when the comment has none; a mention
-- in the article body counts in its document's month. Mentions with no date at all (a copied-text
-- page and its comments carry none) are left out here; entity_counts counts them.
-- month: the first day of the month, as a DATE.
CREATE TABLE mentions_by_month AS
WITH dated AS (
    SELECT m.label, m.canonical, m.comment_id, m.document_id,
           coalesce(c.published_at, d.published_at) AS published_at
    FROM entity_mentions AS m
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON c.comment_id = m.comment_id
)
SELECT label,
       canonical,
       CAST(date_trunc('month', timezone('UTC', published_at)) AS DATE) AS month,
       count(*) AS mentions,
       count(DISTINCT comment_id) AS comments,
       count(DISTINCT document_id) AS documents
FROM dated
WHERE published_at IS NOT NULL
GROUP BY label, canonical, month
ORDER BY month, mentions DESC, label, canonical;
