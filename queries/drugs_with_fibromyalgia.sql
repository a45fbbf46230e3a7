-- Which drugs come up in the same comment as fibromyalgia.
SELECT drug, drug_label, comments, documents
FROM drug_condition_pairs
WHERE condition = 'fibromyalgia'
ORDER BY comments DESC, drug;
