-- One row per comment, in thread order; author is the name as written, NULL when the page lost it.
-- sentiment: mean of the comment's sentence scores (VADER corrected for the domain, -1..1).
CREATE TABLE comments AS
WITH comment_sentiment AS (
    SELECT comment_id, avg(sentiment) AS sentiment
    FROM staged_sentences
    WHERE comment_id IS NOT NULL
    GROUP BY comment_id
)
SELECT c.comment_id, c.document_id, c.position, c.author, c.body, c.author_is_anonymous,
       round(s.sentiment, 4) AS sentiment
FROM staged_comments AS c
JOIN documents AS d USING (document_id)
LEFT JOIN comment_sentiment AS s USING (comment_id)
ORDER BY d.source_file, c.position;
