-- Access loss by calendar month (UTC), per mechanism and actor, with rates per 1,000 texts of the month
-- (comments plus articles' own bodies, dated as in mentions_by_month), so trends can be tested at policy
-- dates (the CDC guideline of 2016-03-15). A text counts once per row however many events it has;
-- mechanism_* and access_loss_* repeat the month's totals on every row (distinct texts, any actor /
-- any mechanism). Undated events and texts are left out. month: the first day of the month, as a DATE.
CREATE TABLE access_loss_by_month AS
WITH texts AS (
    SELECT coalesce(c.published_at, d.published_at) AS published_at
    FROM comments AS c
    JOIN documents AS d USING (document_id)
    UNION ALL
    SELECT d.published_at
    FROM documents AS d
    WHERE d.body IS NOT NULL AND trim(d.body) <> ''
),
per_month AS (
    SELECT CAST(date_trunc('month', timezone('UTC', published_at)) AS DATE) AS month, count(*) AS texts
    FROM texts
    WHERE published_at IS NOT NULL
    GROUP BY month
),
events AS (
    SELECT CAST(date_trunc('month', timezone('UTC', e.published_at)) AS DATE) AS month, e.mechanism, e.actor,
           coalesce(e.comment_id, e.document_id || ':a') AS text_id
    FROM access_loss_events AS e
    WHERE e.published_at IS NOT NULL
),
by_mechanism AS (
    SELECT month, mechanism, count(DISTINCT text_id) AS mechanism_comments FROM events GROUP BY month, mechanism
),
by_month AS (
    SELECT month, count(DISTINCT text_id) AS access_loss_comments FROM events GROUP BY month
)
SELECT e.month,
       e.mechanism,
       e.actor,
       count(*) AS events,
       count(DISTINCT e.text_id) AS comments,
       round(1000.0 * count(DISTINCT e.text_id) / p.texts, 3) AS rate_per_1000_comments,
       m.mechanism_comments,
       round(1000.0 * m.mechanism_comments / p.texts, 3) AS mechanism_rate_per_1000_comments,
       a.access_loss_comments,
       round(1000.0 * a.access_loss_comments / p.texts, 3) AS access_loss_rate_per_1000_comments,
       p.texts AS comments_in_month
FROM events AS e
JOIN per_month AS p USING (month)
JOIN by_mechanism AS m USING (month, mechanism)
JOIN by_month AS a USING (month)
GROUP BY e.month, e.mechanism, e.actor, p.texts, m.mechanism_comments, a.access_loss_comments
ORDER BY e.month, comments DESC, e.mechanism, e.actor NULLS LAST;
