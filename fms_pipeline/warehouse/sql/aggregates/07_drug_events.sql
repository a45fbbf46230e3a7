-- Adverse events as data: one row per report, drug and event. A report is a comment, or a
-- document's own text (comment_id NULL: a blog post, a Reddit submission's body). The unit is the
-- report, never the mention: "nausea" five times in one comment is one row (mentions = 5).
-- Events: every symptom or condition asserted (not negated, not hypothetical, not someone else's) in
-- a sentence with an adverse_effect outcome about the drug; 'withdrawal' for a withdrawal outcome.
-- Not an adverse event of the drug: its indication anywhere in that report, i.e. a symptom or condition
--   * right after an effective/ineffective cue about the drug ("Lyrica helps my pain",
--     "tramadol didn't help my back pain": the event starts at most 12 characters after the cue), or
--   * after "for" in a sentence naming the drug ("I take Cymbalta for my fibromyalgia").
-- drug: the canonical the outcome is about (a generic name, "a/b" for a combination, or a class
-- word such as 'opioid'); drug_class: the drug's class from `drugs` ("x/y" when a combination's
-- ingredients have two), the class itself for a class word. event_code: ICD-10-CM from `conditions`.
-- month: the report's month (UTC; the comment's date, else its document's), NULL when undated.
CREATE TABLE drug_events AS
WITH outcomes AS (
    SELECT document_id, coalesce(comment_id, '') AS cid, sentence, outcome, drug, start_char, end_char
    FROM outcome_mentions
    WHERE drug IS NOT NULL AND NOT negated AND NOT hypothetical
),
harm AS (
    SELECT * FROM outcomes WHERE outcome IN ('adverse_effect', 'withdrawal')
),
reports AS (
    SELECT DISTINCT document_id, cid FROM harm
),
mentioned AS (  -- asserted symptoms and conditions of the patient, in reports with a drug's harm
    SELECT m.document_id, coalesce(m.comment_id, '') AS cid, m.sentence, m.canonical AS event, m.start_char
    FROM entity_mentions AS m
    JOIN reports AS r ON r.document_id = m.document_id AND r.cid = coalesce(m.comment_id, '')
    WHERE m.label IN ('SYMPTOM', 'CONDITION') AND NOT m.negated AND NOT m.hypothetical
      AND coalesce(m.experiencer, 'patient') <> 'other'
),
named AS (  -- those in a sentence with an adverse effect
    SELECT m.*
    FROM mentioned AS m
    JOIN (SELECT DISTINCT document_id, cid, sentence FROM harm WHERE outcome = 'adverse_effect') AS s
      USING (document_id, cid, sentence)
),
candidates AS (
    SELECT h.document_id, h.cid, h.sentence, h.drug, n.event, n.start_char, 'adverse_effect' AS outcome
    FROM harm AS h
    JOIN named AS n USING (document_id, cid, sentence)
    WHERE h.outcome = 'adverse_effect' AND n.event <> 'withdrawal'
    UNION ALL
    SELECT document_id, cid, sentence, drug, 'withdrawal', NULL, 'withdrawal'
    FROM harm
    WHERE outcome = 'withdrawal'
),
texts AS (  -- the text the offsets index into, for the candidates' reports only
    SELECT k.document_id, k.cid, coalesce(c.body, d.body) AS body
    FROM reports AS k
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON k.cid <> '' AND c.comment_id = k.cid
),
indications AS (
    SELECT o.document_id, o.cid, o.drug, n.event
    FROM outcomes AS o
    JOIN mentioned AS n USING (document_id, cid, sentence)
    WHERE o.outcome IN ('effective', 'ineffective') AND n.start_char - o.end_char BETWEEN 0 AND 12
    UNION
    SELECT n.document_id, n.cid, d.canonical, n.event
    FROM mentioned AS n
    JOIN texts AS t USING (document_id, cid)
    JOIN entity_mentions AS d
      ON d.document_id = n.document_id AND coalesce(d.comment_id, '') = n.cid AND d.sentence = n.sentence
     AND d.label IN ('DRUG', 'DRUG_CLASS')
    WHERE regexp_matches(lower(substr(t.body, n.start_char - least(n.start_char, 30) + 1, least(n.start_char, 30))),
                         '\bfor(\s+(my|the|his|her|our|their|chronic|severe|bad|terrible|constant|this|that))*\s+$')
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
WHERE NOT EXISTS (
    SELECT 1 FROM indications AS i
    WHERE i.document_id = e.document_id AND i.cid = e.cid AND i.drug = e.drug AND i.event = e.event)
ORDER BY e.document_id, e.cid, e.drug, e.event;
