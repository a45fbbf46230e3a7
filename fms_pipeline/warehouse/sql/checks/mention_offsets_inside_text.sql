-- Every mention's offsets lie inside the text it was found in, and cut out exactly its text.
WITH located AS (
    SELECT m.mention_id, m.start_char, m.end_char, m.text,
           CASE WHEN m.comment_id IS NULL THEN d.body ELSE c.body END AS source_text
    FROM entity_mentions AS m
    LEFT JOIN documents AS d ON d.document_id = m.document_id
    LEFT JOIN comments AS c ON c.comment_id = m.comment_id
)
SELECT mention_id AS item,
       format('offsets {}..{} do not hold "{}"', start_char, end_char, text) AS problem
FROM located
WHERE source_text IS NULL
   OR start_char < 0
   OR end_char > length(source_text)
   OR start_char >= end_char
   OR substring(source_text, start_char + 1, end_char - start_char) <> text;
