-- guards: parsed_comments
-- description: No comment has an empty body.
SELECT comment_id AS item, 'empty comment body' AS problem
FROM comments
WHERE body IS NULL OR trim(body) = '';
