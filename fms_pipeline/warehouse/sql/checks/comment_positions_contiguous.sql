-- guards: parsed_comments
-- description: Positions are 1..n without gaps or repeats within each document, and n = comment_count.
WITH per_document AS (
    SELECT d.document_id, d.comment_count,
           count(c.comment_id) AS n, count(DISTINCT c.position) AS distinct_positions,
           coalesce(min(c.position), 1) AS first_position, coalesce(max(c.position), 0) AS last_position
    FROM documents AS d
    LEFT JOIN comments AS c USING (document_id)
    GROUP BY d.document_id, d.comment_count
)
SELECT document_id AS item,
       format('positions {}..{} for {} comments ({} distinct), comment_count {}',
              first_position, last_position, n, distinct_positions, comment_count) AS problem
FROM per_document
WHERE n <> distinct_positions OR first_position <> 1 OR last_position <> n OR n <> comment_count;
