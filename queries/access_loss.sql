-- Who lost access to a drug, how and at whose hands, in their words (access_loss_events; issue 23).
SELECT c.author, c.position, e.drug, e.mechanism, e.actor, e.consequences, e.needs_care, e.text AS cue,
       substring(c.body, greatest(e.start_char - 60, 0) + 1, 200) AS context
FROM access_loss_events AS e
JOIN comments AS c USING (comment_id)
ORDER BY c.position, e.drug, e.mechanism, e.actor NULLS LAST;
