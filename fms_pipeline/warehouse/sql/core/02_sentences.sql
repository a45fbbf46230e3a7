-- One row per sentence with its sentiment; comment_id NULL for sentences of the article.
CREATE TABLE sentences AS
SELECT s.document_id, s.comment_id, s.sentence, s.start_char, s.end_char, round(s.sentiment, 4) AS sentiment
FROM staged_sentences AS s
WHERE s.document_id IN (SELECT document_id FROM documents)
ORDER BY s.document_id, s.comment_id NULLS FIRST, s.sentence;
