-- Per drug and month (UTC): the outcomes patients report and the share of them that are adverse effects.
SELECT drug,
       month,
       sum(mentions) AS outcomes,
       coalesce(sum(mentions) FILTER (WHERE outcome = 'adverse_effect'), 0) AS adverse_effects,
       round(coalesce(sum(mentions) FILTER (WHERE outcome = 'adverse_effect'), 0) / sum(mentions), 3) AS adverse_share
FROM drug_outcomes_by_month
GROUP BY drug, month
ORDER BY drug, month;
