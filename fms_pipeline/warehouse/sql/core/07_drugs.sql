-- Each drug (generic name; "a/b" for a combination product) mentioned: its class (from its
-- active ingredients), DrugBank and MeSH ids where the dictionary has them, and its ingredients
-- (generic names; [drug] for a single drug), so that an ingredient is findable in SQL:
--   SELECT * FROM drugs WHERE list_contains(ingredients, 'acetaminophen');
CREATE TABLE drugs AS
SELECT r.drug, r.drug_class, r.drugbank_id, r.mesh_id, r.ingredients,
       count(m.mention_id) AS mentions,
       count(DISTINCT m.comment_id) AS comments
FROM drug_reference AS r
LEFT JOIN entity_mentions AS m ON m.label = 'DRUG' AND m.canonical = r.drug
GROUP BY ALL
ORDER BY mentions DESC, r.drug;
