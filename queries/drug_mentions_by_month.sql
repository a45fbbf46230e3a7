-- Drug mentions by month (UTC), and each drug's share of that month's drug mentions
-- (a share, so that a month with more posts does not look like a rise).
SELECT month,
       canonical AS drug,
       mentions,
       comments,
       round(mentions / sum(mentions) OVER (PARTITION BY month), 3) AS share_of_month
FROM mentions_by_month
WHERE label = 'DRUG'
ORDER BY month, mentions DESC, drug;
