-- One row per raw file that parsed: the article and its thread size.
CREATE TABLE documents AS
SELECT document_id, source_file, title, byline, body, comment_count, has_comment_section
FROM staged_documents
ORDER BY source_file;
