-- Adverse events as data: one row per report, drug and event. A report is a comment, or a
-- document's own text (comment_id NULL: a blog post, a Reddit submission's body). The unit is the
-- report, never the mention: "nausea" in five sentences of one comment is one row (mentions = 5).
-- Events: those each adverse_effect and withdrawal outcome carries (outcome_mentions.events: the
-- asserted symptoms and conditions of its sentence tied to its drug, less what the drug treats or
-- relieved; nlp/events.py), and 'withdrawal' itself for a withdrawal outcome. Outcomes that are
-- negated ("no side effects") or hypothetical, or that name no drug, report none.
-- drug: the canonical the outcome is about (a generic name, "a/b" for a combination, or a class
-- word such as 'opioid'); drug_class: the drug's class from `drugs` ("x/y" when a combination's
-- ingredients have two), the class itself for a class word. event_code: ICD-10-CM from `conditions`.
-- month: the report's month (UTC; the comment's date, else its document's), NULL when undated.
CREATE TABLE drug_events AS
WITH harm AS (
    SELECT document_id, coalesce(comment_id, '') AS cid, outcome, drug, events
    FROM outcome_mentions
    WHERE outcome IN ('adverse_effect', 'withdrawal') AND drug IS NOT NULL AND NOT negated AND NOT hypothetical
),
candidates AS (
    SELECT document_id, cid, drug, unnest(events) AS event, outcome FROM harm
    UNION ALL
    SELECT document_id, cid, drug, 'withdrawal', 'withdrawal' FROM harm WHERE outcome = 'withdrawal'
),
events AS (
    SELECT document_id, cid, drug, event,
           CASE WHEN bool_or(outcome = 'adverse_effect') THEN 'adverse_effect' ELSE 'withdrawal' END AS outcome,
           count(*) AS mentions
    FROM candidates
    GROUP BY document_id, cid, drug, event
)
SELECT nullif(e.cid, '') AS comment_id,
       e.document_id,
       e.drug,
       CASE WHEN r.drug IS NOT NULL THEN 'DRUG' ELSE 'DRUG_CLASS' END AS drug_label,
       CASE WHEN r.drug IS NOT NULL THEN r.drug_class ELSE e.drug END AS drug_class,
       e.event,
       k.icd10_code AS event_code,
       e.outcome,
       CAST(e.mentions AS INTEGER) AS mentions,
       CAST(date_trunc('month', timezone('UTC', coalesce(c.published_at, d.published_at))) AS DATE) AS month
FROM events AS e
JOIN documents AS d USING (document_id)
LEFT JOIN comments AS c ON e.cid <> '' AND c.comment_id = e.cid
LEFT JOIN drugs AS r ON r.drug = e.drug
LEFT JOIN conditions AS k ON k.condition = e.event
ORDER BY e.document_id, e.cid, e.drug, e.event;
