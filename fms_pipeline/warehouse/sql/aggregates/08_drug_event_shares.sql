-- Each drug's adverse events as a share of the reports naming the drug, with a Wilson 95% interval.
-- A report is a comment, or a document's own text. reports: those naming the event as an adverse
-- effect or withdrawal of the drug (drug_events); naming_drug: those naming the drug at all (the
-- denominator; a review table's rows count for the drug they state); share with its Wilson score
-- interval (Wilson 1927; a share of 3 in 10 is not a share of 300 in 1,000). For "more than
-- expected for this drug" see drug_event_signals.
CREATE TABLE drug_event_shares AS
WITH naming AS (  -- reports naming the drug, or a review table's rows stating it
    SELECT drug, count(DISTINCT report) AS naming_drug
    FROM (SELECT canonical AS drug, (document_id, coalesce(comment_id, '')) AS report
          FROM entity_mentions
          WHERE label IN ('DRUG', 'DRUG_CLASS') AND NOT negated AND NOT hypothetical
          UNION ALL
          SELECT stated_drug, (document_id, comment_id) FROM comments WHERE stated_drug IS NOT NULL)
    GROUP BY drug
),
pairs AS (
    SELECT drug, event, any_value(event_code) AS event_code, count(*) AS reports,
           count(*) FILTER (WHERE outcome = 'withdrawal') AS in_withdrawal
    FROM drug_events
    GROUP BY drug, event
),
shares AS (
    SELECT p.*, n.naming_drug, p.reports / n.naming_drug AS share, 1.959964 AS z
    FROM pairs AS p JOIN naming AS n USING (drug)
)
SELECT drug, event, event_code, CAST(reports AS INTEGER) AS reports, CAST(in_withdrawal AS INTEGER) AS in_withdrawal,
       CAST(naming_drug AS INTEGER) AS naming_drug, round(share, 3) AS share,
       round((share + z * z / (2 * naming_drug)
              - z * sqrt(share * (1 - share) / naming_drug + z * z / (4 * naming_drug * naming_drug)))
             / (1 + z * z / naming_drug), 3) AS share_lower,
       round((share + z * z / (2 * naming_drug)
              + z * sqrt(share * (1 - share) / naming_drug + z * z / (4 * naming_drug * naming_drug)))
             / (1 + z * z / naming_drug), 3) AS share_upper
FROM shares
ORDER BY naming_drug DESC, drug, reports DESC, event;
