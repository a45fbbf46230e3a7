-- guards: parsed_comments
-- description: Every comment belongs to a parsed document.
SELECT c.comment_id AS item, 'comment of unknown document ' || c.document_id AS problem
FROM comments AS c
ANTI JOIN documents AS d USING (document_id);
