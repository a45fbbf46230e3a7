-- Every comment that names methadone, with its author and the words used.
SELECT d.source_file, c.position, coalesce(c.author, '(no name)') AS author,
       string_agg(DISTINCT m.text, ', ') AS written_as, left(c.body, 120) AS excerpt
FROM entity_mentions AS m
JOIN comments AS c USING (comment_id)
JOIN documents AS d ON d.document_id = c.document_id
WHERE m.label = 'DRUG' AND m.canonical = 'methadone'
GROUP BY d.source_file, c.position, c.author, c.body
ORDER BY d.source_file, c.position;
