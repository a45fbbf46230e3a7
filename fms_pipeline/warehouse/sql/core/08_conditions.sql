-- Each condition and symptom mentioned, and each event an outcome reports (drug_events.event_code comes from
-- here; "depression" is reported as "depressed mood", nlp/vocab/condition_events.tsv), with its ICD-10-CM code
-- and the code's description where
-- one fits (from fms_pipeline.nlp.conditions.condition_reference: a reviewed mapping for the
-- curated names, the code set's own descriptions for the others). Negated and hypothetical
-- mentions count too, as in entity_counts.
CREATE TABLE conditions AS
SELECT r.condition, r.icd10_code, r.icd10_description,
       count(m.mention_id) AS mentions,
       count(DISTINCT m.comment_id) AS comments
FROM condition_reference AS r
LEFT JOIN entity_mentions AS m ON m.label IN ('CONDITION', 'SYMPTOM') AND m.canonical = r.condition
GROUP BY ALL
ORDER BY mentions DESC, r.condition;
