-- One row per sentence; comment_id NULL for sentences of the article.
-- sentiment: -1..1 from a regressor over VADER and the outcome classifier, trained on DrugLib
-- review ratings (a comment's mean follows the reviewer's rating); tone: VADER's compound with
-- drug names neutral and the sentence's outcomes setting the sign, readable sentence by sentence.
CREATE TABLE sentences AS
SELECT s.document_id, s.comment_id, s.sentence, s.start_char, s.end_char,
       round(s.sentiment, 4) AS sentiment, round(s.tone, 4) AS tone
FROM staged_sentences AS s
WHERE s.document_id IN (SELECT document_id FROM documents)
ORDER BY s.document_id, s.comment_id NULLS FIRST, s.sentence;
