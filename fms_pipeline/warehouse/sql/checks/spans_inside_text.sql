-- Every entity mention and outcome span lies inside the text it was found in and cuts out exactly its text.
WITH spans AS (
    SELECT mention_id AS item, document_id, comment_id, start_char, end_char, text FROM entity_mentions
    UNION ALL
    SELECT outcome_id, document_id, comment_id, start_char, end_char, text FROM outcome_mentions
),
located AS (
    SELECT s.*, CASE WHEN s.comment_id IS NULL THEN d.body ELSE c.body END AS source_text
    FROM spans AS s
    LEFT JOIN documents AS d ON d.document_id = s.document_id
    LEFT JOIN comments AS c ON c.comment_id = s.comment_id
)
SELECT item,
       format('offsets {}..{} do not hold "{}"', start_char, end_char, text) AS problem
FROM located
WHERE source_text IS NULL
   OR start_char < 0
   OR end_char > length(source_text)
   OR start_char >= end_char
   OR substring(source_text, start_char + 1, end_char - start_char) <> text;
