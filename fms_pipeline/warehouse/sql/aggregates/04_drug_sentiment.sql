-- Mean sentiment of the sentences that mention each drug or drug class (asserted mentions only).
CREATE TABLE drug_sentiment AS
SELECT m.canonical AS drug,
       count(*) AS mentions,
       round(avg(s.sentiment::DECIMAL(18, 6)), 4) AS mean_sentiment,  -- exact sums: the same in any row order
       m.label AS drug_label
FROM entity_mentions AS m
JOIN sentences AS s
  ON s.document_id = m.document_id
 AND s.comment_id IS NOT DISTINCT FROM m.comment_id
 AND s.sentence = m.sentence
WHERE m.label IN ('DRUG', 'DRUG_CLASS') AND NOT m.negated AND NOT m.hypothetical
GROUP BY m.canonical, m.label
ORDER BY mentions DESC, drug;
