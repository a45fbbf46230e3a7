-- One row per document: a page, a blog post, a Reddit submission. A raw file holds one or many.
-- source_format: text, html, wordpress_json, wordpress_wxr, disqus_xml, reddit_json, reddit_ndjson.
-- community: the site's host or the subreddit; published_at in UTC, NULL when the source has none.
CREATE TABLE documents AS
SELECT document_id, source_file, source_format, url, community, published_at,
       title, byline, body, comment_count, has_comment_section
FROM staged_documents
ORDER BY document_id;
