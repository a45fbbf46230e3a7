-- What consequences do people report when they lose access: comments per consequence (uncontrolled pain,
-- withdrawal, lost function or work, suicidal thoughts, illicit drugs, kratom, alcohol), with the mechanisms
-- behind them. Suicidal thoughts are flagged for care (access_loss_events.needs_care), never hidden.
WITH reported AS (
    SELECT DISTINCT coalesce(comment_id, document_id || ':a') AS text_id, mechanism, unnest(consequences) AS consequence
    FROM access_loss_events
)
SELECT consequence,
       count(DISTINCT text_id) AS comments,
       string_agg(DISTINCT mechanism, ', ' ORDER BY mechanism) AS mechanisms
FROM reported
GROUP BY consequence
ORDER BY comments DESC, consequence;
