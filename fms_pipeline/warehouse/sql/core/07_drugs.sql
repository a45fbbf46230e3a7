-- Each drug (generic name) mentioned: its class and DrugBank and MeSH ids where the dictionary has them.
CREATE TABLE drugs AS
SELECT r.drug, r.drug_class, r.drugbank_id, r.mesh_id,
       count(m.mention_id) AS mentions,
       count(DISTINCT m.comment_id) AS comments
FROM drug_reference AS r
LEFT JOIN entity_mentions AS m ON m.label = 'DRUG' AND m.canonical = r.drug
GROUP BY ALL
ORDER BY mentions DESC, r.drug;
