-- What patients say each drug did: helped, did nothing, side effects, withdrawal, lost access.
-- Only outcomes that are not negated or hypothetical are counted.
SELECT o.drug, d.drug_class, o.outcome, o.mentions, o.comments
FROM drug_outcomes AS o
LEFT JOIN drugs AS d USING (drug)
ORDER BY o.drug, o.mentions DESC;
