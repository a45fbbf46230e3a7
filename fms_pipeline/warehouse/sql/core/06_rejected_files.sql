-- Raw files set aside, with the reason; their last good version (if any) stays in the tables above.
CREATE TABLE rejected_files AS
SELECT source_file, reason, processed_at AS seen_at
FROM source_files
WHERE status = 'rejected'
ORDER BY source_file;
