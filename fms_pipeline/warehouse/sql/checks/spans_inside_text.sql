-- guards: extracted_mentions
-- description: Every entity mention and outcome span lies inside the text it was found in and cuts out exactly its text.
--
-- Linear in the length of the texts: substring() walks a text from its start to reach an offset,
-- so cutting every span out of a long page directly cost (spans x length), 20 s at 80k words.
-- Instead each text is halved recursively into pieces of 1,024-character chunks (each piece also
-- holds the 1,024 characters after its last chunk, so a span that starts in a chunk ends inside
-- its piece), a span is cut from the one-chunk piece where it starts, found by arithmetic.
-- Spans longer than 1,024 characters (rare: outcome sentences) are cut from the whole text.
WITH RECURSIVE spans AS (
    SELECT mention_id AS item, document_id, comment_id, start_char, end_char, text FROM entity_mentions
    UNION ALL
    SELECT outcome_id, document_id, comment_id, start_char, end_char, text FROM outcome_mentions
),
keyed AS (
    SELECT *, CASE WHEN comment_id IS NULL THEN 'd:' || document_id ELSE 'c:' || comment_id END AS owner
    FROM spans
),
texts AS (
    SELECT 'd:' || document_id AS owner, body FROM documents
    UNION ALL
    SELECT 'c:' || comment_id, body FROM comments
),
owners AS MATERIALIZED (
    SELECT t.owner, t.body, length(t.body) AS text_length
    FROM texts AS t
    WHERE t.owner IN (SELECT owner FROM keyed)
),
pieces(owner, first_chunk, chunks, piece) AS (
    SELECT owner, 0, greatest(1, ceil(text_length / 1024))::BIGINT, body FROM owners
    UNION ALL
    SELECT p.owner,
           CASE WHEN h.half = 0 THEN p.first_chunk ELSE p.first_chunk + p.chunks // 2 END,
           CASE WHEN h.half = 0 THEN p.chunks // 2 ELSE p.chunks - p.chunks // 2 END,
           CASE WHEN h.half = 0 THEN substring(p.piece, 1, (p.chunks // 2) * 1024 + 1024)
                ELSE substring(p.piece, (p.chunks // 2) * 1024 + 1) END
    FROM pieces AS p, (VALUES (0), (1)) AS h(half)
    WHERE p.chunks > 1
),
located AS (
    SELECT k.item, k.start_char, k.end_char, k.text, o.text_length,
           CASE WHEN k.end_char - k.start_char <= 1024
                THEN substring(p.piece, k.start_char - p.first_chunk * 1024 + 1, k.end_char - k.start_char)
                ELSE substring(o.body, k.start_char + 1, k.end_char - k.start_char) END AS found
    FROM keyed AS k
    LEFT JOIN owners AS o ON o.owner = k.owner
    LEFT JOIN pieces AS p ON p.owner = k.owner AND p.chunks = 1 AND p.first_chunk = k.start_char // 1024
)
SELECT item,
       format('offsets {}..{} do not hold "{}"', start_char, end_char, text) AS problem
FROM located
WHERE text_length IS NULL
   OR start_char < 0
   OR end_char > text_length
   OR start_char >= end_char
   OR found IS DISTINCT FROM text;
