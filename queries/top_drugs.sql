-- The drugs (generic names) and drug classes patients mention most, with how many comments mention them.
SELECT label, canonical, mentions, comments, documents
FROM entity_counts
WHERE label IN ('DRUG', 'DRUG_CLASS')
ORDER BY mentions DESC
LIMIT 20;
