-- Raw files set aside, with the reason; their last good version (if any) stays in the tables above.
CREATE TABLE rejected_files AS
SELECT source_file, reason, seen_at
FROM staged_rejected_files
ORDER BY source_file;
