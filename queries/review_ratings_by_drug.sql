-- A review table (a DrugLib-style .tsv, each row a review with its drug, rating and rated effectiveness):
-- each drug's reviews, mean rating, the share the reviewers rated "Highly Effective", and the share
-- whose own words the NLP reads as the drug working (an `effective` outcome, not negated or hypothetical).
SELECT c.stated_drug AS drug,
       count(*) AS reviews,
       round(avg(c.rating), 1) AS mean_rating,
       round(avg((r.label = 'Highly Effective')::INTEGER), 2) AS rated_highly_effective,
       round(avg((EXISTS (SELECT 1 FROM outcome_mentions AS o
                          WHERE o.comment_id = c.comment_id AND o.outcome = 'effective'
                            AND NOT o.negated AND NOT o.hypothetical))::INTEGER), 2) AS text_says_effective
FROM comments AS c
LEFT JOIN review_ratings AS r ON r.comment_id = c.comment_id AND r.name = 'effectiveness'
WHERE c.stated_drug IS NOT NULL
GROUP BY c.stated_drug
HAVING count(*) >= 20
ORDER BY mean_rating DESC;
