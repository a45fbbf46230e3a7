-- One row per entity found; comment_id NULL for mentions in the article body.
-- Rows of unknown documents or with offsets that do not cut out their text fail the build's
-- checks (sql/checks/), so they never reach a published warehouse.
-- start_char/end_char index into documents.body or comments.body (Unicode characters).
-- Context: negated ("no pain meds work"), hypothetical ("if they gave me"), historical
-- ("used to take"), experiencer 'patient' or 'other' ("my wife was diagnosed"),
-- NULL for people, places and organisations; icd10_code: ICD-10-CM code of a condition or symptom.
CREATE TABLE entity_mentions AS
SELECT m.mention_id, m.document_id, m.comment_id, m.label, m.text, m.canonical,
       m.start_char, m.end_char, m.sentence,
       m.negated, m.hypothetical, m.historical, m.experiencer, m.icd10_code
FROM staged_entity_mentions AS m
ORDER BY m.document_id, m.comment_id NULLS FIRST, m.start_char;
