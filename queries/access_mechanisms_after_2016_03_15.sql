-- Which mechanisms of access loss rose after 2016-03-15 (the CDC opioid guideline): comments reporting each
-- mechanism per 1,000 comments published before and after that day (UTC; undated texts left out), and the
-- ratio after/before. A text is a comment or an article's own body.
WITH texts AS (
    SELECT coalesce(c.published_at, d.published_at) AS published_at
    FROM comments AS c JOIN documents AS d USING (document_id)
    UNION ALL
    SELECT published_at FROM documents WHERE trim(coalesce(body, '')) <> ''
),
periods AS (
    SELECT published_at >= TIMESTAMPTZ '2016-03-15 00:00:00+00' AS after, count(*) AS texts
    FROM texts WHERE published_at IS NOT NULL GROUP BY after
),
events AS (
    SELECT mechanism, published_at >= TIMESTAMPTZ '2016-03-15 00:00:00+00' AS after,
           count(DISTINCT coalesce(comment_id, document_id || ':a')) AS comments
    FROM access_loss_events WHERE published_at IS NOT NULL GROUP BY mechanism, after
),
rates AS (
    SELECT m.mechanism,
           coalesce(b.comments, 0) AS comments_before,
           round(1000.0 * coalesce(b.comments, 0) / nullif((SELECT texts FROM periods WHERE NOT after), 0), 3) AS rate_before,
           coalesce(a.comments, 0) AS comments_after,
           round(1000.0 * coalesce(a.comments, 0) / nullif((SELECT texts FROM periods WHERE after), 0), 3) AS rate_after
    FROM (SELECT DISTINCT mechanism FROM events) AS m
    LEFT JOIN events AS b ON b.mechanism = m.mechanism AND NOT b.after
    LEFT JOIN events AS a ON a.mechanism = m.mechanism AND a.after
)
SELECT mechanism, comments_before, rate_before, comments_after, rate_after,
       round(rate_after / nullif(rate_before, 0), 2) AS ratio_after_to_before
FROM rates
ORDER BY rate_after - coalesce(rate_before, 0) DESC NULLS LAST, mechanism;
