-- One row per drug outcome found: effective, ineffective, adverse_effect, withdrawal, access_loss.
-- drug is the canonical it is about; events, for adverse effects and withdrawal, the events it reports.
CREATE TABLE outcome_mentions AS
SELECT o.outcome_id, o.document_id, o.comment_id, o.outcome, o.drug, o.events, o.text,
       o.start_char, o.end_char, o.sentence, o.negated, o.hypothetical
FROM staged_outcome_mentions AS o
ORDER BY o.document_id, o.comment_id NULLS FIRST, o.start_char, o.outcome;
