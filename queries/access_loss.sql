-- Who lost access to a drug (cut off, tapered against their will, stripped of, denied), in their words.
SELECT c.author, c.position, o.drug, o.text AS cue,
       substring(c.body, greatest(o.start_char - 60, 0) + 1, 200) AS context
FROM outcome_mentions AS o
JOIN comments AS c USING (comment_id)
WHERE o.outcome = 'access_loss' AND NOT o.hypothetical
ORDER BY c.position;
