-- Every outcome span lies inside the text it was found in and cuts out exactly its text.
WITH located AS (
    SELECT o.outcome_id, o.start_char, o.end_char, o.text,
           CASE WHEN o.comment_id IS NULL THEN d.body ELSE c.body END AS source_text
    FROM outcome_mentions AS o
    LEFT JOIN documents AS d ON d.document_id = o.document_id
    LEFT JOIN comments AS c ON c.comment_id = o.comment_id
)
SELECT outcome_id AS item,
       format('offsets {}..{} do not hold "{}"', start_char, end_char, text) AS problem
FROM located
WHERE source_text IS NULL
   OR start_char < 0
   OR end_char > length(source_text)
   OR start_char >= end_char
   OR substring(source_text, start_char + 1, end_char - start_char) <> text;
