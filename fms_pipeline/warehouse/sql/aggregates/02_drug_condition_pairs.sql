-- Drugs (and drug classes) named in the same comment as a condition; negated or hypothetical
-- mentions ("I don't take it for my fibromyalgia", "if they gave me oxycodone") do not count.
-- drug_label tells a named drug (DRUG: oxycodone) from a class (DRUG_CLASS: opioid).
CREATE TABLE drug_condition_pairs AS
WITH asserted AS (
    SELECT * FROM entity_mentions
    WHERE comment_id IS NOT NULL AND NOT negated AND NOT hypothetical
),
drug_mentions AS (
    SELECT DISTINCT comment_id, document_id, canonical AS drug, label AS drug_label
    FROM asserted
    WHERE label IN ('DRUG', 'DRUG_CLASS')
),
conditions AS (
    SELECT DISTINCT comment_id, canonical AS condition
    FROM asserted
    WHERE label = 'CONDITION'
)
SELECT drug,
       condition,
       count(*) AS comments,
       count(DISTINCT document_id) AS documents,
       drug_label
FROM drug_mentions
JOIN conditions USING (comment_id)
GROUP BY drug, condition, drug_label
ORDER BY comments DESC, drug, condition;
