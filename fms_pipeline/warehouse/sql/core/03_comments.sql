-- One row per comment, in thread order (documents' rows together); author is the name as written, NULL when the page lost it.
-- parent_comment_id: the comment it replies to (NULL at top level or when the parent is not in the data);
-- depth: 1 at top level, 2 for a reply, ...; published_at in UTC; score as the source gives it (Reddit), else NULL.
-- sentiment, tone: means of the comment's sentences' in `sentences` (-1..1; see there).
-- stated_drug, stated_condition, rating: what a review table's row says it is about and how it rates it
-- (NULL for other sources); its further ratings are in review_ratings.
CREATE TABLE comments AS
WITH comment_sentiment AS (
    SELECT comment_id, avg(sentiment::DECIMAL(18, 6)) AS sentiment, avg(tone::DECIMAL(18, 6)) AS tone  -- exact: any row order
    FROM sentences
    WHERE comment_id IS NOT NULL
    GROUP BY comment_id
)
SELECT c.comment_id, c.document_id, c.position, c.parent_comment_id, c.depth, c.author, c.body,
       c.author_is_anonymous, c.published_at, c.score, c.stated_drug, c.stated_condition, c.rating,
       round(s.sentiment, 4) AS sentiment,
       round(s.tone, 4) AS tone
FROM staged_comments AS c
LEFT JOIN comment_sentiment AS s USING (comment_id)
ORDER BY c.document_id, c.position;
