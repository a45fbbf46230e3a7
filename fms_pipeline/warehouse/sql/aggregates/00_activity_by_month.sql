-- How busy each community was each calendar month (UTC): the denominators of every rate.
-- One row per month and community ('(unknown)' for documents without one), and one per month for all
-- communities together (community NULL).
-- documents: published that month; active_documents: with any text dated that month (published, or
-- commented on); comments: dated that month (the comment's date, else its document's), as in
-- mentions_by_month; authors: distinct named, non-anonymous comment authors (a name is a person
-- within one community: the same name in two communities counts twice overall); words: words in the
-- comments and the documents' own texts dated that month (split on white space).
-- Undated documents and comments are left out.
CREATE TABLE activity_by_month AS
WITH texts AS (
    SELECT coalesce(d.community, '(unknown)') AS community, d.document_id, true AS is_document,
           NULL AS comment_id, NULL AS author_key,
           CAST(date_trunc('month', timezone('UTC', d.published_at)) AS DATE) AS month,
           len(regexp_split_to_array(trim(coalesce(d.body, '')), '\s+')) * (trim(coalesce(d.body, '')) <> '')::INTEGER AS words
    FROM documents AS d
    WHERE d.published_at IS NOT NULL
    UNION ALL
    SELECT coalesce(d.community, '(unknown)'), d.document_id, false, c.comment_id,
           CASE WHEN c.author IS NOT NULL AND NOT coalesce(c.author_is_anonymous, false)
                THEN coalesce(d.community, '') || chr(0) || c.author END,
           CAST(date_trunc('month', timezone('UTC', coalesce(c.published_at, d.published_at))) AS DATE),
           len(regexp_split_to_array(trim(c.body), '\s+')) * (trim(c.body) <> '')::INTEGER
    FROM comments AS c
    JOIN documents AS d USING (document_id)
    WHERE coalesce(c.published_at, d.published_at) IS NOT NULL
)
SELECT month,
       community,
       count(*) FILTER (WHERE is_document) AS documents,
       count(DISTINCT document_id) AS active_documents,
       count(comment_id) AS comments,
       count(DISTINCT author_key) AS authors,
       CAST(sum(words) AS BIGINT) AS words
FROM texts
GROUP BY GROUPING SETS ((month, community), (month))
ORDER BY month, community NULLS FIRST;
