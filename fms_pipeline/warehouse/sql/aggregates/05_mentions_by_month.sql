-- Mentions per entity and calendar month (UTC), for trends. A mention in a comment counts in the
-- month of the comment's published_at, or of its document's when the comment has none; a mention
-- in the article body counts in its document's month. Mentions with no date at all (a copied-text
-- page and its comments carry none) are left out here; entity_counts counts them.
-- month: the first day of the month, as a DATE. Rates per 1,000 comments dated that month (all
-- communities; activity_by_month): mentions_per_1000 and comments_per_1000; documents_per_1000 per 1,000
-- documents with any text dated that month (active_documents). NULL when the month has none.
CREATE TABLE mentions_by_month AS
WITH dated AS (
    SELECT m.label, m.canonical, m.comment_id, m.document_id,
           coalesce(c.published_at, d.published_at) AS published_at
    FROM entity_mentions AS m
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON c.comment_id = m.comment_id
),
counted AS (
    SELECT label,
           canonical,
           CAST(date_trunc('month', timezone('UTC', published_at)) AS DATE) AS month,
           count(*) AS mentions,
           count(DISTINCT comment_id) AS comments,
           count(DISTINCT document_id) AS documents
    FROM dated
    WHERE published_at IS NOT NULL
    GROUP BY label, canonical, month
)
SELECT m.label, m.canonical, m.month, m.mentions, m.comments, m.documents,
       round(1000.0 * m.mentions / nullif(a.comments, 0), 4) AS mentions_per_1000,
       round(1000.0 * m.comments / nullif(a.comments, 0), 4) AS comments_per_1000,
       round(1000.0 * m.documents / nullif(a.active_documents, 0), 4) AS documents_per_1000
FROM counted AS m
LEFT JOIN activity_by_month AS a ON a.month = m.month AND a.community IS NULL
ORDER BY m.month, m.mentions DESC, m.label, m.canonical;
