-- How often each entity comes up: mentions, and in how many comments and documents.
CREATE TABLE entity_counts AS
SELECT label,
       canonical,
       count(*) AS mentions,
       count(DISTINCT comment_id) AS comments,
       count(DISTINCT document_id) AS documents
FROM entity_mentions
GROUP BY label, canonical
ORDER BY mentions DESC, label, canonical;
