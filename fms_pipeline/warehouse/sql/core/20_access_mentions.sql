-- One row per access span the fms_access_loss component found (issue 23): an access loss (one per
-- drug), a feared loss, or stigma words. Loaded as staged.
CREATE TABLE access_mentions AS
SELECT a.access_id, a.document_id, a.comment_id, a.label, a.drug, a.drug_named, a.mechanism, a.actors,
       a.consequences, a.needs_care, a.stigma, a.text, a.start_char, a.end_char, a.sentence
FROM staged_access_mentions AS a
ORDER BY a.document_id, a.comment_id NULLS FIRST, a.start_char, a.label, a.drug;
