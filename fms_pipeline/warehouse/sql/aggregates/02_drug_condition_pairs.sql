-- Drugs (and drug classes) named in the same comment as a condition.
-- drug_label tells a named drug (DRUG: oxycodone) from a class (DRUG_CLASS: opioid).
CREATE TABLE drug_condition_pairs AS
WITH drugs AS (
    SELECT DISTINCT comment_id, document_id, canonical AS drug, label AS drug_label
    FROM entity_mentions
    WHERE label IN ('DRUG', 'DRUG_CLASS') AND comment_id IS NOT NULL
),
conditions AS (
    SELECT DISTINCT comment_id, canonical AS condition
    FROM entity_mentions
    WHERE label = 'CONDITION' AND comment_id IS NOT NULL
)
SELECT drug,
       condition,
       count(*) AS comments,
       count(DISTINCT document_id) AS documents,
       drug_label
FROM drugs
JOIN conditions USING (comment_id)
GROUP BY drug, condition, drug_label
ORDER BY comments DESC, drug, condition;
