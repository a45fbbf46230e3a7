-- Access loss events (issue 23): one row per text (comment, or an article's own body), drug, mechanism and
-- actor named (NULL when the comment names none), from access_mentions' access_loss rows; consequences,
-- needs_care and stigma are the comment's. published_at is the comment's, else its document's.
CREATE TABLE access_loss_events AS
WITH losses AS (
    SELECT a.*, unnest(CASE WHEN len(a.actors) = 0 THEN [NULL::VARCHAR] ELSE a.actors END) AS actor
    FROM access_mentions AS a
    WHERE a.label = 'access_loss'
)
SELECT concat_ws(':', coalesce(l.comment_id, l.document_id || ':a'), l.drug, l.mechanism, coalesce(l.actor, '-'))
           AS event_id,
       l.document_id,
       l.comment_id,
       l.drug,
       bool_or(l.drug_named) AS drug_named,
       l.mechanism,
       l.actor,
       list_sort(list_distinct(flatten(list(l.consequences)))) AS consequences,
       bool_or(l.needs_care) AS needs_care,
       bool_or(l.stigma) AS stigma,
       CAST(count(*) AS INTEGER) AS mentions,
       arg_min(l.text, l.start_char) AS text,
       CAST(min(l.start_char) AS INTEGER) AS start_char,
       coalesce(any_value(c.published_at), any_value(d.published_at)) AS published_at
FROM losses AS l
JOIN documents AS d USING (document_id)
LEFT JOIN comments AS c ON c.comment_id = l.comment_id
GROUP BY l.document_id, l.comment_id, l.drug, l.mechanism, l.actor
ORDER BY l.document_id, l.comment_id NULLS FIRST, start_char, l.drug, l.mechanism, l.actor;
