-- How patients feel when they mention each drug: mean sentence sentiment (-1..1).
SELECT s.drug, s.drug_label, s.mentions, s.mean_sentiment, d.drug_class
FROM drug_sentiment AS s
LEFT JOIN drugs AS d USING (drug)
ORDER BY s.mentions DESC;
