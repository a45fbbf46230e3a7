-- Access loss by month (UTC): outcomes saying a drug was cut off, tapered against the patient's will
-- or denied (not negated, not hypothetical), and the drugs named, most often first.
SELECT month,
       sum(mentions) AS mentions,
       string_agg(drug, ', ' ORDER BY mentions DESC, drug) AS drugs
FROM drug_outcomes_by_month
WHERE outcome = 'access_loss'
GROUP BY month
ORDER BY month;
