-- The units the 2×2 tables count, one row per (grouping, unit, unit_id, drug, event): the temporary
-- table signal_units, made from drug_events at every build (fms_pipeline.signals.build).
-- A unit is a report about one drug: a report's (a comment's, or a document's own text's) drug with
-- the events it names for it ('comment'), or an author's drug with every event they named for it
-- ('author': a named, non-anonymous author within one community; a report without one counts as its
-- own author). A comment about two drugs is two reports, so every unit has exactly one drug and the
-- 2×2 cells partition the units: a = reports about the drug naming the event, b = about the drug
-- without it, c = about other drugs naming it, d = about other drugs without it. (Counting whole
-- comments, as FAERS counts reports, would pair "Cymbalta gave me nausea" with the weight gain Lyrica
-- gave in the same comment.)
-- grouping: 'drug' (generic drugs only; class words such as "opioids" are left out) or 'drug_class'
--   (each class of the drug, both for a combination's two; class words count as their class);
-- month: the first month the unit named the event (NULL when never dated).
CREATE OR REPLACE TEMP TABLE signal_units AS
WITH reports AS (
    SELECT e.drug, e.drug_label, e.drug_class, e.event, e.month,
           coalesce(e.comment_id, 'document:' || e.document_id) AS report_id,
           CASE WHEN e.comment_id IS NULL THEN d.byline
                WHEN NOT coalesce(c.author_is_anonymous, false) THEN c.author END AS author,
           d.community
    FROM drug_events AS e
    JOIN documents AS d USING (document_id)
    LEFT JOIN comments AS c ON c.comment_id = e.comment_id
),
keyed AS (
    SELECT 'drug' AS grouping, drug, event, month, report_id,
           coalesce(coalesce(community, '') || chr(0) || author, report_id) AS author_id
    FROM reports
    WHERE drug_label = 'DRUG'
    UNION ALL
    SELECT 'drug_class', unnest(string_split(drug_class, '/')), event, month, report_id,
           coalesce(coalesce(community, '') || chr(0) || author, report_id)
    FROM reports
    WHERE drug_class IS NOT NULL AND drug_class <> ''
)
SELECT grouping, 'comment' AS unit, report_id || chr(0) || drug AS unit_id, drug, event, min(month) AS month
FROM keyed GROUP BY ALL
UNION ALL
SELECT grouping, 'author', author_id || chr(0) || drug, drug, event, min(month)
FROM keyed GROUP BY ALL;
