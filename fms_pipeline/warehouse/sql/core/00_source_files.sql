-- One row per raw file: what became of it. status 'staged' (its documents are in the tables
-- below) or 'rejected' (reason says why; the rows of its last good version, if any, stay).
-- bucket is the batch (Dagster partition) that processes it; fingerprint its size and times;
-- pipeline_version / nlp_version the rules, vocabularies and model that made its rows.
CREATE TABLE source_files AS
SELECT source_file, bucket, status, reason, source_format, documents, comments, skipped_records,
       size_bytes, sha256, fingerprint, pipeline_version, nlp_version, processed_at
FROM staged_source_files
ORDER BY source_file;
