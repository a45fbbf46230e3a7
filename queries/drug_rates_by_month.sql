-- Comments naming each drug per 1,000 comments posted that month (UTC): a rate, so that a busier
-- forum does not look like a rise. The month's comments are in activity_by_month.
SELECT m.month, m.canonical AS drug, m.comments, a.comments AS all_comments, m.comments_per_1000
FROM mentions_by_month AS m
JOIN activity_by_month AS a ON a.month = m.month AND a.community IS NULL
WHERE m.label = 'DRUG'
ORDER BY m.month, m.comments_per_1000 DESC, drug;
