-- What patients say each drug did: outcomes linked to a drug, not negated, not hypothetical.
CREATE TABLE drug_outcomes AS
SELECT drug,
       outcome,
       count(*) AS mentions,
       count(DISTINCT comment_id) AS comments,
       count(DISTINCT document_id) AS documents
FROM outcome_mentions
WHERE drug IS NOT NULL AND NOT negated AND NOT hypothetical
GROUP BY drug, outcome
ORDER BY mentions DESC, drug, outcome;
