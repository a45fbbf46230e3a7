-- One row per comment, in thread order; author is the name as written, NULL when the page lost it.
CREATE TABLE comments AS
SELECT c.comment_id, c.document_id, c.position, c.author, c.body, c.author_is_anonymous
FROM staged_comments AS c
JOIN documents AS d USING (document_id)
ORDER BY d.source_file, c.position;
