-- One row per further rating of a review table's row (DrugLib's effectiveness and side effects, WebMD's
-- ease of use and satisfaction): the rating column's name, the number when it is one, else the category
-- as written. The overall rating is comments.rating.
CREATE TABLE review_ratings AS
SELECT comment_id, document_id, name, value, label
FROM staged_review_ratings
ORDER BY document_id, comment_id, name;
